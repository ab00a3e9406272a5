//! Meetings (PROTOCOL.md §4): keys, codes, transitions, and refusals of
//! forged, replayed, out-of-epoch and unauthorized handshake messages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use callseal_core::ErrorKind;
use callseal_core::frame::media::Codec;
use callseal_core::meeting::{
    KidLayout, MeetingConfig, MeetingError, MeetingSession, MlsClient, MlsGroup, MlsRsGroup,
    Received, Role, SFRAME_BASE_KEY_LABEL, credential_identity, meeting_code,
};
use callseal_core::policy::{
    E2eeSetting, Participant, Platform, PolicyDocument, PolicyUpdate, Reason, UserUpdate,
};

fn policy() -> PolicyDocument {
    let mut doc = PolicyDocument::new();
    doc.update_policy(
        "Global",
        PolicyUpdate {
            meeting: Some(E2eeSetting::DisabledUserOverride),
            ..Default::default()
        },
    )
    .unwrap();
    doc
}

fn client(user: &str, platform: Platform) -> (Participant, MlsClient) {
    let p = Participant::new(user, platform);
    let c = MlsClient::new(&credential_identity(&p)).unwrap();
    (p, c)
}

/// A meeting: the organizer plus `n - 1` members, every commit delivered to
/// everyone at once.
struct Meeting {
    sessions: Vec<MeetingSession>,
    now: u64,
}

impl Meeting {
    fn new(n: usize) -> Self {
        let doc = policy();
        let (p, c) = client("organizer", Platform::DesktopMac);
        let decision = doc.evaluate_meeting("organizer", true, &[]);
        let organizer =
            MeetingSession::create(&c, p, &decision, doc, MeetingConfig::default(), 0).unwrap();
        let mut m = Meeting {
            sessions: vec![organizer],
            now: 0,
        };
        for i in 1..n {
            m.join(&format!("user{i}"), Platform::Android);
        }
        m
    }

    /// The organizer adds `user`; every member applies the commit; the new
    /// member joins from the Welcome. Returns the commit.
    fn join(&mut self, user: &str, platform: Platform) -> Vec<u8> {
        let (p, c) = client(user, platform);
        let messages = self.sessions[0].add(&c.key_package().unwrap()).unwrap();
        self.sessions[0].commit_accepted(self.now).unwrap();
        for s in &mut self.sessions[1..] {
            s.handle_commit(&messages.commit, self.now).unwrap();
        }
        let policy = self.sessions[0].policy().clone();
        let joined = MeetingSession::join(
            &c,
            p,
            messages.welcome.as_deref().unwrap(),
            policy,
            MeetingConfig::default(),
            self.now,
        )
        .unwrap();
        self.sessions.push(joined);
        messages.commit
    }

    fn codes_agree(&self) -> bool {
        let code = self.sessions[0].code();
        self.sessions
            .iter()
            .all(|s| s.code() == code && s.epoch() == self.sessions[0].epoch())
    }
}

/// An MLS-level group (no session checks): an organizer's group with
/// `members` added in one commit, and each member's group.
fn mls_level<const N: usize>(members: [&MlsClient; N]) -> (MlsRsGroup, [MlsRsGroup; N]) {
    let (_, oc) = client("org", Platform::DesktopMac);
    let mut org = oc.create_group().unwrap();
    let key_packages: Vec<Vec<u8>> = members.iter().map(|c| c.key_package().unwrap()).collect();
    let msgs = org.commit(&key_packages, &[], None).unwrap();
    org.apply_pending_commit().unwrap();
    let welcome = msgs.welcome.unwrap();
    let groups = members.map(|c| c.join_group(&welcome).unwrap().group);
    (org, groups)
}

fn frame(session: &mut MeetingSession, payload: &[u8]) -> Vec<u8> {
    session.encrypt(Codec::Generic, payload).unwrap()
}

fn decrypted(result: Result<Received, MeetingError>) -> Vec<u8> {
    match result {
        Ok(Received::Frame(f)) => f.payload,
        other => panic!("expected a frame, got {other:?}"),
    }
}

#[test]
fn members_agree_on_a_new_code_every_epoch_and_everyone_decrypts_everyone() {
    let mut m = Meeting::new(5);
    assert!(m.codes_agree());
    let mut codes = vec![m.sessions[0].code()];
    m.join("late", Platform::Ios);
    assert!(m.codes_agree());
    codes.push(m.sessions[0].code());
    assert_ne!(codes[0], codes[1], "the code changes with the epoch");
    for from in 0..m.sessions.len() {
        let bytes = frame(&mut m.sessions[from], format!("from {from}").as_bytes());
        for to in 0..m.sessions.len() {
            if to != from {
                let got = m.sessions[to].decrypt(&bytes, m.now).unwrap();
                let Received::Frame(f) = got else {
                    panic!("held")
                };
                assert_eq!(f.payload, format!("from {from}").as_bytes());
                assert_eq!(f.sender, m.sessions[from].own_index());
            }
        }
    }
    let users: Vec<_> = m.sessions[0]
        .members()
        .into_iter()
        .map(|mm| mm.user)
        .collect();
    assert_eq!(
        users,
        ["organizer", "user1", "user2", "user3", "user4", "late"]
    );
}

#[test]
fn keys_follow_rfc_9605_section_5_2() {
    // The sender's key is the §4.4.2 schedule over MLS-Exporter("SFrame 1.0
    // Base Key", "", Nk) with the KID (index << E | epoch mod 2^E): a plain
    // receiver given an independently exported key and that KID decrypts
    // the session's frame.
    let doc = policy();
    let (p, c) = client("organizer", Platform::DesktopMac);
    let group = c.create_group().unwrap();
    let export = group.export_secret(SFRAME_BASE_KEY_LABEL, b"", 16).unwrap();
    let authenticator = group.epoch_authenticator().unwrap();
    let kid = KidLayout::default()
        .kid(group.epoch(), group.own_index())
        .unwrap();
    let mut session =
        MeetingSession::with_group(group, p, doc, MeetingConfig::default(), 0).unwrap();
    let ours = frame(&mut session, b"payload");
    let mut rx = callseal_core::frame::Receiver::new(Default::default());
    rx.add_key(
        kid,
        callseal_core::frame::CipherSuite::AesGcm128Sha256,
        callseal_core::frame::BaseKey::new(&export).unwrap(),
    )
    .unwrap();
    let mut media_rx = callseal_core::frame::media::MediaReceiver::new(rx);
    let mut out = Vec::new();
    let info = media_rx.decrypt_frame(&ours, &mut out).unwrap();
    assert_eq!(out, b"payload");
    assert_eq!(info.kid, kid);
    // The meeting code is the documented derivation of the authenticator.
    assert_eq!(session.code(), meeting_code(&authenticator));
}

