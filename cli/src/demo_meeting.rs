//! `callseal demo meeting`: an end-to-end encrypted meeting with churn over
//! an untrusted server (docs/PROTOCOL.md §4).
//!
//! The organizer creates the MLS group and promotes co-organizers; the
//! committers (organizer and co-organizers) batch the joins and leaves that
//! reached the server together into one commit with one Welcome; the
//! organizer may hand over and leave, or be removed by a co-organizer; every
//! member self-updates when due. The server orders one commit per epoch (a
//! loser tries again on the new epoch), keeps every ordered commit to catch
//! up members that fell behind, and relays everything: commits late, twice
//! or out of order, Welcomes twice, media with loss, reordering and jitter.
//! It also injects forged commits: a rogue member (a raw MLS client the
//! organizer admitted like anyone) commits removals and adds as a plain
//! participant, and an impostor sends an external commit claiming the
//! organizer's identity; every member must refuse them, unchanged. Every
//! member but the rogue sends media all along. The report counts every
//! delivery to a member of the sender's epoch and whether it decrypted.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::time::Instant;

use callseal_core::frame::CipherSuite;
use callseal_core::frame::media::Codec;
use callseal_core::meeting::{
    CommitMessages, EpochChange, MLS_CIPHER_SUITE, MeetingConfig, MeetingError, MeetingFrame,
    MeetingSession, MlsClient, ROLES_EXTENSION_TYPE, Received, SignatureKey, credential_identity,
    meeting_code,
};
use callseal_core::policy::{
    E2eeSetting, MAX_E2EE_MEETING_PARTICIPANTS, Participant, Platform, PolicyDocument, PolicyUpdate,
};
use clap::Args;
use mls_rs::client_builder::{BaseConfig, WithCryptoProvider, WithIdentityProvider};
use mls_rs::extension::ExtensionType;
use mls_rs::identity::SigningIdentity;
use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
use mls_rs::{CipherSuiteProvider, CryptoProvider, MlsMessage};
use mls_rs_crypto_rustcrypto::RustCryptoProvider;
use serde::Serialize;

use crate::DemoOptions;
use crate::rng::Rng;

#[derive(Args)]
pub(crate) struct MeetingArgs {
    /// Members at the start: the organizer, the server's rogue member (from
    /// 3 on) and participants.
    #[arg(long, default_value_t = 10)]
    participants: u32,
    /// Joins and leaves after the start, one every 100 ms.
    #[arg(long, default_value_t = 20)]
    churn: u32,
    /// Fraction of media deliveries the server drops; it also reorders and
    /// delays media (up to 200 ms of jitter), delivers commits late, twice
    /// or out of order, and drops a quarter as many (members catch up).
    #[arg(long, default_value_t = 0.05)]
    loss: f64,
    /// Participants the organizer promotes to co-organizer early in the
    /// meeting (and again whenever fewer are left).
    #[arg(long, default_value_t = 0)]
    co_organizers: u32,
    /// After this many joins and leaves the organizer leaves, and again
    /// after each further as many: the first time it hands over to the
    /// longest-standing co-organizer first, the next time a co-organizer
    /// simply removes it, and so on. Needs --co-organizers.
    #[arg(long)]
    organizer_leaves_at: Option<u32>,
    /// Every member self-updates after this many commits that added or
    /// removed members (MeetingConfig::update_every).
    #[arg(long, default_value_t = MeetingConfig::default().update_every)]
    update_every: u64,
    #[command(flatten)]
    common: DemoOptions,
}

/// The simulation's step: media, commits and the server's decisions.
const TICK_MS: u64 = 10;
/// Milliseconds between joins and leaves during churn; also how long a
/// committer collects the requests it batches into one commit.
const COMMIT_SPACING_MS: u64 = 100;
/// The initial participants' join requests reach the server within this.
const FILL_MS: u64 = 1_000;
/// Media flows this long before churn starts.
const SETTLE_MS: u64 = 1_000;
/// The server orders at most one commit per this many milliseconds.
const ORDER_SPACING_MS: u64 = 20;
/// At most this many members send a commit for the same epoch in one tick.
const MAX_RACERS: usize = 3;
/// A member due for a self-update waits up to this long before trying
/// (again), so that not every member tries at once.
const UPDATE_BACKOFF_MS: u64 = 500;
/// The server forges one commit of each kind while media settles, then
/// one every this many milliseconds.
const FORGE_EVERY_MS: u64 = 2_000;
/// Milliseconds between two frames of one member.
const FRAME_INTERVAL_MS: u64 = 60;
/// Media jitter: deliveries are delayed by up to this.
const JITTER_MS: u64 = 200;
/// How long the server keeps forwarding media to a removed member.
const REMOVED_LISTEN_MS: u64 = 1_000;
/// Frames a member holds for an epoch not reached yet (the default is
/// 4,096): at 200 members about 3,300 frames a second reach each member,
/// and a member that lost a commit is up to 1.5 s behind before it catches
/// up.
const MAX_HELD_FRAMES: usize = 1 << 15;
/// A member that has not applied a commit this long after the server
/// ordered it asks the server for the commits it missed.
const CATCH_UP_AFTER_MS: u64 = 1_500;
/// After churn, how long the meeting may take to finish what was asked.
const MAX_TAIL_MS: u64 = 120_000;

#[derive(Serialize, Default)]
struct Report {
    participants: u32,
    churn: u32,
    co_organizers: u32,
    update_every: u64,
    epochs: u64,
    commits: u64,
    codes_agree_every_epoch: bool,
    roles_agree_every_epoch: bool,
    frames_sent: u64,
    frames_delivered: u64,
    frames_decrypted: u64,
    frames_lost_in_transition: u64,
    frames_decrypted_by_non_members: u64,
    frames_held_then_released: u64,
    duplicate_commits_refused: u64,
    duplicate_welcomes_refused: u64,
    commits_held_for_gaps: u64,
    commits_dropped: u64,
    catch_ups: u64,
    joins_refused_by_policy: u64,
    membership_commits: u64,
    max_batch: usize,
    initial_commits: u64,
    joins_per_initial_commit: f64,
    admit_all_ms: f64,
    role_commits: u64,
    self_updates: u64,
    committers: usize,
    membership_committers: usize,
    organizer_changes: u64,
    commit_races_lost: u64,
    own_commits_discarded: u64,
    unauthorized_commits_injected: u64,
    unauthorized_commits_refused: u64,
    unauthorized_commits_held: u64,
    unauthorized_commits_accepted: u64,
    forged_welcomes_refused: u64,
    max_commit_ms: f64,
    final_members: usize,
    final_organizer: String,
    final_code: String,
}

/// What the server delivers, and when.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Delivery {
    Commit {
        to: usize,
        epoch: u64,
    },
    Welcome {
        to: usize,
        epoch: u64,
    },
    Frame {
        to: usize,
        frame: usize,
    },
    /// The server ordered another commit for the epoch of `to`'s.
    Rejected {
        to: usize,
    },
}

impl Delivery {
    fn to(self) -> usize {
        match self {
            Delivery::Commit { to, .. }
            | Delivery::Welcome { to, .. }
            | Delivery::Frame { to, .. }
            | Delivery::Rejected { to } => to,
        }
    }
}

/// One sent media frame.
struct SentFrame {
    epoch: u64,
    bytes: Vec<u8>,
}

/// Who a join or leave request is about.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    Client(usize),
    Rogue,
}

/// A join (with a key package) or leave request waiting at the server.
struct Request {
    who: Who,
    join: bool,
    /// When it reached the server.
    at: u64,
}

/// What an ordered commit does, as the server and the demo track it.
enum Work {
    Membership {
        joins: Vec<Who>,
        leaves: Vec<usize>,
        refused: Vec<String>,
    },
    Promote,
    HandOver,
    SelfUpdate,
}

#[derive(Clone, Copy)]
enum Action {
    Promote(usize),
    HandOver(usize),
    Batch,
    SelfUpdate,
}

/// The organizer's departure in progress.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Departure {
    /// The organizer hands over first.
    HandOver { from: usize },
    /// A committer is to remove it.
    Removing { from: usize },
}

/// What a forged commit claims to be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Forgery {
    /// A plain participant's commit that adds or removes.
    Participant,
    /// An external commit.
    External,
}

