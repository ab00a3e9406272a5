//! A room: its members and the order of its commits.
//!
//! The relay orders a meeting's commits and nothing more: one commit per
//! epoch, first come first served. It never reads a commit.

use std::collections::BTreeSet;

use super::protocol::MAX_ROOM_MEMBERS;

/// One room: who is in it and which epoch the next commit must carry.
#[derive(Debug, Default)]
pub(crate) struct Room {
    members: BTreeSet<String>,
    /// `None` until the first commit: any epoch is accepted then.
    expected: Option<u64>,
}

/// Why a client could not join.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RoomFull;

impl Room {
    /// Adds `name`; `Ok(false)` if it already was a member.
    pub(crate) fn join(&mut self, name: &str) -> Result<bool, RoomFull> {
        if self.members.contains(name) {
            return Ok(false);
        }
        if self.members.len() >= MAX_ROOM_MEMBERS {
            return Err(RoomFull);
        }
        Ok(self.members.insert(name.to_owned()))
    }

    /// Removes `name`; whether it was a member.
    pub(crate) fn leave(&mut self, name: &str) -> bool {
        self.members.remove(name)
    }

    /// Whether `name` is a member.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.members.contains(name)
    }

    /// The members, sorted.
    pub(crate) fn members(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(String::as_str)
    }

    /// Whether the room has no member left.
    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The epoch the next commit must carry, `None` before the first.
    pub(crate) fn expected(&self) -> Option<u64> {
        self.expected
    }

    /// Orders a commit made in `epoch`: accepted if it is the epoch the
    /// room expects (any epoch before the first commit), and the room then
    /// expects `epoch + 1`; otherwise `Err` with the expected epoch.
    pub(crate) fn commit(&mut self, epoch: u64) -> Result<(), u64> {
        match self.expected {
            Some(expected) if expected != epoch => Err(expected),
            _ => {
                // Epochs are at most 2^53 - 1 (protocol::MAX_EPOCH).
                self.expected = Some(epoch.saturating_add(1));
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_commit_per_epoch() {
        let mut room = Room::default();
        assert_eq!(room.expected(), None);
        assert_eq!(room.commit(7), Ok(()));
        assert_eq!(room.commit(7), Err(8));
        assert_eq!(room.commit(9), Err(8));
        assert_eq!(room.commit(8), Ok(()));
        assert_eq!(room.expected(), Some(9));
    }

    #[test]
    fn members() {
        let mut room = Room::default();
        assert_eq!(room.join("b"), Ok(true));
        assert_eq!(room.join("a"), Ok(true));
        assert_eq!(room.join("a"), Ok(false));
        assert_eq!(room.members().collect::<Vec<_>>(), ["a", "b"]);
        for i in 2..MAX_ROOM_MEMBERS {
            assert_eq!(room.join(&i.to_string()), Ok(true));
        }
        assert_eq!(room.join("z"), Err(RoomFull));
        assert!(room.leave("a"));
        assert!(!room.leave("a"));
        assert!(!room.has("a"));
        assert!(!room.is_empty());
    }
}
