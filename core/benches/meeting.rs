#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Meetings at scale: MLS commits, Welcomes and per-member memory at 10, 50,
//! 200 and 1,000 members, and the Remove on a self-updated tree at 100 and
//! 1,000 (BENCHMARKS.md, "Meetings at scale").
//!
//! Groups are not `Clone` (two live copies would encrypt under the same keys
//! and counters), so no benchmark copies a group: a state is either
//! returned to where it was after each timed call, or built afresh for it.
//!
//! Every size is built the same way: the organizer (`user0`,
//! leaf 0) creates the group and adds the other `N - 1` members in one
//! commit, at the [`MlsGroup`] trait level (`MeetingSession::add` admits one
//! member per commit and refuses beyond the 200-participant cap). That
//! commit has no update path and nobody else ever commits, so every parent
//! node of the tree is blank and every path the organizer sends is encrypted
//! to all other leaves: the **blank tree**. Then, at epoch 1 and not
//! applied, the organizer prepares the two commits members process: adding
//! `user{N}` (with its Welcome) and removing leaf `N - 1`. The members that
//! process them join from the fill Welcome one at a time, when a benchmark
//! needs a fresh one (leaves 1, 2, ..., `N - 2`; when they run out, the
//! size is built again with new keys, new commits and a new Welcome).
//!
//! Groups `mls/*` time `MlsRsGroup` through the `MlsGroup` trait (the MLS
//! cost alone); groups `session/*` time `MeetingSession`, which adds the
//! policy checks, the rollback snapshot of the group, and the RFC 9605 §5.2
//! epoch key install (one exporter call, then one SFrame receiver key per
//! member, the sender key and the meeting code). The parameter is `N`, the
//! number of members before the commit.
//!
//! | group | timed | untimed, per iteration |
//! |---|---|---|
//! | `mls/commit_add` | organizer `commit([key package], [])` | `discard_pending_commit` after it |
//! | `mls/commit_remove` | organizer `commit([], [N - 1])` | same |
//! | `mls/process_add`, `mls/process_remove` | member `process_commit` | a fresh member joins before it |
//! | `mls/welcome` | `MlsClient::join_group` of an add's Welcome | a fresh joiner, the organizer's add commit for it, discarded |
//! | `mls/remove_tree` | organizer `commit([], [N - 1])` on a blank or a self-updated tree | `discard_pending_commit` after it |
//! | `session/add` (N ≤ 50) | organizer `MeetingSession::add` | `commit_rejected` after it |
//! | `session/remove` | organizer `MeetingSession::remove("user{N-1}")` | same |
//! | `session/process_add` (N ≤ 50), `session/process_remove` | member `handle_commit` | a fresh member joins, and a session over it |
//! | `session/join` | `MeetingSession::join` of an add's Welcome | as `mls/welcome`, and a copy of the policy document |
//! | `session/install_epoch` | `MeetingSession::with_group`: the epoch key install | a fresh member joins |
//!
//! Outputs are dropped outside the timing. Criterion budgets a benchmark by
//! wall time, untimed setup included, so where a member joins per iteration
//! the large sizes run fewer iterations (a join of 1,000 takes about 55 ms).
//! `session/add` and `session/process_add` stop at 50: at 200 members the
//! policy cap refuses the 201st (`MeetingFull`), as it should.
//!
//! `mls/remove_tree/{blank,self-updated}/{100,1000}` compares the Remove on
//! the blank tree with the Remove on a **self-updated tree** (PROTOCOL.md
//! §4.8), built member by member: the organizer adds `user{k}` (no path),
//! `user{k}` joins from that Welcome, immediately commits a self-update (an
//! update path alone) and applies it, and the organizer processes it, for
//! `k = 1..N-1`; earlier members never need to be current. Each tree is
//! built when its benchmark first runs (the self-updated 1,000 takes 50 to
//! 90 s on 2 cores); the build prints the tree's blank parent nodes and the
//! Remove commit's size, and checks that a current member decrypts that
//! Remove.
//!
//! Memory cannot be measured by criterion, and `unsafe_code` is forbidden
//! (no counting global allocator), so before the timings the benchmark runs
//! itself once per size and kind as a child process (`--memory-child N
//! KIND`). The child makes `K = max(10000 / N, 16)` warm-up member states,
//! reads `VmRSS`, makes `K` more, reads it again, makes `K` more and reads
//! it a third time, keeping every state alive. The two `K`-slopes are the
//! resident bytes of one state; the warm-up states absorb the memory the
//! allocator kept free from building, and two equal slopes show that they
//! did. Each state is a distinct member joined from the fill Welcome, as
//! above, so each carries its own `MlsClient` as a real member would. KIND
//! `group` keeps the joined `MlsRsGroup`; KIND `session` builds a
//! `MeetingSession` over it (the group plus one epoch of receiver keys);
//! KIND `committed` is that session after it applied the organizer's remove
//! of leaf `N - 1`, which keeps the previous epoch's receiver keys for the
//! grace time (the peak). The memory children run only when no benchmark
//! filter is given (or the filter contains `memory`). Under
//! `cargo test --benches` (criterion's test mode) only 10 members run and no
//! memory is measured.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use callseal_core::meeting::{
    CommitMessages, MeetingConfig, MeetingSession, MlsClient, MlsGroup, MlsRsGroup,
    credential_identity,
};
use callseal_core::policy::{E2eeSetting, Participant, Platform, PolicyDocument, PolicyUpdate};
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode};

