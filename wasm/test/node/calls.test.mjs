// 1:1 calls (PROTOCOL.md §3, version 2) through the built package: the
// handshake with its intended peer, options, the security code and key
// continuity, media both ways across in-call rekeys without a lost frame,
// stray messages that an established call ignores, and the shipped package
// without the conformance-only entry points.
import { test } from 'node:test';
import * as api from '../../pkg/node.js';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

import {
  CallSession,
  IdentityKeyPair,
  IdentityStore,
  MediaUpdate,
  initiateCallWithPolicy,
  respondToCallWithPolicy,
} from '../../pkg/node.js';
import { assertCamelCase } from '../camel-case.mjs';
import { errorCode } from '../error-code.mjs';
import { verifiedPolicy } from '../signed-policy.mjs';

const bytes = (...b) => new Uint8Array(b);

/** A party: its identity, its store, its user id. */
function party(uid) {
  return { uid, identity: IdentityKeyPair.generate(), store: IdentityStore.memory() };
}

/** Runs a handshake between two parties; returns both sessions and the messages. */
function handshake(caller, callee, { options, respondOptions } = {}) {
  const a = CallSession.initiate(caller.identity, caller.uid, callee.uid, options);
  assert.equal(a.session.state, 'negotiating');
  assert.equal(a.session.indicator, 'hidden');
  assert.equal(a.session.securityCode, null);
  assert.equal(a.session.epoch, 0);
  const b = CallSession.respond(callee.identity, callee.uid, a.message, respondOptions);
  assert.deepEqual([Object.keys(a), assertCamelCase(a), assertCamelCase(b)], [['session', 'message'], 2, 2]);
  const reveal = a.session.handle(b.message, caller.store);
  assert.deepEqual([Object.keys(reveal), assertCamelCase(reveal)], [['reply', 'media', 'ignored'], 3]);
  assert.deepEqual({ media: reveal.media, ignored: reveal.ignored }, { media: null, ignored: null });
  const confirm = b.session.handle(reveal.reply, callee.store);
  const end = a.session.handle(confirm.reply, caller.store);
  assert.deepEqual(end, { reply: null, media: null, ignored: null });
  const messages = { commit: a.message, response: b.message, reveal: reveal.reply, confirm: confirm.reply };
  return [a.session, b.session, messages];
}

/** `{ session, store, media, name }` for each side of an established call. */
function call(options) {
  const alice = party('alice');
  const bob = party('bob');
  const [a, b, messages] = handshake(alice, bob, options);
  return {
    alice: { ...alice, session: a, media: camelCase(a.takeMedia()), name: 'alice' },
    bob: { ...bob, session: b, media: camelCase(b.takeMedia()), name: 'bob' },
    messages,
  };
}

/** `media` ({ sender, receiver }), checked to have camelCase keys only. */
function camelCase(media) {
  assert.deepEqual([Object.keys(media), assertCamelCase(media)], [['sender', 'receiver'], 2]);
  return media;
}

/** The key generation of a call sender's key id (R = 8: the low 8 bits are the step). */
const generation = (sender) => sender.kid >> 8n;

test('a 1:1 call: same code, lock-and-shield, verified, key continuity, media both ways', () => {
  const alice = party('alice');
  const bob = party('bob');
  const [a, b] = handshake(alice, bob);
  assert.match(a.securityCode, /^\d{5} \d{5} \d{5} \d{5}$/);
  assert.equal(a.securityCode, b.securityCode);
  assert.equal(a.state, 'encrypted');
  assert.equal(a.indicator, 'lock-and-shield');
  assert.equal(a.peerStatus, 'new');
  assert.equal(a.peerUid, 'bob');
  assert.equal(b.peerUid, 'alice');
  assert.deepEqual(a.peerIdentity, bob.identity.publicKey());
  assert.deepEqual(b.peerIdentity, alice.identity.publicKey());
  a.markVerified(alice.store);
  assert.equal(a.state, 'verified');
  assert.equal(a.indicator, 'lock-and-shield-verified');

  const am = a.takeMedia();
  const bm = b.takeMedia();
  assert.equal(errorCode(() => a.takeMedia()), 'protocol-violation');
  assert.equal(generation(am.sender), 1n);
  assert.equal(generation(bm.sender), 2n);
  for (let i = 0; i < 5; i += 1) {
    const f = bytes(0x78, i, i + 1);
    assert.deepEqual(bm.receiver.decryptFrame(am.sender.encryptFrame('Opus', f)).payload, f);
    assert.deepEqual(am.receiver.decryptFrame(bm.sender.encryptFrame('Opus', f)).payload, f);
    const kid = am.sender.kid;
    am.sender.ratchet(); // the peer follows from the key id alone
    assert.equal(am.sender.kid, kid + 1n);
  }

  // The next call between the same identities is verified on Alice's side,
  // and may pin Bob's key.
  const [a2] = handshake(alice, bob, { options: { peerIdentity: a.peerIdentity } });
  assert.equal(a2.peerStatus, 'known-verified');
  assert.equal(a2.state, 'verified');
  // A new identity for Bob is flagged.
  const [a3] = handshake(alice, { ...bob, identity: IdentityKeyPair.generate() });
  assert.equal(a3.peerStatus, 'changed');
  assert.equal(a3.state, 'encrypted');
});

