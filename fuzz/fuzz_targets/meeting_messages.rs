//! A meeting member fed arbitrary bytes as commits and as media frames:
//! never panics, never changes its epoch or code from garbage, and its hold
//! for early frames stays within its bounds.
#![no_main]

use std::cell::RefCell;

use callseal_core::meeting::{MeetingConfig, MeetingSession, MlsClient, credential_identity};
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
}

fuzz_target!(|data: &[u8]| {
    MEMBER.with(|m| {
        let mut m = m.borrow_mut();
        let (epoch, code) = (m.epoch(), m.code());
        let (&selector, rest) = match data.split_first() {
            Some(split) => split,
            None => return,
        };
        if selector & 1 == 0 {
            let _ = m.handle_commit(rest, 0);
            assert_eq!((m.epoch(), m.code()), (epoch, code));
        } else {
            let _ = m.decrypt(rest, 0);
            let limits = MeetingConfig::default();
            assert!(m.held_frames() <= limits.max_held_frames);
        }
    });
});
