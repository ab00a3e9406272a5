//! The call's media keys per epoch (PROTOCOL.md §3.9): KID generations and
//! the updates a rekey hands to the media pipeline.

use core::fmt;

use super::error::CallError;
use super::schedule::Secret32;
use super::session::Role;
use crate::frame::{BaseKey, CipherSuite, RatchetLayout, Receiver, Sender};

/// `R` of the media ratchet: the low 8 bits of a KID count ratchet steps.
pub const MEDIA_RATCHET_BITS: u8 = 8;
/// Key generation of the initiator → responder direction at epoch 0.
pub const INITIATOR_GENERATION: u64 = 1;
/// Key generation of the responder → initiator direction at epoch 0.
pub const RESPONDER_GENERATION: u64 = 2;

/// The key generation `role` sends under at `epoch`: `2 × epoch + 1` for
/// the initiator, `2 × epoch + 2` for the responder.
///
/// ```
/// use callseal_core::call::{Role, media_generation};
///
/// assert_eq!(media_generation(Role::Initiator, 0), 1);
/// assert_eq!(media_generation(Role::Responder, 0), 2);
/// assert_eq!(media_generation(Role::Initiator, 5), 11);
/// ```
pub fn media_generation(role: Role, epoch: u32) -> u64 {
    let base = 2 * u64::from(epoch);
    match role {
        Role::Initiator => base + 1,
        Role::Responder => base + 2,
    }
}

pub(crate) fn layout() -> Result<RatchetLayout, CallError> {
    Ok(RatchetLayout::new(MEDIA_RATCHET_BITS)?)
}

/// New media keys from a rekey step, for the [`Sender`] and [`Receiver`]
/// that [`take_media`](super::CallSession::take_media) gave.
///
/// It may switch the sender to the new epoch, make the receiver follow the
/// peer's new generation, and stop following the peer's generations of two
/// or more epochs ago once the peer no longer sends under them. Apply every update, in the order the session returned them;
/// [`apply`](Self::apply) does both halves, and
/// [`apply_to_sender`](Self::apply_to_sender) and
/// [`apply_to_receiver`](Self::apply_to_receiver) each half where the
/// sender and receiver live apart. The keys are wiped on drop and never
/// printed.
///
/// ```
/// use callseal_core::call::{CallConfig, CallSession, ExpectedPeer};
/// use callseal_core::identity::{IdentityKeyPair, MemoryIdentityStore};
///
/// let (alice, bob) = (IdentityKeyPair::generate()?, IdentityKeyPair::generate()?);
/// let config = CallConfig::default();
/// let mut store = MemoryIdentityStore::new();
/// let (mut a, commit) = CallSession::initiate_random(&alice, "alice", &ExpectedPeer::new("bob")?, &config)?;
/// let (mut b, response) = CallSession::respond_random(&bob, "bob", None, &commit, &config)?;
/// let reveal = a.handle(&response, &mut store)?.reply.ok_or("no reveal")?;
/// let confirm = b.handle(&reveal, &mut store)?.reply.ok_or("no confirm")?;
/// a.handle(&confirm, &mut store)?;
/// let (mut a_tx, mut a_rx) = a.take_media()?;
/// let (mut b_tx, mut b_rx) = b.take_media()?;
///
/// // Bob asks for fresh keys; Alice answers; Bob confirms.
/// let offer = b.rekey()?;
/// let answered = a.handle(&offer, &mut store)?;
/// answered.media.ok_or("no keys")?.apply(&mut a_tx, &mut a_rx)?;
/// let done = b.handle(&answered.reply.ok_or("no answer")?, &mut store)?;
/// done.media.ok_or("no keys")?.apply(&mut b_tx, &mut b_rx)?;
/// let switched = a.handle(&done.reply.ok_or("no done")?, &mut store)?;
/// switched.media.ok_or("no keys")?.apply(&mut a_tx, &mut a_rx)?;
///
/// assert_eq!((a.epoch(), b.epoch()), (1, 1));
/// let frame = a_tx.encrypt(b"", b"after the rekey")?;
/// assert_eq!(b_rx.decrypt(b"", &frame)?, b"after the rekey");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MediaUpdate {
    pub(crate) epoch: u32,
    pub(crate) suite: CipherSuite,
    /// Switch the sender to this generation and base key.
    pub(crate) send: Option<(u64, Secret32)>,
    /// Follow the peer's sender of this generation and base key.
    pub(crate) follow: Option<(u64, Secret32)>,
    /// Stop following the peer's senders of these generations.
    pub(crate) retire: Vec<u64>,
}

impl fmt::Debug for MediaUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaUpdate")
            .field("epoch", &self.epoch)
            .field("send_generation", &self.send.as_ref().map(|s| s.0))
            .field("follow_generation", &self.follow.as_ref().map(|s| s.0))
            .field("retire_generation", &self.retire)
            .finish_non_exhaustive()
    }
}

impl MediaUpdate {
    /// The epoch these keys belong to.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Whether the update (still) switches the sender.
    pub fn changes_sender(&self) -> bool {
        self.send.is_some()
    }

    /// Whether the update (still) changes the receiver.
    pub fn changes_receiver(&self) -> bool {
        self.follow.is_some() || !self.retire.is_empty()
    }

    /// Applies both halves.
    ///
    /// # Errors
    /// As [`apply_to_sender`](Self::apply_to_sender) and
    /// [`apply_to_receiver`](Self::apply_to_receiver).
    pub fn apply(mut self, sender: &mut Sender, receiver: &mut Receiver) -> Result<(), CallError> {
        self.apply_to_receiver(receiver)?;
        self.apply_to_sender(sender)
    }

    /// Switches `sender` to the new epoch's key (ratchet step 0), if this
    /// update does; the sender half is then used up.
    ///
    /// # Errors
    /// [`CallError::Frame`] if the key cannot be installed (the half is then
    /// kept).
    pub fn apply_to_sender(&mut self, sender: &mut Sender) -> Result<(), CallError> {
        if let Some((generation, key)) = &self.send {
            *sender =
                Sender::ratcheting(self.suite, layout()?, *generation, BaseKey::new(&key[..])?)?;
            self.send = None;
        }
        Ok(())
    }

    /// Makes `receiver` follow the peer's new generation and forget the
    /// generations the peer no longer sends under, if this update does; the
    /// receiver half is then used up.
    ///
    /// # Errors
    /// [`CallError::Frame`] if the key cannot be installed (the half is then
    /// kept).
    pub fn apply_to_receiver(&mut self, receiver: &mut Receiver) -> Result<(), CallError> {
        let layout = layout()?;
        if let Some((generation, key)) = &self.follow {
            receiver.add_ratcheting_sender(
                self.suite,
                layout,
                *generation,
                BaseKey::new(&key[..])?,
            )?;
            self.follow = None;
        }
        for generation in self.retire.drain(..) {
            receiver.remove_ratcheting_sender(layout, generation);
        }
        Ok(())
    }
}