test('options: suite, short tags, rekey interval; misspelt or mistyped options are refused', () => {
  const alice = party('alice');
  const bob = party('bob');
  for (const suite of [1, 2, 4, 5, 6, 7]) {
    const { alice: a, bob: b } = call({ options: { suite } });
    const f = a.media.sender.encryptFrame('generic', bytes(suite));
    assert.deepEqual(b.media.receiver.decryptFrame(f).payload, bytes(suite));
    assert.equal(a.session.securityCode, b.session.securityCode);
  }
  // 32-bit tags (suites 3 and 8) only when both sides opt in.
  assert.equal(errorCode(() => CallSession.initiate(alice.identity, 'alice', 'bob', { suite: 3 })), 'invalid-argument');
  const short = CallSession.initiate(alice.identity, 'alice', 'bob', { suite: 8, allowShortTags: true });
  assert.equal(errorCode(() => CallSession.respond(bob.identity, 'bob', short.message)), 'invalid-argument');
  assert.equal(errorCode(() => CallSession.respond(bob.identity, 'bob', short.message, { allowShortTags: false })), 'invalid-argument');
  CallSession.respond(bob.identity, 'bob', short.message, { allowShortTags: true }).session.free();
  handshake(alice, bob, { options: { suite: 3, allowShortTags: true }, respondOptions: { allowShortTags: true } });

  const refused = [
    () => CallSession.initiate(alice.identity, 'alice', 4), // the version 1 signature
    () => CallSession.initiate(alice.identity, 'alice'),
    () => CallSession.initiate(alice.identity, 7, 'bob'),
    () => CallSession.initiate(alice.identity, 'alice', 'bob', 4),
    () => CallSession.initiate(alice.identity, 'alice', 'bob', { suit: 4 }),
    () => CallSession.initiate(alice.identity, 'alice', 'bob', { peerIdentiy: new Uint8Array(32) }),
    () => CallSession.initiate(alice.identity, 'alice', 'bob', { suite: 9 }),
    () => CallSession.initiate(alice.identity, 'alice', 'bob', { suite: '4' }),
    () => CallSession.initiate(alice.identity, 'alice', 'bob', { allowShortTags: 1 }),
    () => CallSession.initiate(alice.identity, 'alice', 'bob', { rekeyEveryMs: -1 }),
    () => CallSession.initiate(alice.identity, 'alice', 'bob', { rekeyEveryMs: 1.5 }),
    () => CallSession.initiate(alice.identity, 'alice', 'bob', { peerIdentity: new Uint8Array(31) }),
    () => CallSession.initiate(alice.identity, 'alice', 'bob', { peerIdentity: Array(32).fill(1) }),
    () => CallSession.initiate(alice.identity, 'alice', 'bob', [4]),
    () => CallSession.initiate(alice.identity, '', 'bob'),
    () => CallSession.initiate(alice.identity, 'alice', ''),
    () => CallSession.initiate(alice.identity, 'alice', 'x'.repeat(256)),
  ];
  for (const fn of refused) assert.equal(errorCode(fn), 'invalid-argument', String(fn));
  const commit = CallSession.initiate(alice.identity, 'alice', 'bob').message;
  for (const options of [{ suite: 4 }, { expectedPeer: 'alice' }, { expectedPeerIdentity: alice.identity.publicKey() }, { expectedPeerUid: 7 }]) {
    assert.equal(errorCode(() => CallSession.respond(bob.identity, 'bob', commit, options)), 'invalid-argument', JSON.stringify(options));
  }
  assert.equal(errorCode(() => CallSession.respond(bob.identity, null, commit)), 'invalid-argument');
  // undefined values count as absent, null options as none.
  CallSession.initiate(alice.identity, 'alice', 'bob', { suite: undefined, peerIdentity: undefined }).session.free();
  CallSession.initiate(alice.identity, 'alice', 'bob', null).session.free();
  CallSession.respond(bob.identity, 'bob', commit, { expectedPeerUid: undefined }).session.free();
});

