//! The versioned policy document: policies, assignments and users.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::canonical::{canonical_principal, check_description, lookup_key, principal_skeleton};
use super::definition::{GLOBAL, check_policy_name};
use super::{E2eeSetting, Policy, PolicyError, UserState};

/// The document version this library reads and writes.
pub const DOCUMENT_VERSION: u64 = 1;

/// The largest document [`PolicyDocument::from_json`] reads (and a
/// [`PolicyStore`](super::PolicyStore) writes): 16 MiB of JSON.
pub const MAX_DOCUMENT_BYTES: usize = 16 << 20;

/// The most policies, and separately the most user grants, group grants and
/// users, a document holds: 100,000 each.
pub const MAX_ENTRIES: usize = 100_000;

/// A group's grant: which policy, at which rank (1 is the highest).
///
/// ```
/// use callseal_core::policy::GroupGrant;
///
/// let grant = GroupGrant { policy: "Pilot".into(), rank: 1 };
/// assert_eq!(grant.rank, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupGrant {
    /// The policy granted.
    pub policy: String,
    /// The group's rank among groups; 1 is the highest.
    pub rank: u32,
}

/// Where a user's effective policy comes from.
///
/// ```
/// use callseal_core::policy::{PolicyDocument, PolicySource};
///
/// let doc = PolicyDocument::new();
/// assert_eq!(doc.effective_policy("alice").1, PolicySource::Tenant);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// Granted to the user directly.
    Direct,
    /// Granted to this group, the best-ranked of the user's groups with a grant.
    Group(String),
    /// The tenant's policy (Global unless another was granted to the tenant).
    Tenant,
}

/// Changes to a policy's settings; `None` leaves a field as it is.
///
/// ```
/// use callseal_core::policy::{E2eeSetting, PolicyUpdate};
///
/// let update = PolicyUpdate { calling: Some(E2eeSetting::DisabledUserOverride), ..Default::default() };
/// assert!(update.meeting.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyUpdate {
    /// New `CallingEndtoEndEncryptionEnabledType`.
    pub calling: Option<E2eeSetting>,
    /// New `MeetingEndToEndEncryption`.
    pub meeting: Option<E2eeSetting>,
    /// New `Description`.
    pub description: Option<String>,
}

/// Changes to a user's state; `None` leaves a field as it is.
///
/// ```
/// use callseal_core::policy::UserUpdate;
///
/// let update = UserUpdate { e2ee_calls: Some(true), ..Default::default() };
/// assert!(update.groups.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    /// The complete new set of groups.
    pub groups: Option<Vec<String>>,
    /// The "End-to-end encrypted calls" setting.
    pub e2ee_calls: Option<bool>,
    /// Compliance recording.
    pub compliance_recording: Option<bool>,
}

/// Every policy, assignment and user of a tenant, as one versioned document.
///
/// Every method keeps its invariants: the Global policy exists, every grant
/// names an existing policy, group ranks are unique and start at 1, names
/// and descriptions are valid, user ids and group names are stored in their
/// canonical form ([`canonical_principal`](super::canonical_principal)), and
/// no count exceeds [`MAX_ENTRIES`]. Every method taking a user id or group
/// name canonicalises it first, lookups included: `Bob@Corp.com` and
/// `bob@corp.com` are one user. [`from_json`](Self::from_json) refuses a
/// document that breaks an invariant. The document format is in
/// docs/POLICY.md.
///
/// ```
/// use callseal_core::policy::{E2eeSetting, Policy, PolicyDocument, Reason};
///
/// let mut doc = PolicyDocument::new();
/// doc.create_policy(Policy::named("Pilot")?.with_calling(E2eeSetting::DisabledUserOverride))?;
/// doc.grant_group("pilot", "Pilot", 1)?;
/// for user in ["alice", "bob"] {
///     doc.update_user(user, callseal_core::policy::UserUpdate {
///         groups: Some(vec!["pilot".into()]),
///         e2ee_calls: Some(true),
///         ..Default::default()
///     })?;
/// }
/// let decision = doc.evaluate_call("alice", "bob");
/// assert!(decision.e2ee);
/// assert_eq!(decision.reason, Reason::Ok);
///
/// let again = PolicyDocument::from_json(doc.to_json().as_bytes())?;
/// assert_eq!(again, doc);
/// # Ok::<(), callseal_core::policy::PolicyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    policies: BTreeMap<String, Policy>,
    tenant_policy: String,
    user_policies: BTreeMap<String, String>,
    group_policies: BTreeMap<String, GroupGrant>,
    /// The group holding each rank, kept with `group_policies` so that a
    /// grant's rank check does not scan every group.
    ranks: BTreeMap<u32, String>,
    users: BTreeMap<String, UserState>,
}

