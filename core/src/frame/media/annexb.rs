//! Annex B byte streams (H.264 and H.265 Annex B): NAL units separated by
//! start codes `00 00 01`, optionally preceded by more zero bytes.
//!
//! A NAL unit runs from the byte after its start code to the next start
//! code; zero bytes at its end belong to the next start code (`zero_byte`,
//! `trailing_zero_8bits`) and are not part of it, since a NAL unit never
//! ends in `00`. Empty NAL units carry nothing and are skipped. Every byte
//! before the first start code must be zero.

use super::error::Malformed;
use super::escape::skip_nonzero_blocks;
use super::layout::Span;

/// Index of the first `00 00 01` at or after `from`.
pub(crate) fn find_start_code(data: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        // A start code begins with a zero byte.
        i = skip_nonzero_blocks(data, i);
        let window = data.get(i..i.checked_add(3)?)?;
        match *window {
            [0, 0, 1] => return Some(i),
            // A start code can begin at i + 1 only if window[2] is 0.
            [_, _, 0] => i += 1,
            _ => i += 3,
        }
    }
}

/// The NAL units of an Annex B frame, as spans of `data`.
#[derive(Debug, Clone)]
pub(crate) struct NalUnits<'a> {
    data: &'a [u8],
    /// Start of the next NAL unit, `None` once done.
    next: Option<usize>,
}

/// Walks the NAL units of `data`.
///
/// # Errors
/// [`Malformed::MissingStartCode`] if `data` does not start with zero bytes
/// and a start code.
pub(crate) fn nal_units(data: &[u8]) -> Result<NalUnits<'_>, Malformed> {
    let first = find_start_code(data, 0).ok_or(Malformed::MissingStartCode)?;
    if data
        .get(..first)
        .is_none_or(|lead| lead.iter().any(|&b| b != 0))
    {
        return Err(Malformed::MissingStartCode);
    }
    Ok(NalUnits {
        data,
        next: Some(first + 3),
    })
}

impl Iterator for NalUnits<'_> {
    type Item = Span;

    fn next(&mut self) -> Option<Span> {
        loop {
            let start = self.next?;
            let (end, next) = match find_start_code(self.data, start) {
                Some(sc) => (sc, Some(sc + 3)),
                None => (self.data.len(), None),
            };
            self.next = next;
            let nal = self.data.get(start..end)?;
            let len = nal.iter().rposition(|&b| b != 0).map_or(0, |last| last + 1);
            if len > 0 {
                return Some(Span::new(start, start + len));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nals(data: &[u8]) -> Result<Vec<Vec<u8>>, Malformed> {
        Ok(nal_units(data)?.map(|s| s.of(data).to_vec()).collect())
    }

    #[test]
    fn finds_start_codes() {
        assert_eq!(find_start_code(&[0, 0, 1], 0), Some(0));
        assert_eq!(find_start_code(&[0, 0, 0, 1], 0), Some(1));
        assert_eq!(find_start_code(&[5, 0, 0, 1], 0), Some(1));
        assert_eq!(find_start_code(&[1, 0, 0, 1], 0), Some(1));
        assert_eq!(find_start_code(&[0, 1, 0, 0, 1], 0), Some(2));
        assert_eq!(find_start_code(&[0, 0, 2, 0, 0, 3], 0), None);
        assert_eq!(find_start_code(&[0, 0, 1], 1), None);
        assert_eq!(find_start_code(&[], 0), None);
        assert_eq!(find_start_code(&[0, 0, 1], usize::MAX), None);
    }

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let f = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 0,
        ];
        assert_eq!(
            nals(&f).unwrap(),
            vec![vec![0x67, 1, 2], vec![0x68, 3], vec![0x65, 4]]
        );
    }

    #[test]
    fn leading_garbage_or_no_start_code_is_rejected() {
        assert_eq!(nals(&[]).unwrap_err(), Malformed::MissingStartCode);
        assert_eq!(
            nals(&[0x65, 1, 2]).unwrap_err(),
            Malformed::MissingStartCode
        );
        assert_eq!(nals(&[0, 0]).unwrap_err(), Malformed::MissingStartCode);
        assert_eq!(
            nals(&[1, 0, 0, 1, 0x65]).unwrap_err(),
            Malformed::MissingStartCode
        );
        assert_eq!(nals(&[0, 0, 0, 0, 1, 0x65]).unwrap(), vec![vec![0x65]]);
    }

    #[test]
    fn only_start_codes_gives_no_nal_units() {
        assert!(nals(&[0, 0, 1]).unwrap().is_empty());
        assert!(nals(&[0, 0, 0, 1, 0, 0, 1, 0, 0, 0]).unwrap().is_empty());
        // A zero NAL header byte alone is a trailing zero.
        assert!(nals(&[0, 0, 1, 0, 0, 0, 1]).unwrap().is_empty());
    }

    proptest! {
        #[test]
        fn nal_units_never_contain_start_codes(data in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), any::<u8>()], 0..64)) {
            if let Ok(units) = nal_units(&data) {
                for s in units {
                    let nal = s.of(&data);
                    prop_assert!(!nal.is_empty());
                    prop_assert_ne!(nal.last(), Some(&0));
                    prop_assert!(find_start_code(nal, 0).is_none());
                }
            }
        }
    }
}
