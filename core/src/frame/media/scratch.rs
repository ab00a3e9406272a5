//! The scratch buffers of a media sender or receiver, and how much of them
//! is kept between frames.
//!
//! A sender or receiver keeps its buffers between frames, so a stream of
//! frames allocates nothing once the buffers have grown to the largest
//! frame. But a receiver grows them on frames before it knows they are
//! genuine, and a buffer never gives capacity back by itself: one huge
//! forged frame would pin its size for the receiver's lifetime. So after
//! every frame, success or error, each buffer keeps at most
//!
//! ```text
//! max(floor, HEADROOM × the most it held for an accepted frame)
//! ```
//!
//! where an accepted frame is one the receiver authenticated (or the sender
//! sent): forged frames never raise what is kept. A buffer only grows when
//! it is full and then at most doubles, so no accepted frame ends with more
//! than twice the peak and steady state stays allocation-free; the floors
//! cover typical frames before any was accepted.

use super::layout::Unit;

/// Units kept whatever frames were accepted (12 KiB): frames have tens.
const FLOOR_UNITS: usize = 256;
/// Metadata bytes kept whatever frames were accepted: a frame's metadata is
/// its clear bytes (headers, parameter sets) and 8 bytes per run.
const FLOOR_META: usize = 16 << 10;
/// Payload bytes kept whatever frames were accepted: above a typical 720p
/// key frame.
const FLOOR_PLAIN: usize = 256 << 10;
/// Capacity kept over the largest accepted frame's needs.
const HEADROOM: usize = 4;

/// The scratch buffers, with the most each held for an accepted frame.
#[derive(Default)]
pub(crate) struct Scratch {
    /// The frame's layout.
    pub(crate) units: Vec<Unit>,
    /// Its metadata.
    pub(crate) meta: Vec<u8>,
    /// The gathered encrypted bytes (the AEAD buffer).
    pub(crate) plain: Vec<u8>,
    peak_units: usize,
    peak_meta: usize,
    peak_plain: usize,
}

impl Scratch {
    /// Empties every buffer (capacity kept), before a frame.
    pub(crate) fn clear(&mut self) {
        self.units.clear();
        self.meta.clear();
        self.plain.clear();
    }

    /// Notes what the buffers hold as the needs of an accepted frame: call
    /// before [`release`](Self::release), for frames sent or authenticated
    /// only.
    pub(crate) fn accepted(&mut self) {
        self.peak_units = self.peak_units.max(self.units.len());
        self.peak_meta = self.peak_meta.max(self.meta.len());
        self.peak_plain = self.peak_plain.max(self.plain.len());
    }

    /// Empties every buffer and gives back capacity beyond what is kept,
    /// after a frame (success or error).
    pub(crate) fn release(&mut self) {
        release(&mut self.units, keep(self.peak_units, FLOOR_UNITS));
        release(&mut self.meta, keep(self.peak_meta, FLOOR_META));
        release(&mut self.plain, keep(self.peak_plain, FLOOR_PLAIN));
    }

    /// Capacities, for tests.
    #[cfg(test)]
    pub(crate) fn capacities(&self) -> [usize; 3] {
        [
            self.units.capacity(),
            self.meta.capacity(),
            self.plain.capacity(),
        ]
    }
}

/// What a buffer keeps: `HEADROOM` times its peak, at least `floor`.
fn keep(peak: usize, floor: usize) -> usize {
    peak.saturating_mul(HEADROOM).max(floor)
}

fn release<T>(buf: &mut Vec<T>, keep: usize) {
    buf.clear();
    if buf.capacity() > keep {
        buf.shrink_to(keep);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn unaccepted_growth_is_given_back_to_the_floor() {
        let mut s = Scratch::default();
        s.units.resize(100_000, Unit::default());
        s.meta.resize(10 << 20, 0);
        s.plain.resize(10 << 20, 0);
        s.release();
        let [u, m, p] = s.capacities();
        assert!(u <= FLOOR_UNITS && m <= FLOOR_META && p <= FLOOR_PLAIN);
        assert!(s.units.is_empty() && s.meta.is_empty() && s.plain.is_empty());
    }

    #[test]
    fn accepted_frames_keep_their_buffers() {
        let mut s = Scratch::default();
        // A large genuine frame, grown the way a Vec grows.
        for _ in 0..(3 << 20) {
            s.plain.push(1);
        }
        s.meta.extend_from_slice(&[2; 40 << 10]);
        s.accepted();
        let before = s.capacities();
        s.release();
        assert_eq!(s.capacities(), before);
        // Then a forged one four times larger: back to 4x the genuine one.
        s.plain.resize(48 << 20, 0);
        s.release();
        assert_eq!(s.capacities()[2], 12 << 20);
        // Frames like the genuine one fit without growing.
        let cap = s.capacities();
        s.plain.resize(3 << 20, 0);
        s.accepted();
        s.release();
        assert_eq!(s.capacities(), cap);
    }

    #[test]
    fn keep_saturates() {
        assert_eq!(keep(0, 7), 7);
        assert_eq!(keep(10, 7), 40);
        assert_eq!(keep(usize::MAX, 7), usize::MAX);
    }
}
