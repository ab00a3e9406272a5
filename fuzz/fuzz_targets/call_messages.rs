//! 1:1 call sessions (protocol version 2) fed arbitrary bytes as signalling
//! messages: `CallSession::respond` with them as a Commit, and `handle` of
//! sessions in each state — a fresh initiator, a responder after the
//! Commit, and an established call on both sides. Nothing may panic; a
//! failing negotiating session must be `Failed` for good; an established
//! session must never return an error (its entropy never fails here), must
//! stay established with the same security code, and its epoch may only
//! grow, one step per message.
//!
//! Input layout: `[selector, chunks...]`; each chunk is `[op, len, bytes]`
//! (`len` bytes, fewer at the end). `op` picks what a chunk does; it may
//! take a valid message of the same session (Commit, Response, Reveal,
//! Confirm, rekey messages of a twin call with the same keys) and overwrite,
//! cut or extend it, so that the fuzzer reaches past the session id and
//! the MACs. Every session's randomness is a fixed sequence, so every input
//! replays the same way.
#![no_main]

use std::sync::OnceLock;

use callseal_core::call::{CallConfig, CallError, CallSession, CallState, ExpectedPeer};
use callseal_core::frame::{CipherSuite, Receiver, Sender};
use callseal_core::identity::{
    Entropy, EntropyError, IdentityKeyPair, MemoryIdentityStore, SecurityCode,
};
use libfuzzer_sys::fuzz_target;

/// SplitMix64 as a deterministic entropy source.
struct Fixed(u64);

impl Entropy for Fixed {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
        for chunk in dest.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}

fn alice() -> IdentityKeyPair {
    IdentityKeyPair::from_bytes([0xa1; 32])
}

fn bob() -> IdentityKeyPair {
    IdentityKeyPair::from_bytes([0xb0; 32])
}

fn config() -> CallConfig {
    CallConfig::default()
}

/// A fresh initiator and its Commit; the same on every call.
fn initiator() -> (CallSession, Vec<u8>) {
    let peer = ExpectedPeer::new("bob").unwrap();
    CallSession::initiate(&alice(), "alice", &peer, &config(), &mut Fixed(1)).unwrap()
}

/// A responder to `commit`, and its Response.
fn responder(commit: &[u8]) -> (CallSession, Vec<u8>) {
    CallSession::respond(&bob(), "bob", None, commit, &config(), &mut Fixed(2)).unwrap()
}

/// One established side with its media.
struct Side {
    session: CallSession,
    store: MemoryIdentityStore,
    entropy: Fixed,
    sender: Sender,
    receiver: Receiver,
}

/// An established call, the same on every call; also its handshake
/// messages.
fn established() -> ([Side; 2], [Vec<u8>; 4]) {
    let (mut i, commit) = initiator();
    let (mut r, response) = responder(&commit);
    let (mut i_store, mut r_store) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());
    let reveal = i.handle(&response, &mut i_store).unwrap().reply.unwrap();
    let confirm = r.handle(&reveal, &mut r_store).unwrap().reply.unwrap();
    assert!(i.handle(&confirm, &mut i_store).unwrap().reply.is_none());
    let (i_tx, i_rx) = i.take_media().unwrap();
    let (r_tx, r_rx) = r.take_media().unwrap();
    let sides = [
        Side {
            session: i,
            store: i_store,
            entropy: Fixed(3),
            sender: i_tx,
            receiver: i_rx,
        },
        Side {
            session: r,
            store: r_store,
            entropy: Fixed(4),
            sender: r_tx,
            receiver: r_rx,
        },
    ];
    (sides, [commit, response, reveal, confirm])
}

/// Valid messages of the session every input uses: the handshake, and the
/// rekey messages of a twin call (same keys, other randomness for the
/// rekeys) with each side offering.
fn templates() -> &'static [Vec<u8>] {
    static TEMPLATES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let (mut twin, handshake) = established();
        let mut all = handshake.to_vec();
        for offerer in [0, 1] {
            let (o, a) = if offerer == 0 { (0, 1) } else { (1, 0) };
            let offer = {
                let side = &mut twin[o];
                side.session.rekey_with(&mut Fixed(10 + o as u64)).unwrap()
            };
            let answer = {
                let side = &mut twin[a];
                let h = side
                    .session
                    .handle_with(&offer, &mut side.store, &mut Fixed(20))
                    .unwrap();
                h.reply.unwrap()
            };
            let done = {
                let side = &mut twin[o];
                side.session
                    .handle(&answer, &mut side.store)
                    .unwrap()
                    .reply
                    .unwrap()
            };
            let side = &mut twin[a];
            side.session.handle(&done, &mut side.store).unwrap();
            all.extend([offer, answer, done]);
        }
        all
    })
}

/// The chunks of `data`: `(op, bytes)`.
fn chunks(mut data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while let [op, len, rest @ ..] = data {
        let n = usize::from(*len).min(rest.len());
        out.push((*op, &rest[..n]));
        data = &rest[n..];
    }
    out
}

