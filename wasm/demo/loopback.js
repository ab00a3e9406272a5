// Two participants in one page, connected by two RTCPeerConnections, with
// the callseal transform worker on every sender and receiver. The 1:1 call
// (handshake and in-call rekeys) runs over an in-page relay that is not
// trusted: in MITM mode it runs its own handshake with each side (as "bob"
// towards Alice and as "alice" towards Bob), so each side's code differs and
// the media that flows directly between the peers no longer decrypts.
//
// Used by the demo page and by the browser tests.
import init, { CallSession, IdentityKeyPair, IdentityStore } from '../pkg/index.js';
import { E2eeWorker } from '../pkg/webrtc.js';

/**
 * One side: its transform worker and its peer connection. `receive(kind)`
 * gives the options of its receiver of that kind (E2eeWorker.protectReceiver:
 * `kids`).
 */
export async function participant(name, { mode, receive = () => ({}) } = {}) {
  const e2ee = new E2eeWorker({ mode });
  await e2ee.ready();
  const pc = new RTCPeerConnection(e2ee.mode === 'encoded-streams' ? { encodedInsertableStreams: true } : {});
  return { name, e2ee, pc, receive, remote: new MediaStream(), local: null };
}

/**
 * The handshake over the relay. Returns `{ alice, bob }` call statuses.
 * `log(from, to, bytes)` sees every message the relay carries.
 */
export async function handshake(alice, bob, { mitm = false, suite = 4, log = () => {} } = {}) {
  const send = (from, to, message) => {
    log(from, to, message);
    return message;
  };
  if (!mitm) {
    const commit = await alice.e2ee.startCall({ uid: 'alice', peerUid: 'bob', suite });
    const response = await bob.e2ee.answerCall({ uid: 'bob', commit: send('alice', 'bob', commit.message) });
    const reveal = await alice.e2ee.handleSignal(send('bob', 'alice', response.message));
    const confirm = await bob.e2ee.handleSignal(send('alice', 'bob', reveal.message));
    const done = await alice.e2ee.handleSignal(send('bob', 'alice', confirm.message));
    return { alice: done.status, bob: confirm.status };
  }
  // Mallory, in the relay: her own identity and sessions, in the page.
  await init();
  const mallory = IdentityKeyPair.generate();
  const store = IdentityStore.memory();
  const commit = await alice.e2ee.startCall({ uid: 'alice', peerUid: 'bob', suite });
  log('alice', 'relay', commit.message);
  // Mallory answers Alice's call as "bob" (Alice has not pinned Bob's key)
  // and calls Bob as "alice".
  const toAlice = CallSession.respond(mallory, 'bob', commit.message);
  const toBob = CallSession.initiate(mallory, 'alice', 'bob', { suite });
  const response = await bob.e2ee.answerCall({ uid: 'bob', commit: send('relay', 'bob', toBob.message) });
  const reveal = await alice.e2ee.handleSignal(send('relay', 'alice', toAlice.message));
  const revealToBob = toBob.session.handle(response.message, store).reply;
  const confirm = await bob.e2ee.handleSignal(send('relay', 'bob', revealToBob));
  toBob.session.handle(confirm.message, store);
  const confirmToAlice = toAlice.session.handle(reveal.message, store).reply;
  const done = await alice.e2ee.handleSignal(send('relay', 'alice', confirmToAlice));
  const relayCodes = { alice: toAlice.session.securityCode, bob: toBob.session.securityCode };
  for (const o of [toAlice.session, toBob.session, mallory, store]) o.free();
  return { alice: done.status, bob: confirm.status, relayCodes };
}

/**
 * An in-call rekey over the relay, `offerer` first: fresh keys both ways
 * (PROTOCOL.md §3.9), installed in each side's worker between two frames.
 * Resolves to both statuses (`epoch`, ...).
 */
export async function rekey(offerer, answerer, { log = () => {} } = {}) {
  const send = (from, to, message) => {
    log(from.name, to.name, message);
    return message;
  };
  const offer = await offerer.e2ee.rekeyCall();
  const answer = await answerer.e2ee.handleSignal(send(offerer, answerer, offer.message));
  const done = await offerer.e2ee.handleSignal(send(answerer, offerer, answer.message));
  const last = await answerer.e2ee.handleSignal(send(offerer, answerer, done.message));
  for (const step of [answer, done, last]) {
    if (step.ignored) throw new Error(`rekey message ignored: ${step.ignored}`);
  }
  return { [offerer.name]: done.status, [answerer.name]: last.status };
}

/**
 * Camera and microphone (the fake devices in tests) from `from` to `to`,
 * encrypted by `from`'s worker and decrypted by `to`'s.
 */
async function sendMedia(from, to) {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: true,
    video: { width: 320, height: 240, frameRate: 15 },
  });
  from.local = stream;
  for (const track of stream.getTracks()) {
    const sender = from.pc.addTrack(track, stream);
    // Both directions of the transceiver, before negotiation (see
    // E2eeWorker.protectReceiver).
    const transceiver = from.pc.getTransceivers().find((t) => t.sender === sender);
    await Promise.all([
      from.e2ee.protectSender(transceiver.sender),
      from.e2ee.protectReceiver(transceiver.receiver, from.receive(track.kind)),
    ]);
  }
}

/** Connects the two peer connections (both ways) and starts the media. */
export async function connect(alice, bob) {
  for (const [me, other] of [
    [alice, bob],
    [bob, alice],
  ]) {
    me.pc.onicecandidate = (event) => {
      if (event.candidate) other.pc.addIceCandidate(event.candidate).catch(() => {});
    };
    me.pc.ontrack = (event) => {
      // Receivers made by negotiation itself (none in this page); those of
      // our own transceivers are protected already.
      me.e2ee.protectReceiver(event.receiver);
      me.remote.addTrack(event.track);
    };
  }
  await sendMedia(alice, bob);
  await sendMedia(bob, alice);
  const offer = await alice.pc.createOffer();
  await alice.pc.setLocalDescription(offer);
  await bob.pc.setRemoteDescription(offer);
  const answer = await bob.pc.createAnswer();
  await bob.pc.setLocalDescription(answer);
  await alice.pc.setRemoteDescription(answer);
}

/** What `pc`'s receivers decoded: video frames and audio samples. */
export async function received(pc) {
  const out = {
    video: { framesReceived: 0, framesDecoded: 0 },
    audio: { framesDecoded: 0, totalSamplesReceived: 0, concealedSamples: 0, packetsReceived: 0 },
  };
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    if (s.kind === 'video') {
      out.video.framesReceived += s.framesReceived || 0;
      out.video.framesDecoded += s.framesDecoded || 0;
    } else if (s.kind === 'audio') {
      out.audio.framesDecoded += s.framesDecoded || 0;
      out.audio.totalSamplesReceived += s.totalSamplesReceived || 0;
      out.audio.concealedSamples += s.concealedSamples || 0;
      out.audio.packetsReceived += s.packetsReceived || 0;
    }
  });
  return out;
}

/** Stops the media and the workers. */
export function hangUp(...participants) {
  for (const p of participants) {
    if (p.local) p.local.getTracks().forEach((t) => t.stop());
    p.pc.close();
    p.e2ee.terminate();
  }
}
