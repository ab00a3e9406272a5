//! `callseal demo call`: Alice calls Bob through a relay that carries both
//! the signalling and the media and is not trusted. The two endpoints run
//! the 1:1 handshake (docs/PROTOCOL.md §3), show their security codes and
//! send encrypted media both ways while their keys ratchet forward. With
//! `--mitm` the relay runs its own handshake with each side and re-encrypts
//! the media: the call still works, and the codes differ.

use callseal_core::call::CallSession;
use callseal_core::frame::{CipherSuite, Receiver, Sender};
use callseal_core::identity::{
    Entropy, EntropyError, IdentityKeyPair, MemoryIdentityStore, OsEntropy,
};
use clap::Args;
use serde::Serialize;

use crate::DemoOptions;
use crate::rng::Rng;

#[derive(Args)]
pub(crate) struct CallArgs {
    /// Media frames in the call, alternating Alice → Bob and Bob → Alice.
    #[arg(long, default_value_t = 1000)]
    frames: u32,
    /// Fraction of media frames the relay drops (it also reorders some).
    #[arg(long, default_value_t = 0.05)]
    loss: f64,
    /// Both senders ratchet their keys every N frames of the call (0: never).
    #[arg(long, default_value_t = 100)]
    rekey_every: u32,
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
    frames_sent: u32,
    frames_delivered: u32,
    frames_decrypted: u32,
    frames_rejected: u32,
    rekeys: u32,
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

/// One side's media: what it sends with and what it receives with.
struct Media {
    sender: Sender,
    receiver: Receiver,
}

/// A completed handshake between `initiator` and `responder` over a relay
/// that forwards the messages unchanged. Returns both sessions.
fn handshake(
    entropy: &mut dyn Entropy,
    suite: CipherSuite,
    (i_id, i_uid, i_store): (&IdentityKeyPair, &str, &mut MemoryIdentityStore),
    (r_id, r_uid, r_store): (&IdentityKeyPair, &str, &mut MemoryIdentityStore),
) -> Result<(CallSession, CallSession), String> {
    let (mut i, commit) = CallSession::initiate(i_id, i_uid, suite, entropy).map_err(err)?;
    let (mut r, response) = CallSession::respond(r_id, r_uid, &commit, entropy).map_err(err)?;
    let reveal = i
        .handle(&response, i_store)
        .map_err(err)?
        .ok_or("the initiator sent no reveal")?;
    let confirm = r
        .handle(&reveal, r_store)
        .map_err(err)?
        .ok_or("the responder sent no confirmation")?;
    if i.handle(&confirm, i_store).map_err(err)?.is_some() {
        return Err("the initiator answered a confirmation".into());
    }
    Ok((i, r))
}

fn media(session: &mut CallSession) -> Result<Media, String> {
    let (sender, receiver) = session.take_media().map_err(err)?;
    Ok(Media { sender, receiver })
}

pub(crate) fn run(args: &CallArgs) -> Result<(), String> {
    if !(0.0..=1.0).contains(&args.loss) {
        return Err("--loss must be within 0..=1".into());
    }
    let suite = CipherSuite::from_id(args.common.suite).map_err(err)?;
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
    let (mut alice_store, mut bob_store) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());

    // Signalling. Honest relay: one handshake, Alice to Bob. MITM: Mallory
    // answers Alice as "bob" and calls Bob as "alice", with her own keys.
    let (mut alice, mut bob, mut mallory) = if args.mitm {
        let mallory_id = IdentityKeyPair::generate_with(entropy).map_err(err)?;
        let mut m_store = MemoryIdentityStore::new();
        let (alice, m_to_alice) = handshake(
            entropy,
            suite,
            (&alice_id, "alice", &mut alice_store),
            (&mallory_id, "bob", &mut m_store),
        )?;
        let (m_to_bob, bob) = handshake(
            entropy,
            suite,
            (&mallory_id, "alice", &mut m_store),
            (&bob_id, "bob", &mut bob_store),
        )?;
        (alice, bob, Some((m_to_alice, m_to_bob)))
    } else {
        let (alice, bob) = handshake(
            entropy,
            suite,
            (&alice_id, "alice", &mut alice_store),
            (&bob_id, "bob", &mut bob_store),
        )?;
        (alice, bob, None)
    };

