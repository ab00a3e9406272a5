//! The `callseal policy` contract (docs/POLICY.md), run as a real process
//! against real store files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

#[path = "policy/signed.rs"]
mod signed;

/// A fresh store folder per test.
struct Store {
    dir: PathBuf,
    path: PathBuf,
}

impl Store {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("callseal-cli-policy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policies.json");
        Self { dir, path }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut full = vec!["policy", "--store", self.path.to_str().unwrap()];
        full.extend_from_slice(args);
        callseal(&full, None)
    }

    /// Runs and asserts success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?}: {o:?}");
        String::from_utf8(o.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn callseal(args: &[&str], config_home: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callseal"));
    cmd.args(args);
    if let Some(home) = config_home {
        cmd.env("XDG_CONFIG_HOME", home);
    }
    cmd.output().expect("run callseal")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Alice and Bob in a pilot group whose policy allows E2EE calls and meetings.
fn pilot(store: &Store) {
    store.ok(&[
        "new",
        "--identity",
        "Pilot",
        "--calling",
        "DisabledUserOverride",
        "--meeting",
        "DisabledUserOverride",
        "--description",
        "pilot users",
    ]);
    store.ok(&[
        "grant", "--policy", "Pilot", "--group", "pilot", "--rank", "1",
    ]);
    for user in ["alice", "bob"] {
        store.ok(&[
            "user",
            "--user",
            user,
            "--groups",
            "pilot",
            "--e2ee-calls",
            "on",
        ]);
    }
}

#[test]
fn a_new_store_holds_only_global_disabled() {
    let store = Store::new("fresh");
    let all = store.json(&["get", "--json"]);
    assert_eq!(
        all,
        serde_json::json!([{
            "Identity": "Global",
            "CallingEndtoEndEncryptionEnabledType": "Disabled",
            "MeetingEndToEndEncryption": "Disabled",
            "Description": ""
        }])
    );
    let text = store.ok(&["get", "--identity", "Global"]);
    assert!(
        text.contains("CallingEndtoEndEncryptionEnabledType : Disabled"),
        "{text}"
    );
    // Reading does not create the file.
    assert!(!store.path.exists());
}

#[test]
fn new_set_get_remove() {
    let store = Store::new("crud");
    store.ok(&["new", "--identity", "Pilot", "--description", "first"]);
    let p = store.json(&["get", "--identity", "Pilot", "--json"]);
    assert_eq!(p["CallingEndtoEndEncryptionEnabledType"], "Disabled");
    assert_eq!(p["Description"], "first");
    store.ok(&[
        "set",
        "--identity",
        "Pilot",
        "--meeting",
        "DisabledUserOverride",
    ]);
    let p = store.json(&["get", "--identity", "Pilot", "--json"]);
    assert_eq!(p["MeetingEndToEndEncryption"], "DisabledUserOverride");
    assert_eq!(p["Description"], "first", "unset fields are kept");
    store.ok(&[
        "set",
        "--identity",
        "Global",
        "--calling",
        "DisabledUserOverride",
    ]);
    assert_eq!(
        store.json(&["get", "--identity", "Global", "--json"])["CallingEndtoEndEncryptionEnabledType"],
        "DisabledUserOverride"
    );
    assert!(
        store
            .ok(&["remove", "--identity", "Pilot"])
            .contains("removed")
    );
    assert_eq!(store.json(&["get", "--json"]).as_array().unwrap().len(), 1);
}

#[test]
fn refusals_exit_1_with_one_clear_line() {
    let store = Store::new("refusals");
    store.ok(&["new", "--identity", "Pilot"]);
    store.ok(&["grant", "--policy", "Pilot", "--user", "alice"]);
    let cases: [(&[&str], &str); 8] = [
        (
            &["remove", "--identity", "Global"],
            "Global policy cannot be removed",
        ),
        (&["get", "--identity", "Nope"], "no policy named \"Nope\""),
        (
            &["set", "--identity", "Nope", "--calling", "Disabled"],
            "no policy named",
        ),
        (&["remove", "--identity", "Nope"], "no policy named"),
        (
            &["grant", "--policy", "Nope", "--user", "bob"],
            "no policy named",
        ),
        (&["new", "--identity", "Pilot"], "exists already"),
        (&["new", "--identity", "global"], "reserved"),
        (
            &["remove", "--identity", "Pilot"],
            "still granted to user \"alice\"",
        ),
    ];
    for (args, expect) in cases {
        let o = store.run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {o:?}");
        let err = stderr(&o);
        assert!(
            err.starts_with("error: ") && err.contains(expect),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

#[test]
fn invalid_values_exit_2_and_list_the_allowed_ones() {
    let store = Store::new("invalid");
    let cases: [(&[&str], &str); 6] = [
        (
            &["new", "--identity", "X", "--calling", "Enabled"],
            "Disabled, DisabledUserOverride",
        ),
        (
            &["new", "--identity", "X", "--meeting", "on"],
            "Disabled, DisabledUserOverride",
        ),
        (&["user", "--user", "a", "--e2ee-calls", "yes"], "on, off"),
        (
            &["user", "--user", "a", "--compliance-recording", "1"],
            "on, off",
        ),
        (
            &[
                "evaluate",
                "meeting",
                "--organizer",
                "o",
                "--e2ee",
                "on",
                "--participant",
                "a:linux",
            ],
            "desktop-windows, desktop-mac, ios, android, web, vdi, cvi, rooms-windows, rooms-android, surface-hub",
        ),
        (
            &["evaluate", "meeting", "--organizer", "o", "--e2ee", "maybe"],
            "on, off",
        ),
    ];
    for (args, allowed) in cases {
        let o = store.run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {o:?}");
        assert!(stderr(&o).contains(allowed), "{args:?}: {}", stderr(&o));
    }
    // Usage errors exit 2 too.
    for args in [
        &["grant", "--policy", "Global", "--group", "g"][..],
        &["grant", "--policy", "Global"],
        &["grant", "--user", "a"],
        &["grant", "--unassign", "--global"],
        &[
            "grant", "--policy", "Global", "--user", "a", "--group", "g", "--rank", "1",
        ],
    ] {
        assert_eq!(store.run(args).status.code(), Some(2), "{args:?}");
    }
    assert!(!store.path.exists(), "nothing was written");
}

#[test]
fn grants_resolve_direct_then_group_rank_then_tenant() {
    let store = Store::new("grants");
    for name in ["Direct", "High", "Low", "Tenant"] {
        store.ok(&["new", "--identity", name]);
    }
    store.ok(&[
        "grant", "--policy", "High", "--group", "high", "--rank", "1",
    ]);
    store.ok(&["grant", "--policy", "Low", "--group", "low", "--rank", "2"]);
    let o = store.run(&[
        "grant", "--policy", "Low", "--group", "other", "--rank", "1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("rank 1 is already held by group \"high\""));
    store.ok(&["user", "--user", "u", "--groups", "low,high"]);
    let effective = |store: &Store| store.json(&["user", "--user", "u", "--json"]);
    assert_eq!(effective(&store)["effective_policy"], "High");
    store.ok(&["grant", "--policy", "Direct", "--user", "u"]);
    assert_eq!(effective(&store)["effective_policy"], "Direct");
    assert_eq!(effective(&store)["policy_source"], "direct");
    store.ok(&["grant", "--unassign", "--user", "u"]);
    store.ok(&["grant", "--unassign", "--group", "high"]);
    assert_eq!(effective(&store)["effective_policy"], "Low");
    store.ok(&["user", "--user", "u", "--groups", ""]);
    assert_eq!(effective(&store)["effective_policy"], "Global");
    store.ok(&["grant", "--policy", "Tenant", "--global"]);
    assert_eq!(effective(&store)["effective_policy"], "Tenant");
    assert_eq!(effective(&store)["policy_source"], "tenant");
    let out = store.ok(&["grant", "--unassign", "--user", "nobody"]);
    assert!(out.contains("had no direct policy"), "{out}");
}

#[test]
fn evaluate_call_follows_the_contract() {
    let store = Store::new("call");
    let eval = |store: &Store| {
        store.json(&[
            "evaluate", "call", "--caller", "alice", "--callee", "bob", "--json",
        ])
    };
    let d = eval(&store);
    assert_eq!(d["e2ee"], false);
    assert_eq!(d["reason"], "policy-disabled");
    assert_eq!(d["unavailable_features"], serde_json::json!([]));
    pilot(&store);
    let d = eval(&store);
    assert_eq!(d["e2ee"], true, "{d}");
    assert_eq!(d["reason"], "ok");
    assert_eq!(d["unavailable_features"].as_array().unwrap().len(), 9);
    assert_eq!(
        d["not_end_to_end_encrypted"],
        serde_json::json!(["chat", "reactions"])
    );
    store.ok(&["user", "--user", "bob", "--e2ee-calls", "off"]);
    assert_eq!(eval(&store)["reason"], "user-setting-off");
    store.ok(&[
        "user",
        "--user",
        "bob",
        "--e2ee-calls",
        "on",
        "--compliance-recording",
        "on",
    ]);
    assert_eq!(eval(&store)["reason"], "compliance-recording");
    // Symmetric.
    let back = store.json(&[
        "evaluate", "call", "--caller", "bob", "--callee", "alice", "--json",
    ]);
    assert_eq!(back, eval(&store));
    // The text form names the reason too.
    let text = store.ok(&["evaluate", "call", "--caller", "alice", "--callee", "bob"]);
    assert!(
        text.contains("e2ee: no") && text.contains("compliance-recording"),
        "{text}"
    );
}

#[test]
fn evaluate_meeting_follows_the_contract() {
    let store = Store::new("meeting");
    pilot(&store);
    store.ok(&["user", "--user", "rec", "--compliance-recording", "on"]);
    let d = store.json(&[
        "evaluate",
        "meeting",
        "--organizer",
        "alice",
        "--e2ee",
        "on",
        "--participant",
        "alice:desktop-mac",
        "--participant",
        "bob",
        "--participant",
        "carol:web",
        "--participant",
        "rec:ios",
        "--participant",
        "dan:surface-hub",
        "--json",
    ]);
    assert_eq!(d["e2ee"], true);
    assert_eq!(d["reason"], "ok");
    assert_eq!(d["admitted"], serde_json::json!(["alice", "bob"]));
    assert_eq!(
        d["refused"],
        serde_json::json!([
            {"user": "carol", "reason": "unsupported-platform"},
            {"user": "rec", "reason": "compliance-recording"},
            {"user": "dan", "reason": "unsupported-platform"}
        ])
    );
    assert_eq!(d["unavailable_features"].as_array().unwrap().len(), 9);
    assert_eq!(
        d["not_end_to_end_encrypted"],
        serde_json::json!(["chat", "reactions", "q-and-a"])
    );

    let off = store.json(&[
        "evaluate",
        "meeting",
        "--organizer",
        "alice",
        "--e2ee",
        "off",
        "--participant",
        "carol:web",
        "--json",
    ]);
    assert_eq!(off["reason"], "organizer-setting-off");
    assert_eq!(off["admitted"], serde_json::json!(["carol"]));
    let disabled = store.json(&[
        "evaluate",
        "meeting",
        "--organizer",
        "zed",
        "--e2ee",
        "on",
        "--json",
    ]);
    assert_eq!(disabled["reason"], "policy-disabled");

    let mut args = vec![
        "evaluate",
        "meeting",
        "--organizer",
        "alice",
        "--e2ee",
        "on",
        "--json",
    ];
    let names: Vec<String> = (0..201).map(|i| format!("p{i}:android")).collect();
    for name in &names {
        args.extend(["--participant", name]);
    }
    let full = store.json(&args);
    assert_eq!(full["admitted"].as_array().unwrap().len(), 200);
    assert_eq!(
        full["refused"],
        serde_json::json!([{"user": "p200", "reason": "meeting-full"}])
    );
}

#[test]
fn a_corrupt_store_is_a_clear_error_and_is_never_overwritten() {
    let store = Store::new("corrupt");
    let junk = b"{\"version\": 1, \"policies\": [ oops";
    std::fs::write(&store.path, junk).unwrap();
    for args in [
        &["get"][..],
        &["new", "--identity", "X"],
        &["user", "--user", "a", "--e2ee-calls", "on"],
        &["evaluate", "call", "--caller", "a", "--callee", "b"],
    ] {
        let o = store.run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains("corrupt"), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(&store.path).unwrap(), junk);
}

#[test]
fn the_default_store_lives_in_the_config_folder() {
    let store = Store::new("default");
    let o = callseal(&["policy", "new", "--identity", "Mine"], Some(&store.dir));
    assert!(o.status.success(), "{o:?}");
    let written = std::fs::read_to_string(store.dir.join("callseal/policies.json")).unwrap();
    assert!(written.contains("\"Identity\": \"Mine\""), "{written}");
}

#[test]
fn parallel_writers_lose_no_update() {
    let store = Store::new("parallel");
    let children: Vec<_> = (0..12)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_callseal"))
                .args(["policy", "--store", store.path.to_str().unwrap()])
                .args(["user", "--user", &format!("user{i}"), "--e2ee-calls", "on"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    for i in 0..12 {
        let u = store.json(&["user", "--user", &format!("user{i}"), "--json"]);
        assert_eq!(u["e2ee_calls"], true, "user{i} lost: {u}");
    }
    // The written store is a valid document the library reads back.
    let text = std::fs::read(&store.path).unwrap();
    callseal_core::policy::PolicyDocument::from_json(&text).unwrap();
}

/// The reproduction: a user put under compliance recording as
/// `Bob@Corp.com` is the participant `bob@corp.com`, and is refused from an
/// end-to-end encrypted meeting.
#[test]
fn user_ids_are_canonical_across_commands() {
    let store = Store::new("canonical");
    pilot(&store);
    let out = store.ok(&[
        "user",
        "--user",
        "Bob@Corp.com",
        "--compliance-recording",
        "on",
    ]);
    assert!(out.contains("user: bob@corp.com"), "{out}");
    let d = store.json(&[
        "evaluate",
        "meeting",
        "--organizer",
        "alice",
        "--e2ee",
        "on",
        "--participant",
        "bob@corp.com",
        "--json",
    ]);
    assert_eq!(d["e2ee"], true, "{d}");
    assert_eq!(d["admitted"], serde_json::json!([]), "{d}");
    assert_eq!(
        d["refused"],
        serde_json::json!([{"user": "bob@corp.com", "reason": "compliance-recording"}])
    );
    // Invisible and bidi characters are refused: as a participant (a usage
    // error, 2) and as a user to change (1).
    for bad in ["bob\u{200b}@corp.com", "bob@corp.com\u{202e}"] {
        let participant = format!("{bad}:ios");
        let o = store.run(&[
            "evaluate",
            "meeting",
            "--organizer",
            "alice",
            "--e2ee",
            "on",
            "--participant",
            &participant,
        ]);
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        let o = store.run(&["user", "--user", bad, "--e2ee-calls", "on"]);
        assert_eq!(o.status.code(), Some(1), "{o:?}");
        assert!(stderr(&o).contains("invisible"), "{}", stderr(&o));
    }
}

#[test]
fn near_duplicate_ids_get_a_warning() {
    let store = Store::new("near-duplicates");
    store.ok(&[
        "user",
        "--user",
        "bob.smith@corp.com",
        "--groups",
        "sales-emea",
    ]);
    let o = store.run(&["user", "--user", "bobsmith@corp.com", "--e2ee-calls", "on"]);
    assert!(o.status.success(), "{o:?}");
    let err = stderr(&o);
    assert!(
        err.contains("warning: user \"bobsmith@corp.com\" looks like the existing user \"bob.smith@corp.com\""),
        "{err}"
    );
    let o = store.run(&[
        "grant",
        "--policy",
        "Global",
        "--group",
        "sales_emea",
        "--rank",
        "1",
    ]);
    assert!(o.status.success(), "{o:?}");
    assert!(stderr(&o).contains("\"sales-emea\""), "{}", stderr(&o));
    // The same id in another letter case is the same user: no warning.
    let o = store.run(&["user", "--user", "Bob.Smith@Corp.com", "--e2ee-calls", "on"]);
    assert!(o.status.success());
    assert_eq!(stderr(&o), "");
}

#[test]
fn rank_0_and_bad_descriptions_are_refused() {
    let store = Store::new("rank0");
    let o = store.run(&["grant", "--policy", "Global", "--group", "g", "--rank", "0"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    for bad in ["two\nlines", "evil\u{202e}fdp.exe"] {
        let o = store.run(&["new", "--identity", "P", "--description", bad]);
        assert_eq!(o.status.code(), Some(1), "{o:?}");
        let err = stderr(&o);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("invalid description"), "{err}");
    }
    assert!(!store.path.exists(), "nothing was written");
}

#[test]
fn list_prints_every_policy_and_grant() {
    let store = Store::new("list");
    pilot(&store);
    store.ok(&["new", "--identity", "Tenant", "--description", "everyone"]);
    store.ok(&["grant", "--policy", "Tenant", "--global"]);
    store.ok(&["grant", "--policy", "Pilot", "--user", "Carol"]);
    store.ok(&[
        "grant",
        "--policy",
        "Global",
        "--group",
        "Contractors",
        "--rank",
        "5",
    ]);
    let v = store.json(&["list", "--json"]);
    assert_eq!(
        v,
        serde_json::json!({
            "policies": [
                {"Identity": "Global", "CallingEndtoEndEncryptionEnabledType": "Disabled",
                 "MeetingEndToEndEncryption": "Disabled", "Description": ""},
                {"Identity": "Pilot", "CallingEndtoEndEncryptionEnabledType": "DisabledUserOverride",
                 "MeetingEndToEndEncryption": "DisabledUserOverride", "Description": "pilot users"},
                {"Identity": "Tenant", "CallingEndtoEndEncryptionEnabledType": "Disabled",
                 "MeetingEndToEndEncryption": "Disabled", "Description": "everyone"}
            ],
            "tenant_policy": "Tenant",
            "user_policies": [{"user": "carol", "policy": "Pilot"}],
            "group_policies": [
                {"group": "pilot", "policy": "Pilot", "rank": 1},
                {"group": "contractors", "policy": "Global", "rank": 5}
            ]
        })
    );
    let text = store.ok(&["list"]);
    for line in [
        "Identity                             : Pilot",
        "Description                          : pilot users",
        "Description                          : everyone",
        "tenant: Tenant",
        "user carol: Pilot",
        "group pilot (rank 1): Pilot",
        "group contractors (rank 5): Global",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing from\n{text}"
        );
    }
    // A fresh store lists Global and the tenant's default.
    let fresh = Store::new("list-fresh");
    let v = fresh.json(&["list", "--json"]);
    assert_eq!(v["tenant_policy"], "Global");
    assert_eq!(v["user_policies"], serde_json::json!([]));
    assert_eq!(v["group_policies"], serde_json::json!([]));
}