const SIZES: [usize; 4] = [10, 50, 200, 1_000];
/// The sizes of the blank versus self-updated tree Remove.
const TREE_SIZES: [usize; 2] = [100, 1_000];
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

fn session(group: MlsRsGroup, who: usize, policy: PolicyDocument) -> MeetingSession {
    MeetingSession::with_group(group, participant(who), policy, MeetingConfig::default(), 0)
        .unwrap()
}

// ---------------------------------------------------------------- building

/// A blank tree of `n` members: the organizer at epoch 1 after adding the
/// others in one commit (no update path), nothing pending. Nobody has
/// joined yet.
struct Filled {
    organizer: MlsRsGroup,
    /// The fill commit's Welcome.
    welcome: Vec<u8>,
    /// `clients[i]` is leaf `i + 1`'s (`user{i + 1}`).
    clients: Vec<MlsClient>,
}

fn fill(n: usize) -> Filled {
    let mut organizer = client(0).create_group().unwrap();
    let clients: Vec<MlsClient> = (1..n).map(client).collect();
    let key_packages: Vec<Vec<u8>> = clients.iter().map(|c| c.key_package().unwrap()).collect();
    let fill = organizer.commit(&key_packages, &[], None).unwrap();
    organizer.apply_pending_commit().unwrap();
    assert_eq!((organizer.members().len(), organizer.epoch()), (n, 1));
    Filled {
        organizer,
        welcome: fill.welcome.unwrap(),
        clients,
    }
}

/// One size on the blank tree, the organizer's side.
struct Fixture {
    n: usize,
    /// The organizer's group: leaf 0, epoch 1, `n` members, nothing pending.
    organizer: MlsRsGroup,
    /// `user{n}` and its key package, which `add` adds.
    joiner: MlsClient,
    joiner_key_package: Vec<u8>,
    /// The organizer's commit adding `joiner` at epoch 1, with its Welcome.
    add: CommitMessages,
    /// The organizer's commit removing leaf `n - 1` at epoch 1.
    remove: CommitMessages,
}

