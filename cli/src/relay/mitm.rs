//! `--mitm`: the relay as a real interceptor of 1:1 calls, as anyone who
//! controls the server could be (docs/RELAY.md, "The man in the middle").
//!
//! When X's Commit to Y passes, the relay answers X itself, as Y, under an
//! identity key of its own, and calls Y as X with another: two legs, each a
//! genuine handshake. Once a leg is established the relay holds its media
//! keys, as a browser's worker would, and re-encrypts every binary frame
//! from one leg's keys to the other's. Both calls work; the security codes
//! of the two legs differ, which is what users comparing codes would see.

use std::collections::HashMap;

use callseal_core::call::{CallConfig, CallSession, CallState, ExpectedPeer, MessageType};
use callseal_core::frame::media::{MediaReceiver, MediaSender};
use callseal_core::identity::{IdentityKeyPair, MemoryIdentityStore, OsEntropy};

use super::log;

/// The most impersonation keys kept; past it, those of names in no call
/// are forgotten.
const MAX_IDENTITIES: usize = 1024;
/// The most calls intercepted at once; past it, new calls pass untouched.
const MAX_CALLS: usize = 1024;
/// Bytes 2..18 of every call message: its session id.
const SESSION_ID: std::ops::Range<usize> = 2..18;

/// A call message the relay sends in someone else's name.
#[derive(Debug)]
pub(crate) struct Relayed {
    /// The recipient.
    pub(crate) to: String,
    /// The name it appears to come from.
    pub(crate) from: String,
    /// The call message.
    pub(crate) call: Vec<u8>,
}

/// What to do with a binary frame between two clients.
#[derive(Debug)]
pub(crate) enum FrameVerdict {
    /// Not an intercepted call: forward it unchanged.
    Pass,
    /// Forward these bytes instead (re-encrypted for the recipient).
    Forward(Vec<u8>),
    /// Drop it (the leg is not ready, or the frame did not decrypt).
    Drop,
}

/// One leg: the relay's own session with one of the two parties.
struct Leg {
    session: CallSession,
    store: MemoryIdentityStore,
    media: Option<(MediaSender, MediaReceiver)>,
}

impl Leg {
    fn new(session: CallSession) -> Self {
        Self {
            session,
            store: MemoryIdentityStore::new(),
            media: None,
        }
    }
}

/// An intercepted call between `initiator` (X) and `responder` (Y).
struct Intercepted {
    initiator: String,
    responder: String,
    /// X's Commit, to recognise a resend.
    commit: Vec<u8>,
    /// The relay as Y, facing X.
    facing_initiator: Leg,
    /// The relay as X, facing Y.
    facing_responder: Leg,
    reencrypted: u64,
    dropped: u64,
}

impl Intercepted {
    /// The leg facing `name`, then the other one.
    fn legs(&mut self, name: &str) -> (&mut Leg, &mut Leg) {
        if name == self.initiator {
            (&mut self.facing_initiator, &mut self.facing_responder)
        } else {
            (&mut self.facing_responder, &mut self.facing_initiator)
        }
    }

    fn involves(&self, name: &str) -> bool {
        self.initiator == name || self.responder == name
    }
}

/// The interceptor's state: its impersonation keys and the calls it sits in.
pub(crate) struct Mitm {
    /// One identity key per impersonated name, made when first needed and
    /// kept, so a victim sees the same (wrong) key on every call.
    identities: HashMap<String, IdentityKeyPair>,
    /// Keyed by the two names, sorted: one call per pair.
    calls: HashMap<(String, String), Intercepted>,
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

impl Mitm {
    /// An interceptor in no call yet.
    pub(crate) fn new() -> Self {
        Self {
            identities: HashMap::new(),
            calls: HashMap::new(),
        }
    }

