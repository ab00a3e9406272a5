//! JavaScript values to core types: integers that may be `bigint`, cipher
//! suites, keys and codecs. Only translation: the core validates.
// The meetings module (feature `meetings` alone) uses a few of these.
#![cfg_attr(not(feature = "calls"), allow(dead_code))]

use callseal_core::frame::media::Codec;
use callseal_core::frame::{BaseKey, CipherSuite, Counter, Kid};
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::Failure;

/// Largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A `bigint` in `0..2^64`, or a non-negative safe-integer number.
pub(crate) fn to_u64(value: &JsValue, what: &str) -> Result<u64, Failure> {
    if value.is_bigint() {
        return u64::try_from(value.clone())
            .map_err(|_| Failure::invalid(format!("{what} must be within 0..2^64")));
    }
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(&n) => Ok(n as u64),
        _ => Err(Failure::invalid(format!(
            "{what} must be a bigint (or a safe non-negative integer)"
        ))),
    }
}

/// A time in milliseconds: a `bigint` in `0..2^64`, or a non-negative finite
/// number, rounded down (so `performance.now()` works as well as
/// `Date.now()`).
pub(crate) fn millis(value: &JsValue, what: &str) -> Result<u64, Failure> {
    if value.is_bigint() {
        return to_u64(value, what);
    }
    match value.as_f64() {
        // `as` saturates at u64::MAX, which is far beyond any clock.
        Some(n) if n.is_finite() && n >= 0.0 => Ok(n.floor() as u64),
        _ => Err(Failure::invalid(format!(
            "{what} must be a non-negative number of milliseconds"
        ))),
    }
}

/// The options object of a call: `undefined` or `null` (no options), or a
/// plain object whose own properties are all among `known` (a misspelt
/// option, such as a pinned key that would silently not be pinned, is
/// refused).
pub(crate) struct Options {
    object: Option<Object>,
}

impl Options {
    /// Checks `value` against the option names `known`.
    pub(crate) fn new(value: &JsValue, known: &[&str]) -> Result<Self, Failure> {
        if value.is_undefined() || value.is_null() {
            return Ok(Self { object: None });
        }
        if !value.is_object() || value.is_function() || js_sys::Array::is_array(value) {
            return Err(Failure::invalid("options must be an object"));
        }
        let object: Object = value.clone().unchecked_into();
        for key in Object::keys(&object).iter() {
            let name = key.as_string().unwrap_or_default();
            if !known.contains(&name.as_str()) {
                return Err(Failure::invalid(format!(
                    "unknown option {name:?} (known: {})",
                    known.join(", ")
                )));
            }
        }
        Ok(Self {
            object: Some(object),
        })
    }

    /// The option's value; `None` when absent or `undefined`.
    fn get(&self, name: &str) -> Result<Option<JsValue>, Failure> {
        let Some(object) = &self.object else {
            return Ok(None);
        };
        let value = Reflect::get(object, &JsValue::from_str(name))
            .map_err(|_| Failure::invalid(format!("cannot read option {name}")))?;
        Ok((!value.is_undefined()).then_some(value))
    }

    /// A boolean option.
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, Failure> {
        self.get(name)?
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| Failure::invalid(format!("option {name} must be a boolean")))
            })
            .transpose()
    }

    /// An integer option: a safe non-negative integer or a `bigint`.
    pub(crate) fn u64(&self, name: &str) -> Result<Option<u64>, Failure> {
        self.get(name)?
            .map(|v| to_u64(&v, &format!("option {name}")))
            .transpose()
    }

    /// A string option.
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, Failure> {
        self.get(name)?
            .map(|v| {
                v.as_string()
                    .ok_or_else(|| Failure::invalid(format!("option {name} must be a string")))
            })
            .transpose()
    }

    /// A 32-byte key option (a `Uint8Array`).
    pub(crate) fn key32(&self, name: &str) -> Result<Option<[u8; 32]>, Failure> {
        self.get(name)?
            .map(|v| {
                v.dyn_ref::<Uint8Array>()
                    .filter(|a| a.length() == 32)
                    .map(|a| {
                        let mut key = [0u8; 32];
                        a.copy_to(&mut key);
                        key
                    })
                    .ok_or_else(|| {
                        Failure::invalid(format!("option {name} must be a 32-byte Uint8Array"))
                    })
            })
            .transpose()
    }
}

