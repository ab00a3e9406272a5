//! `callseal policy`: the admin CLI over a JSON policy store
//! (docs/POLICY.md). It parses arguments and prints; every rule is in
//! `callseal_core::policy`.

use std::path::PathBuf;

use callseal_core::policy::{
    E2eeSetting, GroupGrant, Participant, Platform, Policy, PolicyDocument, PolicySource,
    PolicyStore, PolicyUpdate, UserState, UserUpdate, canonical_principal,
};
use clap::{Args, Subcommand, ValueEnum};

/// Arguments of `callseal policy`.
#[derive(Args)]
pub(crate) struct PolicyArgs {
    /// The policy store file [default: $XDG_CONFIG_HOME/callseal/policies.json,
    /// else ~/.config/callseal/policies.json].
    #[arg(long, global = true, value_name = "PATH")]
    store: Option<PathBuf>,
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Create a named policy (both settings Disabled unless given).
    New(PolicyFields),
    /// Change a policy's settings or description (Global included).
    Set(PolicyFields),
    /// Show one policy, or all of them.
    Get {
        /// The policy to show; all when absent.
        #[arg(long)]
        identity: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List every policy (settings, description) and every grant (users,
    /// groups with their rank, the tenant).
    List {
        /// Print JSON: {"policies": [...], "tenant_policy": P,
        /// "user_policies": [{"user", "policy"}], "group_policies":
        /// [{"group", "policy", "rank"}]}.
        #[arg(long)]
        json: bool,
    },
    /// Remove a named policy that nobody holds (Global cannot be removed).
    Remove {
        /// The policy to remove.
        #[arg(long)]
        identity: String,
    },
    /// Grant a policy to a user, a ranked group or the tenant, or unassign one.
    Grant(GrantArgs),
    /// Show or change a user's settings, groups and compliance recording.
    User(UserArgs),
    /// Decide whether a call or meeting is end-to-end encrypted.
    #[command(subcommand)]
    Evaluate(EvaluateCommand),
    /// Create an admin signing key for policy documents (KEY, mode 0600,
    /// and the tenant key in KEY.pub).
    Keygen(crate::policy_sign::KeygenArgs),
    /// Sign the store's document with the next serial (docs/POLICY.md).
    Publish(crate::policy_sign::PublishArgs),
    /// Verify a signed policy document against the tenant key.
    Verify(crate::policy_sign::VerifyArgs),
}

#[derive(Args)]
struct PolicyFields {
    /// `Global` or the policy's name.
    #[arg(long)]
    identity: String,
    /// CallingEndtoEndEncryptionEnabledType.
    #[arg(long, value_name = "V")]
    calling: Option<Setting>,
    /// MeetingEndToEndEncryption.
    #[arg(long, value_name = "V")]
    meeting: Option<Setting>,
    /// Description.
    #[arg(long, value_name = "T")]
    description: Option<String>,
}

/// E2eeSetting as the command line spells it.
#[derive(Clone, Copy, ValueEnum)]
enum Setting {
    #[value(name = "Disabled")]
    Disabled,
    #[value(name = "DisabledUserOverride")]
    DisabledUserOverride,
}

impl From<Setting> for E2eeSetting {
    fn from(s: Setting) -> Self {
        match s {
            Setting::Disabled => E2eeSetting::Disabled,
            Setting::DisabledUserOverride => E2eeSetting::DisabledUserOverride,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum OnOff {
    On,
    Off,
}

impl From<OnOff> for bool {
    fn from(v: OnOff) -> bool {
        matches!(v, OnOff::On)
    }
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["user", "group", "global"])))]
struct GrantArgs {
    /// The policy to grant.
    #[arg(
        long,
        required_unless_present = "unassign",
        conflicts_with = "unassign"
    )]
    policy: Option<String>,
    /// Remove the user's or group's grant instead.
    #[arg(long, conflicts_with = "global")]
    unassign: bool,
    /// Grant to (or unassign) this user directly.
    #[arg(long, value_name = "U")]
    user: Option<String>,
    /// Grant to (or unassign) this group; granting needs --rank.
    #[arg(long, value_name = "G")]
    group: Option<String>,
    /// The group's rank: 1 is the highest.
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..),
        requires = "group",
        conflicts_with = "unassign"
    )]
    rank: Option<u32>,
    /// Grant to the tenant: users without a direct or group grant get it.
    #[arg(long)]
    global: bool,
}