    /// A call message from `from` to `to`: the relay's own replies and
    /// messages to send instead, or `None` to pass it on unchanged (not a
    /// call the relay can intercept).
    pub(crate) fn on_signal(&mut self, from: &str, to: &str, call: &[u8]) -> Option<Vec<Relayed>> {
        if from == to {
            return None;
        }
        let key = pair(from, to);
        let is_commit =
            call.get(1).copied().and_then(MessageType::from_byte) == Some(MessageType::Commit);
        let resent = self
            .calls
            .get(&key)
            .is_some_and(|c| c.initiator == from && c.commit == call);
        if is_commit && !resent {
            return self.intercept(from, to, call);
        }
        let c = self.calls.get_mut(&key)?;
        let (leg, _) = c.legs(from);
        if call.get(SESSION_ID) != Some(&leg.session.session_id().0[..]) {
            return None;
        }
        let handled = match leg.session.handle(call, &mut leg.store) {
            Ok(handled) => handled,
            Err(e) => {
                // The error's kind only: its text can quote the message.
                let kind = e.kind();
                log(format_args!(
                    "mitm: call {} -> {}: the leg with {from} failed ({kind}); call dropped",
                    c.initiator, c.responder
                ));
                self.calls.remove(&key);
                return Some(Vec::new());
            }
        };
        let before = leg.media.is_some();
        if let Err(e) = take_media(leg) {
            let kind = e.kind();
            log(format_args!(
                "mitm: leg with {from}: no media keys ({kind})"
            ));
        }
        if let (Some(update), Some((sender, receiver))) = (handled.media, &mut leg.media)
            && let Err(e) = update.apply(sender.sender_mut(), receiver.receiver_mut())
        {
            let kind = e.kind();
            log(format_args!(
                "mitm: leg with {from}: rekey not applied ({kind})"
            ));
        }
        if leg.media.is_some() && !before {
            let code = leg
                .session
                .security_code()
                .map(|c| c.to_string())
                .unwrap_or_default();
            log(format_args!(
                "mitm: call {} -> {}: leg with {from} established (the relay posing as {to}), security code {code}",
                c.initiator, c.responder
            ));
            report_codes(c);
        }
        let reply = handled.reply.map(|call| Relayed {
            to: from.to_owned(),
            from: to.to_owned(),
            call,
        });
        Some(reply.into_iter().collect())
    }

    /// Answers `commit` from X as Y and calls Y as X.
    fn intercept(&mut self, x: &str, y: &str, commit: &[u8]) -> Option<Vec<Relayed>> {
        if self.calls.len() >= MAX_CALLS && !self.calls.contains_key(&pair(x, y)) {
            log(format_args!(
                "mitm: {x} -> {y}: {MAX_CALLS} calls intercepted already; passed on"
            ));
            return None;
        }
        let as_y = self.identity(y)?;
        let as_x = self.identity(x)?;
        // The relay accepts any suite the caller picked, short tags too.
        let config = CallConfig {
            allow_short_tags: true,
            ..CallConfig::default()
        };
        let (facing_x, response) =
            match CallSession::respond(&as_y, y, None, commit, &config, &mut OsEntropy) {
                Ok(answer) => answer,
                Err(e) => {
                    let kind = e.kind();
                    log(format_args!(
                        "mitm: {x} -> {y}: not a Commit the relay can answer ({kind}); passed on"
                    ));
                    return None;
                }
            };
        let config = CallConfig {
            suite: facing_x.suite(),
            ..config
        };
        let started = ExpectedPeer::new(y)
            .and_then(|peer| CallSession::initiate(&as_x, x, &peer, &config, &mut OsEntropy));
        let (facing_y, own_commit) = match started {
            Ok(started) => started,
            Err(e) => {
                let kind = e.kind();
                log(format_args!(
                    "mitm: {x} -> {y}: cannot call {y} ({kind}); passed on"
                ));
                return None;
            }
        };
        log(format_args!(
            "mitm: call {x} -> {y} intercepted: answering {x} as {y}, calling {y} as {x}"
        ));
        let replaced = self.calls.insert(
            pair(x, y),
            Intercepted {
                initiator: x.to_owned(),
                responder: y.to_owned(),
                commit: commit.to_vec(),
                facing_initiator: Leg::new(facing_x),
                facing_responder: Leg::new(facing_y),
                reencrypted: 0,
                dropped: 0,
            },
        );
        if let Some(old) = replaced {
            log_end(&old);
        }
        Some(vec![
            Relayed {
                to: x.to_owned(),
                from: y.to_owned(),
                call: response,
            },
            Relayed {
                to: y.to_owned(),
                from: x.to_owned(),
                call: own_commit,
            },
        ])
    }