test('the wrong peer is refused with wrong-peer, before any media key exists', () => {
  const alice = party('alice');
  const bob = party('bob');
  const carol = party('carol');
  const mallory = party('mallory');

  // A Commit addressed to Bob is refused by anyone else.
  const toBob = CallSession.initiate(alice.identity, 'alice', 'bob');
  assert.equal(errorCode(() => CallSession.respond(carol.identity, 'carol', toBob.message)), 'wrong-peer');
  // Bob may expect a given caller, and pin its key.
  assert.equal(errorCode(() => CallSession.respond(bob.identity, 'bob', toBob.message, { expectedPeerUid: 'dave' })), 'wrong-peer');
  assert.equal(
    errorCode(() => CallSession.respond(bob.identity, 'bob', toBob.message, {
      expectedPeerUid: 'alice',
      expectedPeerIdentity: mallory.identity.publicKey(),
    })),
    'wrong-peer',
  );
  const pinned = CallSession.respond(bob.identity, 'bob', toBob.message, {
    expectedPeerUid: 'alice',
    expectedPeerIdentity: alice.identity.publicKey(),
  });
  assert.equal(pinned.session.peerUid, 'alice');

  // Alice pins Bob's key: Mallory answering as "bob" fails Alice's session.
  const a = CallSession.initiate(alice.identity, 'alice', 'bob', { peerIdentity: bob.identity.publicKey() });
  const m = CallSession.respond(mallory.identity, 'bob', a.message);
  assert.equal(errorCode(() => a.session.handle(m.message, alice.store)), 'wrong-peer');
  assert.equal(a.session.state, 'failed');
  assert.equal(a.session.securityCode, null);
  assert.equal(errorCode(() => a.session.takeMedia()), 'protocol-violation');
  assert.equal(errorCode(() => a.session.handle(m.message, alice.store)), 'protocol-violation');
  // With the right key pinned, the call goes through.
  handshake(alice, bob, { options: { peerIdentity: bob.identity.publicKey() } });
  for (const o of [toBob.session, pinned.session, a.session, m.session]) o.free();
});

test('a man in the middle shows as different codes', () => {
  const [alice, bob, mallory] = [party('alice'), party('bob'), party('mallory')];
  const a = CallSession.initiate(alice.identity, 'alice', 'bob');
  const mToAlice = CallSession.respond(mallory.identity, 'bob', a.message);
  const mToBob = CallSession.initiate(mallory.identity, 'alice', 'bob');
  const b = CallSession.respond(bob.identity, 'bob', mToBob.message);
  const revealA = a.session.handle(mToAlice.message, alice.store).reply;
  const revealM = mToBob.session.handle(b.message, mallory.store).reply;
  mToBob.session.handle(b.session.handle(revealM, bob.store).reply, mallory.store);
  a.session.handle(mToAlice.session.handle(revealA, mallory.store).reply, alice.store);
  assert.equal(a.session.state, 'encrypted');
  assert.equal(b.session.state, 'encrypted');
  assert.notEqual(a.session.securityCode, b.session.securityCode);
  // Alice's media does not decrypt at Bob's.
  const f = a.session.takeMedia().sender.encryptFrame('generic', bytes(1, 2, 3));
  assert.equal(errorCode(() => b.session.takeMedia().receiver.decryptFrame(f)), 'authentication-failed');
});

