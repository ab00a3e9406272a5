#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! CPU time of 1:1 calls, version 2 (PROTOCOL.md §3.4, §3.9): the hybrid
//! handshake per side and in all, one in-call rekey exchange per side and in
//! all, and the two primitives the protocol is built on, measured in the same
//! run so that ratios to them are meaningful.
//!
//! - `call/handshake/initiator`: `initiate` + handle Response + handle Confirm
//! - `call/handshake/responder`: `respond(Commit)` + handle Reveal
//! - `call/handshake/full`: both sides, with the operating system's randomness
//! - `call/rekey/offerer`: `rekey` + handle RekeyAnswer, its media update
//!   applied to the call's `Sender`/`Receiver`
//! - `call/rekey/answerer`: handle RekeyOffer + handle RekeyDone, both media
//!   updates applied
//! - `call/rekey/full`: one rekey round on both sides, with the operating
//!   system's randomness, every media update applied
//! - `peer/x25519`: bare `x25519-dalek`, key generation + one DH
//! - `peer/ml-kem-768`: bare `ml-kem`, key generation from a seed +
//!   encapsulation + decapsulation
//!
//! Timing one side alone needs the other side's messages, and those depend
//! on the timed side's own randomness (the Response answers the Commit's
//! ML-KEM key, the RekeyAnswer the Offer's). The per-side benchmarks
//! therefore give each side a fixed entropy source ([`Fixed`]): every
//! iteration redoes exactly the reference run, whose peer messages are
//! computed once up front (a routine that strayed from it would fail the
//! checks run before timing: equal codes, epoch 1, frames). State a
//! routine needs (an identity store, an established session with its media
//! keys) is built in `iter_batched` setup, outside the timed section; what a
//! routine returns is dropped outside it too. The `full` benchmarks use the
//! operating system's randomness, so every handshake and rekey is fresh.
//!
//! With `CALL_BENCH_SINGLE_RUNS=n` in the environment the binary skips
//! criterion and times each of the eight benchmarks one call at a time, in
//! `n` rounds that each run all eight in turn, and prints the minimum, 10th
//! percentile and median per benchmark and the 10th-percentile ratios to the
//! peers. On a shared machine criterion's samples (many calls each) absorb
//! every interruption by other processes; the fastest single calls do not.
//!
//! ```sh
//! CALL_BENCH_SINGLE_RUNS=1000 cargo bench -p callseal-core --bench call
//! ```

use std::hint::black_box;
use std::time::Instant;

use callseal_core::call::{CallConfig, CallSession, ExpectedPeer};
use callseal_core::frame::{Receiver, Sender};
use callseal_core::identity::{Entropy, EntropyError, IdentityKeyPair, MemoryIdentityStore};
use criterion::{BatchSize, Criterion, SamplingMode, criterion_group};
use ml_kem::kem::SharedKey;
use ml_kem::{B32, Decapsulate, MlKem768, Seed, ml_kem_768};
use x25519_dalek::{PublicKey, SharedSecret, StaticSecret};

/// Replays fixed bytes, so the peer's precomputed messages stay valid.
struct Fixed(u8);

impl Entropy for Fixed {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
        for (i, b) in dest.iter_mut().enumerate() {
            *b = self.0 ^ (i as u8).wrapping_mul(73);
        }
        Ok(())
    }
}

/// Entropy of the initiator's handshake, the responder's, the rekey offer
/// (the initiator offers) and the rekey answer.
const INITIATOR: u8 = 3;
const RESPONDER: u8 = 4;
const OFFERER: u8 = 5;
const ANSWERER: u8 = 6;

/// Every message of one handshake and one rekey (initiator offers), with the
/// fixed entropy above.
struct Reference {
    commit: Vec<u8>,
    response: Vec<u8>,
    reveal: Vec<u8>,
    confirm: Vec<u8>,
    offer: Vec<u8>,
    answer: Vec<u8>,
    done: Vec<u8>,
}