/// The document as it is written.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    version: u64,
    policies: Vec<Policy>,
    #[serde(default = "global_name")]
    tenant_policy: String,
    #[serde(default)]
    user_policies: BTreeMap<String, String>,
    #[serde(default)]
    group_policies: BTreeMap<String, GroupGrant>,
    #[serde(default)]
    users: BTreeMap<String, UserState>,
}

/// Just the version, read first so that a future document is refused as
/// such rather than as corrupt.
#[derive(Deserialize)]
struct VersionOnly {
    version: u64,
}

fn global_name() -> String {
    GLOBAL.to_owned()
}

impl Default for PolicyDocument {
    fn default() -> Self {
        Self::new()
    }
}

impl PolicyDocument {
    /// A document holding only the Global policy, both settings `Disabled`.
    pub fn new() -> Self {
        let mut policies = BTreeMap::new();
        policies.insert(GLOBAL.to_owned(), Policy::global());
        Self {
            policies,
            tenant_policy: GLOBAL.to_owned(),
            user_policies: BTreeMap::new(),
            group_policies: BTreeMap::new(),
            ranks: BTreeMap::new(),
            users: BTreeMap::new(),
        }
    }

    /// Parses and checks a document.
    ///
    /// # Errors
    /// [`PolicyError::UnsupportedVersion`] for a version other than 1;
    /// [`PolicyError::Corrupt`] if it does not parse, breaks an invariant,
    /// is larger than [`MAX_DOCUMENT_BYTES`], holds more than
    /// [`MAX_ENTRIES`] of something, or names one user or group twice once
    /// ids are canonical. Ids not yet canonical (from an older writer, or
    /// typed by hand) are canonicalised.
    pub fn from_json(json: &[u8]) -> Result<Self, PolicyError> {
        let corrupt = |e: serde_json::Error| PolicyError::Corrupt(e.to_string());
        check_size(json.len()).map_err(|e| PolicyError::Corrupt(e.to_string()))?;
        crate::strict_json::check(json).map_err(PolicyError::from)?;
        let version: VersionOnly = serde_json::from_slice(json).map_err(corrupt)?;
        if version.version != DOCUMENT_VERSION {
            return Err(PolicyError::UnsupportedVersion(version.version));
        }
        let wire: Wire = serde_json::from_slice(json).map_err(corrupt)?;
        Self::from_wire(wire).map_err(|e| match e {
            PolicyError::Corrupt(_) => e,
            other => PolicyError::Corrupt(other.to_string()),
        })
    }

    fn from_wire(wire: Wire) -> Result<Self, PolicyError> {
        for (what, count) in [
            ("policies", wire.policies.len()),
            ("user grants", wire.user_policies.len()),
            ("group grants", wire.group_policies.len()),
            ("users", wire.users.len()),
        ] {
            if count > MAX_ENTRIES {
                return Err(PolicyError::Corrupt(format!(
                    "{count} {what}, more than the limit of {MAX_ENTRIES}"
                )));
            }
        }
        let twice = |what: &str, id: &str, canonical: &str| {
            PolicyError::Corrupt(format!(
                "{what} {id:?} appears twice once ids are canonical ({canonical:?})"
            ))
        };
        let mut policies = BTreeMap::new();
        for policy in wire.policies {
            if !policy.is_global() {
                check_policy_name(&policy.identity)?;
            }
            check_description(&policy.description)?;
            let name = policy.identity.clone();
            if policies.insert(name.clone(), policy).is_some() {
                return Err(PolicyError::Corrupt(format!(
                    "policy {name:?} appears twice"
                )));
            }
        }
        if !policies.contains_key(GLOBAL) {
            return Err(PolicyError::Corrupt(
                "the Global policy is missing".to_owned(),
            ));
        }
        let mut doc = Self {
            policies,
            tenant_policy: GLOBAL.to_owned(),
            user_policies: BTreeMap::new(),
            group_policies: BTreeMap::new(),
            ranks: BTreeMap::new(),
            users: BTreeMap::new(),
        };
        doc.grant_tenant(&wire.tenant_policy)?;
        for (user, policy) in &wire.user_policies {
            let canonical = canonical_principal("user", user)?;
            if doc.user_policies.contains_key(&canonical) {
                return Err(twice("user grant", user, &canonical));
            }
            doc.grant_user(&canonical, policy)?;
        }
        for (group, grant) in &wire.group_policies {
            let canonical = canonical_principal("group", group)?;
            if doc.group_policies.contains_key(&canonical) {
                return Err(twice("group grant", group, &canonical));
            }
            doc.grant_group(&canonical, &grant.policy, grant.rank)?;
        }
        for (user, state) in wire.users {
            let canonical = canonical_principal("user", &user)?;
            if doc.users.contains_key(&canonical) {
                return Err(twice("user", &user, &canonical));
            }
            // Two spellings of one group in a user's set are one group.
            let groups = state
                .groups
                .iter()
                .map(|g| canonical_principal("group", g))
                .collect::<Result<BTreeSet<_>, _>>()?;
            doc.users.insert(canonical, UserState { groups, ..state });
        }
        Ok(doc)
    }

