// Encrypt+decrypt throughput in the browser, in one page and one run:
// callseal-wasm (FrameSender/FrameReceiver, AES-128-GCM suite 4) against
// WebCrypto AES-GCM awaited once per frame, as web E2EE stacks do it.
// scripts/bench-wasm drives this page through Playwright.
import init, { FrameReceiver, FrameSender, MediaReceiver, MediaSender } from '../pkg/index.js';
import { WEBCRYPTO_MIN_BYTES, createMediaCrypto } from '../pkg/media-crypto.js';

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
// standing in for the header, each call awaited before the next. `framed`
// adds what a protected media frame's layout needs around it: a fresh
// buffer per call for the clear bytes before and the SFrame header after
// (3 + 9 bytes, a VP8 delta frame) — the ceiling of any path that lets
// WebCrypto do the AES-GCM of media frames.
async function webcryptoRun(size, ms, { framed = false } = {}) {
  const key = await crypto.subtle.importKey('raw', new Uint8Array(16).fill(7), 'AES-GCM', false, [
    'encrypt',
    'decrypt',
  ]);
  const payload = payloadOf(size);
  const aad = new Uint8Array([0x10]);
  const iv = new Uint8Array(12);
  const view = new DataView(iv.buffer);
  const clear = framed ? Math.min(3, size) : 0;
  let frames = 0;
  let counter = 0;
  const start = now();
  let t = start;
  while (t - start < ms) {
    counter += 1;
    view.setUint32(8, counter);
    const params = { name: 'AES-GCM', iv, additionalData: aad, tagLength: 128 };
    let opened;
    if (framed) {
      const sealed = new Uint8Array(await crypto.subtle.encrypt(params, key, payload.subarray(clear)));
      const wire = new Uint8Array(clear + sealed.length + 9);
      wire.set(payload.subarray(0, clear), 0);
      wire.set(sealed, clear);
      const plain = new Uint8Array(await crypto.subtle.decrypt(params, key, wire.subarray(clear, clear + sealed.length)));
      opened = new Uint8Array(clear + plain.length);
      opened.set(wire.subarray(0, clear), 0);
      opened.set(plain, clear);
    } else {
      opened = await crypto.subtle.decrypt(params, key, await crypto.subtle.encrypt(params, key, payload));
    }
    if (opened.byteLength !== size) throw new Error('WebCrypto round trip failed');
    frames += 1;
    t = now();
  }
  return (frames * 1000) / (t - start);
}

// The transform worker's path (media-crypto.js, as transform-core.js calls
// it): VP8 delta frames through MediaSender/MediaReceiver, each frame on
// the core's AES-GCM or WebCrypto as `media` picks, awaited only when it
// went to WebCrypto (as the worker's TransformStream does).
async function mediaRun(size, ms, media) {
  const key = new Uint8Array(16).fill(7);
  const sender = new MediaSender(4, 1n, key);
  const receiver = new MediaReceiver();
  receiver.addKey(1n, 4, key);
  const frame = payloadOf(size);
  if (size > 0) frame[0] = 0x31; // a VP8 delta frame: 3 bytes stay clear
  // One round trip; awaits only what went to WebCrypto.
  const open = (wire) => media.decrypt(receiver, wire);
  const roundTrip = () => {
    const sealed = media.encrypt(sender, 'video/VP8', frame);
    return sealed instanceof Uint8Array ? open(sealed) : sealed.then(open);
  };
  const check = (out) => {
    if (out.payload.length !== size) throw new Error('media round trip failed');
  };
  // The first frames of a key go the synchronous way while WebCrypto imports it.
  for (let i = 0; i < 2; i += 1) {
    const out = roundTrip();
    check(typeof out.then === 'function' ? await out : out);
    await new Promise((r) => setTimeout(r, 20));
  }
  let frames = 0;
  const start = now();
  let t = start;
  while (t - start < ms) {
    for (let i = 0; i < 16; i += 1) {
      const out = roundTrip();
      check(typeof out.then === 'function' ? await out : out);
    }
    frames += 16;
    t = now();
  }
  sender.free();
  receiver.free();
  return (frames * 1000) / (t - start);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Runs every size `rounds` times, alternating the paths, `ms` each; then
 * the crossover scan: the worker's media path forced onto the core's
 * AES-GCM and forced onto WebCrypto, at sizes around the threshold.
 */
async function run({
  sizes = [100, 1000, 10000, 50000],
  ms = 500,
  rounds = 5,
  scan = [100, 300, 500, 700, 800, 900, 1000, 1200, 1500],
  scanMs = 300,
} = {}) {
  await init();
  const worker = createMediaCrypto();
  const forcedSync = createMediaCrypto({ subtle: null });
  const forcedWebCrypto = createMediaCrypto({ minBytes: 0 });
  const rows = [];
  for (const size of sizes) {
    const runs = { callseal: [], callsealAsync: [], webcrypto: [], worker: [], framed: [] };
    callsealRun(size, 50); // warm up
    await callsealAsyncRun(size, 50);
    await webcryptoRun(size, 50);
    await mediaRun(size, 50, worker);
    for (let r = 0; r < rounds; r += 1) {
      runs.callseal.push(callsealRun(size, ms));
      runs.callsealAsync.push(await callsealAsyncRun(size, ms));
      runs.webcrypto.push(await webcryptoRun(size, ms));
      runs.worker.push(await mediaRun(size, ms, worker));
      runs.framed.push(await webcryptoRun(size, ms, { framed: true }));
    }
    rows.push({
      size,
      callseal: median(runs.callseal),
      callsealAsync: median(runs.callsealAsync),
      webcrypto: median(runs.webcrypto),
      worker: median(runs.worker),
      framed: median(runs.framed),
    });
  }
  const crossover = [];
  for (const size of scan) {
    const sync = [];
    const webcrypto = [];
    for (let r = 0; r < Math.max(3, rounds - 2); r += 1) {
      sync.push(await mediaRun(size, scanMs, forcedSync));
      webcrypto.push(await mediaRun(size, scanMs, forcedWebCrypto));
    }
    crossover.push({ size, sync: median(sync), webcrypto: median(webcrypto) });
  }
  return { userAgent: navigator.userAgent, rows, crossover };
}

window.bench = { run, threshold: WEBCRYPTO_MIN_BYTES };
window.benchReady = true;
document.getElementById('out').textContent = 'ready: window.bench.run()';
