//! JavaScript values to core types: integers that may be `bigint`, cipher
//! suites, keys and codecs. Only translation: the core validates.

use callseal_core::frame::media::Codec;
use callseal_core::frame::{BaseKey, CipherSuite, Counter, Kid};
use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

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

/// A plain object with the given properties.
pub(crate) fn object(props: &[(&str, JsValue)]) -> Result<JsValue, Failure> {
    let obj = Object::new();
    for (key, value) in props {
        Reflect::set(&obj, &JsValue::from_str(key), value)
            .map_err(|_| Failure::new(callseal_core::ErrorKind::Internal, "cannot build object"))?;
    }
    Ok(obj.into())
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