struct Keys {
    alice: IdentityKeyPair,
    bob: IdentityKeyPair,
    bob_expected: ExpectedPeer,
    config: CallConfig,
}

impl Keys {
    fn new() -> Self {
        Self {
            alice: IdentityKeyPair::from_bytes([1; 32]),
            bob: IdentityKeyPair::from_bytes([2; 32]),
            bob_expected: ExpectedPeer::new("bob").unwrap(),
            config: CallConfig::default(),
        }
    }

    /// The initiator's whole handshake against the reference messages.
    fn initiator(&self, r: &Reference, store: &mut MemoryIdentityStore) -> CallSession {
        let (mut a, commit) = CallSession::initiate(
            &self.alice,
            "alice",
            &self.bob_expected,
            &self.config,
            &mut Fixed(INITIATOR),
        )
        .unwrap();
        black_box(commit);
        let reveal = a.handle(black_box(&r.response), store).unwrap().reply;
        black_box(reveal.unwrap());
        a.handle(black_box(&r.confirm), store).unwrap();
        a
    }

    /// The responder's whole handshake against the reference messages.
    fn responder(&self, r: &Reference, store: &mut MemoryIdentityStore) -> CallSession {
        let (mut b, response) = CallSession::respond(
            &self.bob,
            "bob",
            None,
            black_box(&r.commit),
            &self.config,
            &mut Fixed(RESPONDER),
        )
        .unwrap();
        black_box(response);
        let confirm = b.handle(black_box(&r.reveal), store).unwrap().reply;
        black_box(confirm.unwrap());
        b
    }

    /// Both sides with the operating system's randomness.
    fn full_handshake(
        &self,
        store_a: &mut MemoryIdentityStore,
        store_b: &mut MemoryIdentityStore,
    ) -> (CallSession, CallSession) {
        let (mut a, commit) =
            CallSession::initiate_random(&self.alice, "alice", &self.bob_expected, &self.config)
                .unwrap();
        let (mut b, response) =
            CallSession::respond_random(&self.bob, "bob", None, &commit, &self.config).unwrap();
        let reveal = a.handle(&response, store_a).unwrap().reply.unwrap();
        let confirm = b.handle(&reveal, store_b).unwrap().reply.unwrap();
        a.handle(&confirm, store_a).unwrap();
        (a, b)
    }

    /// Runs the reference handshake and rekey, and checks the message sizes
    /// against PROTOCOL.md §3.3.
    fn reference(&self) -> Reference {
        let mut store_a = MemoryIdentityStore::new();
        let mut store_b = MemoryIdentityStore::new();
        let (mut a, commit) = CallSession::initiate(
            &self.alice,
            "alice",
            &self.bob_expected,
            &self.config,
            &mut Fixed(INITIATOR),
        )
        .unwrap();
        let (mut b, response) = CallSession::respond(
            &self.bob,
            "bob",
            None,
            &commit,
            &self.config,
            &mut Fixed(RESPONDER),
        )
        .unwrap();
        let reveal = a.handle(&response, &mut store_a).unwrap().reply.unwrap();
        let confirm = b.handle(&reveal, &mut store_b).unwrap().reply.unwrap();
        a.handle(&confirm, &mut store_a).unwrap();
        assert_eq!(a.security_code(), b.security_code());
        let (mut a_tx, mut a_rx) = a.take_media().unwrap();
        let (mut b_tx, mut b_rx) = b.take_media().unwrap();

        let offer = a.rekey_with(&mut Fixed(OFFERER)).unwrap();
        let answered = b
            .handle_with(&offer, &mut store_b, &mut Fixed(ANSWERER))
            .unwrap();
        answered.media.unwrap().apply(&mut b_tx, &mut b_rx).unwrap();
        let answer = answered.reply.unwrap();
        let done = a.handle(&answer, &mut store_a).unwrap();
        done.media.unwrap().apply(&mut a_tx, &mut a_rx).unwrap();
        let done = done.reply.unwrap();
        let switched = b.handle(&done, &mut store_b).unwrap();
        switched.media.unwrap().apply(&mut b_tx, &mut b_rx).unwrap();
        assert_eq!((a.epoch(), b.epoch()), (1, 1));
        let frame = a_tx.encrypt(b"", b"epoch 1").unwrap();
        assert_eq!(b_rx.decrypt(b"", &frame).unwrap(), b"epoch 1");
        let frame = b_tx.encrypt(b"", b"epoch 1").unwrap();
        assert_eq!(a_rx.decrypt(b"", &frame).unwrap(), b"epoch 1");

        let uids = "alice".len() + "bob".len();
        assert_eq!(commit.len(), 1270 + uids);
        assert_eq!(response.len(), 1171 + "bob".len());
        assert_eq!(reveal.len(), 82);
        assert_eq!(confirm.len(), 50);
        assert_eq!(offer.len(), 1270);
        assert_eq!(answer.len(), 1174);
        assert_eq!(done.len(), 54);
        Reference {
            commit,
            response,
            reveal,
            confirm,
            offer,
            answer,
            done,
        }
    }
}

