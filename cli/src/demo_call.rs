//! `callseal demo call`: Alice calls Bob through a relay that carries both
//! the signalling and the media and is not trusted. The two endpoints run
//! the 1:1 handshake of protocol version 2 (docs/PROTOCOL.md §3: hybrid
//! X25519 + ML-KEM-768, bound to the intended peer), show their security
//! codes and send encrypted media both ways while their keys ratchet
//! forward, optionally with in-call DH + ML-KEM rekey exchanges (§3.9).
//!
//! Time is counted in media frames of the call (one per tick, alternating
//! Alice → Bob and Bob → Alice). A signalling message reaches the other side
//! `--signal-delay-frames` ticks after it was sent; a media frame arrives in
//! the tick it was sent, or one tick late when the relay reorders it, unless
//! the relay drops it. A receiver that falls more than its ratchet look-ahead
//! behind the peer's sender asks for a rekey (recovery) and follows the
//! peer's fresh keys within one and a half signalling round trips.
//!
//! With `--mitm` the relay runs its own handshake with each side and
//! re-encrypts the media: the call still works, and the codes differ.

use std::collections::{BTreeMap, VecDeque};

use callseal_core::call::{
    CallConfig, CallSession, ExpectedPeer, MEDIA_RATCHET_BITS, MediaUpdate, media_generation,
};
use callseal_core::frame::{CipherSuite, Error as FrameError, Receiver, ReceiverConfig, Sender};
use callseal_core::identity::{
    Entropy, EntropyError, IdentityKeyPair, MemoryIdentityStore, OsEntropy,
};
use clap::Args;
use serde::Serialize;

use crate::DemoOptions;
use crate::rng::Rng;

/// The largest `--signal-delay-frames`: the receivers' ratchet look-ahead
/// ([`ReceiverConfig::default`]'s `max_ratchet_steps`, 16). Within that
/// delay a side's sender cannot outrun the peer's look-ahead before the
/// peer learned that the previous rekey completed, so every recovery can
/// start at once.
const MAX_SIGNAL_DELAY: u32 = 16;

#[derive(Args)]
pub(crate) struct CallArgs {
    /// Media frames in the call, alternating Alice → Bob and Bob → Alice;
    /// also the demo's clock (one frame per tick).
    #[arg(long, default_value_t = 1000)]
    frames: u32,
    /// Fraction of media frames the relay drops (it also delays some by one
    /// frame, reordering them).
    #[arg(long, default_value_t = 0.05)]
    loss: f64,
    /// Both senders take a ratchet step every N frames of the call (0: never).
    /// A step needs no signalling; the receiver follows from the key id alone,
    /// up to 16 steps ahead.
    #[arg(long, default_value_t = 100)]
    rekey_every: u32,
    /// Run an in-call rekey exchange (fresh X25519 and ML-KEM-768 keys,
    /// PROTOCOL.md §3.9) every N frames of the call over the signalling, the
    /// offerer alternating between Alice (first) and Bob; skipped when that
    /// side's own rekey is still under way (0: never).
    #[arg(long, default_value_t = 0)]
    rekey_dh_every: u32,
    /// Signalling latency: a signalling message reaches the other side this
    /// many media frames of the call after it was sent (0 to 16; the
    /// handshake before the media is not timed). A receiver that fell
    /// behind follows fresh keys within 1.5 round trips, so a gap loses at
    /// most the frames the peer sends in 3 × N + 1 frames of the call
    /// (`frames_lost_bound_per_gap`).
    #[arg(long, default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_SIGNAL_DELAY)))]
    signal_delay_frames: u32,
    /// The relay runs its own handshake with each side and re-encrypts.
    #[arg(long)]
    mitm: bool,
    #[command(flatten)]
    common: DemoOptions,
}

