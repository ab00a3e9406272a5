// Main-thread helper for end-to-end encrypted WebRTC with callseal: starts
// the transform worker, attaches it to RTCRtpSenders and RTCRtpReceivers
// (RTCRtpScriptTransform where the browser has it, createEncodedStreams()
// otherwise), hands it keys, runs the 1:1 call in it (handshake and in-call
// rekeys: the session and the call's keys stay in the worker, this side only
// relays the signalling), reads its counters and dispatches its events
// (`state`, `code`, `peer-changed`, `store`, `decrypt-failed`, `missing-key`,
// `stream-error`; wasm/README.md, "Events"). With `{ meetings: true }` it
// starts the meeting worker instead (meeting-worker.js): the same worker and
// a meeting's MLS session in it (`createMeeting`, `joinMeeting`, ...; events
// `meeting-epoch`, `roster`, `member-store`, `meeting-ended`).
import { CallsealError } from './errors.js';

export { BrowserKeyring } from './keyring.js';

/** Whether this browser has RTCRtpScriptTransform. */
export function hasScriptTransform() {
  return typeof globalThis.RTCRtpScriptTransform === 'function';
}

export class E2eeWorker extends EventTarget {
  #worker;
  #pending = new Map();
  #next = 1;
  #mode;
  #attachTimeoutMs;
  // Senders and receivers whose transform is installed, and those being attached.
  #protected = new WeakSet();
  #attaching = new WeakMap();
  // target → the options its transform was made with (see #attach).
  #attachedWith = new WeakMap();
  // target → the token of its transform (the worker's name for it).
  #tokens = new WeakMap();
  #attachWaits = new Map();
  // The `store` listener of `useKeyring`, replaced by a later keyring.
  #keyringListener = null;

