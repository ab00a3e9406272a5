//! `policy.json`: policy decisions from fixed documents, which every
//! target's `PolicyDocument` must reproduce exactly.

use callseal_core::policy::{
    E2eeSetting, Participant, Platform, Policy, PolicyDocument, PolicyUpdate, UserUpdate,
};
use serde::Serialize;
use serde_json::Value;

use super::fixed::err;

pub(super) const DESCRIPTION: &str = "PolicyDocument.fromJson(document) then evaluateCall(caller, callee) or evaluateMeeting(organizer, organizer_e2ee, participants) gives decision: e2ee, reason, unavailable_features and not_end_to_end_encrypted (and admitted, refused for meetings), in this order.";

#[derive(Serialize)]
pub(super) struct ParticipantCase {
    user: String,
    platform: &'static str,
}

#[derive(Serialize)]
pub(super) struct PolicyCase {
    name: &'static str,
    document: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    caller: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callee: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organizer: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    organizer_e2ee: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    participants: Option<Vec<ParticipantCase>>,
    decision: Value,
}

const ALLOW: E2eeSetting = E2eeSetting::DisabledUserOverride;

/// A tenant with a pilot group, a direct grant, a recorded user and a
/// tenant-wide policy that forbids meetings.
fn tenant() -> Result<PolicyDocument, String> {
    let mut doc = PolicyDocument::new();
    doc.create_policy(
        Policy::named("Pilot")
            .map_err(err)?
            .with_calling(ALLOW)
            .with_meeting(ALLOW),
    )
    .map_err(err)?;
    doc.create_policy(Policy::named("CallsOnly").map_err(err)?.with_calling(ALLOW))
        .map_err(err)?;
    doc.grant_group("pilot", "Pilot", 1).map_err(err)?;
    doc.grant_group("sales", "CallsOnly", 2).map_err(err)?;
    doc.grant_user("dave", "CallsOnly").map_err(err)?;
    let users: [(&str, bool, bool, &[&str]); 6] = [
        ("alice", true, false, &["pilot"]),
        ("bob", true, false, &["pilot", "sales"]),
        ("carol", false, false, &["pilot"]),
        ("dave", true, false, &["pilot"]),
        ("erin", true, true, &["sales"]),
        ("frank", true, false, &[]),
    ];
    for (user, e2ee, recording, groups) in users {
        doc.update_user(
            user,
            UserUpdate {
                groups: Some(groups.iter().map(|g| (*g).to_owned()).collect()),
                e2ee_calls: Some(e2ee),
                compliance_recording: Some(recording),
            },
        )
        .map_err(err)?;
    }
    Ok(doc)
}

pub(super) fn cases() -> Result<Vec<PolicyCase>, String> {
    let doc = tenant()?;
    let document = doc.to_json();
    let mut cases = Vec::new();
    let calls: [(&'static str, &'static str, &'static str); 7] = [
        ("call allowed: both in the pilot group", "alice", "bob"),
        ("call: the callee's setting is off", "alice", "carol"),
        ("call: a direct grant beats the group", "dave", "alice"),
        ("call: compliance recording", "erin", "bob"),
        ("call: the Global policy forbids", "frank", "alice"),
        ("call: symmetric to the one before", "alice", "frank"),
        ("call: a user the store never saw", "alice", "zoe"),
    ];
    for (name, caller, callee) in calls {
        let decision = doc.evaluate_call(caller, callee);
        cases.push(PolicyCase {
            name,
            document: document.clone(),
            kind: "call",
            caller: Some(caller),
            callee: Some(callee),
            organizer: None,
            organizer_e2ee: None,
            participants: None,
            decision: serde_json::to_value(decision).map_err(err)?,
        });
    }
    let everyone: Vec<(&str, Platform)> = vec![
        ("alice", Platform::DesktopMac),
        ("bob", Platform::Android),
        ("carol", Platform::Web),
        ("erin", Platform::Ios),
        ("frank", Platform::RoomsWindows),
        ("zoe", Platform::DesktopWindows),
    ];
    let meetings: [(&'static str, &'static str, bool); 4] = [
        ("meeting: E2EE with refusals", "alice", true),
        ("meeting: the organizer left it off", "alice", false),
        ("meeting: the organizer's policy forbids", "dave", true),
        ("meeting: Global forbids", "frank", true),
    ];
    for (name, organizer, on) in meetings {
        let participants: Vec<Participant> = everyone
            .iter()
            .map(|(u, p)| Participant::new(*u, *p))
            .collect();
        let decision = doc.evaluate_meeting(organizer, on, &participants);
        cases.push(PolicyCase {
            name,
            document: document.clone(),
            kind: "meeting",
            caller: None,
            callee: None,
            organizer: Some(organizer),
            organizer_e2ee: Some(on),
            participants: Some(
                everyone
                    .iter()
                    .map(|(u, p)| ParticipantCase {
                        user: (*u).to_owned(),
                        platform: p.code(),
                    })
                    .collect(),
            ),
            decision: serde_json::to_value(decision).map_err(err)?,
        });
    }
    // The 200-participant cap.
    let mut open = PolicyDocument::new();
    open.update_policy(
        "Global",
        PolicyUpdate {
            meeting: Some(ALLOW),
            ..Default::default()
        },
    )
    .map_err(err)?;
    let crowd: Vec<Participant> = (0..202)
        .map(|i| Participant::new(format!("p{i}"), Platform::Ios))
        .collect();
    let decision = open.evaluate_meeting("p0", true, &crowd);
    cases.push(PolicyCase {
        name: "meeting: 202 join, 200 are admitted",
        document: open.to_json(),
        kind: "meeting",
        caller: None,
        callee: None,
        organizer: Some("p0"),
        organizer_e2ee: Some(true),
        participants: Some(
            crowd
                .iter()
                .map(|p| ParticipantCase {
                    user: p.user.clone(),
                    platform: p.platform.code(),
                })
                .collect(),
        ),
        decision: serde_json::to_value(decision).map_err(err)?,
    });
    Ok(cases)
}