/// A string argument. Taking `&str` straight from wasm-bindgen would make a
/// non-string (a `number` where a user id belongs, as in the version 1
/// `initiate(identity, uid, suite)`) trap inside WebAssembly instead of
/// throwing a `CallsealError`.
pub(crate) fn string(value: &JsValue, what: &str) -> Result<String, Failure> {
    value
        .as_string()
        .ok_or_else(|| Failure::invalid(format!("{what} must be a string")))
}

/// A key id from JavaScript.
pub(crate) fn kid(value: &JsValue) -> Result<Kid, Failure> {
    to_u64(value, "kid").map(Kid)
}

/// A counter from JavaScript.
pub(crate) fn counter(value: &JsValue) -> Result<Counter, Failure> {
    to_u64(value, "counter").map(Counter)
}

/// A cipher suite from its RFC 9605 number.
pub(crate) fn suite(id: u32) -> Result<CipherSuite, Failure> {
    let id = u16::try_from(id).map_err(|_| Failure::invalid("unknown cipher suite"))?;
    Ok(CipherSuite::from_id(id)?)
}

/// A base key (the core checks its length).
pub(crate) fn base_key(bytes: &[u8]) -> Result<BaseKey, Failure> {
    Ok(BaseKey::new(bytes)?)
}

/// A codec from its name (`Opus`, `VP8`, `VP9`, `H.264`, `H.265`, `AV1`,
/// `generic`) or a WebRTC MIME type (`video/VP8`).
pub(crate) fn codec(name: &str) -> Result<Codec, Failure> {
    Codec::ALL
        .into_iter()
        .find(|c| c.name() == name)
        .or_else(|| Codec::from_mime_type(name))
        .ok_or_else(|| Failure::invalid(format!("unknown codec {name:?}")))
}

/// A returned object from its Rust description (a struct deriving
/// `Serialize` and `Tsify`, whose TypeScript declaration is generated from
/// the same struct). Every such struct has `#[serde(rename_all =
/// "camelCase")]` and `#[tsify(missing_as_null,
/// large_number_types_as_bigints)]`, which this serializer matches: `None` is
/// `null`, `u64` a `bigint`, and fields kept as JavaScript values (class
/// instances, `Uint8Array`s) pass through `serde_wasm_bindgen::preserve`.
pub(crate) fn to_js(value: &impl serde::Serialize) -> Result<JsValue, Failure> {
    let serializer = serde_wasm_bindgen::Serializer::new()
        .serialize_missing_as_null(true)
        .serialize_large_number_types_as_bigints(true)
        .serialize_maps_as_objects(true);
    value
        .serialize(&serializer)
        .map_err(|e| Failure::new(callseal_core::ErrorKind::Internal, e.to_string()))
}

/// A `Uint8Array` copy of `bytes`, for a field of a returned object.
pub(crate) fn bytes(bytes: &[u8]) -> JsValue {
    Uint8Array::from(bytes).into()
}

/// `Some(v)` as `v`, `None` as `null` (docs/BINDINGS.md says null, where
/// wasm-bindgen's own `Option` says undefined).
pub(crate) fn or_null<T: Into<JsValue>>(value: Option<T>) -> JsValue {
    value.map_or(JsValue::NULL, Into::into)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn codecs_by_name_and_mime_type() {
        for c in Codec::ALL {
            assert_eq!(codec(c.name()).unwrap(), c);
        }
        assert_eq!(codec("video/H264").unwrap(), Codec::H264);
        assert_eq!(codec("audio/opus").unwrap(), Codec::Opus);
        assert_eq!(codec("h.264").unwrap_err().code(), "invalid-argument");
        assert_eq!(codec("audio/red").unwrap_err().code(), "invalid-argument");
    }

    #[test]
    fn suites_by_number() {
        assert_eq!(suite(4).unwrap(), CipherSuite::AesGcm128Sha256);
        assert_eq!(suite(0).unwrap_err().code(), "invalid-argument");
        assert_eq!(suite(0x1_0004).unwrap_err().code(), "invalid-argument");
    }
}
