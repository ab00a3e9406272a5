//! JSON that means one thing: a document with the same member name twice in
//! one object (at any depth) is refused instead of letting the last one win,
//! so two parsers can never read one document differently.
//!
//! A small scanner, not a parser: it follows the structure (objects, arrays,
//! strings) to find member names, compares them decoded (so `"k"` and
//! `"\u006b"` are the same name), and leaves every other check to the serde
//! parse that follows. It keeps its own stack (no recursion), so nesting
//! depth costs memory, not the call stack.

use std::collections::BTreeSet;

/// Why a document is not strict JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StrictJsonError {
    /// A member name appears twice in one object; the path of the second
    /// one, e.g. `$.users.alice`.
    DuplicateKey(String),
    /// The structure does not hold together (an unterminated string, an
    /// unbalanced bracket, a name that is not a string).
    Syntax(String),
}

/// One open container: an object's names so far, or an array.
enum Open {
    Object {
        names: BTreeSet<Vec<u16>>,
        /// The path segment of the member being read, once its name is.
        current: Option<String>,
    },
    Array(usize),
}

/// The deepest nesting accepted (what the JSON parser that follows accepts).
pub(crate) const MAX_DEPTH: usize = 128;

/// The most members one object may have (a document's largest, the users,
/// is capped far below): bounds the memory the check uses.
pub(crate) const MAX_MEMBERS: usize = 250_000;

/// Checks that no object in `bytes` has a member name twice, nesting is at
/// most [`MAX_DEPTH`] deep and no object has more than [`MAX_MEMBERS`].
pub(crate) fn check(bytes: &[u8]) -> Result<(), StrictJsonError> {
    let syntax = |what: &str, at: usize| StrictJsonError::Syntax(format!("{what} at byte {at}"));
    let mut stack: Vec<Open> = Vec::new();
    // Whether the next string is a member name.
    let mut expect_name = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' if stack.len() >= MAX_DEPTH => {
                return Err(syntax("nesting deeper than 128", i));
            }
            b'{' => {
                stack.push(Open::Object {
                    names: BTreeSet::new(),
                    current: None,
                });
                expect_name = true;
                i += 1;
            }
            b'[' => {
                stack.push(Open::Array(0));
                expect_name = false;
                i += 1;
            }
            b'}' | b']' => {
                let closes_object = bytes[i] == b'}';
                match stack.pop() {
                    Some(Open::Object { .. }) if closes_object => {}
                    Some(Open::Array(_)) if !closes_object => {}
                    _ => return Err(syntax("unbalanced bracket", i)),
                }
                expect_name = false;
                i += 1;
            }
            b',' => {
                match stack.last_mut() {
                    Some(Open::Object { current, .. }) => {
                        *current = None;
                        expect_name = true;
                    }
                    Some(Open::Array(n)) => *n += 1,
                    None => return Err(syntax("comma outside a container", i)),
                }
                i += 1;
            }
            b'"' => {
                let (decoded, end) = string(bytes, i).ok_or_else(|| syntax("bad string", i))?;
                if expect_name {
                    let Some(Open::Object { names, current }) = stack.last_mut() else {
                        return Err(syntax("member name outside an object", i));
                    };
                    if names.len() >= MAX_MEMBERS {
                        return Err(syntax("an object with too many members", i));
                    }
                    if !names.insert(decoded.clone()) {
                        let mut path = path_of(&stack);
                        path.push('.');
                        path.push_str(&String::from_utf16_lossy(&decoded));
                        return Err(StrictJsonError::DuplicateKey(
                            crate::policy::escape_for_display(&path, 200),
                        ));
                    }
                    *current = Some(String::from_utf16_lossy(&decoded));
                    expect_name = false;
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err(syntax("unterminated container", bytes.len()))
    }
}