impl Fixture {
    /// The size `n`, and its members who have not joined yet.
    fn build(n: usize) -> (Self, Members) {
        let Filled {
            mut organizer,
            welcome,
            clients,
        } = fill(n);
        let joiner = client(n);
        let joiner_key_package = joiner.key_package().unwrap();
        let add = organizer
            .commit(std::slice::from_ref(&joiner_key_package), &[], None)
            .unwrap();
        organizer.discard_pending_commit();
        let remove = organizer.commit(&[], &[n as u32 - 1], None).unwrap();
        organizer.discard_pending_commit();
        assert!(add.welcome.is_some() && !organizer.has_pending_commit());
        let members = Members {
            n,
            welcome,
            // Leaf n - 1 is the one `remove` removes; it does not join.
            clients: clients
                .into_iter()
                .zip(1..n - 1)
                .map(|(c, i)| (i, c))
                .rev()
                .collect(),
            add: add.commit.clone(),
            remove: remove.commit.clone(),
        };
        let fixture = Self {
            n,
            organizer,
            joiner,
            joiner_key_package,
            add,
            remove,
        };
        (fixture, members)
    }

    /// The prepared messages do what the benchmarks say, once, untimed.
    fn check(&self, members: &mut Members) {
        let n = self.n;
        let (_, mut m) = members.next();
        assert_eq!(m.process_commit(&members.add).unwrap().added.len(), 1);
        assert_eq!(m.members().len(), n + 1);
        let (_, mut m) = members.next();
        assert_eq!(
            m.process_commit(&members.remove).unwrap().removed,
            [n as u32 - 1]
        );
        let (i, m) = members.next();
        let mut s = session(m, i, policy());
        assert_eq!(s.handle_commit(&members.remove, 1).unwrap().len(), 1);
        if n <= MAX_ADD {
            let (i, m) = members.next();
            let mut s = session(m, i, policy());
            assert_eq!(s.handle_commit(&members.add, 1).unwrap().len(), 1);
        }
        let joined = self.joiner.join_group(self.welcome()).unwrap();
        assert_eq!(joined.welcome_sender, 0);
        assert_eq!(
            (joined.group.own_index(), joined.group.epoch()),
            (n as u32, 2)
        );
    }

    fn welcome(&self) -> &[u8] {
        self.add.welcome.as_deref().unwrap()
    }

    /// A fresh joiner and the organizer's add commit for it, discarded: a
    /// Welcome into epoch 2 that the joiner has not used.
    fn fresh_welcome(&mut self) -> (MlsClient, Vec<u8>) {
        let joiner = client(self.n);
        let key_package = joiner.key_package().unwrap();
        let add = self.organizer.commit(&[key_package], &[], None).unwrap();
        self.organizer.discard_pending_commit();
        (joiner, add.welcome.unwrap())
    }
}

/// The members of a blank tree of `n` at epoch 1, each joined from the fill
/// Welcome when asked for (leaves 1, 2, ..., `n - 2`; a new size is built
/// when they run out), with the organizer's two prepared commits.
struct Members {
    n: usize,
    welcome: Vec<u8>,
    /// The clients of the leaves not joined yet, the next last.
    clients: Vec<(usize, MlsClient)>,
    /// The organizer's commit adding `user{n}` at epoch 1.
    add: Vec<u8>,
    /// The organizer's commit removing leaf `n - 1` at epoch 1.
    remove: Vec<u8>,
}

impl Members {
    /// The next member: its leaf and its group.
    fn next(&mut self) -> (usize, MlsRsGroup) {
        if self.clients.is_empty() {
            *self = Fixture::build(self.n).1;
        }
        let (i, client) = self.clients.pop().unwrap();
        let joined = client.join_group(&self.welcome).unwrap();
        assert_eq!(
            (joined.group.own_index(), joined.group.epoch()),
            (i as u32, 1)
        );
        (i, joined.group)
    }
}

