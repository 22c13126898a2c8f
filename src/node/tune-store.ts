// The tuning cache in Node: one JSON file per adapter under
// $XDG_CACHE_HOME/wgrad (else ~/.cache/wgrad), written whole through a
// temporary file so a crash never leaves half a cache.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TuneStore } from '../backend/webgpu/tune';

/** The folder the cache files live in, from `env` as the XDG base-directory spec has it. */
export function tuneCacheFolder(env: Record<string, string | undefined> = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'wgrad');
}

/** A short stable name for an adapter's description (FNV-1a), so each adapter has its own file. */
function adapterFileName(adapter: string): string {
  let hash = 0x811c9dc5;
  for (const char of adapter) hash = Math.imul(hash ^ char.codePointAt(0)!, 0x01000193) >>> 0;
  const readable = adapter.split(' | ').slice(0, 2).join('-').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `tune-${readable || 'adapter'}-${hash.toString(16).padStart(8, '0')}.json`;
}

export function nodeTuneStore(folder: string = tuneCacheFolder()): TuneStore {
  const file = (adapter: string) => join(folder, adapterFileName(adapter));
  return {
    where: file,
    async load(adapter) {
      try {
        return await readFile(file(adapter), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async save(adapter, text) {
      await mkdir(folder, { recursive: true });
      const partial = `${file(adapter)}.${process.pid}.partial`;
      await writeFile(partial, text);
      await rename(partial, file(adapter));
    },
  };
}
