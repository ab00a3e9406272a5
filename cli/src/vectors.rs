//! `callseal vectors`: the cross-target conformance files (issue #6).

use std::path::PathBuf;

/// Arguments of `callseal vectors`.
#[derive(clap::Args)]
pub(crate) struct VectorsArgs {
    /// Folder to write the conformance files into.
    #[arg(long)]
    out: PathBuf,
}

/// Writes the conformance files.
pub(crate) fn run(args: &VectorsArgs) -> Result<(), String> {
    Err(format!(
        "conformance files are not written yet (asked for {})",
        args.out.display()
    ))
}
