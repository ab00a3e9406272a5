//! `callseal demo meeting`: an end-to-end encrypted meeting with churn over
//! an untrusted server (docs/PROTOCOL.md §4).
//!
//! The organizer creates the MLS group; participants join and leave, one
//! commit each. The server orders commits and relays everything, delivering
//! commits late, twice or out of order, and media with loss, reordering and
//! jitter. Every member sends media all along. The report counts every
//! delivery to a member of the sender's epoch and whether it decrypted.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::time::Instant;

use callseal_core::frame::CipherSuite;
use callseal_core::frame::media::Codec;
use callseal_core::meeting::{
    EpochChange, MeetingConfig, MeetingError, MeetingFrame, MeetingSession, MlsClient, Received,
    credential_identity,
};
use callseal_core::policy::{
    E2eeSetting, MAX_E2EE_MEETING_PARTICIPANTS, Participant, Platform, PolicyDocument, PolicyUpdate,
};
use clap::Args;
use serde::Serialize;

use crate::DemoOptions;
use crate::rng::Rng;

#[derive(Args)]
pub(crate) struct MeetingArgs {
    /// Members at the start, the organizer included.
    #[arg(long, default_value_t = 10)]
    participants: u32,
    /// Joins and leaves after the start, one commit each.
    #[arg(long, default_value_t = 20)]
    churn: u32,
    /// Fraction of media deliveries the server drops; it also reorders and
    /// delays media (up to 200 ms of jitter) and delivers commits late,
    /// twice or out of order.
    #[arg(long, default_value_t = 0.05)]
    loss: f64,
    #[command(flatten)]
    common: DemoOptions,
}

/// Milliseconds between commits during churn.
const COMMIT_SPACING_MS: u64 = 100;
/// Milliseconds between two frames of one member.
const FRAME_INTERVAL_MS: u64 = 60;
/// Media jitter: deliveries are delayed by up to this.
const JITTER_MS: u64 = 200;
/// How long the server keeps forwarding media to a removed member.
const REMOVED_LISTEN_MS: u64 = 1_000;

#[derive(Serialize, Default)]
struct Report {
    participants: u32,
    churn: u32,
    epochs: u64,
    commits: u64,
    codes_agree_every_epoch: bool,
    frames_sent: u64,
    frames_delivered: u64,
    frames_decrypted: u64,
    frames_lost_in_transition: u64,
    frames_decrypted_by_non_members: u64,
    frames_held_then_released: u64,
    duplicate_commits_refused: u64,
    commits_held_for_gaps: u64,
    joins_refused_by_policy: u64,
    max_commit_ms: f64,
    final_members: usize,
    final_code: String,
}

/// What the server delivers, and when.
enum Delivery {
    Commit { to: usize, epoch: u64 },
    Welcome { to: usize, epoch: u64 },
    Frame { to: usize, frame: usize },
}

/// One sent media frame.
struct SentFrame {
    epoch: u64,
    bytes: Vec<u8>,
}

/// One client: a user and, once joined, its session.
struct Client {
    participant: Participant,
    mls: MlsClient,
    session: Option<MeetingSession>,
    removed_at: Option<u64>,
    /// Epoch in which the Welcome put this client in the group.
    joined_epoch: Option<u64>,
    /// Epoch at which the organizer removed it.
    left_epoch: Option<u64>,
}

