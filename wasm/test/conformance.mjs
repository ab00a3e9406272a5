// Replays the cross-target conformance files (tests/conformance/*.json,
// format in docs/BINDINGS.md) against the callseal package: every byte must
// match. Runs unchanged in Node and in a browser page: `api` is the
// package's exports, `files` maps a file name to its parsed JSON.

export const FILES = ['frames.json', 'media.json', 'errors.json', 'calls.json', 'policy.json'];

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

function replayCalls(api, file) {
  for (const c of file.cases) {
    const iId = api.IdentityKeyPair.fromBytes(unhex(c.initiator.identity_secret));
    const rId = api.IdentityKeyPair.fromBytes(unhex(c.responder.identity_secret));
    const [iStore, rStore] = [api.IdentityStore.memory(), api.IdentityStore.memory()];
    const sent = [];
    const i = api.CallSession.initiateScripted(iId, c.initiator.uid, c.suite, unhex(c.initiator.entropy));
    sent.push(i.message);
    const r = api.CallSession.respondScripted(rId, c.responder.uid, i.message, unhex(c.responder.entropy));
    sent.push(r.message);
    const reveal = i.session.handle(r.message, iStore);
    sent.push(reveal);
    const confirm = r.session.handle(reveal, rStore);
    sent.push(confirm);
    check(c.name, 'last reply', i.session.handle(confirm, iStore), null);
    check(c.name, 'message count', sent.length, c.messages.length);
    sent.forEach((m, n) => check(c.name, `message ${n}`, hex(m), c.messages[n]));
    check(c.name, 'initiator code', i.session.securityCode, c.security_code);
    check(c.name, 'responder code', r.session.securityCode, c.security_code);
    const ff = c.first_frames;
    const im = i.session.takeMedia();
    const rm = r.session.takeMedia();
    const iFrame = im.sender.encryptFrame(ff.codec, unhex(ff.payload));
    const rFrame = rm.sender.encryptFrame(ff.codec, unhex(ff.payload));
    check(c.name, 'initiator_to_responder', hex(iFrame), ff.initiator_to_responder);
    check(c.name, 'responder_to_initiator', hex(rFrame), ff.responder_to_initiator);
    check(c.name, 'responder decrypts', hex(rm.receiver.decryptFrame(iFrame).payload), ff.payload);
    check(c.name, 'initiator decrypts', hex(im.receiver.decryptFrame(rFrame).payload), ff.payload);
    for (const o of [iId, rId, iStore, rStore, i.session, r.session, im.sender, im.receiver, rm.sender, rm.receiver]) {
      o.free();
    }
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

/** policy.json: the same decisions, field for field. */
function replayPolicy(api, file) {
  for (const c of file.cases) {
    const doc = api.PolicyDocument.fromJson(c.document);
    const got = c.kind === 'call'
      ? doc.evaluateCall(c.caller, c.callee)
      : doc.evaluateMeeting(c.organizer, c.organizer_e2ee, c.participants);
    check(c.name, 'decision', canonical(got), canonical(c.decision));
    doc.free();
  }
}

const REPLAY = {
  'policy.json': replayPolicy,
  'frames.json': replayFrames,
  'media.json': replayMedia,
  'errors.json': replayErrors,
  'calls.json': replayCalls,
};

/**
 * Replays each present file; returns `{ file: cases }`. Throws on the first
 * difference. A file must have version 1 and at least one case.
 */
export function replayAll(api, files) {
  const counts = {};
  for (const [name, file] of Object.entries(files)) {
    const replay = REPLAY[name];
    if (!replay) continue;
    if (file.version !== 1) throw new Error(`${name}: version ${file.version}, expected 1`);
    if (!Array.isArray(file.cases) || file.cases.length === 0) throw new Error(`${name}: no cases`);
    replay(api, file);
    counts[name] = file.cases.length;
  }
  return counts;
}