    /// The document as pretty-printed JSON (docs/POLICY.md).
    pub fn to_json(&self) -> String {
        let wire = Wire {
            version: DOCUMENT_VERSION,
            policies: self.policies.values().cloned().collect(),
            tenant_policy: self.tenant_policy.clone(),
            user_policies: self.user_policies.clone(),
            group_policies: self.group_policies.clone(),
            users: self.users.clone(),
        };
        // Serializing maps with string keys and plain structs cannot fail.
        serde_json::to_string_pretty(&wire).unwrap_or_default()
    }

    /// Every policy, Global first, then by name.
    pub fn policies(&self) -> impl Iterator<Item = &Policy> {
        let global = self.policies.get(GLOBAL);
        global
            .into_iter()
            .chain(self.policies.values().filter(|p| !p.is_global()))
    }

    /// The policy with this identity.
    ///
    /// # Errors
    /// [`PolicyError::UnknownPolicy`].
    pub fn policy(&self, identity: &str) -> Result<&Policy, PolicyError> {
        self.policies
            .get(identity)
            .ok_or_else(|| PolicyError::UnknownPolicy(identity.to_owned()))
    }

    /// Adds a new named policy.
    ///
    /// # Errors
    /// [`PolicyError::InvalidName`] for a bad name or description
    /// ([`check_description`](super::check_description)),
    /// [`PolicyError::PolicyExists`], [`PolicyError::LimitReached`].
    pub fn create_policy(&mut self, policy: Policy) -> Result<(), PolicyError> {
        if self.policies.contains_key(&policy.identity) {
            return Err(PolicyError::PolicyExists(policy.identity));
        }
        check_policy_name(&policy.identity)?;
        check_description(&policy.description)?;
        limit(self.policies.len(), "policies")?;
        self.policies.insert(policy.identity.clone(), policy);
        Ok(())
    }

    /// Changes an existing policy (Global included) and returns it.
    ///
    /// # Errors
    /// [`PolicyError::UnknownPolicy`]; [`PolicyError::InvalidName`] for a
    /// description [`check_description`](super::check_description) refuses.
    pub fn update_policy(
        &mut self,
        identity: &str,
        update: PolicyUpdate,
    ) -> Result<&Policy, PolicyError> {
        if let Some(description) = &update.description {
            check_description(description)?;
        }
        let policy = self
            .policies
            .get_mut(identity)
            .ok_or_else(|| PolicyError::UnknownPolicy(identity.to_owned()))?;
        if let Some(calling) = update.calling {
            policy.calling = calling;
        }
        if let Some(meeting) = update.meeting {
            policy.meeting = meeting;
        }
        if let Some(description) = update.description {
            policy.description = description;
        }
        Ok(policy)
    }

    /// Removes a named policy that nobody holds.
    ///
    /// # Errors
    /// [`PolicyError::GlobalIsPermanent`], [`PolicyError::UnknownPolicy`],
    /// [`PolicyError::PolicyInUse`] while a user, group or the tenant holds it.
    pub fn remove_policy(&mut self, identity: &str) -> Result<Policy, PolicyError> {
        if identity == GLOBAL {
            return Err(PolicyError::GlobalIsPermanent);
        }
        self.policy(identity)?;
        let in_use = |holder: String| PolicyError::PolicyInUse {
            policy: identity.to_owned(),
            holder,
        };
        if self.tenant_policy == identity {
            return Err(in_use("the tenant".to_owned()));
        }
        if let Some((user, _)) = self.user_policies.iter().find(|(_, p)| *p == identity) {
            return Err(in_use(format!("user {user:?}")));
        }
        if let Some((group, _)) = self
            .group_policies
            .iter()
            .find(|(_, g)| g.policy == identity)
        {
            return Err(in_use(format!("group {group:?}")));
        }
        self.policies
            .remove(identity)
            .ok_or_else(|| PolicyError::UnknownPolicy(identity.to_owned()))
    }

