// The core runs unchanged in a browser tab: everything under src/ except
// src/node/ and src/cli/ imports no Node built-in (`node:fs`, `fs`, `path`,
// ...), not the `webgpu` package (Dawn) and reads no `process`. Two checks:
// a browser build of the core (src/index.ts and every other core module,
// the packages they use included) that records each forbidden import with
// the chain of files that led to it, and a scan of the core's sources for
// `process`.
import { describe, expect, it } from 'vitest';
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const HOST_FOLDERS = ['src/node', 'src/cli'];

/** The core's source files: src/**.ts outside the Node host and the CLI, declarations left out. */
function coreFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!HOST_FOLDERS.includes(path)) walk(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        files.push(path);
      }
    }
  };
  walk('src');
  return files.sort();
}

const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** A module a browser cannot load: a Node built-in (and its subpaths, as fs/promises) or Dawn. */
function forbidden(id: string): boolean {
  const bare = id.split('?')[0];
  return bare.startsWith('node:') || NODE_BUILTINS.has(bare) || NODE_BUILTINS.has(bare.split('/')[0]) || bare === 'webgpu' || bare.startsWith('webgpu/');
}

interface ForbiddenImport {
  module: string;
  importer: string;
}

/** Records every forbidden import (and keeps it out of the build), so the build goes on and reports them all. */
function recordForbidden(found: ForbiddenImport[]): Plugin {
  return {
    name: 'wgrad-core-bundle-check',
    enforce: 'pre',
    resolveId(source, importer) {
      if (!forbidden(source)) return null;
      found.push({ module: source, importer: importer ?? '(entry)' });
      return { id: `forbidden:${source}`, external: true };
    },
  };
}

/** `file` as the repository names it, and, for a package's file or the host's, the core file whose imports reached it. */
function describeImporter(file: string, importersOf: (id: string) => readonly string[]): string {
  const name = (id: string) => relative(root, id.split('?')[0]);
  const isCore = (id: string) => name(id).startsWith('src/') && !HOST_FOLDERS.some((folder) => name(id).startsWith(`${folder}/`));
  if (isCore(file)) return name(file);
  const seen = new Set<string>([file]);
  let layer = [file];
  while (layer.length > 0) {
    const next: string[] = [];
    for (const id of layer) {
      for (const up of importersOf(id)) {
        if (seen.has(up)) continue;
        seen.add(up);
        if (isCore(up)) return `${name(file)} (reached from ${name(up)})`;
        next.push(up);
      }
    }
    layer = next;
  }
  return name(file);
}

describe('the core in a browser bundle', () => {
  it('imports no Node built-in and not the webgpu package', async () => {
    const files = coreFiles();
    expect(files).toContain('src/index.ts');
    const found: ForbiddenImport[] = [];
    const importers = new Map<string, readonly string[]>();
    await build({
      configFile: false,
      root,
      logLevel: 'silent',
      plugins: [
        recordForbidden(found),
        {
          name: 'wgrad-core-bundle-importers',
          buildEnd() {
            for (const id of this.getModuleIds()) importers.set(id, this.getModuleInfo(id)?.importers ?? []);
          },
        },
      ],
      build: {
        write: false,
        minify: false,
        target: 'es2022',
        reportCompressedSize: false,
        modulePreload: false,
        rollupOptions: {
          input: Object.fromEntries(files.map((f) => [f.slice('src/'.length, -'.ts'.length), join(root, f)])),
          output: { format: 'es' },
          // Core files are entries, so each keeps every export; nothing is tree-shaken out of sight.
          preserveEntrySignatures: 'strict',
        },
      },
    });
    const report = found.map(({ module, importer }) => `${describeImporter(importer, (id) => importers.get(id) ?? [])} imports '${module}'`);
    expect([...new Set(report)], 'Node-only imports in the browser build of the core').toEqual([]);
  }, 120_000);
});

describe('the core sources', () => {
  it('read no `process` (the Node host passes settings to init)', () => {
    const uses: string[] = [];
    // process.env, process?.versions, process[...], typeof process, globalThis.process, (globalThis as X).process
    const PROCESS = /\bprocess\s*(\?\.|\.|\[)|typeof\s+process\b|\.process\b/;
    for (const file of coreFiles()) {
      readFileSync(join(root, file), 'utf8').split('\n').forEach((line, i) => {
        const code = line.trimStart();
        if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return; // comments may name it
        if (PROCESS.test(line)) uses.push(`${file}:${i + 1}: ${code}`);
      });
    }
    expect(uses, '`process` in the core (read settings in src/node and pass them to init)').toEqual([]);
  });

  it('import nothing from the Node host or the CLI', () => {
    const reaches: string[] = [];
    const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.[^'"]*)['"]/g;
    for (const file of coreFiles()) {
      readFileSync(join(root, file), 'utf8').split('\n').forEach((line, i) => {
        for (const [, specifier] of line.matchAll(SPECIFIER)) {
          const target = relative(root, join(root, dirname(file), specifier));
          if (HOST_FOLDERS.some((folder) => target === folder || target.startsWith(`${folder}/`))) reaches.push(`${file}:${i + 1}: ${line.trim()}`);
        }
      });
    }
    expect(reaches, 'core files importing src/node or src/cli').toEqual([]);
  });
});
