// Cross-language interop: a WebAssembly endpoint (the npm package in
// wasm/pkg, on Node) and a Kotlin endpoint (org.callseal.InteropPeer on the
// JVM, through the UniFFI bindings) exchange frames and complete 1:1 call
// handshakes over a pipe, and must agree byte for byte.
//
// Usage: node tests/interop/driver.mjs <wasm/pkg/node.js> <java> <java args...>
// Prints one line per check and "interop: N passed, N failed".

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [pkgPath, java, ...javaArgs] = process.argv.slice(2);
const wasm = await import(pathToFileURL(path.resolve(pkgPath)).href);

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const unhex = (text) => new Uint8Array(Buffer.from(text, 'hex'));

// The Kotlin peer: one request line, one answer line.
const peer = spawn(java, javaArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: peer.stdout });
const waiting = [];
lines.on('line', (line) => waiting.shift()?.(line));
function kotlin(...words) {
  return new Promise((resolve, reject) => {
    waiting.push((line) => {
      const [status, ...rest] = line.split(' ');
      if (status === 'ok') resolve(rest);
      else reject(Object.assign(new Error(rest.slice(1).join(' ')), { code: rest[0] }));
    });
    peer.stdin.write(words.join(' ') + '\n');
  });
}

let passed = 0;
let failed = 0;
async function check(name, body) {
  try {
    const detail = await body();
    passed += 1;
    console.log(`ok   ${name}${detail ? ` — ${detail}` : ''}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
  }
}
function same(a, b, what) {
  if (a !== b) throw new Error(`${what}: ${a} != ${b}`);
}

const key = (suite) => new Uint8Array(32).map((_, i) => (i * 7 + suite) & 0xff);
const h264 = unhex('000000016742c01ed900a047fec80000000168ce3c80000000016588840021ff000003017f');

for (let suite = 1; suite <= 8; suite += 1) {
  await check(`frame suite ${suite}: Kotlin encrypts, wasm decrypts`, async () => {
    const [frame] = await kotlin('frame-encrypt', suite, 77, hex(key(suite)), 5, hex([1, 2]), hex([9, 8, 7]));
    const receiver = new wasm.FrameReceiver();
    receiver.addKey(77n, suite, key(suite));
    same(hex(receiver.decrypt(new Uint8Array([1, 2]), unhex(frame))), '090807', 'payload');
    const sender = wasm.FrameSender.startingAt(suite, 77n, key(suite), 5n);
    same(hex(sender.encrypt(new Uint8Array([1, 2]), new Uint8Array([9, 8, 7]))), frame, 'same bytes from wasm');
  });
  await check(`frame suite ${suite}: wasm encrypts, Kotlin decrypts`, async () => {
    const sender = wasm.FrameSender.startingAt(suite, 2n ** 64n - 1n, key(suite), 2n ** 60n);
    const frame = sender.encrypt(new Uint8Array(), new Uint8Array([4, 5, 6]));
    const [payload] = await kotlin('frame-decrypt', suite, (2n ** 64n - 1n).toString(), hex(key(suite)), '', hex(frame));
    same(payload, '040506', 'payload');
  });
}

await check('a tampered wasm frame is authentication-failed in Kotlin', async () => {
  const frame = new wasm.FrameSender(4, 3n, key(4)).encrypt(new Uint8Array(), new Uint8Array([1]));
  frame[frame.length - 1] ^= 1;
  try {
    await kotlin('frame-decrypt', 4, 3, hex(key(4)), '', hex(frame));
  } catch (e) {
    same(e.code, 'authentication-failed', 'code');
    return 'both sides name it the same';
  }
  throw new Error('accepted');
});

async function call(wasmInitiates, suite) {
  const store = wasm.IdentityStore.memory();
  const identity = wasm.IdentityKeyPair.generate();
  let session;
  if (wasmInitiates) {
    const start = wasm.CallSession.initiate(identity, 'web', suite);
    session = start.session;
    const [response] = await kotlin('respond', 'android', hex(start.message));
    const reveal = session.handle(unhex(response), store);
    const [confirm] = await kotlin('handle', hex(reveal));
    same(session.handle(unhex(confirm), store), null, 'last answer');
  } else {
    const [commit] = await kotlin('initiate', 'android', suite);
    const start = wasm.CallSession.respond(identity, 'web', unhex(commit));
    session = start.session;
    const [reveal] = await kotlin('handle', hex(start.message));
    const confirm = session.handle(unhex(reveal), store);
    const [none] = await kotlin('handle', hex(confirm));
    same(none, 'none', 'last answer');
  }
  const code = (await kotlin('code')).join(' ');
  same(session.state, 'encrypted', 'wasm state');
  same((await kotlin('state'))[0], 'ENCRYPTED', 'Kotlin state');
  same(session.securityCode, code, 'security codes');
  return { session, code };
}

for (const wasmInitiates of [false, true]) {
  const who = wasmInitiates ? 'wasm calls Kotlin' : 'Kotlin calls wasm';
  let session;
  await check(`${who}: handshake, same security code on both sides`, async () => {
    await kotlin('reset');
    const result = await call(wasmInitiates, 4);
    session = result.session;
    return result.code;
  });
  await check(`${who}: media both ways, with a ratchet`, async () => {
    const media = session.takeMedia();
    await kotlin('media');
    const [protectedK] = await kotlin('encrypt', 'H.264', hex(h264));
    same(hex(media.receiver.decryptFrame(unhex(protectedK)).payload), hex(h264), 'Kotlin → wasm');
    const protectedW = media.sender.encryptFrame('Opus', new Uint8Array([0x78, 1, 2, 3]));
    const [codec, , payload] = await kotlin('decrypt', hex(protectedW));
    same(`${codec} ${payload}`, 'Opus 78010203', 'wasm → Kotlin');
    const [kid] = await kotlin('ratchet');
    const [after] = await kotlin('encrypt', 'generic', 'aabb');
    const frame = media.receiver.decryptFrame(unhex(after));
    same(frame.kid.toString(), kid, 'ratcheted key id');
    same(hex(frame.payload), 'aabb', 'after the ratchet');
  });
}

await kotlin('quit');
peer.stdin.end();
console.log(`interop: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