    /// The relay's identity key for impersonating `name`.
    fn identity(&mut self, name: &str) -> Option<IdentityKeyPair> {
        if let Some(id) = self.identities.get(name) {
            return Some(id.clone());
        }
        if self.identities.len() >= MAX_IDENTITIES {
            let calls = &self.calls;
            self.identities
                .retain(|n, _| calls.values().any(|c| c.involves(n)));
        }
        match IdentityKeyPair::generate() {
            Ok(id) => {
                self.identities.insert(name.to_owned(), id.clone());
                Some(id)
            }
            Err(e) => {
                log(format_args!("mitm: no identity key for {name} ({e})"));
                None
            }
        }
    }

    /// A binary frame from `from` to `to`: re-encrypted from the leg facing
    /// `from` to the leg facing `to`, in an intercepted call.
    pub(crate) fn on_frame(&mut self, from: &str, to: &str, frame: &[u8]) -> FrameVerdict {
        let Some(c) = self.calls.get_mut(&pair(from, to)) else {
            return FrameVerdict::Pass;
        };
        let (inbound, outbound) = c.legs(from);
        let (Some((_, receiver)), Some((sender, _))) = (&mut inbound.media, &mut outbound.media)
        else {
            c.dropped += 1;
            return FrameVerdict::Drop;
        };
        let mut plain = Vec::new();
        let mut out = Vec::new();
        let result = receiver
            .decrypt_frame(frame, &mut plain)
            .and_then(|info| sender.encrypt_frame(info.codec, &plain, &mut out));
        match result {
            Ok(()) => {
                c.reencrypted += 1;
                FrameVerdict::Forward(out)
            }
            Err(_) => {
                c.dropped += 1;
                FrameVerdict::Drop
            }
        }
    }

    /// `name` disconnected: its calls end.
    pub(crate) fn forget(&mut self, name: &str) {
        self.calls.retain(|_, c| {
            if !c.involves(name) {
                return true;
            }
            log_end(c);
            false
        });
    }
}

fn log_end(c: &Intercepted) {
    log(format_args!(
        "mitm: call {} -> {} ended: {} frames re-encrypted, {} dropped",
        c.initiator, c.responder, c.reencrypted, c.dropped
    ));
}

/// Takes the leg's media keys once its handshake is complete, as the
/// browser's worker does: a media-mode sender and receiver.
fn take_media(leg: &mut Leg) -> Result<(), callseal_core::call::CallError> {
    if leg.media.is_none()
        && matches!(
            leg.session.state(),
            CallState::Encrypted | CallState::Verified
        )
    {
        let (sender, receiver) = leg.session.take_media()?;
        leg.media = Some((MediaSender::new(sender), MediaReceiver::new(receiver)));
    }
    Ok(())
}

/// Once both legs are established: their codes, side by side.
fn report_codes(c: &Intercepted) {
    let code = |leg: &Leg| {
        leg.media.as_ref()?;
        leg.session.security_code().map(|c| c.to_string())
    };
    if let (Some(x), Some(y)) = (code(&c.facing_initiator), code(&c.facing_responder)) {
        let verdict = if x == y { "equal (!)" } else { "differ" };
        log(format_args!(
            "mitm: call {} -> {}: {} sees {x}, {} sees {y}: the codes {verdict}",
            c.initiator, c.responder, c.initiator, c.responder
        ));
    }
}
