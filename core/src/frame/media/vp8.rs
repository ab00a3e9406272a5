//! VP8 (RFC 6386 §9.1): the frame tag and the key-frame header.
//!
//! ```text
//! byte 0..3   frame tag: P (inverse key-frame flag, bit 0 of byte 0),
//!             version, show_frame, first partition size
//! byte 3..6   key frames only: start code 9d 01 2a
//! byte 6..10  key frames only: width and height (14 bits + 2 bits scale each)
//! ```
//!
//! The RTP depacketizer reads P to mark key frames and, on key frames, the
//! dimensions; so a key frame keeps 10 bytes clear, a delta frame its 3-byte
//! frame tag. A shorter frame keeps all its bytes clear.

/// Clear bytes of a key frame: frame tag, start code, dimensions.
pub(crate) const KEY_FRAME_CLEAR: usize = 10;
/// Clear bytes of a delta frame: the frame tag.
pub(crate) const DELTA_FRAME_CLEAR: usize = 3;

/// Whether the frame is a key frame (P bit clear).
pub(crate) fn is_key_frame(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 1 == 0)
}

/// Bytes kept clear at the start of `frame`.
pub(crate) fn clear_len(frame: &[u8]) -> usize {
    let n = if is_key_frame(frame) {
        KEY_FRAME_CLEAR
    } else {
        DELTA_FRAME_CLEAR
    };
    n.min(frame.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn key_and_delta_frames() {
        // A 2x2 key frame header: P = 0, start code, dimensions.
        let key = [
            0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x02, 0x00, 0x02, 0x00, 0xaa, 0xbb,
        ];
        assert!(is_key_frame(&key));
        assert_eq!(clear_len(&key), 10);
        let delta = [0x31, 0x02, 0x00, 0xaa, 0xbb];
        assert!(!is_key_frame(&delta));
        assert_eq!(clear_len(&delta), 3);
    }

    #[test]
    fn short_frames_stay_whole() {
        assert_eq!(clear_len(&[]), 0);
        assert_eq!(clear_len(&[0x00]), 1);
        assert_eq!(clear_len(&[0x01, 0x02]), 2);
        assert_eq!(clear_len(&[0x00; 9]), 9);
        assert_eq!(clear_len(&[0x00; 10]), 10);
        assert_eq!(clear_len(&[0x01; 9]), 3);
    }
}