struct Sim {
    /// The meeting's configuration: every member uses the same.
    config: MeetingConfig,
    rng: Rng,
    loss: f64,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    deliveries: Vec<Option<Delivery>>,
    clients: Vec<Client>,
    commits: BTreeMap<u64, Vec<u8>>,
    welcomes: HashMap<u64, Vec<u8>>,
    frames: Vec<SentFrame>,
    /// (receiver, frame) deliveries to members of the sender's epoch that
    /// have not decrypted yet.
    pending: BTreeSet<(usize, usize)>,
    /// Frame ids by (sender index, epoch tag, payload id) for held frames.
    codes: BTreeMap<u64, BTreeSet<String>>,
    report: Report,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Sim {
    fn schedule(&mut self, delay: u64, delivery: Delivery) {
        self.seq += 1;
        let id = self.deliveries.len();
        self.deliveries.push(Some(delivery));
        self.queue.push(Reverse((self.now + delay, self.seq, id)));
    }

    fn jitter(&mut self, max: u64) -> u64 {
        self.rng.next() % (max + 1)
    }

    fn is_member(&self, client: usize, epoch: u64) -> bool {
        let c = &self.clients[client];
        c.joined_epoch.is_some_and(|j| j <= epoch) && c.left_epoch.is_none_or(|l| epoch < l)
    }

    fn record_code(&mut self, epoch: u64, code: String) {
        self.codes.entry(epoch).or_default().insert(code);
    }

    fn organizer(&mut self) -> Result<&mut MeetingSession, String> {
        self.clients[0]
            .session
            .as_mut()
            .ok_or_else(|| "the organizer has no session".to_owned())
    }

    /// Sends one commit of the organizer's to every other joined client,
    /// late, twice or out of order now and then.
    fn relay_commit(&mut self, epoch: u64) {
        for to in 1..self.clients.len() {
            let c = &self.clients[to];
            if c.session.is_none() || c.removed_at.is_some() {
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

    /// The organizer adds client `new`: admission, commit, the server
    /// orders it, the organizer applies it.
    fn add(&mut self, new: usize) -> Result<(), String> {
        let key_package = self.clients[new].mls.key_package().map_err(err)?;
        let start = Instant::now();
        let now = self.now;
        let organizer = self.organizer()?;
        let messages = match organizer.add(&key_package) {
            Ok(m) => m,
            Err(MeetingError::AdmissionRefused { .. }) => {
                self.report.joins_refused_by_policy += 1;
                return Ok(());
            }
            Err(e) => return Err(err(e)),
        };
        let change = organizer.commit_accepted(now).map_err(err)?;
        self.note_commit_time(start);
        let epoch = change.epoch;
        self.commits.insert(epoch - 1, messages.commit);
        if let Some(welcome) = messages.welcome {
            self.welcomes.insert(epoch, welcome);
        }
        self.clients[new].joined_epoch = Some(epoch);
        self.after_change(0, &change);
        self.relay_commit(epoch - 1);
        let delay = self.jitter(JITTER_MS);
        self.schedule(delay, Delivery::Welcome { to: new, epoch });
        Ok(())
    }

    fn remove(&mut self, gone: usize) -> Result<(), String> {
        let user = self.clients[gone].participant.user.clone();
        let start = Instant::now();
        let now = self.now;
        let organizer = self.organizer()?;
        let messages = organizer.remove(&user).map_err(err)?;
        let change = organizer.commit_accepted(now).map_err(err)?;
        self.note_commit_time(start);
        let epoch = change.epoch;
        self.commits.insert(epoch - 1, messages.commit);
        self.clients[gone].left_epoch = Some(epoch);
        self.after_change(0, &change);
        self.relay_commit(epoch - 1);
        Ok(())
    }

    fn note_commit_time(&mut self, start: Instant) {
        self.note_commit_time_per(start, 1);
    }

    fn note_commit_time_per(&mut self, start: Instant, commits: u32) {
        let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(commits);
        if ms > self.report.max_commit_ms {
            self.report.max_commit_ms = ms;
        }
    }

    fn after_change(&mut self, client: usize, change: &EpochChange) {
        if change.removed_self {
            self.clients[client].removed_at = Some(self.now);
            return;
        }
        self.record_code(change.epoch, change.code.to_string());
        for frame in &change.released {
            self.report.frames_held_then_released += 1;
            self.decrypted(client, frame);
        }
    }

    /// Counts a decrypted frame: which sent frame it is comes from its
    /// payload (sender client and frame id).
    fn decrypted(&mut self, receiver: usize, frame: &MeetingFrame) {
        let Some(id) = frame
            .payload
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
        else {
            return;
        };
        let Ok(id) = usize::try_from(id) else { return };
        if self.pending.remove(&(receiver, id)) {
            self.report.frames_decrypted += 1;
        } else if let Some(sent) = self.frames.get(id)
            && !self.is_member(receiver, sent.epoch)
        {
            self.report.frames_decrypted_by_non_members += 1;
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

    fn deliver(&mut self, delivery: Delivery) -> Result<(), String> {
        match delivery {
            Delivery::Commit { to, epoch } => {
                let Some(commit) = self.commits.get(&epoch).cloned() else {
                    return Ok(());
                };
                let now = self.now;
                let Some(session) = self.clients[to].session.as_mut() else {
                    return Ok(());
                };
                if session.is_removed() {
                    return Ok(());
                }
                let before = session.epoch();
                let start = Instant::now();
                let result = session.handle_commit(&commit, now);
                match result {
                    Ok(changes) => {
                        // One call may apply several commits held for a gap.
                        let applied = u32::try_from(changes.len()).unwrap_or(1).max(1);
                        self.note_commit_time_per(start, applied);
                        if changes.is_empty() && epoch > before {
                            self.report.commits_held_for_gaps += 1;
                        }
                        for change in changes {
                            self.after_change(to, &change);
                        }
                    }
                    Err(MeetingError::StaleCommit { .. }) => {
                        self.report.duplicate_commits_refused += 1;
                    }
                    Err(e) => return Err(format!("member {to} refused commit {epoch}: {e}")),
                }
            }
            Delivery::Welcome { to, epoch } => {
                let Some(welcome) = self.welcomes.remove(&epoch) else {
                    return Ok(());
                };
                let c = &self.clients[to];
                let session = MeetingSession::join(
                    &c.mls,
                    c.participant.clone(),
                    &welcome,
                    self.clients[0]
                        .session
                        .as_ref()
                        .map(|s| s.policy().clone())
                        .unwrap_or_default(),
                    self.config,
                    self.now,
                )
                .map_err(err)?;
                self.record_code(session.epoch(), session.code().to_string());
                self.clients[to].session = Some(session);
                // Commits ordered after the Welcome's epoch, sent before this
                // client had a session, are relayed now.
                let later: Vec<u64> = self.commits.range(epoch..).map(|(e, _)| *e).collect();
                for e in later {
                    let delay = self.jitter(JITTER_MS);
                    self.schedule(delay, Delivery::Commit { to, epoch: e });
                }
            }
            Delivery::Frame { to, frame } => {
                let (sender_epoch, bytes) = match self.frames.get(frame) {
                    Some(f) => (f.epoch, f.bytes.clone()),
                    None => return Ok(()),
                };
                let member = self.is_member(to, sender_epoch);
                if member {
                    self.report.frames_delivered += 1;
                    self.pending.insert((to, frame));
                }
                let now = self.now;
                let Some(session) = self.clients[to].session.as_mut() else {
                    return Ok(());
                };
                if let Ok(Received::Frame(f)) = session.decrypt(&bytes, now) {
                    self.decrypted(to, &f);
                }
            }
        }
        Ok(())
    }

    /// Delivers everything due up to `until`.
    fn run_until(&mut self, until: u64) -> Result<(), String> {
        while let Some(Reverse((at, _, id))) = self.queue.peek().copied() {
            if at > until {
                break;
            }
            self.queue.pop();
            self.now = self.now.max(at);
            if let Some(delivery) = self.deliveries.get_mut(id).and_then(Option::take) {
                self.deliver(delivery)?;
            }
        }
        self.now = self.now.max(until);
        Ok(())
    }
}

fn platform_for(rng: &mut Rng) -> Platform {
    match rng.next() % 20 {
        0 => Platform::Web, // refused by policy: exercises admission
        1..=6 => Platform::DesktopWindows,
        7..=10 => Platform::DesktopMac,
        11..=15 => Platform::Ios,
        _ => Platform::Android,
    }
}

pub(crate) fn run(args: &MeetingArgs) -> Result<(), String> {
    if !(0.0..=1.0).contains(&args.loss) {
        return Err("--loss must be within 0..=1".into());
    }
    let cap = u32::try_from(MAX_E2EE_MEETING_PARTICIPANTS).unwrap_or(u32::MAX);
    if args.participants == 0 || args.participants > cap {
        return Err(format!("--participants must be within 1..={cap}"));
    }
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
        ..MeetingConfig::default()
    };

    let mut sim = Sim {
        config,
        rng: Rng(seed),
        loss: args.loss,
        now: 0,
        seq: 0,
        queue: BinaryHeap::new(),
        deliveries: Vec::new(),
        clients: Vec::new(),
        commits: BTreeMap::new(),
        welcomes: HashMap::new(),
        frames: Vec::new(),
        pending: BTreeSet::new(),
        codes: BTreeMap::new(),
        report: Report {
            participants: args.participants,
            churn: args.churn,
            ..Report::default()
        },
    };
    let new_client = |sim: &mut Sim, user: String, platform: Platform| -> Result<usize, String> {
        let participant = Participant::new(user, platform);
        let mls = MlsClient::new(&credential_identity(&participant)).map_err(err)?;
        sim.clients.push(Client {
            participant,
            mls,
            session: None,
            removed_at: None,
            joined_epoch: None,
            left_epoch: None,
        });
        Ok(sim.clients.len() - 1)
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
    sim.record_code(0, session.code().to_string());
    sim.clients[organizer].session = Some(session);
    sim.clients[organizer].joined_epoch = Some(0);

    // The starting members join one by one, before media starts.
    let mut next_user = 1u32;
    for _ in 1..args.participants {
        let platform = match sim.rng.next() % 2 {
            0 => Platform::DesktopWindows,
            _ => Platform::Android,
        };
        let id = new_client(&mut sim, format!("user{next_user}"), platform)?;
        next_user += 1;
        sim.add(id)?;
        let t = sim.now + 5;
        sim.run_until(t)?;
    }
    let t = sim.now + 1_000;
    sim.run_until(t)?;

    // Churn while everyone sends media.
    let start = sim.now;
    let end_of_churn = start + u64::from(args.churn) * COMMIT_SPACING_MS + 500;
    let mut next_commit = start + COMMIT_SPACING_MS;
    let mut churn_done = 0;
    let mut next_frame: Vec<u64> = Vec::new();
    while sim.now < end_of_churn {
        let tick = sim.now + 10;
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
        if churn_done < args.churn && next_commit <= tick {
            let members: Vec<usize> = (1..sim.clients.len())
                .filter(|&c| {
                    let c = &sim.clients[c];
                    c.joined_epoch.is_some() && c.left_epoch.is_none()
                })
                .collect();
            let count = members.len() + 1;
            let leave = !members.is_empty()
                && (count >= MAX_E2EE_MEETING_PARTICIPANTS || sim.rng.chance(0.5));
            if leave {
                let pick =
                    members[usize::try_from(sim.rng.next() % members.len() as u64).unwrap_or(0)];
                sim.remove(pick)?;
            } else {
                let platform = platform_for(&mut sim.rng);
                let id = new_client(&mut sim, format!("user{next_user}"), platform)?;
                next_user += 1;
                sim.add(id)?;
            }
            churn_done += 1;
            next_commit += COMMIT_SPACING_MS;
        }
        sim.run_until(tick)?;
    }
    // Let everything in flight arrive (the longest delay is ~1.6 s).
    let t = sim.now + 3_000;
    sim.run_until(t)?;

    let organizer = sim.clients[0]
        .session
        .as_ref()
        .ok_or("the organizer has no session")?;
    let r = &mut sim.report;
    r.epochs = organizer.epoch();
    r.commits = sim.commits.len() as u64;
    r.final_members = organizer.members().len();
    r.final_code = organizer.code().to_string();
    r.codes_agree_every_epoch =
        sim.codes.values().all(|codes| codes.len() == 1) && sim.codes.len() as u64 == r.epochs + 1;
    r.frames_lost_in_transition = sim.pending.len() as u64;

    if args.common.json {
        println!("{}", serde_json::to_string(&sim.report).map_err(err)?);
    } else {
        print_text(&sim.report);
    }
    let r = &sim.report;
    let mut failures = Vec::new();
    if !r.codes_agree_every_epoch {
        failures.push("meeting codes disagreed".to_owned());
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

fn getrandom_fill(buf: &mut [u8]) -> Result<(), String> {
    use callseal_core::call::{Entropy, OsEntropy};
    OsEntropy.fill(buf).map_err(err)
}

fn print_text(r: &Report) {
    println!(
        "callseal demo meeting: an end-to-end encrypted meeting with churn over an untrusted server"
    );
    println!(
        "  {} members at the start, {} joins and leaves ({} refused by policy): {} commits, epoch {}",
        r.participants, r.churn, r.joins_refused_by_policy, r.commits, r.epochs
    );
    println!(
        "  meeting codes agree in every epoch: {}   (now {}, {} members)",
        if r.codes_agree_every_epoch {
            "yes"
        } else {
            "NO"
        },
        r.final_code,
        r.final_members
    );
    println!(
        "  server: {} duplicate commits refused, {} commits held for a gap",
        r.duplicate_commits_refused, r.commits_held_for_gaps
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
