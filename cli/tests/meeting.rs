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
    // Joins and leaves that meet at the server share a commit; members
    // self-update every 32 of those commits.
    assert!(u(&r, "membership_commits") >= 50, "{r}");
    assert!(u(&r, "self_updates") > 0, "{r}");
    assert!(u(&r, "epochs") >= u(&r, "membership_commits") + u(&r, "self_updates"));
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
    // Joins that reached the server together went into one commit each.
    assert!(u(&r, "initial_commits") < 49, "{r}");
    assert!(r["joins_per_initial_commit"].as_f64().unwrap() > 1.0, "{r}");
    assert!(r["admit_all_ms"].as_f64().unwrap() > 0.0, "{r}");
    // Dropped commits were caught up from the server.
    assert!(u(&r, "commits_dropped") > 0, "{r}");
    assert!(u(&r, "catch_ups") > 0, "{r}");
    // The server's forgeries were refused by every member that judged them.
    assert!(u(&r, "unauthorized_commits_refused") > 0, "{r}");
    assert_eq!(u(&r, "unauthorized_commits_accepted"), 0);
}

/// Co-organizers, the organizer leaving twice (handing over, then removed
/// by a co-organizer), self-updates, commit races, and forged commits from
/// a plain participant and an external impostor: the meeting goes on under
/// the new organizers with the same guarantees.
#[test]
fn organizers_come_and_go_and_forgeries_are_refused() {
    let r = demo(&[
        "--participants",
        "24",
        "--churn",
        "48",
        "--co-organizers",
        "2",
        "--organizer-leaves-at",
        "24",
        "--update-every",
        "8",
        "--loss",
        "0.1",
        "--seed",
        "7",
    ]);
    assert_eq!(r["codes_agree_every_epoch"], true, "{r}");
    assert_eq!(r["roles_agree_every_epoch"], true, "{r}");
    assert_eq!(u(&r, "frames_lost_in_transition"), 0, "{r}");
    assert_eq!(u(&r, "frames_decrypted_by_non_members"), 0, "{r}");
    assert_eq!(u(&r, "frames_decrypted"), u(&r, "frames_delivered"));
    // Both departures changed the organizer, and the new ones committed.
    assert!(u(&r, "organizer_changes") >= 2, "{r}");
    assert_ne!(r["final_organizer"], "organizer", "{r}");
    assert!(u(&r, "committers") >= 2, "{r}");
    assert!(u(&r, "membership_committers") >= 3, "{r}");
    // Two promotions and a hand-over at least.
    assert!(u(&r, "role_commits") >= 3, "{r}");
    assert!(u(&r, "self_updates") > 0, "{r}");
    assert!(u(&r, "commit_races_lost") > 0, "{r}");
    // Forged commits: refused, never accepted; forged Welcomes refused.
    assert!(u(&r, "unauthorized_commits_injected") >= 3, "{r}");
    assert!(u(&r, "unauthorized_commits_refused") > 0, "{r}");
    assert_eq!(u(&r, "unauthorized_commits_accepted"), 0, "{r}");
    assert!(u(&r, "forged_welcomes_refused") > 0, "{r}");
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
        // The organizer and the rogue are never promoted: 8 at most of 10.
        &["--co-organizers", "9"],
        &["--organizer-leaves-at", "5"],
        &["--co-organizers", "1", "--organizer-leaves-at", "0"],
        &["--update-every", "0"],
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
