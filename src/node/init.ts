// wg.init() in Node: WebGPU from Dawn, and the settings Node takes from the
// environment. Every environment variable wgrad reads is read here, and
// passed to the core as an init option; the core never reads one itself.
//
//   WGRAD_LIMITS=adapter|default   init({ limits }): the adapter's own limits, or WebGPU's defaults only
//   WGRAD_TUNE=off|cached|on       init({ tune }): kernel autotuning, cached in $XDG_CACHE_HOME/wgrad (else ~/.cache/wgrad)
import { init as coreInit, type InitOptions } from '../runtime';
import type { BackendName, GpuLimits } from '../runtime';
import { dawnGpu } from './dawn';
import { nodeTuneStore, tuneCacheFolder } from './tune-store';
import { TUNE_MODES, type TuneMode } from '../backend/webgpu/tune';

type Environment = Record<string, string | undefined>;

/** One setting from the environment: unset or empty gives undefined, a value outside `valid` throws naming the variable. */
function environmentChoice<T extends string>(env: Environment, name: string, valid: readonly T[]): T | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  if (!valid.includes(value as T)) throw new Error(`${name} must be ${valid.map((v) => `'${v}'`).join(' or ')}, got '${value}'`);
  return value as T;
}

/** The init options a Node process gets by default: Dawn as the GPU, and the settings from `env`. */
export function nodeInitOptions(env: Environment = process.env): InitOptions {
  const options: InitOptions = { gpu: dawnGpu, tuneStore: nodeTuneStore(tuneCacheFolder(env)) };
  const limits = environmentChoice<GpuLimits>(env, 'WGRAD_LIMITS', ['adapter', 'default']);
  if (limits !== undefined) options.limits = limits;
  const tune = environmentChoice<TuneMode>(env, 'WGRAD_TUNE', TUNE_MODES);
  if (tune !== undefined) options.tune = tune;
  return options;
}

/** wg.init() for Node: the options the caller gives (those not undefined) over nodeInitOptions()'s. */
export function init(options: InitOptions = {}): Promise<BackendName> {
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  return coreInit({ ...nodeInitOptions(), ...given });
}
