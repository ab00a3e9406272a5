//! Media mode with WebCrypto computing the AES-GCM (the transform worker's
//! fast path, wasm/js/media-crypto.js): the core plans each frame from its
//! first and last bytes, JavaScript awaits one `crypto.subtle` call on the
//! frame's own bytes, and the core commits the replay window. Only Opus,
//! VP8, VP9 and generic frames under AES-GCM keys take this path; for the
//! others the plan methods return `undefined` and the caller uses
//! `encryptFrame` / `decryptFrame`.
//!
//! Plans are packed into one `Uint8Array` (little-endian), so a frame costs
//! one small allocation:
//!
//! ```text
//! seal plan: clearLen u32 | headerLen u8 | footer u8 | nonce[12] | header | aad
//! open plan: clearLen u32 | bodyEnd u32 | codec id u8 | kid u64 | counter u64
//!            | key serial u64 | nonce[12] | aad
//! ```

use callseal_core::frame::media::{HEAD_LEN, MediaError, TAIL_LEN};
use callseal_core::frame::{Counter, Error, Header, Kid};
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;

use crate::convert;
use crate::error::{Failure, guard};
use crate::frame::import_gcm_key;
use crate::media::{MediaReceiver, MediaSender};

/// Frames whose codec or key has no external path.
fn unsupported(err: &MediaError) -> bool {
    matches!(err, MediaError::Frame(Error::InvalidConfig(_)))
}

fn len32(n: usize) -> Result<[u8; 4], Failure> {
    u32::try_from(n)
        .map(u32::to_le_bytes)
        .map_err(|_| Failure::invalid("the frame is larger than 4 GiB"))
}

fn length(len: u32) -> Result<usize, Failure> {
    usize::try_from(len).map_err(|_| Failure::invalid("length out of range"))
}

#[wasm_bindgen]
impl MediaSender {
    /// The first bytes of a frame the plan needs: `frame.subarray(0, headLen)`.
    #[wasm_bindgen(js_name = headLen, getter)]
    pub fn head_len(&self) -> u32 {
        HEAD_LEN as u32
    }

    /// Plans encrypting a frame of `codec` of `len` bytes outside the core,
    /// from its first `min(len, 10)` bytes (`head`); uses the next counter.
    /// `undefined` (no counter used) if the codec or the suite has no
    /// external path. See the module's layout of the plan.
    #[wasm_bindgen(js_name = sealExternal)]
    pub fn seal_external(
        &mut self,
        codec: &str,
        head: &[u8],
        len: u32,
    ) -> Result<Option<Uint8Array>, Failure> {
        guard(|| {
            let codec = convert::codec(codec)?;
            let seal = match self.inner.seal_external(codec, head, length(len)?) {
                Ok(seal) => seal,
                Err(e) if unsupported(&e) && head.len() == (len as usize).min(HEAD_LEN) => {
                    return Ok(None);
                }
                Err(e) => return Err(e.into()),
            };
            let header = seal.header.as_bytes();
            let header_len = u8::try_from(header.len()).map_err(|_| Failure::invalid("header"))?;
            let mut plan = Vec::with_capacity(18 + header.len() + seal.aad.len());
            plan.extend_from_slice(&len32(seal.clear_len)?);
            plan.push(header_len);
            plan.push(seal.footer);
            plan.extend_from_slice(&seal.nonce);
            plan.extend_from_slice(header);
            plan.extend_from_slice(&seal.aad);
            Ok(Some(Uint8Array::from(plan.as_slice())))
        })
    }

    /// The current key id's AES-GCM key as a WebCrypto key (a promise of a
    /// non-extractable `CryptoKey`): the key's bytes never reach
    /// JavaScript, only WebCrypto's import, which wipes its copy.
    #[wasm_bindgen(js_name = gcmKey, unchecked_return_type = "Promise<CryptoKey>")]
    pub fn gcm_key(&self) -> Result<Promise, Failure> {
        guard(|| {
            let key = self.inner.sender().external_key()?;
            Ok(import_gcm_key(key.as_bytes()))
        })
    }
}

