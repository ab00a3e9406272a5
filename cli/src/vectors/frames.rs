//! `frames.json`: plain SFrame frames, every suite, small and large key ids
//! and counters, with and without metadata.

use callseal_core::frame::{CipherSuite, Counter, Kid, Sender};
use serde::Serialize;

use super::fixed::{base_key, base_key_bytes, dec, err, hex, pattern};

pub(super) const DESCRIPTION: &str = "FrameSender.startingAt(suite, kid, base_key, counter).encrypt(metadata, payload) returns frame; a FrameReceiver with addKey(kid, suite, base_key) decrypts frame with metadata back to payload.";

#[derive(Serialize)]
pub(super) struct FrameCase {
    name: String,
    suite: u16,
    kid: String,
    counter: String,
    base_key: String,
    metadata: String,
    payload: String,
    frame: String,
}

/// (name, kid, counter, metadata length, payload length).
const SHAPES: [(&str, u64, u64, usize, usize); 4] = [
    ("inline-empty", 0, 0, 0, 0),
    ("short", 7, 1, 4, 5),
    ("one-byte-ids", 0x123, 0x4567, 14, 21),
    // Both above 2^53: JavaScript must carry them as bigint.
    ("u64-ids", u64::MAX, (1 << 53) + 1, 20, 100),
];

pub(super) fn cases() -> Result<Vec<FrameCase>, String> {
    let mut cases = Vec::new();
    for suite in CipherSuite::ALL {
        for (i, (shape, kid, counter, meta_len, payload_len)) in SHAPES.into_iter().enumerate() {
            let tag = (suite.id() as u8) << 4 | i as u8;
            let key = base_key_bytes(suite, tag);
            let metadata = pattern(tag ^ 0x80, meta_len);
            let payload = pattern(tag ^ 0x40, payload_len);
            let mut sender =
                Sender::starting_at(suite, Kid(kid), base_key(&key)?, Counter(counter))
                    .map_err(err)?;
            let frame = sender.encrypt(&metadata, &payload).map_err(err)?;
            cases.push(FrameCase {
                name: format!("suite-{}/{shape}", suite.id()),
                suite: suite.id(),
                kid: dec(kid),
                counter: dec(counter),
                base_key: hex(&key),
                metadata: hex(&metadata),
                payload: hex(&payload),
                frame: hex(&frame),
            });
        }
    }
    Ok(cases)
}