/// One client: a user and, once joined, its session.
struct Client {
    participant: Participant,
    mls: MlsClient,
    /// The key package it published to join.
    key_package: Option<Vec<u8>>,
    session: Option<MeetingSession>,
    removed_at: Option<u64>,
    /// Epoch in which the Welcome put this client in the group.
    joined_epoch: Option<u64>,
    /// Epoch at which a committer removed it.
    left_epoch: Option<u64>,
    /// A leave request of its is at the server.
    leaving: bool,
    /// A commit of its waits for the server's answer.
    awaiting_verdict: bool,
    /// When it next tries a self-update it is due for.
    next_update_try: Option<u64>,
    /// When it next batches membership requests (committers).
    next_batch: u64,
    /// Frames delivered to it as a member of their sender's epoch that it
    /// has not decrypted yet.
    pending: HashSet<usize>,
}

/// A forged commit the server injected.
struct Forged {
    /// The epoch it claims to commit (the server's when forged).
    epoch: u64,
    commit: Vec<u8>,
    forgery: Forgery,
    /// Members that refused it (or, wrongly, accepted it).
    judged: HashSet<usize>,
}

/// What the read-only side of a delivery needs.
struct Shared<'a> {
    frames: &'a [SentFrame],
    commits: &'a BTreeMap<u64, Vec<u8>>,
    welcomes: &'a HashMap<u64, Vec<u8>>,
    policy: &'a PolicyDocument,
    config: MeetingConfig,
}

/// What deliveries counted and saw, for the server to take in.
#[derive(Default)]
struct Tally {
    frames_delivered: u64,
    frames_decrypted: u64,
    frames_decrypted_by_non_members: u64,
    frames_held_then_released: u64,
    duplicate_commits_refused: u64,
    duplicate_welcomes_refused: u64,
    commits_held_for_gaps: u64,
    catch_ups: u64,
    own_commits_discarded: u64,
    commit_races_lost: u64,
    max_commit_ms: f64,
    /// Meeting codes members saw, by epoch.
    codes: Vec<(u64, [u32; 4])>,
    /// (organizer changed, roles changed) members saw, by epoch.
    roles: Vec<(u64, (bool, bool))>,
    /// Members that joined, and their Welcome's epoch.
    joined: Vec<(usize, u64)>,
    /// Members whose epoch changed.
    moved: Vec<usize>,
    violations: Vec<String>,
}

impl Tally {
    fn merge(&mut self, t: Tally) {
        self.frames_delivered += t.frames_delivered;
        self.frames_decrypted += t.frames_decrypted;
        self.frames_decrypted_by_non_members += t.frames_decrypted_by_non_members;
        self.frames_held_then_released += t.frames_held_then_released;
        self.duplicate_commits_refused += t.duplicate_commits_refused;
        self.duplicate_welcomes_refused += t.duplicate_welcomes_refused;
        self.commits_held_for_gaps += t.commits_held_for_gaps;
        self.catch_ups += t.catch_ups;
        self.own_commits_discarded += t.own_commits_discarded;
        self.commit_races_lost += t.commit_races_lost;
        self.max_commit_ms = self.max_commit_ms.max(t.max_commit_ms);
        self.codes.extend(t.codes);
        self.roles.extend(t.roles);
        self.joined.extend(t.joined);
        self.moved.extend(t.moved);
        self.violations.extend(t.violations);
    }

    fn note_commit_time(&mut self, start: Instant, commits: u32) {
        let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(commits.max(1));
        self.max_commit_ms = self.max_commit_ms.max(ms);
    }
}

impl Client {
    fn is_member(&self, epoch: u64) -> bool {
        self.joined_epoch.is_some_and(|j| j <= epoch) && self.left_epoch.is_none_or(|l| epoch < l)
    }

    fn after_change(
        &mut self,
        change: &EpochChange,
        now: u64,
        frames: &[SentFrame],
        tally: &mut Tally,
    ) {
        if change.own_commit_discarded {
            tally.own_commits_discarded += 1;
        }
        if change.removed_self {
            self.removed_at = Some(now);
            return;
        }
        tally.codes.push((change.epoch, change.code.groups()));
        tally.roles.push((
            change.epoch,
            (change.organizer_changed, change.roles_changed),
        ));
        for frame in &change.released {
            tally.frames_held_then_released += 1;
            self.decrypted(frame, frames, tally);
        }
    }

    /// Counts a decrypted frame: which sent frame it is comes from its
    /// payload (the frame id).
    fn decrypted(&mut self, frame: &MeetingFrame, frames: &[SentFrame], tally: &mut Tally) {
        let Some(id) = frame
            .payload
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
        else {
            return;
        };
        let Ok(id) = usize::try_from(id) else { return };
        if self.pending.remove(&id) {
            tally.frames_decrypted += 1;
        } else if let Some(sent) = frames.get(id)
            && !self.is_member(sent.epoch)
        {
            tally.frames_decrypted_by_non_members += 1;
        }
    }

    /// Client `me` gets one delivery at `at`.
    fn deliver(
        &mut self,
        me: usize,
        at: u64,
        delivery: Delivery,
        shared: &Shared<'_>,
        tally: &mut Tally,
    ) -> Result<(), String> {
        match delivery {
            Delivery::Commit { epoch, .. } => self.deliver_commit(me, at, epoch, shared, tally),
            Delivery::Welcome { epoch, .. } => self.deliver_welcome(me, at, epoch, shared, tally),
            Delivery::Frame { frame, .. } => {
                let Some(sent) = shared.frames.get(frame) else {
                    return Ok(());
                };
                if self.is_member(sent.epoch) {
                    tally.frames_delivered += 1;
                    self.pending.insert(frame);
                }
                let Some(session) = self.session.as_mut() else {
                    return Ok(());
                };
                if let Ok(Received::Frame(f)) = session.decrypt(&sent.bytes, at) {
                    self.decrypted(&f, shared.frames, tally);
                }
                Ok(())
            }
            Delivery::Rejected { .. } => {
                if self.awaiting_verdict {
                    self.awaiting_verdict = false;
                    if let Some(session) = self.session.as_mut() {
                        // Already discarded if it applied the winner first.
                        session.commit_rejected();
                    }
                    tally.commit_races_lost += 1;
                }
                Ok(())
            }
        }
    }

    fn deliver_commit(
        &mut self,
        me: usize,
        at: u64,
        epoch: u64,
        shared: &Shared<'_>,
        tally: &mut Tally,
    ) -> Result<(), String> {
        let Some(commit) = shared.commits.get(&epoch) else {
            return Ok(());
        };
        let Some(session) = self.session.as_mut() else {
            return Ok(());
        };
        if session.is_removed() {
            return Ok(());
        }
        let before = session.epoch();
        let start = Instant::now();
        let changes = match session.handle_commit(commit, at) {
            Ok(changes) => {
                if changes.is_empty() && epoch > before {
                    tally.commits_held_for_gaps += 1;
                }
                changes
            }
            Err(MeetingError::StaleCommit { .. }) => {
                tally.duplicate_commits_refused += 1;
                return Ok(());
            }
            Err(MeetingError::TooManyHeldCommits { current }) => {
                // The server hands it every commit from its epoch on.
                let missed: Vec<Vec<u8>> = shared
                    .commits
                    .range(current..)
                    .map(|(_, c)| c.clone())
                    .collect();
                tally.catch_ups += 1;
                session.catch_up(&missed, at).map_err(|e| {
                    format!("member {me} could not catch up from epoch {current}: {e}")
                })?
            }
            Err(e) => return Err(format!("member {me} refused commit {epoch}: {e}")),
        };
        if changes.is_empty() {
            return Ok(());
        }
        // One call may apply several commits held for a gap.
        tally.note_commit_time(start, u32::try_from(changes.len()).unwrap_or(1));
        tally.moved.push(me);
        for change in changes {
            self.after_change(&change, at, shared.frames, tally);
        }
        Ok(())
    }

