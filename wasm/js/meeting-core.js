// A meeting in the transform worker: the MeetingSession (MLS, PROTOCOL.md
// §4) lives in the worker next to the transforms, so a meeting's SFrame keys
// (RFC 9605 §5.2) never leave this WebAssembly instance; the page only
// carries bytes (key packages, commits, Welcomes) through its server.
//
// createMeetingOps(api, core, { now }) takes the `callseal/meetings` entry
// (MeetingClient, MeetingSession, MemberKeyStore, VerifiedPolicy) and the
// worker's transform core (transform-core.js), and returns the operations
// for `core.handle(data, extra)` (a null-prototype object): see the table
// in wasm/README.md, "Meetings in the worker". While a meeting runs, the
// core's frame provider (`core.useFrames`) is the meeting's: every
// protected sender encrypts and every protected receiver decrypts with the
// current epoch's keys, and so do `seal` and `open`.
//
// Events through `core.emit`: `meeting-epoch` ({ epoch, code, added,
// removed }) at each epoch (the first one included), `roster` ({ roster })
// after each epoch change or verification, `member-store` ({ store }, the
// MemberKeyStore's JSON text, to persist) when it changed, `meeting-ended`
// ({ reason: 'removed' | 'left', epoch }).
//
// `now()` is the meeting's clock in milliseconds (default Date.now): the
// grace time of a previous epoch's keys (10 s) and the self-update period
// are measured on it.

const isBytes = (b) => b instanceof Uint8Array;

