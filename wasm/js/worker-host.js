// The wiring both callseal workers share (transform-worker.js for calls,
// meeting-worker.js for meetings): the transform core on the worker's
// global scope, `RTCRtpScriptTransform` (the `rtctransform` event), the
// `createEncodedStreams()` streams the page posts (the `stream` operation),
// requests and replies, and events to the page.
import { createTransformCore } from './transform-core.js';

/**
 * Runs a worker over `api` (a package entry whose default export loads the
 * WebAssembly). `ops(core)`, if given, returns a null-prototype object of
 * further operations the page may request (meeting-core.js's).
 */
export function hostWorker(api, { ops } = {}) {
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

  // createEncodedStreams(): the page posts the streams. Null-prototype, as
  // the core's own operations: only these names dispatch.
  const hostOps = Object.assign(Object.create(null), ops ? ops(core) : null, {
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
  return core;
}
