//! The SFrame metadata of a media frame: everything that travels in clear.
//!
//! ```text
//! metadata = footer              1 byte: codec id and SFrame header length
//!         || frame_len           u32 BE: length of the normalized frame
//!         || run_count           u32 BE
//!         || run_count × (offset u32 BE, length u32 BE)
//!         || clear bytes         the runs' bytes, concatenated
//! ```
//!
//! A run is a maximal range of clear bytes of the normalized frame, in
//! order. The AEAD authenticates `header || metadata`, so the codec, the
//! layout and every clear byte are authenticated; the plaintext is the
//! encrypted bytes between the runs. The encoding is unambiguous (fixed-size
//! fields, counted list), and the normalized frame is a function of the
//! metadata and the plaintext alone.

use super::error::Malformed;
use super::layout::{Unit, normalized_len};

fn put_u32(meta: &mut Vec<u8>, v: usize) -> Result<(), Malformed> {
    let v = u32::try_from(v).map_err(|_| Malformed::TooLarge)?;
    meta.extend_from_slice(&v.to_be_bytes());
    Ok(())
}

/// Writes the metadata of `units` (sources in `src`) into `meta`.
pub(crate) fn build(
    footer: u8,
    units: &[Unit],
    src: &[u8],
    meta: &mut Vec<u8>,
) -> Result<(), Malformed> {
    meta.clear();
    meta.push(footer);
    put_u32(meta, normalized_len(units)?)?;
    let count_at = meta.len();
    put_u32(meta, 0)?;

    // Runs: (offset, length) of maximal clear ranges.
    let mut count = 0usize;
    let mut pos = 0usize;
    let mut run: Option<(usize, usize)> = None;
    for u in units {
        let clear = u.clear_len();
        if clear > 0 {
            run = Some(match run {
                Some((start, len)) => (start, len + clear),
                None => (pos, clear),
            });
        }
        pos += clear;
        if u.plain_len > 0 {
            if let Some((start, len)) = run.take() {
                put_u32(meta, start)?;
                put_u32(meta, len)?;
                count += 1;
            }
            pos += u.plain_len;
        }
    }
    if let Some((start, len)) = run {
        put_u32(meta, start)?;
        put_u32(meta, len)?;
        count += 1;
    }
    let count = u32::try_from(count).map_err(|_| Malformed::TooLarge)?;
    if let Some(slot) = meta.get_mut(count_at..count_at + 4) {
        slot.copy_from_slice(&count.to_be_bytes());
    }

    for u in units {
        meta.extend_from_slice(u.lead.as_bytes());
        meta.extend_from_slice(u.clear.of(src));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::frame::media::layout::{Lead, Span};

    #[test]
    fn runs_merge_across_units() {
        let src = [0x67, 0x42, 0x68, 0xce, 0x65, 0x88, 0x99, 0x11];
        let units = [
            // SPS and PPS: clear, 4-byte start codes in front.
            Unit {
                lead: Lead::START_CODE,
                clear: Span::new(0, 2),
                enc: Span::at(2),
                plain_len: 0,
            },
            Unit {
                lead: Lead::START_CODE,
                clear: Span::new(2, 4),
                enc: Span::at(4),
                plain_len: 0,
            },
            // A slice: 2 clear bytes, 2 encrypted.
            Unit {
                lead: Lead::START_CODE,
                clear: Span::new(4, 6),
                enc: Span::new(6, 8),
                plain_len: 2,
            },
        ];
        let mut meta = Vec::new();
        build(0x81, &units, &src, &mut meta).unwrap();
        let mut want = vec![0x81, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 18];
        want.extend_from_slice(&[0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xce]);
        want.extend_from_slice(&[0, 0, 0, 1, 0x65, 0x88]);
        assert_eq!(meta, want);
    }

    #[test]
    fn no_clear_bytes_no_runs() {
        let units = [Unit::split(Span::new(0, 5), 0)];
        let mut meta = vec![9; 3];
        build(0x61, &units, &[1, 2, 3, 4, 5], &mut meta).unwrap();
        assert_eq!(meta, [0x61, 0, 0, 0, 5, 0, 0, 0, 0]);
        build(0x61, &[], &[], &mut meta).unwrap();
        assert_eq!(meta, [0x61, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn alternating_runs() {
        // Opus-like: 1 clear, 3 encrypted.
        let units = [Unit::split(Span::new(0, 4), 1)];
        let mut meta = Vec::new();
        build(0x21, &units, &[0x78, 1, 2, 3], &mut meta).unwrap();
        assert_eq!(
            meta,
            [0x21, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x78]
        );
    }
}
