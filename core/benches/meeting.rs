#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Meetings at scale: MLS commits, Welcomes and per-member memory at 10, 50,
//! 200 and 1,000 members (BENCHMARKS.md, "Meetings at scale").
//!
//! Every size is built once, outside the timing, the same way at every size:
//! the organizer (`user0`, leaf 0) creates the group and adds the other
//! `N - 1` members in one commit, at the [`MlsGroup`] trait level
//! (`MeetingSession::add` admits one member per commit and refuses beyond
//! the 200-participant cap; the MLS work measured here does not depend on
//! how the group was filled, because only the organizer ever commits, so its
//! copath stays blank and every path it sends is encrypted to all other
//! leaves). `user1` (leaf 1) joins from that Welcome and is the member that
//! processes commits. Then, at epoch 1 and not applied, the organizer
//! prepares the two commits members process: adding `user{N}` (with its
//! Welcome) and removing leaf `N - 1`.
//!
//! Groups `mls/*` time `MlsRsGroup` through the `MlsGroup` trait (the MLS
//! cost alone); groups `session/*` time `MeetingSession`, which adds the
//! policy checks, the rollback snapshot of the group, and the RFC 9605 §5.2
//! epoch key install (one exporter call, then one SFrame receiver key per
//! member, the sender key and the meeting code). The parameter is `N`, the
//! number of members before the commit.
//!
//! | group | timed | setup (untimed) |
//! |---|---|---|
//! | `mls/commit_add` | organizer `commit([key package], [])` | clone of the organizer's group |
//! | `mls/commit_remove` | organizer `commit([], [N - 1])` | clone of the organizer's group |
//! | `mls/process_add`, `mls/process_remove` | member `process_commit` | clone of the member's group |
//! | `mls/welcome` | `MlsClient::join_group` of the add's Welcome | none (the key package stays usable) |
//! | `mls/clone` | `MlsRsGroup::clone` of the member's group | none |
//! | `session/add` (N ≤ 50) | organizer `MeetingSession::add` | a session over a clone of the organizer's group |
//! | `session/remove` | organizer `MeetingSession::remove("user{N-1}")` | same |
//! | `session/process_add` (N ≤ 50), `session/process_remove` | member `handle_commit` | a session over a clone of the member's group |
//! | `session/join` | `MeetingSession::join` of the add's Welcome | a copy of the policy document |
//! | `session/install_epoch` | `MeetingSession::with_group`: the epoch key install | clone of the member's group |
//!
//! The prepared commit and every output are dropped outside the timing
//! (`iter_batched`, `BatchSize::LargeInput`). `session/add` and
//! `session/process_add` stop at 50: at 200 members the policy cap refuses
//! the 201st (`MeetingFull`), as it should.
//!
//! Memory cannot be measured by criterion, and `unsafe_code` is forbidden
//! (no counting global allocator), so before the timings the benchmark runs
//! itself once per size and kind as a child process (`--memory-child N
//! KIND`). The child builds the size, makes `K = max(10000 / N, 16)`
//! warm-up copies of one member's state, reads `VmRSS`, makes `K` more,
//! reads it again, makes `K` more and reads it a third time, keeping every
//! copy alive. The two `K`-slopes are the resident bytes of one copy; the
//! warm-up copies absorb the memory the allocator kept free from building,
//! and two equal slopes show that they did. KIND `group` copies the
//! member's `MlsRsGroup` (clone); KIND `session` builds a `MeetingSession`
//! over a clone (the group plus one epoch of receiver keys); KIND
//! `committed` is that session after it applied the remove commit, which
//! keeps the previous epoch's receiver keys for the grace time (the peak).
//! Under `cargo test --benches` (criterion's test mode) only 10 members run
//! and no memory is measured.

use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use callseal_core::meeting::{
    CommitMessages, MeetingConfig, MeetingSession, MlsClient, MlsGroup, MlsRsGroup,
    credential_identity,
};
use callseal_core::policy::{E2eeSetting, Participant, Platform, PolicyDocument, PolicyUpdate};
use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode};

const SIZES: [usize; 4] = [10, 50, 200, 1_000];
/// The largest `N` at which the policy still admits one more member.
const MAX_ADD: usize = 50;
/// The argument that makes this binary a memory-measuring child.
const MEMORY_CHILD: &str = "--memory-child";