#[derive(Serialize, Default)]
struct Report {
    alice_code: String,
    bob_code: String,
    codes_match: bool,
    alice_indicator: String,
    bob_indicator: String,
    /// The 1:1 call protocol version the sessions speak.
    protocol_version: u8,
    /// Every key derives from ML-KEM-768 as well as X25519.
    post_quantum: bool,
    suite: String,
    frames_sent: u32,
    frames_delivered: u32,
    frames_decrypted: u32,
    /// Delivered frames that did not decrypt, for any reason.
    frames_rejected: u32,
    /// Delivered frames that did not decrypt because the receiver had no key
    /// for them (yet, or any more): behind a gap longer than the look-ahead.
    frames_lost_to_key_changes: u32,
    /// Ratchet steps each sender took (`--rekey-every`).
    rekeys: u32,
    /// Completed rekey exchanges (DH + ML-KEM), over every signalling link.
    dh_rekeys: u32,
    /// Rekey exchanges started by `--rekey-dh-every`.
    dh_rekeys_scheduled: u32,
    /// Rekey exchanges a receiver started because it fell behind.
    recoveries: u32,
    alice_epoch: u32,
    bob_epoch: u32,
    signal_delay_frames: u32,
    signalling_messages: u32,
    /// Signalling messages a session ignored, by reason (a crossed rekey
    /// offer is `rekey-collision`).
    signalling_ignored: BTreeMap<String, u32>,
    /// Stretches of one direction's frames, under one key generation, that
    /// the receiver could not decrypt because it fell too far behind.
    gaps: u32,
    max_frames_lost_per_gap: u32,
    /// The most frames one gap can lose: the frames one side sends in one
    /// and a half signalling round trips (`3 × signal_delay_frames` frames of
    /// the call) plus the detecting frame's tick of reordering.
    frames_lost_bound_per_gap: u32,
    /// Frames lost without a gap that explains them (always 0).
    frames_lost_unexplained: u32,
    relay_saw_plaintext: bool,
    mitm: bool,
}

/// Deterministic entropy for seeded runs (never for real calls).
struct SeededEntropy(Rng);

impl Entropy for SeededEntropy {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
        self.0.fill(dest);
        Ok(())
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// One endpoint of a signalling link: its session and media.
struct Side {
    session: CallSession,
    store: MemoryIdentityStore,
    sender: Sender,
    receiver: Receiver,
    /// The epoch the sender sends under (behind the session's epoch while an
    /// answerer waits for RekeyDone).
    sender_epoch: u32,
    /// Ratchet steps since the sender's key generation began.
    sender_step: u64,
    /// The receiver fell behind the peer's current generation: offer a
    /// rekey as soon as this side may.
    wants_recovery: bool,
}

impl Side {
    fn new(mut session: CallSession, store: MemoryIdentityStore) -> Result<Self, String> {
        let (sender, receiver) = session.take_media().map_err(err)?;
        Ok(Self {
            session,
            store,
            sender,
            receiver,
            sender_epoch: 0,
            sender_step: 0,
            wants_recovery: false,
        })
    }

    fn apply(&mut self, update: MediaUpdate) -> Result<(), String> {
        let (switches, epoch) = (update.changes_sender(), update.epoch());
        update
            .apply(&mut self.sender, &mut self.receiver)
            .map_err(err)?;
        if switches {
            self.sender_epoch = epoch;
            self.sender_step = 0;
        }
        Ok(())
    }

    /// Whether this side may offer a rekey now: no offer of its own is
    /// pending, and its sender already runs on the session's epoch. An
    /// answerer still waiting for RekeyDone waits: its peer would stop
    /// following the generation it still sends under.
    fn may_offer(&self) -> bool {
        !self.session.rekey_pending() && !self.sender_epoch_lags()
    }

    /// An answerer that derived the new epoch but still sends under the
    /// previous one.
    fn sender_epoch_lags(&self) -> bool {
        self.sender_epoch < self.session.epoch()
    }

    fn ratchet(&mut self) -> Result<(), String> {
        self.sender.ratchet().map_err(err)?;
        self.sender_step += 1;
        Ok(())
    }

