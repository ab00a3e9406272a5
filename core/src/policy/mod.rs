//! Enhanced-encryption policy: whether a call or meeting may be end-to-end
//! encrypted, who may join it, and which features refuse to run meanwhile.
//!
//! Every client must decide this the same way, so the rules live here and
//! every wrapper calls them (docs/POLICY.md states them). The pieces:
//!
//! - [`Policy`] with its two [`E2eeSetting`]s, and the [`PolicyDocument`]
//!   holding every policy, grant (user, ranked group, tenant) and
//!   [`UserState`]; [`PolicyDocument::effective_policy`] resolves a user's
//!   policy;
//! - decisions: [`PolicyDocument::evaluate_call`] gives a [`CallDecision`],
//!   [`PolicyDocument::evaluate_meeting`] a [`MeetingDecision`], each with a
//!   [`Reason`];
//! - feature gating: [`CallFeature`], [`MeetingFeature`] and the typed error
//!   [`FeatureUnavailable`];
//! - [`PolicyStore`]: the document in a file, locked and written atomically;
//! - signed documents: [`PolicySigningKey::sign`] (the admin) and
//!   [`PolicyDocument::verify`] (clients, against the [`TenantKey`] and the
//!   last serial seen) give a [`VerifiedPolicy`].
//!
//! ```
//! use callseal_core::policy::{CallFeature, E2eeSetting, PolicyDocument, PolicyUpdate, Reason, UserUpdate};
//!
//! let mut doc = PolicyDocument::new();
//! doc.update_policy("Global", PolicyUpdate {
//!     calling: Some(E2eeSetting::DisabledUserOverride),
//!     ..Default::default()
//! })?;
//! doc.update_user("alice", UserUpdate { e2ee_calls: Some(true), ..Default::default() })?;
//! assert_eq!(doc.evaluate_call("alice", "bob").reason, Reason::UserSettingOff);
//!
//! doc.update_user("bob", UserUpdate { e2ee_calls: Some(true), ..Default::default() })?;
//! let decision = doc.evaluate_call("alice", "bob");
//! assert!(decision.e2ee);
//! assert!(decision.check_feature(CallFeature::Recording).is_err());
//! # Ok::<(), callseal_core::policy::PolicyError>(())
//! ```

mod canonical;
mod decision;
mod definition;
mod document;
mod error;
mod feature;
mod platform;
mod reason;
mod setting;
mod signed;
mod store;
mod user;

pub use canonical::{
    MAX_DESCRIPTION_BYTES, MAX_PRINCIPAL_BYTES, canonical_principal, check_description,
    escape_for_display, principal_skeleton,
};
pub use decision::{
    CallDecision, MAX_E2EE_MEETING_PARTICIPANTS, MeetingDecision, Participant, Refusal,
};
pub use definition::{GLOBAL, Policy, check_policy_name, check_principal};
pub use document::{
    DOCUMENT_VERSION, GroupGrant, MAX_DOCUMENT_BYTES, MAX_ENTRIES, PolicyDocument, PolicySource,
    PolicyUpdate, UserUpdate,
};
pub use error::PolicyError;
pub use feature::{
    CallFeature, FeatureUnavailable, MeetingFeature, gate_call_feature, gate_meeting_feature,
};
pub use platform::Platform;
pub use reason::Reason;
pub use setting::E2eeSetting;
pub use signed::{
    MAX_SIGNED_POLICY_LEN, MAX_SIGNED_POLICY_NUMBER, PolicySigningKey, SIGNED_PAYLOAD_VERSION,
    SIGNED_POLICY_FORMAT, TenantKey, VerifiedPolicy,
};
pub use store::PolicyStore;
pub use user::UserState;
