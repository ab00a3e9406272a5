//! A per-key sliding replay window (in the style of RFC 3711 §3.3.2).
//!
//! The window remembers the highest accepted counter and which of the
//! `size - 1` counters below it were accepted. A counter above the highest is
//! new; one inside the window is new unless its bit is set; one below the
//! window is too old to tell, so it is refused.

use super::error::Error;
use super::header::{Counter, Kid};

/// The largest window accepted by [`ReceiverConfig`](super::ReceiverConfig).
pub const MAX_REPLAY_WINDOW: u32 = 1 << 16;

pub(crate) struct ReplayWindow {
    size: u64,
    highest: Option<u64>,
    /// Bit `ctr % (64 * bits.len())` marks `ctr` as accepted.
    bits: Box<[u64]>,
}

impl ReplayWindow {
    /// `size` is validated by the receiver configuration (1..=MAX_REPLAY_WINDOW).
    pub(crate) fn new(size: u32) -> Self {
        let words = (size as usize).div_ceil(64).max(1);
        Self {
            size: u64::from(size.max(1)),
            highest: None,
            bits: vec![0; words].into_boxed_slice(),
        }
    }

    fn capacity(&self) -> u64 {
        64 * self.bits.len() as u64
    }

    fn slot(&self, ctr: u64) -> (usize, u64) {
        let pos = ctr % self.capacity();
        ((pos / 64) as usize, 1u64 << (pos % 64))
    }

    fn is_set(&self, ctr: u64) -> bool {
        let (word, mask) = self.slot(ctr);
        self.bits.get(word).is_some_and(|w| w & mask != 0)
    }

    fn set(&mut self, ctr: u64, on: bool) {
        let (word, mask) = self.slot(ctr);
        if let Some(w) = self.bits.get_mut(word) {
            if on {
                *w |= mask;
            } else {
                *w &= !mask;
            }
        }
    }

    /// Would `ctr` be accepted? Does not change the window.
    pub(crate) fn check(&self, kid: Kid, ctr: Counter) -> Result<(), Error> {
        let Some(highest) = self.highest else {
            return Ok(());
        };
        if ctr.0 > highest {
            return Ok(());
        }
        if highest - ctr.0 >= self.size {
            return Err(Error::TooOld { kid, ctr });
        }
        if self.is_set(ctr.0) {
            return Err(Error::Replay { kid, ctr });
        }
        Ok(())
    }

    /// Records `ctr` as accepted. Call only after [`check`](Self::check)
    /// passed and the frame authenticated.
    pub(crate) fn accept(&mut self, ctr: Counter) {
        match self.highest {
            Some(highest) if ctr.0 <= highest => self.set(ctr.0, true),
            previous => {
                // Forget the slots the window slides over.
                let start = previous.map_or(0, |h| h + 1);
                if ctr.0 - start >= self.capacity() {
                    self.bits.iter_mut().for_each(|w| *w = 0);
                } else {
                    for c in start..ctr.0 {
                        self.set(c, false);
                    }
                }
                self.set(ctr.0, true);
                self.highest = Some(ctr.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(w: &mut ReplayWindow, c: u64) -> Result<(), Error> {
        w.check(Kid(0), Counter(c))?;
        w.accept(Counter(c));
        Ok(())
    }

    #[test]
    fn window_semantics() {
        let mut w = ReplayWindow::new(4);
        assert!(take(&mut w, 10).is_ok());
        assert!(matches!(take(&mut w, 10), Err(Error::Replay { .. })));
        assert!(take(&mut w, 8).is_ok());
        assert!(take(&mut w, 7).is_ok());
        assert!(matches!(take(&mut w, 6), Err(Error::TooOld { .. })));
        assert!(matches!(take(&mut w, 7), Err(Error::Replay { .. })));
        assert!(take(&mut w, 9).is_ok());
        assert!(take(&mut w, 200).is_ok());
        assert!(matches!(take(&mut w, 9), Err(Error::TooOld { .. })));
        assert!(take(&mut w, 197).is_ok());
        assert!(take(&mut w, u64::MAX).is_ok());
        assert!(matches!(take(&mut w, u64::MAX), Err(Error::Replay { .. })));
    }

    #[test]
    fn slots_reused_after_slide_are_clean() {
        let mut w = ReplayWindow::new(64);
        for c in 0..64 {
            assert!(take(&mut w, c).is_ok());
        }
        // 64..128 reuse the same slots; none may look replayed.
        assert!(take(&mut w, 127).is_ok());
        for c in 64..127 {
            assert!(take(&mut w, c).is_ok(), "counter {c}");
        }
    }
}
