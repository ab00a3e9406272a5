//! A media receiver with keys for KIDs 0..=2 decrypting arbitrary bytes as a
//! protected media frame: it must never panic, whatever the footer, codec,
//! NAL units or OBUs claim. The external (WebCrypto) path's checks, from the
//! frame's first and last bytes only, must refuse exactly what the core's
//! own path refuses before the tag, with the same error.
#![no_main]

use callseal_core::frame::media::{HEAD_LEN, MediaError, MediaReceiver, TAIL_LEN};
use callseal_core::frame::{BaseKey, CipherSuite, Error, Kid, Receiver, ReceiverConfig};
use libfuzzer_sys::fuzz_target;

fn receiver() -> MediaReceiver {
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
    receiver
}

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let inside = receiver().decrypt_frame(data, &mut out);

    let head = &data[..data.len().min(HEAD_LEN)];
    let tail = &data[data.len() - data.len().min(TAIL_LEN)..];
    match receiver().open_external(head, tail, data.len()) {
        // H.26x or AV1: the core's path only.
        Ok(None) => {}
        // Checked: only the tag is left, which random bytes do not pass.
        Ok(Some(_)) => assert!(
            matches!(inside, Err(MediaError::Frame(Error::AuthenticationFailed)) | Ok(_)),
            "external path accepted what the core refused before the tag: {inside:?}"
        ),
        // A CTR+HMAC key has no external path.
        Err(MediaError::Frame(Error::InvalidConfig(_))) => {}
        Err(e) => assert_eq!(inside.map(|_| ()), Err(e)),
    }
});
