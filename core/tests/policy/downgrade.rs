//! Downgrades (docs/POLICY.md, "Downgrades"): a call that is not end-to-end
//! encrypted says why on both sides, an app that requires encryption gets
//! `PolicyForbids` instead of a plain call, and a plain call where the
//! policy says "encrypted" is refused.

use callseal_core::ErrorKind;
use callseal_core::call::{
    CallConfig, CallError, CallMode, CallSession, ExpectedPeer, accept_plain_call, call_mode,
};
use callseal_core::identity::{IdentityKeyPair, OsEntropy};
use callseal_core::policy::{
    E2eeSetting, PolicyDocument, PolicyError, PolicySigningKey, PolicyUpdate, Reason, UserUpdate,
};

/// Calls allowed by policy; Alice turned the setting on, Bob as given.
fn doc(bob_on: bool) -> PolicyDocument {
    let mut doc = PolicyDocument::new();
    doc.update_policy(
        "Global",
        PolicyUpdate {
            calling: Some(E2eeSetting::DisabledUserOverride),
            ..Default::default()
        },
    )
    .unwrap();
    for (user, on) in [("alice", true), ("bob", bob_on)] {
        doc.update_user(
            user,
            UserUpdate {
                e2ee_calls: Some(on),
                ..Default::default()
            },
        )
        .unwrap();
    }
    doc
}

#[test]
fn required_e2ee_refuses_a_downgrade() {
    let admin = PolicySigningKey::from_bytes([0x5a; 32]);
    let key = admin.tenant_key();

    // Bob's setting is off: without require_e2ee both sides fall back to a
    // plain call and show the same reason.
    let signed = admin.sign(&doc(false), 1, 0).unwrap();
    let policy = PolicyDocument::verify(&signed, &key, 0).unwrap();
    let at_alice = policy.document().evaluate_call("alice", "bob");
    let at_bob = policy.document().evaluate_call("bob", "alice");
    assert_eq!(
        call_mode(&at_alice, false).unwrap(),
        CallMode::NotEndToEnd(Reason::UserSettingOff)
    );
    assert_eq!(
        accept_plain_call(&at_bob, false).unwrap(),
        Reason::UserSettingOff
    );
    // With require_e2ee, the caller's call fails instead, with the reason...
    let err = call_mode(&at_alice, true).unwrap_err();
    assert!(
        matches!(err, CallError::PolicyForbids(Reason::UserSettingOff)),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::PolicyForbids);
    // ...and so does the callee's acceptance of a plain call.
    assert!(matches!(
        accept_plain_call(&at_bob, true),
        Err(CallError::PolicyForbids(Reason::UserSettingOff))
    ));
    // No session starts under it either.
    let alice = IdentityKeyPair::from_bytes([1; 32]);
    let bob = ExpectedPeer::new("bob").unwrap();
    assert!(matches!(
        CallSession::initiate_with_policy(
            &at_alice,
            &alice,
            "alice",
            &bob,
            &CallConfig::default(),
            &mut OsEntropy
        ),
        Err(CallError::PolicyForbids(Reason::UserSettingOff))
    ));

    // Both settings on: the call is end-to-end encrypted. A server that
    // offers Bob a plain call is refused...
    let signed = admin.sign(&doc(true), 2, 0).unwrap();
    let policy = PolicyDocument::verify(&signed, &key, 1).unwrap();
    let at_bob = policy.document().evaluate_call("bob", "alice");
    assert_eq!(call_mode(&at_bob, true).unwrap(), CallMode::EndToEnd);
    let err = accept_plain_call(&at_bob, false).unwrap_err();
    assert!(matches!(err, CallError::Downgrade), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::ProtocolViolation);
    // ...and so are its two ways to change the decision: the older
    // document (Bob's setting off) and an edited one.
    let old = admin.sign(&doc(false), 1, 0).unwrap();
    assert!(matches!(
        PolicyDocument::verify(&old, &key, 2),
        Err(PolicyError::RolledBack {
            serial: 1,
            last_seen: 2
        })
    ));
    let edited = String::from_utf8(signed.clone()).unwrap();
    let payload_at = edited.find("\"payload\": \"").unwrap() + 12;
    let mut edited = edited.into_bytes();
    edited[payload_at + 30] ^= 0x01;
    assert!(PolicyDocument::verify(&edited, &key, 1).is_err());
}

#[test]
fn ids_the_policy_cannot_hold_are_never_strangers() {
    use callseal_core::policy::{Participant, Platform};
    let mut doc = doc(true);
    doc.update_policy(
        "Global",
        PolicyUpdate {
            meeting: Some(E2eeSetting::DisabledUserOverride),
            ..Default::default()
        },
    )
    .unwrap();
    doc.update_user(
        "\u{e9}mile@corp.com",
        UserUpdate {
            compliance_recording: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    doc.update_user(
        "bob",
        UserUpdate {
            compliance_recording: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    // Spellings of recorded users that no entry point stores: refused with
    // their own reason, not admitted as strangers.
    let spellings = [
        "E\u{301}mile@corp.com",
        "bob\u{200b}",
        "bob ",
        "\u{202e}bob",
    ];
    let participants: Vec<Participant> = spellings
        .iter()
        .map(|u| Participant::new(*u, Platform::DesktopMac))
        .collect();
    let meeting = doc.evaluate_meeting("alice", true, &participants);
    assert!(meeting.e2ee);
    assert!(meeting.admitted.is_empty(), "{meeting:?}");
    assert!(
        meeting
            .refused
            .iter()
            .all(|r| r.reason == Reason::InvalidId)
    );
    assert_eq!(
        doc.evaluate_meeting("alice\u{200b}", true, &[]).reason,
        Reason::InvalidId
    );
    // A plain call "from alice" (with a zero-width space) is not accepted as
    // a stranger's, and no call starts with such an id.
    let decision = doc.evaluate_call("bob", "alice\u{200b}");
    assert_eq!(decision.reason, Reason::InvalidId);
    assert!(!decision.e2ee);
    assert!(matches!(
        accept_plain_call(&decision, false),
        Err(CallError::InvalidUserId)
    ));
    assert!(matches!(
        call_mode(&decision, false),
        Err(CallError::InvalidUserId)
    ));
    assert_eq!(Reason::from_code("invalid-id"), Some(Reason::InvalidId));
}