    /// Grants `policy` to `user` directly, replacing any direct grant.
    ///
    /// # Errors
    /// [`PolicyError::InvalidName`], [`PolicyError::UnknownPolicy`],
    /// [`PolicyError::LimitReached`].
    pub fn grant_user(&mut self, user: &str, policy: &str) -> Result<(), PolicyError> {
        let user = canonical_principal("user", user)?;
        self.policy(policy)?;
        if !self.user_policies.contains_key(&user) {
            limit(self.user_policies.len(), "user grants")?;
        }
        self.user_policies.insert(user, policy.to_owned());
        Ok(())
    }

    /// Grants `policy` to `group` at `rank` (1 is the highest), replacing
    /// the group's earlier grant.
    ///
    /// # Errors
    /// [`PolicyError::InvalidName`], [`PolicyError::UnknownPolicy`],
    /// [`PolicyError::InvalidRank`] for 0, [`PolicyError::RankTaken`] when
    /// another group holds `rank`, [`PolicyError::LimitReached`].
    pub fn grant_group(&mut self, group: &str, policy: &str, rank: u32) -> Result<(), PolicyError> {
        let group = canonical_principal("group", group)?;
        self.policy(policy)?;
        if rank == 0 {
            return Err(PolicyError::InvalidRank);
        }
        if let Some(holder) = self.ranks.get(&rank)
            && *holder != group
        {
            return Err(PolicyError::RankTaken {
                rank,
                group: holder.clone(),
            });
        }
        if !self.group_policies.contains_key(&group) {
            limit(self.group_policies.len(), "group grants")?;
        }
        let grant = GroupGrant {
            policy: policy.to_owned(),
            rank,
        };
        if let Some(old) = self.group_policies.insert(group.clone(), grant) {
            self.ranks.remove(&old.rank);
        }
        self.ranks.insert(rank, group);
        Ok(())
    }

    /// Makes `policy` the tenant's policy: the one users without a direct or
    /// group grant get. `Global` restores the default.
    ///
    /// # Errors
    /// [`PolicyError::UnknownPolicy`].
    pub fn grant_tenant(&mut self, policy: &str) -> Result<(), PolicyError> {
        self.policy(policy)?;
        self.tenant_policy = policy.to_owned();
        Ok(())
    }

    /// Removes `user`'s direct grant; returns the policy it named, if any.
    pub fn unassign_user(&mut self, user: &str) -> Option<String> {
        self.user_policies.remove(lookup_key(user).as_ref())
    }

    /// Removes `group`'s grant; returns it, if any.
    pub fn unassign_group(&mut self, group: &str) -> Option<GroupGrant> {
        let grant = self.group_policies.remove(lookup_key(group).as_ref())?;
        self.ranks.remove(&grant.rank);
        Some(grant)
    }

    /// The tenant's policy.
    pub fn tenant_policy(&self) -> &str {
        &self.tenant_policy
    }

    /// Direct grants, by canonical user id.
    pub fn user_policies(&self) -> &BTreeMap<String, String> {
        &self.user_policies
    }

    /// Group grants, by canonical group name.
    pub fn group_policies(&self) -> &BTreeMap<String, GroupGrant> {
        &self.group_policies
    }

    /// Users with a state, by canonical user id.
    pub fn users(&self) -> &BTreeMap<String, UserState> {
        &self.users
    }

    /// The state of `user` (the default for a user never seen).
    pub fn user(&self, user: &str) -> UserState {
        self.users
            .get(lookup_key(user).as_ref())
            .cloned()
            .unwrap_or_default()
    }

    /// Changes `user`'s state and returns the result. The user id and the
    /// group names are stored canonical.
    ///
    /// # Errors
    /// [`PolicyError::InvalidName`] for a bad user id or group name,
    /// [`PolicyError::LimitReached`] for a new user past [`MAX_ENTRIES`].
    pub fn update_user(
        &mut self,
        user: &str,
        update: UserUpdate,
    ) -> Result<UserState, PolicyError> {
        let user = canonical_principal("user", user)?;
        let mut state = match self.users.get(&user) {
            Some(state) => state.clone(),
            None => {
                limit(self.users.len(), "users")?;
                UserState::default()
            }
        };
        if let Some(groups) = update.groups {
            state.groups = groups
                .iter()
                .map(|g| canonical_principal("group", g))
                .collect::<Result<_, _>>()?;
        }
        if let Some(on) = update.e2ee_calls {
            state.e2ee_calls = on;
        }
        if let Some(on) = update.compliance_recording {
            state.compliance_recording = on;
        }
        self.users.insert(user, state.clone());
        Ok(state)
    }

