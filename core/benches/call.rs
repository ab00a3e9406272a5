#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! CPU time of the 1:1 call handshake, per side.
//!
//! - initiator: `initiate` + `handle(Response)` + `handle(Confirm)`
//! - responder: `respond(Commit)` + `handle(Reveal)`
//!
//! The other side's messages are precomputed, so each measurement covers one
//! side's work only (key generation, three X25519 operations, hashing and
//! HKDF, and the identity-store lookup in memory).

use std::hint::black_box;

use callseal_core::call::CallSession;
use callseal_core::frame::CipherSuite;
use callseal_core::identity::{Entropy, EntropyError, IdentityKeyPair, MemoryIdentityStore};
use criterion::{Criterion, criterion_group, criterion_main};

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

fn handshake(c: &mut Criterion) {
    let suite = CipherSuite::AesGcm128Sha256;
    let alice = IdentityKeyPair::from_bytes([1; 32]);
    let bob = IdentityKeyPair::from_bytes([2; 32]);
    let mut store = MemoryIdentityStore::new();

    // One reference run to capture each side's incoming messages.
    let (mut a, commit) =
        CallSession::initiate(&alice, "alice", suite, &mut Fixed(3)).expect("initiate");
    let (mut b, response) =
        CallSession::respond(&bob, "bob", &commit, &mut Fixed(4)).expect("respond");
    let reveal = a
        .handle(&response, &mut store)
        .expect("response")
        .expect("reveal");
    let confirm = b
        .handle(&reveal, &mut store)
        .expect("reveal ok")
        .expect("confirm");
    a.handle(&confirm, &mut store).expect("confirm ok");

    let mut group = c.benchmark_group("call handshake");
    group.bench_function("initiator", |bench| {
        bench.iter(|| {
            let mut store = MemoryIdentityStore::new();
            let (mut a, _commit) =
                CallSession::initiate(&alice, "alice", suite, &mut Fixed(3)).expect("initiate");
            let _reveal = a
                .handle(black_box(&response), &mut store)
                .expect("response");
            a.handle(black_box(&confirm), &mut store).expect("confirm");
            black_box(a.security_code())
        });
    });
    group.bench_function("responder", |bench| {
        bench.iter(|| {
            let mut store = MemoryIdentityStore::new();
            let (mut b, _response) =
                CallSession::respond(&bob, "bob", black_box(&commit), &mut Fixed(4))
                    .expect("respond");
            b.handle(black_box(&reveal), &mut store).expect("reveal");
            black_box(b.security_code())
        });
    });
    group.finish();
}

criterion_group!(benches, handshake);
criterion_main!(benches);
