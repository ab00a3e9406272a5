//! `FrameSender` and `FrameReceiver`: RFC 9605 SFrame frames.
//!
//! Besides the synchronous `encrypt` and `decrypt`, `encryptAsync` and
//! `decryptAsync` let WebCrypto's native AES-GCM do the AEAD of the AES-GCM
//! suites while the core keeps the key schedule, counters, headers, nonces,
//! AAD and replay windows (`callseal_core::frame::ExternalKey`): faster for
//! large frames in a browser, where the core's AES is software. Their
//! frames are byte for byte those of the synchronous path.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use callseal_core::ErrorKind;
use callseal_core::frame::{CipherSuite, ExternalKey, Kid, Receiver, ReceiverConfig, Sender};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::convert;
use crate::error::{Failure, guard};

#[wasm_bindgen(module = "/js/webcrypto.js")]
extern "C" {
    #[wasm_bindgen(js_name = importGcmKey)]
    pub(crate) fn import_gcm_key(raw: &[u8]) -> Promise;
    #[wasm_bindgen(js_name = sealFrame)]
    fn seal_frame(
        key: &Promise,
        header: &[u8],
        nonce: &[u8],
        aad: &[u8],
        payload: &Uint8Array,
    ) -> Promise;
    #[wasm_bindgen(js_name = openFrame)]
    fn open_frame(key: &Promise, nonce: &[u8], aad: &[u8], body: &Uint8Array) -> Promise;
}

/// The platform key of one key id: the derived key until first use, then
/// the (promised) non-extractable WebCrypto key it was imported into.
enum PlatformKey {
    Raw(ExternalKey),
    Imported(Promise),
}

impl PlatformKey {
    /// The key of `suite`, if the suite's AEAD can run in WebCrypto.
    fn derive(suite: CipherSuite, kid: Kid, base_key: &[u8]) -> Result<Option<Self>, Failure> {
        match ExternalKey::derive(suite, kid, &convert::base_key(base_key)?) {
            Ok(key) => Ok(Some(Self::Raw(key))),
            Err(_) => Ok(None),
        }
    }

    /// The imported key (importing it on first use; the raw bytes go).
    fn imported(&mut self) -> Promise {
        let promise = match self {
            Self::Raw(key) => import_gcm_key(key.as_bytes()),
            Self::Imported(promise) => return promise.clone(),
        };
        *self = Self::Imported(promise.clone());
        promise
    }
}

fn no_platform_aead() -> Failure {
    Failure::invalid("encryptAsync and decryptAsync need an AES-GCM suite (4 or 5)")
}

/// Encrypts SFrame frames under one key id; its counter never repeats.
///
/// In JavaScript: `new FrameSender(suite, kid, baseKey)`,
/// `FrameSender.startingAt(suite, kid, baseKey, counter)`,
/// `encrypt(metadata, payload)`, `kid`, `nextCounter`.
#[wasm_bindgen]
pub struct FrameSender {
    inner: Sender,
    platform: Option<PlatformKey>,
}

impl FrameSender {
    fn make(
        suite: u32,
        kid: &JsValue,
        base_key: &[u8],
        counter: Option<&JsValue>,
    ) -> Result<Self, Failure> {
        let (suite, kid) = (convert::suite(suite)?, convert::kid(kid)?);
        let inner = match counter {
            None => Sender::new(suite, kid, convert::base_key(base_key)?)?,
            Some(c) => Sender::starting_at(
                suite,
                kid,
                convert::base_key(base_key)?,
                convert::counter(c)?,
            )?,
        };
        Ok(Self {
            inner,
            platform: PlatformKey::derive(suite, kid, base_key)?,
        })
    }
}