    /// Encrypts `payload`; returns the frame with its key generation and
    /// ratchet step.
    fn encrypt(&mut self, payload: &[u8]) -> Result<(Vec<u8>, u64, u64), String> {
        let generation = self.sender.kid().0 >> MEDIA_RATCHET_BITS;
        let frame = self.sender.encrypt(b"", payload).map_err(err)?;
        Ok((frame, generation, self.sender_step))
    }
}

/// Two sessions that completed a handshake, with the signalling between
/// them: `inbox[k]` holds the messages on their way to `sides[k]` with the
/// tick they arrive.
struct Link {
    /// `[initiator, responder]`.
    sides: [Side; 2],
    inbox: [VecDeque<(u64, Vec<u8>)>; 2],
}

/// The signalling: its latency and what went over it.
struct Signalling {
    delay: u64,
    messages: u32,
    ignored: BTreeMap<String, u32>,
    completed: u32,
    scheduled: u32,
    recoveries: u32,
}

impl Signalling {
    fn send(&mut self, link: &mut Link, to: usize, msg: Vec<u8>, now: u64) {
        self.messages += 1;
        if let Some(inbox) = link.inbox.get_mut(to) {
            inbox.push_back((now + self.delay, msg));
        }
    }

    /// Side `from` offers a rekey if it may; whether it did.
    fn offer(
        &mut self,
        link: &mut Link,
        from: usize,
        now: u64,
        entropy: &mut dyn Entropy,
    ) -> Result<bool, String> {
        let side = link.sides.get_mut(from).ok_or("no such side")?;
        if !side.may_offer() {
            return Ok(false);
        }
        let offer = side.session.rekey_with(entropy).map_err(err)?;
        self.send(link, 1 - from, offer, now);
        Ok(true)
    }

    /// Starts the recovery side `k` wants, once it may: a pending offer of
    /// its own already gives fresh keys.
    fn recover(
        &mut self,
        link: &mut Link,
        k: usize,
        now: u64,
        entropy: &mut dyn Entropy,
    ) -> Result<(), String> {
        let side = link.sides.get_mut(k).ok_or("no such side")?;
        if !side.wants_recovery {
            return Ok(());
        }
        if side.session.rekey_pending() {
            side.wants_recovery = false;
        } else if self.offer(link, k, now, entropy)? {
            self.recoveries += 1;
            if let Some(side) = link.sides.get_mut(k) {
                side.wants_recovery = false;
            }
        }
        Ok(())
    }

    /// Delivers every message due by `now` (and, without latency, the
    /// replies they cause), applying media updates and sending replies.
    fn deliver(
        &mut self,
        link: &mut Link,
        now: u64,
        entropy: &mut dyn Entropy,
    ) -> Result<(), String> {
        loop {
            let mut delivered = false;
            for to in 0..2 {
                while let Some(msg) = pop_due(link, to, now) {
                    delivered = true;
                    let side = link.sides.get_mut(to).ok_or("no such side")?;
                    let before = side.session.epoch();
                    let handled = side
                        .session
                        .handle_with(&msg, &mut side.store, entropy)
                        .map_err(err)?;
                    if let Some(why) = handled.ignored {
                        *self.ignored.entry(why.to_string()).or_default() += 1;
                    }
                    if let Some(update) = handled.media {
                        side.apply(update)?;
                    }
                    // The offerer completes an epoch on the RekeyAnswer.
                    if side.session.epoch() > before && !side.sender_epoch_lags() {
                        self.completed += 1;
                    }
                    if let Some(reply) = handled.reply {
                        self.send(link, 1 - to, reply, now);
                    }
                    self.recover(link, to, now, entropy)?;
                }
            }
            if !delivered {
                return Ok(());
            }
        }
    }
}

fn pop_due(link: &mut Link, to: usize, now: u64) -> Option<Vec<u8>> {
    let inbox = link.inbox.get_mut(to)?;
    if inbox.front().is_some_and(|(due, _)| *due <= now) {
        inbox.pop_front().map(|(_, msg)| msg)
    } else {
        None
    }
}

/// A completed handshake between `initiator` and `responder` over a relay
/// that forwards the messages unchanged (not timed: the media starts after
/// it). The initiator expects the responder's user id; the responder takes
/// any caller.
fn handshake(
    entropy: &mut dyn Entropy,
    config: &CallConfig,
    (i_id, i_uid, expects): (&IdentityKeyPair, &str, &str),
    (r_id, r_uid): (&IdentityKeyPair, &str),
) -> Result<Link, String> {
    let (mut i_store, mut r_store) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());
    let peer = ExpectedPeer::new(expects).map_err(err)?;
    let (mut i, commit) =
        CallSession::initiate(i_id, i_uid, &peer, config, entropy).map_err(err)?;
    let (mut r, response) =
        CallSession::respond(r_id, r_uid, None, &commit, config, entropy).map_err(err)?;
    let reveal = i
        .handle_with(&response, &mut i_store, entropy)
        .map_err(err)?
        .reply
        .ok_or("the initiator sent no reveal")?;
    let confirm = r
        .handle_with(&reveal, &mut r_store, entropy)
        .map_err(err)?
        .reply
        .ok_or("the responder sent no confirmation")?;
    if i.handle_with(&confirm, &mut i_store, entropy)
        .map_err(err)?
        .reply
        .is_some()
    {
        return Err("the initiator answered a confirmation".into());
    }
    Ok(Link {
        sides: [Side::new(i, i_store)?, Side::new(r, r_store)?],
        inbox: [VecDeque::new(), VecDeque::new()],
    })
}

