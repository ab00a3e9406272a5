//! `callseal demo meeting`: the scenario through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::Command;

use serde_json::Value;

fn demo(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_callseal"))
        .args(["demo", "meeting", "--json"])
        .args(args)
        .output()
        .expect("run callseal");
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// 50 members, 100 joins and leaves, 10% loss with reordering and 200 ms of
/// jitter, commits late, duplicated and out of order: no frame lost in
/// transition, none decrypted by a non-member, codes agree in every epoch.
#[test]
fn fifty_members_a_hundred_changes_lose_no_frame() {
    let r = demo(&[
        "--participants",
        "50",
        "--churn",
        "100",
        "--loss",
        "0.1",
        "--seed",
        "7",
    ]);
    assert!(u(&r, "epochs") >= 100, "{r}");
    assert_eq!(r["codes_agree_every_epoch"], true);
    assert_eq!(u(&r, "frames_lost_in_transition"), 0);
    assert_eq!(u(&r, "frames_decrypted_by_non_members"), 0);
    assert!(u(&r, "frames_delivered") > 100_000, "{r}");
    assert_eq!(u(&r, "frames_decrypted"), u(&r, "frames_delivered"));
    // The run did exercise what it claims to.
    assert!(u(&r, "frames_held_then_released") > 0, "{r}");
    assert!(u(&r, "duplicate_commits_refused") > 0, "{r}");
    assert!(u(&r, "commits_held_for_gaps") > 0, "{r}");
    assert!(r["max_commit_ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn small_meetings_with_every_suite() {
    for suite in ["1", "4", "5", "8"] {
        let r = demo(&[
            "--participants",
            "4",
            "--churn",
            "6",
            "--loss",
            "0.2",
            "--seed",
            "3",
            "--suite",
            suite,
        ]);
        assert_eq!(u(&r, "frames_lost_in_transition"), 0, "{suite}: {r}");
        assert_eq!(u(&r, "frames_decrypted"), u(&r, "frames_delivered"));
    }
}

#[test]
fn bad_arguments_are_refused() {
    for args in [
        &["--participants", "0"][..],
        &["--participants", "201"],
        &["--loss", "1.5"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_callseal"))
            .args(["demo", "meeting"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("error:"));
    }
}
