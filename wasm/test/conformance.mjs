// Replays the cross-target conformance files (tests/conformance/*.json,
// format in docs/BINDINGS.md) against the callseal package: every byte must
// match. Runs unchanged in Node and in a browser page: `api` is the
// package's exports, `files` maps a file name to its parsed JSON.

export const FILES = ['frames.json', 'media.json', 'errors.json', 'calls.json', 'policy.json', 'policy-signed.json'];

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function unhex(text) {
  if (text.length % 2 !== 0) throw new Error(`odd hex length: ${text}`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function check(name, what, actual, expected) {
  if (actual !== expected) {
    throw new Error(`${name}: ${what} differs\n  expected ${expected}\n  actual   ${actual}`);
  }
}

function replayFrames(api, file) {
  for (const c of file.cases) {
    const sender = api.FrameSender.startingAt(c.suite, BigInt(c.kid), unhex(c.base_key), BigInt(c.counter));
    const frame = sender.encrypt(unhex(c.metadata), unhex(c.payload));
    check(c.name, 'frame', hex(frame), c.frame);
    const receiver = new api.FrameReceiver();
    receiver.addKey(BigInt(c.kid), c.suite, unhex(c.base_key));
    check(c.name, 'payload', hex(receiver.decrypt(unhex(c.metadata), unhex(c.frame))), c.payload);
    sender.free();
    receiver.free();
  }
}

function replayMedia(api, file) {
  for (const c of file.cases) {
    const sender = api.MediaSender.startingAt(c.suite, BigInt(c.kid), unhex(c.base_key), BigInt(c.counter));
    check(c.name, 'protected', hex(sender.encryptFrame(c.codec, unhex(c.frame))), c.protected);
    const receiver = new api.MediaReceiver();
    receiver.addKey(BigInt(c.kid), c.suite, unhex(c.base_key));
    const out = receiver.decryptFrame(unhex(c.protected));
    check(c.name, 'decrypted', hex(out.payload), c.decrypted);
    check(c.name, 'codec', out.codec, c.codec);
    check(c.name, 'kid', out.kid, BigInt(c.kid));
    check(c.name, 'counter', out.counter, BigInt(c.counter));
    sender.free();
    receiver.free();
  }
}

function replayErrors(api, file) {
  for (const c of file.cases) {
    const media = c.operation === 'media-decrypt';
    if (!media && c.operation !== 'frame-decrypt') throw new Error(`${c.name}: unknown operation ${c.operation}`);
    const receiver = media ? new api.MediaReceiver() : new api.FrameReceiver();
    const metadata = unhex(c.metadata || '');
    let failed = null;
    const steps = [
      () => receiver.addKey(BigInt(c.kid), c.suite, unhex(c.base_key)),
      ...c.before.map((f) => () => {
        if (media) receiver.decryptFrame(unhex(f));
        else receiver.decrypt(metadata, unhex(f));
      }),
      () => (media ? receiver.decryptFrame(unhex(c.input)) : receiver.decrypt(metadata, unhex(c.input))),
    ];
    for (const step of steps) {
      try {
        step();
      } catch (err) {
        failed = err;
        break;
      }
    }
    if (!failed) throw new Error(`${c.name}: expected ${c.error}, but every step succeeded`);
    if (!(failed instanceof api.CallsealError)) throw new Error(`${c.name}: not a CallsealError: ${failed}`);
    check(c.name, 'error code', failed.code, c.error);
    receiver.free();
  }
}

/** The `Handled` of one step: `reply` as hex (or null), and the rest checked. */
function step(name, what, handled, { media, ignored = null }) {
  check(name, `${what}: ignored`, handled.ignored, ignored);
  check(name, `${what}: media`, handled.media !== null, media);
  return handled;
}

/**
 * calls.json version 2: the handshake, the first frames, one rekey and the
 * frames after it. Needs the scripted (fixed-randomness) entry points, which
 * only the conformance build has (scripts/build-wasm --conformance).
 */
function replayCalls(api, file) {
  if (typeof api.CallSession.initiateScripted !== 'function') {
    throw new Error('calls.json needs the conformance build (wasm/pkg-conformance: scripts/build-wasm --conformance)');
  }
  for (const c of file.cases) {
    const owned = [];
    const own = (o) => {
      owned.push(o);
      return o;
    };
    const iId = own(api.IdentityKeyPair.fromBytes(unhex(c.initiator.identity_secret)));
    const rId = own(api.IdentityKeyPair.fromBytes(unhex(c.responder.identity_secret)));
    const [iStore, rStore] = [own(api.IdentityStore.memory()), own(api.IdentityStore.memory())];
    const sent = [];
    const i = api.CallSession.initiateScripted(
      iId, c.initiator.uid, c.responder.uid,
      { suite: c.suite, allowShortTags: c.allow_short_tags },
      unhex(c.initiator.entropy),
    );
    own(i.session);
    sent.push(i.message);
    const r = api.CallSession.respondScripted(
      rId, c.responder.uid, i.message, { allowShortTags: c.allow_short_tags }, unhex(c.responder.entropy),
    );
    own(r.session);
    sent.push(r.message);
    const reveal = step(c.name, 'reveal', i.session.handle(r.message, iStore), { media: false }).reply;
    sent.push(reveal);
    const confirm = step(c.name, 'confirm', r.session.handle(reveal, rStore), { media: false }).reply;
    sent.push(confirm);
    check(c.name, 'last reply', step(c.name, 'end', i.session.handle(confirm, iStore), { media: false }).reply, null);
    check(c.name, 'message count', sent.length, c.messages.length);
    sent.forEach((m, n) => check(c.name, `message ${n}`, hex(m), c.messages[n]));
    check(c.name, 'initiator code', i.session.securityCode, c.security_code);
    check(c.name, 'responder code', r.session.securityCode, c.security_code);
    check(c.name, 'initiator peer', i.session.peerUid, c.responder.uid);
    check(c.name, 'responder peer', r.session.peerUid, c.initiator.uid);

    const im = i.session.takeMedia();
    const rm = r.session.takeMedia();
    [im.sender, im.receiver, rm.sender, rm.receiver].forEach(own);
    const frames = (what, f) => {
      const iFrame = im.sender.encryptFrame(f.codec, unhex(f.payload));
      const rFrame = rm.sender.encryptFrame(f.codec, unhex(f.payload));
      check(c.name, `${what} initiator_to_responder`, hex(iFrame), f.initiator_to_responder);
      check(c.name, `${what} responder_to_initiator`, hex(rFrame), f.responder_to_initiator);
      check(c.name, `${what} responder decrypts`, hex(rm.receiver.decryptFrame(iFrame).payload), f.payload);
      check(c.name, `${what} initiator decrypts`, hex(im.receiver.decryptFrame(rFrame).payload), f.payload);
    };
    frames('first_frames', c.first_frames);

    // The rekey: offer, answer, done, each side applying its media updates.
    const rk = c.rekey;
    const sides = {
      initiator: { session: i.session, store: iStore, media: im },
      responder: { session: r.session, store: rStore, media: rm },
    };
    const o = sides[rk.offerer];
    const a = sides[rk.offerer === 'initiator' ? 'responder' : 'initiator'];
    if (!o) throw new Error(`${c.name}: unknown offerer ${rk.offerer}`);
    const apply = (side, handled) => {
      own(handled.media).apply(side.media.sender, side.media.receiver);
      check(c.name, 'update applied', handled.media.changesSender || handled.media.changesReceiver, false);
      check(c.name, 'update epoch', handled.media.epoch, rk.epoch);
    };
    const offer = o.session.rekeyScripted(unhex(rk.offerer_entropy));
    check(c.name, 'offerer pending', o.session.rekeyPending, true);
    const answered = step(c.name, 'answer', a.session.handleScripted(offer, a.store, unhex(rk.answerer_entropy)), { media: true });
    apply(a, answered);
    const done = step(c.name, 'done', o.session.handle(answered.reply, o.store), { media: true });
    apply(o, done);
    const finished = step(c.name, 'finish', a.session.handle(done.reply, a.store), { media: true });
    check(c.name, 'reply to done', finished.reply, null);
    apply(a, finished);
    const rekeyed = [offer, answered.reply, done.reply];
    check(c.name, 'rekey message count', rekeyed.length, rk.messages.length);
    rekeyed.forEach((m, n) => check(c.name, `rekey message ${n}`, hex(m), rk.messages[n]));
    check(c.name, 'initiator epoch', i.session.epoch, rk.epoch);
    check(c.name, 'responder epoch', r.session.epoch, rk.epoch);
    check(c.name, 'offerer pending after', o.session.rekeyPending, false);
    check(c.name, 'code after the rekey', i.session.securityCode, c.security_code);
    frames('rekey.frames', rk.frames);
    for (const x of owned) x.free();
  }
}

/** JSON with object keys sorted, so field order does not matter. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * `value` with the keys of its objects, at any depth, from snake_case to
 * camelCase: the files hold the core's JSON form (`unavailable_features`),
 * JavaScript gets camelCase keys (`unavailableFeatures`).
 */
function camelKeys(value) {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(
      ([k, v]) => [k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase()), camelKeys(v)],
    ));
  }
  return value;
}

