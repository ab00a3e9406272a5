// Encrypt+decrypt throughput in the browser, in one page and one run:
// callseal-wasm (FrameSender/FrameReceiver, AES-128-GCM suite 4) against
// WebCrypto AES-GCM awaited once per frame, as web E2EE stacks do it.
// scripts/bench-wasm drives this page through Playwright.
import init, { FrameReceiver, FrameSender } from '../pkg/index.js';

const now = () => performance.now();

function payloadOf(size) {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) p[i] = (i * 31 + 7) & 0xff;
  return p;
}

// callseal: one sender and one receiver per measurement.
function callsealRun(size, ms) {
  const key = new Uint8Array(16).fill(7);
  const sender = new FrameSender(4, 1n, key);
  const receiver = FrameReceiver.withConfig(65536, 16, 8);
  receiver.addKey(1n, 4, key);
  const payload = payloadOf(size);
  const meta = new Uint8Array(0);
  let frames = 0;
  const start = now();
  let t = start;
  while (t - start < ms) {
    for (let i = 0; i < 16; i += 1) {
      const frame = sender.encrypt(meta, payload);
      const out = receiver.decrypt(meta, frame);
      if (out.length !== size) throw new Error('callseal round trip failed');
    }
    frames += 16;
    t = now();
  }
  sender.free();
  receiver.free();
  return (frames * 1000) / (t - start);
}

// callseal with WebCrypto doing the AES-GCM (encryptAsync/decryptAsync):
// the core still makes the header, counter, nonce and AAD and checks the
// replay window; each call awaited, like the WebCrypto baseline.
async function callsealAsyncRun(size, ms) {
  const key = new Uint8Array(16).fill(7);
  const sender = new FrameSender(4, 1n, key);
  const receiver = FrameReceiver.withConfig(65536, 16, 8);
  receiver.addKey(1n, 4, key);
  const payload = payloadOf(size);
  const meta = new Uint8Array(0);
  let frames = 0;
  const start = now();
  let t = start;
  while (t - start < ms) {
    const frame = await sender.encryptAsync(meta, payload);
    const out = await receiver.decryptAsync(meta, frame);
    if (out.length !== size) throw new Error('callseal async round trip failed');
    frames += 1;
    t = now();
  }
  sender.free();
  receiver.free();
  return (frames * 1000) / (t - start);
}

// WebCrypto: AES-GCM with a 12-byte IV from a counter and a 1-byte AAD
// standing in for the header, each call awaited before the next.
async function webcryptoRun(size, ms) {
  const key = await crypto.subtle.importKey('raw', new Uint8Array(16).fill(7), 'AES-GCM', false, [
    'encrypt',
    'decrypt',
  ]);
  const payload = payloadOf(size);
  const aad = new Uint8Array([0x10]);
  const iv = new Uint8Array(12);
  const view = new DataView(iv.buffer);
  let frames = 0;
  let counter = 0;
  const start = now();
  let t = start;
  while (t - start < ms) {
    counter += 1;
    view.setUint32(8, counter);
    const params = { name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 };
    const sealed = await crypto.subtle.encrypt(params, key, payload);
    const opened = await crypto.subtle.decrypt(params, key, sealed);
    if (opened.byteLength !== size) throw new Error('WebCrypto round trip failed');
    frames += 1;
    t = now();
  }
  return (frames * 1000) / (t - start);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs every size `rounds` times, alternating the two, `ms` each. */
async function run({ sizes = [100, 1000, 10000, 50000], ms = 500, rounds = 5 } = {}) {
  await init();
  const rows = [];
  for (const size of sizes) {
    const a = [];
    const b = [];
    const c = [];
    callsealRun(size, 50); // warm up
    await callsealAsyncRun(size, 50);
    await webcryptoRun(size, 50);
    for (let r = 0; r < rounds; r += 1) {
      a.push(callsealRun(size, ms));
      c.push(await callsealAsyncRun(size, ms));
      b.push(await webcryptoRun(size, ms));
    }
    const callseal = median(a);
    const callsealAsync = median(c);
    const webcrypto = median(b);
    rows.push({ size, callseal, callsealAsync, webcrypto });
  }
  return { userAgent: navigator.userAgent, rows };
}

window.bench = { run };
window.benchReady = true;
document.getElementById('out').textContent = 'ready: window.bench.run()';
