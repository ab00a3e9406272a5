//! `calls.json` (format version 2): whole 1:1 calls of protocol version 2
//! (docs/PROTOCOL.md §3) with fixed identity keys and scripted randomness:
//! the handshake, its security code and first media frames, then one in-call
//! rekey exchange and the first media frames under its keys.

use callseal_core::call::{
    CallConfig, CallSession, ExpectedPeer, Handled, MediaUpdate, Role, media_generation,
};
use callseal_core::frame::media::{Codec, MediaReceiver, MediaSender};
use callseal_core::frame::{CipherSuite, Kid};
use callseal_core::identity::{IdentityKeyPair, MemoryIdentityStore, ScriptedEntropy};
use serde::Serialize;

use super::fixed::{err, hex, pattern};

/// The format version of `calls.json`: 2 since protocol version 2 (issue #12).
pub(super) const FORMAT_VERSION: u32 = 2;

pub(super) const DESCRIPTION: &str = "1:1 calls of protocol version 2 (docs/PROTOCOL.md §3), replayed with scripted randomness: a ScriptedEntropy hands out the bytes of the given hex in order, and each side draws exactly its entropy, no byte more or less. Per case: identities are IdentityKeyPair.fromBytes(identity_secret); config is a CallConfig with suite and allow_short_tags (rekey_every_ms plays no part); each side has its own empty memory identity store. Handshake: CallSession.initiate(initiator identity, initiator.uid, ExpectedPeer(responder.uid) with no pinned key, config, scripted(initiator.entropy: session id 16, EK_I 32, ML-KEM seed d||z 64)) returns messages[0] (Commit); CallSession.respond(responder identity, responder.uid, expected peer none, Commit, config, scripted(responder.entropy: EK_R 32, ML-KEM m 32)) returns messages[1] (Response); initiator.handle(Response) replies messages[2] (Reveal); responder.handle(Reveal) replies messages[3] (Confirm); initiator.handle(Confirm) replies nothing; no handshake step returns a media update or an ignored reason; both security codes equal security_code. Media: takeMedia() on each side (epoch 0); each side's sender, in a MediaSender, encrypts first_frames.payload as codec generic to exactly first_frames.initiator_to_responder or responder_to_initiator (generation 1 for the initiator, 2 for the responder, ratchet step 0, counter 0), which the other side's receiver, in a MediaReceiver, decrypts to payload. Rekey, with the same sessions, senders and receivers: rekey.offerer ('initiator' or 'responder') calls rekeyWith(scripted(rekey.offerer_entropy: E 32, ML-KEM seed 64)) and gets rekey.messages[0] (RekeyOffer); the other side, the answerer, calls handleWith(RekeyOffer, its store, scripted(rekey.answerer_entropy: E 32, ML-KEM m 32)) and gets reply rekey.messages[1] (RekeyAnswer) and a media update; the offerer's handle(RekeyAnswer) gives reply rekey.messages[2] (RekeyDone) and a media update; the answerer's handle(RekeyDone) gives no reply and a media update; each media update is applied at once to its side's sender and receiver (MediaUpdate.apply). Both sides' epoch is then rekey.epoch (1). Each side's sender then encrypts rekey.frames.payload as codec generic to exactly rekey.frames.initiator_to_responder or responder_to_initiator (generation 2*epoch+1 for the initiator, 2*epoch+2 for the responder, ratchet step 0, counter 0), which the other side's receiver decrypts to payload.";

#[derive(Serialize)]
pub(super) struct Party {
    uid: String,
    identity_secret: String,
    entropy: String,
}

#[derive(Serialize)]
pub(super) struct Frames {
    codec: &'static str,
    payload: String,
    initiator_to_responder: String,
    responder_to_initiator: String,
}

#[derive(Serialize)]
pub(super) struct RekeyCase {
    offerer: &'static str,
    offerer_entropy: String,
    answerer_entropy: String,
    epoch: u32,
    messages: Vec<String>,
    frames: Frames,
}

#[derive(Serialize)]
pub(super) struct CallCase {
    name: String,
    suite: u16,
    allow_short_tags: bool,
    initiator: Party,
    responder: Party,
    messages: Vec<String>,
    security_code: String,
    first_frames: Frames,
    rekey: RekeyCase,
}

/// Session id (16 bytes), EK_I (32), ML-KEM seed d || z (64).
const INITIATOR_ENTROPY: usize = 112;
/// EK_R (32), ML-KEM encapsulation randomness m (32).
const RESPONDER_ENTROPY: usize = 64;
/// E_O (32), ML-KEM seed (64).
const OFFERER_ENTROPY: usize = 96;
/// E_A (32), ML-KEM encapsulation randomness m (32).
const ANSWERER_ENTROPY: usize = 64;