/// An established session with its media keys, and its identity store.
struct InCall {
    session: CallSession,
    tx: Sender,
    rx: Receiver,
    store: MemoryIdentityStore,
}

impl InCall {
    fn new(mut session: CallSession, store: MemoryIdentityStore) -> Self {
        let (tx, rx) = session.take_media().unwrap();
        Self {
            session,
            tx,
            rx,
            store,
        }
    }

    /// The offerer's side of the reference rekey.
    fn offer(&mut self, r: &Reference) {
        let offer = self.session.rekey_with(&mut Fixed(OFFERER)).unwrap();
        black_box(offer);
        let done = self
            .session
            .handle(black_box(&r.answer), &mut self.store)
            .unwrap();
        black_box(done.reply.unwrap());
        done.media
            .unwrap()
            .apply(&mut self.tx, &mut self.rx)
            .unwrap();
    }

    /// The answerer's side of the reference rekey.
    fn answer(&mut self, r: &Reference) {
        let answered = self
            .session
            .handle_with(black_box(&r.offer), &mut self.store, &mut Fixed(ANSWERER))
            .unwrap();
        black_box(answered.reply.unwrap());
        answered
            .media
            .unwrap()
            .apply(&mut self.tx, &mut self.rx)
            .unwrap();
        let switched = self
            .session
            .handle(black_box(&r.done), &mut self.store)
            .unwrap();
        switched
            .media
            .unwrap()
            .apply(&mut self.tx, &mut self.rx)
            .unwrap();
    }
}

/// One rekey round between two established sides, the operating system's
/// randomness, `a` offering.
fn rekey_round(a: &mut InCall, b: &mut InCall) {
    let offer = a.session.rekey().unwrap();
    let answered = b.session.handle(&offer, &mut b.store).unwrap();
    answered.media.unwrap().apply(&mut b.tx, &mut b.rx).unwrap();
    let done = a
        .session
        .handle(&answered.reply.unwrap(), &mut a.store)
        .unwrap();
    done.media.unwrap().apply(&mut a.tx, &mut a.rx).unwrap();
    let switched = b
        .session
        .handle(&done.reply.unwrap(), &mut b.store)
        .unwrap();
    switched.media.unwrap().apply(&mut b.tx, &mut b.rx).unwrap();
}

/// The offerer of the reference rekey, established (setup, not timed).
fn offerer(keys: &Keys, r: &Reference) -> InCall {
    let mut store = MemoryIdentityStore::new();
    InCall::new(keys.initiator(r, &mut store), store)
}

/// The answerer of the reference rekey, established (setup, not timed).
fn answerer(keys: &Keys, r: &Reference) -> InCall {
    let mut store = MemoryIdentityStore::new();
    InCall::new(keys.responder(r, &mut store), store)
}