export function createMeetingOps(api, core, { now = () => Date.now() } = {}) {
  const { MeetingClient, MeetingSession, MemberKeyStore, VerifiedPolicy } = api;
  const { failure, emit } = core;

  // The MLS client (user, platform): made by the first key package or
  // meeting, kept for joining (a key package's private keys live in it).
  let client = null;
  let clientOf = null;
  let session = null;
  let store = null;
  let lastStoreJson = null;
  let ended = false;

  // Meeting counters, next to the core's (`stats().meeting`).
  const stats = { epochChanges: 0, released: 0, commitsRejected: 0 };
  core.stats.meeting = stats;

  function needMeetings() {
    if (typeof MeetingSession !== 'function') {
      throw failure('invalid-argument', 'this worker has no meetings: start it with new E2eeWorker({ meetings: true })');
    }
  }

  function noMeeting() {
    return failure('protocol-violation', 'no meeting in progress');
  }

  function current() {
    if (!session) throw noMeeting();
    return session;
  }

  function memberStore() {
    if (!store) {
      store = new MemberKeyStore();
      lastStoreJson = store.toJson();
    }
    return store;
  }

  function ensureClient(user, platform) {
    needMeetings();
    if (typeof user !== 'string' || typeof platform !== 'string') {
      throw failure('invalid-argument', 'a meeting client needs user and platform strings');
    }
    const wanted = `${user}\n${platform}`;
    if (!client || clientOf !== wanted) {
      const next = new MeetingClient(user, platform);
      if (client) client.free();
      client = next;
      clientOf = wanted;
    }
    return client;
  }

  // Tells the page what a change did: the store's new JSON, if any.
  function reportStore() {
    if (!store) return;
    const json = store.toJson();
    if (json !== lastStoreJson) {
      lastStoreJson = json;
      emit('member-store', { store: json });
    }
  }

  // The roster with identity statuses against the worker's store.
  function checkedRoster() {
    const roster = current().checkIdentities(memberStore());
    reportStore();
    return roster;
  }

  function status() {
    if (!session) return null;
    return {
      epoch: session.epoch,
      code: session.code,
      role: session.role,
      removed: session.isRemoved,
      missingCommitsFrom: session.missingCommitsFrom,
    };
  }

  // The meeting's frame crypto for every transform, `seal` and `open`.
  // In a meeting `kid` is the sender's leaf index (the SFrame key id also
  // carries the epoch, and changes with it).
  const frames = {
    encrypt(codec, bytes) {
      return current().encrypt(codec, bytes);
    },
    decrypt(bytes) {
      const f = current().decrypt(bytes, now());
      if (f === null) return null;
      return { codec: f.codec, kid: BigInt(f.sender), sender: f.sender, counter: null, payload: f.payload };
    },
  };

  function start(next) {
    if (session) session.free();
    session = next;
    ended = false;
    core.useFrames(frames);
    const epoch = session.epoch;
    emit('meeting-epoch', { epoch, code: session.code, added: [], removed: [] });
    emit('roster', { roster: checkedRoster() });
    return { status: status() };
  }

  // An epoch change: events for the page, and the end for a removed member
  // (whose previous keys stay for their grace time: frames in flight
  // still open; no new ones exist).
  function changed(list) {
    for (const change of list) {
      stats.epochChanges += 1;
      stats.released += change.released.length;
      if (change.removedSelf) continue;
      emit('meeting-epoch', { epoch: change.epoch, code: change.code, added: change.added, removed: change.removed });
    }
    if (session.isRemoved) {
      if (!ended) {
        ended = true;
        emit('meeting-ended', { reason: 'removed', epoch: session.epoch });
      }
    } else if (list.length > 0) {
      emit('roster', { roster: checkedRoster() });
    }
    // Held frames an epoch released were already dropped by their
    // transform (or answered `held` by `open`): counted, not delivered.
    return list.map(({ released, ...rest }) => rest);
  }

  // Runs `use` with the signed policy verified; nothing of a refused one is used.
  function underPolicy(policy, use) {
    needMeetings();
    if (!policy || typeof policy !== 'object') {
      throw failure('invalid-argument', 'a meeting needs policy: { signed, tenantKey, lastSeenSerial }');
    }
    const { signed, tenantKey, lastSeenSerial = 0 } = policy;
    const verified = VerifiedPolicy.verify(signed, tenantKey, lastSeenSerial);
    try {
      return { ...use(verified), policySerial: verified.serial };
    } finally {
      verified.free();
    }
  }

  function commitMessages(messages) {
    return { commit: messages.commit, welcome: messages.welcome };
  }

  return Object.assign(Object.create(null), {
    // The organizer starts a meeting under the signed policy.
    createMeeting({ user, platform, policy, suite = 4 }) {
      const me = ensureClient(user, platform);
      return underPolicy(policy, (verified) => start(MeetingSession.create(me, verified, suite, now())));
    },
    // A key package for a committer to add this member with (each joins once).
    meetingKeyPackage({ user, platform }) {
      const me = ensureClient(user, platform);
      return { keyPackage: me.keyPackage(), signatureKey: me.signatureKey() };
    },
    // Joins from the Welcome made for our key package.
    joinMeeting({ welcome, policy }) {
      if (!client) throw failure('protocol-violation', 'no key package was published: call meetingKeyPackage first');
      if (!isBytes(welcome)) throw failure('invalid-argument', 'welcome must be a Uint8Array');
      return underPolicy(policy, (verified) => start(MeetingSession.join(client, welcome, verified, now())));
    },
    // A committer's batch: key packages to add, users to remove; one commit
    // for the server to order and one Welcome for the joiners.
    changeMembership({ add = [], remove = [] }) {
      const batch = current().changeMembership(add, remove);
      return { ...commitMessages(batch.messages), refused: batch.refused };
    },
    // Any member refreshes its own leaf (when `meetingStatus().updateDue`).
    selfUpdate() {
      return commitMessages(current().selfUpdate());
    },
    // The server ordered our commit: the next epoch.
    commitAccepted() {
      const s = current();
      const [change] = changed([s.commitAccepted(now())]);
      return { change, status: status() };
    },
    // The server ordered another commit first: ours is dropped (process
    // the winner with handleCommit, then commit again if still needed).
    commitRejected() {
      current().commitRejected();
      stats.commitsRejected += 1;
      return { status: status() };
    },
    // A commit the server relayed (others'); a bad one changes nothing.
    handleCommit({ commit }) {
      if (!isBytes(commit)) throw failure('invalid-argument', 'commit must be a Uint8Array');
      const list = current().handleCommit(commit, now());
      return { changes: changed(list), status: status() };
    },
    // Commits from missingCommitsFrom on, in order.
    catchUp({ commits }) {
      if (!Array.isArray(commits)) throw failure('invalid-argument', 'commits must be an array of Uint8Array');
      const list = current().catchUp(commits, now());
      return { changes: changed(list), status: status() };
    },
    // Leaves: the meeting's keys are dropped at once (the others remove
    // this member with a commit of their own).
    leaveMeeting() {
      if (!session) return { left: false };
      core.useFrames(null);
      const epoch = session.epoch;
      session.free();
      session = null;
      if (!ended) emit('meeting-ended', { reason: 'left', epoch });
      ended = true;
      return { left: true };
    },
    meetingStatus() {
      return { status: status(), updateDue: session ? session.updateDue(now()) : false };
    },
    // The members with their identity statuses (new keys recorded unverified).
    meetingRoster() {
      return { roster: checkedRoster() };
    },
    // The users compared this epoch's code (`code`, as shown): every key
    // but the `changed` ones becomes known-verified.
    markCodeVerified({ code }) {
      const s = current();
      s.markCodeVerified(memberStore(), code);
      reportStore();
      const roster = s.roster();
      emit('roster', { roster });
      return { roster };
    },
    // The device at leaf `index` was confirmed out of band.
    verifyMember({ index }) {
      const s = current();
      s.verifyMember(memberStore(), index);
      reportStore();
      const roster = s.roster();
      emit('roster', { roster });
      return { roster };
    },
    // The app's saved MemberKeyStore JSON (text); a bad one changes nothing.
    useMemberStore({ store: json }) {
      needMeetings();
      const next = json === undefined || json === null ? new MemberKeyStore() : MemberKeyStore.fromJson(String(json));
      if (store) store.free();
      store = next;
      lastStoreJson = store.toJson();
      return { ok: true };
    },
    exportMemberStore() {
      needMeetings();
      return { store: memberStore().toJson() };
    },
  });
}