/// The organizer's group of `n` members on a self-updated tree (see the
/// module docs), and leaf `n - 2`'s group at the same epoch.
fn self_updated(n: usize) -> (MlsRsGroup, MlsRsGroup) {
    let mut organizer = client(0).create_group().unwrap();
    let mut previous: Option<MlsRsGroup> = None;
    for k in 1..n {
        let member = client(k);
        let add = organizer
            .commit(&[member.key_package().unwrap()], &[], None)
            .unwrap();
        organizer.apply_pending_commit().unwrap();
        let mut group = member
            .join_group(add.welcome.as_deref().unwrap())
            .unwrap()
            .group;
        let update = group.commit(&[], &[], None).unwrap();
        group.apply_pending_commit().unwrap();
        let summary = organizer.process_commit(&update.commit).unwrap();
        assert_eq!(summary.committer, k as u32);
        assert!(summary.added.is_empty() && summary.removed.is_empty());
        match previous.as_mut() {
            // Leaf n - 2 catches up on the last member's add and update.
            Some(p) if k + 1 == n => {
                p.process_commit(&add.commit).unwrap();
                p.process_commit(&update.commit).unwrap();
            }
            _ => previous = Some(group),
        }
    }
    assert_eq!(
        (organizer.members().len(), organizer.epoch()),
        (n, 2 * (n as u64 - 1))
    );
    let previous = previous.unwrap();
    assert_eq!(
        (previous.own_index(), previous.epoch()),
        (n as u32 - 2, organizer.epoch())
    );
    (organizer, previous)
}

// ---------------------------------------------------------------- timings

/// A benchmark group of equal samples; the slow sizes get one iteration
/// per sample.
fn group<'a>(c: &'a mut Criterion, name: &str, n: usize) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sampling_mode(SamplingMode::Flat);
    if n >= 1_000 {
        // Ten removes of 1,000 members on the blank tree take about 1.2 s.
        g.measurement_time(Duration::from_secs(3));
    }
    g
}

/// Times `routine` on inputs made by `setup`, outside the timing, as
/// `{name}/{n}`.
fn batched<I, O>(
    c: &mut Criterion,
    name: &str,
    n: usize,
    mut setup: impl FnMut() -> I,
    mut routine: impl FnMut(I) -> O,
) {
    let mut g = group(c, name, n);
    g.bench_function(BenchmarkId::from_parameter(n), |b| {
        b.iter_batched(&mut setup, &mut routine, BatchSize::LargeInput)
    });
    g.finish();
}

/// Times `routine` on `state`, which `reset` returns to where it was after
/// each call, outside the timing; the output is dropped after `reset`.
fn timed_reset<S, O>(
    b: &mut criterion::Bencher<'_>,
    state: &mut S,
    routine: &mut impl FnMut(&mut S) -> O,
    reset: &mut impl FnMut(&mut S),
) {
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let start = Instant::now();
            let out = black_box(routine(state));
            total += start.elapsed();
            reset(state);
            drop(out);
        }
        total
    });
}

/// [`timed_reset`] as `{name}/{n}`.
fn reused<S, O>(
    c: &mut Criterion,
    name: &str,
    n: usize,
    state: &mut S,
    mut routine: impl FnMut(&mut S) -> O,
    mut reset: impl FnMut(&mut S),
) {
    let mut g = group(c, name, n);
    g.bench_function(BenchmarkId::from_parameter(n), |b| {
        timed_reset(b, state, &mut routine, &mut reset)
    });
    g.finish();
}