#[wasm_bindgen]
impl FrameSender {
    /// A sender for `kid` whose first frame uses counter 0.
    #[wasm_bindgen(constructor)]
    pub fn new(
        suite: u32,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] kid: JsValue,
        base_key: &[u8],
    ) -> Result<FrameSender, Failure> {
        guard(|| Self::make(suite, &kid, base_key, None))
    }

    /// A sender whose first frame uses `counter` (for a key whose counters
    /// from there on were never used, or a test vector).
    #[wasm_bindgen(js_name = startingAt)]
    pub fn starting_at(
        suite: u32,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] kid: JsValue,
        base_key: &[u8],
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] counter: JsValue,
    ) -> Result<FrameSender, Failure> {
        guard(|| Self::make(suite, &kid, base_key, Some(&counter)))
    }

    /// The SFrame frame `header || ciphertext || tag` of `payload`, with
    /// `metadata` authenticated (not sent).
    pub fn encrypt(&mut self, metadata: &[u8], payload: &[u8]) -> Result<Vec<u8>, Failure> {
        guard(|| Ok(self.inner.encrypt(metadata, payload)?))
    }

    /// Like `encrypt`, with WebCrypto's AES-GCM doing the AEAD (AES-GCM
    /// suites only): a promise of the same frame, rejected with a
    /// `CallsealError` on failure. The counter is taken now, so frames keep
    /// the order of the calls.
    #[wasm_bindgen(js_name = encryptAsync, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn encrypt_async(&mut self, metadata: &[u8], payload: &Uint8Array) -> Promise {
        rejecting(guard(|| {
            let key = self
                .platform
                .as_mut()
                .ok_or_else(no_platform_aead)?
                .imported();
            let seal = self.inner.seal_external(metadata)?;
            Ok(seal_frame(
                &key,
                seal.header.as_bytes(),
                &seal.nonce,
                &seal.aad,
                payload,
            ))
        }))
    }

    /// The key id written into every frame.
    #[wasm_bindgen(getter)]
    pub fn kid(&self) -> u64 {
        self.inner.kid().0
    }

    /// The counter of the next frame, or `null` once the key is used up.
    #[wasm_bindgen(getter = nextCounter, unchecked_return_type = "bigint | null")]
    pub fn next_counter(&self) -> JsValue {
        convert::or_null(self.inner.next_counter().map(|c| c.0))
    }
}

/// Decrypts SFrame frames: keys by key id, a replay window per key.
///
/// In JavaScript: `new FrameReceiver()`, `FrameReceiver.withConfig(...)`,
/// `addKey(kid, suite, baseKey)`, `removeKey(kid)`, `hasKey(kid)`,
/// `decrypt(metadata, frame)`.
#[wasm_bindgen]
pub struct FrameReceiver {
    /// Shared with the continuation of `decryptAsync`, which commits the
    /// counter once WebCrypto verified the tag.
    inner: Rc<RefCell<Receiver>>,
    platform: HashMap<Kid, PlatformKey>,
}

impl FrameReceiver {
    fn of(receiver: Receiver) -> Self {
        Self {
            inner: Rc::new(RefCell::new(receiver)),
            platform: HashMap::new(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Receiver) -> Result<T, Failure>) -> Result<T, Failure> {
        let mut inner = self.inner.try_borrow_mut().map_err(|_| busy())?;
        f(&mut inner)
    }
}

fn busy() -> Failure {
    Failure::new(ErrorKind::Internal, "receiver in use")
}

impl Default for FrameReceiver {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl FrameReceiver {
    /// A receiver with the default configuration and no keys.
    #[wasm_bindgen(constructor)]
    pub fn new() -> FrameReceiver {
        Self::of(Receiver::new(ReceiverConfig::default()))
    }

    /// A receiver with a chosen configuration; refused if a value is out of
    /// range.
    #[wasm_bindgen(js_name = withConfig)]
    pub fn with_config(
        replay_window: u32,
        max_ratchet_steps: u32,
        retained_ratchet_keys: u32,
    ) -> Result<FrameReceiver, Failure> {
        guard(|| {
            Ok(Self::of(Receiver::with_config(ReceiverConfig {
                replay_window,
                max_ratchet_steps,
                retained_ratchet_keys,
            })?))
        })
    }

    /// Installs the key for `kid`, replacing any it had.
    #[wasm_bindgen(js_name = addKey)]
    pub fn add_key(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] kid: JsValue,
        suite: u32,
        base_key: &[u8],
    ) -> Result<(), Failure> {
        guard(|| {
            let (kid, suite) = (convert::kid(&kid)?, convert::suite(suite)?);
            self.with(|r| Ok(r.add_key(kid, suite, convert::base_key(base_key)?)?))?;
            match PlatformKey::derive(suite, kid, base_key)? {
                Some(key) => self.platform.insert(kid, key),
                None => self.platform.remove(&kid),
            };
            Ok(())
        })
    }