test('handshake errors: tampering fails the session for good', () => {
  const [alice, bob] = [party('alice'), party('bob')];
  const a = CallSession.initiate(alice.identity, 'alice', 'bob');
  const b = CallSession.respond(bob.identity, 'bob', a.message);
  const response = b.message.slice();
  response[response.length - 1] ^= 1; // the ML-KEM ciphertext: another shared secret
  const reveal = a.session.handle(response, alice.store).reply;
  assert.equal(errorCode(() => b.session.handle(reveal, bob.store)), 'authentication-failed');
  assert.equal(b.session.state, 'failed');
  assert.equal(b.session.indicator, 'hidden');
  assert.equal(errorCode(() => b.session.handle(reveal, bob.store)), 'protocol-violation');
  assert.equal(errorCode(() => CallSession.respond(bob.identity, 'bob', bytes(1, 2))), 'malformed');
  assert.equal(errorCode(() => CallSession.respond(bob.identity, 'bob', bytes(1, ...new Array(99).fill(1)))), 'malformed');
  // While negotiating, a malformed message fails the session too.
  const a2 = CallSession.initiate(alice.identity, 'alice', 'bob');
  assert.equal(errorCode(() => a2.session.handle(bytes(2, 2), alice.store)), 'malformed');
  assert.equal(a2.session.state, 'failed');
  // Rekeys need an established call.
  const a3 = CallSession.initiate(alice.identity, 'alice', 'bob');
  assert.equal(errorCode(() => a3.session.rekey()), 'protocol-violation');
  assert.equal(a3.session.rekeyDue(1e12), false);
  assert.equal(a3.session.rekeyPending, false);
});

test('while negotiating, another session\'s message and a repeat are ignored', () => {
  const [alice, bob] = [party('alice'), party('bob')];
  const a = CallSession.initiate(alice.identity, 'alice', 'bob');
  const other = CallSession.initiate(alice.identity, 'alice', 'bob');
  const b = CallSession.respond(bob.identity, 'bob', a.message);
  const otherB = CallSession.respond(bob.identity, 'bob', other.message);
  assert.deepEqual(a.session.handle(otherB.message, alice.store), { reply: null, media: null, ignored: 'other-session' });
  const reveal = a.session.handle(b.message, alice.store).reply;
  // The signalling retransmits: the same Response gets the same Reveal.
  const again = a.session.handle(b.message, alice.store);
  assert.equal(again.ignored, 'repeat');
  assert.deepEqual(again.reply, reveal);
  b.session.handle(reveal, bob.store);
  assert.equal(b.session.state, 'encrypted');
});

/**
 * Both sides send frames at every step of a rekey; frames sent before a
 * step are delivered after it (in flight across the key change). Every frame
 * must decrypt to what was sent. Returns the number of frames checked.
 */
function rekeyWithTraffic(offerer, answerer) {
  const inFlight = [];
  let checked = 0;
  const send = (from, to, n) => {
    for (let i = 0; i < n; i += 1) {
      const payload = new TextEncoder().encode(`${from.name} → ${to.name} #${checked + inFlight.length}`);
      inFlight.push({ to, payload, frame: from.media.sender.encryptFrame('generic', payload) });
    }
  };
  const deliver = () => {
    for (const { to, payload, frame } of inFlight.splice(0)) {
      assert.deepEqual(to.media.receiver.decryptFrame(frame).payload, payload);
      checked += 1;
    }
  };
  const traffic = () => {
    send(offerer, answerer, 3);
    send(answerer, offerer, 3);
  };
  const apply = (side, update, epoch) => {
    assert.ok(update instanceof MediaUpdate);
    assert.equal(update.epoch, epoch);
    update.apply(side.media.sender, side.media.receiver);
    assert.equal(update.changesSender, false);
    assert.equal(update.changesReceiver, false);
    update.apply(side.media.sender, side.media.receiver); // used up: nothing more
    update.free();
  };
  const epoch = offerer.session.epoch + 1;
  traffic();
  const offer = offerer.session.rekey();
  assert.ok(offer instanceof Uint8Array);
  assert.equal(offerer.session.rekeyPending, true);
  assert.deepEqual(offerer.session.rekey(), offer); // pending: the same Offer, to resend
  traffic();
  const answered = answerer.session.handle(offer, answerer.store);
  assert.equal(answered.ignored, null);
  assert.equal(answered.media.changesSender, false); // keeps sending under the previous epoch
  assert.equal(answered.media.changesReceiver, true);
  apply(answerer, answered.media, epoch);
  assert.equal(answerer.session.epoch, epoch);
  deliver();
  traffic();
  const done = offerer.session.handle(answered.reply, offerer.store);
  assert.equal(done.ignored, null);
  assert.equal(done.media.changesSender, true);
  apply(offerer, done.media, epoch);
  assert.equal(offerer.session.epoch, epoch);
  assert.equal(offerer.session.rekeyPending, false);
  traffic(); // the offerer sends under the new epoch, the answerer under the old one
  deliver();
  traffic();
  const finished = answerer.session.handle(done.reply, answerer.store);
  assert.deepEqual({ reply: finished.reply, ignored: finished.ignored }, { reply: null, ignored: null });
  assert.equal(finished.media.changesSender, true);
  // Halves apart, as where sender and receiver live apart (the receiver
  // half may forget generations the offerer no longer sends under).
  finished.media.applyToReceiver(answerer.media.receiver);
  assert.equal(finished.media.changesReceiver, false);
  assert.equal(finished.media.changesSender, true);
  finished.media.applyToSender(answerer.media.sender);
  assert.equal(finished.media.changesSender, false);
  finished.media.free();
  traffic();
  deliver();
  return checked;
}