    let code = |s: &CallSession| s.security_code().map(|c| c.to_string()).unwrap_or_default();
    let mut r = Report {
        alice_code: code(&alice),
        bob_code: code(&bob),
        alice_indicator: format!("{:?}", alice.indicator()),
        bob_indicator: format!("{:?}", bob.indicator()),
        mitm: args.mitm,
        ..Report::default()
    };
    r.codes_match = r.alice_code == r.bob_code && !r.alice_code.is_empty();

    let mut a = media(&mut alice)?;
    let mut b = media(&mut bob)?;
    // The relay's own media keys in a MITM: (with Alice, with Bob).
    let mut m = match mallory.as_mut() {
        Some((to_alice, to_bob)) => Some((media(to_alice)?, media(to_bob)?)),
        None => None,
    };

    // Media both ways, frame by frame, each through the relay.
    let mut in_flight: Vec<(bool, Vec<u8>)> = Vec::new(); // (towards Bob?, frame)
    for i in 0..args.frames {
        if args.rekey_every > 0 && i > 0 && i % args.rekey_every == 0 {
            a.sender.ratchet().map_err(err)?;
            b.sender.ratchet().map_err(err)?;
            r.rekeys += 1;
        }
        let towards_bob = i % 2 == 0;
        let mut payload = vec![0u8; 40 + (relay_rng.next() % 160) as usize];
        relay_rng.fill(&mut payload);
        let from = if towards_bob { &mut a } else { &mut b };
        let mut frame = from.sender.encrypt(b"", &payload).map_err(err)?;
        r.frames_sent += 1;
        r.relay_saw_plaintext |= frame.windows(payload.len()).any(|w| w == payload);
        if let Some((with_alice, with_bob)) = m.as_mut() {
            // Mallory decrypts with one side's key and re-encrypts for the other.
            let (inbound, outbound) = if towards_bob {
                (&mut with_alice.receiver, &mut with_bob.sender)
            } else {
                (&mut with_bob.receiver, &mut with_alice.sender)
            };
            let plain = inbound.decrypt(b"", &frame).map_err(err)?;
            frame = outbound.encrypt(b"", &plain).map_err(err)?;
        }
        if relay_rng.chance(args.loss) {
            continue;
        }
        in_flight.push((towards_bob, frame));
        let n = in_flight.len();
        if n >= 2 && relay_rng.chance(0.1) {
            in_flight.swap(n - 1, n - 2);
        }
    }
    for (towards_bob, frame) in &in_flight {
        r.frames_delivered += 1;
        let to = if *towards_bob { &mut b } else { &mut a };
        match to.receiver.decrypt(b"", frame) {
            Ok(_) => r.frames_decrypted += 1,
            Err(_) => r.frames_rejected += 1,
        }
    }

    // A man in the middle decrypts everything it relays: that is the point
    // of the demo. An honest relay must have seen ciphertext only.
    r.relay_saw_plaintext |= args.mitm;
    if args.common.json {
        println!("{}", serde_json::to_string(&r).map_err(err)?);
    } else {
        print_text(&r, suite);
    }
    if r.frames_rejected > 0 || (r.relay_saw_plaintext && !args.mitm) {
        return Err("frames were lost or exposed".into());
    }
    Ok(())
}

fn print_text(r: &Report, suite: CipherSuite) {
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
    println!("  media suite            {suite}");
    println!(
        "  frames                 sent {}, delivered {}, decrypted {}, rejected {}",
        r.frames_sent, r.frames_delivered, r.frames_decrypted, r.frames_rejected
    );
    println!("  key ratchets           {}", r.rekeys);
    println!(
        "  relay saw plaintext    {}",
        if r.relay_saw_plaintext {
            "YES (it decrypted and re-encrypted every frame)"
        } else {
            "no (ciphertext only)"
        }
    );
}
