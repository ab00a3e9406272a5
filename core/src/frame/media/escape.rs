//! H.264/H.265 emulation prevention for encrypted regions.
//!
//! Ciphertext is random bytes, so an encrypted region written into an
//! Annex B frame could contain `00 00 01` and be split by every packetizer.
//! Each region is escaped as the codecs escape their own payloads: after two
//! zero bytes, a byte `<= 03` is preceded by an inserted `03`. The count of
//! zeros is seeded with the zero bytes just before the region in the output
//! (its clear NAL header or slice-header prefix), so no start code forms
//! across the boundary either.
//!
//! A region that is not the frame's last must also not end in `00`: that
//! zero followed by the next `00 00 01` reads as a 4-byte start code, and
//! depacketizers drop it. The end rule, a bijection:
//!
//! - writer: if the escaped region ends with `00` followed by zero or more
//!   `03`, append one `03`;
//! - reader: if the region ends with `00` followed by one or more `03`,
//!   remove one `03`, then unescape.
//!
//! The writer's output matches `00 03+$` exactly when its input matched
//! `00 03*$`, so the reader removes exactly what the writer added.
//!
//! In an escaped stream, a `03` is an inserted byte exactly when the two
//! bytes before it are `00 00` (an inserted byte is never zero, and a data
//! `03` after two zeros always gets one inserted before it). That local rule
//! lets the receiver walk the escaped suffix backwards from the footer.

/// The escaping state: zero bytes just written (0..=2).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Escaper {
    zeros: u8,
}

/// Zero bytes at the end of `bytes`, at most 2.
pub(crate) fn trailing_zeros(bytes: &[u8]) -> u8 {
    match bytes {
        [.., 0, 0] => 2,
        [.., 0] => 1,
        _ => 0,
    }
}

impl Escaper {
    /// An escaper continuing after `preceding`, the output written so far.
    pub(crate) fn after(preceding: &[u8]) -> Self {
        Self {
            zeros: trailing_zeros(preceding),
        }
    }

    /// Appends `data` to `out`, escaped.
    pub(crate) fn write(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let mut run = 0;
        let mut i = 0;
        loop {
            if self.zeros == 0 {
                i = skip_nonzero_blocks(data, i);
            }
            let Some(&b) = data.get(i) else { break };
            if self.zeros >= 2 && b <= 3 {
                out.extend_from_slice(data.get(run..i).unwrap_or(&[]));
                out.push(3);
                run = i;
                self.zeros = 0;
            }
            self.zeros = if b == 0 { (self.zeros + 1).min(2) } else { 0 };
            i += 1;
        }
        out.extend_from_slice(data.get(run..).unwrap_or(&[]));
    }
}

/// The first index at or after `i` that starts an 8-byte block holding a
/// zero byte (or the tail): ciphertext is mostly non-zero, and a block
/// without zeros needs no escaping when no zero precedes it, and holds the
/// start of no start code.
pub(crate) fn skip_nonzero_blocks(data: &[u8], mut i: usize) -> usize {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(block) = data.get(i..).and_then(|s| s.first_chunk::<8>()) {
        let v = u64::from_le_bytes(*block);
        if v.wrapping_sub(LOW) & !v & HIGH != 0 {
            break;
        }
        i += 8;
    }
    i
}

/// Applies the end rule to the region written at `out[start..]`.
pub(crate) fn terminate(out: &mut Vec<u8>, start: usize) {
    let region = out.get(start..).unwrap_or(&[]);
    let body = region
        .iter()
        .rposition(|&b| b != 3)
        .map_or(&[][..], |last| region.get(..=last).unwrap_or(&[]));
    if body.last() == Some(&0) {
        out.push(3);
    }
}

/// Removes what [`terminate`] added from a received region.
pub(crate) fn strip_terminator(region: &[u8]) -> &[u8] {
    let Some(last) = region.iter().rposition(|&b| b != 3) else {
        return region;
    };
    let ends_in_03 = last + 1 < region.len();
    if ends_in_03 && region.get(last) == Some(&0) {
        return region.get(..region.len() - 1).unwrap_or(region);
    }
    region
}

