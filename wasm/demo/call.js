// One side of an end-to-end encrypted call between two browsers, through
// `callseal relay` (docs/RELAY.md): open call.html?name=alice in one window
// and call.html?name=bob&peer=alice in another (`relay=ws://HOST:PORT`,
// default ws://127.0.0.1:8765). The call's handshake and rekeys run in this
// page's transform worker under the identity kept in IndexedDB
// (BrowserKeyring), so a peer verified once is known-verified after a
// reload, and a peer whose key changed shows as changed.
//
// Media goes one of two ways (`media=`):
// - `webrtc` (default): an RTCPeerConnection between the two browsers
//   (SDP and ICE through the relay), every sender and receiver protected by
//   the worker. It does not pass through the relay, so a relay that
//   intercepts the handshake (`callseal relay --mitm`) leaves both ends
//   unable to decrypt each other.
// - `relay`: the camera and microphone encoded with WebCodecs (VP8, Opus),
//   sealed by the worker and sent as frames on the relay's binary channel,
//   as through an SFU; the peer opens and decodes them. A `--mitm` relay
//   re-encrypts these: media decodes, and only the codes tell.
//
// With `policy=` absent the call is end-to-end encrypted whenever both
// sides can; tests set a signed policy with `callPage.usePolicy(...)`.
//
// `window.callPage` is what the browser tests drive (run-relay.test.mjs).
import init from '../pkg/index.js';
import { BrowserKeyring, E2eeWorker } from '../pkg/webrtc.js';
import { received } from './loopback.js';
import { RelayClient, fromBase64, toBase64 } from './relay-client.js';
import { relayMedia } from './relay-media.js';

const params = new URLSearchParams(location.search);
const name = params.get('name') || `guest-${Math.floor(Math.random() * 1e6)}`;
const relayUrl = params.get('relay') || 'ws://127.0.0.1:8765';
const mediaPath = params.get('media') === 'relay' ? 'relay' : 'webrtc';

const $ = (id) => document.getElementById(id);
const EVENTS = ['state', 'code', 'peer-changed', 'decrypt-failed', 'missing-key', 'stream-error', 'storage-error'];

const call = {
  peer: null,
  started: false,
  status: null,
  refused: null,
  error: null,
  events: [],
  pc: null,
  local: null,
  remote: new MediaStream(),
  pendingIce: [],
  decoded: { video: 0, audio: 0 },
  openFailures: {},
  codecs: [],
};
let e2ee;
let relay;
let keyring;
let policy = null;

// Signals are handled one at a time, in the order they arrived.
let chain = Promise.resolve();
function enqueue(fn) {
  chain = chain.then(fn).catch((err) => {
    call.error = `${(err && err.code) || 'error'}: ${(err && err.message) || err}`;
    render();
  });
  return chain;
}

function render() {
  const s = call.status;
  $('me').textContent = name;
  $('peer').textContent = call.peer || '—';
  $('state').textContent = s ? s.state : '—';
  $('indicator').textContent = s ? s.indicator : '—';
  $('indicator').className = s && s.indicator !== 'hidden' ? `indicator ${s.indicator}` : 'indicator';
  $('code').textContent = (s && s.securityCode) || '—';
  $('peer-status').textContent = (s && s.peerStatus) || '—';
  $('refused').textContent = call.refused ? `not end-to-end encrypted: ${call.refused}` : '';
  $('error').textContent = call.error || '';
  $('verify').disabled = !s || s.state !== 'encrypted';
}

async function openWebRtc(peer) {
  const pc = new RTCPeerConnection(e2ee.mode === 'encoded-streams' ? { encodedInsertableStreams: true } : {});
  call.pc = pc;
  pc.onicecandidate = (event) => {
    if (event.candidate) relay.signal(peer, { ice: event.candidate.toJSON() });
  };
  pc.ontrack = (event) => {
    call.remote.addTrack(event.track);
    $('remote').srcObject = call.remote;
  };
  for (const track of call.local.getTracks()) {
    const sender = pc.addTrack(track, call.local);
    // Both directions at once, before negotiation (E2eeWorker.protectReceiver).
    await e2ee.protectTransceiver(pc.getTransceivers().find((t) => t.sender === sender));
  }
}

// ---- the call -------------------------------------------------------------

async function localMedia() {
  if (!call.local) {
    call.local = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: 320, height: 240, frameRate: 15 },
    });
    $('local').srcObject = call.local;
  }
}

async function openMedia(peer) {
  await localMedia();
  if (mediaPath === 'webrtc') await openWebRtc(peer);
  else {
    relayMedia({
      e2ee,
      relay,
      local: call.local,
      to: peer,
      accept: (from) => from === peer,
      onFrame: (codec) => {
        call.codecs.push(codec);
        if (call.codecs.length > 16) call.codecs.shift();
      },
      onDecoded: (kind) => (call.decoded[kind] += 1),
      onOpenFailure: (code) => (call.openFailures[code] = (call.openFailures[code] || 0) + 1),
      onError: (message) => (call.error = message),
    });
  }
}

