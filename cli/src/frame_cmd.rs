//! `callseal frame encrypt|decrypt`: one SFrame ciphertext in, one out, as hex.

use callseal_core::frame::{
    BaseKey, CipherSuite, Counter, Header, Kid, Receiver, ReceiverConfig, Sender,
};
use clap::{Args, Subcommand};

use crate::num::{parse_hex, parse_u16, parse_u64};

#[derive(Subcommand)]
pub(crate) enum FrameCommand {
    /// Print the SFrame ciphertext (header || ciphertext || tag) as lowercase hex.
    Encrypt(EncryptArgs),
    /// Print the payload of an SFrame ciphertext as lowercase hex.
    Decrypt(DecryptArgs),
}

#[derive(Args)]
pub(crate) struct EncryptArgs {
    /// Cipher suite id, decimal or 0x-hex (0x0001-0x0008).
    #[arg(long, value_parser = parse_u16)]
    suite: u16,
    /// The RFC 9605 base_key, hex.
    #[arg(long)]
    key: String,
    /// Key id.
    #[arg(long, value_parser = parse_u64)]
    kid: u64,
    /// Counter.
    #[arg(long, value_parser = parse_u64)]
    ctr: u64,
    /// Metadata authenticated with the frame, hex.
    #[arg(long, default_value = "")]
    metadata: String,
    /// Payload, hex.
    #[arg(long)]
    payload: String,
}

#[derive(Args)]
pub(crate) struct DecryptArgs {
    /// Cipher suite id, decimal or 0x-hex (0x0001-0x0008).
    #[arg(long, value_parser = parse_u16)]
    suite: u16,
    /// The RFC 9605 base_key, hex.
    #[arg(long)]
    key: String,
    /// Metadata the frame was authenticated with, hex.
    #[arg(long, default_value = "")]
    metadata: String,
    /// The SFrame ciphertext, hex.
    #[arg(long)]
    frame: String,
}

pub(crate) fn run(cmd: FrameCommand) -> Result<(), String> {
    let out = match cmd {
        FrameCommand::Encrypt(a) => encrypt(&a)?,
        FrameCommand::Decrypt(a) => decrypt(&a)?,
    };
    println!("{}", hex::encode(out));
    Ok(())
}

fn key(hex_key: &str) -> Result<BaseKey, String> {
    let bytes = zeroize::Zeroizing::new(parse_hex(hex_key).map_err(|e| format!("--key: {e}"))?);
    BaseKey::new(&bytes).map_err(|e| format!("--key: {e}"))
}

fn encrypt(a: &EncryptArgs) -> Result<Vec<u8>, String> {
    let suite = CipherSuite::from_id(a.suite).map_err(|e| e.to_string())?;
    let metadata = parse_hex(&a.metadata).map_err(|e| format!("--metadata: {e}"))?;
    let payload = parse_hex(&a.payload).map_err(|e| format!("--payload: {e}"))?;
    let mut sender = Sender::starting_at(suite, Kid(a.kid), key(&a.key)?, Counter(a.ctr))
        .map_err(|e| e.to_string())?;
    sender
        .encrypt(&metadata, &payload)
        .map_err(|e| e.to_string())
}

fn decrypt(a: &DecryptArgs) -> Result<Vec<u8>, String> {
    let suite = CipherSuite::from_id(a.suite).map_err(|e| e.to_string())?;
    let metadata = parse_hex(&a.metadata).map_err(|e| format!("--metadata: {e}"))?;
    let frame = parse_hex(&a.frame).map_err(|e| format!("--frame: {e}"))?;
    let (header, _) = Header::decode(&frame).map_err(|e| e.to_string())?;
    let mut receiver = Receiver::new(ReceiverConfig::default());
    receiver
        .add_key(header.kid, suite, key(&a.key)?)
        .map_err(|e| e.to_string())?;
    receiver
        .decrypt(&metadata, &frame)
        .map_err(|e| e.to_string())
}
