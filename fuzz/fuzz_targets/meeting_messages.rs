//! A meeting member fed arbitrary bytes as commits (including would-be
//! external, roles-changing and self-update commits), as media frames, as a
//! roles extension and as a Welcome: never panics, never changes its epoch
//! or code from garbage, its hold for early frames stays within its bounds,
//! and a roles extension that parses encodes back to the same bytes.
#![no_main]

use std::cell::RefCell;

use callseal_core::meeting::{
    MeetingConfig, MeetingSession, MlsClient, Roles, credential_identity,
};
use callseal_core::policy::{E2eeSetting, Participant, Platform, PolicyDocument, PolicyUpdate};
use libfuzzer_sys::fuzz_target;

fn member() -> MeetingSession {
    let mut doc = PolicyDocument::new();
    doc.update_policy(
        "Global",
        PolicyUpdate {
            meeting: Some(E2eeSetting::DisabledUserOverride),
            ..Default::default()
        },
    )
    .expect("policy");
    let organizer = Participant::new("organizer", Platform::DesktopMac);
    let oc = MlsClient::new(&credential_identity(&organizer)).expect("client");
    let decision = doc.evaluate_meeting("organizer", true, &[]);
    let config = MeetingConfig::default();
    let mut session =
        MeetingSession::create(&oc, organizer, &decision, doc.clone(), config, 0).expect("create");
    let me = Participant::new("member", Platform::Android);
    let mc = MlsClient::new(&credential_identity(&me)).expect("client");
    let messages = session.add(&mc.key_package().expect("kp")).expect("add");
    session.commit_accepted(0).expect("accept");
    MeetingSession::join(&mc, me, &messages.welcome.expect("welcome"), doc, config, 0)
        .expect("join")
}

thread_local! {
    static MEMBER: RefCell<MeetingSession> = RefCell::new(member());
    static JOINER: (MlsClient, Participant) = {
        let me = Participant::new("joiner", Platform::Ios);
        let client = MlsClient::new(&credential_identity(&me)).expect("client");
        // A published key package, so a Welcome could name it.
        client.key_package().expect("kp");
        (client, me)
    };
}

fuzz_target!(|data: &[u8]| {
    MEMBER.with(|m| {
        let mut m = m.borrow_mut();
        let (epoch, code) = (m.epoch(), m.code());
        let (&selector, rest) = match data.split_first() {
            Some(split) => split,
            None => return,
        };
        match selector % 4 {
            0 => {
                let _ = m.handle_commit(rest, 0);
                assert_eq!((m.epoch(), m.code()), (epoch, code));
            }
            1 => {
                let _ = m.decrypt(rest, 0);
                let limits = MeetingConfig::default();
                assert!(m.held_frames() <= limits.max_held_frames);
            }
            2 => {
                if let Ok(roles) = Roles::from_bytes(rest) {
                    assert_eq!(roles.to_bytes(), rest);
                }
            }
            _ => JOINER.with(|(client, me)| {
                let doc = m.policy().clone();
                let joined =
                    MeetingSession::join(client, me.clone(), rest, doc, MeetingConfig::default(), 0);
                assert!(joined.is_err(), "garbage joined a meeting");
            }),
        }
    });
});
