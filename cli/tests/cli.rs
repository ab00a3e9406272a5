//! The `callseal` command-line contract, run as a real process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::{Command, Output};

fn callseal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callseal"))
        .args(args)
        .output()
        .expect("run callseal")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .trim()
        .to_string()
}

// RFC 9605 end-to-end vector for suite 0x0001 (KID 0x123, CTR 0x4567).
const KEY: &str = "000102030405060708090a0b0c0d0e0f";
const METADATA: &str = "4945544620534672616d65205747";
const PT: &str = "64726166742d696574662d736672616d652d656e63";
const CT: &str = "9901234567449408b6f490086165b9d6f62b24ae1a59a56486b4ae8ed036b88912e24f11";

#[test]
fn encrypt_matches_the_rfc_vector() {
    let o = callseal(&[
        "frame",
        "encrypt",
        "--suite",
        "1",
        "--key",
        KEY,
        "--kid",
        "291",
        "--ctr",
        "0x4567",
        "--metadata",
        METADATA,
        "--payload",
        PT,
    ]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o), CT);
}

#[test]
fn decrypt_matches_the_rfc_vector() {
    let o = callseal(&[
        "frame",
        "decrypt",
        "--suite",
        "0x0001",
        "--key",
        KEY,
        "--metadata",
        METADATA,
        "--frame",
        CT,
    ]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o), PT);
}

#[test]
fn every_suite_round_trips_through_the_cli_including_empty_payloads() {
    for suite in 1..=8 {
        let key = if suite == 5 || suite >= 6 {
            "ab".repeat(32)
        } else {
            "cd".repeat(16)
        };
        for payload in ["", "00", "ffeeddccbbaa99887766554433221100ff"] {
            let s = suite.to_string();
            let enc = callseal(&[
                "frame",
                "encrypt",
                "--suite",
                &s,
                "--key",
                &key,
                "--kid",
                "18446744073709551615",
                "--ctr",
                "7",
                "--payload",
                payload,
            ]);
            assert!(enc.status.success(), "{enc:?}");
            let frame = stdout(&enc);
            assert_eq!(frame, frame.to_lowercase());
            let dec = callseal(&[
                "frame", "decrypt", "--suite", &s, "--key", &key, "--frame", &frame,
            ]);
            assert!(dec.status.success(), "{dec:?}");
            assert_eq!(stdout(&dec), payload);
        }
    }
}

#[test]
fn failures_exit_1_with_one_line() {
    let mut tampered = CT.to_string();
    tampered.replace_range(20..21, "0");
    let cases: Vec<Vec<&str>> = vec![
        // wrong metadata
        vec![
            "frame", "decrypt", "--suite", "1", "--key", KEY, "--frame", CT,
        ],
        // tampered ciphertext
        vec![
            "frame",
            "decrypt",
            "--suite",
            "1",
            "--key",
            KEY,
            "--metadata",
            METADATA,
            "--frame",
            &tampered,
        ],
        // truncated
        vec![
            "frame", "decrypt", "--suite", "1", "--key", KEY, "--frame", "99",
        ],
        // unknown suite
        vec![
            "frame", "decrypt", "--suite", "9", "--key", KEY, "--frame", CT,
        ],
        // bad hex
        vec![
            "frame", "decrypt", "--suite", "1", "--key", KEY, "--frame", "zz",
        ],
        // empty key
        vec![
            "frame",
            "encrypt",
            "--suite",
            "1",
            "--key",
            "",
            "--kid",
            "1",
            "--ctr",
            "1",
            "--payload",
            "00",
        ],
    ];
    for args in cases {
        let o = callseal(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {o:?}");
        assert!(o.stdout.is_empty());
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: "), "{err}");
    }
}

fn call_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["demo", "call", "--json"];
    all.extend_from_slice(args);
    let o = callseal(&all);
    assert!(o.status.success(), "{o:?}");
    serde_json::from_str(&stdout(&o)).unwrap()
}

fn is_code(s: &str) -> bool {
    let groups: Vec<&str> = s.split(' ').collect();
    groups.len() == 4
        && groups
            .iter()
            .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit()))
}

#[test]
fn demo_call_json_contract() {
    let v = call_json(&["--loss", "0.2", "--rekey-every", "400", "--frames", "2000"]);
    for key in [
        "alice_code",
        "bob_code",
        "codes_match",
        "frames_sent",
        "frames_delivered",
        "frames_decrypted",
        "frames_rejected",
        "rekeys",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert!(is_code(v["alice_code"].as_str().unwrap()), "{v}");
    assert_eq!(v["alice_code"], v["bob_code"]);
    assert_eq!(v["codes_match"], true);
    assert_eq!(v["frames_sent"], 2000);
    assert_eq!(v["frames_decrypted"], v["frames_delivered"]);
    assert_eq!(v["frames_rejected"], 0);
    assert_eq!(v["rekeys"], 4);
    let delivered = v["frames_delivered"].as_u64().unwrap();
    assert!(delivered < 2000 && delivered > 1400, "{v}");
    assert_eq!(v["relay_saw_plaintext"], false);
}

#[test]
fn demo_call_mitm_makes_codes_differ_and_seeds_differ() {
    let mitm = call_json(&["--mitm", "--seed", "9"]);
    assert_eq!(mitm["codes_match"], false);
    assert_ne!(mitm["alice_code"], mitm["bob_code"]);
    let (one, two) = (call_json(&["--seed", "1"]), call_json(&["--seed", "2"]));
    assert_ne!(one["alice_code"], two["alice_code"]);
    assert_eq!(call_json(&["--seed", "1"])["alice_code"], one["alice_code"]);
    // Unseeded calls are fresh.
    assert_ne!(call_json(&[])["alice_code"], call_json(&[])["alice_code"]);
    // `callseal demo` alone runs the call.
    let o = callseal(&["demo"]);
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains("codes match"), "{}", stdout(&o));
}

#[test]
fn demo_json_contract() {
    let o = callseal(&[
        "demo",
        "frames",
        "--seed",
        "7",
        "--frames",
        "500",
        "--loss",
        "0.2",
        "--rekey-every",
        "5",
        "--json",
    ]);
    assert!(o.status.success(), "{o:?}");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["frames_sent"], 500);
    assert_eq!(v["frames_decrypted"], v["frames_delivered"]);
    assert_eq!(v["lost_to_key_changes"], 0);
    assert_eq!(v["relay_saw_plaintext"], false);
    assert!(v["frames_dropped"].as_u64().unwrap() > 0);
    assert_eq!(v["rekeys"], 99);
    // Same seed, same run.
    let again = callseal(&[
        "demo",
        "frames",
        "--seed",
        "7",
        "--frames",
        "500",
        "--loss",
        "0.2",
        "--rekey-every",
        "5",
        "--json",
    ]);
    assert_eq!(stdout(&again), stdout(&o));
}