/// Two established sides with the operating system's randomness (setup).
fn in_call(keys: &Keys) -> (InCall, InCall) {
    let (mut store_a, mut store_b) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());
    let (a, b) = keys.full_handshake(&mut store_a, &mut store_b);
    (InCall::new(a, store_a), InCall::new(b, store_b))
}

/// Bare X25519: key generation (a fixed-base multiplication) and one DH.
fn x25519(secret: [u8; 32], their_public: &PublicKey) -> (PublicKey, SharedSecret) {
    let secret = StaticSecret::from(secret);
    let public = PublicKey::from(&secret);
    let shared = secret.diffie_hellman(black_box(their_public));
    (public, shared)
}

/// Bare ML-KEM-768: key generation from a seed, encapsulation,
/// decapsulation.
fn ml_kem_768(
    (seed, m): (Seed, B32),
) -> (
    SharedKey<MlKem768>,
    SharedKey<MlKem768>,
    ml_kem_768::DecapsulationKey,
) {
    let dk = ml_kem_768::DecapsulationKey::from_seed(seed);
    let (ct, ss) = dk.encapsulation_key().encapsulate_deterministic(&m);
    (dk.decapsulate(black_box(&ct)), ss, dk)
}

fn ml_kem_input() -> (Seed, B32) {
    (Seed::from([9; 64]), B32::from([10; 32]))
}

fn their_public() -> PublicKey {
    PublicKey::from(&StaticSecret::from([8; 32]))
}

/// Checks, before anything is timed, that the per-side routines reproduce
/// the reference run exactly and that the bare primitives agree.
fn check(keys: &Keys, r: &Reference) {
    let a = keys.initiator(r, &mut MemoryIdentityStore::new());
    let b = keys.responder(r, &mut MemoryIdentityStore::new());
    assert!(a.security_code().is_some());
    assert_eq!(a.security_code(), b.security_code());
    let (mut a, mut b) = (offerer(keys, r), answerer(keys, r));
    a.offer(r);
    b.answer(r);
    assert_eq!((a.session.epoch(), b.session.epoch()), (1, 1));
    let frame = a.tx.encrypt(b"", b"epoch 1").unwrap();
    assert_eq!(b.rx.decrypt(b"", &frame).unwrap(), b"epoch 1");
    let (decapsulated, encapsulated, _) = ml_kem_768(ml_kem_input());
    assert_eq!(decapsulated, encapsulated);
}

