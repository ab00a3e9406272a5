//! The rules of docs/POLICY.md, one table row at a time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

/// A change to a document, in table-driven tests.
type Edit<T> = dyn Fn(&mut T);

use callseal_core::ErrorKind;
use callseal_core::call::{CallConfig, CallError, CallSession, ExpectedPeer};
use callseal_core::identity::{IdentityKeyPair, OsEntropy};
use callseal_core::policy::{
    CallFeature, E2eeSetting, FeatureUnavailable, MAX_E2EE_MEETING_PARTICIPANTS, MeetingFeature,
    Participant, Platform, Policy, PolicyDocument, PolicyError, PolicySource, PolicyStore,
    PolicyUpdate, Reason, UserUpdate,
};
use proptest::prelude::*;

#[path = "policy/downgrade.rs"]
mod downgrade;
#[path = "policy/signed.rs"]
mod signed;

const ALLOW: E2eeSetting = E2eeSetting::DisabledUserOverride;
const DENY: E2eeSetting = E2eeSetting::Disabled;

fn user(doc: &mut PolicyDocument, name: &str, e2ee: bool, recording: bool, groups: &[&str]) {
    doc.update_user(
        name,
        UserUpdate {
            groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()),
            e2ee_calls: Some(e2ee),
            compliance_recording: Some(recording),
        },
    )
    .unwrap();
}

// --- policies and assignments -------------------------------------------------

#[test]
fn global_always_exists_starts_disabled_and_cannot_be_removed() {
    let mut doc = PolicyDocument::new();
    let global = doc.policy("Global").unwrap();
    assert_eq!((global.calling, global.meeting), (DENY, DENY));
    assert!(matches!(
        doc.remove_policy("Global"),
        Err(PolicyError::GlobalIsPermanent)
    ));
    assert!(doc.policy("Global").is_ok());
    // Global cannot be created again, in any letter case.
    for name in ["Global", "global", "GLOBAL"] {
        assert!(
            doc.create_policy(Policy::global().with_description(name))
                .is_err()
        );
        assert!(Policy::named(name).is_err(), "{name}");
    }
}

#[test]
fn policies_are_created_changed_listed_and_removed() {
    let mut doc = PolicyDocument::new();
    doc.create_policy(Policy::named("Pilot").unwrap().with_calling(ALLOW))
        .unwrap();
    assert!(matches!(
        doc.create_policy(Policy::named("Pilot").unwrap()),
        Err(PolicyError::PolicyExists(_))
    ));
    let updated = doc
        .update_policy(
            "Pilot",
            PolicyUpdate {
                meeting: Some(ALLOW),
                description: Some("pilot".into()),
                ..Default::default()
            },
        )
        .unwrap()
        .clone();
    assert_eq!(updated.calling, ALLOW, "unset fields are kept");
    assert_eq!(updated.meeting, ALLOW);
    assert_eq!(updated.description, "pilot");
    let names: Vec<_> = doc.policies().map(|p| p.identity.as_str()).collect();
    assert_eq!(names, ["Global", "Pilot"]);
    assert!(matches!(
        doc.update_policy("Nope", PolicyUpdate::default()),
        Err(PolicyError::UnknownPolicy(n)) if n == "Nope"
    ));
    assert_eq!(doc.remove_policy("Pilot").unwrap().identity, "Pilot");
    assert!(matches!(
        doc.remove_policy("Pilot"),
        Err(PolicyError::UnknownPolicy(_))
    ));
}

#[test]
fn a_granted_policy_cannot_be_removed() {
    let holders: [(&str, &Edit<PolicyDocument>); 3] = [
        ("user", &|d| d.grant_user("alice", "P").unwrap()),
        ("group", &|d| d.grant_group("g", "P", 1).unwrap()),
        ("tenant", &|d| d.grant_tenant("P").unwrap()),
    ];
    for (holder, grant) in holders {
        let mut doc = PolicyDocument::new();
        doc.create_policy(Policy::named("P").unwrap()).unwrap();
        grant(&mut doc);
        let err = doc.remove_policy("P").unwrap_err();
        assert!(
            matches!(err, PolicyError::PolicyInUse { .. }),
            "{holder}: {err}"
        );
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }
}

