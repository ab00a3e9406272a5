//! A media receiver with keys for KIDs 0..=2 decrypting arbitrary bytes as a
//! protected media frame: it must never panic, whatever the footer, codec,
//! NAL units or OBUs claim.
#![no_main]

use callseal_core::frame::media::MediaReceiver;
use callseal_core::frame::{BaseKey, CipherSuite, Kid, Receiver, ReceiverConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut receiver = MediaReceiver::new(Receiver::new(ReceiverConfig::default()));
    for (kid, suite) in [
        CipherSuite::AesGcm128Sha256,
        CipherSuite::AesCtr128HmacSha256_32,
        CipherSuite::AesCtr256HmacSha512_80,
    ]
    .into_iter()
    .enumerate()
    {
        receiver
            .receiver_mut()
            .add_key(Kid(kid as u64), suite, BaseKey::new(&[0x33; 32]).unwrap())
            .unwrap();
    }
    let mut out = Vec::new();
    let _ = receiver.decrypt_frame(data, &mut out);
});
