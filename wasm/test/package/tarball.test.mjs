// The npm package as developers get it: the tarball scripts/build-wasm
// leaves in wasm/dist/, installed with npm into a temporary project, then
// used from there through its `exports` (ESM, require(), the webrtc
// subpath, the browser entry before and after init()).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WASM = fileURLToPath(new URL('../../', import.meta.url));
const { version } = JSON.parse(readFileSync(join(WASM, 'pkg/package.json'), 'utf8'));
const workspaceVersion = readFileSync(join(WASM, '../Cargo.toml'), 'utf8').match(/\[workspace\.package\][^[]*?version = "([^"]+)"/)?.[1];
const tarball = join(WASM, 'dist', `callseal-${version}.tgz`);

let project;
before(() => {
  project = mkdtempSync(join(tmpdir(), 'callseal-tarball-'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], { cwd: project, stdio: 'pipe' });
});
after(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

/** Runs `code` with Node in the project; returns { status, stdout, stderr }. */
function node(args, code) {
  const r = spawnSync(process.execPath, [...args, '-e', code], { cwd: project, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
}

test('the tarball carries the workspace version and only the package files', () => {
  assert.equal(version, workspaceVersion, 'package.json has the workspace version');
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((f) => f.replace(/^package\//, ''));
  for (const f of [
    'package.json', 'README.md', 'LICENSE-MIT', 'LICENSE-APACHE', 'callseal_bg.wasm', 'callseal.js', 'callseal.d.ts',
    'index.js', 'index.d.ts', 'node.js', 'node.cjs', 'meetings.cjs', 'node.d.ts', 'errors.js', 'errors.d.ts',
    'guard.js', 'meetings.js', 'meetings-node.js', 'meetings.d.ts', 'meetings/callseal.js', 'meetings/callseal_bg.wasm',
    'webrtc.js', 'webrtc.d.ts', 'keyring.js', 'transform-worker.js', 'transform-core.js', 'media-crypto.js',
    'worker-host.js', 'meeting-worker.js', 'meeting-core.js',
  ]) {
    assert.ok(files.includes(f), `${f} in the tarball`);
  }
  for (const f of files) {
    assert.doesNotMatch(f, /test|conformance|\.rs$|Cargo/, `${f} does not belong in the package`);
  }
  const meta = JSON.parse(readFileSync(join(project, 'node_modules/callseal/package.json'), 'utf8'));
  assert.deepEqual(Object.keys(meta.exports).sort(), ['.', './callseal_bg.wasm', './meeting-worker.js', './meetings', './package.json', './transform-worker.js', './webrtc']);
  assert.equal(meta.exports['.'].types, './index.d.ts');
  assert.ok(Array.isArray(meta.sideEffects));
});

test('installed: import, require() and the webrtc subpath work', () => {
  const esm = node(['--input-type=module'], `
    import { FrameSender, FrameReceiver, version, CallsealError } from 'callseal';
    const key = new Uint8Array(16).fill(1);
    const s = new FrameSender(4, 1n, key);
    const r = new FrameReceiver();
    r.addKey(1n, 4, key);
    const out = r.decrypt(new Uint8Array(), s.encrypt(new Uint8Array(), new TextEncoder().encode('hi')));
    console.log(version(), new TextDecoder().decode(out), typeof CallsealError);
  `);
  assert.equal(esm.status, 0, esm.stderr);
  assert.equal(esm.stdout, `${version} hi function`);

  const cjs = node([], `const c = require('callseal'); const m = require('callseal/meetings'); console.log(c.version(), typeof c.MediaSender, typeof m.MeetingSession);`);
  assert.equal(cjs.status, 0, cjs.stderr);
  assert.equal(cjs.stdout, `${version} function function`);

  const webrtc = node(['--input-type=module'], `
    import { E2eeWorker, hasScriptTransform } from 'callseal/webrtc';
    console.log(typeof E2eeWorker, hasScriptTransform());
  `);
  assert.equal(webrtc.status, 0, webrtc.stderr);
  assert.equal(webrtc.stdout, 'function false');
});

test('callseal/meetings: meetings and everything else in one module, one CallsealError class', () => {
  const r = node(['--input-type=module'], `
    import * as calls from 'callseal';
    import * as all from 'callseal/meetings';
    let sameClass;
    try { new all.MeetingClient('', 'web'); } catch (e) { sameClass = e instanceof calls.CallsealError && e instanceof all.CallsealError; }
    const client = new all.MeetingClient('alice@example.com', 'web');
    console.log(JSON.stringify({
      callsHasMeetings: 'MeetingClient' in calls,
      meetings: typeof all.MeetingSession,
      alsoCalls: typeof all.CallSession + ' ' + typeof all.MediaSender,
      keyPackage: client.keyPackage().length > 100,
      sameClass,
    }));
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    callsHasMeetings: false,
    meetings: 'function',
    alsoCalls: 'function function',
    keyPackage: true,
    sameClass: true,
  });
});

test('where require() cannot load ES modules, the error names the import to use', (t) => {
  const r = node(['--no-experimental-require-module'], `require('callseal')`);
  if (/bad option|not allowed/.test(r.stderr)) {
    t.skip(`this Node has no --no-experimental-require-module (${process.version})`);
    return;
  }
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /callseal is an ES module: use `import \{ FrameSender \} from 'callseal'`/);
});

test('the browser entry before init() throws a CallsealError that says to call init()', () => {
  // The browser entry, by path (Node resolves the package to node.js).
  const r = node(['--input-type=module'], `
    import { readFileSync } from 'node:fs';
    const m = await import('./node_modules/callseal/index.js');
    const seen = [];
    for (const use of [
      () => new m.FrameSender(4, 1n, new Uint8Array(16)),
      () => m.MediaSender.startingAt(4, 1n, new Uint8Array(16), 5n),
      () => m.version(),
      () => m.IdentityKeyPair.generate(),
    ]) {
      try { use(); seen.push('no error'); } catch (e) { seen.push(e instanceof m.CallsealError ? e.message : 'other: ' + e); }
    }
    m.initSync({ module: readFileSync('./node_modules/callseal/callseal_bg.wasm') });
    const s = m.MediaSender.startingAt(4, 1n, new Uint8Array(16), 5n);
    console.log(JSON.stringify({ seen, after: [m.version(), String(s.nextCounter), s instanceof m.MediaSender] }));
  `);
  assert.equal(r.status, 0, r.stderr);
  const { seen, after } = JSON.parse(r.stdout);
  assert.equal(seen.length, 4);
  for (const message of seen) assert.match(message, /callseal is not initialised: call `await init\(\)`/);
  assert.deepEqual(after, [version, '5', true]);
});
