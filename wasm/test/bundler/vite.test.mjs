// The npm package through a bundler, as a web developer uses it: the Vite
// app of wasm/fixtures/vite-app/ copied into a temporary project, Vite (the
// fixture's lock) and the tarball of wasm/dist/ installed with npm,
// `vite build` for production, dist/ served by a small static server and
// driven in headless Chromium (fake camera and microphone): both peers show
// the same security code and the lock-and-shield, video and audio decrypt
// both ways, and the worker and the .wasm are assets the bundler emitted.
// Also checks that wasm/README.md carries src/call.js verbatim.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { CHROMIUM_ARGS } from '../browser/chromium.mjs';

const run = promisify(execFile);
const WASM = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = join(WASM, 'fixtures/vite-app');
const { version } = JSON.parse(readFileSync(join(WASM, 'pkg/package.json'), 'utf8'));
const tarball = join(WASM, 'dist', `callseal-${version}.tgz`);

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
};

/** Serves `root` on 127.0.0.1 (a free port); resolves to `{ url, close() }`. */
function serveStatic(root) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    let body;
    try {
      body = readFileSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(body);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((done) => server.close(done)),
      });
    });
  });
}

let project;
let dist;
before(async () => {
  project = mkdtempSync(join(tmpdir(), 'callseal-vite-'));
  cpSync(FIXTURE, project, { recursive: true, filter: (src) => !/[/\\](node_modules|dist)$/.test(src) });
  // Vite as the fixture's lock pins it, and the package from its tarball;
  // the npm cache first, the network only for what it lacks.
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: project });
  await run(process.execPath, [join(project, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: project });
  dist = join(project, 'dist');
});
after(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

test('wasm/README.md carries src/call.js verbatim (at most 40 lines)', () => {
  const source = readFileSync(join(FIXTURE, 'src/call.js'), 'utf8');
  assert.ok(source.split('\n').length - 1 <= 40, 'call.js has at most 40 lines');
  const readme = readFileSync(join(WASM, 'README.md'), 'utf8');
  const block = readme.match(/<!-- example:start -->\n```js\n([\s\S]*?)```\n<!-- example:end -->/);
  assert.ok(block, 'the README has the example block');
  assert.equal(block[1], source);
});

test('the bundle carries the worker and the .wasm as emitted assets', () => {
  const assets = readdirSync(join(dist, 'assets'));
  const worker = assets.find((f) => /^transform-worker-[\w-]+\.js$/.test(f));
  assert.ok(worker, `a hashed transform-worker asset in ${assets}`);
  // The worker went through the bundler: one file, the package's modules
  // inlined, no import left pointing into node_modules, and it loads the
  // emitted .wasm: the calls module (the meeting worker, emitted too from
  // webrtc.js's other `new Worker(...)`, loads the meetings module).
  const workerCode = readFileSync(join(dist, 'assets', worker), 'utf8');
  const wasms = assets.filter((f) => /^callseal_bg-[\w-]+\.wasm$/.test(f));
  const wasm = wasms.find((f) => workerCode.includes(`/assets/${f}`));
  assert.ok(wasm, `a hashed callseal_bg asset the worker loads in ${assets}`);
  assert.deepEqual(readFileSync(join(dist, 'assets', wasm)), readFileSync(join(project, 'node_modules/callseal/callseal_bg.wasm')));
  const meetingWorker = assets.find((f) => /^meeting-worker-[\w-]+\.js$/.test(f));
  assert.ok(meetingWorker, `a hashed meeting-worker asset in ${assets}`);
  const meetingWasm = wasms.find((f) => readFileSync(join(dist, 'assets', meetingWorker), 'utf8').includes(`/assets/${f}`));
  assert.ok(meetingWasm && meetingWasm !== wasm, 'the meeting worker loads the other module');
  assert.deepEqual(readFileSync(join(dist, 'assets', meetingWasm)), readFileSync(join(project, 'node_modules/callseal/meetings/callseal_bg.wasm')));
  assert.doesNotMatch(workerCode, /node_modules|from\s*['"`]\.\/|import\s*\(/);
  assert.match(workerCode, /onrtctransform/);
  assert.ok(workerCode.includes(`/assets/${wasm}`), 'the worker fetches the emitted .wasm');
  const main = assets.filter((f) => f.startsWith('index-') && f.endsWith('.js'));
  assert.equal(main.length, 1);
  const mainCode = readFileSync(join(dist, 'assets', main[0]), 'utf8');
  assert.ok(mainCode.includes(`/assets/${worker}`), 'the page starts the emitted worker');
  assert.doesNotMatch(mainCode, /node_modules/);
});

test('the built app: a call between two peers, encrypted both ways', async () => {
  const server = await serveStatic(dist);
  const profile = mkdtempSync(join(tmpdir(), 'callseal-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const errors = [];
  const requests = [];
  try {
    const page = await context.newPage();
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    page.on('request', (req) => requests.push(new URL(req.url()).pathname));
    page.on('response', (res) => res.status() >= 400 && errors.push(`${res.status()} ${res.url()}`));
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => window.result, null, { timeout: 20000 });
    const result = await page.evaluate(() => window.result);
    assert.equal(result.error, undefined, result.error);
    assert.equal(result.version, version);
    const code = /^\d{5} \d{5} \d{5} \d{5}$/;
    assert.match(result.alice.code, code);
    assert.equal(result.bob.code, result.alice.code, 'both peers show the same code');
    assert.equal(result.alice.indicator, 'lock-and-shield');
    assert.equal(result.bob.indicator, 'lock-and-shield');
    // What the page shows is what the result says.
    const shown = await page.$$eval('[data-testid=code]', (els) => els.map((e) => e.textContent));
    assert.deepEqual(shown, [result.alice.code, result.bob.code]);

    // Frames decode on both sides, and the workers decrypted them.
    let stats;
    const deadline = Date.now() + 20000;
    for (;;) {
      stats = await page.evaluate(() => window.callStats());
      const done = ['alice', 'bob'].every(
        (p) => stats[p].framesDecoded > 5 && stats[p].decryptedByKind.audio > 0 && stats[p].decryptedByKind.video > 5,
      );
      if (done || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const p of ['alice', 'bob']) {
      assert.ok(stats[p].framesDecoded > 5, `${p} decoded video frames: ${JSON.stringify(stats[p])}`);
      assert.ok(stats[p].decryptedByKind.audio > 0, `${p}'s worker decrypted audio: ${JSON.stringify(stats[p])}`);
      assert.ok(stats[p].decryptedByKind.video > 5, `${p}'s worker decrypted video: ${JSON.stringify(stats[p])}`);
    }
    // The page loaded the bundler's assets, nothing from node_modules.
    assert.ok(requests.some((r) => /^\/assets\/transform-worker-[\w-]+\.js$/.test(r)), `worker requested: ${requests}`);
    assert.ok(requests.some((r) => /^\/assets\/callseal_bg-[\w-]+\.wasm$/.test(r)), `wasm requested: ${requests}`);
    assert.ok(!requests.some((r) => r.includes('node_modules')));
    // A page that only calls never downloads the meeting worker or MLS.
    assert.ok(!requests.some((r) => r.includes('meeting-worker')), `${requests}`);
    const calls = readFileSync(join(project, 'node_modules/callseal/callseal_bg.wasm'));
    for (const r of requests.filter((x) => /^\/assets\/callseal_bg-[\w-]+\.wasm$/.test(x))) {
      assert.deepEqual(readFileSync(join(dist, r)), calls, `${r} is the calls module`);
    }
    assert.deepEqual(errors, [], 'no page errors');
  } finally {
    await context.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
