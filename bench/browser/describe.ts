// How a browser run names itself: the browser and the adapter, in the
// header line both the bench page (demos/bench.ts) and `npm run bench --
// --browser` (page.ts) print above their tables.
import * as wg from '../../src/index';

/** "Chrome 131", "Edge 120", "Firefox 134", "Safari 18", from the user agent. */
export function browserName(): string {
  const m = navigator.userAgent.match(/(Edg|HeadlessChrome|Chrome|Chromium|Firefox|Version)\/([\d.]+)/);
  if (!m) return 'a browser';
  const names: Record<string, string> = { Edg: 'Edge', HeadlessChrome: 'Chrome (headless)', Version: 'Safari' };
  return `${names[m[1]] ?? m[1]} ${m[2].split('.')[0]}`;
}

/** The adapter wgrad runs on, e.g. "nvidia hopper (…)". */
export function adapterName(): string {
  const a = wg.adapterInfo();
  const detail = a.description || a.device;
  return `${a.vendor} ${a.architecture}${detail ? ` (${detail})` : ''}`.replace(/\s+/g, ' ').trim();
}

/** The line above a browser run's table. */
export function browserHeader(tfjsVersion: string, quick: boolean, date: Date): string {
  return `wgrad vs @tensorflow/tfjs-backend-webgpu ${tfjsVersion}, ${browserName()} on WebGPU, adapter ${adapterName()}, ${date.toISOString().slice(0, 10)}${quick ? ', --quick sizes' : ''}`;
}