/// A message from a chunk: `op / 4` picks a template (or none: the bytes
/// themselves); `op % 4` keeps it, overwrites it at an offset, cuts it, or
/// extends it with the chunk's bytes.
fn message(op: u8, bytes: &[u8]) -> Vec<u8> {
    let templates = templates();
    let pick = usize::from(op / 4) % (templates.len() + 1);
    let Some(base) = pick.checked_sub(1).and_then(|i| templates.get(i)) else {
        return bytes.to_vec();
    };
    let mut msg = base.clone();
    let (at, rest) = match bytes {
        [hi, lo, rest @ ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), rest),
        _ => (0, bytes),
    };
    match op % 4 {
        0 => {}
        1 => {
            let at = at % msg.len().max(1);
            for (dst, src) in msg.iter_mut().skip(at).zip(rest) {
                *dst = *src;
            }
        }
        2 => msg.truncate(at % (msg.len() + 1)),
        _ => msg.extend_from_slice(rest),
    }
    msg
}

/// A session being negotiated, fed `messages`: an error fails it for good.
fn negotiate(session: &mut CallSession, messages: &[(u8, &[u8])]) {
    let mut store = MemoryIdentityStore::new();
    let mut failed = false;
    for &(op, bytes) in messages {
        let msg = message(op, bytes);
        let result = session.handle_with(&msg, &mut store, &mut Fixed(5));
        if failed {
            assert!(
                matches!(result, Err(CallError::SessionFailed)),
                "{result:?}"
            );
        }
        if result.is_err() {
            failed = true;
            assert_eq!(session.state(), CallState::Failed);
            assert!(session.security_code().is_none());
        }
    }
}

/// An established side handles `msg`: never an error, still established
/// with `code`, its epoch grown by at most one; its media update applies.
fn established_handles(side: &mut Side, msg: &[u8], code: SecurityCode) -> Option<Vec<u8>> {
    let before = side.session.epoch();
    let handled = side
        .session
        .handle_with(msg, &mut side.store, &mut side.entropy)
        .unwrap_or_else(|e| panic!("an established session failed: {e}"));
    assert!(matches!(
        side.session.state(),
        CallState::Encrypted | CallState::Verified
    ));
    assert_eq!(side.session.security_code(), Some(code));
    let after = side.session.epoch();
    assert!(
        after == before || after == before + 1,
        "{before} -> {after}"
    );
    if let Some(update) = handled.media {
        assert_eq!(update.epoch(), after);
        update.apply(&mut side.sender, &mut side.receiver).unwrap();
    } else {
        assert_eq!(after, before, "a new epoch without media keys");
    }
    handled.reply
}

/// Both sides of an established call: each chunk either makes a side offer
/// a rekey, delivers the next queued message to a side (the signalling of
/// the rekeys the sides run), or injects a message built from the chunk.
fn in_call(messages: &[(u8, &[u8])]) {
    let (mut sides, _) = established();
    let code = sides[0].session.security_code().unwrap();
    let mut queues: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
    for &(op, bytes) in messages {
        let to = usize::from(op & 1);
        let action = bytes.first().copied().unwrap_or(0) % 4;
        let reply = match action {
            // A side offers a rekey (or resends its pending offer).
            0 => {
                let side = &mut sides[to];
                let offer = side.session.rekey_with(&mut side.entropy).unwrap();
                queues[1 - to].push(offer);
                None
            }
            // The next queued message reaches the side (FIFO, or the latest
            // one: reordered).
            1 | 2 => {
                let queue = &mut queues[to];
                if queue.is_empty() {
                    continue;
                }
                let msg = if action == 1 {
                    queue.remove(0)
                } else {
                    queue.pop().unwrap_or_default()
                };
                established_handles(&mut sides[to], &msg, code)
            }
            // Something else: garbage, a template, a mutated message.
            _ => established_handles(&mut sides[to], &message(op >> 1, &bytes[1..]), code),
        };
        if let Some(reply) = reply {
            queues[1 - to].push(reply);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let messages = chunks(rest);
    match selector % 4 {
        // As a Commit, to responders with different settings.
        0 => {
            for &(op, bytes) in &messages {
                let commit = message(op, bytes);
                let pinned = ExpectedPeer::new("alice")
                    .unwrap()
                    .with_identity(alice().public_key());
                let short = CallConfig {
                    suite: CipherSuite::AesCtr128HmacSha256_32,
                    allow_short_tags: true,
                    ..CallConfig::default()
                };
                for (expected, config) in [(None, config()), (Some(&pinned), short)] {
                    if let Ok((mut session, response)) = CallSession::respond(
                        &bob(),
                        "bob",
                        expected,
                        &commit,
                        &config,
                        &mut Fixed(6),
                    ) {
                        assert_eq!(session.state(), CallState::Negotiating);
                        assert!(!response.is_empty());
                        // The same Commit again is a repeat: the same Response.
                        let again = session
                            .handle(&commit, &mut MemoryIdentityStore::new())
                            .unwrap();
                        assert_eq!(again.reply, Some(response));
                    }
                }
            }
        }
        // A fresh initiator.
        1 => negotiate(&mut initiator().0, &messages),
        // A responder after the Commit.
        2 => {
            let (_, commit) = initiator();
            negotiate(&mut responder(&commit).0, &messages);
        }
        // An established call.
        _ => in_call(&messages),
    }
});
