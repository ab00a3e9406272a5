// The page the Playwright tests drive (run.test.mjs): the package, loaded
// as a browser loads it, exercised in real WebRTC calls. calls.json replays
// on the conformance build (wasm/pkg-conformance), which alone has the
// fixed-randomness entry points.
import init, * as api from '../../pkg/index.js';
import { FILES, replayAll } from '../conformance.mjs';
import { E2eeWorker } from '../../pkg/webrtc.js';
import { connect, handshake, hangUp, participant, received, rekey } from '../../demo/loopback.js';

let current = null;

function show(name, status) {
  const el = document.getElementById(name);
  el.querySelector('.indicator').textContent = status ? status.indicator : '—';
  el.querySelector('.code').textContent = (status && status.securityCode) || '—';
}

async function attachVideos(alice, bob) {
  document.querySelector('#alice video').srcObject = alice.remote;
  document.querySelector('#bob video').srcObject = bob.remote;
}

/**
 * The keys of `value` and of the plain objects and arrays in it, as paths
 * (`decision.unavailableFeatures`); class instances and typed arrays are
 * leaves.
 */
function keyPaths(value, path, out = []) {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return out;
  if (Array.isArray(value)) {
    value.forEach((item, i) => keyPaths(item, `${path}[${i}]`, out));
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) {
      out.push({ path: `${path}.${key}`, key });
      keyPaths(item, `${path}.${key}`, out);
    }
  }
  return out;
}

