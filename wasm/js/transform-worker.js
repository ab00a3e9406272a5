// The callseal encoded-transform worker: encrypts outgoing and decrypts
// incoming WebRTC encoded frames in media mode, off the main thread.
//
// Start it with the `E2eeWorker` class of webrtc.js (which speaks its
// protocol); it serves both `RTCRtpScriptTransform` (the `rtctransform`
// event) and the older `createEncodedStreams()` (streams posted to it). The
// rules it keeps (one sender per key id, per-track receivers, no unknown
// operations, wiped key copies) live in transform-core.js.
//
// Keys come from the main thread, or from a 1:1 call the worker runs itself:
// the CallSession, its MediaSender and MediaReceiver and every MediaUpdate of
// an in-call rekey live here, so call keys never leave this WebAssembly
// instance (the main thread only relays the signalling messages; WebCrypto
// gets them as non-extractable keys). A new key is installed between two
// frames, so no frame is dropped for it; receivers keep older keys, under
// their own key ids, for frames still in flight. A frame is never sent in
// clear: without a key it is dropped and counted.
import * as api from './index.js';
import { createTransformCore } from './transform-core.js';

const ready = api.default();
// Events (call state, codes, failures, the store to persist) go to the page.
const core = createTransformCore(api, { emit: (event, detail) => self.postMessage({ event, detail }) });

async function pipe(readable, writable, options) {
  await ready;
  const transform = core.transform(options);
  await readable.pipeThrough(new TransformStream({ transform })).pipeTo(writable);
}

// RTCRtpScriptTransform: the transformer carries the streams and options.
// The page counts the sender or receiver as protected once this confirms.
self.onrtctransform = (event) => {
  const { readable, writable, options = {} } = event.transformer;
  ready.then(
    () => self.postMessage({ attached: options.token }),
    (err) => self.postMessage({ attached: options.token, error: { code: 'internal', message: String(err) } }),
  );
  pipe(readable, writable, options).catch((err) => core.streamFailed(options, err));
};

// createEncodedStreams(): the page posts the streams.
const hostOps = Object.assign(Object.create(null), {
  stream({ readable, writable, options }) {
    pipe(readable, writable, options || {}).catch((err) => core.streamFailed(options || {}, err));
    return { ok: true };
  },
});

self.onmessage = async (event) => {
  try {
    await ready;
  } catch (err) {
    const { id } = event.data || {};
    self.postMessage({ id, error: { code: 'internal', message: `callseal did not load: ${err}` } });
    return;
  }
  self.postMessage(await core.handle(event.data, hostOps));
};
