// The page the Playwright tests drive (run.test.mjs): the package, loaded
// as a browser loads it, exercised in real WebRTC calls. calls.json replays
// on the conformance build (wasm/pkg-conformance), which alone has the
// fixed-randomness entry points.
import init, * as api from '../../pkg/index.js';
import { FILES, replayAll } from '../conformance.mjs';
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

window.tests = {
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