#[test]
fn the_kid_layout_is_configurable_and_checked() {
    let layout = KidLayout::new(4, 12, 3).unwrap();
    let kid = layout.kid(0x1_7, 0x0ab).unwrap();
    assert_eq!(kid.0, (3 << 16) | (0x0ab << 4) | 0x7);
    assert_eq!(layout.split(kid), Some((7, 0xab)));
    assert!(layout.kid(0, 1 << 12).is_err());
    assert!(KidLayout::new(0, 8, 0).is_err());
    assert!(KidLayout::new(40, 30, 0).is_err());
    assert!(KidLayout::new(8, 16, 1 << 40).is_err());
    // Another context's KIDs are not this meeting's.
    assert_eq!(KidLayout::new(4, 12, 2).unwrap().split(kid), None);
}

#[test]
fn a_removed_member_cannot_decrypt_later_epochs() {
    let mut m = Meeting::new(4);
    let mut gone = m.sessions.remove(3);
    let messages = m.sessions[0].remove("user3").unwrap();
    m.sessions[0].commit_accepted(m.now).unwrap();
    for s in &mut m.sessions[1..] {
        s.handle_commit(&messages.commit, m.now).unwrap();
    }
    let change = gone.handle_commit(&messages.commit, m.now).unwrap();
    assert!(change[0].removed_self);
    assert!(gone.is_removed());
    assert!(m.codes_agree());
    // Frames of the new epoch: the others decrypt, the removed member cannot.
    for from in 0..m.sessions.len() {
        let bytes = frame(&mut m.sessions[from], b"secret");
        assert!(
            gone.decrypt(&bytes, m.now + 1).is_err(),
            "removed member decrypted"
        );
        let to = (from + 1) % m.sessions.len();
        assert_eq!(
            decrypted(m.sessions[to].decrypt(&bytes, m.now + 1)),
            b"secret"
        );
    }
    assert!(matches!(
        gone.encrypt(Codec::Generic, b"x"),
        Err(MeetingError::Removed)
    ));
    assert!(matches!(
        gone.handle_commit(&messages.commit, m.now),
        Err(MeetingError::Removed)
    ));
    // Only the organizer removes, and only members.
    assert!(matches!(
        m.sessions[1].remove("user2"),
        Err(MeetingError::NotACommitter)
    ));
    assert!(matches!(
        m.sessions[0].remove("nobody"),
        Err(MeetingError::NotAMember(_))
    ));
}

#[test]
fn no_frame_is_lost_across_a_transition() {
    let mut m = Meeting::new(3);
    let old_early = frame(&mut m.sessions[1], b"old epoch, in grace");
    let old_late = frame(&mut m.sessions[1], b"old epoch, after grace");
    // The organizer adds someone and switches at once; user2 has not seen
    // the commit yet.
    let (_, c) = client("new", Platform::DesktopWindows);
    let messages = m.sessions[0].add(&c.key_package().unwrap()).unwrap();
    m.sessions[0].commit_accepted(10).unwrap();
    m.sessions[1].handle_commit(&messages.commit, 10).unwrap();
    let early = frame(&mut m.sessions[0], b"new epoch, early");
    // user2 gets the new-epoch frame before the commit: it is held...
    assert_eq!(m.sessions[2].decrypt(&early, 20).unwrap(), Received::Held);
    assert_eq!(m.sessions[2].held_frames(), 1);
    // ...and comes back from the commit.
    let changes = m.sessions[2].handle_commit(&messages.commit, 30).unwrap();
    assert_eq!(changes[0].released.len(), 1);
    assert_eq!(changes[0].released[0].payload, b"new epoch, early");
    assert_eq!(m.sessions[2].held_frames(), 0);
    // A frame of the previous epoch that arrives late still decrypts within
    // the grace time (counted from user2's switch at t = 30)...
    assert_eq!(
        decrypted(m.sessions[2].decrypt(&old_early, 40)),
        b"old epoch, in grace"
    );
    // ...and not after it: those keys are gone.
    let grace = MeetingConfig::default().grace_ms;
    let err = m.sessions[2].decrypt(&old_late, 30 + grace).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKeyId);
}

#[test]
fn held_frames_expire_and_the_hold_is_bounded() {
    let config = MeetingConfig {
        max_held_frames: 4,
        ..MeetingConfig::default()
    };
    let doc = policy();
    let (p, c) = client("organizer", Platform::DesktopMac);
    let decision = doc.evaluate_meeting("organizer", true, &[]);
    let mut organizer = MeetingSession::create(&c, p, &decision, doc.clone(), config, 0).unwrap();
    let (p2, c2) = client("member", Platform::Android);
    let msg = organizer.add(&c2.key_package().unwrap()).unwrap();
    organizer.commit_accepted(0).unwrap();
    let mut member =
        MeetingSession::join(&c2, p2, msg.welcome.as_deref().unwrap(), doc, config, 0).unwrap();
    // The organizer moves two epochs ahead; the member misses the commits.
    for user in ["a", "b"] {
        let (_, c) = client(user, Platform::Ios);
        organizer.add(&c.key_package().unwrap()).unwrap();
        organizer.commit_accepted(0).unwrap();
    }
    for i in 0..10u8 {
        assert_eq!(
            member.decrypt(&frame(&mut organizer, &[i]), 0).unwrap(),
            Received::Held
        );
    }
    assert_eq!(member.held_frames(), 4, "the hold keeps the newest frames");
    assert_eq!(member.stats().held_frames_dropped, 6);
    member.expire(config.grace_ms);
    assert_eq!(member.held_frames(), 0);
    assert_eq!(member.stats().held_frames_dropped, 10);
}

#[test]
fn duplicate_and_out_of_order_commits() {
    let mut m = Meeting::new(2);
    let (_, ca) = client("a", Platform::Ios);
    let first = m.sessions[0].add(&ca.key_package().unwrap()).unwrap();
    m.sessions[0].commit_accepted(0).unwrap();
    let (_, cb) = client("b", Platform::Ios);
    let second = m.sessions[0].add(&cb.key_package().unwrap()).unwrap();
    m.sessions[0].commit_accepted(0).unwrap();
    let member = &mut m.sessions[1];
    let epoch = member.epoch();
    // The later commit first: held, nothing changes.
    assert!(member.handle_commit(&second.commit, 0).unwrap().is_empty());
    assert_eq!(member.epoch(), epoch);
    // The missing one: both apply, in order.
    let changes = member.handle_commit(&first.commit, 0).unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(member.epoch(), epoch + 2);
    assert_eq!(member.code(), m.sessions[0].code());
    // A duplicate (replay) is refused and changes nothing.
    let code = m.sessions[1].code();
    for replay in [&first.commit, &second.commit] {
        let err = m.sessions[1].handle_commit(replay, 0).unwrap_err();
        assert!(matches!(err, MeetingError::StaleCommit { .. }), "{err}");
        assert_eq!(err.kind(), ErrorKind::Replay);
    }
    assert_eq!(m.sessions[1].code(), code);
}

