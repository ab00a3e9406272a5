//! `calls.json`: whole 1:1 call handshakes with fixed identity keys and
//! scripted randomness, their security codes and first media frames.

use callseal_core::call::CallSession;
use callseal_core::frame::media::{Codec, MediaReceiver, MediaSender};
use callseal_core::frame::{CipherSuite, Receiver, Sender};
use callseal_core::identity::{IdentityKeyPair, MemoryIdentityStore, ScriptedEntropy};
use serde::Serialize;

use super::fixed::{err, hex, pattern};

pub(super) const DESCRIPTION: &str = "CallSession.initiateScripted(identity, uid, suite, entropy) and respondScripted(identity, uid, commit, entropy) with IdentityKeyPair.fromBytes(identity_secret) and memory stores produce messages in order (commit, response, reveal, confirm); both sides end with security_code; after takeMedia each side's MediaSender encrypts first_frames.payload as codec generic to its first frame, which the other side's MediaReceiver decrypts back to payload.";

#[derive(Serialize)]
pub(super) struct Party {
    uid: String,
    identity_secret: String,
    entropy: String,
}

#[derive(Serialize)]
pub(super) struct FirstFrames {
    codec: &'static str,
    payload: String,
    initiator_to_responder: String,
    responder_to_initiator: String,
}

#[derive(Serialize)]
pub(super) struct CallCase {
    name: String,
    suite: u16,
    initiator: Party,
    responder: Party,
    messages: Vec<String>,
    security_code: String,
    first_frames: FirstFrames,
}

/// Session id (16 bytes) and ephemeral secret (32 bytes).
const INITIATOR_ENTROPY: usize = 48;
/// Ephemeral secret (32 bytes).
const RESPONDER_ENTROPY: usize = 32;

fn secret(tag: u8) -> Result<[u8; 32], String> {
    pattern(tag, 32)
        .try_into()
        .map_err(|_| "a secret is 32 bytes".to_owned())
}

fn first_frame(sender: Sender, payload: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    MediaSender::new(sender)
        .encrypt_frame(Codec::Generic, payload, &mut out)
        .map_err(err)?;
    Ok(out)
}

fn check_decrypts(receiver: Receiver, frame: &[u8], payload: &[u8]) -> Result<(), String> {
    let mut out = Vec::new();
    MediaReceiver::new(receiver)
        .decrypt_frame(frame, &mut out)
        .map_err(err)?;
    if out != payload {
        return Err("a first frame did not decrypt to its payload".into());
    }
    Ok(())
}

fn case(name: String, suite: CipherSuite, uids: (&str, &str), tag: u8) -> Result<CallCase, String> {
    let (i_secret, r_secret) = (secret(tag)?, secret(tag ^ 0x55)?);
    let i_entropy = pattern(tag ^ 0x0f, INITIATOR_ENTROPY);
    let r_entropy = pattern(tag ^ 0xf0, RESPONDER_ENTROPY);
    let (i_id, r_id) = (
        IdentityKeyPair::from_bytes(i_secret),
        IdentityKeyPair::from_bytes(r_secret),
    );
    let (mut i_store, mut r_store) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());

    let (mut i, commit) = CallSession::initiate(
        &i_id,
        uids.0,
        suite,
        &mut ScriptedEntropy::new(i_entropy.clone()),
    )
    .map_err(err)?;
    let (mut r, response) = CallSession::respond(
        &r_id,
        uids.1,
        &commit,
        &mut ScriptedEntropy::new(r_entropy.clone()),
    )
    .map_err(err)?;
    let reveal = i
        .handle(&response, &mut i_store)
        .map_err(err)?
        .ok_or("no reveal")?;
    let confirm = r
        .handle(&reveal, &mut r_store)
        .map_err(err)?
        .ok_or("no confirm")?;
    if i.handle(&confirm, &mut i_store).map_err(err)?.is_some() {
        return Err("the initiator answered the confirm".into());
    }
    let code = i.security_code().ok_or("no security code")?;
    if r.security_code() != Some(code) {
        return Err(format!("{name}: the two codes differ"));
    }

    let payload = pattern(tag ^ 0x33, 32);
    let (i_tx, i_rx) = i.take_media().map_err(err)?;
    let (r_tx, r_rx) = r.take_media().map_err(err)?;
    let i_to_r = first_frame(i_tx, &payload)?;
    let r_to_i = first_frame(r_tx, &payload)?;
    check_decrypts(r_rx, &i_to_r, &payload)?;
    check_decrypts(i_rx, &r_to_i, &payload)?;

    Ok(CallCase {
        name,
        suite: suite.id(),
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
        messages: [commit, response, reveal, confirm]
            .iter()
            .map(|m| hex(m))
            .collect(),
        security_code: code.to_string(),
        first_frames: FirstFrames {
            codec: Codec::Generic.name(),
            payload: hex(&payload),
            initiator_to_responder: hex(&i_to_r),
            responder_to_initiator: hex(&r_to_i),
        },
    })
}

pub(super) fn cases() -> Result<Vec<CallCase>, String> {
    let mut cases = Vec::new();
    for suite in CipherSuite::ALL {
        let name = format!("suite-{}", suite.id());
        cases.push(case(
            name,
            suite,
            ("alice", "bob"),
            0xc0 | suite.id() as u8,
        )?);
    }
    cases.push(case(
        "unicode-uids".into(),
        CipherSuite::AesGcm128Sha256,
        ("zoë@example.org", "李雷"),
        0xa5,
    )?);
    Ok(cases)
}