window.tests = {
  /** The key paths of every kind of object the package returns, built here. */
  async shapes() {
    await init();
    // Meetings are in callseal/meetings, which has the rest too.
    const meetings = await import('../../pkg/meetings.js');
    await meetings.default();
    const json = JSON.stringify({
      version: 1,
      policies: [{
        Identity: 'Global',
        CallingEndtoEndEncryptionEnabledType: 'DisabledUserOverride',
        MeetingEndToEndEncryption: 'DisabledUserOverride',
        Description: '',
      }],
      users: { alice: { e2ee_calls: true }, bob: { e2ee_calls: true } },
    });
    const doc = api.PolicyDocument.fromJson(json);
    const got = {};
    got.callDecision = doc.evaluateCall('alice', 'bob');
    got.meetingDecision = doc.evaluateMeeting('alice', true, [
      { user: 'alice', platform: 'desktop-mac' }, { user: 'carol', platform: 'web' },
    ]);
    const [alice, bob] = [api.IdentityKeyPair.generate(), api.IdentityKeyPair.generate()];
    const [aStore, bStore] = [api.IdentityStore.memory(), api.IdentityStore.memory()];
    got.start = api.CallSession.initiate(alice, 'alice', 'bob');
    got.answer = api.CallSession.respond(bob, 'bob', got.start.message);
    got.reveal = got.start.session.handle(got.answer.message, aStore);
    got.confirm = got.answer.session.handle(got.reveal.reply, bStore);
    got.end = got.start.session.handle(got.confirm.reply, aStore);
    got.aliceMedia = got.start.session.takeMedia();
    got.bobMedia = got.answer.session.takeMedia();
    const frame = got.aliceMedia.sender.encryptFrame('Opus', new Uint8Array([0x78, 1, 2]));
    got.decrypted = got.bobMedia.receiver.decryptFrame(frame);
    // Meetings take a verified (signed) policy document only.
    const admin = meetings.PolicySigningKey.generate();
    const signed = admin.sign(meetings.PolicyDocument.fromJson(json), 1, 0);
    const meetingDoc = meetings.VerifiedPolicy.verify(signed, admin.tenantKey(), 0);
    const olga = meetings.MeetingSession.create(new meetings.MeetingClient('olga', 'desktop-mac'), meetingDoc, 4, 0);
    const pete = new meetings.MeetingClient('pete', 'android');
    got.batch = olga.changeMembership([pete.keyPackage()], []);
    got.change = olga.commitAccepted(0);
    const peteSession = meetings.MeetingSession.join(pete, got.batch.messages.welcome, meetingDoc, 0);
    got.meetingFrame = peteSession.decrypt(olga.encrypt('Opus', new Uint8Array([0x78, 1])), 1);
    got.members = olga.members();
    got.roster = olga.checkIdentities(new meetings.MemberKeyStore());
    return keyPaths(got, 'got');
  },

  async conformance() {
    await init();
    const scripted = await import('../../pkg-conformance/index.js');
    await scripted.default();
    const files = {};
    const missing = [];
    for (const name of FILES) {
      const res = await fetch(`/conformance/${name}`);
      if (res.ok) files[name] = await res.json();
      else missing.push(name);
    }
    return { counts: replayAll(api, files, { scripted }), missing };
  },

  /** A call over the in-page relay: Alice uses RTCRtpScriptTransform, Bob createEncodedStreams. */
  async call({ mitm = false } = {}) {
    const alice = await participant('alice', { mode: 'script-transform' });
    const bob = await participant('bob', { mode: 'encoded-streams' });
    current = { alice, bob };
    const statuses = await handshake(alice, bob, { mitm });
    show('alice', statuses.alice);
    show('bob', statuses.bob);
    await attachVideos(alice, bob);
    await connect(alice, bob);
    return { ...statuses, modes: [alice.e2ee.mode, bob.e2ee.mode] };
  },

  /** Media under keys set from the page; Bob's receive key is wrong if asked. */
  async keyed({ wrongKey = false } = {}) {
    const alice = await participant('alice');
    const bob = await participant('bob');
    current = { alice, bob };
    const key = (b) => new Uint8Array(16).fill(b);
    await alice.e2ee.setSenderKey({ suite: 4, kid: 1n, baseKey: key(1) });
    await bob.e2ee.addReceiverKey({ kid: 1n, suite: 4, baseKey: key(wrongKey ? 2 : 1) });
    await bob.e2ee.setSenderKey({ suite: 4, kid: 2n, baseKey: key(3) });
    await alice.e2ee.addReceiverKey({ kid: 2n, suite: 4, baseKey: key(3) });
    await attachVideos(alice, bob);
    await connect(alice, bob);
    return { modes: [alice.e2ee.mode, bob.e2ee.mode] };
  },

  /**
   * Media under keys set from the page, where Bob's video receiver accepts
   * only key id 9 (another participant's, say): Alice's camera frames (key
   * id 1) arriving there are authentic but not that track's.
   */
  async misrouted() {
    const alice = await participant('alice');
    const bob = await participant('bob', { receive: (kind) => ({ kids: kind === 'video' ? [9n] : [1n] }) });
    current = { alice, bob };
    const key = (b) => new Uint8Array(16).fill(b);
    await alice.e2ee.setSenderKey({ suite: 4, kid: 1n, baseKey: key(1) });
    await bob.e2ee.addReceiverKey({ kid: 1n, suite: 4, baseKey: key(1) });
    await bob.e2ee.addReceiverKey({ kid: 9n, suite: 4, baseKey: key(9) });
    await bob.e2ee.setSenderKey({ suite: 4, kid: 2n, baseKey: key(3) });
    await alice.e2ee.addReceiverKey({ kid: 2n, suite: 4, baseKey: key(3) });
    await attachVideos(alice, bob);
    await connect(alice, bob);
  },

  /**
   * The worker's rules in a real worker: a repeated key id, an unknown
   * operation, attaches that fail (no encoded streams; a worker that never
   * confirms its transform).
   */
  async workerRules() {
    const out = {};
    const e2ee = new E2eeWorker();
    await e2ee.ready();
    const key = new Uint8Array(16).fill(4);
    await e2ee.setSenderKey({ suite: 4, kid: 7n, baseKey: key });
    out.repeated = await e2ee.setSenderKey({ suite: 4, kid: 7n, baseKey: key }).then(
      () => 'accepted',
      (err) => err.code,
    );
    out.keyKept = Array.from(key).every((b) => b === 4);
    out.state = await e2ee.senderState();
    out.resumed = await e2ee.setSenderKey({ suite: 4, kid: 7n, baseKey: key, startingAt: out.state.nextCounter }).then(
      () => 'accepted',
      (err) => err.code,
    );
    out.unknownOps = [];
    for (const op of ['constructor', '__proto__', 'toString']) {
      const id = 1e9 + out.unknownOps.length;
      const reply = new Promise((resolve) => {
        const on = (event) => {
          if (event.data && event.data.id === id) {
            e2ee.worker.removeEventListener('message', on);
            resolve(event.data);
          }
        };
        e2ee.worker.addEventListener('message', on);
      });
      e2ee.worker.postMessage({ id, op });
      const { error, result } = await reply;
      out.unknownOps.push(error ? error.code : `result ${JSON.stringify(result)}`);
    }
    e2ee.terminate();

    // createEncodedStreams() already taken (by other code on the page):
    // the sender cannot be protected, and is never reported as protected.
    const streams = new E2eeWorker({ mode: 'encoded-streams' });
    const pc = new RTCPeerConnection({ encodedInsertableStreams: true });
    const { sender } = pc.addTransceiver('video');
    sender.createEncodedStreams();
    out.streamsAttach = [];
    for (let i = 0; i < 2; i++) {
      out.streamsAttach.push(await streams.protectSender(sender).then(() => 'protected', (err) => err.code));
    }
    out.streamsProtected = streams.isProtected(sender);
    streams.terminate();

    // A worker that never confirms: refused after the timeout, detached.
    if (typeof RTCRtpScriptTransform === 'function') {
      const silentUrl = URL.createObjectURL(new Blob(['onmessage = () => {}; onrtctransform = () => {};'], { type: 'text/javascript' }));
      const silent = new E2eeWorker({ worker: new Worker(silentUrl), mode: 'script-transform', attachTimeoutMs: 500 });
      const other = pc.addTransceiver('audio').sender;
      out.silentAttach = await silent.protectSender(other).then(() => 'protected', (err) => err.code);
      out.silentProtected = silent.isProtected(other);
      out.silentTransform = other.transform !== null; // kept: frames go nowhere, never in clear
      silent.terminate();
    }
    pc.close();
    return out;
  },

  /**
   * A sender whose worker never confirms its transform (it did not load):
   * the attach fails, and the camera must not reach a plain receiver in
   * clear. Returns what the plain receiver decoded.
   */
  async silentSender({ control = false } = {}) {
    const silentUrl = URL.createObjectURL(new Blob(['onmessage = () => {}; onrtctransform = () => {};'], { type: 'text/javascript' }));
    const e2ee = new E2eeWorker({ worker: new Worker(silentUrl), mode: 'script-transform', attachTimeoutMs: 1500 });
    const [a, b] = [new RTCPeerConnection(), new RTCPeerConnection()];
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate).catch(() => {});
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate).catch(() => {});
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240, frameRate: 15 } });
    const sender = a.addTrack(stream.getVideoTracks()[0], stream);
    // Attached right after addTrack, not awaited: negotiation and media
    // start while the worker is silent, and the attach fails mid-call.
    const attaching = control ? Promise.resolve('none') : e2ee.protectSender(sender).then(() => 'protected', (err) => err.code);
    const offer = await a.createOffer();
    await a.setLocalDescription(offer);
    await b.setRemoteDescription(offer);
    const answer = await b.createAnswer();
    await b.setLocalDescription(answer);
    await a.setRemoteDescription(answer);
    const attach = await attaching;
    await new Promise((r) => setTimeout(r, 4000));
    const got = await received(b);
    const out = { attach, protected: e2ee.isProtected(sender), framesReceived: got.video.framesReceived, framesDecoded: got.video.framesDecoded };
    stream.getTracks().forEach((t) => t.stop());
    a.close();
    b.close();
    e2ee.terminate();
    return out;
  },

  /** A ratchet step of Alice's sending key (the peer follows from the key id). */
  async ratchet() {
    return current.alice.e2ee.ratchet();
  },

  /** Two in-call rekeys over the relay: Alice offers, then Bob. */
  async rekey() {
    const { alice, bob } = current;
    const first = await rekey(alice, bob);
    // Epoch 2 retires the keys of epoch 0: let frames still in flight under
    // them arrive first (a real call rekeys minutes apart).
    await new Promise((r) => setTimeout(r, 1000));
    const second = await rekey(bob, alice);
    return { first, second };
  },

  /** Stray signalling into the established call: ignored, and the call goes on. */
  async stray() {
    const { alice, bob } = current;
    const garbage = await bob.e2ee.handleSignal(new Uint8Array([2, 1, 2, 3]));
    const carol = await participant('carol');
    const otherCall = await carol.e2ee.startCall({ uid: 'carol', peerUid: 'bob' });
    const otherSession = await bob.e2ee.handleSignal(otherCall.message);
    hangUp(carol);
    return {
      ignored: [garbage.ignored, otherSession.ignored],
      replies: [garbage.message, otherSession.message],
      status: await alice.e2ee.callStatus(),
    };
  },

  /** A Commit for Bob answered by Carol's worker: refused with `wrong-peer`. */
  async wrongPeer() {
    const alice = await participant('alice');
    const carol = await participant('carol');
    const { message } = await alice.e2ee.startCall({ uid: 'alice', peerUid: 'bob' });
    let code = null;
    try {
      await carol.e2ee.answerCall({ uid: 'carol', commit: message });
    } catch (err) {
      code = err instanceof api.CallsealError ? err.code : `not a CallsealError: ${err}`;
    }
    hangUp(alice, carol);
    return code;
  },

  /**
   * Detaches Alice's video sender in the middle of the call (the call of
   * `call()` must be running): what the sender and the worker say after.
   */
  async unprotectVideo() {
    const { alice } = current;
    const sender = alice.pc.getSenders().find((s) => s.track && s.track.kind === 'video');
    const before = { protected: alice.e2ee.isProtected(sender), transforms: (await alice.e2ee.stats()).transforms };
    const detached = await alice.e2ee.unprotect(sender);
    return {
      before,
      detached,
      again: await alice.e2ee.unprotect(sender),
      protected: alice.e2ee.isProtected(sender),
      track: sender.track,
      transform: sender.transform ?? null,
      transforms: (await alice.e2ee.stats()).transforms,
    };
  },

  async stats() {
    const { alice, bob } = current;
    return {
      alice: { received: await received(alice.pc), worker: await alice.e2ee.stats() },
      bob: { received: await received(bob.pc), worker: await bob.e2ee.stats() },
    };
  },

  hangUp() {
    if (current) hangUp(current.alice, current.bob);
    current = null;
  },
};
window.testsReady = true;