  /**
   * @param {object} [options]
   * @param {Worker} [options.worker] a worker running transform-worker.js
   *   (or meeting-worker.js)
   * @param {string|URL} [options.workerUrl] where transform-worker.js is
   *   (or meeting-worker.js)
   * @param {boolean} [options.meetings] start meeting-worker.js, which runs
   *   meetings too (it loads the `callseal/meetings` module, about twice
   *   the size)
   * @param {'script-transform'|'encoded-streams'} [options.mode] force a path
   * @param {number} [options.attachTimeoutMs] how long an attach waits for
   *   the worker to confirm its transform (default 10000)
   */
  constructor(options = {}) {
    super();
    // The literal `new URL('./transform-worker.js', import.meta.url)` inside
    // `new Worker(...)`, with its options written out as an object literal
    // (Vite refuses options it cannot read statically), is what bundlers
    // (Vite, webpack) recognise and emit.
    this.#worker =
      options.worker ||
      (options.workerUrl
        ? new Worker(options.workerUrl, { type: 'module', name: options.meetings ? 'callseal-meeting' : 'callseal-transform' })
        : options.meetings
          ? new Worker(new URL('./meeting-worker.js', import.meta.url), { type: 'module', name: 'callseal-meeting' })
          : new Worker(new URL('./transform-worker.js', import.meta.url), { type: 'module', name: 'callseal-transform' }));
    this.#mode = options.mode || (hasScriptTransform() ? 'script-transform' : 'encoded-streams');
    this.#attachTimeoutMs = options.attachTimeoutMs ?? 10000;
    this.#worker.addEventListener('message', (event) => {
      const { id, result, error, attached, event: type, detail } = event.data || {};
      if (typeof type === 'string') {
        this.dispatchEvent(new CustomEvent(type, { detail }));
        return;
      }
      if (attached !== undefined) {
        const wait = this.#attachWaits.get(attached);
        if (wait) wait(error);
        return;
      }
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

  // Once per sender or receiver: concurrent calls share one attempt, and
  // the target counts as protected only once its transform is installed.
  // A later call that gives other options (key ids, kind, payload types)
  // is refused: the transform in place keeps the options it was made with;
  // one that gives none (e.g. from `ontrack`) just finds it protected.
  #attach(target, options, explicit) {
    const wanted = optionsKey(options);
    const made = this.#attachedWith.get(target);
    if (made !== undefined && explicit && made !== wanted) {
      return Promise.reject(
        new CallsealError('invalid-argument', 'this sender or receiver is already protected with other options'),
      );
    }
    if (this.#protected.has(target)) return Promise.resolve();
    const running = this.#attaching.get(target);
    if (running) return running;
    this.#attachedWith.set(target, wanted);
    const attempt = this.#install(target, options)
      .then(
        () => {
          this.#protected.add(target);
        },
        (err) => {
          this.#attachedWith.delete(target);
          throw err;
        },
      )
      .finally(() => {
        this.#attaching.delete(target);
      });
    this.#attaching.set(target, attempt);
    return attempt;
  }

  async #install(target, options) {
    const token = this.#next++;
    options = { ...options, token };
    this.#tokens.set(target, token);
    if (this.#mode === 'script-transform') {
      const confirmed = new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.#attachWaits.delete(token);
          reject(new CallsealError('internal', `the worker did not confirm the transform within ${this.#attachTimeoutMs} ms`));
        }, this.#attachTimeoutMs);
        this.#attachWaits.set(token, (error) => {
          clearTimeout(timer);
          this.#attachWaits.delete(token);
          if (error) reject(new CallsealError(error.code, error.message));
          else resolve();
        });
      });
      let transform;
      try {
        transform = new RTCRtpScriptTransform(this.#worker, options);
        target.transform = transform;
        if (target.transform !== transform) {
          throw new CallsealError('internal', 'the transform could not be set on this sender or receiver');
        }
        await confirmed;
      } catch (err) {
        confirmed.catch(() => {});
        this.#attachWaits.get(token)?.(null);
        // The unconfirmed transform stays: its frames go nowhere. Setting
        // `transform = null` would ask the browser to send the encoder's
        // frames unmodified (the spec's meaning of null), in clear. A later
        // attempt replaces it.
        throw err instanceof CallsealError ? err : new CallsealError('internal', String((err && err.message) || err));
      }
      return;
    }
    // Needs an RTCPeerConnection made with { encodedInsertableStreams: true };
    // works once per target (a failed attempt cannot be repeated: the
    // target then stays unprotected and sends nothing through us).
    let streams;
    try {
      streams = target.createEncodedStreams();
    } catch (err) {
      throw new CallsealError('internal', `createEncodedStreams failed: ${(err && err.message) || err}`);
    }
    const { readable, writable } = streams;
    await this.#request('stream', { readable, writable, options }, [readable, writable]);
  }

  /**
   * Whether `target` (an RTCRtpSender or RTCRtpReceiver) has this worker's
   * transform installed: true only once a protect call resolved for it.
   */
  isProtected(target) {
    return this.#protected.has(target);
  }

  /**
   * Encrypts what `rtpSender` sends. `payloadTypes` maps RTP payload types
   * to MIME types, for browsers whose frame metadata lacks `mimeType`;
   * `codec` (a MIME type, e.g. `video/VP8`) is the codec of frames that
   * have neither (Safari gives no payload type for video frames).
   */
  protectSender(rtpSender, { payloadTypes, codec } = {}) {
    return this.#attach(rtpSender, { side: 'send', payloadTypes, codec }, payloadTypes !== undefined || codec !== undefined);
  }

  /**
   * Decrypts what `rtpReceiver` receives (frames that fail are dropped and
   * counted). The receiver accepts frames of its own media kind only
   * (`kind`, default its track's kind) and, given `kids`, only frames under
   * those key ids: an authentic frame of another track, moved here by the
   * network, is dropped and counted in `stats().misrouted`. Attach it
   * right after the transceiver is made (`addTrack`, `addTransceiver`),
   * before awaiting anything, as `protectTransceiver` does: Chromium does
   * not run a script transform set on a receiver later (in `ontrack`, or
   * after a round trip to the worker).
   */
  protectReceiver(rtpReceiver, { payloadTypes, kids, kind, codec } = {}) {
    const options = { side: 'receive', payloadTypes, kind: kind || rtpReceiver.track?.kind, codec };
    if (kids !== undefined) options.kids = Array.from(kids, (k) => BigInt(k));
    const explicit = payloadTypes !== undefined || kids !== undefined || kind !== undefined || codec !== undefined;
    return this.#attach(rtpReceiver, options, explicit);
  }

  /**
   * Protects both directions of a transceiver (e.g. right after `addTrack`,
   * before the offer or answer): its sender encrypts, its receiver decrypts.
   * Attaching twice is harmless.
   */
  async protectTransceiver(transceiver, options = {}) {
    // Both in the same task: Chromium runs a receiver's script transform
    // only if it was set without waiting for anything since the transceiver
    // was made (measured: set after a round trip to the worker, frames
    // bypass it and fail to decode).
    await Promise.all([
      this.protectSender(transceiver.sender, options),
      this.protectReceiver(transceiver.receiver, options),
    ]);
  }

  /**
   * Detaches this worker from `target` (an RTCRtpSender or RTCRtpReceiver
   * it protects): its transform stops and frames no longer pass through
   * the worker. A sender first loses its track (`replaceTrack(null)`), so
   * nothing goes out in clear: give it a track again only after protecting
   * it again (with `encoded-streams`, a target cannot be protected twice:
   * use a new transceiver). Resolves to whether `target` was protected.
   */
  async unprotect(target) {
    if (!this.#protected.has(target)) return false;
    const token = this.#tokens.get(target);
    if (typeof target.replaceTrack === 'function') await target.replaceTrack(null);
    await this.#request('unprotect', { token });
    if (this.#mode === 'script-transform') target.transform = null;
    this.#protected.delete(target);
    this.#attachedWith.delete(target);
    this.#tokens.delete(target);
    return true;
  }

  /**
   * Gives the worker the app's identity and what it remembers of peers,
   * before a call: `identitySecret` (`IdentityKeyPair.toBytes()`, 32 bytes;
   * a copy is transferred and wiped in the worker) and `store` (an
   * `IdentityStore`'s JSON: text or object; omitted: empty). A bad store
   * (`storage`) or secret (`invalid-argument`) changes nothing. After each
   * change the worker sends a `store` event with the store's new JSON:
   * persist it (`useKeyring` does). Resolves to `{ publicKey }`.
   */
  async useIdentity({ identitySecret, store } = {}) {
    const secret = keyCopy(identitySecret);
    return this.#request('useIdentity', { identitySecret: secret, store }, transferOf(secret));
  }

  /**
   * Uses a `BrowserKeyring` (IndexedDB): its identity and peers go to the
   * worker, and the peers each `store` event changed are saved back to it
   * (`updatePeers`: only those, in one transaction), so continuity
   * (`known-verified`, `changed`) survives a page reload, and workers
   * sharing one keyring (two calls at once, two tabs) never undo each
   * other's entries. A keyring without `updatePeers` gets the changes
   * merged into its `peers()` and saved with `savePeers`, one save at a
   * time. A failed save is a `storage-error` event. Resolves to
   * `{ publicKey }`.
   */
  async useKeyring(keyring) {
    const identitySecret = await keyring.identitySecret();
    let result;
    try {
      const store = await keyring.peers();
      result = await this.useIdentity({ identitySecret, store });
    } finally {
      identitySecret.fill(0);
    }
    if (this.#keyringListener) this.removeEventListener('store', this.#keyringListener);
    let saving = Promise.resolve();
    const save = async (changed) => {
      if (typeof keyring.updatePeers === 'function') return keyring.updatePeers(changed);
      const text = await keyring.peers();
      const merged = text ? JSON.parse(text) : {};
      for (const [peer, entry] of Object.entries(changed)) {
        Object.defineProperty(merged, peer, { value: entry, enumerable: true, writable: true, configurable: true });
      }
      return keyring.savePeers(merged);
    };
    this.#keyringListener = (event) => {
      const { changed } = event.detail;
      saving = saving
        .then(() => save(changed))
        .catch((err) => {
          this.dispatchEvent(new CustomEvent('storage-error', { detail: { message: String((err && err.message) || err) } }));
        });
    };
    this.addEventListener('store', this.#keyringListener);
    return result;
  }

  /** The worker's identity store as JSON (an object; `{}` before any call). */
  async exportStore() {
    return (await this.#request('exportStore')).store;
  }

  /**
   * Encrypts from now on under this key (suite number, key id, base key).
   * A key id goes into one sender only: a key id this worker already sent
   * under is refused (`invalid-argument`) unless `startingAt` resumes it at
   * or after its next unused counter (`senderState().nextCounter`). Across
   * workers and page loads the worker cannot know: never give the same key
   * and key id to two senders, and resume a saved key only from its saved
   * counter. The worker receives a copy of `baseKey` and wipes it once used;
   * `baseKey` itself stays the caller's to wipe.
   */
  async setSenderKey({ suite, kid, baseKey, startingAt }) {
    const copy = keyCopy(baseKey);
    return this.#request('setSenderKey', { suite, kid, baseKey: copy, startingAt }, transferOf(copy));
  }

  /**
   * The sender's key id and the counter its next frame uses
   * (`{ kid, nextCounter }`, bigints, or nulls without a sender): save both
   * to resume the key later with `setSenderKey({ ..., startingAt })`.
   */
  senderState() {
    return this.#request('senderState');
  }

  /**
   * Adds a key to decrypt with; older keys stay for frames in flight. The
   * worker wipes the copy of `baseKey` it receives.
   */
  async addReceiverKey({ kid, suite, baseKey }) {
    const copy = keyCopy(baseKey);
    return this.#request('addReceiverKey', { kid, suite, baseKey: copy }, transferOf(copy));
  }

  /** Removes a receive key; resolves to whether there was one. */
  async removeReceiverKey(kid) {
    return (await this.#request('removeReceiverKey', { kid })).removed;
  }

  /**
   * Calls `peerUid` (CallSession.initiate's options: `suite`, default 4,
   * `allowShortTags`, `rekeyEveryMs`, `peerIdentity`): resolves to
   * `{ message, status }`; send `message` to the peer.
   *
   * With `policy: { signed, tenantKey, lastSeenSerial }` (a signed policy
   * document, docs/POLICY.md) the worker verifies it and decides the call:
   * end-to-end encrypted, or `{ message: null, status: null,
   * notEndToEndEncrypted: reason }` (show the reason; the call is plain),
   * or `policy-forbids` when `requireE2ee` is set. A refused document
   * rejects with its code (`malformed`, `wrong-peer`,
   * `authentication-failed`, `replay`). The reply's `policySerial` is the
   * serial to keep as the next `lastSeenSerial`.
   */
  async startCall({ uid, peerUid, suite = 4, allowShortTags, rekeyEveryMs, peerIdentity, identitySecret, policy, requireE2ee } = {}) {
    const secret = identitySecret === undefined ? undefined : keyCopy(identitySecret);
    return this.#request(
      'startCall',
      { uid, peerUid, suite, allowShortTags, rekeyEveryMs, peerIdentity, identitySecret: secret, policy, requireE2ee },
      transferOf(secret),
    );
  }

  /**
   * What the signed policy (`{ signed, tenantKey, lastSeenSerial }`)
   * decides for a call between `uid` and `peerUid`, verified in the worker:
   * `{ e2ee, reason, policySerial }` (`reason` null when end-to-end
   * encrypted). A callee told that a call is plain checks it with its own
   * copy of the policy before showing the reason.
   */
  decideCall({ uid, peerUid, policy } = {}) {
    return this.#request('decideCall', { uid, peerUid, policy });
  }

  /**
   * Encrypts one frame the app moves itself (WebCodecs over a WebSocket,
   * say) with the worker's sender: `codec` is a MIME type (`video/VP8`,
   * `audio/opus`; others go as `generic`). Resolves to `{ frame }`.
   */
  seal({ codec, payload }) {
    return this.#request('seal', { codec, payload });
  }

  /**
   * Decrypts one frame the app moves itself with the worker's receiver
   * (`kind` and `kids` as `protectReceiver`): `{ codec, kid, counter,
   * payload }`, or rejects with the failure's code (a repeated counter:
   * `replay`).
   */
  open({ frame, kind, kids }) {
    return this.#request('open', { frame, kind, kids: kids === undefined ? undefined : Array.from(kids, (k) => BigInt(k)) });
  }

  /**
   * Answers a call's first message (CallSession.respond's options:
   * `expectedPeerUid`, `expectedPeerIdentity`, `allowShortTags`,
   * `rekeyEveryMs`): resolves to `{ message, status }`. With `policy` (as
   * `startCall`; `expectedPeerUid` then required) the call is answered only
   * if the verified policy makes it end-to-end encrypted, else
   * `policy-forbids`.
   */
  async answerCall({ uid, commit, expectedPeerUid, expectedPeerIdentity, allowShortTags, rekeyEveryMs, identitySecret, policy } = {}) {
    const secret = identitySecret === undefined ? undefined : keyCopy(identitySecret);
    return this.#request(
      'answerCall',
      { uid, commit, expectedPeerUid, expectedPeerIdentity, allowShortTags, rekeyEveryMs, identitySecret: secret, policy },
      transferOf(secret),
    );
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

  // ---- meetings (a worker started with { meetings: true }) ----------------
  // Each rejects with `invalid-argument` on a worker without meetings, and
  // with `protocol-violation` when no meeting runs. Bytes in and out are
  // Uint8Arrays; the app's server carries them (see wasm/README.md,
  // "Meetings in the worker").

  /**
   * Starts a meeting as its organizer, under the signed policy (`{ signed,
   * tenantKey, lastSeenSerial }`, verified in the worker): `user`,
   * `platform` (kebab-case, e.g. `desktop-mac`: the policy refuses some
   * platforms), `suite` (default 4). Resolves to `{ status, policySerial }`;
   * `policy-forbids` if the policy does not allow an end-to-end encrypted
   * meeting. From now on every protected sender and receiver, `seal` and
   * `open` use the meeting's keys.
   */
  createMeeting({ user, platform, policy, suite = 4 } = {}) {
    return this.#request('createMeeting', { user, platform, policy, suite });
  }

  /**
   * A key package for a committer to add this member with (publish it
   * through the server; each one joins once): `{ keyPackage, signatureKey }`.
   * The worker keeps its private keys, for `joinMeeting`.
   */
  meetingKeyPackage({ user, platform } = {}) {
    return this.#request('meetingKeyPackage', { user, platform });
  }

  /**
   * Joins from the Welcome a committer made for our key package, under the
   * signed policy: `{ status, policySerial }`.
   */
  joinMeeting({ welcome, policy } = {}) {
    return this.#request('joinMeeting', { welcome, policy });
  }

  /**
   * A committer adds (key packages) and removes (users) members in one
   * commit: `{ commit, welcome, refused }`. Send `commit` to the server to
   * order; once it says ours won, `commitAccepted()` and send `welcome`
   * (null without joiners) to the joiners; if another commit won,
   * `commitRejected()`, `handleCommit(winner)`, and commit again.
   * `refused`: joiners the policy refused (`[{ user, reason }]`), not in
   * the commit.
   */
  changeMembership({ add = [], remove = [] } = {}) {
    return this.#request('changeMembership', { add, remove });
  }

  /** `changeMembership({ add: keyPackages })`. */
  addMembers(keyPackages) {
    return this.changeMembership({ add: keyPackages });
  }

  /** `changeMembership({ remove: users })` (every device of each user). */
  removeMembers(users) {
    return this.changeMembership({ remove: users });
  }

  /** A commit of our own leaf (when `meetingStatus()` says `updateDue`): `{ commit, welcome }`. */
  selfUpdate() {
    return this.#request('selfUpdate');
  }

  /**
   * The server ordered our commit: the meeting moves to the next epoch.
   * Resolves to `{ change, status }` (`change` as `MeetingSession`'s
   * EpochChange, without held frames).
   */
  commitAccepted() {
    return this.#request('commitAccepted');
  }

  /** The server ordered another commit in our commit's epoch: ours is dropped. */
  commitRejected() {
    return this.#request('commitRejected');
  }

  /**
   * A commit the server relayed (another member's): `{ changes, status }`.
   * A commit that does not apply rejects with its code and changes nothing;
   * `status.missingCommitsFrom` is set while earlier commits are missing
   * (fetch them and `catchUp`).
   */
  handleCommit(commit) {
    return this.#request('handleCommit', { commit });
  }

  /** Commits from `missingCommitsFrom` on, in order: `{ changes, status }`. */
  catchUp(commits) {
    return this.#request('catchUp', { commits });
  }

  /**
   * Leaves the meeting: its keys are dropped at once and frames are no
   * longer encrypted or decrypted with them (a `meeting-ended` event,
   * reason `left`). Tell the server: a committer removes us. `{ left }`.
   */
  leaveMeeting() {
    return this.#request('leaveMeeting');
  }

  /**
   * `{ status: { epoch, code, role, removed, missingCommitsFrom } | null,
   * updateDue }`.
   */
  meetingStatus() {
    return this.#request('meetingStatus');
  }

  /**
   * The members with their identity statuses against the worker's
   * MemberKeyStore (new keys recorded unverified): `[{ member, status }]`.
   */
  async meetingRoster() {
    return (await this.#request('meetingRoster')).roster;
  }

  /**
   * The users compared this epoch's meeting code and it matched `code` (as
   * shown): every member's key but the `changed` ones becomes
   * known-verified. `invalid-argument` if a commit changed the code
   * meanwhile. Resolves to the roster.
   */
  async markCodeVerified(code) {
    return (await this.#request('markCodeVerified', { code })).roster;
  }

  /** The device at leaf `index` was confirmed out of band: known-verified. Resolves to the roster. */
  async verifyMember(index) {
    return (await this.#request('verifyMember', { index })).roster;
  }

  /**
   * The app's saved member keys (`MemberKeyStore` JSON text, from a
   * `member-store` event or `exportMemberStore()`); a bad one (`storage`)
   * changes nothing.
   */
  useMemberStore(store) {
    return this.#request('useMemberStore', { store });
  }

  /** The worker's MemberKeyStore as JSON text, to persist. */
  async exportMemberStore() {
    return (await this.#request('exportMemberStore')).store;
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
    for (const wait of [...this.#attachWaits.values()]) {
      wait({ code: 'internal', message: 'worker terminated' });
    }
    // Nothing is protected by a stopped worker.
    this.#protected = new WeakSet();
    this.#attachedWith = new WeakMap();
    this.#tokens = new WeakMap();
  }
}

// A fresh copy of key bytes, whose buffer is transferred to the worker (so
// no copy of ours stays on this thread) and wiped there once used.
function keyCopy(bytes) {
  if (!(bytes instanceof Uint8Array)) {
    throw new CallsealError('invalid-argument', 'key bytes must be a Uint8Array');
  }
  return bytes.slice();
}

// The options of a transform, comparable: key ids as sorted strings.
function optionsKey({ side, payloadTypes, kind, kids, codec }) {
  return JSON.stringify([
    side,
    kind ?? null,
    codec ?? null,
    kids === undefined ? null : kids.map(String).sort(),
    payloadTypes ? Object.entries(payloadTypes).sort() : null,
  ]);
}

function transferOf(copy) {
  return copy === undefined ? [] : [copy.buffer];
}