fn participant(i: usize) -> Participant {
    Participant::new(format!("user{i}"), Platform::DesktopMac)
}

fn client(i: usize) -> MlsClient {
    MlsClient::new(&credential_identity(&participant(i))).unwrap()
}

/// Allows end-to-end encrypted meetings, as an organizer's tenant must.
fn policy() -> PolicyDocument {
    let mut policy = PolicyDocument::new();
    policy
        .update_policy(
            "Global",
            PolicyUpdate {
                meeting: Some(E2eeSetting::DisabledUserOverride),
                ..Default::default()
            },
        )
        .unwrap();
    policy
}

/// One group size, built once.
struct Fixture {
    n: usize,
    policy: PolicyDocument,
    /// The organizer's group: leaf 0, epoch 1, `n` members, nothing pending.
    organizer: MlsRsGroup,
    /// Leaf 1's group, same epoch.
    member: MlsRsGroup,
    /// `user{n}`, whose key package `add` adds.
    joiner: MlsClient,
    joiner_key_package: Vec<u8>,
    /// The organizer's commit adding `joiner` at epoch 1, with its Welcome.
    add: CommitMessages,
    /// The organizer's commit removing leaf `n - 1` at epoch 1.
    remove: CommitMessages,
}

impl Fixture {
    fn build(n: usize) -> Self {
        let mut organizer = client(0).create_group().unwrap();
        let member_client = client(1);
        let mut key_packages = vec![member_client.key_package().unwrap()];
        key_packages.extend((2..n).map(|i| client(i).key_package().unwrap()));
        let fill = organizer.commit(&key_packages, &[]).unwrap();
        organizer.apply_pending_commit().unwrap();
        drop(key_packages);
        let member = member_client
            .join_group(fill.welcome.as_deref().unwrap())
            .unwrap();
        assert_eq!(organizer.members().len(), n);
        assert_eq!((member.own_index(), member.epoch()), (1, 1));

        let joiner = client(n);
        let joiner_key_package = joiner.key_package().unwrap();
        let add = organizer
            .commit(std::slice::from_ref(&joiner_key_package), &[])
            .unwrap();
        organizer.discard_pending_commit();
        let remove = organizer.commit(&[], &[n as u32 - 1]).unwrap();
        organizer.discard_pending_commit();
        assert!(add.welcome.is_some() && !organizer.has_pending_commit());

        let fixture = Self {
            n,
            policy: policy(),
            organizer,
            member,
            joiner,
            joiner_key_package,
            add,
            remove,
        };
        fixture.check();
        fixture
    }

    /// The prepared messages do what the benchmarks say, once, untimed.
    fn check(&self) {
        let n = self.n;
        let mut m = self.member.clone();
        assert_eq!(m.process_commit(&self.add.commit).unwrap().added.len(), 1);
        assert_eq!(m.members().len(), n + 1);
        let mut m = self.member.clone();
        assert_eq!(
            m.process_commit(&self.remove.commit).unwrap().removed,
            [n as u32 - 1]
        );
        let joined = self.joiner.join_group(self.welcome()).unwrap();
        assert_eq!((joined.own_index(), joined.epoch()), (n as u32, 2));

        let mut s = self.member_session();
        let change = s.handle_commit(&self.remove.commit, 1).unwrap();
        assert_eq!(change.len(), 1);
        let mut o = self.organizer_session();
        o.remove(&format!("user{}", n - 1)).unwrap();
        if n <= MAX_ADD {
            let mut s = self.member_session();
            assert_eq!(s.handle_commit(&self.add.commit, 1).unwrap().len(), 1);
            let mut o = self.organizer_session();
            o.add(&self.joiner_key_package).unwrap();
        }
    }

    fn welcome(&self) -> &[u8] {
        self.add.welcome.as_deref().unwrap()
    }

    fn session(group: MlsRsGroup, who: usize, policy: PolicyDocument) -> MeetingSession {
        MeetingSession::with_group(group, participant(who), policy, MeetingConfig::default(), 0)
            .unwrap()
    }

    fn member_session(&self) -> MeetingSession {
        Self::session(self.member.clone(), 1, self.policy.clone())
    }

