//! `callseal vectors`: the cross-target conformance files (docs/BINDINGS.md,
//! "Conformance files").
//!
//! Every input is fixed in this module and its children, so the files are
//! the same on every run and every machine. The copies committed in
//! `tests/conformance/` are what every target (Rust, wasm, Kotlin, Swift,
//! Python) replays and must reproduce byte for byte.

mod calls;
mod errors;
mod fixed;
mod frames;
mod media;
mod policy;
mod policy_signed;

use std::path::PathBuf;

use serde::Serialize;

/// Arguments of `callseal vectors`.
#[derive(clap::Args)]
pub(crate) struct VectorsArgs {
    /// Folder to write the conformance files into.
    #[arg(long)]
    out: PathBuf,
}

/// The version the files carry unless their format changed; a file whose
/// format changes gets its own, higher version (`calls.json`: 2).
const FORMAT_VERSION: u32 = 1;

/// One conformance file: its format version, what it holds and its cases.
#[derive(Serialize)]
struct File<T: Serialize> {
    version: u32,
    description: &'static str,
    cases: Vec<T>,
}

/// Serializes `cases` as one file's text: pretty JSON with a final newline.
fn render<T: Serialize>(description: &'static str, cases: Vec<T>) -> Result<String, String> {
    render_version(FORMAT_VERSION, description, cases)
}

/// [`render`] for a file of format `version`.
fn render_version<T: Serialize>(
    version: u32,
    description: &'static str,
    cases: Vec<T>,
) -> Result<String, String> {
    let file = File {
        version,
        description,
        cases,
    };
    let mut text = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

/// Every conformance file as (file name, contents).
fn files() -> Result<Vec<(&'static str, String)>, String> {
    Ok(vec![
        (
            "frames.json",
            render(frames::DESCRIPTION, frames::cases()?)?,
        ),
        ("media.json", render(media::DESCRIPTION, media::cases()?)?),
        (
            "errors.json",
            render(errors::DESCRIPTION, errors::cases()?)?,
        ),
        (
            "calls.json",
            render_version(calls::FORMAT_VERSION, calls::DESCRIPTION, calls::cases()?)?,
        ),
        (
            "policy.json",
            render(policy::DESCRIPTION, policy::cases()?)?,
        ),
        (
            "policy-signed.json",
            render(policy_signed::DESCRIPTION, policy_signed::cases()?)?,
        ),
    ])
}

/// Writes the conformance files.
pub(crate) fn run(args: &VectorsArgs) -> Result<(), String> {
    let files = files()?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    for (name, text) in &files {
        let path = args.out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::files;

    #[test]
    fn the_files_are_deterministic_and_versioned() {
        let (a, b) = (files().unwrap(), files().unwrap());
        assert_eq!(a, b);
        assert_eq!(a.len(), 6);
        for (name, text) in &a {
            let json: serde_json::Value = serde_json::from_str(text).unwrap();
            let version = if *name == "calls.json" { 2 } else { 1 };
            assert_eq!(json["version"], version, "{name}");
            assert!(!json["cases"].as_array().unwrap().is_empty(), "{name}");
            assert!(text.ends_with("}\n"), "{name}");
        }
    }
}