/** policy.json: the same decisions, field for field (camelCase keys). */
function replayPolicy(api, file) {
  for (const c of file.cases) {
    const doc = api.PolicyDocument.fromJson(c.document);
    const got = c.kind === 'call'
      ? doc.evaluateCall(c.caller, c.callee)
      : doc.evaluateMeeting(c.organizer, c.organizer_e2ee, c.participants);
    check(c.name, 'decision', canonical(got), canonical(camelKeys(c.decision)));
    doc.free();
  }
}

/**
 * policy-signed.json: each signed document accepted (serial, issue time,
 * the document, a decision under it) or refused with its code.
 */
function replayPolicySigned(api, file) {
  for (const c of file.cases) {
    const signed = new TextEncoder().encode(c.signed);
    let verified;
    try {
      verified = api.VerifiedPolicy.verify(signed, unhex(c.tenant_key), c.last_seen_serial);
    } catch (err) {
      if (!c.error) throw new Error(`${c.name}: refused (${err.code}: ${err.message}), expected accepted`);
      check(c.name, 'error code', err.code, c.error);
      continue;
    }
    if (c.error) throw new Error(`${c.name}: accepted, expected ${c.error}`);
    check(c.name, 'serial', verified.serial, c.accepted.serial);
    check(c.name, 'issuedAt', verified.issuedAt, c.accepted.issued_at);
    const doc = verified.document();
    check(c.name, 'document', doc.toJson(), c.accepted.document);
    const decision = verified.evaluateCall('alice', 'bob');
    check(c.name, 'call e2ee', decision.e2ee, c.accepted.call_e2ee);
    check(c.name, 'call reason', decision.reason, c.accepted.call_reason);
    doc.free();
    verified.free();
  }
}