/// A media frame on its way through the relay.
struct InFlight {
    /// The tick it arrives.
    due: u64,
    /// Held back one tick (it arrives after the next frame).
    late: bool,
    towards_bob: bool,
    frame: Vec<u8>,
    /// Key generation and ratchet step it was sent under.
    generation: u64,
    step: u64,
}

/// What a receiver knows of one peer key generation, for the accounting:
/// the highest step it decrypted and whether it fell behind for good.
#[derive(Default)]
struct GenerationTrack {
    highest_step: u64,
    behind: bool,
    lost: u32,
}

/// The call: links (one, or two through a man in the middle), media in
/// flight, and the accounting.
struct Call {
    links: Vec<Link>,
    signalling: Signalling,
    in_flight: Vec<InFlight>,
    tracks: BTreeMap<(bool, u64), GenerationTrack>,
    look_ahead: u64,
    report: Report,
}

impl Call {
    /// The link and side index of Alice (`true`) or Bob.
    fn endpoint(&self, alice: bool) -> (usize, usize) {
        if alice {
            (0, 0)
        } else {
            (self.links.len() - 1, 1)
        }
    }

    /// Alice's (`true`) or Bob's session.
    fn session(&self, alice: bool) -> Option<&CallSession> {
        let (l, k) = self.endpoint(alice);
        self.links
            .get(l)
            .and_then(|link| link.sides.get(k))
            .map(|s| &s.session)
    }

    fn deliver_signalling(&mut self, now: u64, entropy: &mut dyn Entropy) -> Result<(), String> {
        for link in &mut self.links {
            self.signalling.deliver(link, now, entropy)?;
        }
        Ok(())
    }

    fn signalling_pending(&self) -> bool {
        self.links
            .iter()
            .any(|l| l.inbox.iter().any(|q| !q.is_empty()))
    }

    /// Sends frame `payload` from Alice (`towards_bob`) or Bob, through a
    /// man in the middle if there is one.
    fn send_frame(
        &mut self,
        towards_bob: bool,
        payload: &[u8],
    ) -> Result<(Vec<u8>, u64, u64), String> {
        let (l, k) = self.endpoint(towards_bob);
        let from = self
            .links
            .get_mut(l)
            .and_then(|link| link.sides.get_mut(k))
            .ok_or("no sender")?;
        let (frame, generation, step) = from.encrypt(payload)?;
        self.report.frames_sent += 1;
        self.report.relay_saw_plaintext |= frame.windows(payload.len()).any(|w| w == payload);
        if self.links.len() == 1 {
            return Ok((frame, generation, step));
        }
        // Mallory decrypts with one side's key and re-encrypts for the other.
        let (inbound, outbound) = if towards_bob { (0, 1) } else { (1, 0) };
        let plain = self
            .links
            .get_mut(inbound)
            .and_then(|link| link.sides.get_mut(1 - k))
            .ok_or("no relay receiver")?
            .receiver
            .decrypt(b"", &frame)
            .map_err(err)?;
        self.links
            .get_mut(outbound)
            .and_then(|link| link.sides.get_mut(k))
            .ok_or("no relay sender")?
            .encrypt(&plain)
    }

