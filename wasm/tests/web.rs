//! The wrapper from inside WebAssembly, in Node and in headless Chromium
//! (`scripts/test-wasm` runs this file under wasm-bindgen-test-runner twice):
//! errors arrive as `CallsealError` objects with their stable code, values
//! cross the boundary as the package documents, and the objects work.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use callseal_wasm::{
    CallSession, FrameReceiver, FrameSender, IdentityKeyPair, IdentityStore, MediaReceiver,
    MediaSender, MediaUpdate,
};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap()
}

/// The JavaScript error a failure becomes, and its code.
fn js_code<T>(result: Result<T, callseal_wasm::Failure>) -> String {
    let Err(failure) = result else {
        panic!("expected an error")
    };
    let err: JsValue = failure.into();
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&err, "name").as_string().unwrap(), "CallsealError");
    assert!(!get(&err, "message").as_string().unwrap().is_empty());
    get(&err, "code").as_string().unwrap()
}

fn bytes(value: &JsValue) -> Vec<u8> {
    value.dyn_ref::<Uint8Array>().unwrap().to_vec()
}

#[wasm_bindgen_test]
fn frames_and_their_errors() {
    let kid = JsValue::from(7u64);
    let mut sender = FrameSender::new(4, kid.clone(), &[1; 16]).unwrap();
    let mut receiver = FrameReceiver::new();
    receiver.add_key(kid.clone(), 4, &[1; 16]).unwrap();
    let frame = sender.encrypt(b"meta", b"hello").unwrap();
    assert_eq!(receiver.decrypt(b"meta", &frame).unwrap(), b"hello");
    assert_eq!(js_code(receiver.decrypt(b"meta", &frame)), "replay");
    let second = sender.encrypt(b"meta", b"again").unwrap();
    assert_eq!(
        js_code(receiver.decrypt(b"other", &second)),
        "authentication-failed"
    );
    assert_eq!(js_code(receiver.decrypt(b"", &[])), "malformed");
    assert_eq!(
        js_code(FrameSender::new(0, kid.clone(), &[1; 16])),
        "invalid-argument"
    );
    assert_eq!(
        js_code(FrameSender::new(4, JsValue::from_str("7"), &[1; 16])),
        "invalid-argument"
    );
    assert_eq!(
        js_code(FrameReceiver::new().decrypt(b"", &frame)),
        "unknown-key-id"
    );
    // A number is accepted where it is a safe integer.
    assert!(receiver.has_key(JsValue::from_f64(7.0)).unwrap());
    assert_eq!(sender.next_counter(), JsValue::from(2u64));
}

#[wasm_bindgen_test]
fn media_frames_return_plain_objects() {
    let kid = JsValue::from(5u64);
    let mut sender = MediaSender::new(1, kid.clone(), &[2; 16]).unwrap();
    let mut receiver = MediaReceiver::new();
    receiver.add_key(kid, 1, &[2; 16]).unwrap();
    let frame = [0x78, 1, 2, 3, 4];
    let protected = sender.encrypt_frame("audio/opus", &frame).unwrap();
    assert_eq!(protected.get_index(0), 0x78);
    let out = receiver.decrypt_frame(&protected.to_vec()).unwrap();
    assert_eq!(get(&out, "codec").as_string().unwrap(), "Opus");
    assert_eq!(get(&out, "kid"), JsValue::from(5u64));
    assert_eq!(get(&out, "counter"), JsValue::from(0u64));
    assert_eq!(bytes(&get(&out, "payload")), frame);
    assert_eq!(js_code(sender.ratchet()), "invalid-argument");
    assert_eq!(
        js_code(sender.encrypt_frame("MPEG", &frame)),
        "invalid-argument"
    );
}

/// `handle`'s `{ reply, media, ignored }`.
fn handled(value: &JsValue) -> (Option<Vec<u8>>, Option<MediaUpdate>, Option<String>) {
    let reply = get(value, "reply");
    let media = get(value, "media");
    let ignored = get(value, "ignored");
    (
        (!reply.is_null()).then(|| bytes(&reply)),
        (!media.is_null()).then(|| MediaUpdate::try_from_js_value(media).unwrap()),
        ignored.as_string(),
    )
}

/// The reply of a step that must have one.
fn reply(value: &JsValue) -> Vec<u8> {
    handled(value).0.expect("a reply")
}

