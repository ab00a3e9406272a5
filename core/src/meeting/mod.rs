//! Meetings: an MLS group (RFC 9420) whose epochs give every member SFrame
//! keys per RFC 9605 §5.2, a 20-digit meeting code per epoch, and
//! transitions that lose no frame (PROTOCOL.md §4).
//!
//! - [`MlsClient`] is a user's MLS identity: it publishes key packages and
//!   creates or joins groups. [`MlsGroup`] is the small trait the session
//!   needs from MLS; [`MlsRsGroup`] implements it over `mls-rs`.
//! - [`MeetingSession`] is sans-IO: the organizer's session creates the
//!   group; committers (the organizer and co-organizers, bound to their
//!   signature keys by the [`Roles`] extension) commit adds (after the
//!   policy's admission check) and removes; the organizer promotes,
//!   demotes and hands over; any member commits updates of its own leaf;
//!   every session checks and applies the commits the server orders,
//!   encrypts its media under the current epoch and decrypts everyone's.
//! - [`RosterEntry`]: each member's [`Role`] and identity status against
//!   the app's member key store.
//! - [`KidLayout`] packs sender index and epoch into KIDs;
//!   [`meeting_code`] turns an epoch authenticator into the code.
//!
//! See [`MeetingSession`] for a whole example.

mod code;
mod error;
mod kid;
mod mls;
mod roles;
mod roster;
mod session;

pub use code::{MEETING_CODE_LABEL, meeting_code};
pub use error::MeetingError;
pub use kid::KidLayout;
pub use mls::{
    CommitMessages, CommitSummary, Joined, MLS_CIPHER_SUITE, MlsClient, MlsGroup, MlsMember,
    MlsRsGroup, SnapshotToken,
};
pub use roles::{MAX_COMMITTERS, ROLES_EXTENSION_TYPE, Roles, SIGNATURE_KEY_LEN, SignatureKey};
pub use roster::{Role, RosterEntry};
pub use session::{
    Batch, EpochChange, GROUP_ID_PREFIX, MAX_CANDIDATES_PER_EPOCH, MAX_HELD_COMMIT_BYTES,
    MAX_HELD_COMMITS, MeetingConfig, MeetingFrame, MeetingSession, MeetingStats, Member, Received,
    SFRAME_BASE_KEY_LABEL, credential_identity, group_parameters, meeting_group_id,
    parse_credential_identity,
};
