// The page the Playwright tests drive (run.test.mjs): the package, loaded
// as a browser loads it, exercised in real WebRTC calls.
import init, * as api from '../../pkg/index.js';
import { FILES, replayAll } from '../conformance.mjs';
import { connect, handshake, hangUp, participant, received } from '../../demo/loopback.js';

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
    const files = {};
    const missing = [];
    for (const name of FILES) {
      const res = await fetch(`/conformance/${name}`);
      if (res.ok) files[name] = await res.json();
      else missing.push(name);
    }
    return { counts: replayAll(api, files), missing };
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

  /** New keys mid-call: Alice rekeys (call) or moves to a new key id (keyed). */
  async rekey() {
    return current.alice.e2ee.rekey();
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