    /// Removes the key for `kid`; whether there was one.
    #[wasm_bindgen(js_name = removeKey)]
    pub fn remove_key(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] kid: JsValue,
    ) -> Result<bool, Failure> {
        guard(|| {
            let kid = convert::kid(&kid)?;
            self.platform.remove(&kid);
            self.with(|r| Ok(r.remove_key(kid)))
        })
    }

    /// Whether a key for `kid` is installed.
    #[wasm_bindgen(js_name = hasKey)]
    pub fn has_key(
        &self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] kid: JsValue,
    ) -> Result<bool, Failure> {
        guard(|| {
            let kid = convert::kid(&kid)?;
            self.with(|r| Ok(r.has_key(kid)))
        })
    }

    /// The payload of an SFrame `frame`, checked against its tag (with
    /// `metadata` as AAD) and the replay window.
    pub fn decrypt(&mut self, metadata: &[u8], frame: &[u8]) -> Result<Vec<u8>, Failure> {
        guard(|| self.with(|r| Ok(r.decrypt(metadata, frame)?)))
    }

    /// Like `decrypt`, with WebCrypto's AES-GCM checking the tag and
    /// decrypting (AES-GCM suites, keys added with `addKey`): a promise of
    /// the payload, rejected with a `CallsealError` on failure. The key and
    /// the replay window are checked now; the counter is recorded once the
    /// tag verified.
    #[wasm_bindgen(js_name = decryptAsync, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn decrypt_async(&mut self, metadata: &[u8], frame: &Uint8Array) -> Promise {
        rejecting(guard(|| {
            let len = frame.length();
            let open = self.with(|r| Ok(r.open_external(metadata, &frame.to_vec())?))?;
            let key = self
                .platform
                .get_mut(&open.header.kid)
                .ok_or_else(no_platform_aead)?
                .imported();
            // The body goes to WebCrypto as it is, without a copy.
            let start = u32::try_from(open.header_len).map_err(|_| busy())?;
            let body = frame.subarray(start, len);
            let plain = open_frame(&key, &open.nonce, &open.aad, &body);
            let header = open.header;
            let serial = open.key_serial;
            let inner = Rc::clone(&self.inner);
            let commit =
                Closure::once_into_js(move |payload: JsValue| -> Result<JsValue, JsValue> {
                    let mut r = inner.try_borrow_mut().map_err(|_| JsValue::from(busy()))?;
                    r.commit_external(&header, serial)
                        .map_err(|e| JsValue::from(Failure::from(e)))?;
                    Ok(payload)
                });
            // A failed tag counts against the key's forgery limit, as the
            // synchronous path counts it.
            let inner = Rc::clone(&self.inner);
            let reject =
                Closure::once_into_js(move |reason: JsValue| -> Result<JsValue, JsValue> {
                    if let Ok(mut r) = inner.try_borrow_mut() {
                        // A key replaced meanwhile has nothing to count against.
                        let _ = r.reject_external(&header, serial);
                    }
                    Err(reason)
                });
            then(&plain, &commit, &reject)
        }))
    }
}

/// An async method's result: its promise, or a promise rejected with the
/// failure, so that every failure arrives the same way.
fn rejecting(result: Result<Promise, Failure>) -> Promise {
    result.unwrap_or_else(|failure| Promise::reject(&failure.into()))
}

/// `promise.then(f, g)`.
fn then(promise: &Promise, f: &JsValue, g: &JsValue) -> Result<Promise, Failure> {
    let internal = |_| Failure::new(ErrorKind::Internal, "Promise.then failed");
    let then: Function = Reflect::get(promise, &JsValue::from_str("then"))
        .map_err(internal)?
        .dyn_into()
        .map_err(|_| Failure::new(ErrorKind::Internal, "Promise.then missing"))?;
    then.call2(promise, f, g)
        .map_err(internal)?
        .dyn_into()
        .map_err(|_| Failure::new(ErrorKind::Internal, "not a promise"))
}