fn bench_mls(c: &mut Criterion, f: &mut Fixture, members: &mut Members) {
    let n = f.n;
    let key_package = f.joiner_key_package.clone();
    reused(
        c,
        "mls/commit_add",
        n,
        &mut f.organizer,
        |g| {
            g.commit(std::slice::from_ref(&key_package), &[], None)
                .unwrap()
        },
        |g| g.discard_pending_commit(),
    );
    reused(
        c,
        "mls/commit_remove",
        n,
        &mut f.organizer,
        |g| g.commit(&[], &[n as u32 - 1], None).unwrap(),
        |g| g.discard_pending_commit(),
    );
    batched(
        c,
        "mls/process_add",
        n,
        || (members.next().1, members.add.clone()),
        |(mut g, commit)| {
            let out = g.process_commit(black_box(&commit));
            (g, out.unwrap())
        },
    );
    batched(
        c,
        "mls/process_remove",
        n,
        || (members.next().1, members.remove.clone()),
        |(mut g, commit)| {
            let out = g.process_commit(black_box(&commit));
            (g, out.unwrap())
        },
    );
    batched(
        c,
        "mls/welcome",
        n,
        || f.fresh_welcome(),
        |(joiner, welcome)| {
            let joined = joiner.join_group(black_box(&welcome)).unwrap();
            (joiner, joined)
        },
    );
}

fn bench_session(c: &mut Criterion, mut f: Fixture, members: &mut Members) {
    let n = f.n;
    batched(
        c,
        "session/join",
        n,
        || (f.fresh_welcome(), policy()),
        |((joiner, welcome), policy)| {
            let s = MeetingSession::join(
                &joiner,
                participant(n),
                black_box(&welcome),
                policy,
                MeetingConfig::default(),
                0,
            );
            (joiner, s.unwrap())
        },
    );
    let mut organizer = session(f.organizer, 0, policy());
    if n <= MAX_ADD {
        reused(
            c,
            "session/add",
            n,
            &mut organizer,
            |s| s.add(black_box(&f.joiner_key_package)).unwrap(),
            MeetingSession::commit_rejected,
        );
    }
    let removed = format!("user{}", n - 1);
    reused(
        c,
        "session/remove",
        n,
        &mut organizer,
        |s| s.remove(black_box(&removed)).unwrap(),
        MeetingSession::commit_rejected,
    );
    drop(organizer);
    if n <= MAX_ADD {
        batched(
            c,
            "session/process_add",
            n,
            || {
                let (i, m) = members.next();
                (session(m, i, policy()), members.add.clone())
            },
            |(mut s, commit)| {
                let out = s.handle_commit(black_box(&commit), 1);
                (s, out.unwrap())
            },
        );
    }
    batched(
        c,
        "session/process_remove",
        n,
        || {
            let (i, m) = members.next();
            (session(m, i, policy()), members.remove.clone())
        },
        |(mut s, commit)| {
            let out = s.handle_commit(black_box(&commit), 1);
            (s, out.unwrap())
        },
    );
    batched(
        c,
        "session/install_epoch",
        n,
        || (members.next(), policy()),
        |((i, group), policy)| session(group, i, policy),
    );
}

/// The tree a Remove is timed on.
#[derive(Clone, Copy)]
enum Tree {
    Blank,
    SelfUpdated,
}

impl Tree {
    fn name(self) -> &'static str {
        match self {
            Self::Blank => "blank",
            Self::SelfUpdated => "self-updated",
        }
    }

    /// The organizer's group of `n` on this tree, after checking that a
    /// current member other than the removed one processes its Remove of
    /// leaf `n - 1`. Prints the tree's blank parents and the Remove's size.
    fn build(self, n: usize) -> MlsRsGroup {
        let start = Instant::now();
        let (mut organizer, mut member) = match self {
            Self::Blank => {
                let Filled {
                    organizer,
                    welcome,
                    clients,
                } = fill(n);
                (organizer, clients[0].join_group(&welcome).unwrap().group)
            }
            Self::SelfUpdated => self_updated(n),
        };
        let built = start.elapsed();
        let (blank, parents) = organizer.blank_parents();
        let remove = organizer.commit(&[], &[n as u32 - 1], None).unwrap();
        organizer.discard_pending_commit();
        let summary = member.process_commit(&remove.commit).unwrap();
        assert_eq!(summary.removed, [n as u32 - 1]);
        assert!(!summary.removed_self && member.epoch() == organizer.epoch() + 1);
        println!(
            "mls/remove_tree/{}/{n}: built in {:.1} s; blank parent nodes {blank} of {parents}; \
             remove commit {} B",
            self.name(),
            built.as_secs_f64(),
            remove.commit.len(),
        );
        organizer
    }
}

