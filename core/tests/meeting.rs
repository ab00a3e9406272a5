//! Meetings (PROTOCOL.md §4): keys, codes, transitions, and refusals of
//! forged, replayed, out-of-epoch and unauthorized handshake messages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use callseal_core::ErrorKind;
use callseal_core::frame::media::Codec;
use callseal_core::meeting::{
    KidLayout, MeetingConfig, MeetingError, MeetingSession, MlsClient, MlsGroup, MlsRsGroup,
    Received, SFRAME_BASE_KEY_LABEL, credential_identity, meeting_code,
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
    let mut session =
        MeetingSession::with_group(group.clone(), p, doc, MeetingConfig::default(), 0).unwrap();
    let kid = KidLayout::default()
        .kid(group.epoch(), group.own_index())
        .unwrap();
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
    assert_eq!(
        session.code(),
        meeting_code(&group.epoch_authenticator().unwrap())
    );
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
        Err(MeetingError::NotOrganizer)
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
    let (_, oc) = client("org", Platform::DesktopMac);
    let (_, rc) = client("rogue", Platform::DesktopWindows);
    let (tp, tc) = client("third", Platform::Ios);
    let mut org: MlsRsGroup = oc.create_group().unwrap();
    let msgs = org
        .commit(&[rc.key_package().unwrap(), tc.key_package().unwrap()], &[])
        .unwrap();
    org.apply_pending_commit().unwrap();
    let welcome = msgs.welcome.as_deref().unwrap();
    let mut rogue = rc.join_group(welcome).unwrap();
    let mut third = MeetingSession::with_group(
        tc.join_group(welcome).unwrap(),
        tp,
        policy(),
        MeetingConfig::default(),
        0,
    )
    .unwrap();
    // The rogue commits the organizer's removal: valid MLS, refused.
    let rogue_commit = rogue.commit(&[], &[0]).unwrap();
    let (epoch, code) = (third.epoch(), third.code());
    let err = third.handle_commit(&rogue_commit.commit, 0).unwrap_err();
    assert!(matches!(err, MeetingError::UnauthorizedCommitter { committer } if committer != 0));
    assert_eq!(err.kind(), ErrorKind::ProtocolViolation);
    assert_eq!((third.epoch(), third.code()), (epoch, code));
    // The organizer's genuine commit of that epoch still applies.
    let genuine = org.commit(&[], &[1]).unwrap();
    org.apply_pending_commit().unwrap();
    third.handle_commit(&genuine.commit, 0).unwrap();
    assert_eq!(third.epoch(), org.epoch());
    // And a session refuses to commit unless it is the organizer's.
    let mut m = Meeting::new(2);
    let (_, ck) = client("k", Platform::Ios);
    assert!(matches!(
        m.sessions[1].add(&ck.key_package().unwrap()),
        Err(MeetingError::NotOrganizer)
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
    let w = org.commit(&[mc.key_package().unwrap()], &[]).unwrap();
    org.apply_pending_commit().unwrap();
    let mut member = MeetingSession::with_group(
        mc.join_group(w.welcome.as_deref().unwrap()).unwrap(),
        mp,
        doc,
        MeetingConfig::default(),
        0,
    )
    .unwrap();
    let sneaky = org.commit(&[web.key_package().unwrap()], &[]).unwrap();
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
