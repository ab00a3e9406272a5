//! `callseal relay`: an untrusted WebSocket relay for signalling, meeting
//! commits and encrypted media frames (docs/RELAY.md), optionally a man in
//! the middle of 1:1 calls.
//!
//! - [`protocol`]: limits, names, requests, events, binary headers.
//! - [`room`]: a room's members and commit order.
//! - [`outbox`]: a client's bounded outgoing queue.
//! - [`hub`]: the state, one input at a time.
//! - [`server`]: sockets, WebSocket handshakes, the runtime.
//! - [`mitm`]: the interceptor of `--mitm`.

mod hub;
mod mitm;
mod outbox;
mod protocol;
mod room;
mod server;

use std::net::SocketAddr;

use clap::Args;

/// The options of `callseal relay` (its help text is on the subcommand).
#[derive(Args, Debug)]
pub(crate) struct RelayArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port,
    /// printed when ready). No TLS: put it behind a TLS proxy to serve
    /// anything but this machine.
    #[arg(long, value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// Attack 1:1 calls as a man in the middle would: answer each caller
    /// in the callee's name, call the callee in the caller's name, and
    /// re-encrypt the media frames sent over the relay between the two
    /// legs. Calls still work; the two ends' security codes differ (both
    /// legs' codes are logged).
    #[arg(long)]
    mitm: bool,
}

/// Runs the relay until Ctrl-C.
pub(crate) fn run(args: &RelayArgs) -> Result<(), String> {
    server::run(args.listen, args.mitm)
}

/// Writes one log line to standard error. Callers pass names, numbers and
/// codes only: never a message's content or a key.
fn log(line: std::fmt::Arguments<'_>) {
    eprintln!("relay: {line}");
}