    fn deliver_welcome(
        &mut self,
        me: usize,
        at: u64,
        epoch: u64,
        shared: &Shared<'_>,
        tally: &mut Tally,
    ) -> Result<(), String> {
        let Some(welcome) = shared.welcomes.get(&epoch) else {
            return Ok(());
        };
        let joined = MeetingSession::join(
            &self.mls,
            self.participant.clone(),
            welcome,
            shared.policy.clone(),
            shared.config,
            at,
        );
        if self.session.is_some() {
            // A second copy of the Welcome.
            match joined {
                Err(MeetingError::KeyPackageUsed) => tally.duplicate_welcomes_refused += 1,
                Ok(_) => tally
                    .violations
                    .push(format!("member {me} joined twice from one Welcome")),
                Err(e) => tally
                    .violations
                    .push(format!("member {me}'s second Welcome: {e}")),
            }
            return Ok(());
        }
        let session = joined.map_err(|e| format!("member {me} could not join: {e}"))?;
        tally.codes.push((session.epoch(), session.code().groups()));
        self.session = Some(session);
        tally.joined.push((me, epoch));
        tally.moved.push(me);
        Ok(())
    }
}

/// Delivers each client its deliveries (`batch[client]`, in order), the
/// clients split among `workers` threads by how much work they have.
fn deliver_all(
    clients: &mut [Client],
    mut batch: Vec<Vec<(u64, Delivery)>>,
    shared: &Shared<'_>,
    workers: usize,
) -> Result<Tally, String> {
    fn run(
        clients: &mut [Client],
        batch: &mut [Vec<(u64, Delivery)>],
        first: usize,
        shared: &Shared<'_>,
    ) -> Result<Tally, String> {
        let mut tally = Tally::default();
        for (i, (client, deliveries)) in clients.iter_mut().zip(batch.iter_mut()).enumerate() {
            for (at, delivery) in deliveries.drain(..) {
                client.deliver(first + i, at, delivery, shared, &mut tally)?;
            }
        }
        Ok(tally)
    }
    // A commit costs about as much as a few hundred frames.
    let weight = |d: &[(u64, Delivery)]| -> u64 {
        d.iter()
            .map(|(_, d)| match d {
                Delivery::Frame { .. } | Delivery::Rejected { .. } => 1,
                Delivery::Commit { .. } | Delivery::Welcome { .. } => 300,
            })
            .sum()
    };
    let weights: Vec<u64> = batch.iter().map(|d| weight(d)).collect();
    let total: u64 = weights.iter().sum();
    if workers <= 1 || total < 600 {
        return run(clients, &mut batch, 0, shared);
    }
    // Contiguous ranges of about equal weight.
    let mut cuts = Vec::with_capacity(workers);
    let mut sum = 0;
    for (i, w) in weights.iter().enumerate() {
        sum += w;
        if sum * workers as u64 >= total * (cuts.len() as u64 + 1) && cuts.len() + 1 < workers {
            cuts.push(i + 1);
        }
    }
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(workers);
        let mut clients = clients;
        let mut batch = batch.as_mut_slice();
        let mut first = 0;
        for cut in cuts.into_iter().chain(std::iter::once(weights.len())) {
            let (c, rest_c) = clients.split_at_mut(cut - first);
            let (b, rest_b) = batch.split_at_mut(cut - first);
            clients = rest_c;
            batch = rest_b;
            let start = first;
            handles.push(scope.spawn(move || run(c, b, start, shared)));
            first = cut;
        }
        let mut tally = Tally::default();
        for handle in handles {
            tally.merge(
                handle
                    .join()
                    .map_err(|_| "a delivery thread panicked".to_owned())??,
            );
        }
        Ok(tally)
    })
}

/// The raw MLS configuration of the rogue member and the impostor.
type RawConfig =
    WithCryptoProvider<RustCryptoProvider, WithIdentityProvider<BasicIdentityProvider, BaseConfig>>;

/// The server's accomplice: a member whose app is a raw MLS client, with
/// no meeting rules. It follows every ordered commit and forges others.
struct Rogue {
    client: mls_rs::Client<RawConfig>,
    group: Option<mls_rs::Group<RawConfig>>,
    key_package: Vec<u8>,
    forgeries: u64,
}

/// A raw MLS client with a basic credential holding `identity`.
fn raw_client(identity: &[u8]) -> Result<mls_rs::Client<RawConfig>, String> {
    let crypto = RustCryptoProvider::new();
    let suite = mls_rs::CipherSuite::from(MLS_CIPHER_SUITE);
    let (secret, public) = crypto
        .cipher_suite_provider(suite)
        .ok_or("the MLS cipher suite is unavailable")?
        .signature_key_generate()
        .map_err(err)?;
    let credential = BasicCredential::new(identity.to_vec()).into_credential();
    Ok(mls_rs::Client::builder()
        .identity_provider(BasicIdentityProvider)
        .crypto_provider(crypto)
        .extension_type(ExtensionType::new(ROLES_EXTENSION_TYPE))
        .signing_identity(SigningIdentity::new(credential, public), secret, suite)
        .build())
}

/// What the server knows of the group after the last ordered commit.
#[derive(Default)]
struct RelayView {
    /// The committers' clients, organizer first.
    committers: Vec<usize>,
    /// Members in the group, the rogue included.
    members: usize,
}

