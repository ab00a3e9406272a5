//! `callseal`: demos, and the frame tool for debugging and interop.

mod demo;
mod demo_call;
mod demo_meeting;
mod frame_cmd;
mod num;
mod policy_cmd;
mod policy_sign;
mod relay;
mod rng;
mod vectors;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// callseal: one core for end-to-end encrypted calls and meetings.
#[derive(Parser)]
#[command(name = "callseal", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a demo: by default a whole 1:1 call over an untrusted relay.
    Demo(DemoArgs),
    /// Encrypt or decrypt one RFC 9605 SFrame ciphertext.
    #[command(subcommand)]
    Frame(frame_cmd::FrameCommand),
    /// Administer end-to-end encryption policies and evaluate decisions.
    Policy(policy_cmd::PolicyArgs),
    /// Write the cross-target conformance files from fixed inputs.
    Vectors(vectors::VectorsArgs),
    /// Run an untrusted WebSocket relay for signalling, meetings and media
    /// frames (docs/RELAY.md).
    ///
    /// The relay routes JSON signalling between named clients, orders
    /// meeting commits in rooms (one per epoch) and forwards encrypted
    /// media frames sent as binary messages. It sees who talks to whom,
    /// the signalling, sizes and timing, but never a key: end-to-end
    /// encryption is the clients' work.
    ///
    /// When ready it prints one line to standard output,
    /// `callseal relay listening on ws://ADDR`, with the real port; then it
    /// logs connection events to standard error (names only, never message
    /// contents or keys). Ctrl-C stops it.
    ///
    /// Limits: messages up to 1 MiB, 256 clients, 256 members per room, 64
    /// rooms per client; a client that does not read (1024 messages or 16
    /// MiB queued for it) is disconnected.
    Relay(relay::RelayArgs),
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct DemoArgs {
    #[command(subcommand)]
    kind: Option<DemoKind>,
    #[command(flatten)]
    call: demo_call::CallArgs,
}

/// Options every demo takes.
#[derive(clap::Args)]
struct DemoOptions {
    /// Cipher suite for the media, decimal or 0x-hex.
    #[arg(long, default_value = "0x0004", value_parser = num::parse_u16)]
    suite: u16,
    /// Deterministic run (keys and relay behaviour); without it, a fresh random one.
    #[arg(long)]
    seed: Option<u64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum DemoKind {
    /// A 1:1 call: handshake, security codes, encrypted media with rekeying (the default).
    Call(demo_call::CallArgs),
    /// The frame layer alone: SFrame through a lossy, hostile relay.
    Frames(demo::FramesArgs),
    /// A meeting: MLS group keys, churn, meeting codes, no frame lost.
    Meeting(demo_meeting::MeetingArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => match args.kind {
            Some(DemoKind::Call(call)) => demo_call::run(&call),
            Some(DemoKind::Frames(frames)) => demo::run(&frames),
            Some(DemoKind::Meeting(meeting)) => demo_meeting::run(&meeting),
            None => demo_call::run(&args.call),
        },
        Command::Frame(cmd) => frame_cmd::run(cmd),
        Command::Policy(args) => policy_cmd::run(args),
        Command::Vectors(args) => vectors::run(&args),
        Command::Relay(args) => relay::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