#[test]
fn forged_commits_are_refused_and_change_nothing() {
    let mut m = Meeting::new(3);
    let (_, c) = client("x", Platform::Ios);
    let messages = m.sessions[0].add(&c.key_package().unwrap()).unwrap();
    m.sessions[0].commit_accepted(0).unwrap();
    let member = &mut m.sessions[1];
    let (epoch, code) = (member.epoch(), member.code());
    let commit = &messages.commit;
    // Flip one bit at a spread of positions, truncate, extend, garbage.
    let mut forged: Vec<Vec<u8>> = (0..commit.len())
        .step_by(7)
        .map(|i| {
            let mut f = commit.clone();
            f[i] ^= 0x01;
            f
        })
        .collect();
    forged.push(commit[..commit.len() / 2].to_vec());
    forged.push([commit.as_slice(), &[0u8; 3]].concat());
    forged.push(vec![]);
    forged.push(vec![0xff; 64]);
    for bad in &forged {
        match member.handle_commit(bad, 0) {
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Malformed
                        | ErrorKind::AuthenticationFailed
                        | ErrorKind::Replay
                        // An epoch field flipped far ahead: not held.
                        | ErrorKind::ProtocolViolation
                ),
                "{e}"
            ),
            // A flip in the epoch field can make the commit look like a
            // later epoch's: held, which changes nothing either.
            Ok(changes) => assert!(changes.is_empty()),
        }
        assert_eq!((member.epoch(), member.code()), (epoch, code));
    }
    // The genuine commit still applies afterwards.
    member.handle_commit(commit, 0).unwrap();
    assert_eq!(member.code(), m.sessions[0].code());
}

#[test]
fn only_the_organizer_commits() {
    // Three members at the MLS level: the organizer (leaf 0), a rogue
    // participant and a third member whose session checks commits.
    let (_, rc) = client("rogue", Platform::DesktopWindows);
    let (tp, tc) = client("third", Platform::Ios);
    let (mut org, [mut rogue, third]) = mls_level([&rc, &tc]);
    let mut third =
        MeetingSession::with_group(third, tp, policy(), MeetingConfig::default(), 0).unwrap();
    // The rogue commits the organizer's removal: valid MLS, refused.
    let rogue_commit = rogue.commit(&[], &[0], None).unwrap();
    let (epoch, code) = (third.epoch(), third.code());
    let err = third.handle_commit(&rogue_commit.commit, 0).unwrap_err();
    assert!(matches!(err, MeetingError::UnauthorizedCommitter { committer } if committer != 0));
    assert_eq!(err.kind(), ErrorKind::ProtocolViolation);
    assert_eq!((third.epoch(), third.code()), (epoch, code));
    // The organizer's genuine commit of that epoch still applies.
    let genuine = org.commit(&[], &[1], None).unwrap();
    org.apply_pending_commit().unwrap();
    third.handle_commit(&genuine.commit, 0).unwrap();
    assert_eq!(third.epoch(), org.epoch());
    // And a session refuses to commit unless it is the organizer's.
    let mut m = Meeting::new(2);
    let (_, ck) = client("k", Platform::Ios);
    assert!(matches!(
        m.sessions[1].add(&ck.key_package().unwrap()),
        Err(MeetingError::NotACommitter)
    ));
}