struct Sim {
    /// Every member's configuration.
    config: MeetingConfig,
    policy: PolicyDocument,
    co_organizers: usize,
    rng: Rng,
    loss: f64,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, Delivery)>>,
    clients: Vec<Client>,
    by_key: HashMap<SignatureKey, usize>,
    rogue: Option<Rogue>,
    /// Every ordered commit, by the epoch it applies to.
    commits: BTreeMap<u64, Vec<u8>>,
    /// Welcomes by the epoch they join.
    welcomes: HashMap<u64, Vec<u8>>,
    requests: Vec<Request>,
    relay: RelayView,
    last_ordered_at: u64,
    /// When the server ordered the commit of each epoch.
    ordered_at: Vec<u64>,
    filling: bool,
    departure: Option<Departure>,
    departures_due: u32,
    departures_started: u32,
    /// Signature keys of the members whose commits were ordered.
    committer_keys: BTreeSet<SignatureKey>,
    /// ...of those whose membership or role commits were.
    membership_committer_keys: BTreeSet<SignatureKey>,
    frames: Vec<SentFrame>,
    /// Forged commits, for members that held one to judge once they reach
    /// its epoch.
    forged: Vec<Forged>,
    /// Threads delivering to members.
    workers: usize,
    /// Meeting codes each member saw, by epoch.
    codes: BTreeMap<u64, BTreeSet<[u32; 4]>>,
    /// (organizer changed, roles changed) as each member saw it, by epoch.
    roles: BTreeMap<u64, BTreeSet<(bool, bool)>>,
    /// Broken guarantees found along the way.
    violations: Vec<String>,
    report: Report,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Sim {
    fn schedule(&mut self, delay: u64, delivery: Delivery) {
        self.seq += 1;
        self.queue
            .push(Reverse((self.now + delay, self.seq, delivery)));
    }

    fn jitter(&mut self, max: u64) -> u64 {
        self.rng.next() % (max + 1)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            return None;
        }
        let i = usize::try_from(self.rng.next() % items.len() as u64).unwrap_or(0);
        items.get(i).copied()
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = usize::try_from(self.rng.next() % (i as u64 + 1)).unwrap_or(0);
            items.swap(i, j);
        }
    }

    /// The epoch the server orders the next commit for.
    fn relay_epoch(&self) -> u64 {
        self.commits.len() as u64
    }

    /// In the group as the server last ordered it, and not on its way out.
    fn is_staying_member(&self, client: usize) -> bool {
        let c = &self.clients[client];
        c.joined_epoch.is_some() && c.left_epoch.is_none() && !c.leaving
    }

    /// Takes in what deliveries (or the server's own steps) tallied:
    /// counters, what members saw, and the follow-ups the server owes.
    fn absorb(&mut self, t: Tally) {
        let r = &mut self.report;
        r.frames_delivered += t.frames_delivered;
        r.frames_decrypted += t.frames_decrypted;
        r.frames_decrypted_by_non_members += t.frames_decrypted_by_non_members;
        r.frames_held_then_released += t.frames_held_then_released;
        r.duplicate_commits_refused += t.duplicate_commits_refused;
        r.duplicate_welcomes_refused += t.duplicate_welcomes_refused;
        r.commits_held_for_gaps += t.commits_held_for_gaps;
        r.catch_ups += t.catch_ups;
        r.own_commits_discarded += t.own_commits_discarded;
        r.commit_races_lost += t.commit_races_lost;
        r.max_commit_ms = r.max_commit_ms.max(t.max_commit_ms);
        for (epoch, code) in t.codes {
            self.codes.entry(epoch).or_default().insert(code);
        }
        for (epoch, seen) in t.roles {
            self.roles.entry(epoch).or_default().insert(seen);
        }
        self.violations.extend(t.violations);
        // Commits ordered after a Welcome's epoch, sent before its joiner
        // had a session, are relayed now.
        for (to, epoch) in t.joined {
            let later: Vec<u64> = self.commits.range(epoch..).map(|(e, _)| *e).collect();
            for e in later {
                let delay = self.jitter(JITTER_MS);
                self.schedule(delay, Delivery::Commit { to, epoch: e });
            }
        }
        let mut moved = t.moved;
        moved.sort_unstable();
        moved.dedup();
        for c in moved {
            self.judge_forgeries(c);
        }
    }

    /// Sends an ordered commit to every joined client but its committer,
    /// late, twice or out of order now and then.
    fn relay_commit(&mut self, epoch: u64, committer: usize) {
        for to in 0..self.clients.len() {
            let c = &self.clients[to];
            if to == committer || c.session.is_none() || c.removed_at.is_some() {
                continue;
            }
            if self.rng.chance(self.loss / 4.0) {
                // Lost: the member catches up from the server.
                self.report.commits_dropped += 1;
                continue;
            }
            let late = if self.rng.chance(self.loss) {
                300 + self.jitter(700)
            } else {
                0
            };
            let delay = self.jitter(JITTER_MS) + late;
            self.schedule(delay, Delivery::Commit { to, epoch });
            if self.rng.chance(0.05) {
                let again = self.jitter(JITTER_MS * 3);
                self.schedule(again, Delivery::Commit { to, epoch });
            }
        }
    }

    fn send_media(&mut self, sender: usize) -> Result<(), String> {
        let id = self.frames.len();
        let Some(session) = self.clients[sender].session.as_mut() else {
            return Ok(());
        };
        if session.is_removed() {
            return Ok(());
        }
        let epoch = session.epoch();
        let mut payload = (id as u64).to_be_bytes().to_vec();
        payload.extend_from_slice(&[0x5a; 40]);
        let bytes = session.encrypt(Codec::Generic, &payload).map_err(err)?;
        self.frames.push(SentFrame { epoch, bytes });
        self.report.frames_sent += 1;
        for to in 0..self.clients.len() {
            let c = &self.clients[to];
            let listening = c.session.is_some()
                && c.removed_at
                    .is_none_or(|t| self.now < t + REMOVED_LISTEN_MS);
            if to == sender || !listening || self.rng.chance(self.loss) {
                continue;
            }
            let delay = self.jitter(JITTER_MS);
            self.schedule(delay, Delivery::Frame { to, frame: id });
        }
        Ok(())
    }

    // --- the server's view and the members' decisions ---

    /// Refreshes the server's view from the session of the member whose
    /// commit it just ordered (that session is at the new epoch).
    fn update_relay_view(&mut self, by: usize) -> Result<(), String> {
        let session = self.clients[by]
            .session
            .as_ref()
            .ok_or("the committer has no session")?;
        let members = session.members();
        let keys: Vec<SignatureKey> = members.iter().map(|m| m.signature_key).collect();
        let effective = session.roles().map_err(err)?.effective(&keys);
        self.relay.committers = effective
            .iter()
            .filter_map(|k| self.by_key.get(k).copied())
            .collect();
        self.relay.members = members.len();
        Ok(())
    }

    fn organizer_client(&self) -> Option<usize> {
        self.relay.committers.first().copied()
    }

    /// Co-organizers staying in the meeting, longest-standing first.
    fn staying_co_organizers(&self) -> Vec<usize> {
        self.relay
            .committers
            .iter()
            .skip(1)
            .copied()
            .filter(|&c| self.is_staying_member(c))
            .collect()
    }

    /// Members the organizer may promote: joined, staying, not committers.
    fn promotable(&self) -> Vec<usize> {
        (0..self.clients.len())
            .filter(|&c| {
                self.is_staying_member(c)
                    && self.clients[c].session.is_some()
                    && !self.relay.committers.contains(&c)
            })
            .collect()
    }

    /// The organizer's role change to make now, if any.
    fn role_task(&mut self, c: usize) -> Option<Action> {
        if self.filling || self.organizer_client() != Some(c) {
            return None;
        }
        let co = self.staying_co_organizers();
        match self.departure {
            Some(Departure::HandOver { from }) if from == c => {
                if let Some(&successor) = co.first() {
                    return Some(Action::HandOver(successor));
                }
            }
            Some(_) => return None,
            None => {}
        }
        if co.len() < self.co_organizers {
            let candidates = self.promotable();
            return self.pick(&candidates).map(Action::Promote);
        }
        None
    }

    fn has_requests_for(&self, c: usize) -> bool {
        self.requests
            .iter()
            .any(|r| r.at <= self.now && (r.join || r.who != Who::Client(c)))
    }

    /// Starts the organizer's next departure once a co-organizer can take
    /// over.
    fn start_departure(&mut self) {
        if let Some(Departure::Removing { from }) = self.departure
            && self.clients[from].left_epoch.is_some()
        {
            self.departure = None;
        }
        if self.departure.is_some() || self.departures_due == 0 {
            return;
        }
        let Some(organizer) = self.organizer_client() else {
            return;
        };
        if self.staying_co_organizers().is_empty() || !self.is_staying_member(organizer) {
            return;
        }
        self.departures_due -= 1;
        self.departures_started += 1;
        if self.departures_started % 2 == 1 {
            self.departure = Some(Departure::HandOver { from: organizer });
        } else {
            self.request_leave(organizer);
            self.departure = Some(Departure::Removing { from: organizer });
        }
    }

    fn request_leave(&mut self, c: usize) {
        self.clients[c].leaving = true;
        self.requests.push(Request {
            who: Who::Client(c),
            join: false,
            at: self.now,
        });
    }

    /// One tick of decisions: who commits what. Members commit only once
    /// they reached the epoch the server orders next (the server announces
    /// it); the server takes the first commit for that epoch.
    fn act(&mut self) -> Result<(), String> {
        self.start_departure();
        let epoch = self.relay_epoch();
        let now = self.now;
        let paced = self.last_ordered_at + ORDER_SPACING_MS > now && epoch > 0;
        let mut committer_actions = Vec::new();
        for c in self.relay.committers.clone() {
            let client = &self.clients[c];
            let current = client
                .session
                .as_ref()
                .is_some_and(|s| !s.is_removed() && s.epoch() == epoch && !client.awaiting_verdict);
            if paced || !current {
                continue;
            }
            if let Some(action) = self.role_task(c) {
                committer_actions.push((c, action));
            } else if now >= self.clients[c].next_batch && self.has_requests_for(c) {
                committer_actions.push((c, Action::Batch));
            }
        }
        let mut updates = Vec::new();
        for c in 0..self.clients.len() {
            let backoff = self.jitter(UPDATE_BACKOFF_MS);
            let client = &mut self.clients[c];
            let Some(session) = client.session.as_ref() else {
                continue;
            };
            if session.is_removed() || !session.update_due(now) {
                client.next_update_try = None;
                continue;
            }
            let current = session.epoch() == epoch && !client.awaiting_verdict;
            match client.next_update_try {
                None => client.next_update_try = Some(now + backoff),
                Some(t) if t <= now && current && !paced => updates.push((c, Action::SelfUpdate)),
                Some(_) => {}
            }
        }
        self.catch_up_stragglers()?;
        self.shuffle(&mut committer_actions);
        self.shuffle(&mut updates);
        committer_actions.extend(updates);
        committer_actions.truncate(MAX_RACERS);
        for (c, action) in committer_actions {
            self.perform(c, action)?;
        }
        Ok(())
    }

    /// A member still at an epoch whose commit the server ordered more
    /// than [`CATCH_UP_AFTER_MS`] ago (the server announces its epoch) asks
    /// for the commits from its epoch on (PROTOCOL.md §4.2, catch-up).
    fn catch_up_stragglers(&mut self) -> Result<(), String> {
        let now = self.now;
        let mut tally = Tally::default();
        for (c, client) in self.clients.iter_mut().enumerate() {
            let Some(session) = client.session.as_mut() else {
                continue;
            };
            let epoch = session.epoch();
            let overdue = self
                .ordered_at
                .get(usize::try_from(epoch).unwrap_or(usize::MAX))
                .is_some_and(|&t| t + CATCH_UP_AFTER_MS <= now);
            if session.is_removed() || !overdue {
                continue;
            }
            let missed: Vec<Vec<u8>> = self
                .commits
                .range(epoch..)
                .map(|(_, b)| b.clone())
                .collect();
            let start = Instant::now();
            let changes = session
                .catch_up(&missed, now)
                .map_err(|e| format!("member {c} could not catch up from epoch {epoch}: {e}"))?;
            tally.catch_ups += 1;
            tally.note_commit_time(start, u32::try_from(changes.len()).unwrap_or(1));
            tally.moved.push(c);
            for change in changes {
                client.after_change(&change, now, &self.frames, &mut tally);
            }
        }
        self.absorb(tally);
        Ok(())
    }

    fn perform(&mut self, c: usize, action: Action) -> Result<(), String> {
        let start = Instant::now();
        let backoff = self.jitter(UPDATE_BACKOFF_MS);
        // A member's leaf index stays the same while it is in the group.
        let leaf = |sim: &Sim, o: usize| {
            sim.clients[o]
                .session
                .as_ref()
                .map(MeetingSession::own_index)
                .ok_or_else(|| format!("member {o} has no session"))
        };
        let built = match action {
            Action::Batch => {
                self.clients[c].next_batch = self.now + COMMIT_SPACING_MS;
                self.build_batch(c)?
            }
            Action::Promote(o) => {
                let index = leaf(self, o)?;
                let session = self.session_mut(c)?;
                Some((session.promote(index).map_err(err)?, Work::Promote))
            }
            Action::HandOver(o) => {
                let index = leaf(self, o)?;
                let session = self.session_mut(c)?;
                Some((session.hand_over(index).map_err(err)?, Work::HandOver))
            }
            Action::SelfUpdate => {
                self.clients[c].next_update_try = Some(self.now + 50 + backoff);
                let session = self.session_mut(c)?;
                Some((session.self_update().map_err(err)?, Work::SelfUpdate))
            }
        };
        let Some((messages, work)) = built else {
            return Ok(());
        };
        let epoch = self.session_mut(c)?.epoch();
        self.submit(c, epoch, messages, work, start)
    }

    fn session_mut(&mut self, c: usize) -> Result<&mut MeetingSession, String> {
        self.clients[c]
            .session
            .as_mut()
            .ok_or_else(|| format!("client {c} has no session"))
    }

    fn user_of(&self, who: Who) -> &str {
        match who {
            Who::Client(c) => &self.clients[c].participant.user,
            Who::Rogue => ROGUE_USER,
        }
    }

    /// Committer `c` batches every join and leave request that reached the
    /// server (but its own leave) into one commit.
    fn build_batch(&mut self, c: usize) -> Result<Option<(CommitMessages, Work)>, String> {
        let now = self.now;
        let members: HashSet<String> = self.clients[c]
            .session
            .as_ref()
            .ok_or("the committer has no session")?
            .members()
            .into_iter()
            .map(|m| m.user)
            .collect();
        let mut key_packages = Vec::new();
        let mut joins = Vec::new();
        let mut leaves = Vec::new();
        let mut gone = Vec::new();
        for r in &self.requests {
            if r.at > now {
                continue;
            }
            match (r.join, r.who) {
                (true, Who::Client(j)) => {
                    let kp = self.clients[j].key_package.clone();
                    key_packages.push(kp.ok_or("a joiner has no key package")?);
                    joins.push(r.who);
                }
                (true, Who::Rogue) => {
                    let rogue = self.rogue.as_ref().ok_or("no rogue")?;
                    key_packages.push(rogue.key_package.clone());
                    joins.push(r.who);
                }
                (false, Who::Client(l)) if l != c => {
                    if members.contains(&self.clients[l].participant.user) {
                        leaves.push(l);
                    } else {
                        gone.push(l);
                    }
                }
                (false, _) => {}
            }
        }
        // The committer is at the server's epoch: whoever it does not see
        // has left already.
        self.requests
            .retain(|r| r.join || !matches!(r.who, Who::Client(l) if gone.contains(&l)));
        if key_packages.is_empty() && leaves.is_empty() {
            return Ok(None);
        }
        let remove: Vec<String> = leaves
            .iter()
            .map(|&l| self.clients[l].participant.user.clone())
            .collect();
        let remove: Vec<&str> = remove.iter().map(String::as_str).collect();
        match self
            .session_mut(c)?
            .change_membership(&key_packages, &remove)
        {
            Ok(batch) => Ok(Some((
                batch.messages,
                Work::Membership {
                    joins,
                    leaves,
                    refused: batch.refused.into_iter().map(|(user, _)| user).collect(),
                },
            ))),
            Err(MeetingError::AdmissionRefused { user, .. }) => {
                // Every join refused and nothing to remove: the batch makes
                // no commit, and the error names one refused joiner.
                self.refuse_join(&user);
                Ok(None)
            }
            Err(e) => Err(err(e)),
        }
    }

    fn refuse_join(&mut self, user: &str) {
        let before = self.requests.len();
        let requests = std::mem::take(&mut self.requests);
        self.requests = requests
            .into_iter()
            .filter(|r| !(r.join && self.user_of(r.who) == user))
            .collect();
        self.report.joins_refused_by_policy += (before - self.requests.len()) as u64;
    }

    /// The server gets member `by`'s commit for `epoch`: the first one for
    /// the epoch it orders next is ordered; any other is rejected.
    fn submit(
        &mut self,
        by: usize,
        epoch: u64,
        messages: CommitMessages,
        work: Work,
        start: Instant,
    ) -> Result<(), String> {
        if epoch != self.relay_epoch() {
            self.clients[by].awaiting_verdict = true;
            let delay = self.jitter(JITTER_MS);
            self.schedule(delay, Delivery::Rejected { to: by });
            return Ok(());
        }
        let now = self.now;
        let change = self.session_mut(by)?.commit_accepted(now).map_err(err)?;
        let mut tally = Tally::default();
        tally.note_commit_time(start, 1);
        let new_epoch = change.epoch;
        self.commits.insert(epoch, messages.commit);
        self.ordered_at.push(now);
        self.last_ordered_at = now;
        let key = self.clients[by].mls.signature_key();
        self.committer_keys.insert(key);
        if !matches!(work, Work::SelfUpdate) {
            self.membership_committer_keys.insert(key);
        }
        if change.organizer_changed {
            self.report.organizer_changes += 1;
        }
        match work {
            Work::SelfUpdate => {
                if !change.self_update {
                    self.violations
                        .push(format!("epoch {new_epoch}: a self-update was not one"));
                }
                self.report.self_updates += 1;
            }
            Work::Promote => self.report.role_commits += 1,
            Work::HandOver => {
                self.report.role_commits += 1;
                if let Some(Departure::HandOver { from }) = self.departure {
                    self.request_leave(from);
                    self.departure = Some(Departure::Removing { from });
                }
            }
            Work::Membership {
                joins,
                leaves,
                refused,
            } => {
                self.report.membership_commits += 1;
                if self.filling {
                    self.report.initial_commits += 1;
                }
                let admitted: Vec<Who> = joins
                    .into_iter()
                    .filter(|w| !refused.iter().any(|u| u == self.user_of(*w)))
                    .collect();
                self.report.max_batch = self.report.max_batch.max(admitted.len() + leaves.len());
                for user in &refused {
                    self.refuse_join(user);
                }
                if let Some(welcome) = messages.welcome {
                    self.welcomes.insert(new_epoch, welcome);
                }
                for who in &admitted {
                    match *who {
                        Who::Client(j) => {
                            self.clients[j].joined_epoch = Some(new_epoch);
                            let delay = self.jitter(JITTER_MS);
                            self.schedule(
                                delay,
                                Delivery::Welcome {
                                    to: j,
                                    epoch: new_epoch,
                                },
                            );
                            if self.rng.chance(0.05) {
                                let again = self.jitter(JITTER_MS * 3);
                                self.schedule(
                                    again,
                                    Delivery::Welcome {
                                        to: j,
                                        epoch: new_epoch,
                                    },
                                );
                            }
                        }
                        Who::Rogue => self.rogue_join(new_epoch)?,
                    }
                }
                for &l in &leaves {
                    self.clients[l].left_epoch = Some(new_epoch);
                }
                self.requests.retain(|r| {
                    let handled = if r.join {
                        admitted.contains(&r.who)
                    } else {
                        matches!(r.who, Who::Client(l) if leaves.contains(&l))
                    };
                    !handled
                });
            }
        }
        self.clients[by].after_change(&change, now, &self.frames, &mut tally);
        self.absorb(tally);
        self.rogue_follow(epoch)?;
        self.relay_commit(epoch, by);
        self.update_relay_view(by)
    }

    // --- the rogue member ---

    fn rogue_join(&mut self, epoch: u64) -> Result<(), String> {
        let welcome = self
            .welcomes
            .get(&epoch)
            .ok_or("no Welcome for the rogue")?;
        let welcome = MlsMessage::from_bytes(welcome).map_err(err)?;
        let Some(rogue) = self.rogue.as_mut() else {
            return Ok(());
        };
        let (group, _) = rogue
            .client
            .join_group(None, &welcome, None)
            .map_err(|e| format!("the rogue could not join: {e}"))?;
        let code = meeting_code(group.epoch_authenticator().map_err(err)?.as_bytes());
        rogue.group = Some(group);
        self.codes.entry(epoch).or_default().insert(code.groups());
        Ok(())
    }

    /// The rogue applies the commit the server just ordered for `epoch`,
    /// and its meeting code joins the comparison.
    fn rogue_follow(&mut self, epoch: u64) -> Result<(), String> {
        let Some(group) = self.rogue.as_mut().and_then(|r| r.group.as_mut()) else {
            return Ok(());
        };
        if group.current_epoch() != epoch {
            return Ok(());
        }
        let commit = self.commits.get(&epoch).ok_or("no such commit")?;
        let message = MlsMessage::from_bytes(commit).map_err(err)?;
        group
            .process_incoming_message(message)
            .map_err(|e| format!("the rogue could not follow commit {epoch}: {e}"))?;
        let code = meeting_code(group.epoch_authenticator().map_err(err)?.as_bytes());
        self.codes
            .entry(group.current_epoch())
            .or_default()
            .insert(code.groups());
        Ok(())
    }

    /// The server injects a forged commit: the rogue removing a member, the
    /// rogue adding one (and the Welcome to it), or an impostor's external
    /// commit claiming the organizer's user and platform.
    fn forge(&mut self) -> Result<(), String> {
        let r = self.rng.next();
        let organizer = self
            .organizer_client()
            .map(|o| credential_identity(&self.clients[o].participant));
        let Some(rogue) = self.rogue.as_mut() else {
            return Ok(());
        };
        let Some(group) = rogue.group.as_mut() else {
            return Ok(());
        };
        let kind = rogue.forgeries % 3;
        rogue.forgeries += 1;
        let own = group.current_member_index();
        let others: Vec<u32> = group
            .roster()
            .members_iter()
            .map(|m| m.index)
            .filter(|&i| i != own)
            .collect();
        let organizer_leaf = organizer.as_ref().and_then(|id| {
            group
                .roster()
                .members_iter()
                .find(|m| {
                    m.signing_identity
                        .credential
                        .as_basic()
                        .is_some_and(|b| b.identifier() == id.as_slice())
                })
                .map(|m| m.index)
        });
        match (kind, organizer, organizer_leaf) {
            (0, ..) => {
                let Some(&target) =
                    others.get(usize::try_from(r).unwrap_or(0) % others.len().max(1))
                else {
                    return Ok(());
                };
                let output = group
                    .commit_builder()
                    .remove_member(target)
                    .and_then(|b| b.build())
                    .map_err(|e| format!("the rogue could not build a removal: {e}"))?;
                group.clear_pending_commit();
                let commit = output.commit_message.to_bytes().map_err(err)?;
                self.inject(commit, Forgery::Participant);
            }
            (1, ..) => {
                let intruder = Participant::new(format!("intruder{r}"), Platform::Ios);
                let client = MlsClient::new(&credential_identity(&intruder)).map_err(err)?;
                let key_package =
                    MlsMessage::from_bytes(&client.key_package().map_err(err)?).map_err(err)?;
                let output = group
                    .commit_builder()
                    .add_member(key_package)
                    .and_then(|b| b.build())
                    .map_err(|e| format!("the rogue could not build an add: {e}"))?;
                group.clear_pending_commit();
                let commit = output.commit_message.to_bytes().map_err(err)?;
                let welcome = output
                    .welcome_messages
                    .first()
                    .ok_or("the rogue's add made no Welcome")?
                    .to_bytes()
                    .map_err(err)?;
                self.inject(commit, Forgery::Participant);
                match MeetingSession::join(
                    &client,
                    intruder,
                    &welcome,
                    self.policy.clone(),
                    self.config,
                    self.now,
                ) {
                    Err(MeetingError::UnauthorizedCommitter { .. }) => {
                        self.report.forged_welcomes_refused += 1;
                    }
                    Ok(_) => self
                        .violations
                        .push("a Welcome from a plain participant was accepted".into()),
                    Err(e) => self
                        .violations
                        .push(format!("a Welcome from a plain participant: {e}")),
                }
            }
            (_, Some(identity), Some(leaf)) => {
                let info = group
                    .group_info_message_allowing_ext_commit(true)
                    .map_err(err)?;
                let impostor = raw_client(&identity)?;
                let (_, commit) = impostor
                    .external_commit_builder()
                    .and_then(|b| b.with_removal(leaf).build(info))
                    .map_err(|e| format!("the impostor could not build an external commit: {e}"))?;
                let commit = commit.to_bytes().map_err(err)?;
                self.inject(commit, Forgery::External);
            }
            _ => {}
        }
        Ok(())
    }

    /// Every member gets the forged commit: it must refuse it, unchanged. A
    /// member that has not reached the forgery's epoch yet holds it beside
    /// the real commit (which is the one that applies); the server sends it
    /// again if that member stops at the epoch.
    fn inject(&mut self, commit: Vec<u8>, forgery: Forgery) {
        self.report.unauthorized_commits_injected += 1;
        self.forged.push(Forged {
            epoch: self.relay_epoch(),
            commit,
            forgery,
            judged: HashSet::new(),
        });
        let f = self.forged.len() - 1;
        for c in 0..self.clients.len() {
            self.inject_into(c, f);
        }
    }

    /// Sends member `c` the forgeries for the epoch it is at that it did not
    /// judge yet.
    fn judge_forgeries(&mut self, c: usize) {
        let Some(epoch) = self.clients[c].session.as_ref().map(MeetingSession::epoch) else {
            return;
        };
        for f in 0..self.forged.len() {
            let forged = &self.forged[f];
            if forged.epoch == epoch && !forged.judged.contains(&c) {
                self.inject_into(c, f);
            }
        }
    }

    fn inject_into(&mut self, c: usize, f: usize) {
        let now = self.now;
        let forged = &mut self.forged[f];
        let Some(session) = self.clients[c].session.as_mut() else {
            return;
        };
        if session.is_removed() {
            return;
        }
        let before = (session.epoch(), session.code());
        let result = session.handle_commit(&forged.commit, now);
        let after = (session.epoch(), session.code());
        let r = &mut self.report;
        let mut judged = true;
        match (result, forged.forgery) {
            (Err(MeetingError::UnauthorizedCommitter { .. }), Forgery::Participant)
            | (Err(MeetingError::ExternalCommitRefused), Forgery::External) => {
                r.unauthorized_commits_refused += 1;
            }
            (Ok(changes), Forgery::Participant) if changes.is_empty() => {
                r.unauthorized_commits_held += 1;
                judged = false;
            }
            (Err(MeetingError::TooManyHeldCommits { .. }), Forgery::Participant) => {
                r.unauthorized_commits_held += 1;
                judged = false;
            }
            (Ok(_), _) => {
                r.unauthorized_commits_accepted += 1;
                self.violations
                    .push(format!("member {c} accepted a forged commit"));
            }
            (Err(e), _) => self.violations.push(format!(
                "member {c} refused a forged commit for another reason: {e}"
            )),
        }
        if judged {
            forged.judged.insert(c);
        }
        if after != before {
            self.violations
                .push(format!("a forged commit changed member {c}'s state"));
        }
    }

    /// Delivers everything due up to `until`. Members do not touch each
    /// other's state, so each member's deliveries of the tick run in order,
    /// members side by side.
    fn run_until(&mut self, until: u64) -> Result<(), String> {
        let mut batch: Vec<Vec<(u64, Delivery)>> = Vec::new();
        batch.resize_with(self.clients.len(), Vec::new);
        let mut any = false;
        while let Some(Reverse((at, _, delivery))) = self.queue.peek().copied() {
            if at > until {
                break;
            }
            self.queue.pop();
            if let Some(deliveries) = batch.get_mut(delivery.to()) {
                deliveries.push((at, delivery));
                any = true;
            }
        }
        if any {
            let shared = Shared {
                frames: &self.frames,
                commits: &self.commits,
                welcomes: &self.welcomes,
                policy: &self.policy,
                config: self.config,
            };
            let tally = deliver_all(&mut self.clients, batch, &shared, self.workers)?;
            self.now = self.now.max(until);
            self.absorb(tally);
        }
        self.now = self.now.max(until);
        Ok(())
    }

    /// Whether everything asked of the committers is done and no commit
    /// waits for the server's answer.
    fn settled(&self) -> bool {
        let co = self.staying_co_organizers().len();
        self.requests.is_empty()
            && self.departure.is_none()
            && self.departures_due == 0
            && (co >= self.co_organizers || self.promotable().is_empty())
            && !self.clients.iter().any(|c| c.awaiting_verdict)
    }
}

