//! `callseal policy keygen | publish | verify`: the admin's signing key and
//! signed policy documents (docs/POLICY.md, "Signed policy documents").

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use callseal_core::policy::{
    MAX_SIGNED_POLICY_NUMBER, PolicyDocument, PolicyError, PolicySigningKey, PolicyStore,
    TenantKey, escape_for_display,
};
use clap::Args;
use serde::Deserialize;
use zeroize::Zeroizing;

/// The `format` of the admin key file.
const KEY_FORMAT: &str = "callseal-policy-key/1";

/// Arguments of `callseal policy keygen`.
#[derive(Args)]
pub(crate) struct KeygenArgs {
    /// Where to write the signing key (created with mode 0600; never
    /// overwritten). The tenant key goes to KEY.pub and to standard output.
    #[arg(long, value_name = "KEY")]
    out: PathBuf,
}

/// Arguments of `callseal policy publish`.
#[derive(Args)]
pub(crate) struct PublishArgs {
    /// The signing key file (from `keygen`).
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// Where to write the signed document.
    #[arg(long, value_name = "SIGNED.json")]
    out: PathBuf,
    /// The serial to sign with [default: the key's last serial + 1]; must be
    /// above every serial this key signed.
    #[arg(long, value_name = "N")]
    serial: Option<u64>,
    /// The issue time in seconds since 1970-01-01 UTC [default: now].
    #[arg(long, value_name = "SECONDS")]
    issued_at: Option<u64>,
}

/// Arguments of `callseal policy verify`.
#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// The tenant key: 64 hex digits, or a file holding them (KEY.pub).
    #[arg(long, value_name = "PUB")]
    tenant_key: String,
    /// The serial of the newest document already accepted (0: none).
    #[arg(long, value_name = "N", default_value_t = 0)]
    last_serial: u64,
    /// Print JSON: serial, issued_at, and the document.
    #[arg(long)]
    json: bool,
    /// The signed document.
    #[arg(value_name = "SIGNED.json")]
    signed: PathBuf,
}

/// The admin key file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    format: String,
    secret: String,
    last_serial: u64,
}

/// `keygen`: a fresh key, the tenant key printed.
pub(crate) fn keygen(args: &KeygenArgs) -> Result<(), String> {
    let key = PolicySigningKey::generate().map_err(|e| e.to_string())?;
    write_key_file(&args.out, &key, 0, KeyWrite::Create)?;
    let tenant = key.tenant_key().to_hex();
    let public = sibling(&args.out, ".pub");
    write_new(&public, format!("{tenant}\n").as_bytes(), 0o644)?;
    println!("{tenant}");
    eprintln!(
        "wrote the signing key to {} (keep it secret) and the tenant key to {}",
        args.out.display(),
        public.display()
    );
    Ok(())
}

/// `publish`: the store's document, signed with the next serial.
pub(crate) fn publish(store: &PolicyStore, args: &PublishArgs) -> Result<(), String> {
    // One publish at a time per key: two must never sign one serial.
    let lock_path = sibling(&args.key, ".lock");
    let lock =
        open_lock(&lock_path).map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let (key, last) = read_key_file(&args.key)?;
    let serial = match args.serial {
        Some(n) if n <= last => {
            return Err(format!(
                "serial {n} is not above {last}, the last serial this key signed"
            ));
        }
        Some(n) => n,
        None => last
            .checked_add(1)
            .filter(|n| *n <= MAX_SIGNED_POLICY_NUMBER)
            .ok_or("this key signed its last serial")?,
    };
    let issued_at = match args.issued_at {
        Some(t) => t,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs(),
    };
    let doc = store.load().map_err(|e| e.to_string())?;
    let signed = key
        .sign(&doc, serial, issued_at)
        .map_err(|e| e.to_string())?;
    // The serial is spent before anything is published under it.
    write_key_file(&args.key, &key, serial, KeyWrite::Replace)?;
    replace_file(&args.out, &signed, 0o644)?;
    println!(
        "signed policy document serial {serial}, issued at {issued_at}, tenant key {}: {}",
        key.tenant_key().to_hex(),
        args.out.display()
    );
    Ok(())
}