test('rekeys both ways: every frame in flight decrypts, new key ids per epoch, same code', () => {
  const { alice, bob } = call();
  const code = alice.session.securityCode;
  let frames = 0;
  frames += rekeyWithTraffic(alice, bob); // epoch 1, Alice (initiator) offers
  assert.equal(generation(alice.media.sender), 3n);
  assert.equal(generation(bob.media.sender), 4n);
  // Ratchet steps keep working on the new epoch's keys.
  alice.media.sender.ratchet();
  assert.equal(alice.media.sender.kid, (3n << 8n) | 1n);
  const old = bob.media.sender.encryptFrame('generic', bytes(9)); // epoch 1, delivered late
  const tooOld = bob.media.sender.encryptFrame('generic', bytes(10)); // epoch 1, delivered after epoch 3
  frames += rekeyWithTraffic(bob, alice); // epoch 2, Bob (responder) offers
  assert.equal(generation(alice.media.sender), 5n);
  assert.equal(generation(bob.media.sender), 6n);
  assert.deepEqual(alice.media.receiver.decryptFrame(old).payload, bytes(9));
  const older = alice.media.sender.encryptFrame('generic', bytes(8)); // epoch 2
  frames += rekeyWithTraffic(alice, bob); // epoch 3: epoch 1 is retired
  assert.deepEqual(bob.media.receiver.decryptFrame(older).payload, bytes(8));
  // Epoch 3 complete: both stopped following the keys of epoch 1.
  assert.equal(errorCode(() => alice.media.receiver.decryptFrame(tooOld)), 'unknown-key-id');
  assert.equal(alice.session.epoch, 3);
  assert.equal(bob.session.epoch, 3);
  assert.equal(alice.session.securityCode, code);
  assert.equal(bob.session.state, 'encrypted');
  assert.ok(frames >= 90, `${frames} frames`);
});

test('a lost RekeyDone costs nothing: the next offer releases the held key', () => {
  const { alice, bob } = call();
  const answered = bob.session.handle(alice.session.rekey(), bob.store);
  answered.media.apply(bob.media.sender, bob.media.receiver);
  const done = alice.session.handle(answered.reply, alice.store); // its Done is lost
  done.media.apply(alice.media.sender, alice.media.receiver);
  assert.equal(generation(bob.media.sender), 2n); // Bob still sends under epoch 0
  const late = bob.media.sender.encryptFrame('generic', bytes(7));
  assert.deepEqual(alice.media.receiver.decryptFrame(late).payload, bytes(7));
  const next = bob.session.handle(alice.session.rekey(), bob.store);
  assert.equal(next.media.epoch, 2);
  assert.equal(next.media.changesSender, true); // the held epoch-1 key
  next.media.apply(bob.media.sender, bob.media.receiver);
  assert.equal(generation(bob.media.sender), 4n);
  const f = bob.media.sender.encryptFrame('generic', bytes(6));
  assert.deepEqual(alice.media.receiver.decryptFrame(f).payload, bytes(6));
  const done2 = alice.session.handle(next.reply, alice.store);
  done2.media.apply(alice.media.sender, alice.media.receiver);
  bob.session.handle(done2.reply, bob.store).media.apply(bob.media.sender, bob.media.receiver);
  assert.deepEqual([generation(alice.media.sender), generation(bob.media.sender)], [5n, 6n]);
  const g = alice.media.sender.encryptFrame('generic', bytes(5));
  assert.deepEqual(bob.media.receiver.decryptFrame(g).payload, bytes(5));
});