/// Appends the unescaped `region` to `out`; `zeros` is the count of zero
/// bytes just before it in the received frame ([`trailing_zeros`]).
pub(crate) fn unescape(zeros: u8, region: &[u8], out: &mut Vec<u8>) {
    let mut zeros = zeros;
    let mut run = 0;
    let mut i = 0;
    loop {
        if zeros == 0 {
            i = skip_nonzero_blocks(region, i);
        }
        let Some(&b) = region.get(i) else { break };
        if zeros >= 2 && b == 3 {
            out.extend_from_slice(region.get(run..i).unwrap_or(&[]));
            i += 1;
            run = i;
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { (zeros + 1).min(2) } else { 0 };
        i += 1;
    }
    out.extend_from_slice(region.get(run..).unwrap_or(&[]));
}

/// Fills `dst` with the unescaped bytes that end just before `end` in
/// `escaped`, walking backwards; returns the index of the first byte taken.
/// `None` if `escaped[..end]` holds fewer than `dst.len()` data bytes.
pub(crate) fn take_back(escaped: &[u8], end: usize, dst: &mut [u8]) -> Option<usize> {
    let mut i = end;
    let mut k = dst.len();
    let mut first = end;
    while k > 0 {
        i = i.checked_sub(1)?;
        let b = *escaped.get(i)?;
        let inserted = b == 3 && i >= 2 && escaped.get(i - 2..i).is_some_and(|p| p == [0, 0]);
        if inserted {
            continue;
        }
        k -= 1;
        *dst.get_mut(k)? = b;
        first = i;
    }
    Some(first)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn escape(zeros: u8, data: &[u8], last: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = Escaper { zeros };
        e.write(data, &mut out);
        if !last {
            terminate(&mut out, 0);
        }
        out
    }

    fn unescape_all(zeros: u8, region: &[u8], last: bool) -> Vec<u8> {
        let region = if last {
            region
        } else {
            strip_terminator(region)
        };
        let mut out = Vec::new();
        unescape(zeros, region, &mut out);
        out
    }

    /// `00 00` followed by 00, 01 or 02 anywhere in `bytes`.
    fn has_start_code_emulation(bytes: &[u8]) -> bool {
        bytes
            .windows(3)
            .any(|w| w[0] == 0 && w[1] == 0 && w[2] <= 2)
    }

    #[test]
    fn known_escapes() {
        assert_eq!(escape(0, &[0, 0, 1], false), [0, 0, 3, 1]);
        assert_eq!(escape(0, &[0, 0, 0, 0], false), [0, 0, 3, 0, 0, 3]);
        assert_eq!(escape(2, &[1], false), [3, 1]);
        assert_eq!(escape(1, &[0, 2], false), [0, 3, 2]);
        assert_eq!(escape(0, &[0, 0, 4], false), [0, 0, 4]);
        assert_eq!(escape(0, &[5, 0], false), [5, 0, 3]);
        assert_eq!(escape(0, &[5, 0, 3], false), [5, 0, 3, 3]);
        assert_eq!(escape(0, &[0, 0, 3], false), [0, 0, 3, 3, 3]);
        assert_eq!(escape(0, &[5, 0], true), [5, 0]);
        assert_eq!(escape(0, &[], false), Vec::<u8>::new());
        assert_eq!(escape(2, &[], false), Vec::<u8>::new());
    }

    #[test]
    fn take_back_skips_inserted_bytes() {
        // data 00 00 01 05 escaped: 00 00 03 01 05
        let esc = [0xaa, 0, 0, 3, 1, 5];
        let mut dst = [0u8; 2];
        assert_eq!(take_back(&esc, esc.len(), &mut dst), Some(4));
        assert_eq!(dst, [1, 5]);
        let mut dst = [0u8; 3];
        assert_eq!(take_back(&esc, esc.len(), &mut dst), Some(2));
        assert_eq!(dst, [0, 1, 5]);
        let mut dst = [0u8; 6];
        assert_eq!(take_back(&esc, esc.len(), &mut dst), None);
        assert_eq!(take_back(&esc, 0, &mut []), Some(0));
    }

    proptest! {
        #[test]
        fn escape_is_a_bijection(
            zeros in 0u8..=2,
            data in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(3u8), any::<u8>()], 0..64),
            last in any::<bool>(),
        ) {
            let esc = escape(zeros, &data, last);
            prop_assert_eq!(unescape_all(zeros, &esc, last), data.clone());
            let mut ctx = vec![0xffu8];
            ctx.extend(std::iter::repeat_n(0u8, usize::from(zeros)));
            ctx.extend_from_slice(&esc);
            prop_assert!(!has_start_code_emulation(&ctx), "{:02x?}", ctx);
            if !last {
                prop_assert!(esc.last() != Some(&0));
                // Followed by a start code, still no emulation, and the NAL
                // still ends where it did.
                ctx.extend_from_slice(&[0, 0, 0, 1]);
                let sc = ctx.windows(3).filter(|w| *w == [0, 0, 1]).count();
                prop_assert_eq!(sc, 1);
            }
        }

        #[test]
        fn take_back_inverts_escaping(
            zeros in 0u8..=2,
            head in proptest::collection::vec(prop_oneof![Just(0u8), Just(3u8), any::<u8>()], 0..32),
            tail in proptest::collection::vec(prop_oneof![Just(0u8), Just(3u8), any::<u8>()], 1..32),
        ) {
            let mut out = vec![0xffu8];
            out.extend(std::iter::repeat_n(0u8, usize::from(zeros)));
            let mut e = Escaper::after(&out);
            e.write(&head, &mut out);
            e.write(&tail, &mut out);
            let mut dst = vec![0u8; tail.len()];
            let first = take_back(&out, out.len(), &mut dst);
            prop_assert_eq!(&dst, &tail);
            let first = first.unwrap();
            let mut body = Vec::new();
            unescape(zeros, &out[1 + usize::from(zeros)..first], &mut body);
            prop_assert_eq!(body, head);
        }

        #[test]
        fn unescape_never_panics(zeros in 0u8..=3, region in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut out = Vec::new();
            unescape(zeros, strip_terminator(&region), &mut out);
            prop_assert!(out.len() <= region.len());
            let mut dst = [0u8; 8];
            let _ = take_back(&region, region.len(), &mut dst);
        }
    }
}