/// `verify`: exit 0 and a summary if the document verifies.
pub(crate) fn verify(args: &VerifyArgs) -> Result<(), String> {
    let tenant = tenant_key(&args.tenant_key)?;
    let signed = std::fs::read(&args.signed)
        .map_err(|e| format!("cannot read {}: {e}", args.signed.display()))?;
    let verified = PolicyDocument::verify(&signed, &tenant, args.last_serial).map_err(coded)?;
    if args.json {
        let document: serde_json::Value =
            serde_json::from_str(&verified.document().to_json()).map_err(|e| e.to_string())?;
        let value = serde_json::json!({
            "serial": verified.serial(),
            "issued_at": verified.issued_at(),
            "tenant_key": tenant.to_hex(),
            "document": document,
        });
        println!(
            "{}",
            serde_json::to_string(&value).map_err(|e| e.to_string())?
        );
    } else {
        println!(
            "verified: serial {}, issued at {}, tenant key {}, {} policies",
            verified.serial(),
            verified.issued_at(),
            tenant.to_hex(),
            verified.document().policies().count()
        );
    }
    Ok(())
}

/// A refused document's error with its stable code first, for scripts;
/// control, invisible and bidirectional characters from the document are
/// escaped, so it cannot forge lines of output.
fn coded(e: PolicyError) -> String {
    format!(
        "{}: {}",
        e.kind().code(),
        escape_for_display(&e.to_string(), 2000)
    )
}

fn tenant_key(arg: &str) -> Result<TenantKey, String> {
    let trimmed = arg.trim();
    if trimmed.len() == 64 && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
        return TenantKey::from_hex(trimmed).map_err(|e| e.to_string());
    }
    let text = std::fs::read_to_string(arg)
        .map_err(|e| format!("--tenant-key is neither 64 hex digits nor a readable file: {e}"))?;
    TenantKey::from_hex(&text).map_err(|e| e.to_string())
}

fn read_key_file(path: &Path) -> Result<(PolicySigningKey, u64), String> {
    let bad = |why: String| format!("{}: not a policy signing key file: {why}", path.display());
    // The key file is replaced by renaming over it: a symlink there would be
    // replaced by a plain file and the serial kept in its target go stale.
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.file_type().is_file() {
        return Err(bad("not a regular file (a symlink?)".into()));
    }
    let text = Zeroizing::new(
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
    );
    let file: KeyFile = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
    let secret = Zeroizing::new(file.secret);
    if file.format != KEY_FORMAT {
        return Err(bad(format!("format {:?}", file.format)));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("the secret is not 64 hex digits".into()));
    }
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = secret
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(|| bad("the secret is not 64 hex digits".into()))?;
    }
    Ok((PolicySigningKey::from_zeroizing(seed), file.last_serial))
}

/// How to write the key file.
#[derive(Clone, Copy)]
enum KeyWrite {
    /// A new file; an existing one is an error.
    Create,
    /// Atomically over the existing file.
    Replace,
}

fn write_key_file(
    path: &Path,
    key: &PolicySigningKey,
    last_serial: u64,
    how: KeyWrite,
) -> Result<(), String> {
    let seed = key.to_bytes();
    let mut secret = Zeroizing::new(String::with_capacity(64));
    for b in seed.iter() {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        secret.push(char::from(HEX[usize::from(b >> 4)]));
        secret.push(char::from(HEX[usize::from(b & 15)]));
    }
    let text = Zeroizing::new(format!(
        "{{\n  \"format\": \"{KEY_FORMAT}\",\n  \"secret\": \"{}\",\n  \"last_serial\": {last_serial}\n}}\n",
        secret.as_str()
    ));
    match how {
        KeyWrite::Create => write_new(path, text.as_bytes(), 0o600),
        KeyWrite::Replace => replace_file(path, text.as_bytes(), 0o600),
    }
}

/// Writes a new file with `mode`; refuses an existing file or symlink.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    let io = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let mut file = new_file(path, mode).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Writes `bytes` to a randomly named new file beside `path`, then renames
/// it over `path`: a crash leaves the old or the new file.
fn replace_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| e.to_string())?;
    let suffix: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = sibling(path, &format!(".{suffix}.tmp"));
    let result = write_new(&tmp, bytes, mode).and_then(|()| {
        std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The publish lock beside the key: never through a symlink, never a FIFO
/// that would block.
#[cfg(unix)]
fn open_lock(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.file_type().is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
}

#[cfg(not(unix))]
fn open_lock(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

#[cfg(unix)]
fn new_file(path: &Path, mode: u32) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // `create_new` is O_CREAT|O_EXCL: an existing file or symlink is refused.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
}

#[cfg(not(unix))]
fn new_file(path: &Path, _mode: u32) -> std::io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}