fn secret(tag: u8) -> Result<[u8; 32], String> {
    pattern(tag, 32)
        .try_into()
        .map_err(|_| "a secret is 32 bytes".to_owned())
}

/// One side of the call as the replay drives it.
struct Side {
    session: CallSession,
    store: MemoryIdentityStore,
    tx: MediaSender,
    rx: MediaReceiver,
}

impl Side {
    /// Handles `msg` drawing exactly `entropy` (none if empty); returns the
    /// reply and applies the media update, which must be there.
    fn handle(&mut self, msg: &[u8], entropy: Vec<u8>) -> Result<Option<Vec<u8>>, String> {
        let mut scripted = ScriptedEntropy::new(entropy);
        let Handled {
            reply,
            media,
            ignored,
            ..
        } = self
            .session
            .handle_with(msg, &mut self.store, &mut scripted)
            .map_err(err)?;
        if let Some(why) = ignored {
            return Err(format!("a rekey message was ignored: {why}"));
        }
        if scripted.remaining() != 0 {
            return Err("a rekey step left scripted entropy unused".into());
        }
        let media: MediaUpdate = media.ok_or("a rekey step gave no media update")?;
        media
            .apply(self.tx.sender_mut(), self.rx.receiver_mut())
            .map_err(err)?;
        Ok(reply)
    }

    fn encrypt(&mut self, payload: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        self.tx
            .encrypt_frame(Codec::Generic, payload, &mut out)
            .map_err(err)?;
        Ok(out)
    }

    fn check_decrypts(&mut self, frame: &[u8], payload: &[u8]) -> Result<(), String> {
        let mut out = Vec::new();
        self.rx.decrypt_frame(frame, &mut out).map_err(err)?;
        if out != payload {
            return Err("a frame did not decrypt to its payload".into());
        }
        Ok(())
    }
}

/// The handshake message `handle` replied, with no media update and
/// nothing ignored.
fn handshake_reply(handled: Handled) -> Result<Option<Vec<u8>>, String> {
    if handled.media.is_some() || handled.ignored.is_some() {
        return Err("a handshake step gave a media update or was ignored".into());
    }
    Ok(handled.reply)
}

/// One frame each way with `payload`; checks both decrypt and that each
/// frame's KID is `generation(role, epoch)`, step 0.
fn frames_both_ways(
    i: &mut Side,
    r: &mut Side,
    payload: &[u8],
    epoch: u32,
) -> Result<Frames, String> {
    for (side, role) in [(&*i, Role::Initiator), (&*r, Role::Responder)] {
        let expected = media_generation(role, epoch) << callseal_core::call::MEDIA_RATCHET_BITS;
        if side.tx.sender().kid() != Kid(expected) {
            return Err(format!("the {role:?} sends under an unexpected key id"));
        }
    }
    let i_to_r = i.encrypt(payload)?;
    let r_to_i = r.encrypt(payload)?;
    r.check_decrypts(&i_to_r, payload)?;
    i.check_decrypts(&r_to_i, payload)?;
    Ok(Frames {
        codec: Codec::Generic.name(),
        payload: hex(payload),
        initiator_to_responder: hex(&i_to_r),
        responder_to_initiator: hex(&r_to_i),
    })
}

