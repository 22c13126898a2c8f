// A plain static file server, as a user's web host would be: files from one
// folder under one URL prefix (a site published at /wgrad/, an app at /),
// nothing else. No dev server, no fallbacks, no rewriting: a page that asks
// for a file the build did not write, or for a path outside the prefix, gets
// a 404, and the test sees it.
import { createServer, type Server } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import type { AddressInfo } from 'node:net';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wgsl': 'text/plain; charset=utf-8',
};

export interface StaticServer {
  /** The site's address, ending in the prefix: http://127.0.0.1:PORT/wgrad/ */
  url: string;
  close(): Promise<void>;
}

/** Serves `folder` at `prefix` (which starts and ends with '/') on a free port of 127.0.0.1. */
export async function serveFolder(folder: string, prefix: string): Promise<StaticServer> {
  const root = normalize(folder + sep);
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const notFound = () => {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end(`not found: ${path}\n`);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405).end();
      return;
    }
    if (!path.startsWith(prefix)) return notFound();
    const relative = path.slice(prefix.length) || 'index.html';
    const file = normalize(join(root, relative.endsWith('/') ? `${relative}index.html` : relative));
    if (!file.startsWith(root)) return notFound(); // '..' out of the folder
    let size: number;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) return notFound();
      size = stat.size;
    } catch {
      return notFound();
    }
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': size,
    });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
