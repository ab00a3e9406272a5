//! `callseal demo call` on protocol version 2, through the real binary: the
//! in-call DH + ML-KEM rekeys lose no frame, a receiver that fell further
//! behind the ratchet than its look-ahead recovers by a rekey within the
//! documented bound, and a man in the middle still shows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::{Command, Output};

use serde_json::Value;

fn callseal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callseal"))
        .args(args)
        .output()
        .expect("run callseal")
}

/// Runs `args`, which must succeed, and parses its JSON.
fn json(args: &[&str]) -> Value {
    let o = callseal(args);
    assert!(o.status.success(), "{args:?}: {o:?}");
    serde_json::from_slice(&o.stdout).unwrap()
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

fn is_code(s: &str) -> bool {
    let groups: Vec<&str> = s.split(' ').collect();
    groups.len() == 4
        && groups
            .iter()
            .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit()))
}

/// What every honest call shows: equal codes, protocol version 2, hybrid.
fn assert_honest_v2_call(v: &Value) {
    assert!(is_code(v["alice_code"].as_str().unwrap()), "{v}");
    assert_eq!(v["alice_code"], v["bob_code"], "{v}");
    assert_eq!(v["codes_match"], true, "{v}");
    assert_eq!(v["post_quantum"], true, "{v}");
    assert_eq!(v["protocol_version"], 2, "{v}");
    assert_eq!(v["relay_saw_plaintext"], false, "{v}");
    assert_eq!(u(v, "frames_lost_unexplained"), 0, "{v}");
    assert_eq!(u(v, "alice_epoch"), u(v, "bob_epoch"), "{v}");
}

/// Five rekey exchanges, the offerer alternating, under 20 % loss with
/// reordering: every delivered frame decrypts.
#[test]
fn dh_rekeys_lose_no_frame() {
    let v = json(&[
        "demo",
        "call",
        "--json",
        "--frames",
        "3000",
        "--loss",
        "0.2",
        "--rekey-dh-every",
        "500",
    ]);
    assert_honest_v2_call(&v);
    assert!(u(&v, "dh_rekeys") >= 5, "{v}");
    assert_eq!(u(&v, "dh_rekeys_scheduled"), 5, "{v}");
    assert_eq!(u(&v, "alice_epoch"), u(&v, "dh_rekeys"), "{v}");
    assert_eq!(u(&v, "frames_sent"), 3000);
    let delivered = u(&v, "frames_delivered");
    assert!(delivered > 2000 && delivered < 3000, "{v}");
    assert_eq!(u(&v, "frames_decrypted"), delivered, "{v}");
    assert_eq!(u(&v, "frames_lost_to_key_changes"), 0, "{v}");
    assert_eq!(u(&v, "frames_rejected"), 0, "{v}");
    assert_eq!(u(&v, "recoveries"), 0, "{v}");
    assert_eq!(u(&v, "gaps"), 0, "{v}");
    // Offer, answer, done per exchange; nothing ignored.
    assert_eq!(u(&v, "signalling_messages"), 3 * u(&v, "dh_rekeys"), "{v}");
    assert_eq!(v["signalling_ignored"], serde_json::json!({}), "{v}");
}

/// A ratchet step every frame and 90 % loss: gaps longer than the
/// receivers' 16-step look-ahead. Each one is detected, recovered from by a
/// rekey, and costs at most the frames of one recovery round trip.
#[test]
fn a_receiver_far_behind_recovers_after_every_long_gap() {
    let v = json(&[
        "demo",
        "call",
        "--json",
        "--loss",
        "0.9",
        "--rekey-every",
        "1",
        "--frames",
        "5000",
    ]);
    assert_honest_v2_call(&v);
    assert!(u(&v, "recoveries") >= 1, "{v}");
    assert!(u(&v, "dh_rekeys") >= 1, "{v}");
    assert!(u(&v, "gaps") >= 1, "{v}");
    let (delivered, decrypted) = (u(&v, "frames_delivered"), u(&v, "frames_decrypted"));
    let lost = u(&v, "frames_lost_to_key_changes");
    assert_eq!(decrypted + lost, delivered, "{v}");
    assert_eq!(u(&v, "frames_rejected"), lost, "{v}");
    // About 43 % of the delivered frames come after more than 16 ratchet
    // steps (8 lost frames in a row) and cannot be decrypted by any
    // receiver; across seeds about 55 % decrypt (49–60 %). Version 1 of the
    // demo decrypted 3 of 532.
    assert!(decrypted * 10 >= delivered * 4, "{v}");
    // 1.5 round trips of 5 frames each way plus one of reordering: the
    // peer sends 8 frames in that time.
    assert_eq!(u(&v, "signal_delay_frames"), 5);
    assert_eq!(u(&v, "frames_lost_bound_per_gap"), 8, "{v}");
    assert!(
        u(&v, "max_frames_lost_per_gap") <= u(&v, "frames_lost_bound_per_gap"),
        "{v}"
    );
}

