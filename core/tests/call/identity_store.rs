//! `FileIdentityStore` under concurrent writers (processes and instances),
//! file modes and corrupt files.
//!
//! Included from `core/tests/call.rs`; the parallel-writers test re-executes
//! the test binary to get writer processes, so it also works from any other
//! test binary that includes this module.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use callseal_core::identity::{FileIdentityStore, IdentityError, IdentityStore, StoredIdentity};

/// Set in a writer process: its index.
const WRITER_ENV: &str = "CALLSEAL_TEST_IDENTITY_STORE_WRITER";
/// Set in a writer process: the store's path.
const PATH_ENV: &str = "CALLSEAL_TEST_IDENTITY_STORE_PATH";
/// Writer processes.
const WRITERS: usize = 6;
/// Peers each writer adds; every other one it then marks verified.
const PEERS_PER_WRITER: usize = 40;

/// A fresh, empty folder for one test; the store file inside it.
#[allow(clippy::unwrap_used)]
fn fresh_store_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "callseal-identity-store-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("identities.json")
}

fn remove_folder(path: &Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn peer(writer: usize, i: usize) -> String {
    format!("w{writer}-p{i}")
}

fn peer_key(writer: usize, i: usize) -> [u8; 32] {
    core::array::from_fn(|b| (writer * 61 + i * 7 + b) as u8)
}

fn is_marked_verified(i: usize) -> bool {
    i.is_multiple_of(2)
}

/// The test's name as the harness knows it (module path without the crate),
/// so that `--exact` finds it in whichever test binary includes this module.
fn this_test_name() -> String {
    let module = module_path!();
    let module = module.split_once("::").map_or(module, |(_, rest)| rest);
    format!("{module}::identity_store_parallel_writers_lose_nothing")
}

/// In a writer process: one instance, opened before the other processes
/// write, adds this writer's peers and marks every other one verified.
/// Failed writes are counted, not fatal, so that the parent can report how
/// many were lost.
#[allow(clippy::unwrap_used, clippy::panic)]
fn act_as_writer(writer: usize, path: &Path) {
    let mut store = FileIdentityStore::open(path).unwrap();
    let go = path.with_file_name("go");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !go.exists() {
        assert!(Instant::now() < deadline, "no start signal");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut failed = Vec::new();
    for i in 0..PEERS_PER_WRITER {
        let public_key = peer_key(writer, i);
        let unverified = StoredIdentity {
            public_key,
            verified: false,
        };
        if let Err(e) = store.put(&peer(writer, i), unverified) {
            failed.push(e);
        }
        if is_marked_verified(i) {
            let verified = StoredIdentity {
                public_key,
                verified: true,
            };
            if let Err(e) = store.put(&peer(writer, i), verified) {
                failed.push(e);
            }
        }
    }
    if let Some(first) = failed.first() {
        panic!(
            "writer {writer}: {} puts failed, first: {first}",
            failed.len()
        );
    }
}

#[test]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
fn identity_store_parallel_writers_lose_nothing() {
    if let (Ok(writer), Ok(path)) = (std::env::var(WRITER_ENV), std::env::var(PATH_ENV)) {
        act_as_writer(writer.parse().unwrap(), Path::new(&path));
        return;
    }
    let path = fresh_store_path("parallel");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..WRITERS)
        .map(|writer| {
            Command::new(&exe)
                .args([
                    "--exact",
                    &this_test_name(),
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(WRITER_ENV, writer.to_string())
                .env(PATH_ENV, &path)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Every writer has opened its instance (or soon will): start them at once.
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(path.with_file_name("go"), b"").unwrap();
    let mut child_failures = Vec::new();
    for (writer, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        // The harness ran exactly this test in the child, and it passed.
        if !out.status.success() || !stdout.contains("1 passed") {
            child_failures.push(format!(
                "writer {writer}: {}\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }

    let store = FileIdentityStore::open(&path).unwrap();
    let (mut missing, mut wrong_key, mut verified_lost, mut wrongly_verified) = (0, 0, 0, 0);
    for writer in 0..WRITERS {
        for i in 0..PEERS_PER_WRITER {
            match store.get(&peer(writer, i)).unwrap() {
                None => missing += 1,
                Some(e) if e.public_key != peer_key(writer, i) => wrong_key += 1,
                Some(e) if e.verified != is_marked_verified(i) => {
                    if e.verified {
                        wrongly_verified += 1;
                    } else {
                        verified_lost += 1;
                    }
                }
                Some(_) => {}
            }
        }
    }
    let total = WRITERS * PEERS_PER_WRITER;
    let marked = (0..PEERS_PER_WRITER)
        .filter(|i| is_marked_verified(*i))
        .count()
        * WRITERS;
    // Only the store, its lock and the start signal are left: no temporary
    // file.
    let mut leftovers: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    leftovers.sort();
    let summary = format!(
        "{missing} of {total} peers missing, {wrong_key} with a wrong key, {verified_lost} of \
         {marked} verified flags lost, {wrongly_verified} wrongly verified; {} of {WRITERS} \
         writer processes failed; files left: {leftovers:?}",
        child_failures.len()
    );
    eprintln!("parallel writers: {summary}");
    assert!(
        child_failures.is_empty()
            && missing + wrong_key + verified_lost + wrongly_verified == 0
            && leftovers == ["go", "identities.json", "identities.json.lock"],
        "{summary}\n{}",
        child_failures.join("\n")
    );
    remove_folder(&path);
}

#[test]
#[allow(clippy::unwrap_used)]
fn identity_store_a_second_instance_cannot_undo_mark_verified() {
    let path = fresh_store_path("undo-verified");
    let mut first = FileIdentityStore::open(&path).unwrap();
    let mut second = FileIdentityStore::open(&path).unwrap();
    let bob = StoredIdentity {
        public_key: [2; 32],
        verified: false,
    };
    first.put("bob", bob).unwrap();
    first
        .put(
            "bob",
            StoredIdentity {
                verified: true,
                ..bob
            },
        )
        .unwrap();
    // The second instance sees the first's writes ...
    assert_eq!(second.get("bob").unwrap().map(|e| e.verified), Some(true));
    // ... and its own write keeps them.
    second
        .put(
            "carol",
            StoredIdentity {
                public_key: [3; 32],
                verified: false,
            },
        )
        .unwrap();
    let reopened = FileIdentityStore::open(&path).unwrap();
    assert_eq!(
        reopened.get("bob").unwrap(),
        Some(StoredIdentity {
            public_key: [2; 32],
            verified: true
        })
    );
    assert_eq!(
        reopened.get("carol").unwrap().map(|e| e.public_key),
        Some([3; 32])
    );
    assert_eq!(
        first.get("carol").unwrap().map(|e| e.public_key),
        Some([3; 32])
    );
    remove_folder(&path);
}

#[test]
#[allow(clippy::unwrap_used)]
fn identity_store_a_second_instance_cannot_restore_a_replaced_key() {
    let path = fresh_store_path("restore-replaced");
    let mut first = FileIdentityStore::open(&path).unwrap();
    first
        .put(
            "bob",
            StoredIdentity {
                public_key: [2; 32],
                verified: true,
            },
        )
        .unwrap();
    // Opened while bob's old key is stored as verified.
    let mut second = FileIdentityStore::open(&path).unwrap();
    // Bob's key changed: the first instance replaces it, unverified.
    let replaced = StoredIdentity {
        public_key: [9; 32],
        verified: false,
    };
    first.put("bob", replaced).unwrap();
    second
        .put(
            "carol",
            StoredIdentity {
                public_key: [3; 32],
                verified: false,
            },
        )
        .unwrap();
    let reopened = FileIdentityStore::open(&path).unwrap();
    assert_eq!(reopened.get("bob").unwrap(), Some(replaced));
    assert_eq!(second.get("bob").unwrap(), Some(replaced));
    remove_folder(&path);
}

#[cfg(unix)]
#[test]
#[allow(clippy::unwrap_used)]
fn identity_store_files_are_private_on_unix() {
    use std::os::unix::fs::PermissionsExt;

    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let path = fresh_store_path("mode");
    let lock = path.with_file_name("identities.json.lock");
    let entry = StoredIdentity {
        public_key: [2; 32],
        verified: false,
    };
    let mut store = FileIdentityStore::open(&path).unwrap();
    store.put("bob", entry).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&lock), 0o600);

    // A store file an older version left readable by all becomes private
    // with the next write.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    store.put("carol", entry).unwrap();
    assert_eq!(mode(&path), 0o600);
    remove_folder(&path);
}

#[test]
#[allow(clippy::unwrap_used, clippy::panic)]
fn identity_store_corrupt_files_are_typed_errors_and_never_overwritten() {
    let path = fresh_store_path("corrupt");
    let mut store = FileIdentityStore::open(&path).unwrap();
    let entry = StoredIdentity {
        public_key: [2; 32],
        verified: true,
    };
    store.put("bob", entry).unwrap();
    let key = "02".repeat(32);
    for text in [
        "{ not json".to_owned(),
        String::new(),
        "null".to_owned(),
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".repeat(100),
        format!(
            "{{\"bob\": {{\"key\": \"{key}\", \"verified\": true}}, \"bob\": {{\"key\": \"{key}\", \"verified\": false}}}}"
        ),
        format!("{{\"bob\": {{\"key\": \"{key}\", \"verified\": true, \"extra\": 1}}}}"),
        format!("{{\"bob\": {{\"key\": \"{key}\", \"verified\": true}}}} trailing"),
    ] {
        std::fs::write(&path, &text).unwrap();
        let what = text.chars().take(60).collect::<String>();
        assert!(
            matches!(
                FileIdentityStore::open(&path),
                Err(IdentityError::Corrupt(_))
            ),
            "{what}"
        );
        assert!(
            matches!(store.get("bob"), Err(IdentityError::Corrupt(_))),
            "{what}"
        );
        // An instance opened before the damage neither overwrites it nor
        // half-writes anything.
        assert!(
            matches!(store.put("carol", entry), Err(IdentityError::Corrupt(_))),
            "{what}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
    std::fs::write(
        &path,
        format!(
            "{{\"bob\": {{\"key\": \"{}\", \"verified\": true}}}}",
            "é".repeat(32)
        ),
    )
    .unwrap();
    match FileIdentityStore::open(&path) {
        Err(IdentityError::InvalidKey) => {}
        other => panic!("{other:?}"),
    }
    remove_folder(&path);
}

#[test]
#[allow(clippy::unwrap_used)]
fn identity_store_loads_many_peers() {
    let path = fresh_store_path("many");
    let peers: usize = 20_000;
    let entries: BTreeMap<String, serde_like::Entry> = (0..peers)
        .map(|i| {
            (
                format!("peer-{i}"),
                serde_like::Entry {
                    key: format!("{:064x}", i),
                    verified: i.is_multiple_of(3),
                },
            )
        })
        .collect();
    std::fs::write(&path, serde_like::to_json(&entries)).unwrap();
    let started = Instant::now();
    let mut store = FileIdentityStore::open(&path).unwrap();
    let last = store.get(&format!("peer-{}", peers - 1)).unwrap().unwrap();
    assert_eq!(last.verified, (peers - 1).is_multiple_of(3));
    store
        .put(
            "new",
            StoredIdentity {
                public_key: [1; 32],
                verified: false,
            },
        )
        .unwrap();
    assert_eq!(
        FileIdentityStore::open(&path)
            .unwrap()
            .get("peer-0")
            .unwrap()
            .map(|e| e.verified),
        Some(true)
    );
    // Linear (or n log n) work: well under a second on any machine; a
    // quadratic load of 20,000 entries would take minutes.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    remove_folder(&path);
}

/// Writes a store file by hand (std only), as another program might.
mod serde_like {
    use std::collections::BTreeMap;
    use std::fmt::Write;

    pub(super) struct Entry {
        pub(super) key: String,
        pub(super) verified: bool,
    }

    pub(super) fn to_json(entries: &BTreeMap<String, Entry>) -> String {
        let mut out = String::from("{");
        for (i, (peer, e)) in entries.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(
                out,
                "{sep}\n  \"{peer}\": {{\"key\": \"{}\", \"verified\": {}}}",
                e.key, e.verified
            );
        }
        out.push_str("\n}\n");
        out
    }
}
