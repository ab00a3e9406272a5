//! `callseal policy`: the admin CLI over a JSON policy store (issue #4).

/// Arguments of `callseal policy`.
#[derive(clap::Args)]
pub(crate) struct PolicyArgs {}

/// Runs one policy command.
pub(crate) fn run(_args: PolicyArgs) -> Result<(), String> {
    Err("policy administration is not built yet".to_owned())
}