/// The rogue member's user.
const ROGUE_USER: &str = "rogue";

fn platform_for(rng: &mut Rng) -> Platform {
    match rng.next() % 20 {
        0 => Platform::Web, // refused by policy: exercises admission
        1..=6 => Platform::DesktopWindows,
        7..=10 => Platform::DesktopMac,
        11..=15 => Platform::Ios,
        _ => Platform::Android,
    }
}

fn check_args(args: &MeetingArgs) -> Result<(), String> {
    if !(0.0..=1.0).contains(&args.loss) {
        return Err("--loss must be within 0..=1".into());
    }
    let cap = u32::try_from(MAX_E2EE_MEETING_PARTICIPANTS).unwrap_or(u32::MAX);
    if args.participants == 0 || args.participants > cap {
        return Err(format!("--participants must be within 1..={cap}"));
    }
    // The organizer and the rogue are never promoted.
    let promotable = args
        .participants
        .saturating_sub(if args.participants >= 3 { 2 } else { 1 });
    let max_co = promotable.min(31);
    if args.co_organizers > max_co {
        return Err(format!(
            "--co-organizers must be at most {max_co} with {} participants",
            args.participants
        ));
    }
    match args.organizer_leaves_at {
        Some(0) => return Err("--organizer-leaves-at must be positive".into()),
        Some(_) if args.co_organizers == 0 => {
            return Err("--organizer-leaves-at needs --co-organizers 1 or more".into());
        }
        _ => {}
    }
    if args.update_every == 0 {
        return Err("--update-every must be positive".into());
    }
    Ok(())
}