test('a stray message in an established call is ignored and the call goes on', () => {
  const { alice, bob, messages } = call();
  const carol = party('carol');
  const ignored = (side, message, why) => {
    const h = side.session.handle(message, side.store);
    assert.equal(h.ignored, why, `${side.name}: ${why}`);
    assert.equal(h.media, null);
    return h;
  };
  // Another session's messages: a new Commit to Bob, and its Response.
  const otherCall = CallSession.initiate(carol.identity, 'carol', 'bob');
  assert.equal(ignored(bob, otherCall.message, 'other-session').reply, null);
  const otherResponse = CallSession.respond(bob.identity, 'bob', otherCall.message).message;
  ignored(alice, otherResponse, 'other-session');
  // Garbage, an old version, a truncated message.
  ignored(alice, bytes(), 'malformed');
  ignored(alice, bytes(1, 2, 3), 'malformed');
  ignored(bob, new Uint8Array(100).fill(1), 'malformed');
  // This session's handshake messages once established; retransmitted ones
  // get the same reply again.
  ignored(alice, messages.confirm, 'handshake');
  ignored(alice, messages.commit, 'handshake');
  ignored(bob, messages.commit, 'handshake');
  const reveal = alice.session.handle(messages.response, alice.store);
  assert.deepEqual(reveal, { reply: messages.reveal, media: null, ignored: 'repeat' });
  const confirm = bob.session.handle(messages.reveal, bob.store);
  assert.deepEqual(confirm, { reply: messages.confirm, media: null, ignored: 'repeat' });
  // Rekey messages: a forged MAC, a stale epoch, repeats.
  const offer = alice.session.rekey();
  const forged = offer.slice();
  forged[forged.length - 1] ^= 1;
  ignored(bob, forged, 'bad-mac');
  const stale = offer.slice();
  stale[21] ^= 1; // the epoch's low byte (after the 18-byte envelope): 1 → 0
  ignored(bob, stale, 'stale');
  ignored(alice, offer, 'bad-mac'); // reflected: the MAC is the offerer's role's
  const answered = bob.session.handle(offer, bob.store);
  answered.media.apply(bob.media.sender, bob.media.receiver);
  const again = bob.session.handle(offer, bob.store); // retransmitted Offer: the same Answer
  assert.equal(again.ignored, 'repeat');
  assert.deepEqual(again.reply, answered.reply);
  assert.equal(again.media, null);
  const done = alice.session.handle(answered.reply, alice.store);
  done.media.apply(alice.media.sender, alice.media.receiver);
  bob.session.handle(done.reply, bob.store).media.apply(bob.media.sender, bob.media.receiver);
  ignored(bob, done.reply, 'stale'); // a second Done
  // The call goes on: both established at epoch 1, media both ways.
  for (const [from, to] of [[alice, bob], [bob, alice]]) {
    assert.equal(from.session.state, 'encrypted');
    assert.equal(from.session.epoch, 1);
    const f = from.media.sender.encryptFrame('VP8', bytes(0x31, 2, 0, 4, 5, 6, 7, 8, 9, 10));
    assert.deepEqual(to.media.receiver.decryptFrame(f).payload, bytes(0x31, 2, 0, 4, 5, 6, 7, 8, 9, 10));
  }
});

test('crossing rekey offers: the initiator\'s wins', () => {
  const { alice, bob } = call();
  const fromAlice = alice.session.rekey();
  const fromBob = bob.session.rekey();
  const crossed = alice.session.handle(fromBob, alice.store);
  // Alice sends her own offer again, in case it was lost.
  assert.deepEqual(crossed, { reply: fromAlice, media: null, ignored: 'rekey-collision' });
  const answered = bob.session.handle(fromAlice, bob.store); // Bob drops his own offer
  assert.equal(answered.ignored, null);
  assert.equal(bob.session.rekeyPending, false);
  answered.media.apply(bob.media.sender, bob.media.receiver);
  const done = alice.session.handle(answered.reply, alice.store);
  done.media.apply(alice.media.sender, alice.media.receiver);
  bob.session.handle(done.reply, bob.store).media.apply(bob.media.sender, bob.media.receiver);
  assert.deepEqual([alice.session.epoch, bob.session.epoch], [1, 1]);
  const f = bob.media.sender.encryptFrame('generic', bytes(1));
  assert.deepEqual(alice.media.receiver.decryptFrame(f).payload, bytes(1));
});

