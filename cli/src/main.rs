//! `callseal`: demos, and the frame tool for debugging and interop.

mod demo;
mod frame_cmd;
mod num;

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
    /// Run the demo: two endpoints exchange encrypted media over an untrusted relay.
    Demo(demo::DemoArgs),
    /// Encrypt or decrypt one RFC 9605 SFrame ciphertext.
    #[command(subcommand)]
    Frame(frame_cmd::FrameCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Frame(cmd) => frame_cmd::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