const REPLAY = {
  'policy.json': replayPolicy,
  'policy-signed.json': replayPolicySigned,
  'frames.json': replayFrames,
  'media.json': replayMedia,
  'errors.json': replayErrors,
  'calls.json': replayCalls,
};

/** The format version each file must have (calls.json: version 2, issue #12). */
export const VERSIONS = {
  'frames.json': 1,
  'media.json': 1,
  'errors.json': 1,
  'calls.json': 2,
  'policy.json': 1,
  'policy-signed.json': 1,
};

/**
 * Replays each present file; returns `{ file: cases }`. Throws on the first
 * difference. A file must have its version (VERSIONS) and at least one case.
 * `scripted` is the conformance build's exports, for calls.json (the shipped
 * package has no fixed-randomness entry points); the rest replays on `api`.
 */
export function replayAll(api, files, { scripted = api } = {}) {
  const counts = {};
  for (const [name, file] of Object.entries(files)) {
    const replay = REPLAY[name];
    if (!replay) continue;
    if (file.version !== VERSIONS[name]) throw new Error(`${name}: version ${file.version}, expected ${VERSIONS[name]}`);
    if (!Array.isArray(file.cases) || file.cases.length === 0) throw new Error(`${name}: no cases`);
    replay(name === 'calls.json' ? scripted : api, file);
    counts[name] = file.cases.length;
  }
  return counts;
}