    fn organizer_session(&self) -> MeetingSession {
        Self::session(self.organizer.clone(), 0, self.policy.clone())
    }
}

// ---------------------------------------------------------------- timings

/// Times `routine` on inputs made by `setup`, outside the timing, as
/// `{group}/{n}`.
fn batched<I, O>(
    c: &mut Criterion,
    group: &str,
    n: usize,
    mut setup: impl FnMut() -> I,
    mut routine: impl FnMut(I) -> O,
) {
    let mut g = c.benchmark_group(group);
    // Equal samples: the slow sizes get one iteration per sample.
    g.sampling_mode(SamplingMode::Flat);
    if n >= 1_000 {
        // Ten removes of 1,000 members take about 2.2 s.
        g.measurement_time(Duration::from_secs(3));
    }
    g.bench_function(BenchmarkId::from_parameter(n), |b| {
        b.iter_batched(&mut setup, &mut routine, BatchSize::LargeInput)
    });
    g.finish();
}

fn bench_mls(c: &mut Criterion, f: &Fixture) {
    let n = f.n;
    batched(
        c,
        "mls/commit_add",
        n,
        || f.organizer.clone(),
        |mut g| {
            let out = g.commit(std::slice::from_ref(&f.joiner_key_package), &[]);
            (g, out.unwrap())
        },
    );
    batched(
        c,
        "mls/commit_remove",
        n,
        || f.organizer.clone(),
        |mut g| {
            let out = g.commit(&[], &[n as u32 - 1]);
            (g, out.unwrap())
        },
    );
    batched(
        c,
        "mls/process_add",
        n,
        || f.member.clone(),
        |mut g| {
            let out = g.process_commit(black_box(&f.add.commit));
            (g, out.unwrap())
        },
    );
    batched(
        c,
        "mls/process_remove",
        n,
        || f.member.clone(),
        |mut g| {
            let out = g.process_commit(black_box(&f.remove.commit));
            (g, out.unwrap())
        },
    );
    batched(
        c,
        "mls/welcome",
        n,
        || (),
        |()| f.joiner.join_group(black_box(f.welcome())).unwrap(),
    );
    batched(c, "mls/clone", n, || (), |()| black_box(&f.member).clone());
}

fn bench_session(c: &mut Criterion, f: &Fixture) {
    let n = f.n;
    let removed = format!("user{}", n - 1);
    if n <= MAX_ADD {
        batched(
            c,
            "session/add",
            n,
            || f.organizer_session(),
            |mut s| {
                let out = s.add(black_box(&f.joiner_key_package));
                (s, out.unwrap())
            },
        );
    }
    batched(
        c,
        "session/remove",
        n,
        || f.organizer_session(),
        |mut s| {
            let out = s.remove(black_box(&removed));
            (s, out.unwrap())
        },
    );
    if n <= MAX_ADD {
        batched(
            c,
            "session/process_add",
            n,
            || f.member_session(),
            |mut s| {
                let out = s.handle_commit(black_box(&f.add.commit), 1);
                (s, out.unwrap())
            },
        );
    }
    batched(
        c,
        "session/process_remove",
        n,
        || f.member_session(),
        |mut s| {
            let out = s.handle_commit(black_box(&f.remove.commit), 1);
            (s, out.unwrap())
        },
    );
    batched(
        c,
        "session/join",
        n,
        || f.policy.clone(),
        |policy| {
            MeetingSession::join(
                &f.joiner,
                participant(n),
                black_box(f.welcome()),
                policy,
                MeetingConfig::default(),
                0,
            )
            .unwrap()
        },
    );
    batched(
        c,
        "session/install_epoch",
        n,
        || (f.member.clone(), f.policy.clone()),
        |(group, policy)| Fixture::session(group, 1, policy),
    );
}

// ---------------------------------------------------------------- memory

/// This process's resident set in bytes (Linux `/proc/self/status`).
fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Copies per measurement step: about 10,000 member slots, at least 16.
fn copies(n: usize) -> usize {
    (10_000 / n).max(16)
}

