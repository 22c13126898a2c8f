// wgrad in Node: the public API (src/index.ts), with an init() that brings
// Dawn and reads the environment's settings (src/node/init.ts). package.json
// sends `import 'wgrad'` here under Node, so a script needs nothing more.
export * from '../index';
export { init, nodeInitOptions } from './init';
export { dawnGpu } from './dawn';