    /// Delivers the media frames due by `now`, in order of arrival.
    fn deliver_media(&mut self, now: u64, entropy: &mut dyn Entropy) -> Result<(), String> {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|f| f.due <= now);
        self.in_flight = later;
        let mut due = due;
        // Stable: frames sent earlier first, a late frame after the one
        // that overtook it.
        due.sort_by_key(|f| (f.due, f.late));
        for f in due {
            self.receive(f, now, entropy)?;
        }
        Ok(())
    }

    fn receive(&mut self, f: InFlight, now: u64, entropy: &mut dyn Entropy) -> Result<(), String> {
        self.report.frames_delivered += 1;
        let (l, k) = self.endpoint(!f.towards_bob);
        let link = self.links.get_mut(l).ok_or("no link")?;
        let to = link.sides.get_mut(k).ok_or("no receiver")?;
        let track = self
            .tracks
            .entry((f.towards_bob, f.generation))
            .or_default();
        match to.receiver.decrypt(b"", &f.frame) {
            Ok(_) => {
                self.report.frames_decrypted += 1;
                track.highest_step = track.highest_step.max(f.step);
                return Ok(());
            }
            // The relay forges nothing, so every failure here is about keys:
            // a frame further ahead than the look-ahead, or (the 8-bit step
            // in the key id wraps after 256 steps) one that looks behind or
            // names a step whose key the receiver holds for another round.
            Err(
                FrameError::RatchetTooFar { .. }
                | FrameError::UnknownKeyId(_)
                | FrameError::AuthenticationFailed
                | FrameError::AuthFailureLimit { .. },
            ) => {
                self.report.frames_rejected += 1;
                self.report.frames_lost_to_key_changes += 1;
            }
            Err(_) => {
                self.report.frames_rejected += 1;
                return Ok(());
            }
        }
        if track.behind || f.step > track.highest_step + self.look_ahead {
            track.behind = true;
            track.lost += 1;
        } else {
            self.report.frames_lost_unexplained += 1;
        }
        // Behind the peer's current generation: ask for fresh keys.
        let current = media_generation(to.session.role().peer(), to.session.epoch());
        if f.generation == current {
            to.wants_recovery = true;
            self.signalling.recover(link, k, now, entropy)?;
        }
        Ok(())
    }
}

