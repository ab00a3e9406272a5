//! JSON that means one thing: a document with the same member name twice in
//! one object (at any depth) is refused instead of letting the last one win,
//! so two parsers can never read one document differently.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};

/// Why a document is not strict JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StrictJsonError {
    /// A member name appears twice in one object; the path of the object's
    /// member, e.g. `$.users.alice`.
    DuplicateKey(String),
    /// Not JSON at all (or trailing bytes).
    Syntax(String),
}

/// Checks that `bytes` is one JSON value with no duplicate member name in
/// any object.
pub(crate) fn check(bytes: &[u8]) -> Result<(), StrictJsonError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let walked = Walk {
        path: "$",
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match (walked, duplicate.into_inner()) {
        (_, Some(path)) => Err(StrictJsonError::DuplicateKey(path)),
        (Err(e), None) => Err(StrictJsonError::Syntax(e.to_string())),
        (Ok(()), None) => Ok(()),
    }
}

/// One value at `path`; records the first duplicate member it meets.
struct Walk<'a> {
    path: &'a str,
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let path = format!("{}[{index}]", self.path);
            let item = Walk {
                path: &path,
                duplicate: self.duplicate,
            };
            if seq.next_element_seed(item)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}.{key}", self.path);
            if !seen.insert(key) {
                *self.duplicate.borrow_mut() = Some(path);
                return Err(A::Error::custom("duplicate member name"));
            }
            map.next_value_seed(Walk {
                path: &path,
                duplicate: self.duplicate,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{StrictJsonError, check};

    #[test]
    fn accepts_json_without_duplicates() {
        assert_eq!(
            check(br#"{"a": [1, {"b": null, "c": "x"}], "d": {}}"#),
            Ok(())
        );
        assert_eq!(check(b"[]"), Ok(()));
    }

    #[test]
    fn refuses_a_duplicate_at_any_depth() {
        assert_eq!(
            check(br#"{"a": 1, "a": 2}"#),
            Err(StrictJsonError::DuplicateKey("$.a".into()))
        );
        assert_eq!(
            check(br#"{"a": [{"b": {"c": 1, "c": 1}}]}"#),
            Err(StrictJsonError::DuplicateKey("$.a[0].b.c".into()))
        );
        // Escapes name the same member.
        assert_eq!(
            check(br#"{"x": {"k": 1, "\u006b": 2}}"#),
            Err(StrictJsonError::DuplicateKey("$.x.k".into()))
        );
    }

    #[test]
    fn refuses_what_is_not_one_json_value() {
        for bad in [&b"{"[..], b"{} {}", b"", b"{\"a\":}"] {
            assert!(
                matches!(check(bad), Err(StrictJsonError::Syntax(_))),
                "{bad:?}"
            );
        }
    }
}
