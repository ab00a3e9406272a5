// The callseal encoded-transform worker: encrypts outgoing and decrypts
// incoming WebRTC encoded frames in media mode, off the main thread.
//
// Start it with the `E2eeWorker` class of webrtc.js (which speaks its
// protocol); it serves both `RTCRtpScriptTransform` (the `rtctransform`
// event) and the older `createEncodedStreams()` (streams posted to it). The
// rules it keeps (one sender per key id, per-track receivers, no unknown
// operations, wiped key copies) live in transform-core.js; the wiring to
// the worker's scope, shared with meeting-worker.js, in worker-host.js.
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
import { hostWorker } from './worker-host.js';

hostWorker(api);