#[test]
fn grants_to_unknown_policies_and_bad_names_are_refused() {
    let mut doc = PolicyDocument::new();
    assert!(matches!(
        doc.grant_user("alice", "Nope"),
        Err(PolicyError::UnknownPolicy(_))
    ));
    assert!(matches!(
        doc.grant_group("g", "Nope", 1),
        Err(PolicyError::UnknownPolicy(_))
    ));
    assert!(matches!(
        doc.grant_tenant("Nope"),
        Err(PolicyError::UnknownPolicy(_))
    ));
    for bad in ["", " alice", "a,b", "a:b", "tab\t", &"x".repeat(256)] {
        assert!(
            matches!(
                doc.grant_user(bad, "Global"),
                Err(PolicyError::InvalidName { .. })
            ),
            "{bad:?}"
        );
    }
    for bad in ["", "a/b", " lead", "trail ", &"x".repeat(65)] {
        assert!(Policy::named(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn group_ranks_start_at_one_and_are_unique() {
    let mut doc = PolicyDocument::new();
    doc.create_policy(Policy::named("A").unwrap()).unwrap();
    assert!(matches!(
        doc.grant_group("g1", "A", 0),
        Err(PolicyError::InvalidRank)
    ));
    doc.grant_group("g1", "A", 1).unwrap();
    assert!(matches!(
        doc.grant_group("g2", "A", 1),
        Err(PolicyError::RankTaken { rank: 1, group }) if group == "g1"
    ));
    // A group may be granted again at its own rank, or move to a free one.
    doc.grant_group("g1", "Global", 1).unwrap();
    doc.grant_group("g1", "A", 5).unwrap();
    doc.grant_group("g2", "A", 1).unwrap();
    assert_eq!(doc.group_policies()["g1"].rank, 5);
}

/// Effective policy: direct, else best-ranked group with a grant, else tenant.
#[test]
fn effective_policy_table() {
    let mut doc = PolicyDocument::new();
    for name in ["Direct", "Rank1", "Rank2", "Tenant"] {
        doc.create_policy(Policy::named(name).unwrap()).unwrap();
    }
    doc.grant_group("high", "Rank1", 1).unwrap();
    doc.grant_group("low", "Rank2", 2).unwrap();
    user(&mut doc, "direct", false, false, &["high", "low"]);
    doc.grant_user("direct", "Direct").unwrap();
    user(&mut doc, "both", false, false, &["low", "high"]);
    user(&mut doc, "low-only", false, false, &["low"]);
    user(
        &mut doc,
        "ungranted-group",
        false,
        false,
        &["nobody-granted-this"],
    );

    let rows: [(&str, &str, PolicySource); 5] = [
        ("direct", "Direct", PolicySource::Direct),
        ("both", "Rank1", PolicySource::Group("high".into())),
        ("low-only", "Rank2", PolicySource::Group("low".into())),
        ("ungranted-group", "Global", PolicySource::Tenant),
        ("stranger", "Global", PolicySource::Tenant),
    ];
    for (who, policy, source) in &rows {
        let (got, got_source) = doc.effective_policy(who);
        assert_eq!(
            (got.identity.as_str(), &got_source),
            (*policy, source),
            "{who}"
        );
    }

    // A tenant grant replaces Global for everyone without a closer grant.
    doc.grant_tenant("Tenant").unwrap();
    assert_eq!(doc.effective_policy("stranger").0.identity, "Tenant");
    assert_eq!(doc.effective_policy("both").0.identity, "Rank1");
    // Unassigning falls back one level at a time.
    assert_eq!(doc.unassign_user("direct").as_deref(), Some("Direct"));
    assert_eq!(doc.effective_policy("direct").0.identity, "Rank1");
    assert!(doc.unassign_group("high").is_some());
    assert_eq!(doc.effective_policy("direct").0.identity, "Rank2");
    assert!(doc.unassign_group("low").is_some());
    assert_eq!(doc.effective_policy("direct").0.identity, "Tenant");
    assert_eq!(doc.unassign_user("direct"), None);
    doc.grant_tenant("Global").unwrap();
    assert_eq!(doc.effective_policy("direct").0.identity, "Global");
}

// --- 1:1 call decisions ---------------------------------------------------------

/// One side of a call: its effective policy's calling setting, its own
/// setting, compliance recording.
type Side = (E2eeSetting, bool, bool);

fn call_doc(a: Side, b: Side) -> PolicyDocument {
    let mut doc = PolicyDocument::new();
    doc.create_policy(Policy::named("A").unwrap().with_calling(a.0))
        .unwrap();
    doc.create_policy(Policy::named("B").unwrap().with_calling(b.0))
        .unwrap();
    doc.grant_user("a", "A").unwrap();
    doc.grant_user("b", "B").unwrap();
    user(&mut doc, "a", a.1, a.2, &[]);
    user(&mut doc, "b", b.1, b.2, &[]);
    doc
}

#[test]
fn call_decision_table() {
    let ok: Side = (ALLOW, true, false);
    let rows: [(Side, Side, Reason); 9] = [
        (ok, ok, Reason::Ok),
        ((DENY, true, false), ok, Reason::PolicyDisabled),
        (ok, (DENY, true, false), Reason::PolicyDisabled),
        ((ALLOW, false, false), ok, Reason::UserSettingOff),
        (ok, (ALLOW, false, false), Reason::UserSettingOff),
        ((ALLOW, true, true), ok, Reason::ComplianceRecording),
        (ok, (ALLOW, true, true), Reason::ComplianceRecording),
        // The policy comes first, then the setting, then recording.
        ((DENY, false, true), ok, Reason::PolicyDisabled),
        ((ALLOW, false, true), ok, Reason::UserSettingOff),
    ];
    for (a, b, reason) in rows {
        let decision = call_doc(a, b).evaluate_call("a", "b");
        assert_eq!(decision.reason, reason, "{a:?} {b:?}");
        assert_eq!(decision.e2ee, reason == Reason::Ok);
    }
}

#[test]
fn call_gating_follows_the_decision() {
    let ok: Side = (ALLOW, true, false);
    let e2ee = call_doc(ok, ok).evaluate_call("a", "b");
    let plain = call_doc((DENY, true, false), ok).evaluate_call("a", "b");
    let gated = [
        "live-captions",
        "transcription",
        "call-transfer",
        "call-merge",
        "call-park",
        "consult-then-transfer",
        "transfer-to-another-device",
        "add-participant",
        "recording",
    ];
    let codes: Vec<_> = e2ee
        .unavailable_features()
        .iter()
        .map(|f| f.code())
        .collect();
    assert_eq!(codes, gated);
    for feature in CallFeature::ALL {
        let expect_refused = gated.contains(&feature.code());
        assert_eq!(
            e2ee.check_feature(*feature),
            if expect_refused {
                Err(FeatureUnavailable::Call(*feature))
            } else {
                Ok(())
            }
        );
        assert_eq!(plain.check_feature(*feature), Ok(()));
    }
    assert!(plain.unavailable_features().is_empty());
    let open: Vec<_> = e2ee
        .not_end_to_end_encrypted()
        .iter()
        .map(|f| f.code())
        .collect();
    assert_eq!(open, ["chat", "reactions"]);
    let json = serde_json::to_value(e2ee).unwrap();
    assert_eq!(json["e2ee"], true);
    assert_eq!(json["reason"], "ok");
    assert_eq!(json["unavailable_features"].as_array().unwrap().len(), 9);
    assert_eq!(json["not_end_to_end_encrypted"][0], "chat");
}

fn setting() -> impl Strategy<Value = E2eeSetting> {
    prop_oneof![Just(DENY), Just(ALLOW)]
}

proptest! {
    /// The decision does not depend on who calls whom, whatever the grants.
    #[test]
    fn call_decision_is_symmetric(
        a in (setting(), any::<bool>(), any::<bool>()),
        b in (setting(), any::<bool>(), any::<bool>()),
        group_a in proptest::option::of(setting()),
        tenant in setting(),
    ) {
        let mut doc = call_doc(a, b);
        if let Some(g) = group_a {
            doc.unassign_user("a");
            doc.create_policy(Policy::named("G").unwrap().with_calling(g)).unwrap();
            doc.grant_group("ga", "G", 1).unwrap();
            doc.update_user("a", UserUpdate { groups: Some(vec!["ga".into()]), ..Default::default() }).unwrap();
        }
        doc.create_policy(Policy::named("T").unwrap().with_calling(tenant)).unwrap();
        doc.grant_tenant("T").unwrap();
        prop_assert_eq!(doc.evaluate_call("a", "b"), doc.evaluate_call("b", "a"));
        prop_assert_eq!(doc.evaluate_call("a", "stranger"), doc.evaluate_call("stranger", "a"));
    }
}

#[test]
fn call_session_takes_its_mode_from_the_decision() {
    let identity = IdentityKeyPair::from_bytes([7; 32]);
    let config = CallConfig::default();
    let peer = ExpectedPeer::new("b").unwrap();
    let ok: Side = (ALLOW, true, false);
    for (a, reason) in [
        ((DENY, true, false), Reason::PolicyDisabled),
        ((ALLOW, false, false), Reason::UserSettingOff),
        ((ALLOW, true, true), Reason::ComplianceRecording),
    ] {
        let decision = call_doc(a, ok).evaluate_call("a", "b");
        let err = CallSession::initiate_with_policy(
            &decision,
            &identity,
            "a",
            &peer,
            &config,
            &mut OsEntropy,
        )
        .err()
        .unwrap();
        assert!(matches!(err, CallError::PolicyForbids(r) if r == reason));
        assert_eq!(err.kind(), ErrorKind::PolicyForbids);
        let err = CallSession::respond_with_policy(
            &decision,
            &identity,
            "b",
            None,
            &[1],
            &config,
            &mut OsEntropy,
        )
        .err()
        .unwrap();
        assert!(matches!(err, CallError::PolicyForbids(r) if r == reason));
    }
    let decision = call_doc(ok, ok).evaluate_call("a", "b");
    let (session, _commit) = CallSession::initiate_with_policy(
        &decision,
        &identity,
        "a",
        &peer,
        &config,
        &mut OsEntropy,
    )
    .unwrap();
    // The session refuses exactly what the decision refuses, with the same error.
    for feature in CallFeature::ALL {
        assert_eq!(
            session.check_feature(*feature),
            decision.check_feature(*feature)
        );
    }
}

// --- meeting decisions ----------------------------------------------------------

fn meeting_doc(meeting: E2eeSetting) -> PolicyDocument {
    let mut doc = PolicyDocument::new();
    doc.create_policy(Policy::named("M").unwrap().with_meeting(meeting))
        .unwrap();
    doc.grant_user("org", "M").unwrap();
    doc
}

#[test]
fn meeting_mode_table() {
    let rows = [
        (ALLOW, true, Reason::Ok),
        (ALLOW, false, Reason::OrganizerSettingOff),
        (DENY, true, Reason::PolicyDisabled),
        (DENY, false, Reason::PolicyDisabled),
    ];
    for (policy, on, reason) in rows {
        let doc = meeting_doc(policy);
        let decision = doc.evaluate_meeting("org", on, &[Participant::new("x", Platform::Web)]);
        assert_eq!(decision.reason, reason, "{policy:?} {on}");
        assert_eq!(decision.e2ee, reason == Reason::Ok);
        if !decision.e2ee {
            // Without E2EE everyone is admitted and nothing is gated.
            assert_eq!(decision.admitted, ["x"]);
            assert!(decision.refused.is_empty());
            assert!(decision.unavailable_features().is_empty());
        }
    }
    // Only the organizer's policy counts: a participant's Disabled policy
    // does not stop them joining.
    let mut doc = meeting_doc(ALLOW);
    doc.create_policy(Policy::named("Off").unwrap()).unwrap();
    doc.grant_user("p", "Off").unwrap();
    let decision = doc.evaluate_meeting("org", true, &[Participant::new("p", Platform::Ios)]);
    assert_eq!(decision.admitted, ["p"]);
}

#[test]
fn meeting_admission_table() {
    let mut doc = meeting_doc(ALLOW);
    user(&mut doc, "recorded", true, true, &[]);
    let rows = [
        (Platform::DesktopWindows, Reason::Ok),
        (Platform::DesktopMac, Reason::Ok),
        (Platform::Ios, Reason::Ok),
        (Platform::Android, Reason::Ok),
        (Platform::Web, Reason::UnsupportedPlatform),
        (Platform::Vdi, Reason::UnsupportedPlatform),
        (Platform::Cvi, Reason::UnsupportedPlatform),
        (Platform::RoomsWindows, Reason::UnsupportedPlatform),
        (Platform::RoomsAndroid, Reason::UnsupportedPlatform),
        (Platform::SurfaceHub, Reason::UnsupportedPlatform),
    ];
    assert_eq!(rows.len(), Platform::ALL.len());
    for (platform, reason) in rows {
        assert_eq!(
            doc.admit(&Participant::new("u", platform), 0),
            reason,
            "{platform}"
        );
        // Compliance recording refuses on any platform, and is named first.
        assert_eq!(
            doc.admit(&Participant::new("recorded", platform), 0),
            Reason::ComplianceRecording
        );
    }
}

#[test]
fn an_e2ee_meeting_admits_at_most_200() {
    let doc = meeting_doc(ALLOW);
    let mut participants: Vec<_> = (0..205)
        .map(|i| Participant::new(format!("u{i}"), Platform::Android))
        .collect();
    // Refused participants do not take a seat.
    participants.insert(3, Participant::new("web", Platform::Web));
    let decision = doc.evaluate_meeting("org", true, &participants);
    assert_eq!(decision.admitted.len(), MAX_E2EE_MEETING_PARTICIPANTS);
    assert_eq!(decision.admitted.last().unwrap(), "u199");
    let reasons: Vec<_> = decision
        .refused
        .iter()
        .map(|r| (r.user.as_str(), r.reason))
        .collect();
    assert_eq!(reasons[0], ("web", Reason::UnsupportedPlatform));
    assert_eq!(reasons[1..].len(), 5);
    assert!(reasons[1..].iter().all(|(_, r)| *r == Reason::MeetingFull));
    // Not end-to-end encrypted: no cap from this library.
    let decision = doc.evaluate_meeting("org", false, &participants);
    assert_eq!(decision.admitted.len(), participants.len());
}

#[test]
fn meeting_gating_follows_the_decision() {
    let doc = meeting_doc(ALLOW);
    let e2ee = doc.evaluate_meeting("org", true, &[]);
    let gated = [
        "live-captions",
        "transcription",
        "recording",
        "together-mode",
        "companion-mode",
        "large-gallery",
        "breakout-rooms",
        "powerpoint-live",
        "excel-live",
    ];
    let codes: Vec<_> = e2ee
        .unavailable_features()
        .iter()
        .map(|f| f.code())
        .collect();
    assert_eq!(codes, gated);
    let plain = doc.evaluate_meeting("org", false, &[]);
    for feature in MeetingFeature::ALL {
        let refused = e2ee.check_feature(*feature).is_err();
        assert_eq!(refused, gated.contains(&feature.code()), "{feature}");
        assert_eq!(plain.check_feature(*feature), Ok(()));
    }
    let open: Vec<_> = e2ee
        .not_end_to_end_encrypted()
        .iter()
        .map(|f| f.code())
        .collect();
    assert_eq!(open, ["chat", "reactions", "q-and-a"]);
    let json = serde_json::to_value(&e2ee).unwrap();
    for key in [
        "e2ee",
        "reason",
        "admitted",
        "refused",
        "unavailable_features",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
}

// --- the document ---------------------------------------------------------------

fn rich_doc() -> PolicyDocument {
    let mut doc = PolicyDocument::new();
    doc.create_policy(
        Policy::named("Pilot")
            .unwrap()
            .with_calling(ALLOW)
            .with_meeting(ALLOW)
            .with_description("the pilot \"group\""),
    )
    .unwrap();
    doc.grant_user("alice", "Pilot").unwrap();
    doc.grant_group("sec", "Pilot", 2).unwrap();
    doc.grant_tenant("Pilot").unwrap();
    user(&mut doc, "bob", true, true, &["sec", "eng"]);
    doc
}

#[test]
fn documents_round_trip_and_use_the_admin_field_names() {
    let doc = rich_doc();
    let json = doc.to_json();
    for key in [
        "\"version\": 1",
        "\"Identity\": \"Global\"",
        "\"CallingEndtoEndEncryptionEnabledType\": \"DisabledUserOverride\"",
        "\"MeetingEndToEndEncryption\"",
        "\"Description\"",
        "\"tenant_policy\": \"Pilot\"",
    ] {
        assert!(json.contains(key), "{key} missing from {json}");
    }
    assert_eq!(PolicyDocument::from_json(json.as_bytes()).unwrap(), doc);
}

#[test]
fn bad_documents_are_refused() {
    let good: serde_json::Value = serde_json::from_str(&rich_doc().to_json()).unwrap();
    let edit = |f: &Edit<serde_json::Value>| {
        let mut v = good.clone();
        f(&mut v);
        PolicyDocument::from_json(v.to_string().as_bytes())
    };
    assert!(matches!(
        edit(&|v| v["version"] = 2.into()),
        Err(PolicyError::UnsupportedVersion(2))
    ));
    let corrupt: [(&str, &Edit<serde_json::Value>); 8] = [
        ("no Global", &|v| {
            v["policies"].as_array_mut().unwrap().remove(0);
        }),
        ("duplicate policy", &|v| {
            let p = v["policies"][1].clone();
            v["policies"].as_array_mut().unwrap().push(p);
        }),
        ("dangling user grant", &|v| {
            v["user_policies"]["x"] = "Nope".into()
        }),
        ("dangling tenant", &|v| v["tenant_policy"] = "Nope".into()),
        ("rank 0", &|v| v["group_policies"]["sec"]["rank"] = 0.into()),
        ("duplicate rank", &|v| {
            v["group_policies"]["other"] = serde_json::json!({"policy": "Global", "rank": 2});
        }),
        ("unknown setting", &|v| {
            v["policies"][0]["MeetingEndToEndEncryption"] = "Enabled".into();
        }),
        ("unknown field", &|v| v["surprise"] = true.into()),
    ];
    for (what, f) in corrupt {
        let err = edit(f).unwrap_err();
        assert!(matches!(err, PolicyError::Corrupt(_)), "{what}: {err}");
        assert_eq!(err.kind(), ErrorKind::Malformed);
    }
    for junk in [
        &b""[..],
        b"{",
        b"[]",
        b"null",
        b"{\"version\":1}",
        &[0xff, 0xfe],
    ] {
        assert!(PolicyDocument::from_json(junk).is_err());
    }
}

// --- the file store -------------------------------------------------------------

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("callseal-policy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_store_starts_with_global_and_persists_changes() {
    let dir = temp_dir("persist");
    let store = PolicyStore::new(dir.join("nested/policies.json"));
    assert_eq!(store.load().unwrap(), PolicyDocument::new());
    store
        .update(|doc| doc.create_policy(Policy::named("P").unwrap()))
        .unwrap();
    assert!(store.load().unwrap().policy("P").is_ok());
    // A failed change writes nothing.
    let before = std::fs::read(store.path()).unwrap();
    assert!(store.update(|doc| doc.remove_policy("Global")).is_err());
    assert_eq!(std::fs::read(store.path()).unwrap(), before);
    // No temporary file is left behind.
    let mut names: Vec<_> = std::fs::read_dir(dir.join("nested"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["policies.json", "policies.json.lock"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corrupt_store_is_reported_and_never_overwritten() {
    let dir = temp_dir("corrupt");
    let path = dir.join("policies.json");
    for junk in [&b"{ not json"[..], b"{\"version\": 9, \"policies\": []}"] {
        std::fs::write(&path, junk).unwrap();
        let store = PolicyStore::new(&path);
        assert!(store.load().is_err());
        let err = store
            .update(|doc| doc.create_policy(Policy::named("P").unwrap()))
            .unwrap_err();
        assert!(
            matches!(
                err,
                PolicyError::Corrupt(_) | PolicyError::UnsupportedVersion(9)
            ),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            junk,
            "the file was overwritten"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn concurrent_writers_lose_no_update() {
    let dir = temp_dir("concurrent");
    let path = dir.join("policies.json");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                // Each thread has its own store handle, as separate processes would.
                let store = PolicyStore::new(path);
                for i in 0..25 {
                    store
                        .update(|doc| {
                            doc.update_user(
                                &format!("t{t}-u{i}"),
                                UserUpdate {
                                    e2ee_calls: Some(true),
                                    ..Default::default()
                                },
                            )
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let doc = PolicyStore::new(&path).load().unwrap();
    for t in 0..8 {
        for i in 0..25 {
            assert!(doc.user(&format!("t{t}-u{i}")).e2ee_calls, "t{t}-u{i} lost");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// --- canonical ids ------------------------------------------------------------

/// Item 8 of the hardening issue: `Bob@Corp.com` under compliance recording
/// is the participant `bob@corp.com`, who may not join an E2EE meeting.
#[test]
fn user_ids_are_canonical() {
    let mut doc = meeting_doc(ALLOW);
    doc.update_user(
        "Bob@Corp.com",
        UserUpdate {
            compliance_recording: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    let decision = doc.evaluate_meeting(
        "org",
        true,
        &[
            Participant::new("bob@corp.com", Platform::DesktopWindows),
            Participant::new("BOB@CORP.COM", Platform::Ios),
        ],
    );
    assert!(decision.e2ee);
    assert!(decision.admitted.is_empty(), "{decision:?}");
    assert!(
        decision
            .refused
            .iter()
            .all(|r| r.reason == Reason::ComplianceRecording)
    );
    assert_eq!(decision.refused.len(), 2);
    // One user however written: lookups, grants, the organizer, calls.
    assert!(doc.user("bob@corp.com").compliance_recording);
    assert_eq!(
        doc.users().keys().collect::<Vec<_>>(),
        ["bob@corp.com"],
        "stored canonical"
    );
    assert_eq!(doc.evaluate_meeting("ORG", true, &[]).reason, Reason::Ok);
    doc.grant_user("Alice@Corp.com", "M").unwrap();
    assert_eq!(
        doc.effective_policy("alice@corp.com").1,
        PolicySource::Direct
    );
    assert_eq!(doc.unassign_user("ALICE@corp.com").as_deref(), Some("M"));
    // Not case alone: "É" and "é" are one id; a decomposed accent (not
    // NFC) is refused rather than silently a different user.
    doc.update_user(
        "\u{c9}mile",
        UserUpdate {
            e2ee_calls: Some(true),
            groups: Some(vec!["\u{c9}QUIPE".into()]),
            ..Default::default()
        },
    )
    .unwrap();
    let emile = doc.user("\u{e9}mile");
    assert!(emile.e2ee_calls);
    assert_eq!(emile.groups.iter().collect::<Vec<_>>(), ["\u{e9}quipe"]);
    assert!(matches!(
        doc.update_user("E\u{301}mile", UserUpdate::default()),
        Err(PolicyError::InvalidName { .. })
    ));
    doc.grant_group("\u{e9}quipe", "M", 3).unwrap();
    assert_eq!(
        doc.effective_policy("\u{c9}MILE").1,
        PolicySource::Group("\u{e9}quipe".into())
    );
    assert!(doc.unassign_group("\u{e9}QUIPE").is_some());
    // Invisible and bidi characters are refused everywhere an id enters.
    for bad in [
        "bob\u{200b}@corp.com",
        "bob@corp.com\u{200d}",
        "\u{feff}bob",
        "b\u{ad}ob",
        "bob\u{2060}",
        "\u{202e}moc.proc@bob",
        "bob\u{200f}",
        "bob\u{2067}x\u{2069}",
        "bob\u{61c}",
        "bob\u{a0}smith",
        "bob\u{7f}",
    ] {
        for result in [
            doc.grant_user(bad, "Global"),
            doc.grant_group(bad, "Global", 9),
            doc.update_user(bad, UserUpdate::default()).map(|_| ()),
            doc.update_user(
                "ok",
                UserUpdate {
                    groups: Some(vec![bad.to_owned()]),
                    ..Default::default()
                },
            )
            .map(|_| ()),
        ] {
            assert!(
                matches!(result, Err(PolicyError::InvalidName { .. })),
                "{bad:?}: {result:?}"
            );
        }
    }
    // A lookup with an id that can never be stored finds a stranger.
    assert!(!doc.user("bob\u{200b}@corp.com").compliance_recording);
}

#[test]
fn loaded_ids_are_canonicalised_and_collisions_refused() {
    let doc = PolicyDocument::from_json(
        br#"{"version": 1, "policies": [{"Identity": "Global",
            "CallingEndtoEndEncryptionEnabledType": "Disabled",
            "MeetingEndToEndEncryption": "Disabled"}],
            "user_policies": {"Carol@Corp.com": "Global"},
            "group_policies": {"Sec": {"policy": "Global", "rank": 1}},
            "users": {"Bob@Corp.com": {"compliance_recording": true, "groups": ["Sec", "sec"]}}}"#,
    )
    .unwrap();
    assert!(doc.user("bob@corp.com").compliance_recording);
    assert_eq!(doc.user("bob@corp.com").groups.len(), 1);
    assert!(doc.user_policies().contains_key("carol@corp.com"));
    assert!(doc.group_policies().contains_key("sec"));
    // What it writes back is canonical and reads back the same.
    let again = PolicyDocument::from_json(doc.to_json().as_bytes()).unwrap();
    assert_eq!(again, doc);
    assert!(!doc.to_json().contains("Bob@"));

    let base: serde_json::Value = serde_json::from_str(&rich_doc().to_json()).unwrap();
    let cases: [(&str, &Edit<serde_json::Value>); 5] = [
        ("two users", &|v| {
            v["users"]["BOB"] = serde_json::json!({});
        }),
        ("two user grants", &|v| {
            v["user_policies"]["ALICE"] = "Global".into();
        }),
        ("two group grants", &|v| {
            v["group_policies"]["SEC"] = serde_json::json!({"policy": "Global", "rank": 7});
        }),
        ("zero-width user", &|v| {
            v["users"]["e\u{200b}ve"] = serde_json::json!({});
        }),
        ("bidi group", &|v| {
            v["users"]["bob"]["groups"] = serde_json::json!(["\u{202e}ces"]);
        }),
    ];
    for (what, edit) in cases {
        let mut v = base.clone();
        edit(&mut v);
        let err = PolicyDocument::from_json(v.to_string().as_bytes()).unwrap_err();
        assert!(matches!(err, PolicyError::Corrupt(_)), "{what}: {err}");
    }
}

#[test]
fn near_duplicate_ids_are_found() {
    let mut doc = PolicyDocument::new();
    user(
        &mut doc,
        "bob.smith@corp.com",
        false,
        false,
        &["sales-emea"],
    );
    doc.grant_group("pilot", "Global", 1).unwrap();
    assert_eq!(
        doc.similar_users("bobsmith@corp.com"),
        ["bob.smith@corp.com"]
    );
    assert_eq!(
        doc.similar_users("b0b_smith@corp.com"),
        ["bob.smith@corp.com"]
    );
    assert!(
        doc.similar_users("BOB.SMITH@corp.com").is_empty(),
        "same id"
    );
    assert!(doc.similar_users("rob.smith@corp.com").is_empty());
    assert_eq!(doc.similar_groups("sales_emea"), ["sales-emea"]);
    assert_eq!(doc.similar_groups("p1lot"), ["pilot"]);
    // Cyrillic о and і in place of Latin o and i.
    assert_eq!(doc.similar_groups("p\u{456}l\u{43e}t"), ["pilot"]);
    assert!(doc.similar_groups("plot").is_empty());
}

proptest! {
    /// Canonicalising twice changes nothing; ids equal once canonical are
    /// one user.
    #[test]
    fn canonical_ids_are_stable(id in "\\PC{1,20}") {
        if let Ok(c) = callseal_core::policy::canonical_principal("user", &id) {
            prop_assert_eq!(callseal_core::policy::canonical_principal("user", &c).unwrap(), c.clone());
            let mut doc = PolicyDocument::new();
            doc.update_user(&id, UserUpdate { e2ee_calls: Some(true), ..Default::default() }).unwrap();
            prop_assert!(doc.user(&c).e2ee_calls);
            prop_assert!(doc.user(&c.to_uppercase()).e2ee_calls || c.to_uppercase().to_lowercase() != c);
        }
    }
}

// --- text fields and limits -----------------------------------------------------

#[test]
fn descriptions_refuse_control_and_bidi_characters() {
    let mut doc = PolicyDocument::new();
    for bad in [
        "two\nlines",
        "evil\u{202e}txt.exe",
        "tab\there",
        "zw\u{200b}sp",
        &"x".repeat(1025),
    ] {
        let err = doc
            .update_policy(
                "Global",
                PolicyUpdate {
                    description: Some(bad.to_owned()),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(
            matches!(
                err,
                PolicyError::InvalidName {
                    what: "description",
                    ..
                }
            ),
            "{bad:?}: {err}"
        );
        let err = doc
            .create_policy(Policy::named("P").unwrap().with_description(bad))
            .unwrap_err();
        assert!(
            matches!(err, PolicyError::InvalidName { .. }),
            "{bad:?}: {err}"
        );
        // From a file: refused as corrupt.
        let mut v: serde_json::Value = serde_json::from_str(&rich_doc().to_json()).unwrap();
        v["policies"][1]["Description"] = bad.into();
        let err = PolicyDocument::from_json(v.to_string().as_bytes()).unwrap_err();
        assert!(matches!(err, PolicyError::Corrupt(_)), "{bad:?}: {err}");
    }
    assert_eq!(
        doc.policy("Global").unwrap().description,
        "",
        "nothing changed"
    );
    doc.update_policy(
        "Global",
        PolicyUpdate {
            description: Some("Tout le monde — «défaut»".into()),
            ..Default::default()
        },
    )
    .unwrap();
}

#[test]
fn documents_over_the_limits_are_refused() {
    let big = vec![b' '; callseal_core::policy::MAX_DOCUMENT_BYTES + 1];
    let err = PolicyDocument::from_json(&big).unwrap_err();
    assert!(
        matches!(err, PolicyError::Corrupt(ref why) if why.contains("bytes")),
        "{err}"
    );

    let max = callseal_core::policy::MAX_ENTRIES;
    let users: serde_json::Map<String, serde_json::Value> = (0..=max)
        .map(|i| (format!("u{i}"), serde_json::json!({})))
        .collect();
    let mut v: serde_json::Value = serde_json::from_str(&PolicyDocument::new().to_json()).unwrap();
    v["users"] = users.into();
    let err = PolicyDocument::from_json(v.to_string().as_bytes()).unwrap_err();
    assert!(
        matches!(err, PolicyError::Corrupt(ref why) if why.contains("100001 users")),
        "{err}"
    );
    // The API stops at the same limit, so a store never writes what it
    // could not read back.
    v["users"].as_object_mut().unwrap().remove("u0");
    let mut doc = PolicyDocument::from_json(v.to_string().as_bytes()).unwrap();
    let err = doc
        .update_user("one-more", UserUpdate::default())
        .unwrap_err();
    assert!(
        matches!(err, PolicyError::LimitReached { what: "users", limit } if limit == max),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    // An existing user can still be changed.
    doc.update_user(
        "u1",
        UserUpdate {
            e2ee_calls: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
}

/// Loading is linear: 40,000 ranked groups load at once (the rank check no
/// longer scans every group per grant, which took 40 s).
#[test]
fn a_40000_group_document_loads_quickly() {
    let groups: serde_json::Map<String, serde_json::Value> = (1..=40_000u32)
        .map(|i| {
            (
                format!("group-{i}"),
                serde_json::json!({"policy": "Global", "rank": i}),
            )
        })
        .collect();
    let mut v: serde_json::Value = serde_json::from_str(&PolicyDocument::new().to_json()).unwrap();
    v["group_policies"] = groups.into();
    let json = v.to_string();
    let start = std::time::Instant::now();
    let mut doc = PolicyDocument::from_json(json.as_bytes()).unwrap();
    println!("loaded 40,000 groups in {:?}", start.elapsed());
    assert_eq!(doc.group_policies().len(), 40_000);
    // The rank index is kept: taken ranks are refused, freed ones reused.
    assert!(matches!(
        doc.grant_group("new", "Global", 20_000),
        Err(PolicyError::RankTaken { rank: 20_000, group }) if group == "group-20000"
    ));
    doc.grant_group("group-20000", "Global", 50_000).unwrap();
    doc.grant_group("new", "Global", 20_000).unwrap();
    assert!(doc.unassign_group("new").is_some());
    doc.grant_group("newer", "Global", 20_000).unwrap();
}

/// A symbolic link planted at the lock path, or at the temporary name an
/// older writer used (`PATH.tmp`), never leads an update to the file it
/// points at.
#[cfg(unix)]
#[test]
fn store_refuses_planted_symlinks() {
    use std::os::unix::fs::symlink;
    let dir = temp_dir("symlinks");
    let path = dir.join("policies.json");
    let victim = dir.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let store = PolicyStore::new(&path);
    store
        .update(|doc| doc.create_policy(Policy::named("Before").unwrap()))
        .unwrap();
    let before = std::fs::read(&path).unwrap();

    // A link at the lock path: the update fails with Io, nothing is touched.
    let lock = dir.join("policies.json.lock");
    std::fs::remove_file(&lock).unwrap();
    symlink(&victim, &lock).unwrap();
    let err = store
        .update(|doc| doc.create_policy(Policy::named("P").unwrap()))
        .unwrap_err();
    assert!(matches!(err, PolicyError::Io { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // A dangling link at the lock path creates nothing either.
    std::fs::remove_file(&lock).unwrap();
    let absent = dir.join("would-be-created");
    symlink(&absent, &lock).unwrap();
    assert!(store.update(|_| Ok(())).is_err());
    assert!(!absent.exists());
    std::fs::remove_file(&lock).unwrap();

    // A link at a predictable temporary name: the update succeeds without
    // following it (the temporary name is random and created fresh).
    let tmp = dir.join("policies.json.tmp");
    symlink(&victim, &tmp).unwrap();
    store
        .update(|doc| doc.create_policy(Policy::named("P").unwrap()))
        .unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(store.load().unwrap().policy("P").is_ok());
    assert!(
        std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_file()
    );
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp") && n != "policies.json.tmp")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A store that is itself a link: read through, but never replaced.
    let linked = PolicyStore::new(dir.join("linked.json"));
    symlink(&path, linked.path()).unwrap();
    assert!(linked.load().unwrap().policy("P").is_ok());
    let err = linked.update(|_| Ok(())).unwrap_err();
    assert!(matches!(err, PolicyError::Io { .. }), "{err}");
    assert!(
        std::fs::symlink_metadata(linked.path())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn a_new_store_is_private_and_an_update_keeps_the_mode() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = temp_dir("modes");
    let path = dir.join("policies.json");
    let store = PolicyStore::new(&path);
    store
        .update(|doc| doc.create_policy(Policy::named("P").unwrap()))
        .unwrap();
    assert_eq!(mode(&path), 0o600, "a new store");
    assert_eq!(mode(&dir.join("policies.json.lock")), 0o600, "its lock");
    store.update(|doc| doc.grant_tenant("P")).unwrap();
    assert_eq!(mode(&path), 0o600, "0600 survives an update");
    // A mode the admin chose survives too, whatever the umask.
    for chosen in [0o640, 0o644, 0o400] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(chosen)).unwrap();
        store.update(|doc| doc.grant_tenant("Global")).unwrap();
        assert_eq!(mode(&path), chosen);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_store_over_the_size_limit_is_corrupt_and_kept() {
    let dir = temp_dir("oversize");
    let path = dir.join("policies.json");
    let big = vec![b' '; callseal_core::policy::MAX_DOCUMENT_BYTES + 10];
    std::fs::write(&path, &big).unwrap();
    let store = PolicyStore::new(&path);
    let err = store.load().unwrap_err();
    assert!(
        matches!(err, PolicyError::Corrupt(ref why) if why.contains("limit")),
        "{err}"
    );
    assert!(store.update(|_| Ok(())).is_err());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), big.len() as u64);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn descriptions_in_a_stored_file_are_checked() {
    let dir = temp_dir("description-file");
    let path = dir.join("policies.json");
    let mut v: serde_json::Value = serde_json::from_str(&rich_doc().to_json()).unwrap();
    v["policies"][1]["Description"] = "pilot\u{202e}".into();
    std::fs::write(&path, v.to_string()).unwrap();
    let err = PolicyStore::new(&path).load().unwrap_err();
    assert!(matches!(err, PolicyError::Corrupt(_)), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn store_refuses_untrusted_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("callseal-untrusted-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = PolicyStore::new(dir.join("policies.json"));
    store
        .update(|doc| doc.create_policy(Policy::named("P")?))
        .unwrap();
    // Writable by others: anyone could have planted its content.
    std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o666)).unwrap();
    assert!(matches!(store.load(), Err(PolicyError::Io { .. })));
    assert!(matches!(
        store.update(|_| Ok(())),
        Err(PolicyError::Io { .. })
    ));
    std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(store.load().unwrap().policy("P").is_ok());
    // A FIFO in place of the lock (or the store) fails at once, never hangs.
    let lock = dir.join("policies.json.lock");
    std::fs::remove_file(&lock).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&lock)
            .status()
            .unwrap()
            .success()
    );
    assert!(matches!(
        store.update(|_| Ok(())),
        Err(PolicyError::Io { .. })
    ));
    let fifo_store = PolicyStore::new(dir.join("fifo.json"));
    assert!(
        std::process::Command::new("mkfifo")
            .arg(fifo_store.path())
            .status()
            .unwrap()
            .success()
    );
    assert!(matches!(fifo_store.load(), Err(PolicyError::Io { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}