/// The bound follows the signalling delay; without delay only the frame
/// that revealed the gap is lost.
#[test]
fn the_bound_follows_the_signalling_delay() {
    for (delay, bound) in [("0", 1), ("1", 2), ("16", 25)] {
        let v = json(&[
            "demo",
            "call",
            "--json",
            "--seed",
            "3",
            "--loss",
            "0.9",
            "--rekey-every",
            "1",
            "--frames",
            "3000",
            "--rekey-dh-every",
            "250",
            "--signal-delay-frames",
            delay,
        ]);
        assert_honest_v2_call(&v);
        assert_eq!(u(&v, "frames_lost_bound_per_gap"), bound, "{v}");
        assert!(u(&v, "max_frames_lost_per_gap") <= bound, "{v}");
        assert!(u(&v, "recoveries") >= 1, "{v}");
        assert!(u(&v, "dh_rekeys_scheduled") >= 1, "{v}");
    }
    // Longer delays than the look-ahead are refused.
    let o = callseal(&["demo", "call", "--signal-delay-frames", "17"]);
    assert!(!o.status.success(), "{o:?}");
}

/// A relay in the middle still shows: different codes, while both of its
/// calls rekey and recover.
#[test]
fn a_man_in_the_middle_still_shows_with_rekeys() {
    let v = json(&[
        "demo",
        "call",
        "--json",
        "--mitm",
        "--seed",
        "5",
        "--loss",
        "0.9",
        "--rekey-every",
        "1",
        "--frames",
        "3000",
        "--rekey-dh-every",
        "400",
    ]);
    assert_eq!(v["codes_match"], false, "{v}");
    assert_ne!(v["alice_code"], v["bob_code"], "{v}");
    assert_eq!(v["relay_saw_plaintext"], true, "{v}");
    assert_eq!(v["post_quantum"], true, "{v}");
    assert!(u(&v, "recoveries") >= 1, "{v}");
    // Both of the relay's calls run the scheduled rekeys (7 each), but for
    // those that find the offerer's recovery rekey already under way.
    let scheduled = u(&v, "dh_rekeys_scheduled");
    assert!((1..=2 * 7).contains(&scheduled), "{v}");
    // Offers that cross merge into one exchange, at worst two into one.
    assert!(
        2 * u(&v, "dh_rekeys") >= scheduled + u(&v, "recoveries"),
        "{v}"
    );
    assert!(u(&v, "max_frames_lost_per_gap") <= u(&v, "frames_lost_bound_per_gap"));
}

/// Seeded runs repeat exactly, rekeys and recoveries included; a
/// short-tag suite runs when asked for by name.
#[test]
fn seeded_runs_repeat() {
    let args = [
        "demo",
        "call",
        "--json",
        "--seed",
        "11",
        "--loss",
        "0.5",
        "--rekey-every",
        "2",
        "--rekey-dh-every",
        "97",
        "--frames",
        "2000",
        "--suite",
        "3",
    ];
    let (one, two) = (callseal(&args), callseal(&args));
    assert!(one.status.success(), "{one:?}");
    assert_eq!(one.stdout, two.stdout);
    let v: Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_honest_v2_call(&v);
    assert_eq!(u(&v, "dh_rekeys_scheduled"), 20, "{v}");
}
