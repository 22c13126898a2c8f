// What every demo page starts with: the header (the pages, and the adapter
// in use), the library initialized on WebGPU, and, without WebGPU, a clear
// message naming the browsers that have it. A page that can run on the CPU
// reference still works then (slowly); one that cannot says so and stays
// readable. Tests read window.__demo: the page's state and hooks.
import * as wg from '../../src/index';
import { tuneControl } from './tune-button';
import './style.css';

export const PAGES = [
  { file: 'index.html', title: 'Gallery' },
  { file: 'dcgan.html', title: 'DCGAN' },
  { file: 'vae.html', title: 'VAE' },
  { file: 'diffusion.html', title: 'Diffusion' },
  { file: 'conv.html', title: 'Conv explainer' },
  { file: 'bench.html', title: 'Bench' },
] as const;

export interface PageInfo {
  backend: wg.BackendName;
  /** the adapter in words, e.g. "nvidia ampere (webgpu)" or "CPU reference" */
  adapter: string;
  /** why WebGPU is not in use, when it is not */
  noWebGpu: string | null;
}

declare global {
  interface Window {
    /** Set once the page is initialized; pages add their own hooks for the tests. */
    __demo?: Record<string, unknown> & { ready: boolean; info?: PageInfo; error?: string };
  }
}

export const NO_WEBGPU_HELP =
  'This browser has no WebGPU. It is on by default in Chrome and Edge 113+ (desktop) and Chrome 121+ on Android; ' +
  'in Firefox Nightly set dom.webgpu.enabled in about:config; in Safari 18+ turn on the WebGPU feature flag ' +
  '(Develop → Feature Flags). On Linux, Chrome may need --enable-unsafe-webgpu --enable-features=Vulkan.';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function header(current: string, adapterText: string): HTMLElement {
  const bar = el('header', { class: 'site-header' });
  const brand = el('a', { class: 'brand', href: './index.html' }, 'wgrad');
  const nav = el('nav');
  for (const page of PAGES) {
    const link = el('a', { href: `./${page.file}` }, page.title);
    if (page.file === current) link.setAttribute('aria-current', 'page');
    nav.append(link);
  }
  const badge = el('span', { class: 'adapter', 'data-testid': 'adapter' }, adapterText);
  bar.append(brand, nav, badge);
  return bar;
}

/**
 * Initializes wgrad for a page and draws the header. cpuFallback: run on
 * the CPU reference when there is no WebGPU (fine for small work);
 * otherwise the page gets backend 'cpu' and must show that it cannot run.
 */
export async function startPage(options: { file: string; cpuFallback: boolean }): Promise<PageInfo> {
  window.__demo = { ready: false };
  let info: PageInfo;
  const hasGpu = typeof navigator !== 'undefined' && 'gpu' in navigator && !!navigator.gpu;
  try {
    if (!hasGpu) throw new Error(NO_WEBGPU_HELP);
    await wg.init({ backend: 'webgpu', seed: 0 });
    const a = wg.adapterInfo();
    const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || a.description || 'unknown adapter';
    info = { backend: 'webgpu', adapter: `${name} (WebGPU)`, noWebGpu: null };
  } catch (error) {
    await wg.init({ backend: 'cpu', seed: 0 });
    const reason = hasGpu ? `WebGPU could not start: ${(error as Error).message}` : NO_WEBGPU_HELP;
    info = { backend: 'cpu', adapter: 'CPU reference (no WebGPU)', noWebGpu: reason };
  }
  document.body.prepend(header(options.file, info.adapter));
  if (info.backend === 'webgpu') document.querySelector('.site-header')!.append(tuneControl());
  if (info.noWebGpu) {
    const banner = el('div', { class: 'banner', role: 'alert', 'data-testid': 'no-webgpu' });
    banner.textContent = options.cpuFallback
      ? `${info.noWebGpu} Running on wgrad's CPU reference instead: it works, slowly.`
      : `${info.noWebGpu} This page needs WebGPU.`;
    document.body.querySelector('header')!.after(banner);
  }
  window.__demo.info = info;
  return info;
}

/** Marks the page ready for tests (and people: the "loading" note goes). */
export function pageReady(hooks: Record<string, unknown> = {}): void {
  Object.assign(window.__demo!, hooks, { ready: true });
  document.body.classList.add('ready');
}

/** Shows an error that stopped the page, in the page and for the tests. */
export function pageError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  console.error(error);
  window.__demo = { ...(window.__demo ?? { ready: false }), error: message };
  const box = el('div', { class: 'banner error', role: 'alert' }, message);
  document.body.append(box);
}

export { el };