/// The header of a planned frame, from the plan's key id and counter.
fn header(kid: u64, counter: u64) -> Header {
    Header {
        kid: Kid(kid),
        ctr: Counter(counter),
    }
}

#[wasm_bindgen]
impl MediaReceiver {
    /// How many of a protected frame's first bytes `openExternal` needs.
    #[wasm_bindgen(js_name = headLen, getter)]
    pub fn head_len(&self) -> u32 {
        HEAD_LEN as u32
    }

    /// How many of a protected frame's last bytes `openExternal` needs.
    #[wasm_bindgen(js_name = tailLen, getter)]
    pub fn tail_len(&self) -> u32 {
        TAIL_LEN as u32
    }

    /// Checks a protected frame of `len` bytes from its first `min(len, 10)`
    /// bytes (`head`) and last `min(len, tailLen)` (`tail`): footer, header,
    /// key, replay window, layout. The plan (see the module), or
    /// `undefined` for a codec or key with no external path. Decrypt
    /// `frame.subarray(clearLen, bodyEnd)` with the plan's nonce and AAD,
    /// then call `commitExternal` (tag verified) or `rejectExternal`.
    #[wasm_bindgen(js_name = openExternal)]
    pub fn open_external(
        &mut self,
        head: &[u8],
        tail: &[u8],
        len: u32,
    ) -> Result<Option<Uint8Array>, Failure> {
        guard(|| {
            let open = match self.inner.open_external(head, tail, length(len)?) {
                Ok(Some(open)) => open,
                Ok(None) => return Ok(None),
                Err(e) if unsupported(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let mut plan = Vec::with_capacity(45 + open.aad.len());
            plan.extend_from_slice(&len32(open.clear_len)?);
            plan.extend_from_slice(&len32(open.body_end)?);
            plan.push(open.codec.id());
            plan.extend_from_slice(&open.header.kid.0.to_le_bytes());
            plan.extend_from_slice(&open.header.ctr.0.to_le_bytes());
            plan.extend_from_slice(&open.key_serial.to_le_bytes());
            plan.extend_from_slice(&open.nonce);
            plan.extend_from_slice(&open.aad);
            Ok(Some(Uint8Array::from(plan.as_slice())))
        })
    }

    /// Records a planned frame whose tag verified: fails (`replay`,
    /// `unknown-key-id` if its key was replaced meanwhile) if it may not be
    /// accepted after all.
    #[wasm_bindgen(js_name = commitExternal)]
    pub fn commit_external(&mut self, kid: u64, counter: u64, serial: u64) -> Result<(), Failure> {
        guard(|| {
            Ok(self
                .inner
                .receiver_mut()
                .commit_external(&header(kid, counter), serial)?)
        })
    }

    /// Records that a planned frame failed its tag check (it counts against
    /// the key's forgery limit, as on the core's own path).
    #[wasm_bindgen(js_name = rejectExternal)]
    pub fn reject_external(&mut self, kid: u64, counter: u64, serial: u64) -> Result<(), Failure> {
        guard(|| {
            Ok(self
                .inner
                .receiver_mut()
                .reject_external(&header(kid, counter), serial)?)
        })
    }

    /// The AES-GCM key a plan was checked against (its key id and serial)
    /// as a WebCrypto key (a promise of a non-extractable `CryptoKey`): the
    /// key's bytes never reach JavaScript.
    #[wasm_bindgen(js_name = gcmKey, unchecked_return_type = "Promise<CryptoKey>")]
    pub fn gcm_key(&self, kid: u64, serial: u64) -> Result<Promise, Failure> {
        guard(|| {
            let key = self
                .inner
                .receiver()
                .external_key(&header(kid, 0), serial)?;
            Ok(import_gcm_key(key.as_bytes()))
        })
    }
}