fn handshake(c: &mut Criterion) {
    let keys = Keys::new();
    let r = keys.reference();
    check(&keys, &r);

    let mut group = c.benchmark_group("call/handshake");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("initiator", |bench| {
        bench.iter_batched(
            MemoryIdentityStore::new,
            |mut store| keys.initiator(&r, &mut store),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("responder", |bench| {
        bench.iter_batched(
            MemoryIdentityStore::new,
            |mut store| keys.responder(&r, &mut store),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("full", |bench| {
        bench.iter_batched(
            || (MemoryIdentityStore::new(), MemoryIdentityStore::new()),
            |(mut store_a, mut store_b)| keys.full_handshake(&mut store_a, &mut store_b),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn rekey(c: &mut Criterion) {
    let keys = Keys::new();
    let r = keys.reference();

    let mut group = c.benchmark_group("call/rekey");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("offerer", |bench| {
        bench.iter_batched(
            || offerer(&keys, &r),
            |mut side| {
                side.offer(&r);
                side
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("answerer", |bench| {
        bench.iter_batched(
            || answerer(&keys, &r),
            |mut side| {
                side.answer(&r);
                side
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("full", |bench| {
        bench.iter_batched(
            || in_call(&keys),
            |(mut a, mut b)| {
                rekey_round(&mut a, &mut b);
                (a, b)
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

/// The primitives, bare: what the protocol is built on.
fn peer(c: &mut Criterion) {
    let their_public = their_public();
    let mut group = c.benchmark_group("peer");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("x25519", |bench| {
        bench.iter_batched(
            || [7u8; 32],
            |secret| x25519(secret, &their_public),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("ml-kem-768", |bench| {
        bench.iter_batched(ml_kem_input, ml_kem_768, BatchSize::SmallInput);
    });
    group.finish();
}

criterion_group!(benches, handshake, rekey, peer);

/// Times one call of `routine` on what `setup` made, as `iter_batched` does
/// (the output is dropped after the clock stops), in microseconds.
fn time_once<I, O>(setup: impl FnOnce() -> I, routine: impl FnOnce(I) -> O) -> f64 {
    let input = black_box(setup());
    let start = Instant::now();
    let output = routine(input);
    let elapsed = start.elapsed();
    drop(black_box(output));
    elapsed.as_secs_f64() * 1e6
}

/// The single-run mode (`CALL_BENCH_SINGLE_RUNS=n`): every benchmark above,
/// timed one call at a time, `n` rounds that each run all eight in turn, so
/// the calls and the peers share the same moments of a shared machine. The
/// fastest runs are the ones no other process interrupted.
fn single_runs(rounds: usize) {
    let keys = Keys::new();
    let r = keys.reference();
    check(&keys, &r);
    let their_public = their_public();
    let names = [
        "call/handshake/initiator",
        "call/handshake/responder",
        "call/handshake/full",
        "call/rekey/offerer",
        "call/rekey/answerer",
        "call/rekey/full",
        "peer/x25519",
        "peer/ml-kem-768",
    ];
    let mut runs: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); names.len()];
    for _ in 0..rounds {
        let round = [
            time_once(MemoryIdentityStore::new, |mut store| {
                keys.initiator(&r, &mut store)
            }),
            time_once(MemoryIdentityStore::new, |mut store| {
                keys.responder(&r, &mut store)
            }),
            time_once(
                || (MemoryIdentityStore::new(), MemoryIdentityStore::new()),
                |(mut store_a, mut store_b)| keys.full_handshake(&mut store_a, &mut store_b),
            ),
            time_once(
                || offerer(&keys, &r),
                |mut side| {
                    side.offer(&r);
                    side
                },
            ),
            time_once(
                || answerer(&keys, &r),
                |mut side| {
                    side.answer(&r);
                    side
                },
            ),
            time_once(
                || in_call(&keys),
                |(mut a, mut b)| {
                    rekey_round(&mut a, &mut b);
                    (a, b)
                },
            ),
            time_once(|| [7u8; 32], |secret| x25519(secret, &their_public)),
            time_once(ml_kem_input, ml_kem_768),
        ];
        for (all, t) in runs.iter_mut().zip(round) {
            all.push(t);
        }
    }
    let quantile =
        |sorted: &[f64], q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let mut p10 = Vec::new();
    println!("{rounds} single runs per benchmark, in µs:");
    println!(
        "{:<26} {:>9} {:>9} {:>9}",
        "benchmark", "min", "p10", "median"
    );
    for (name, all) in names.iter().zip(runs.iter_mut()) {
        all.sort_by(f64::total_cmp);
        p10.push(quantile(all, 0.1));
        println!(
            "{name:<26} {:>9.1} {:>9.1} {:>9.1}",
            all[0],
            quantile(all, 0.1),
            quantile(all, 0.5)
        );
    }
    let (x, k) = (p10[6], p10[7]);
    println!("p10 ratios: {:<14} {:>9} {:>9}", "", "/ x25519", "/ ml-kem");
    for (name, t) in names.iter().zip(&p10) {
        println!("{name:<26} {:>9.2} {:>9.2}", t / x, t / k);
    }
}

fn main() {
    if let Some(rounds) = std::env::var_os("CALL_BENCH_SINGLE_RUNS") {
        let rounds = rounds
            .to_str()
            .and_then(|s| s.parse().ok())
            .filter(|&n: &usize| n > 0)
            .expect("CALL_BENCH_SINGLE_RUNS: a positive number of rounds");
        single_runs(rounds);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