/// Child: resident bytes of one member's state at `n` members, two slopes,
/// and the sizes of the prepared messages, on one line.
fn memory_child(n: usize, kind: &str) {
    let f = Fixture::build(n);
    let k = copies(n);
    let mut make: Box<dyn FnMut() -> Box<dyn std::any::Any>> = match kind {
        "group" => Box::new(|| Box::new(f.member.clone())),
        "session" => Box::new(|| Box::new(f.member_session())),
        "committed" => Box::new(|| {
            let mut s = f.member_session();
            s.handle_commit(&f.remove.commit, 1).unwrap();
            Box::new(s)
        }),
        other => panic!("unknown memory kind {other}"),
    };
    let mut keep = Vec::with_capacity(3 * k);
    // Warm-up: these copies take the memory the allocator kept free.
    keep.extend((0..k).map(|_| make()));
    let a = rss();
    keep.extend((0..k).map(|_| make()));
    let b = rss();
    keep.extend((0..k).map(|_| make()));
    let c = rss();
    black_box(&keep);
    match (a, b, c) {
        (Some(a), Some(b), Some(c)) => println!(
            "{n} {k} {} {} {} {} {}",
            b.saturating_sub(a) / k as u64,
            c.saturating_sub(b) / k as u64,
            f.add.commit.len(),
            f.remove.commit.len(),
            f.welcome().len(),
        ),
        _ => println!("unavailable"),
    }
}

fn kib(bytes: f64) -> String {
    format!("{:.1} KiB", bytes / 1024.0)
}

/// One child's line: `[n, k, slope 1, slope 2, add, remove, welcome]`.
fn run_child(exe: &std::path::Path, n: usize, kind: &str) -> Option<[u64; 7]> {
    let out = Command::new(exe)
        .args([MEMORY_CHILD, &n.to_string(), kind])
        .output()
        .unwrap();
    assert!(out.status.success(), "memory child {n} {kind} failed");
    let v: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    v.try_into().ok()
}

/// Runs one child per size and kind, prints the tables.
fn memory_report(sizes: &[usize]) {
    let exe = std::env::current_exe().unwrap();
    println!("\nmeeting memory: resident bytes of one member's state (VmRSS slope over K copies)");
    println!("| state | N | K | per state | per state / N | marginal per member |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut messages = Vec::new();
    let kinds = [
        ("group", "MlsRsGroup"),
        ("session", "MeetingSession"),
        ("committed", "MeetingSession + 1 commit"),
    ];
    for (kind, name) in kinds {
        let mut previous: Option<(usize, u64)> = None;
        for &n in sizes {
            let Some([_, k, s1, s2, add, remove, welcome]) = run_child(&exe, n, kind) else {
                println!("| {name} | {n} | memory not measurable here (no /proc/self/status) |");
                return;
            };
            // The second slope is reported; the first, in brackets, shows
            // that the warm-up did its job when the two agree.
            let marginal = previous.map_or_else(
                || "-".to_owned(),
                |(pn, ps)| kib((s2 as f64 - ps as f64) / (n - pn) as f64),
            );
            println!(
                "| {name} | {n} | {k} | {} ({}) | {} | {marginal} |",
                kib(s2 as f64),
                kib(s1 as f64),
                kib(s2 as f64 / n as f64),
            );
            previous = Some((n, s2));
            if kind == "group" {
                messages.push((n, add, remove, welcome));
            }
        }
    }
    println!("\n| N | add commit | remove commit | Welcome (N + 1 members) |");
    println!("|---:|---:|---:|---:|");
    for (n, add, remove, welcome) in messages {
        println!("| {n} | {add} B | {remove} B | {welcome} B |");
    }
    println!();
}

// ---------------------------------------------------------------- main

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == MEMORY_CHILD) {
        let n = args[i + 1].parse().unwrap();
        memory_child(n, &args[i + 2]);
        return;
    }
    // Criterion's test mode (`cargo test --benches`, or `--test`): run the
    // smallest size once, skip the memory children.
    let bench = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    let sizes: &[usize] = if bench { &SIZES } else { &SIZES[..1] };
    if bench && !args.iter().any(|a| a == "--list") {
        memory_report(sizes);
    }
    // 4 sizes × ~12 benchmarks × (1 s warm-up + 2 s), plus building the
    // sizes: about 3 minutes on 2 cores.
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10)
        .configure_from_args();
    for &n in sizes {
        let f = Fixture::build(n);
        bench_mls(&mut c, &f);
        bench_session(&mut c, &f);
    }
    c.final_summary();
}