#[wasm_bindgen_test]
fn a_call_between_two_sessions() {
    let alice = IdentityKeyPair::generate().unwrap();
    let bob = IdentityKeyPair::generate().unwrap();
    let (mut alice_store, mut bob_store) = (IdentityStore::memory(), IdentityStore::memory());
    let a =
        CallSession::initiate(&alice, "alice".into(), "bob".into(), JsValue::UNDEFINED).unwrap();
    let mut a_session = CallSession::try_from_js_value(get(&a, "session")).unwrap();
    let b = CallSession::respond(
        &bob,
        "bob".into(),
        &bytes(&get(&a, "message")),
        JsValue::NULL,
    )
    .unwrap();
    let mut b_session = CallSession::try_from_js_value(get(&b, "session")).unwrap();
    assert_eq!(a_session.state().unwrap(), "negotiating");
    let reveal = reply(
        &a_session
            .handle(&bytes(&get(&b, "message")), &mut alice_store)
            .unwrap(),
    );
    let confirm = reply(&b_session.handle(&reveal, &mut bob_store).unwrap());
    let (end, media, ignored) = handled(&a_session.handle(&confirm, &mut alice_store).unwrap());
    assert!(end.is_none() && media.is_none() && ignored.is_none());
    let code = a_session.security_code().as_string().unwrap();
    assert_eq!(code.len(), 23);
    assert_eq!(b_session.security_code().as_string().unwrap(), code);
    assert_eq!(a_session.indicator().unwrap(), "lock-and-shield");
    b_session.mark_verified(&mut bob_store).unwrap();
    assert_eq!(b_session.indicator().unwrap(), "lock-and-shield-verified");

    let a_media = a_session.take_media().unwrap();
    let b_media = b_session.take_media().unwrap();
    assert_eq!(js_code(a_session.take_media()), "protocol-violation");
    let mut a_tx = MediaSender::try_from_js_value(get(&a_media, "sender")).unwrap();
    let mut a_rx = MediaReceiver::try_from_js_value(get(&a_media, "receiver")).unwrap();
    let mut b_tx = MediaSender::try_from_js_value(get(&b_media, "sender")).unwrap();
    let mut b_rx = MediaReceiver::try_from_js_value(get(&b_media, "receiver")).unwrap();
    for i in 0..4u8 {
        let frame = a_tx.encrypt_frame("generic", &[i; 40]).unwrap();
        let out = b_rx.decrypt_frame(&frame.to_vec()).unwrap();
        assert_eq!(bytes(&get(&out, "payload")), [i; 40]);
        a_tx.ratchet().unwrap();
    }

    // A stray message is ignored; the call goes on.
    let (_, _, why) = handled(&b_session.handle(&[1, 2, 3], &mut bob_store).unwrap());
    assert_eq!(why.as_deref(), Some("malformed"));

    // A rekey offered by Bob, the media updates applied on both sides.
    let offer = b_session.rekey().unwrap();
    assert!(b_session.rekey_pending());
    let (answer, update, _) = handled(&a_session.handle(&offer, &mut alice_store).unwrap());
    let mut update = update.unwrap();
    assert_eq!(update.epoch(), 1);
    update.apply(&mut a_tx, &mut a_rx).unwrap();
    let (done, update, _) = handled(&b_session.handle(&answer.unwrap(), &mut bob_store).unwrap());
    update.unwrap().apply(&mut b_tx, &mut b_rx).unwrap();
    let (none, update, _) = handled(&a_session.handle(&done.unwrap(), &mut alice_store).unwrap());
    assert!(none.is_none());
    let mut update = update.unwrap();
    assert!(update.changes_sender());
    update.apply_to_sender(&mut a_tx).unwrap();
    assert!(!update.changes_sender());
    assert_eq!((a_session.epoch(), b_session.epoch()), (1, 1));
    for (tx, rx) in [(&mut a_tx, &mut b_rx), (&mut b_tx, &mut a_rx)] {
        let frame = tx.encrypt_frame("generic", b"after the rekey").unwrap();
        let out = rx.decrypt_frame(&frame.to_vec()).unwrap();
        assert_eq!(bytes(&get(&out, "payload")), b"after the rekey");
    }
}

#[wasm_bindgen_test]
fn the_wrong_peer_is_refused() {
    let alice = IdentityKeyPair::generate().unwrap();
    let carol = IdentityKeyPair::generate().unwrap();
    let a =
        CallSession::initiate(&alice, "alice".into(), "bob".into(), JsValue::UNDEFINED).unwrap();
    let commit = bytes(&get(&a, "message"));
    assert_eq!(
        js_code(CallSession::respond(
            &carol,
            "carol".into(),
            &commit,
            JsValue::UNDEFINED
        )),
        "wrong-peer"
    );
    let options = js_sys::Object::new();
    Reflect::set(&options, &"suite".into(), &JsValue::from(4)).unwrap();
    assert_eq!(
        js_code(CallSession::respond(
            &carol,
            "bob".into(),
            &commit,
            options.into()
        )),
        "invalid-argument"
    );
    // A number where the callee belongs (the version 1 `initiate(identity,
    // uid, suite)`) throws instead of trapping.
    assert_eq!(
        js_code(CallSession::initiate(
            &alice,
            "alice".into(),
            JsValue::from(4),
            JsValue::UNDEFINED
        )),
        "invalid-argument"
    );
}