#[test]
fn admission_follows_the_policy_on_every_member() {
    let mut m = Meeting::new(2);
    // The organizer's session refuses unsupported platforms and compliance
    // recording before committing.
    let (_, web) = client("webby", Platform::Web);
    let err = m.sessions[0].add(&web.key_package().unwrap()).unwrap_err();
    assert!(matches!(
        err,
        MeetingError::AdmissionRefused {
            reason: Reason::UnsupportedPlatform,
            ..
        }
    ));
    assert_eq!(err.kind(), ErrorKind::PolicyForbids);
    let mut doc = m.sessions[0].policy().clone();
    doc.update_user(
        "recorded",
        UserUpdate {
            compliance_recording: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    m.sessions[0].set_policy(doc.clone());
    m.sessions[1].set_policy(doc.clone());
    let (_, rec) = client("recorded", Platform::DesktopMac);
    assert!(matches!(
        m.sessions[0].add(&rec.key_package().unwrap()),
        Err(MeetingError::AdmissionRefused {
            reason: Reason::ComplianceRecording,
            ..
        })
    ));

    // An organizer client that skips the check (at the MLS level) is caught
    // by every member.
    let (_, oc) = client("organizer2", Platform::DesktopMac);
    let (mp, mc) = client("member2", Platform::Android);
    let mut org = oc.create_group().unwrap();
    let w = org.commit(&[mc.key_package().unwrap()], &[], None).unwrap();
    org.apply_pending_commit().unwrap();
    let mut member = MeetingSession::with_group(
        mc.join_group(w.welcome.as_deref().unwrap()).unwrap().group,
        mp,
        doc,
        MeetingConfig::default(),
        0,
    )
    .unwrap();
    let sneaky = org
        .commit(&[web.key_package().unwrap()], &[], None)
        .unwrap();
    let err = member.handle_commit(&sneaky.commit, 0).unwrap_err();
    assert!(matches!(
        err,
        MeetingError::AdmissionRefused {
            reason: Reason::UnsupportedPlatform,
            ..
        }
    ));
}

#[test]
fn a_meeting_needs_a_decision_that_allows_it() {
    let doc = PolicyDocument::new(); // Global: Disabled
    let (p, c) = client("organizer", Platform::DesktopMac);
    let decision = doc.evaluate_meeting("organizer", true, &[]);
    let err =
        MeetingSession::create(&c, p, &decision, doc, MeetingConfig::default(), 0).unwrap_err();
    assert!(matches!(
        err,
        MeetingError::PolicyForbids(Reason::PolicyDisabled)
    ));
    assert_eq!(err.kind(), ErrorKind::PolicyForbids);
}

#[test]
fn tampered_and_replayed_media_is_refused() {
    let mut m = Meeting::new(2);
    let bytes = frame(&mut m.sessions[0], b"media");
    let mut tampered = bytes.clone();
    tampered[bytes.len() / 2] ^= 1;
    assert!(m.sessions[1].decrypt(&tampered, 0).is_err());
    assert_eq!(decrypted(m.sessions[1].decrypt(&bytes, 0)), b"media");
    let err = m.sessions[1].decrypt(&bytes, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Replay);
}

#[test]
fn the_group_fixes_the_suite_and_kid_layout_for_every_member() {
    use callseal_core::frame::CipherSuite;
    for id in 1..=8u16 {
        let suite = CipherSuite::from_id(id).unwrap();
        let config = MeetingConfig {
            suite,
            layout: KidLayout::new(4, 10, 5).unwrap(),
            ..MeetingConfig::default()
        };
        let doc = policy();
        let (p, c) = client("organizer", Platform::DesktopMac);
        let decision = doc.evaluate_meeting("organizer", true, &[]);
        let mut organizer =
            MeetingSession::create(&c, p, &decision, doc.clone(), config, 0).unwrap();
        let (p2, c2) = client("member", Platform::Android);
        let msg = organizer.add(&c2.key_package().unwrap()).unwrap();
        organizer.commit_accepted(0).unwrap();
        // The member asks for the defaults; the group's parameters win.
        let mut member = MeetingSession::join(
            &c2,
            p2,
            msg.welcome.as_deref().unwrap(),
            doc,
            MeetingConfig::default(),
            0,
        )
        .unwrap();
        assert_eq!(member.config().suite, suite);
        assert_eq!(member.config().layout, config.layout);
        let bytes = frame(&mut organizer, b"same suite");
        assert_eq!(decrypted(member.decrypt(&bytes, 0)), b"same suite");
        let back = frame(&mut member, b"and back");
        assert_eq!(decrypted(organizer.decrypt(&back, 0)), b"and back");
    }
    // A group that is not a meeting's is refused.
    let (_, c) = client("x", Platform::Ios);
    let (p, _) = client("x", Platform::Ios);
    let plain =
        callseal_core::meeting::MlsClient::create_group_with_id(&c, b"other".to_vec()).unwrap();
    let err =
        MeetingSession::with_group(plain, p, policy(), MeetingConfig::default(), 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
}

#[test]
fn a_refused_message_does_not_cost_the_organizer_its_pending_commit() {
    let mut m = Meeting::new(2);
    let (_, c) = client("late", Platform::Ios);
    let pending = m.sessions[0].add(&c.key_package().unwrap()).unwrap();
    // While the server orders it, a forged message for the current epoch and
    // the echo of an older commit arrive.
    let mut forged = pending.commit.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(m.sessions[0].handle_commit(&forged, 0).is_err());
    // The commit is still there to apply, and the member follows.
    let change = m.sessions[0].commit_accepted(0).unwrap();
    m.sessions[1].handle_commit(&pending.commit, 0).unwrap();
    assert_eq!(m.sessions[1].code(), change.code);
}

#[test]
fn the_hold_for_future_commits_is_bounded_and_keeps_the_real_one() {
    use callseal_core::meeting::{MAX_CANDIDATES_PER_EPOCH, MAX_HELD_COMMITS};
    let mut m = Meeting::new(2);
    let (_, ca) = client("a", Platform::Ios);
    let first = m.sessions[0].add(&ca.key_package().unwrap()).unwrap();
    m.sessions[0].commit_accepted(0).unwrap();
    let (_, cb) = client("b", Platform::Ios);
    let second = m.sessions[0].add(&cb.key_package().unwrap()).unwrap();
    m.sessions[0].commit_accepted(0).unwrap();
    let member = &mut m.sessions[1];
    // Junk claiming the next-but-one epoch arrives first, up to the bound
    // per epoch minus one; the real commit still gets a place.
    for i in 0..MAX_CANDIDATES_PER_EPOCH - 1 {
        let mut junk = second.commit.clone();
        let at = junk.len() - 1 - i;
        junk[at] ^= 0x55;
        assert!(member.handle_commit(&junk, 0).unwrap().is_empty());
    }
    assert!(member.handle_commit(&second.commit, 0).unwrap().is_empty());
    // A further candidate for that epoch is refused, not held.
    let mut extra = second.commit.clone();
    let last = extra.len() - 2;
    extra[last] ^= 0x0f;
    assert!(matches!(
        member.handle_commit(&extra, 0),
        Err(MeetingError::TooManyHeldCommits { .. })
    ));
    // The gap fills: the real commit wins over the junk held before it.
    let changes = member.handle_commit(&first.commit, 0).unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(member.code(), m.sessions[0].code());
    let _ = MAX_HELD_COMMITS;
}

// ---------------------------------------------------------------------------
// Roles, self-updates and identities (PROTOCOL.md §4.2, §4.7–§4.9).
// ---------------------------------------------------------------------------

impl Meeting {
    /// `client` joins from `welcome` (under the organizer's policy) and
    /// takes part from now on.
    fn accept_welcome(&mut self, client: &MlsClient, me: Participant, welcome: &[u8]) {
        let policy = self.sessions[0].policy().clone();
        let session = MeetingSession::join(
            client,
            me,
            welcome,
            policy,
            MeetingConfig::default(),
            self.now,
        )
        .unwrap();
        self.sessions.push(session);
    }

    /// Delivers `commit` to every session but `from` (which applied it with
    /// commit_accepted) and returns each member's changes.
    fn deliver(
        &mut self,
        from: usize,
        commit: &[u8],
    ) -> Vec<Vec<callseal_core::meeting::EpochChange>> {
        let now = self.now;
        self.sessions
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| *i != from)
            .map(|(_, s)| s.handle_commit(commit, now).unwrap())
            .collect()
    }

    /// Session `from` commits with `make`; the server orders it; everyone
    /// applies it.
    fn commit_by(
        &mut self,
        from: usize,
        make: impl FnOnce(
            &mut MeetingSession,
        ) -> Result<callseal_core::meeting::CommitMessages, MeetingError>,
    ) -> callseal_core::meeting::CommitMessages {
        let messages = make(&mut self.sessions[from]).unwrap();
        self.sessions[from].commit_accepted(self.now).unwrap();
        self.deliver(from, &messages.commit);
        messages
    }

    fn index_of(&self, user: &str) -> usize {
        self.sessions
            .iter()
            .position(|s| {
                s.members()
                    .iter()
                    .any(|m| m.index == s.own_index() && m.user == user)
            })
            .unwrap()
    }

    fn roles(&self) -> Vec<(String, Role)> {
        self.sessions[0]
            .members()
            .into_iter()
            .map(|m| (m.user, m.role))
            .collect()
    }

    fn everyone_decrypts_everyone(&mut self) {
        let now = self.now;
        for from in 0..self.sessions.len() {
            let bytes = frame(&mut self.sessions[from], b"hello");
            for to in 0..self.sessions.len() {
                if to != from {
                    assert_eq!(decrypted(self.sessions[to].decrypt(&bytes, now)), b"hello");
                }
            }
        }
    }
}

/// A raw mls-rs client with the default (permissive) rules: what an
/// attacker's modified app would run. Its key packages advertise the roles
/// extension so the group admits it.
fn raw_client(identity: &[u8]) -> mls_rs::Client<impl mls_rs::client_builder::MlsConfig> {
    use mls_rs::{CipherSuiteProvider, CryptoProvider};
    let crypto = mls_rs_crypto_rustcrypto::RustCryptoProvider::new();
    let suite = mls_rs::CipherSuite::from(callseal_core::meeting::MLS_CIPHER_SUITE);
    let (secret, public) = crypto
        .cipher_suite_provider(suite)
        .unwrap()
        .signature_key_generate()
        .unwrap();
    let credential =
        mls_rs::identity::basic::BasicCredential::new(identity.to_vec()).into_credential();
    mls_rs::Client::builder()
        .identity_provider(mls_rs::identity::basic::BasicIdentityProvider)
        .crypto_provider(crypto)
        .extension_type(mls_rs::extension::ExtensionType::new(
            callseal_core::meeting::ROLES_EXTENSION_TYPE,
        ))
        .signing_identity(
            mls_rs::identity::SigningIdentity::new(credential, public),
            secret,
            suite,
        )
        .build()
}

#[test]
fn external_commit_is_refused() {
    // A participant whose app is modified (a raw MLS client) is in the
    // meeting; it builds an external commit that "resyncs" the organizer's
    // user:platform, removing leaf 0 so its new leaf lands at index 0.
    let mut m = Meeting::new(3);
    let rogue = raw_client(b"rogue:desktop-windows");
    let kp = rogue
        .generate_key_package_message(Default::default(), Default::default(), None)
        .unwrap();
    let messages = m.commit_by(0, |s| s.add(&kp.to_bytes().unwrap()));
    let welcome = mls_rs::MlsMessage::from_bytes(messages.welcome.as_deref().unwrap()).unwrap();
    let (rogue_group, _) = rogue.join_group(None, &welcome, None).unwrap();
    let info = rogue_group
        .group_info_message_allowing_ext_commit(true)
        .unwrap();
    let organizer_identity =
        credential_identity(&Participant::new("organizer", Platform::DesktopMac));
    let impostor = raw_client(&organizer_identity);
    let (_, external) = impostor
        .external_commit_builder()
        .unwrap()
        .with_removal(0)
        .build(info)
        .unwrap();
    let external = external.to_bytes().unwrap();
    for s in &mut m.sessions {
        let (epoch, code) = (s.epoch(), s.code());
        let err = s.handle_commit(&external, 0).unwrap_err();
        assert!(matches!(err, MeetingError::ExternalCommitRefused), "{err}");
        assert_eq!(err.kind(), ErrorKind::ProtocolViolation);
        assert_eq!((s.epoch(), s.code()), (epoch, code));
        assert_eq!(s.organizer(), Some(0));
    }
    // The meeting goes on under the real organizer.
    m.join("after", Platform::Ios);
    assert!(m.codes_agree());
}

#[test]
fn duplicate_welcome_cannot_rejoin() {
    let mut m = Meeting::new(2);
    let (p, c) = client("twice", Platform::Android);
    let messages = m.commit_by(0, |s| s.add(&c.key_package().unwrap()));
    let welcome = messages.welcome.unwrap();
    let policy = m.sessions[0].policy().clone();
    let mut first = MeetingSession::join(
        &c,
        p.clone(),
        &welcome,
        policy.clone(),
        MeetingConfig::default(),
        0,
    )
    .unwrap();
    // The server delivers the Welcome again: a second session at the same
    // leaf would start at counter 0 under the same KID and key.
    let err =
        MeetingSession::join(&c, p, &welcome, policy, MeetingConfig::default(), 0).unwrap_err();
    assert!(matches!(err, MeetingError::KeyPackageUsed), "{err}");
    assert_eq!(err.kind(), ErrorKind::ProtocolViolation);
    // The first session works.
    let bytes = frame(&mut first, b"only one of me");
    assert_eq!(
        decrypted(m.sessions[0].decrypt(&bytes, 0)),
        b"only one of me"
    );
}

#[test]
fn welcome_from_non_committer_is_refused() {
    // A participant's modified client (MLS level) adds someone and hands
    // them the Welcome: valid MLS, but not from a committer.
    let (_, pc) = client("participant", Platform::Android);
    let (jp, jc) = client("joiner", Platform::Ios);
    let (_org, [mut participant]) = mls_level([&pc]);
    let sneaky = participant
        .commit(&[jc.key_package().unwrap()], &[], None)
        .unwrap();
    participant.apply_pending_commit().unwrap();
    let err = MeetingSession::join(
        &jc,
        jp,
        sneaky.welcome.as_deref().unwrap(),
        policy(),
        MeetingConfig::default(),
        0,
    )
    .unwrap_err();
    assert!(
        matches!(err, MeetingError::UnauthorizedCommitter { committer: 1 }),
        "{err}"
    );
}

#[test]
fn reflected_own_frame_is_refused() {
    let mut m = Meeting::new(2);
    for s in &mut m.sessions {
        let bytes = frame(s, b"mine");
        let err = s.decrypt(&bytes, 0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKeyId, "{err}");
    }
    m.everyone_decrypts_everyone();
}

#[test]
fn co_organizer_commits_are_accepted() {
    let mut m = Meeting::new(4);
    m.commit_by(0, |s| s.promote(1));
    assert_eq!(m.sessions[1].role(), Role::CoOrganizer);
    assert_eq!(
        m.roles(),
        [
            ("organizer".to_owned(), Role::Organizer),
            ("user1".to_owned(), Role::CoOrganizer),
            ("user2".to_owned(), Role::Participant),
            ("user3".to_owned(), Role::Participant),
        ]
    );
    // The co-organizer adds and removes; every member accepts.
    let (p, c) = client("guest", Platform::DesktopWindows);
    let messages = m.commit_by(1, |s| s.add(&c.key_package().unwrap()));
    let policy = m.sessions[0].policy().clone();
    let guest = MeetingSession::join(
        &c,
        p,
        messages.welcome.as_deref().unwrap(),
        policy,
        MeetingConfig::default(),
        0,
    )
    .unwrap();
    m.sessions.push(guest);
    assert!(m.codes_agree());
    m.commit_by(1, |s| s.remove("user2"));
    m.sessions.remove(2);
    assert!(m.codes_agree());
    m.everyone_decrypts_everyone();
    // A co-organizer does not change the roles.
    assert!(matches!(
        m.sessions[1].promote(3),
        Err(MeetingError::NotOrganizer)
    ));
    // The organizer demotes it: its adds are refused again.
    m.commit_by(0, |s| s.demote(1));
    assert_eq!(m.sessions[1].role(), Role::Participant);
    let (_, c2) = client("late", Platform::Ios);
    assert!(matches!(
        m.sessions[1].add(&c2.key_package().unwrap()),
        Err(MeetingError::NotACommitter)
    ));
}

#[test]
fn participant_membership_commits_are_refused() {
    // At the MLS level: organizer, a participant with a modified client, and
    // a member whose session checks.
    let (_, rc) = client("rogue", Platform::DesktopWindows);
    let (tp, tc) = client("third", Platform::Ios);
    let (_, xc) = client("extra", Platform::Ios);
    let (_org, [mut rogue, third]) = mls_level([&rc, &tc]);
    let mut third =
        MeetingSession::with_group(third, tp, policy(), MeetingConfig::default(), 0).unwrap();
    let roles = callseal_core::meeting::Roles::new(vec![rc.signature_key()]).unwrap();
    let mut attempt = |kps: &[Vec<u8>], remove: &[u32], roles| {
        let messages = rogue.commit(kps, remove, roles).unwrap();
        rogue.discard_pending_commit();
        messages
    };
    let attempts = [
        attempt(&[xc.key_package().unwrap()], &[], None),
        attempt(&[], &[2], None),
        attempt(&[], &[0], None),
        attempt(&[], &[], Some(&roles)),
    ];
    for attempt in &attempts {
        let (epoch, code) = (third.epoch(), third.code());
        let err = third.handle_commit(&attempt.commit, 0).unwrap_err();
        assert!(
            matches!(err, MeetingError::UnauthorizedCommitter { committer: 1 }),
            "{err}"
        );
        assert_eq!((third.epoch(), third.code()), (epoch, code));
    }
    // Its self-update is accepted: that is all a participant commits.
    let update = rogue.commit(&[], &[], None).unwrap();
    rogue.apply_pending_commit().unwrap();
    let changes = third.handle_commit(&update.commit, 0).unwrap();
    assert!(changes[0].self_update);
    assert_eq!(third.epoch(), rogue.epoch());
    // And a participant's session refuses to build membership commits.
    let mut m = Meeting::new(2);
    let (_, kc) = client("k", Platform::Ios);
    assert!(matches!(
        m.sessions[1].add(&kc.key_package().unwrap()),
        Err(MeetingError::NotACommitter)
    ));
    assert!(matches!(
        m.sessions[1].promote(1),
        Err(MeetingError::NotOrganizer)
    ));
}

#[test]
fn organizer_handover_keeps_the_meeting() {
    let mut m = Meeting::new(4);
    m.commit_by(0, |s| s.promote(2));
    assert!(matches!(
        m.sessions[0].hand_over(1),
        Err(MeetingError::InvalidRoles(_))
    ));
    let code_before = m.sessions[0].code();
    m.commit_by(0, |s| s.hand_over(2));
    assert_eq!(m.sessions[2].role(), Role::Organizer);
    assert_eq!(m.sessions[0].role(), Role::CoOrganizer);
    assert_ne!(m.sessions[0].code(), code_before);
    assert!(matches!(
        m.sessions[0].promote(1),
        Err(MeetingError::NotOrganizer)
    ));
    // The old organizer leaves: the new one removes it; the meeting goes on.
    m.commit_by(2, |s| s.remove("organizer"));
    assert!(m.sessions.remove(0).is_removed());
    assert!(m.codes_agree());
    let new_organizer = m.index_of("user2");
    assert_eq!(m.sessions[new_organizer].role(), Role::Organizer);
    let (p, c) = client("next", Platform::Android);
    let messages = m.commit_by(new_organizer, |s| s.add(&c.key_package().unwrap()));
    m.accept_welcome(&c, p, messages.welcome.as_deref().unwrap());
    assert!(m.codes_agree());
    m.everyone_decrypts_everyone();
}

#[test]
fn organizer_leaving_promotes_a_co_organizer() {
    let mut m = Meeting::new(5);
    m.commit_by(0, |s| s.promote(1));
    m.commit_by(0, |s| s.promote(2));
    // The organizer leaves: the newest co-organizer removes it. The
    // longest-standing co-organizer (user1) becomes organizer on every member.
    let messages = m.sessions[2].remove("organizer").unwrap();
    let own = m.sessions[2].commit_accepted(0).unwrap();
    assert!(own.organizer_changed);
    let changes = m.deliver(2, &messages.commit);
    assert!(changes[0][0].removed_self, "the organizer is out");
    assert!(changes[1..].iter().all(|c| c[0].organizer_changed));
    m.sessions.remove(0);
    assert!(m.codes_agree());
    assert_eq!(m.sessions[0].role(), Role::Organizer, "user1");
    assert_eq!(m.sessions[1].role(), Role::CoOrganizer, "user2");
    // The new organizer runs the roles; the co-organizer still cannot.
    assert!(matches!(
        m.sessions[1].promote(3),
        Err(MeetingError::NotOrganizer)
    ));
    m.commit_by(0, |s| s.promote(3));
    assert_eq!(m.sessions[2].role(), Role::CoOrganizer);
    // Its roles change also dropped the key of the organizer who left.
    assert_eq!(m.sessions[0].roles().unwrap().committers().len(), 3);
    m.everyone_decrypts_everyone();
}

#[test]
fn self_update_changes_the_leaf_key() {
    let mut m = Meeting::new(4);
    let config = MeetingConfig::default();
    let index = m.sessions[2].own_index();
    let member_key = |m: &Meeting| m.sessions[0].members()[index as usize].signature_key;
    let signature_before = member_key(&m);
    let code_before = m.sessions[0].code();
    // Leaf 2's first update is due 2/8 of the period late, so members
    // admitted together spread out.
    let first_due = config.update_after_ms + config.update_after_ms * 2 / 8;
    assert!(!m.sessions[2].update_due(first_due - 1));
    assert!(m.sessions[2].update_due(first_due));
    let leaf_1_due = config.update_after_ms + config.update_after_ms / 8;
    assert!(!m.sessions[1].update_due(leaf_1_due - 1));
    assert!(m.sessions[1].update_due(leaf_1_due));
    let leaf_before = leaf_key(&m.sessions[2], index);
    let messages = m.sessions[2].self_update().unwrap();
    let own = m.sessions[2].commit_accepted(0).unwrap();
    assert!(own.self_update);
    let changes = m.deliver(2, &messages.commit);
    assert!(
        changes
            .iter()
            .all(|c| c[0].self_update && c[0].committer == index)
    );
    assert!(m.codes_agree());
    assert_ne!(m.sessions[0].code(), code_before);
    // Its leaf HPKE key is new, on every member's tree; its identity is not.
    let leaf_after = leaf_key(&m.sessions[0], index);
    assert_ne!(leaf_before, leaf_after);
    assert_eq!(leaf_key(&m.sessions[2], index), leaf_after);
    assert_eq!(member_key(&m), signature_before);
    assert!(!m.sessions[2].update_due(config.update_after_ms - 1));
    m.everyone_decrypts_everyone();
    // Membership changes count toward the next update.
    let mut small = Meeting::new(2);
    let config = MeetingConfig {
        update_every: 2,
        ..MeetingConfig::default()
    };
    let (p, c) = client("counted", Platform::Ios);
    let messages = small.commit_by(0, |s| s.add(&c.key_package().unwrap()));
    let policy = small.sessions[0].policy().clone();
    let mut counted = MeetingSession::join(
        &c,
        p,
        messages.welcome.as_deref().unwrap(),
        policy,
        config,
        0,
    )
    .unwrap();
    for user in ["a", "b"] {
        assert!(!counted.update_due(0));
        let (_, c) = client(user, Platform::Ios);
        let messages = small.sessions[0].add(&c.key_package().unwrap()).unwrap();
        small.sessions[0].commit_accepted(0).unwrap();
        counted.handle_commit(&messages.commit, 0).unwrap();
    }
    assert!(counted.update_due(0));
}

/// A member's leaf HPKE key as `session`'s tree shows it.
fn leaf_key(session: &MeetingSession, index: u32) -> Vec<u8> {
    session.leaf_key(index).unwrap()
}

#[test]
fn ghost_device_is_flagged_changed() {
    use callseal_core::identity::{MemoryMemberKeyStore, PeerStatus};
    let mut store = MemoryMemberKeyStore::new();
    let mut m = Meeting::new(1);
    let (bp, bob) = client("bob", Platform::DesktopMac);
    let messages = m.commit_by(0, |s| s.add(&bob.key_package().unwrap()));
    m.accept_welcome(&bob, bp, messages.welcome.as_deref().unwrap());
    let status =
        |roster: &[callseal_core::meeting::RosterEntry], user: &str, platform: Platform| {
            roster
                .iter()
                .find(|e| e.member.user == user && e.member.platform == platform)
                .map(|e| (e.status, e.status_str()))
                .unwrap()
        };
    let roster = m.sessions[0].check_identities(&mut store).unwrap();
    assert_eq!(
        status(&roster, "bob", Platform::DesktopMac),
        (Some(PeerStatus::New), "new")
    );
    // The users compare the meeting code.
    let code = m.sessions[0].code();
    m.sessions[0].mark_code_verified(&mut store, &code).unwrap();
    assert_eq!(
        status(&m.sessions[0].roster(), "bob", Platform::DesktopMac).1,
        "known-verified"
    );
    // The next meeting: bob's key is known and verified.
    let mut next = Meeting::new(1);
    next.commit_by(0, |s| s.add(&bob.key_package().unwrap()));
    let roster = next.sessions[0].check_identities(&mut store).unwrap();
    assert_eq!(
        status(&roster, "bob", Platform::DesktopMac).1,
        "known-verified"
    );
    // The server adds a second "bob" device with a key of its own.
    let (_, ghost) = client("bob", Platform::Android);
    next.commit_by(0, |s| s.add(&ghost.key_package().unwrap()));
    let roster = next.sessions[0].check_identities(&mut store).unwrap();
    assert_eq!(
        status(&roster, "bob", Platform::Android),
        (Some(PeerStatus::Changed), "changed")
    );
    assert_eq!(
        status(&roster, "bob", Platform::DesktopMac).1,
        "known-verified"
    );
    // Checking again does not launder the flag, nor does the next meeting.
    let roster = next.sessions[0].check_identities(&mut store).unwrap();
    assert_eq!(status(&roster, "bob", Platform::Android).1, "changed");
    let mut third = Meeting::new(1);
    third.commit_by(0, |s| s.add(&ghost.key_package().unwrap()));
    let roster = third.sessions[0].check_identities(&mut store).unwrap();
    assert_eq!(status(&roster, "bob", Platform::Android).1, "changed");
    // Comparing the meeting code does not clear it: bob sees the same
    // roster, ghost included. A stale code is refused.
    let stale = m.sessions[0].code();
    assert!(matches!(
        next.sessions[0].mark_code_verified(&mut store, &stale),
        Err(MeetingError::CodeChanged)
    ));
    let code = next.sessions[0].code();
    next.sessions[0]
        .mark_code_verified(&mut store, &code)
        .unwrap();
    let roster = next.sessions[0].roster();
    assert_eq!(status(&roster, "bob", Platform::Android).1, "changed");
    // Bob confirms the new device himself: then it is verified.
    let ghost_index = roster
        .iter()
        .find(|e| e.member.platform == Platform::Android)
        .map(|e| e.member.index)
        .unwrap();
    next.sessions[0]
        .verify_member(&mut store, ghost_index)
        .unwrap();
    assert!(
        next.sessions[0]
            .roster()
            .iter()
            .all(|e| e.status_str() == "known-verified")
    );
}

#[test]
fn roles_go_to_one_device_not_to_every_device_named_like_the_user() {
    // The server adds its own "user2" device; the organizer promotes the
    // user2 it checked, by leaf index: the ghost gets no role.
    let mut m = Meeting::new(3);
    let (_, ghost) = client("user2", Platform::Ios);
    m.commit_by(0, |s| s.add(&ghost.key_package().unwrap()));
    m.commit_by(0, |s| s.promote(2));
    m.commit_by(0, |s| s.hand_over(2));
    let roles: Vec<(u32, Role)> = m.sessions[0]
        .members()
        .into_iter()
        .filter(|mm| mm.user == "user2")
        .map(|mm| (mm.index, mm.role))
        .collect();
    assert_eq!(roles, [(2, Role::Organizer), (3, Role::Participant)]);
}

#[test]
fn concurrent_committers_do_not_fork() {
    let mut m = Meeting::new(4);
    m.commit_by(0, |s| s.promote(1));
    let (pa, ca) = client("a", Platform::Ios);
    let (pb, cb) = client("b", Platform::Android);
    // Both committers commit in the same epoch.
    let from_org = m.sessions[0].add(&ca.key_package().unwrap()).unwrap();
    let from_co = m.sessions[1].add(&cb.key_package().unwrap()).unwrap();
    // The server orders the organizer's; the co-organizer's is rejected.
    m.sessions[0].commit_accepted(0).unwrap();
    let changes = m.deliver(0, &from_org.commit);
    assert!(changes[0][0].own_commit_discarded, "user1 lost the race");
    m.sessions[1].commit_rejected();
    assert!(m.codes_agree());
    // The loser's commit, replayed by the server, changes nothing.
    for s in &mut m.sessions {
        let err = s.handle_commit(&from_co.commit, 0).unwrap_err();
        assert!(matches!(err, MeetingError::StaleCommit { .. }), "{err}");
    }
    let policy = m.sessions[0].policy().clone();
    m.accept_welcome(&ca, pa, from_org.welcome.as_deref().unwrap());
    // The loser's Welcome leads nowhere: a server that delivers it anyway
    // puts b in an epoch no member has, and the codes show it.
    let dead_end = MeetingSession::join(
        &cb,
        pb.clone(),
        from_co.welcome.as_deref().unwrap(),
        policy.clone(),
        MeetingConfig::default(),
        0,
    )
    .unwrap();
    assert_ne!(dead_end.code(), m.sessions[0].code());
    let retry = m.commit_by(1, |s| s.add(&cb.key_package().unwrap()));
    m.accept_welcome(&cb, pb, retry.welcome.as_deref().unwrap());
    assert!(m.codes_agree());
    m.everyone_decrypts_everyone();
}

#[test]
fn a_batch_admits_many_with_one_welcome_and_refuses_only_whom_policy_refuses() {
    let mut m = Meeting::new(3);
    let joiners: Vec<_> = (0..5)
        .map(|i| client(&format!("j{i}"), Platform::DesktopWindows))
        .collect();
    let (_, web) = client("webby", Platform::Web);
    let mut packages: Vec<Vec<u8>> = joiners
        .iter()
        .map(|(_, c)| c.key_package().unwrap())
        .collect();
    packages.push(web.key_package().unwrap());
    let batch = m.sessions[0]
        .change_membership(&packages, &["user2"])
        .unwrap();
    assert_eq!(
        batch.refused,
        [("webby".to_owned(), Reason::UnsupportedPlatform)]
    );
    m.sessions[0].commit_accepted(0).unwrap();
    let changes = m.deliver(0, &batch.messages.commit);
    assert_eq!(changes[0][0].added.len(), 5);
    m.sessions.remove(2);
    for (p, c) in joiners {
        m.accept_welcome(&c, p, batch.messages.welcome.as_deref().unwrap());
    }
    assert_eq!(m.sessions.len(), 7);
    assert!(m.codes_agree());
    m.everyone_decrypts_everyone();
}

#[test]
fn a_member_far_behind_the_hold_catches_up() {
    use callseal_core::meeting::MAX_HELD_COMMITS;
    let mut m = Meeting::new(2);
    let log_start = m.sessions[0].epoch();
    let mut log = Vec::new();
    for i in 0..MAX_HELD_COMMITS + 10 {
        let (_, c) = client(&format!("x{i}"), Platform::Ios);
        let messages = m.sessions[0].add(&c.key_package().unwrap()).unwrap();
        m.sessions[0].commit_accepted(0).unwrap();
        log.push(messages.commit);
    }
    let member = &mut m.sessions[1];
    // The first commit is lost; the rest arrive and overflow the hold.
    let mut overflow = None;
    for commit in &log[1..] {
        if let Err(err) = member.handle_commit(commit, 0) {
            overflow = Some(err);
            break;
        }
    }
    let Some(MeetingError::TooManyHeldCommits { current }) = overflow else {
        panic!("expected the hold to overflow, got {overflow:?}");
    };
    assert_eq!(member.missing_commits_from(), Some(current));
    // The server hands it every commit from `current` on.
    let start = usize::try_from(current - log_start).unwrap();
    member.catch_up(&log[start..], 0).unwrap();
    assert_eq!(member.missing_commits_from(), None);
    assert!(m.codes_agree());
}

#[test]
fn a_refused_welcome_does_not_use_up_the_key_package() {
    // A participant's modified client makes a Welcome for the joiner's
    // published key package; the joiner refuses it and still joins with the
    // same key package when the organizer admits it.
    let mut m = Meeting::new(2);
    let (jp, jc) = client("joiner", Platform::Ios);
    let key_package = jc.key_package().unwrap();
    let (_, pc) = client("participant", Platform::Android);
    let (_org, [mut participant]) = mls_level([&pc]);
    let forged = participant
        .commit(std::slice::from_ref(&key_package), &[], None)
        .unwrap();
    let policy = m.sessions[0].policy().clone();
    let err = MeetingSession::join(
        &jc,
        jp.clone(),
        forged.welcome.as_deref().unwrap(),
        policy.clone(),
        MeetingConfig::default(),
        0,
    )
    .unwrap_err();
    assert!(
        matches!(err, MeetingError::UnauthorizedCommitter { .. }),
        "{err}"
    );
    let real = m.commit_by(0, |s| s.add(&key_package));
    let joined = MeetingSession::join(
        &jc,
        jp,
        real.welcome.as_deref().unwrap(),
        policy,
        MeetingConfig::default(),
        0,
    )
    .unwrap();
    m.sessions.push(joined);
    assert!(m.codes_agree());
}

#[test]
fn a_user_named_twice_in_a_batch_is_removed_once() {
    let mut m = Meeting::new(4);
    let batch = m.sessions[0]
        .change_membership(&[], &["user1", "user1", "user3"])
        .unwrap();
    m.sessions[0].commit_accepted(0).unwrap();
    let changes = m.deliver(0, &batch.messages.commit);
    assert_eq!(changes[1][0].removed, [1, 3]);
}

#[test]
fn a_commit_held_before_the_own_commit_was_accepted_still_applies() {
    let mut m = Meeting::new(3);
    m.commit_by(0, |s| s.promote(1));
    // user1 commits; the server orders it, and the organizer's next commit
    // reaches user1 before the server's acknowledgement.
    let (_, ca) = client("a", Platform::Ios);
    let first = m.sessions[1].add(&ca.key_package().unwrap()).unwrap();
    m.sessions[0].handle_commit(&first.commit, 0).unwrap();
    m.sessions[2].handle_commit(&first.commit, 0).unwrap();
    let second = m.commit_by_except(0, 1, |s| s.self_update());
    assert!(
        m.sessions[1]
            .handle_commit(&second.commit, 0)
            .unwrap()
            .is_empty()
    );
    m.sessions[1].commit_accepted(0).unwrap();
    // The next commit brings the held one with it.
    let third = m.commit_by_except(2, 1, |s| s.self_update());
    let changes = m.sessions[1].handle_commit(&third.commit, 0).unwrap();
    assert_eq!(changes.len(), 2);
    assert!(m.codes_agree());
}

impl Meeting {
    /// As `commit_by`, but `late` does not get the commit.
    fn commit_by_except(
        &mut self,
        from: usize,
        late: usize,
        make: impl FnOnce(
            &mut MeetingSession,
        ) -> Result<callseal_core::meeting::CommitMessages, MeetingError>,
    ) -> callseal_core::meeting::CommitMessages {
        let messages = make(&mut self.sessions[from]).unwrap();
        self.sessions[from].commit_accepted(self.now).unwrap();
        let now = self.now;
        for (i, s) in self.sessions.iter_mut().enumerate() {
            if i != from && i != late {
                s.handle_commit(&messages.commit, now).unwrap();
            }
        }
        messages
    }
}