pub(crate) fn run(args: &MeetingArgs) -> Result<(), String> {
    check_args(args)?;
    let suite = CipherSuite::from_id(args.common.suite).map_err(err)?;
    let seed = match args.common.seed {
        Some(s) => s,
        None => {
            let mut b = [0u8; 8];
            getrandom_fill(&mut b)?;
            u64::from_le_bytes(b)
        }
    };
    let mut policy = PolicyDocument::new();
    policy
        .update_policy(
            "Global",
            PolicyUpdate {
                meeting: Some(E2eeSetting::DisabledUserOverride),
                ..Default::default()
            },
        )
        .map_err(err)?;
    let decision = policy.evaluate_meeting("organizer", true, &[]);
    let config = MeetingConfig {
        suite,
        update_every: args.update_every,
        max_held_frames: MAX_HELD_FRAMES,
        ..MeetingConfig::default()
    };

    let mut sim = Sim {
        config,
        policy: policy.clone(),
        co_organizers: usize::try_from(args.co_organizers).unwrap_or(usize::MAX),
        rng: Rng(seed),
        loss: args.loss,
        now: 0,
        seq: 0,
        queue: BinaryHeap::new(),
        clients: Vec::new(),
        by_key: HashMap::new(),
        rogue: None,
        commits: BTreeMap::new(),
        welcomes: HashMap::new(),
        requests: Vec::new(),
        relay: RelayView::default(),
        last_ordered_at: 0,
        ordered_at: Vec::new(),
        filling: true,
        departure: None,
        departures_due: 0,
        departures_started: 0,
        committer_keys: BTreeSet::new(),
        membership_committer_keys: BTreeSet::new(),
        frames: Vec::new(),
        forged: Vec::new(),
        workers: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
        codes: BTreeMap::new(),
        roles: BTreeMap::new(),
        violations: Vec::new(),
        report: Report {
            participants: args.participants,
            churn: args.churn,
            co_organizers: args.co_organizers,
            update_every: args.update_every,
            ..Report::default()
        },
    };
    let new_client = |sim: &mut Sim, user: String, platform: Platform| -> Result<usize, String> {
        let participant = Participant::new(user, platform);
        let mls = MlsClient::new(&credential_identity(&participant)).map_err(err)?;
        let id = sim.clients.len();
        sim.by_key.insert(mls.signature_key(), id);
        sim.clients.push(Client {
            participant,
            mls,
            key_package: None,
            session: None,
            removed_at: None,
            joined_epoch: None,
            left_epoch: None,
            leaving: false,
            awaiting_verdict: false,
            next_update_try: None,
            next_batch: 0,
            pending: HashSet::new(),
        });
        Ok(id)
    };
    let request_join = |sim: &mut Sim, id: usize, at: u64| -> Result<(), String> {
        sim.clients[id].key_package = Some(sim.clients[id].mls.key_package().map_err(err)?);
        sim.requests.push(Request {
            who: Who::Client(id),
            join: true,
            at,
        });
        Ok(())
    };

    let organizer = new_client(&mut sim, "organizer".into(), Platform::DesktopMac)?;
    let session = MeetingSession::create(
        &sim.clients[organizer].mls,
        sim.clients[organizer].participant.clone(),
        &decision,
        policy,
        config,
        0,
    )
    .map_err(err)?;
    sim.codes
        .entry(0)
        .or_default()
        .insert(session.code().groups());
    sim.clients[organizer].session = Some(session);
    sim.clients[organizer].joined_epoch = Some(0);
    sim.update_relay_view(organizer)?;

    // The starting members ask to join within the first second; the
    // committers batch what reached the server. From 3 members on, one of
    // them is the server's rogue.
    let fill_start = Instant::now();
    let mut next_user = 1u32;
    let mut initial = Vec::new();
    let regular = if args.participants >= 3 {
        let rogue_identity =
            credential_identity(&Participant::new(ROGUE_USER, Platform::DesktopWindows));
        let client = raw_client(&rogue_identity)?;
        let key_package = client
            .generate_key_package_message(Default::default(), Default::default(), None)
            .and_then(|m| m.to_bytes())
            .map_err(err)?;
        sim.rogue = Some(Rogue {
            client,
            group: None,
            key_package,
            forgeries: 0,
        });
        let at = sim.jitter(FILL_MS);
        sim.requests.push(Request {
            who: Who::Rogue,
            join: true,
            at,
        });
        args.participants - 2
    } else {
        args.participants - 1
    };
    for _ in 0..regular {
        let platform = match sim.rng.next() % 2 {
            0 => Platform::DesktopWindows,
            _ => Platform::Android,
        };
        let id = new_client(&mut sim, format!("user{next_user}"), platform)?;
        next_user += 1;
        let at = sim.jitter(FILL_MS);
        request_join(&mut sim, id, at)?;
        initial.push(id);
    }
    loop {
        sim.act()?;
        let t = sim.now + TICK_MS;
        sim.run_until(t)?;
        let rogue_in = sim.rogue.as_ref().is_none_or(|r| r.group.is_some());
        // Everyone admitted has a session (a joiner the policy refused has
        // no request left and never joins).
        let all_in = initial.iter().all(|&c| {
            let c = &sim.clients[c];
            c.session.is_some() || c.joined_epoch.is_none()
        });
        if rogue_in && all_in && sim.requests.is_empty() {
            break;
        }
        if sim.now > FILL_MS + MAX_TAIL_MS {
            return Err("the starting members could not all join".into());
        }
    }
    sim.report.admit_all_ms = fill_start.elapsed().as_secs_f64() * 1000.0;
    let admitted = initial.len() as u64 + u64::from(sim.rogue.is_some());
    sim.report.joins_per_initial_commit =
        admitted as f64 / sim.report.initial_commits.max(1) as f64;
    sim.filling = false;

    // Media flows; the organizer promotes co-organizers; then churn, while
    // the server forges commits now and then.
    let start = sim.now;
    let mut next_churn = start + SETTLE_MS;
    let mut next_forgery = start + SETTLE_MS / 4;
    let mut churn_done = 0;
    let mut next_frame: Vec<u64> = Vec::new();
    loop {
        let tick = sim.now + TICK_MS;
        // Media: each joined member sends every FRAME_INTERVAL_MS, with its
        // own phase.
        while next_frame.len() < sim.clients.len() {
            let phase = sim.jitter(FRAME_INTERVAL_MS);
            next_frame.push(sim.now + phase);
        }
        for (c, next) in next_frame.iter_mut().enumerate() {
            if *next <= tick {
                sim.send_media(c)?;
                *next += FRAME_INTERVAL_MS;
            }
        }
        if churn_done < args.churn && next_churn <= tick {
            // Committers leave only as the organizer's departures have them.
            let members: Vec<usize> = (0..sim.clients.len())
                .filter(|&c| sim.is_staying_member(c) && !sim.relay.committers.contains(&c))
                .collect();
            let joining = sim.requests.iter().filter(|r| r.join).count();
            let count = sim.relay.members + joining;
            let leave = !members.is_empty()
                && (count >= MAX_E2EE_MEETING_PARTICIPANTS || sim.rng.chance(0.5));
            if leave {
                if let Some(pick) = sim.pick(&members) {
                    sim.request_leave(pick);
                }
            } else {
                let platform = platform_for(&mut sim.rng);
                let id = new_client(&mut sim, format!("user{next_user}"), platform)?;
                next_user += 1;
                let now = sim.now;
                request_join(&mut sim, id, now)?;
            }
            churn_done += 1;
            next_churn += COMMIT_SPACING_MS;
            if let Some(n) = args.organizer_leaves_at
                && churn_done % n == 0
            {
                sim.departures_due += 1;
            }
        }
        if next_forgery <= tick {
            sim.forge()?;
            next_forgery += if next_forgery < start + SETTLE_MS * 3 / 4 {
                SETTLE_MS / 4
            } else {
                FORGE_EVERY_MS
            };
        }
        sim.act()?;
        sim.run_until(tick)?;
        if churn_done >= args.churn && sim.now >= next_churn && sim.settled() {
            break;
        }
        if sim.now > next_churn + MAX_TAIL_MS {
            return Err("the committers did not finish the joins and leaves asked".into());
        }
    }
    // Let everything in flight arrive (the longest delay is ~1.6 s), and
    // members that lost a commit catch up.
    let end = sim.now + 3_000;
    while sim.now < end {
        sim.catch_up_stragglers()?;
        let t = sim.now + TICK_MS;
        sim.run_until(t)?;
    }

    finish(&mut sim)?;
    if args.common.json {
        println!("{}", serde_json::to_string(&sim.report).map_err(err)?);
    } else {
        print_text(&sim.report);
    }
    let r = &sim.report;
    let mut failures = std::mem::take(&mut sim.violations);
    failures.dedup();
    if !r.codes_agree_every_epoch {
        failures.push("meeting codes disagreed".to_owned());
    }
    if !r.roles_agree_every_epoch {
        failures.push("members disagreed on the roles".to_owned());
    }
    if r.frames_lost_in_transition > 0 || r.frames_decrypted != r.frames_delivered {
        failures.push(format!(
            "{} of {} delivered frames did not decrypt",
            r.frames_delivered - r.frames_decrypted.min(r.frames_delivered),
            r.frames_delivered
        ));
    }
    if r.frames_decrypted_by_non_members > 0 {
        failures.push(format!(
            "{} frames decrypted by non-members",
            r.frames_decrypted_by_non_members
        ));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// Fills in the report and checks that every member ended where the server
/// did.
fn finish(sim: &mut Sim) -> Result<(), String> {
    let epochs = sim.relay_epoch();
    let organizer = sim.organizer_client().ok_or("no organizer at the end")?;
    let session = sim.clients[organizer]
        .session
        .as_ref()
        .ok_or("the organizer has no session")?;
    let final_code = session.code();
    let final_organizer = session.organizer();
    let r = &mut sim.report;
    r.epochs = epochs;
    r.commits = sim.commits.len() as u64;
    r.final_members = session.members().len();
    r.final_organizer = sim.clients[organizer].participant.user.clone();
    r.final_code = final_code.to_string();
    r.committers = sim.committer_keys.len();
    r.membership_committers = sim.membership_committer_keys.len();
    r.codes_agree_every_epoch =
        sim.codes.values().all(|codes| codes.len() == 1) && sim.codes.len() as u64 == epochs + 1;
    r.roles_agree_every_epoch = sim.roles.values().all(|seen| seen.len() == 1);
    r.frames_lost_in_transition = sim.clients.iter().map(|c| c.pending.len() as u64).sum();
    for (c, client) in sim.clients.iter().enumerate() {
        let Some(s) = client.session.as_ref() else {
            continue;
        };
        if s.is_removed() != client.left_epoch.is_some() {
            sim.violations
                .push(format!("member {c} does not know whether it was removed"));
            continue;
        }
        if s.is_removed() {
            continue;
        }
        if s.epoch() != epochs || s.code() != final_code || s.missing_commits_from().is_some() {
            sim.violations.push(format!(
                "member {c} ended at epoch {} of {epochs}",
                s.epoch()
            ));
        } else if s.organizer() != final_organizer {
            sim.violations
                .push(format!("member {c} sees another organizer"));
        }
    }
    if let Some(group) = sim.rogue.as_ref().and_then(|r| r.group.as_ref())
        && group.current_epoch() != epochs
    {
        sim.violations.push("the rogue fell behind".into());
    }
    Ok(())
}

fn getrandom_fill(buf: &mut [u8]) -> Result<(), String> {
    use callseal_core::identity::{Entropy, OsEntropy};
    OsEntropy.fill(buf).map_err(err)
}

fn print_text(r: &Report) {
    let yes = |b: bool| if b { "yes" } else { "NO" };
    println!(
        "callseal demo meeting: an end-to-end encrypted meeting with churn over an untrusted server"
    );
    println!(
        "  {} members at the start in {} commits ({:.1} joins each, {:.0} ms), then {} joins and leaves ({} refused by policy)",
        r.participants,
        r.initial_commits,
        r.joins_per_initial_commit,
        r.admit_all_ms,
        r.churn,
        r.joins_refused_by_policy
    );
    println!(
        "  {} commits, epoch {}: {} membership (up to {} changes each), {} role changes, {} self-updates (every {} changes)",
        r.commits,
        r.epochs,
        r.membership_commits,
        r.max_batch,
        r.role_commits,
        r.self_updates,
        r.update_every
    );
    println!(
        "  {} members committed ({} of them membership or role changes); organizer changed {} times (now {}); {} races lost, {} own commits discarded",
        r.committers,
        r.membership_committers,
        r.organizer_changes,
        r.final_organizer,
        r.commit_races_lost,
        r.own_commits_discarded
    );
    println!(
        "  meeting codes agree in every epoch: {}   roles agree: {}   (now {}, {} members)",
        yes(r.codes_agree_every_epoch),
        yes(r.roles_agree_every_epoch),
        r.final_code,
        r.final_members
    );
    println!(
        "  server: {} duplicate commits and {} duplicate Welcomes refused, {} commits held for a gap, {} dropped, {} catch-ups",
        r.duplicate_commits_refused,
        r.duplicate_welcomes_refused,
        r.commits_held_for_gaps,
        r.commits_dropped,
        r.catch_ups
    );
    println!(
        "  forged: {} commits injected, refused {} times (held {} times until the real one came), accepted {} times; {} forged Welcomes refused",
        r.unauthorized_commits_injected,
        r.unauthorized_commits_refused,
        r.unauthorized_commits_held,
        r.unauthorized_commits_accepted,
        r.forged_welcomes_refused
    );
    println!(
        "  media: {} frames sent, {} deliveries to members of the sender's epoch, {} decrypted ({} after waiting for their epoch)",
        r.frames_sent, r.frames_delivered, r.frames_decrypted, r.frames_held_then_released
    );
    println!(
        "  lost in transition: {}   decrypted by non-members: {}   slowest commit: {:.1} ms",
        r.frames_lost_in_transition, r.frames_decrypted_by_non_members, r.max_commit_ms
    );
}
