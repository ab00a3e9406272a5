// Cross-language interop: a WebAssembly endpoint (the npm package in
// wasm/pkg, on Node) and a Kotlin endpoint (org.callseal.InteropPeer on the
// JVM, through the UniFFI bindings) exchange frames and complete 1:1 calls
// of protocol version 2 over a pipe (each side calling the other), with an
// in-call rekey offered by each side and media both ways before and after
// every rekey, and must agree byte for byte.
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

/** The Kotlin peer's answer to `handle`: { reply, epoch (of its media update), ignored }. */
async function kotlinHandles(message) {
  const [reply, epoch, ignored] = await kotlin('handle', hex(message));
  return {
    reply: reply === 'none' ? null : unhex(reply),
    epoch: epoch === 'none' ? null : Number(epoch),
    ignored: ignored === 'none' ? null : ignored,
  };
}

async function call(wasmInitiates, suite) {
  const store = wasm.IdentityStore.memory();
  const identity = wasm.IdentityKeyPair.generate();
  let session;
  if (wasmInitiates) {
    const start = wasm.CallSession.initiate(identity, 'web', 'android', { suite });
    session = start.session;
    const [response] = await kotlin('respond', 'android', hex(start.message), 'web');
    const reveal = session.handle(unhex(response), store);
    same(reveal.media, null, 'no media update in the handshake');
    const confirm = await kotlinHandles(reveal.reply);
    const last = session.handle(confirm.reply, store);
    same(last.reply, null, 'last answer');
  } else {
    const [commit] = await kotlin('initiate', 'android', 'web', suite);
    const start = wasm.CallSession.respond(identity, 'web', unhex(commit), { expectedPeerUid: 'android' });
    session = start.session;
    const reveal = await kotlinHandles(start.message);
    const confirm = session.handle(reveal.reply, store);
    const last = await kotlinHandles(confirm.reply);
    same(last.reply, null, 'last answer');
  }
  const code = (await kotlin('code')).join(' ');
  same(session.state, 'encrypted', 'wasm state');
  same((await kotlin('state'))[0], 'ENCRYPTED', 'Kotlin state');
  same(session.securityCode, code, 'security codes');
  same(session.peerUid, 'android', 'wasm peer');
  same((await kotlin('state'))[1], 'web', 'Kotlin peer');
  return { session, store, code };
}

/** Media both ways at `epoch`: the key ids are generation 2·epoch+1 (initiator) and 2·epoch+2, step 0. */
async function mediaBothWays(media, wasmInitiates, epoch) {
  const wasmKid = ((2 * epoch + (wasmInitiates ? 1 : 2)) << 8).toString();
  const kotlinKid = ((2 * epoch + (wasmInitiates ? 2 : 1)) << 8).toString();
  const [protectedK] = await kotlin('encrypt', 'H.264', hex(h264));
  const fromKotlin = media.receiver.decryptFrame(unhex(protectedK));
  same(hex(fromKotlin.payload), hex(h264), 'Kotlin → wasm');
  same(fromKotlin.kid.toString(), kotlinKid, 'Kotlin key id');
  const protectedW = media.sender.encryptFrame('Opus', new Uint8Array([0x78, 1, 2, epoch]));
  const [codec, kid, payload] = await kotlin('decrypt', hex(protectedW));
  same(`${codec} ${payload}`, `Opus 780102${hex([epoch])}`, 'wasm → Kotlin');
  same(kid, wasmKid, 'wasm key id');
}

for (const wasmInitiates of [false, true]) {
  const who = wasmInitiates ? 'wasm calls Kotlin' : 'Kotlin calls wasm';
  let call1;
  let media;
  await check(`${who}: handshake, same security code on both sides`, async () => {
    await kotlin('reset');
    call1 = await call(wasmInitiates, 4);
    return call1.code;
  });
  await check(`${who}: media both ways at epoch 0, with a ratchet`, async () => {
    media = call1.session.takeMedia();
    await kotlin('media');
    await mediaBothWays(media, wasmInitiates, 0);
    const [kid] = await kotlin('ratchet');
    const [after] = await kotlin('encrypt', 'generic', 'aabb');
    const frame = media.receiver.decryptFrame(unhex(after));
    same(frame.kid.toString(), kid, 'ratcheted key id');
    same(hex(frame.payload), 'aabb', 'after the ratchet');
  });
  await check(`${who}: wasm rekeys (epoch 1), media both ways after`, async () => {
    const { session, store } = call1;
    const offer = session.rekey();
    same(session.rekeyPending, true, 'wasm offer pending');
    const answer = await kotlinHandles(offer);
    same(answer.epoch, 1, 'Kotlin applied epoch');
    same(answer.ignored, null, 'Kotlin ignored nothing');
    const done = session.handle(answer.reply, store);
    same(done.media.epoch, 1, 'wasm update epoch');
    done.media.apply(media.sender, media.receiver);
    const last = await kotlinHandles(done.reply);
    same(`${last.reply} ${last.epoch}`, 'null 1', 'Kotlin finishes epoch 1');
    same(session.epoch, 1, 'wasm epoch');
    same((await kotlin('epoch'))[0], '1', 'Kotlin epoch');
    await mediaBothWays(media, wasmInitiates, 1);
  });
  await check(`${who}: Kotlin rekeys (epoch 2), media both ways after`, async () => {
    const { session, store } = call1;
    const [offer] = await kotlin('rekey');
    const answer = session.handle(unhex(offer), store);
    same(answer.ignored, null, 'wasm ignored nothing');
    answer.media.apply(media.sender, media.receiver);
    const done = await kotlinHandles(answer.reply);
    same(done.epoch, 2, 'Kotlin applied epoch');
    const last = session.handle(done.reply, store);
    same(last.reply, null, 'no reply to RekeyDone');
    last.media.applyToReceiver(media.receiver);
    last.media.applyToSender(media.sender);
    same(session.epoch, 2, 'wasm epoch');
    same((await kotlin('epoch'))[0], '2', 'Kotlin epoch');
    await mediaBothWays(media, wasmInitiates, 2);
  });
  await check(`${who}: a stray message is ignored on both sides, the call goes on`, async () => {
    const { session, store } = call1;
    const kotlinSide = await kotlinHandles(new Uint8Array([2, 5, 0]));
    const wasmSide = session.handle(new Uint8Array([2, 5, 0]), store);
    same(`${kotlinSide.ignored} ${kotlinSide.reply}`, 'malformed null', 'Kotlin');
    same(`${wasmSide.ignored} ${wasmSide.reply}`, 'malformed null', 'wasm');
    same(session.state, 'encrypted', 'wasm state');
    await mediaBothWays(media, wasmInitiates, 2);
    return 'both name it malformed';
  });
}

await check('a call addressed to another user is wrong-peer on both sides', async () => {
  await kotlin('reset');
  const start = wasm.CallSession.initiate(wasm.IdentityKeyPair.generate(), 'web', 'someone-else');
  try {
    await kotlin('respond', 'android', hex(start.message));
  } catch (e) {
    same(e.code, 'wrong-peer', 'Kotlin code');
    const [commit] = await kotlin('initiate', 'android', 'someone-else', 4);
    try {
      wasm.CallSession.respond(wasm.IdentityKeyPair.generate(), 'web', unhex(commit));
    } catch (w) {
      same(w.code, 'wrong-peer', 'wasm code');
      return 'both refuse it';
    }
    throw new Error('wasm answered');
  }
  throw new Error('Kotlin answered');
});

await kotlin('quit');
peer.stdin.end();
console.log(`interop: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