test('rekeyDue: every rekeyEveryMs from the first look; off with 0', () => {
  const { alice, bob } = call({ options: { rekeyEveryMs: 1000 }, respondOptions: { rekeyEveryMs: 0 } });
  assert.equal(alice.session.rekeyDue(5000), false); // starts the clock
  assert.equal(alice.session.rekeyDue(5999.9), false);
  assert.equal(alice.session.rekeyDue(6000), true);
  assert.equal(alice.session.rekeyDue(6000n), true);
  assert.equal(bob.session.rekeyDue(0), false);
  assert.equal(bob.session.rekeyDue(1e15), false);
  assert.equal(errorCode(() => alice.session.rekeyDue(-1)), 'invalid-argument');
  assert.equal(errorCode(() => alice.session.rekeyDue('6000')), 'invalid-argument');
  assert.equal(errorCode(() => alice.session.rekeyDue(NaN)), 'invalid-argument');
  const offer = alice.session.rekey();
  assert.equal(alice.session.rekeyDue(9000), false); // an offer is pending
  const answered = bob.session.handle(offer, bob.store);
  const done = alice.session.handle(answered.reply, alice.store);
  bob.session.handle(done.reply, bob.store);
  assert.equal(alice.session.rekeyDue(performance.now()), false); // a new epoch: the clock restarts
  const { alice: c } = call();
  assert.equal(c.session.rekeyDue(0), false);
  assert.equal(c.session.rekeyDue(599_999), false);
  assert.equal(c.session.rekeyDue(600_000), true); // the default: 10 minutes
});

test('calls under a policy', () => {
  const doc = verifiedPolicy(api, JSON.stringify({
    version: 1,
    policies: [{
      Identity: 'Global',
      CallingEndtoEndEncryptionEnabledType: 'DisabledUserOverride',
      MeetingEndToEndEncryption: 'DisabledUserOverride',
      Description: '',
    }],
    users: { alice: { e2ee_calls: true }, bob: { e2ee_calls: true }, dave: { e2ee_calls: true } },
  }));
  const [alice, bob] = [party('alice'), party('bob')];
  assert.equal(errorCode(() => initiateCallWithPolicy(doc, 'carol', alice.identity, 'alice')), 'policy-forbids');
  assert.equal(errorCode(() => initiateCallWithPolicy(doc, 'bob', alice.identity, 'alice', 4)), 'invalid-argument');
  const a = initiateCallWithPolicy(doc, 'bob', alice.identity, 'alice', { suite: 4 });
  // The decision is about the caller the app named: a Commit from anyone else is refused.
  assert.equal(errorCode(() => respondToCallWithPolicy(doc, 'dave', bob.identity, 'bob', a.message)), 'wrong-peer');
  assert.equal(
    errorCode(() => respondToCallWithPolicy(doc, 'alice', bob.identity, 'bob', a.message, { expectedPeerUid: 'dave' })),
    'invalid-argument',
  );
  assert.equal(errorCode(() => respondToCallWithPolicy(doc, 'carol', bob.identity, 'bob', a.message)), 'policy-forbids');
  const b = respondToCallWithPolicy(doc, 'alice', bob.identity, 'bob', a.message, {
    expectedPeerIdentity: alice.identity.publicKey(),
  });
  const reveal = a.session.handle(b.message, alice.store).reply;
  a.session.handle(b.session.handle(reveal, bob.store).reply, alice.store);
  assert.equal(a.session.securityCode, b.session.securityCode);
  doc.free();
});

test('the shipped package has no scripted (fixed-randomness) entry points', () => {
  for (const name of ['initiateScripted', 'respondScripted']) {
    assert.equal(CallSession[name], undefined, name);
  }
  for (const name of ['rekeyScripted', 'handleScripted']) {
    assert.equal(CallSession.prototype[name], undefined, name);
  }
  const dir = new URL('../../pkg/', import.meta.url);
  const files = readdirSync(dir).filter((f) => /\.(js|d\.ts|wasm)$/.test(f));
  assert.ok(files.includes('callseal.d.ts') && files.includes('callseal_bg.wasm'), files.join(' '));
  for (const file of files) {
    const text = readFileSync(new URL(file, dir), 'latin1');
    assert.doesNotMatch(text, /scripted/i, `wasm/pkg/${file}`);
  }
});
