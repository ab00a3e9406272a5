//! One canonical form for user ids and group names, and the characters no
//! text field of a policy document may hold (docs/POLICY.md, "Canonical
//! ids").

use std::borrow::Cow;

use super::PolicyError;

/// The longest user id or group name, in bytes of its canonical form.
pub const MAX_PRINCIPAL_BYTES: usize = 255;

/// The longest policy `Description`, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 1024;

/// Whether `c` is invisible or a bidirectional control: characters that
/// make two ids look the same while they differ, or reorder what an admin
/// reads. The list is in docs/POLICY.md.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'                      // soft hyphen
        | '\u{034F}'                    // combining grapheme joiner
        | '\u{061C}'                    // Arabic letter mark
        | '\u{115F}' | '\u{1160}'       // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'       // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}'       // Mongolian variation selectors, vowel separator
        | '\u{200B}'..='\u{200F}'       // zero-width space, non-joiner, joiner, LRM, RLM
        | '\u{2028}'..='\u{202E}'       // line/paragraph separators, LRE, RLE, PDF, LRO, RLO
        | '\u{2060}'..='\u{206F}'       // word joiner, invisible operators, LRI..PDI
        | '\u{3164}'                    // Hangul filler
        | '\u{FE00}'..='\u{FE0F}'       // variation selectors
        | '\u{FEFF}'                    // zero-width no-break space (BOM)
        | '\u{FFA0}'                    // halfwidth Hangul filler
        | '\u{FFF9}'..='\u{FFFB}'       // interlinear annotation
        | '\u{1BCA0}'..='\u{1BCA3}'     // shorthand format controls
        | '\u{1D173}'..='\u{1D17A}'     // musical symbol format controls
        | '\u{E0000}'..='\u{E007F}'     // tags
        | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
    )
}

/// The canonical form of a user id or group name: Unicode NFC, then
/// lowercase (`str::to_lowercase`), then NFC again, after checking that the
/// value holds no control character, no invisible or bidirectional-control
/// character, and no whitespace other than the ASCII space. The canonical
/// form is then 1–255 bytes, holds no comma (group lists are
/// comma-separated) or colon (participants are written `user:platform`),
/// and does not start or end with a space.
///
/// Every method of [`PolicyDocument`](super::PolicyDocument) that takes an
/// id stores and looks it up in this form, so `Bob@Corp.com` and
/// `bob@corp.com` are one user.
///
/// # Errors
/// [`PolicyError::InvalidName`] naming the rule broken; `what` names the
/// kind of id in the error (`user`, `group`).
///
/// ```
/// use callseal_core::policy::{canonical_principal, PolicyError};
///
/// assert_eq!(canonical_principal("user", "Bob@Corp.com")?, "bob@corp.com");
/// assert_eq!(canonical_principal("user", "\u{c9}mile")?, "\u{e9}mile");
/// // "É" written as E + combining acute is not in NFC: refused.
/// assert!(canonical_principal("user", "E\u{301}mile").is_err());
/// assert!(matches!(
///     canonical_principal("user", "bob\u{200b}@corp.com"),
///     Err(PolicyError::InvalidName { .. })
/// ));
/// # Ok::<(), PolicyError>(())
/// ```
pub fn canonical_principal(what: &'static str, value: &str) -> Result<String, PolicyError> {
    let invalid = |rule| PolicyError::InvalidName {
        what,
        value: value.to_owned(),
        rule,
    };
    // Refuse before anything else: a refused value is never even measured.
    if value.len() > 4 * MAX_PRINCIPAL_BYTES {
        return Err(invalid("must be 1 to 255 bytes"));
    }
    if value
        .chars()
        .any(|c| c.is_control() || is_invisible(c) || (c.is_whitespace() && c != ' '))
    {
        return Err(invalid(
            "no control, invisible or bidirectional-control characters, and no whitespace but the space",
        ));
    }
    if !is_nfc(value) {
        return Err(invalid("must be in Unicode NFC (composed characters)"));
    }
    let canonical = lookup_key(value).into_owned();
    if !is_nfc(&canonical) {
        return Err(invalid("must be in Unicode NFC (composed characters)"));
    }
    if canonical.is_empty() || canonical.len() > MAX_PRINCIPAL_BYTES {
        return Err(invalid("must be 1 to 255 bytes"));
    }
    if canonical.contains([',', ':']) {
        return Err(invalid("no commas or colons"));
    }
    if canonical.starts_with(' ') || canonical.ends_with(' ') {
        return Err(invalid("must not start or end with whitespace"));
    }
    Ok(canonical)
}