#[derive(Args)]
struct UserArgs {
    /// The user.
    #[arg(long, value_name = "U")]
    user: String,
    /// Replace the user's groups (comma-separated; empty for none).
    #[arg(long, value_name = "G1,G2", value_delimiter = ',')]
    groups: Option<Vec<String>>,
    /// The user's "End-to-end encrypted calls" setting.
    #[arg(long)]
    e2ee_calls: Option<OnOff>,
    /// Whether the user is under compliance recording.
    #[arg(long)]
    compliance_recording: Option<OnOff>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum EvaluateCommand {
    /// A 1:1 call.
    Call {
        /// The caller.
        #[arg(long, value_name = "U")]
        caller: String,
        /// The callee.
        #[arg(long, value_name = "V")]
        callee: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A meeting, with its participants in the order they join.
    Meeting {
        /// The organizer.
        #[arg(long, value_name = "U")]
        organizer: String,
        /// Whether the organizer turned end-to-end encryption on for the meeting.
        #[arg(long)]
        e2ee: OnOff,
        /// A participant, `user` or `user:platform` (platform: desktop-windows,
        /// desktop-mac, ios, android, web, vdi, cvi, rooms-windows,
        /// rooms-android, surface-hub; default desktop-windows).
        #[arg(long = "participant", value_name = "U[:PLATFORM]", value_parser = parse_participant)]
        participants: Vec<Participant>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_participant(s: &str) -> Result<Participant, String> {
    let (user, platform) = match s.split_once(':') {
        Some((user, platform)) => (user, platform.parse().map_err(|e| format!("{e}"))?),
        None => (s, Platform::DesktopWindows),
    };
    callseal_core::policy::check_principal("user", user).map_err(|e| e.to_string())?;
    Ok(Participant::new(user, platform))
}

/// Runs one policy command.
pub(crate) fn run(args: PolicyArgs) -> Result<(), String> {
    let store = PolicyStore::new(match args.store {
        Some(path) => path,
        None => default_store()?,
    });
    let fail = |e: callseal_core::policy::PolicyError| e.to_string();
    match args.command {
        PolicyCommand::Keygen(keygen) => crate::policy_sign::keygen(&keygen)?,
        PolicyCommand::Publish(publish) => crate::policy_sign::publish(&store, &publish)?,
        PolicyCommand::Verify(verify) => crate::policy_sign::verify(&verify)?,
        PolicyCommand::New(fields) => {
            let policy = store
                .update(|doc| {
                    let policy = apply(Policy::named(&fields.identity)?, &fields);
                    doc.create_policy(policy.clone())?;
                    Ok(policy)
                })
                .map_err(fail)?;
            print!("{}", policy_text(&policy));
        }
        PolicyCommand::Set(fields) => {
            let policy = store
                .update(|doc| {
                    let update = PolicyUpdate {
                        calling: fields.calling.map(Into::into),
                        meeting: fields.meeting.map(Into::into),
                        description: fields.description.clone(),
                    };
                    Ok(doc.update_policy(&fields.identity, update)?.clone())
                })
                .map_err(fail)?;
            print!("{}", policy_text(&policy));
        }
        PolicyCommand::Get { identity, json } => {
            let doc = store.load().map_err(fail)?;
            let policies: Vec<&Policy> = match &identity {
                Some(name) => vec![doc.policy(name).map_err(fail)?],
                None => doc.policies().collect(),
            };
            if json {
                let value = match identity {
                    Some(_) => serde_json::to_string_pretty(&policies[0]),
                    None => serde_json::to_string_pretty(&policies),
                };
                println!("{}", value.map_err(|e| e.to_string())?);
            } else {
                let blocks: Vec<String> = policies.into_iter().map(policy_text).collect();
                print!("{}", blocks.join("\n"));
            }
        }
        PolicyCommand::List { json } => {
            let doc = store.load().map_err(fail)?;
            if json {
                println!("{}", to_json_pretty(&listing(&doc))?);
            } else {
                print!("{}", listing_text(&doc));
            }
        }
        PolicyCommand::Remove { identity } => {
            store
                .update(|doc| doc.remove_policy(&identity))
                .map_err(fail)?;
            println!("removed policy {identity}");
        }
        PolicyCommand::Grant(grant) => println!("{}", run_grant(&store, grant)?),
        PolicyCommand::User(user) => {
            let update = UserUpdate {
                groups: user
                    .groups
                    .map(|g| g.into_iter().filter(|g| !g.is_empty()).collect()),
                e2ee_calls: user.e2ee_calls.map(Into::into),
                compliance_recording: user.compliance_recording.map(Into::into),
            };
            let changes = update != UserUpdate::default();
            let (state, doc, warnings) = if changes {
                store
                    .update(|doc| {
                        let mut warnings = near_duplicates(doc, "user", &[user.user.as_str()]);
                        if let Some(groups) = &update.groups {
                            let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
                            warnings.extend(near_duplicates(doc, "group", &groups));
                        }
                        let state = doc.update_user(&user.user, update)?;
                        Ok((state, doc.clone(), warnings))
                    })
                    .map_err(fail)?
            } else {
                let doc = store.load().map_err(fail)?;
                (doc.user(&user.user), doc, Vec::new())
            };
            warn(&warnings);
            let id = canonical_principal("user", &user.user).map_err(fail)?;
            print_user(&doc, &id, &state, user.json)?;
        }
        PolicyCommand::Evaluate(EvaluateCommand::Call {
            caller,
            callee,
            json,
        }) => {
            let doc = store.load().map_err(fail)?;
            let decision = doc.evaluate_call(&caller, &callee);
            if json {
                println!("{}", to_json(&decision)?);
            } else {
                println!("e2ee: {}", yes_no(decision.e2ee));
                println!(
                    "reason: {} ({})",
                    decision.reason,
                    decision.reason.describe()
                );
                println!(
                    "unavailable features: {}",
                    list(decision.unavailable_features())
                );
                println!(
                    "available, not end-to-end encrypted: {}",
                    list(decision.not_end_to_end_encrypted())
                );
            }
        }
        PolicyCommand::Evaluate(EvaluateCommand::Meeting {
            organizer,
            e2ee,
            participants,
            json,
        }) => {
            let doc = store.load().map_err(fail)?;
            let decision = doc.evaluate_meeting(&organizer, e2ee.into(), &participants);
            if json {
                println!("{}", to_json(&decision)?);
            } else {
                println!("e2ee: {}", yes_no(decision.e2ee));
                println!(
                    "reason: {} ({})",
                    decision.reason,
                    decision.reason.describe()
                );
                println!("admitted: {}", list(&decision.admitted));
                let refused: Vec<String> = decision
                    .refused
                    .iter()
                    .map(|r| format!("{} ({})", r.user, r.reason))
                    .collect();
                println!("refused: {}", list(&refused));
                println!(
                    "unavailable features: {}",
                    list(decision.unavailable_features())
                );
                println!(
                    "available, not end-to-end encrypted: {}",
                    list(decision.not_end_to_end_encrypted())
                );
            }
        }
    }
    Ok(())
}

fn run_grant(store: &PolicyStore, grant: GrantArgs) -> Result<String, String> {
    let fail = |e: callseal_core::policy::PolicyError| e.to_string();
    if grant.unassign {
        return store
            .update(|doc| {
                let shown = |what, id: &String| {
                    canonical_principal(what, id).unwrap_or_else(|_| id.clone())
                };
                Ok(match (&grant.user, &grant.group) {
                    (Some(user), _) => match (doc.unassign_user(user), shown("user", user)) {
                        (Some(p), user) => format!("unassigned policy {p} from user {user}"),
                        (None, user) => format!("user {user} had no direct policy"),
                    },
                    (None, Some(group)) => match (doc.unassign_group(group), shown("group", group))
                    {
                        (Some(g), group) => {
                            format!("unassigned policy {} from group {group}", g.policy)
                        }
                        (None, group) => format!("group {group} had no policy"),
                    },
                    (None, None) => String::new(),
                })
            })
            .map_err(fail);
    }
    let policy = grant.policy.unwrap_or_default();
    if grant.group.is_some() && grant.rank.is_none() {
        usage_error("granting to a group needs --rank N (1 is the highest)");
    }
    let (message, warnings) = store
        .update(|doc| {
            Ok(match (&grant.user, &grant.group, grant.rank) {
                (Some(user), _, _) => {
                    let warnings = near_duplicates(doc, "user", &[user.as_str()]);
                    doc.grant_user(user, &policy)?;
                    let user = canonical_principal("user", user)?;
                    (format!("granted policy {policy} to user {user}"), warnings)
                }
                (None, Some(group), Some(rank)) => {
                    let warnings = near_duplicates(doc, "group", &[group.as_str()]);
                    doc.grant_group(group, &policy, rank)?;
                    let group = canonical_principal("group", group)?;
                    (
                        format!("granted policy {policy} to group {group} at rank {rank}"),
                        warnings,
                    )
                }
                _ => {
                    doc.grant_tenant(&policy)?;
                    (format!("granted policy {policy} to the tenant"), Vec::new())
                }
            })
        })
        .map_err(fail)?;
    warn(&warnings);
    Ok(message)
}

/// Warnings for ids new to `doc` that look like ids it knows: the same
/// skeleton (`callseal_core::policy::principal_skeleton`), another id.
fn near_duplicates(doc: &PolicyDocument, what: &str, ids: &[&str]) -> Vec<String> {
    ids.iter()
        .filter_map(|id| {
            let similar = if what == "user" {
                doc.similar_users(id)
            } else {
                doc.similar_groups(id)
            };
            (!similar.is_empty()).then(|| {
                format!(
                    "warning: {what} {id:?} looks like the existing {what} {}; check it is not a typo",
                    similar
                        .iter()
                        .map(|s| format!("{s:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
        .collect()
}

fn warn(warnings: &[String]) {
    for warning in warnings {
        eprintln!("{warning}");
    }
}

/// `policy list --json`: the policies with their admin field names, then
/// the grants (users by id, groups by rank).
fn listing(doc: &PolicyDocument) -> serde_json::Value {
    let policies: Vec<&Policy> = doc.policies().collect();
    let users: Vec<serde_json::Value> = doc
        .user_policies()
        .iter()
        .map(|(user, policy)| serde_json::json!({ "user": user, "policy": policy }))
        .collect();
    let mut groups: Vec<(&String, &GroupGrant)> = doc.group_policies().iter().collect();
    groups.sort_by_key(|(_, grant)| grant.rank);
    let groups: Vec<serde_json::Value> = groups
        .into_iter()
        .map(|(group, grant)| {
            serde_json::json!({ "group": group, "policy": grant.policy, "rank": grant.rank })
        })
        .collect();
    serde_json::json!({
        "policies": policies,
        "tenant_policy": doc.tenant_policy(),
        "user_policies": users,
        "group_policies": groups,
    })
}

fn listing_text(doc: &PolicyDocument) -> String {
    let blocks: Vec<String> = doc.policies().map(policy_text).collect();
    let mut out = blocks.join("\n");
    out.push_str("\nGrants\n");
    out.push_str(&format!("tenant: {}\n", doc.tenant_policy()));
    for (user, policy) in doc.user_policies() {
        out.push_str(&format!("user {user}: {policy}\n"));
    }
    let mut groups: Vec<(&String, &GroupGrant)> = doc.group_policies().iter().collect();
    groups.sort_by_key(|(_, grant)| grant.rank);
    for (group, grant) in groups {
        out.push_str(&format!(
            "group {group} (rank {}): {}\n",
            grant.rank, grant.policy
        ));
    }
    out
}

/// Exits with status 2, as clap does for other usage errors.
fn usage_error(message: &str) -> ! {
    clap::Error::raw(
        clap::error::ErrorKind::MissingRequiredArgument,
        format!("{message}\n"),
    )
    .exit()
}

fn apply(policy: Policy, fields: &PolicyFields) -> Policy {
    let mut policy = policy;
    if let Some(calling) = fields.calling {
        policy = policy.with_calling(calling.into());
    }
    if let Some(meeting) = fields.meeting {
        policy = policy.with_meeting(meeting.into());
    }
    if let Some(description) = &fields.description {
        policy = policy.with_description(description.clone());
    }
    policy
}

fn policy_text(policy: &Policy) -> String {
    format!(
        "Identity                             : {}\n\
         CallingEndtoEndEncryptionEnabledType : {}\n\
         MeetingEndToEndEncryption            : {}\n\
         Description                          : {}\n",
        policy.identity, policy.calling, policy.meeting, policy.description
    )
}

fn print_user(
    doc: &PolicyDocument,
    user: &str,
    state: &UserState,
    json: bool,
) -> Result<(), String> {
    let (policy, source) = doc.effective_policy(user);
    let source = match source {
        PolicySource::Direct => "direct".to_owned(),
        PolicySource::Group(group) => format!("group {group}"),
        PolicySource::Tenant => "tenant".to_owned(),
    };
    if json {
        let value = serde_json::json!({
            "user": user,
            "e2ee_calls": state.e2ee_calls,
            "groups": state.groups,
            "compliance_recording": state.compliance_recording,
            "effective_policy": policy.identity,
            "policy_source": source,
        });
        println!("{}", to_json(&value)?);
    } else {
        println!("user: {user}");
        println!("e2ee calls: {}", on_off(state.e2ee_calls));
        println!("groups: {}", list(&state.groups.iter().collect::<Vec<_>>()));
        println!(
            "compliance recording: {}",
            on_off(state.compliance_recording)
        );
        println!("effective policy: {} ({source})", policy.identity);
    }
    Ok(())
}

fn default_store() -> Result<PathBuf, String> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })
        .ok_or("no config folder ($XDG_CONFIG_HOME and $HOME are unset); pass --store PATH")?;
    Ok(config.join("callseal").join("policies.json"))
}

fn to_json(value: &impl serde::Serialize) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}

fn to_json_pretty(value: &impl serde::Serialize) -> Result<String, String> {
    serde_json::to_string_pretty(value).map_err(|e| e.to_string())
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}