/// The Remove of leaf `n - 1` on a blank and on a self-updated tree, each
/// built only if its benchmark runs.
fn bench_remove_tree(c: &mut Criterion, sizes: &[usize]) {
    let mut g = group(
        c,
        "mls/remove_tree",
        sizes.iter().copied().max().unwrap_or(0),
    );
    for &n in sizes {
        for tree in [Tree::Blank, Tree::SelfUpdated] {
            let mut organizer: Option<MlsRsGroup> = None;
            let id = BenchmarkId::new(tree.name(), n);
            g.bench_function(id, |b| {
                let organizer = organizer.get_or_insert_with(|| tree.build(n));
                timed_reset(
                    b,
                    organizer,
                    &mut |g: &mut MlsRsGroup| g.commit(&[], &[n as u32 - 1], None).unwrap(),
                    &mut |g: &mut MlsRsGroup| g.discard_pending_commit(),
                );
            });
        }
    }
    g.finish();
}

// ---------------------------------------------------------------- memory

/// This process's resident set in bytes (Linux `/proc/self/status`).
fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// States per measurement step: about 10,000 member slots, at least 16.
fn copies(n: usize) -> usize {
    (10_000 / n).max(16)
}

/// Child: resident bytes of one member's state at `n` members, two slopes,
/// and the sizes of the prepared messages, on one line.
fn memory_child(n: usize, kind: &str) {
    let (f, mut members) = Fixture::build(n);
    let sizes = [f.add.commit.len(), f.remove.commit.len(), f.welcome().len()];
    drop(f);
    let k = copies(n);
    let policy = policy();
    let mut make: Box<dyn FnMut() -> Box<dyn std::any::Any> + '_> = match kind {
        "group" => Box::new(|| Box::new(members.next().1)),
        "session" => Box::new(|| {
            let (i, group) = members.next();
            Box::new(session(group, i, policy.clone()))
        }),
        "committed" => Box::new(|| {
            let (i, group) = members.next();
            let mut s = session(group, i, policy.clone());
            s.handle_commit(&members.remove, 1).unwrap();
            Box::new(s)
        }),
        other => panic!("unknown memory kind {other}"),
    };
    let mut keep = Vec::with_capacity(3 * k);
    // Warm-up: these states take the memory the allocator kept free.
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
            sizes[0],
            sizes[1],
            sizes[2],
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
    println!("\nmeeting memory: resident bytes of one member's state (VmRSS slope over K states)");
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

/// Criterion's options that take a value (the next argument, unless given
/// as `--option=value`).
const VALUE_OPTIONS: [&str; 16] = [
    "--color",
    "--save-baseline",
    "--baseline",
    "--baseline-lenient",
    "--format",
    "--profile-time",
    "--load-baseline",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
];

/// The benchmark filter criterion will see, if any.
fn filter(args: &[String]) -> Option<&str> {
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        if VALUE_OPTIONS.contains(&arg.as_str()) {
            rest.next();
        } else if !arg.starts_with('-') {
            return Some(arg);
        }
    }
    None
}

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
    let tree_sizes: &[usize] = if bench { &TREE_SIZES } else { &SIZES[..1] };
    let memory = filter(&args).is_none_or(|f| f.contains("memory"));
    if bench && memory && !args.iter().any(|a| a == "--list") {
        memory_report(sizes);
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10)
        .configure_from_args();
    for &n in sizes {
        let (mut f, mut members) = Fixture::build(n);
        f.check(&mut members);
        bench_mls(&mut c, &mut f, &mut members);
        bench_session(&mut c, f, &mut members);
    }
    bench_remove_tree(&mut c, tree_sizes);
    c.final_summary();
}