    /// For a user id new to the document: the known user ids (with a state
    /// or a direct grant) that differ from it but share its
    /// [`principal_skeleton`](super::principal_skeleton), probably the same
    /// person typed another way. Sorted; empty when there is none or when
    /// `user` is known already.
    ///
    /// ```
    /// use callseal_core::policy::PolicyDocument;
    ///
    /// let mut doc = PolicyDocument::new();
    /// doc.grant_user("bob.smith@corp.com", "Global")?;
    /// assert_eq!(doc.similar_users("bobsmith@corp.com"), ["bob.smith@corp.com"]);
    /// assert!(doc.similar_users("Bob.Smith@Corp.com").is_empty(), "the same user");
    /// doc.grant_user("bobsmith@corp.com", "Global")?;
    /// assert!(doc.similar_users("bobsmith@corp.com").is_empty(), "known already");
    /// # Ok::<(), callseal_core::policy::PolicyError>(())
    /// ```
    pub fn similar_users(&self, user: &str) -> Vec<String> {
        similar(user, self.users.keys().chain(self.user_policies.keys()))
    }

    /// For a group name new to the document: the known group names (with a
    /// grant, or in a user's groups) that differ from it but share its
    /// [`principal_skeleton`](super::principal_skeleton). Sorted; empty
    /// when there is none or when `group` is known already.
    pub fn similar_groups(&self, group: &str) -> Vec<String> {
        similar(
            group,
            self.group_policies
                .keys()
                .chain(self.users.values().flat_map(|u| u.groups.iter())),
        )
    }

    /// `user`'s effective policy and where it comes from: the direct grant,
    /// else the best-ranked (lowest rank number) of the user's groups that
    /// has a grant, else the tenant's policy.
    pub fn effective_policy(&self, user: &str) -> (&Policy, PolicySource) {
        let user = lookup_key(user);
        let user = user.as_ref();
        let lookup = |name: &str| self.policies.get(name);
        if let Some(policy) = self.user_policies.get(user).and_then(|p| lookup(p)) {
            return (policy, PolicySource::Direct);
        }
        let state = self.users.get(user);
        let best_group = state
            .into_iter()
            .flat_map(|s| s.groups.iter())
            .filter_map(|g| {
                self.group_policies
                    .get(g)
                    .map(|grant| (grant.rank, g, grant))
            })
            .min_by_key(|(rank, _, _)| *rank);
        if let Some((_, group, grant)) = best_group
            && let Some(policy) = lookup(&grant.policy)
        {
            return (policy, PolicySource::Group(group.clone()));
        }
        match lookup(&self.tenant_policy).or_else(|| lookup(GLOBAL)) {
            Some(policy) => (policy, PolicySource::Tenant),
            // Unreachable: Global always exists. Fall back to its defaults.
            None => (&FALLBACK_GLOBAL, PolicySource::Tenant),
        }
    }
}

/// Refuses one more entry when `count` are already held.
fn limit(count: usize, what: &'static str) -> Result<(), PolicyError> {
    if count >= MAX_ENTRIES {
        Err(PolicyError::LimitReached {
            what,
            limit: MAX_ENTRIES,
        })
    } else {
        Ok(())
    }
}

/// Refuses a document of more than [`MAX_DOCUMENT_BYTES`].
pub(crate) fn check_size(bytes: usize) -> Result<(), PolicyError> {
    if bytes > MAX_DOCUMENT_BYTES {
        Err(PolicyError::LimitReached {
            what: "bytes",
            limit: MAX_DOCUMENT_BYTES,
        })
    } else {
        Ok(())
    }
}

/// The ids among `known` that differ from `id` once canonical but share its
/// skeleton; nothing when `id` is itself known (it is not new).
fn similar<'a>(id: &str, known: impl Iterator<Item = &'a String>) -> Vec<String> {
    let canonical = lookup_key(id);
    let skeleton = principal_skeleton(&canonical);
    let mut found = BTreeSet::new();
    for k in known {
        if k.as_str() == canonical.as_ref() {
            return Vec::new();
        }
        if principal_skeleton(k) == skeleton {
            found.insert(k.clone());
        }
    }
    found.into_iter().collect()
}

/// The Global policy's defaults, for the impossible case that it is missing.
static FALLBACK_GLOBAL: Policy = Policy {
    identity: String::new(),
    calling: E2eeSetting::Disabled,
    meeting: E2eeSetting::Disabled,
    description: String::new(),
};