fn case(
    name: String,
    config: CallConfig,
    uids: (&str, &str),
    tag: u8,
    offerer: Role,
) -> Result<CallCase, String> {
    let (i_secret, r_secret) = (secret(tag)?, secret(tag ^ 0x55)?);
    let i_entropy = pattern(tag ^ 0x0f, INITIATOR_ENTROPY);
    let r_entropy = pattern(tag ^ 0xf0, RESPONDER_ENTROPY);
    let o_entropy = pattern(tag ^ 0x3c, OFFERER_ENTROPY);
    let a_entropy = pattern(tag ^ 0xc3, ANSWERER_ENTROPY);
    let (i_id, r_id) = (
        IdentityKeyPair::from_bytes(i_secret),
        IdentityKeyPair::from_bytes(r_secret),
    );
    let (mut i_store, mut r_store) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());

    // The handshake.
    let mut scripted = ScriptedEntropy::new(i_entropy.clone());
    let peer = ExpectedPeer::new(uids.1).map_err(err)?;
    let (mut i, commit) =
        CallSession::initiate(&i_id, uids.0, &peer, &config, &mut scripted).map_err(err)?;
    if scripted.remaining() != 0 {
        return Err("initiate left scripted entropy unused".into());
    }
    let mut scripted = ScriptedEntropy::new(r_entropy.clone());
    let (mut r, response) =
        CallSession::respond(&r_id, uids.1, None, &commit, &config, &mut scripted).map_err(err)?;
    if scripted.remaining() != 0 {
        return Err("respond left scripted entropy unused".into());
    }
    let reveal =
        handshake_reply(i.handle(&response, &mut i_store).map_err(err)?)?.ok_or("no reveal")?;
    let confirm =
        handshake_reply(r.handle(&reveal, &mut r_store).map_err(err)?)?.ok_or("no confirm")?;
    if handshake_reply(i.handle(&confirm, &mut i_store).map_err(err)?)?.is_some() {
        return Err("the initiator answered the confirm".into());
    }
    let code = i.security_code().ok_or("no security code")?;
    if r.security_code() != Some(code) {
        return Err(format!("{name}: the two codes differ"));
    }

    // Epoch 0 media.
    let (i_tx, i_rx) = i.take_media().map_err(err)?;
    let (r_tx, r_rx) = r.take_media().map_err(err)?;
    let mut i = Side {
        session: i,
        store: i_store,
        tx: MediaSender::new(i_tx),
        rx: MediaReceiver::new(i_rx),
    };
    let mut r = Side {
        session: r,
        store: r_store,
        tx: MediaSender::new(r_tx),
        rx: MediaReceiver::new(r_rx),
    };
    let first_frames = frames_both_ways(&mut i, &mut r, &pattern(tag ^ 0x33, 32), 0)?;

    // The rekey: offer, answer, done.
    let (o, a) = match offerer {
        Role::Initiator => (&mut i, &mut r),
        Role::Responder => (&mut r, &mut i),
    };
    let mut scripted = ScriptedEntropy::new(o_entropy.clone());
    let offer = o.session.rekey_with(&mut scripted).map_err(err)?;
    if scripted.remaining() != 0 {
        return Err("rekey left scripted entropy unused".into());
    }
    let answer = a
        .handle(&offer, a_entropy.clone())?
        .ok_or("no rekey answer")?;
    let done = o.handle(&answer, Vec::new())?.ok_or("no rekey done")?;
    if a.handle(&done, Vec::new())?.is_some() {
        return Err("the answerer replied to the rekey done".into());
    }
    let epoch = 1;
    if (i.session.epoch(), r.session.epoch()) != (epoch, epoch) {
        return Err(format!("{name}: the rekey did not reach epoch {epoch}"));
    }
    let rekey_frames = frames_both_ways(&mut i, &mut r, &pattern(tag ^ 0x99, 48), epoch)?;

    let role_name = |role: Role| match role {
        Role::Initiator => "initiator",
        Role::Responder => "responder",
    };
    let hexes = |messages: &[&Vec<u8>]| messages.iter().map(|m| hex(m)).collect();
    Ok(CallCase {
        name,
        suite: config.suite.id(),
        allow_short_tags: config.allow_short_tags,
        initiator: Party {
            uid: uids.0.to_owned(),
            identity_secret: hex(&i_secret),
            entropy: hex(&i_entropy),
        },
        responder: Party {
            uid: uids.1.to_owned(),
            identity_secret: hex(&r_secret),
            entropy: hex(&r_entropy),
        },
        messages: hexes(&[&commit, &response, &reveal, &confirm]),
        security_code: code.to_string(),
        first_frames,
        rekey: RekeyCase {
            offerer: role_name(offerer),
            offerer_entropy: hex(&o_entropy),
            answerer_entropy: hex(&a_entropy),
            epoch,
            messages: hexes(&[&offer, &answer, &done]),
            frames: rekey_frames,
        },
    })
}

pub(super) fn cases() -> Result<Vec<CallCase>, String> {
    let mut cases = Vec::new();
    // The offerer alternates: the initiator in even cases, the responder in
    // odd ones.
    let offerer = |n: usize| {
        if n.is_multiple_of(2) {
            Role::Initiator
        } else {
            Role::Responder
        }
    };
    for suite in CipherSuite::ALL {
        let config = CallConfig {
            suite,
            allow_short_tags: suite.tag_len() < 8,
            ..CallConfig::default()
        };
        let name = format!("suite-{}", suite.id());
        let tag = 0xc0 | suite.id() as u8;
        cases.push(case(
            name,
            config,
            ("alice", "bob"),
            tag,
            offerer(cases.len()),
        )?);
    }
    cases.push(case(
        "unicode-uids".into(),
        CallConfig::default(),
        ("zoë@example.org", "李雷"),
        0xa5,
        offerer(cases.len()),
    )?);
    Ok(cases)
}