pub(crate) fn run(args: &CallArgs) -> Result<(), String> {
    if !(0.0..=1.0).contains(&args.loss) {
        return Err("--loss must be within 0..=1".into());
    }
    let suite = CipherSuite::from_id(args.common.suite).map_err(err)?;
    // Asking for a short-tag suite by name is the opt-in (PROTOCOL.md §3.3).
    let config = CallConfig {
        suite,
        allow_short_tags: suite.tag_len() < 8,
        ..CallConfig::default()
    };
    let mut os = OsEntropy;
    let mut seeded = SeededEntropy(Rng(args.common.seed.unwrap_or(0)));
    let entropy: &mut dyn Entropy = if args.common.seed.is_some() {
        &mut seeded
    } else {
        &mut os
    };
    let mut relay_rng = Rng(match args.common.seed {
        Some(s) => s ^ 0x5eed,
        None => {
            let mut b = [0u8; 8];
            OsEntropy.fill(&mut b).map_err(err)?;
            u64::from_le_bytes(b)
        }
    });

    let alice_id = IdentityKeyPair::generate_with(entropy).map_err(err)?;
    let bob_id = IdentityKeyPair::generate_with(entropy).map_err(err)?;

    // Signalling. Honest relay: one handshake, Alice to Bob. MITM: Mallory
    // answers Alice as "bob" and calls Bob as "alice", with her own keys.
    let links = if args.mitm {
        let mallory_id = IdentityKeyPair::generate_with(entropy).map_err(err)?;
        vec![
            handshake(
                entropy,
                &config,
                (&alice_id, "alice", "bob"),
                (&mallory_id, "bob"),
            )?,
            handshake(
                entropy,
                &config,
                (&mallory_id, "alice", "bob"),
                (&bob_id, "bob"),
            )?,
        ]
    } else {
        vec![handshake(
            entropy,
            &config,
            (&alice_id, "alice", "bob"),
            (&bob_id, "bob"),
        )?]
    };

    let mut call = Call {
        links,
        signalling: Signalling {
            delay: u64::from(args.signal_delay_frames),
            messages: 0,
            ignored: BTreeMap::new(),
            completed: 0,
            scheduled: 0,
            recoveries: 0,
        },
        in_flight: Vec::new(),
        tracks: BTreeMap::new(),
        look_ahead: u64::from(ReceiverConfig::default().max_ratchet_steps),
        report: Report {
            protocol_version: 2,
            post_quantum: true,
            suite: suite.to_string(),
            mitm: args.mitm,
            signal_delay_frames: args.signal_delay_frames,
            // Frames one side sends in 3 × delay + 1 ticks (it sends every
            // other tick).
            frames_lost_bound_per_gap: (3 * args.signal_delay_frames + 2) / 2,
            ..Report::default()
        },
    };
    let code = |s: Option<&CallSession>| {
        s.and_then(|s| s.security_code())
            .map(|c| c.to_string())
            .unwrap_or_default()
    };
    let indicator = |s: Option<&CallSession>| {
        s.map(|s| format!("{:?}", s.indicator()))
            .unwrap_or_default()
    };
    let (alice, bob) = (call.session(true), call.session(false));
    let (alice_code, bob_code) = (code(alice), code(bob));
    let (alice_indicator, bob_indicator) = (indicator(alice), indicator(bob));
    let r = &mut call.report;
    r.codes_match = alice_code == bob_code && !alice_code.is_empty();
    (r.alice_code, r.bob_code) = (alice_code, bob_code);
    (r.alice_indicator, r.bob_indicator) = (alice_indicator, bob_indicator);

    // The call: one media frame per tick.
    let mut previous_late = false;
    for i in 0..args.frames {
        let now = u64::from(i);
        call.deliver_signalling(now, entropy)?;
        if args.rekey_dh_every > 0 && i > 0 && i % args.rekey_dh_every == 0 {
            // Alice (the initiator) offers first, then Bob, and so on.
            let from = ((i / args.rekey_dh_every - 1) % 2) as usize;
            for l in 0..call.links.len() {
                let link = call.links.get_mut(l).ok_or("no link")?;
                if call.signalling.offer(link, from, now, entropy)? {
                    call.signalling.scheduled += 1;
                }
            }
        }
        if args.rekey_every > 0 && i > 0 && i % args.rekey_every == 0 {
            for link in &mut call.links {
                for side in &mut link.sides {
                    side.ratchet()?;
                }
            }
            call.report.rekeys += 1;
        }
        let towards_bob = i % 2 == 0;
        let mut payload = vec![0u8; 40 + (relay_rng.next() % 160) as usize];
        relay_rng.fill(&mut payload);
        let (frame, generation, step) = call.send_frame(towards_bob, &payload)?;
        if !relay_rng.chance(args.loss) {
            // Now and then the relay holds a frame back behind the next one.
            let late = !previous_late && relay_rng.chance(0.1);
            previous_late = late;
            call.in_flight.push(InFlight {
                due: now + u64::from(late),
                late,
                towards_bob,
                frame,
                generation,
                step,
            });
        }
        call.deliver_media(now, entropy)?;
    }
    // The last frames arrive, and the signalling settles.
    let mut now = u64::from(args.frames);
    call.deliver_media(now, entropy)?;
    while call.signalling_pending() {
        call.deliver_signalling(now, entropy)?;
        now += 1;
    }

    let r = &mut call.report;
    let epoch = |link: &Link, k: usize| link.sides.get(k).map_or(0, |s| s.session.epoch());
    if let (Some(first), Some(last)) = (call.links.first(), call.links.last()) {
        r.alice_epoch = epoch(first, 0);
        r.bob_epoch = epoch(last, 1);
    }
    if call.links.iter().any(|l| epoch(l, 0) != epoch(l, 1)) {
        return Err("a rekey exchange did not complete".into());
    }
    r.dh_rekeys = call.signalling.completed;
    r.dh_rekeys_scheduled = call.signalling.scheduled;
    r.recoveries = call.signalling.recoveries;
    r.signalling_messages = call.signalling.messages;
    r.signalling_ignored = std::mem::take(&mut call.signalling.ignored);
    r.gaps = call.tracks.values().filter(|t| t.lost > 0).count() as u32;
    r.max_frames_lost_per_gap = call.tracks.values().map(|t| t.lost).max().unwrap_or(0);
    // A man in the middle decrypts everything it relays: that is the point
    // of the demo. An honest relay must have seen ciphertext only.
    r.relay_saw_plaintext |= args.mitm;

    if args.common.json {
        println!("{}", serde_json::to_string(&r).map_err(err)?);
    } else {
        print_text(r);
    }
    if r.frames_rejected > r.frames_lost_to_key_changes || r.frames_lost_unexplained > 0 {
        return Err(
            "frames were lost to something else than a gap longer than the look-ahead".into(),
        );
    }
    if r.max_frames_lost_per_gap > r.frames_lost_bound_per_gap {
        return Err("a gap lost more frames than one recovery round trip explains".into());
    }
    if r.relay_saw_plaintext && !args.mitm {
        return Err("the relay saw plaintext".into());
    }
    Ok(())
}

