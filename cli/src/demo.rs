//! `callseal demo frames`: Alice sends encrypted media frames to Bob through a relay
//! that drops, reorders, replays and tampers with them, while Alice's key
//! ratchets forward. The two share a fresh random sender key, as if a key
//! exchange had run: this demo shows the frame layer alone.

use callseal_core::frame::{
    BaseKey, CipherSuite, Error, RatchetLayout, Receiver, ReceiverConfig, Sender,
};
use clap::Args;
use serde::Serialize;

use crate::DemoOptions;
use crate::rng::Rng;

#[derive(Args)]
pub(crate) struct FramesArgs {
    /// Media frames Alice sends.
    #[arg(long, default_value_t = 300)]
    frames: u32,
    /// Fraction of frames the relay drops (it also reorders, replays and tampers).
    #[arg(long, default_value_t = 0.05)]
    loss: f64,
    /// Ratchet Alice's key forward every N frames (0: never).
    #[arg(long, default_value_t = 100)]
    rekey_every: u32,
    #[command(flatten)]
    common: DemoOptions,
}

#[derive(Serialize, Default)]
struct Report {
    suite: String,
    frames_sent: u32,
    frames_dropped: u32,
    frames_reordered: u32,
    replays_injected: u32,
    frames_tampered: u32,
    frames_delivered: u32,
    frames_decrypted: u32,
    frames_rejected: u32,
    rejected_replays: u32,
    rejected_forgeries: u32,
    lost_to_key_changes: u32,
    rekeys: u32,
    relay_saw_plaintext: bool,
}

pub(crate) fn run(args: &FramesArgs) -> Result<(), String> {
    if !(0.0..=1.0).contains(&args.loss) {
        return Err("--loss must be within 0..=1".into());
    }
    let suite = CipherSuite::from_id(args.common.suite).map_err(|e| e.to_string())?;
    let seed = match args.common.seed {
        Some(s) => s,
        None => {
            let mut b = [0u8; 8];
            getrandom::fill(&mut b).map_err(|e| e.to_string())?;
            u64::from_le_bytes(b)
        }
    };
    let mut rng = Rng(seed);
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    if args.common.seed.is_some() {
        rng.fill(&mut key[..]);
    } else {
        getrandom::fill(&mut key[..]).map_err(|e| e.to_string())?;
    }

    let layout = RatchetLayout::new(8).map_err(|e| e.to_string())?;
    let mut alice = Sender::ratcheting(
        suite,
        layout,
        1,
        BaseKey::new(&key[..]).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let mut bob = Receiver::new(ReceiverConfig::default());
    bob.add_ratcheting_sender(
        suite,
        layout,
        1,
        BaseKey::new(&key[..]).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;

    let mut r = Report {
        suite: suite.to_string(),
        ..Report::default()
    };
    // Alice → relay: each frame with its plaintext, kept only to check the relay.
    let mut in_flight: Vec<Vec<u8>> = Vec::new();
    let mut saw_plaintext = false;
    for i in 0..args.frames {
        if args.rekey_every > 0 && i > 0 && i % args.rekey_every == 0 {
            alice.ratchet().map_err(|e| e.to_string())?;
            r.rekeys += 1;
        }
        let mut payload = vec![0u8; 20 + (rng.next() % 180) as usize];
        rng.fill(&mut payload);
        let frame = alice.encrypt(b"", &payload).map_err(|e| e.to_string())?;
        r.frames_sent += 1;
        saw_plaintext |= frame.windows(payload.len()).any(|w| w == payload);
        in_flight.push(frame);
    }
    r.relay_saw_plaintext = saw_plaintext;

    // The relay: drop, reorder neighbours, replay and tamper. Each copy
    // carries the index of the frame it came from and whether it is forged.
    let mut delivered: Vec<(Vec<u8>, usize, bool)> = Vec::new();
    for (id, frame) in in_flight.into_iter().enumerate() {
        if rng.chance(args.loss) {
            r.frames_dropped += 1;
            continue;
        }
        if rng.chance(0.02) {
            let mut forged = frame.clone();
            let at = (rng.next() as usize) % forged.len();
            forged[at] ^= 1 << (rng.next() % 8);
            r.frames_tampered += 1;
            delivered.push((forged, id, true));
        }
        r.frames_delivered += 1;
        if rng.chance(0.02) {
            r.replays_injected += 1;
            delivered.push((frame.clone(), id, false));
        }
        delivered.push((frame, id, false));
        let n = delivered.len();
        if n >= 2 && rng.chance(0.1) {
            delivered.swap(n - 1, n - 2);
            r.frames_reordered += 1;
        }
    }

    // Bob accepts each frame once, whichever copy comes first, and never a forgery.
    let mut accepted = vec![false; r.frames_sent as usize];
    for (frame, id, forged) in &delivered {
        match bob.decrypt(b"", frame) {
            Ok(_) if *forged => return Err("a tampered frame was accepted".into()),
            Ok(_) => {
                let seen = accepted.get_mut(*id).ok_or("frame index out of range")?;
                if *seen {
                    return Err("a replayed frame was accepted".into());
                }
                *seen = true;
                r.frames_decrypted += 1;
            }
            Err(e) => {
                r.frames_rejected += 1;
                match e {
                    Error::Replay { .. } | Error::TooOld { .. } => r.rejected_replays += 1,
                    _ => r.rejected_forgeries += 1,
                }
            }
        }
    }
    r.lost_to_key_changes = r.frames_delivered - r.frames_decrypted;

    if args.common.json {
        println!("{}", serde_json::to_string(&r).map_err(|e| e.to_string())?);
    } else {
        print_text(&r);
    }
    if r.lost_to_key_changes > 0 || r.relay_saw_plaintext {
        return Err("frames were lost or exposed".into());
    }
    Ok(())
}

fn print_text(r: &Report) {
    println!("callseal demo: Alice sends SFrame-encrypted media to Bob through an untrusted relay");
    println!("  cipher suite        {}", r.suite);
    println!(
        "  frames sent         {} ({} key ratchets on the way)",
        r.frames_sent, r.rekeys
    );
    println!(
        "  relay               dropped {}, reordered {}, replayed {}, tampered {}",
        r.frames_dropped, r.frames_reordered, r.replays_injected, r.frames_tampered
    );
    println!("  delivered           {}", r.frames_delivered);
    println!(
        "  decrypted by Bob    {} (lost to key changes: {})",
        r.frames_decrypted, r.lost_to_key_changes
    );
    println!(
        "  rejected            {} (by the replay window {}, by authentication or key id {})",
        r.frames_rejected, r.rejected_replays, r.rejected_forgeries
    );
    println!(
        "  relay saw plaintext {}",
        if r.relay_saw_plaintext { "YES" } else { "no" }
    );
}
