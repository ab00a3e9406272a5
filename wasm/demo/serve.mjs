// A small static file server for the demo page, the browser tests and the
// benchmark: serves wasm/ (so /pkg/, /demo/, /test/, /bench/) and the
// conformance files under /conformance/. Localhost is a secure context, so
// workers, WebCrypto and the fake camera all work.
//
//   node wasm/demo/serve.mjs [--port 8080] [--host 127.0.0.1]
//
// then open http://127.0.0.1:8080/demo/
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const WASM_DIR = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CONFORMANCE_DIR = resolve(WASM_DIR, '..', 'tests', 'conformance');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};

// The file a URL path names, or null if it lies outside the served folders.
function fileFor(pathname) {
  let root = WASM_DIR;
  let rest = pathname;
  if (pathname.startsWith('/conformance/')) {
    root = CONFORMANCE_DIR;
    rest = pathname.slice('/conformance'.length);
  }
  const file = normalize(join(root, decodeURIComponent(rest)));
  if (file !== root && !file.startsWith(root + sep)) return null;
  if (file.includes(`${sep}node_modules${sep}`)) return null;
  return file;
}

/** Starts the server; resolves to `{ url, close() }`. Port 0 picks a free one. */
export function serve({ port = 8080, host = '127.0.0.1', quiet = true } = {}) {
  const server = createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://localhost');
    if (pathname === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    let file = fileFor(pathname === '/' ? '/demo/' : pathname);
    try {
      if (!file) throw new Error('outside');
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] || 'application/octet-stream',
        'cache-control': 'no-store',
      });
      res.end(body);
      if (!quiet) console.log(`200 ${pathname}`);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      if (!quiet) console.log(`404 ${pathname}`);
    }
  });
  return new Promise((resolveServer, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolveServer({
        url: `http://${host}:${actual}`,
        close: () => new Promise((done) => server.close(done)),
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const { url } = await serve({
    port: Number(arg('--port', process.env.PORT || 8080)),
    host: arg('--host', '127.0.0.1'),
    quiet: false,
  });
  try {
    await stat(join(WASM_DIR, 'pkg', 'callseal_bg.wasm'));
  } catch {
    console.warn('wasm/pkg is not built yet: run scripts/build-wasm');
  }
  console.log(`callseal demo: ${url}/demo/  (Ctrl-C stops)`);
}