fn print_text(r: &Report) {
    println!("callseal demo call: Alice calls Bob through an untrusted relay");
    if r.mitm {
        println!("  the relay is a man in the middle: it ran its own handshake with each side");
    }
    println!(
        "  Alice's security code  {}   {}",
        r.alice_code, r.alice_indicator
    );
    println!(
        "  Bob's security code    {}   {}",
        r.bob_code, r.bob_indicator
    );
    if r.codes_match {
        println!("  codes match: nobody is in the middle");
    } else {
        println!("  codes DIFFER: the call is being intercepted");
    }
    println!(
        "  key agreement          protocol version {}, X25519 + ML-KEM-768 (post-quantum)",
        r.protocol_version
    );
    println!("  media suite            {}", r.suite);
    println!(
        "  frames                 sent {}, delivered {}, decrypted {}, rejected {}",
        r.frames_sent, r.frames_delivered, r.frames_decrypted, r.frames_rejected
    );
    println!("  key ratchets           {}", r.rekeys);
    println!(
        "  rekey exchanges        {} completed (epoch {}), {} scheduled, {} to recover",
        r.dh_rekeys, r.alice_epoch, r.dh_rekeys_scheduled, r.recoveries
    );
    println!(
        "  signalling             {} messages, {} frames of delay each way",
        r.signalling_messages, r.signal_delay_frames
    );
    if r.frames_lost_to_key_changes > 0 {
        println!(
            "  lost to key changes    {} frames in {} gaps longer than the look-ahead, \
             at most {} per gap (bound: {})",
            r.frames_lost_to_key_changes,
            r.gaps,
            r.max_frames_lost_per_gap,
            r.frames_lost_bound_per_gap
        );
    } else {
        println!("  lost to key changes    none");
    }
    println!(
        "  relay saw plaintext    {}",
        if r.relay_saw_plaintext {
            "YES (it decrypted and re-encrypted every frame)"
        } else {
            "no (ciphertext only)"
        }
    );
}