/** Calls `peer` (a relay name). */
async function startCall(peer) {
  call.peer = peer;
  call.started = true;
  render();
  if (policy) {
    const decision = await e2ee.decideCall({ uid: name, peerUid: peer, policy });
    if (!decision.e2ee) {
      call.refused = decision.reason;
      relay.signal(peer, { plain: true });
      render();
      return;
    }
  }
  await openMedia(peer);
  const start = await e2ee.startCall({ uid: name, peerUid: peer, ...(policy ? { policy, requireE2ee: true } : {}) });
  relay.signal(peer, { call: toBase64(start.message) });
  if (mediaPath === 'webrtc') {
    await call.pc.setLocalDescription(await call.pc.createOffer());
    relay.signal(peer, { sdp: call.pc.localDescription.toJSON() });
  }
}

async function onSignal(from, data) {
  // Once a call has started, only its peer speaks in it: any client of the
  // relay can send signals, and none but the peer may rename it, call the
  // call plain, or feed it SDP, ICE or call messages.
  if (call.started && from !== call.peer) return;
  if (data.plain || data.declined) {
    // The peer says the call is not end-to-end encrypted: this side checks
    // its own copy of the policy and shows its own reason.
    call.peer = from;
    if (policy) {
      const decision = await e2ee.decideCall({ uid: name, peerUid: from, policy });
      call.refused = decision.e2ee ? `refused by ${from}` : decision.reason;
    } else {
      call.refused = `refused by ${from}`;
    }
    render();
    return;
  }
  if (typeof data.call === 'string') {
    const message = fromBase64(data.call);
    if (!call.started) {
      call.peer = from;
      call.started = true;
      if (policy) {
        const decision = await e2ee.decideCall({ uid: name, peerUid: from, policy });
        if (!decision.e2ee) {
          call.refused = decision.reason;
          relay.signal(from, { declined: true });
          render();
          return;
        }
      }
      await openMedia(from);
      const answer = await e2ee.answerCall({ uid: name, commit: message, expectedPeerUid: from, ...(policy ? { policy } : {}) });
      relay.signal(from, { call: toBase64(answer.message) });
    } else {
      const step = await e2ee.handleSignal(message);
      if (step.message) relay.signal(from, { call: toBase64(step.message) });
    }
  }
  if (data.sdp && call.pc) {
    await call.pc.setRemoteDescription(data.sdp);
    for (const ice of call.pendingIce.splice(0)) await call.pc.addIceCandidate(ice);
    if (data.sdp.type === 'offer') {
      await call.pc.setLocalDescription(await call.pc.createAnswer());
      relay.signal(from, { sdp: call.pc.localDescription.toJSON() });
    }
  }
  if (data.ice && call.pc) {
    if (call.pc.remoteDescription) await call.pc.addIceCandidate(data.ice);
    else call.pendingIce.push(data.ice);
  }
}

async function setUp() {
  await init();
  e2ee = new E2eeWorker();
  await e2ee.ready();
  keyring = await BrowserKeyring.open({ name: params.get('keyring') || `callseal-${name}` });
  await e2ee.useKeyring(keyring);
  for (const type of EVENTS) {
    e2ee.addEventListener(type, (event) => {
      call.events.push({ type, detail: event.detail });
      if (type === 'state') call.status = event.detail;
      render();
    });
  }
  // After a reload the relay may not have seen the old page leave yet.
  for (let attempt = 0; ; attempt += 1) {
    try {
      relay = await RelayClient.connect(relayUrl, name);
      break;
    } catch (err) {
      if (attempt >= 20 || !/name-taken/.test(err.message)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  relay.addEventListener('signal', (event) => enqueue(() => onSignal(event.detail.from, event.detail.data)));
  $('call').onclick = () => enqueue(() => startCall($('callee').value.trim()));
  $('verify').onclick = () => enqueue(async () => {
    call.status = (await e2ee.markVerified()).status;
    render();
  });
  if (params.get('peer')) $('callee').value = params.get('peer');
  render();
}

window.callPage = {
  ready: setUp().then(
    () => true,
    (err) => {
      call.error = String((err && err.message) || err);
      render();
      throw err;
    },
  ),
  /** Uses a signed policy (`{ signed, tenantKey, lastSeenSerial }`) for the next call. */
  usePolicy(next) {
    policy = next;
  },
  call: (peer) => enqueue(() => startCall(peer)),
  markVerified: () =>
    enqueue(async () => {
      call.status = (await e2ee.markVerified()).status;
      render();
    }),
  async snapshot() {
    await chain;
    const media = call.pc ? await received(call.pc) : { video: { framesDecoded: call.decoded.video }, audio: { framesDecoded: call.decoded.audio } };
    return {
      name,
      peer: call.peer,
      status: await e2ee.callStatus(),
      refused: call.refused,
      error: call.error,
      events: call.events.map((e) => e.type),
      media,
      codecs: call.codecs.slice(),
      openFailures: { ...call.openFailures },
      stats: await e2ee.stats(),
      indicatorText: $('indicator').textContent,
      codeText: $('code').textContent,
      refusedText: $('refused').textContent,
    };
  },
  saved: async () => keyring.peers(),
  async forgetIdentity() {
    await keyring.forgetIdentity();
  },
};