/// The canonical form of an id without its checks, for lookups: an id that
/// could never be stored (it holds an invisible character, say) finds
/// nobody and so gets a stranger's defaults.
pub(crate) fn lookup_key(value: &str) -> Cow<'_, str> {
    if value.is_ascii() {
        // NFC leaves ASCII as it is; lowercase is the ASCII one.
        if value.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(value.to_ascii_lowercase())
        } else {
            Cow::Borrowed(value)
        }
    } else {
        Cow::Owned(value.to_lowercase())
    }
}

/// Whether `value` is in Unicode NFC, by the quick check (UAX #15 §9): a
/// "maybe" counts as no.
fn is_nfc(value: &str) -> bool {
    unicode_normalization::is_nfc_quick(value.chars()) == unicode_normalization::IsNormalized::Yes
}

/// `text` as it may be printed or logged: control, invisible and
/// bidirectional characters escaped (`\u{202e}`), so text from a document
/// cannot fake lines or reorder what is shown; at most `max_chars`
/// characters, then `…`.
///
/// ```
/// use callseal_core::policy::escape_for_display;
///
/// assert_eq!(escape_for_display("a\nb\u{202e}c", 100), "a\\u{a}b\\u{202e}c");
/// assert_eq!(escape_for_display("abcdef", 3), "abc…");
/// ```
pub fn escape_for_display(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for c in text.chars().take(max_chars) {
        if c.is_control() || is_invisible(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    if text.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    out
}

/// Checks a policy's `Description`: at most 1,024 bytes, no control
/// characters (a line break included) and no invisible or
/// bidirectional-control characters, so that what an admin reads in a
/// listing is what is stored.
///
/// # Errors
/// [`PolicyError::InvalidName`] with `what` = `description`.
///
/// ```
/// use callseal_core::policy::check_description;
///
/// assert!(check_description("E2EE calls for the pilot group").is_ok());
/// assert!(check_description("line one\nline two").is_err());
/// assert!(check_description("evil \u{202e}txt.exe").is_err());
/// ```
pub fn check_description(value: &str) -> Result<(), PolicyError> {
    let invalid = |rule| PolicyError::InvalidName {
        what: "description",
        value: value.to_owned(),
        rule,
    };
    if value.len() > MAX_DESCRIPTION_BYTES {
        return Err(invalid("must be at most 1024 bytes"));
    }
    if value.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err(invalid(
            "no control, invisible or bidirectional-control characters",
        ));
    }
    Ok(())
}

/// The skeleton of an id, to spot near-duplicates an admin may have typed
/// by mistake: its canonical form without `.`, `-` and `_`, with `0` read as
/// `o`, `1` and `i` as `l`, and the Cyrillic and Greek letters that look
/// like Latin ones (`а е о р с х у і ο`) read as those. Two different ids
/// with one skeleton are probably meant to be one.
///
/// ```
/// use callseal_core::policy::principal_skeleton;
///
/// assert_eq!(principal_skeleton("Bob.Smith"), principal_skeleton("bobsmith"));
/// assert_eq!(principal_skeleton("b0b"), principal_skeleton("bob"));
/// assert_eq!(principal_skeleton("ali1"), principal_skeleton("alil"));
/// assert_ne!(principal_skeleton("bob"), principal_skeleton("rob"));
/// ```
pub fn principal_skeleton(id: &str) -> String {
    lookup_key(id)
        .chars()
        .filter(|c| !matches!(c, '.' | '-' | '_'))
        .map(|c| match c {
            '0' | 'ο' | 'о' => 'o',
            '1' | 'i' | 'і' => 'l',
            'а' => 'a',
            'е' => 'e',
            'р' => 'p',
            'с' => 'c',
            'х' => 'x',
            'у' => 'y',
            other => other,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    use super::canonical_principal;

    #[test]
    fn ids_not_in_nfc_are_refused() {
        for s in [
            "E\u{301}mile",
            "a\u{323}\u{302}",
            "\u{212b}",
            "\u{1100}\u{1161}",
        ] {
            assert!(canonical_principal("user", s).is_err(), "{s:?}");
            let composed: String = s.nfc().collect();
            assert!(
                canonical_principal("user", &composed).is_ok(),
                "{composed:?}"
            );
        }
    }

    proptest! {
        /// Whatever is accepted is NFC, lowercase, and canonical already.
        #[test]
        fn accepted_ids_are_canonical(s in "[a-zA-Z\u{c0}-\u{17f}\u{300}-\u{36f}\u{391}-\u{3c9}\u{ac00}-\u{ac10}@.]{1,12}") {
            if let Ok(id) = canonical_principal("user", &s) {
                prop_assert_eq!(id.nfc().collect::<String>(), id.clone());
                prop_assert_eq!(id.to_lowercase(), id.clone());
                prop_assert_eq!(canonical_principal("user", &id).unwrap(), id);
            }
        }
    }
}
