//! Arbitrary bytes as an encoded frame of each codec: encryption either
//! refuses them with a typed error or produces a frame that decrypts, and a
//! flipped bit in that frame is always rejected. Never a panic.
#![no_main]

use callseal_core::frame::media::{Codec, MediaReceiver, MediaSender};
use callseal_core::frame::{BaseKey, CipherSuite, Kid, Receiver, ReceiverConfig, Sender};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let Some(codec) = Codec::from_id(selector % 8) else {
        return;
    };
    let suite = CipherSuite::ALL[usize::from(selector / 8) % CipherSuite::ALL.len()];
    let mut sender = MediaSender::new(Sender::new(suite, Kid(4), BaseKey::new(&[7; 16]).unwrap()).unwrap());
    let mut receiver = MediaReceiver::new(Receiver::new(ReceiverConfig::default()));
    receiver
        .receiver_mut()
        .add_key(Kid(4), suite, BaseKey::new(&[7; 16]).unwrap())
        .unwrap();

    let mut protected = Vec::new();
    if sender.encrypt_frame(codec, frame, &mut protected).is_err() {
        return;
    }
    let mut flipped = protected.clone();
    let at = usize::from(selector) * 31 % flipped.len();
    flipped[at] ^= 1 << (selector % 8);
    let mut out = Vec::new();
    assert!(receiver.decrypt_frame(&flipped, &mut out).is_err(), "flipped bit accepted");
    let info = receiver.decrypt_frame(&protected, &mut out).expect("genuine frame decrypts");
    assert_eq!(info.codec, codec);
});