/// The path of the innermost open member, e.g. `$.users[2]`.
fn path_of(stack: &[Open]) -> String {
    let mut path = String::from("$");
    // The innermost object is the one holding the duplicate: its own
    // current member is not part of the path.
    let outer = stack.len().saturating_sub(1);
    for open in &stack[..outer] {
        match open {
            Open::Object {
                current: Some(name),
                ..
            } => {
                path.push('.');
                path.push_str(name);
            }
            Open::Object { current: None, .. } => {}
            Open::Array(n) => path.push_str(&format!("[{n}]")),
        }
    }
    path
}

/// The string starting at `bytes[start] == b'"'`, decoded to UTF-16 code
/// units (escapes included, so equal names compare equal), and the index
/// after its closing quote.
fn string(bytes: &[u8], start: usize) -> Option<(Vec<u16>, usize)> {
    let mut out = Vec::new();
    let mut i = start + 1;
    let mut run = i;
    let flush = |out: &mut Vec<u16>, from: usize, to: usize| -> Option<()> {
        out.extend(
            std::str::from_utf8(bytes.get(from..to)?)
                .ok()?
                .encode_utf16(),
        );
        Some(())
    };
    loop {
        match *bytes.get(i)? {
            b'"' => {
                flush(&mut out, run, i)?;
                return Some((out, i + 1));
            }
            b'\\' => {
                flush(&mut out, run, i)?;
                let unit = match *bytes.get(i + 1)? {
                    b'"' => u16::from(b'"'),
                    b'\\' => u16::from(b'\\'),
                    b'/' => u16::from(b'/'),
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => u16::from(b'\n'),
                    b'r' => u16::from(b'\r'),
                    b't' => u16::from(b'\t'),
                    b'u' => {
                        let hex = std::str::from_utf8(bytes.get(i + 2..i + 6)?).ok()?;
                        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                            return None;
                        }
                        let unit = u16::from_str_radix(hex, 16).ok()?;
                        out.push(unit);
                        i += 6;
                        run = i;
                        continue;
                    }
                    _ => return None,
                };
                out.push(unit);
                i += 2;
                run = i;
            }
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{StrictJsonError, check};

    #[test]
    fn accepts_json_without_duplicates() {
        assert_eq!(
            check(br#"{"a": [1, {"b": null, "c": "x"}], "d": {}, "e": "{\"a\":1,\"a\":2}"}"#),
            Ok(())
        );
        assert_eq!(check(b"[]"), Ok(()));
        // The same name in different objects is fine.
        assert_eq!(check(br#"[{"a": 1}, {"a": 2}, {"x": {"a": 3}}]"#), Ok(()));
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
        assert_eq!(
            check(br#"{"u": {"alice": {}, "bob": {}, "alice": {}}}"#),
            Err(StrictJsonError::DuplicateKey("$.u.alice".into()))
        );
        // Escapes name the same member.
        assert_eq!(
            check(br#"{"x": {"k": 1, "\u006b": 2}}"#),
            Err(StrictJsonError::DuplicateKey("$.x.k".into()))
        );
        assert_eq!(
            check("{\"\u{e9}\": 1, \"\\u00e9\": 2}".as_bytes()),
            Err(StrictJsonError::DuplicateKey("$.\u{e9}".into()))
        );
    }

    #[test]
    fn refuses_broken_structure() {
        for bad in [&b"{"[..], b"{\"a", b"]", b"{\"a\": [}", b"\"\\x\""] {
            assert!(
                matches!(check(bad), Err(StrictJsonError::Syntax(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert_eq!(check(ok.as_bytes()), Ok(()));
        let deep = "[".repeat(24 << 20);
        assert!(matches!(
            check(deep.as_bytes()),
            Err(StrictJsonError::Syntax(_))
        ));
        let deep = format!("{}{}", "{\"a\":".repeat(129), "}".repeat(129));
        assert!(matches!(
            check(deep.as_bytes()),
            Err(StrictJsonError::Syntax(_))
        ));
    }
}
