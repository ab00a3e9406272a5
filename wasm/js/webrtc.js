// Main-thread helper for end-to-end encrypted WebRTC with callseal: starts
// the transform worker, attaches it to RTCRtpSenders and RTCRtpReceivers
// (RTCRtpScriptTransform where the browser has it, createEncodedStreams()
// otherwise), hands it keys, runs the 1:1 call in it (handshake and in-call
// rekeys: the session and the call's keys stay in the worker, this side only
// relays the signalling) and reads its counters.
import { CallsealError } from './errors.js';

/** Whether this browser has RTCRtpScriptTransform. */
export function hasScriptTransform() {
  return typeof globalThis.RTCRtpScriptTransform === 'function';
}

export class E2eeWorker {
  #worker;
  #pending = new Map();
  #next = 1;
  #mode;
  #attached = new WeakSet();

  /**
   * @param {object} [options]
   * @param {Worker} [options.worker] a worker running transform-worker.js
   * @param {string|URL} [options.workerUrl] where transform-worker.js is
   * @param {'script-transform'|'encoded-streams'} [options.mode] force a path
   */
  constructor(options = {}) {
    this.#worker =
      options.worker ||
      new Worker(options.workerUrl || new URL('./transform-worker.js', import.meta.url), {
        type: 'module',
        name: 'callseal-transform',
      });
    this.#mode = options.mode || (hasScriptTransform() ? 'script-transform' : 'encoded-streams');
    this.#worker.addEventListener('message', (event) => {
      const { id, result, error } = event.data || {};
      const pending = this.#pending.get(id);
      if (!pending) return;
      this.#pending.delete(id);
      if (error) pending.reject(new CallsealError(error.code, error.message));
      else pending.resolve(result);
    });
  }

  /** `script-transform` or `encoded-streams`: how frames reach the worker. */
  get mode() {
    return this.#mode;
  }

  /** The worker. */
  get worker() {
    return this.#worker;
  }

  #request(op, args = {}, transfer = []) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, op, ...args }, transfer);
    });
  }

  /** Resolves once the worker has loaded the WebAssembly module. */
  ready() {
    return this.#request('ping');
  }

  #attach(target, side, payloadTypes) {
    // Once per sender or receiver: createEncodedStreams() works only once.
    if (this.#attached.has(target)) return Promise.resolve();
    this.#attached.add(target);
    const options = { side, payloadTypes };
    if (this.#mode === 'script-transform') {
      target.transform = new RTCRtpScriptTransform(this.#worker, options);
      return Promise.resolve();
    }
    // Needs an RTCPeerConnection made with { encodedInsertableStreams: true }.
    const { readable, writable } = target.createEncodedStreams();
    return this.#request('stream', { readable, writable, options }, [readable, writable]);
  }

  /**
   * Encrypts what `rtpSender` sends. `payloadTypes` maps RTP payload types
   * to MIME types, for browsers whose frame metadata lacks `mimeType`.
   */
  protectSender(rtpSender, { payloadTypes } = {}) {
    return this.#attach(rtpSender, 'send', payloadTypes);
  }

  /**
   * Decrypts what `rtpReceiver` receives (frames that fail are dropped and
   * counted). Attach it before negotiation where the receiver already
   * exists: Chromium does not run a transform attached in `ontrack` to a
   * receiver whose transceiver existed before the remote description.
   */
  protectReceiver(rtpReceiver, { payloadTypes } = {}) {
    return this.#attach(rtpReceiver, 'receive', payloadTypes);
  }

  /**
   * Protects both directions of a transceiver (e.g. right after `addTrack`,
   * before the offer or answer): its sender encrypts, its receiver decrypts.
   * Attaching twice is harmless.
   */
  async protectTransceiver(transceiver, options = {}) {
    await this.protectSender(transceiver.sender, options);
    await this.protectReceiver(transceiver.receiver, options);
  }

  /** Encrypts from now on under this key (suite number, key id, base key). */
  setSenderKey({ suite, kid, baseKey }) {
    return this.#request('setSenderKey', { suite, kid, baseKey });
  }

  /** Adds a key to decrypt with; older keys stay for frames in flight. */
  addReceiverKey({ kid, suite, baseKey }) {
    return this.#request('addReceiverKey', { kid, suite, baseKey });
  }

  /** Removes a receive key; resolves to whether there was one. */
  async removeReceiverKey(kid) {
    return (await this.#request('removeReceiverKey', { kid })).removed;
  }

  /**
   * Calls `peerUid` (CallSession.initiate's options: `suite`, default 4,
   * `allowShortTags`, `rekeyEveryMs`, `peerIdentity`): resolves to
   * `{ message, status }`; send `message` to the peer.
   */
  startCall({ uid, peerUid, suite = 4, allowShortTags, rekeyEveryMs, peerIdentity, identitySecret } = {}) {
    return this.#request('startCall', { uid, peerUid, suite, allowShortTags, rekeyEveryMs, peerIdentity, identitySecret });
  }

  /**
   * Answers a call's first message (CallSession.respond's options:
   * `expectedPeerUid`, `expectedPeerIdentity`, `allowShortTags`,
   * `rekeyEveryMs`): resolves to `{ message, status }`.
   */
  answerCall({ uid, commit, expectedPeerUid, expectedPeerIdentity, allowShortTags, rekeyEveryMs, identitySecret } = {}) {
    return this.#request('answerCall', {
      uid, commit, expectedPeerUid, expectedPeerIdentity, allowShortTags, rekeyEveryMs, identitySecret,
    });
  }

  /**
   * Handles a signalling message from the peer (handshake or rekey):
   * resolves to `{ message, status, ignored }` (`message` is null when there
   * is nothing to send; `ignored` says why a message changed nothing). Once
   * the call is established, its keys encrypt and decrypt the media, and the
   * new keys of each rekey step are installed in the worker between two
   * frames.
   */
  handleSignal(message) {
    return this.#request('handleSignal', { message });
  }

  /**
   * Starts an in-call rekey: resolves to `{ message, status }`; send
   * `message` (the RekeyOffer) to the peer and pass its answer to
   * `handleSignal`. Call it when `rekeyDue()` says so, or on demand.
   */
  rekeyCall() {
    return this.#request('rekeyCall');
  }

  /** Whether the call's periodic rekey is due (the worker's clock; `rekeyEveryMs`). */
  async rekeyDue() {
    return (await this.#request('rekeyDue')).due;
  }

  /** The users compared the codes and they matched. */
  markVerified() {
    return this.#request('markVerified');
  }

  /** `{ state, indicator, securityCode, peerStatus, peerUid, epoch, rekeyPending }` or null. */
  async callStatus() {
    return (await this.#request('callStatus')).status;
  }

  /** Ratchets the sending key one step (a call's key; the peer follows from the key id). */
  ratchet() {
    return this.#request('ratchet');
  }

  /** The worker's counters: frames encrypted, decrypted, failures by code. */
  async stats() {
    return (await this.#request('stats')).stats;
  }

  /** Stops the worker. */
  terminate() {
    this.#worker.terminate();
    for (const { reject } of this.#pending.values()) {
      reject(new CallsealError('internal', 'worker terminated'));
    }
    this.#pending.clear();
  }
}
