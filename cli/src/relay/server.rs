//! Sockets: the listener, one task per connection (WebSocket handshake,
//! reading into the hub, writing the client's queue), and the runtime,
//! a current-thread one, that stops on Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::hub::{Hub, Input};
use super::log;
use super::outbox::{self, Inbox, Outgoing};
use super::protocol::{ErrorCode, Event, MAX_CLIENTS, MAX_MESSAGE_SIZE};

/// The most TCP connections at once, WebSocket handshakes under way
/// included; one more is closed at once. The hub admits [`MAX_CLIENTS`] of
/// them and tells the others it is full.
const MAX_CONNECTIONS: usize = 2 * MAX_CLIENTS;
/// How long a client has to complete the WebSocket handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing connection waits for the client's close frame (or,
/// after an oversized message, reads and discards what it still sends).
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// The most bytes read and discarded after an oversized message.
const LINGER_BYTES: usize = 4 * MAX_MESSAGE_SIZE;
/// Inputs waiting for the hub; a full queue makes connections wait.
const HUB_QUEUE: usize = 64;
/// How long a stopping relay lets connections send their close frames.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// Binds `listen`, prints the ready line and serves until Ctrl-C.
pub(crate) fn run(listen: SocketAddr, mitm: bool) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(serve(listen, mitm))
}

async fn serve(listen: SocketAddr, mitm: bool) -> Result<(), String> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "callseal relay listening on ws://{addr}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write to standard output: {e}"))?;
    }
    if mitm {
        log(format_args!(
            "--mitm: this relay intercepts 1:1 calls and re-encrypts their media"
        ));
    }
    let (hub_tx, mut hub_rx) = mpsc::channel(HUB_QUEUE);
    let mut hub = Hub::new(mitm);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::select! {
        () = run_hub(&mut hub, &mut hub_rx) => {}
        () = accept(listener, hub_tx, Arc::clone(&slots)) => {}
        signal = tokio::signal::ctrl_c() => {
            signal.map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
        }
    }
    log(format_args!("stopping: closing every connection"));
    hub.close_all();
    // The hub is gone: connections finish their queues and close frames,
    // and their last inputs are refused at once.
    drop(hub);
    drop(hub_rx);
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    while slots.available_permits() < MAX_CONNECTIONS && Instant::now() < deadline {
        sleep(Duration::from_millis(20)).await;
    }
    log(format_args!("stopped"));
    Ok(())
}

async fn run_hub(hub: &mut Hub, inputs: &mut mpsc::Receiver<Input>) {
    while let Some(input) = inputs.recv().await {
        hub.handle(input);
    }
}

async fn accept(listener: TcpListener, hub: mpsc::Sender<Input>, slots: Arc<Semaphore>) {
    let mut next_id: u64 = 0;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                    log(format_args!("connection refused: too many connections"));
                    continue;
                };
                next_id += 1;
                tokio::spawn(connection(next_id, stream, hub.clone(), permit));
            }
            Err(e) => {
                // Out of file descriptors, say: wait rather than spin.
                log(format_args!("accept failed: {e}"));
                sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One connection, from the WebSocket handshake to the end.
async fn connection(
    id: u64,
    stream: TcpStream,
    hub: mpsc::Sender<Input>,
    _slot: OwnedSemaphorePermit,
) {
    // Small messages (signals, audio frames) go out at once.
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_SIZE))
        .max_frame_size(Some(MAX_MESSAGE_SIZE));
    let handshake = tokio_tungstenite::accept_async_with_config(stream, Some(config));
    let mut ws = match timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(_)) => return log(format_args!("#{id}: WebSocket handshake failed")),
        Err(_) => return log(format_args!("#{id}: WebSocket handshake timed out")),
    };
    let (outbox, mut inbox, kill) = outbox::queue();
    if hub.send(Input::Connected { id, outbox }).await.is_err() {
        return;
    }
    tokio::select! {
        // Only a kill sent counts: a hub that forgot the client (and so
        // dropped the sender) lets the queue drain and the close happen.
        Ok(()) = kill => {}
        () = pump(id, &mut ws, &mut inbox, &hub) => {}
    }
    // Refused only while the relay stops.
    let _ = hub.send(Input::Gone { id }).await;
}

/// Moves messages between the socket and the hub until either ends.
async fn pump(
    id: u64,
    ws: &mut WebSocketStream<TcpStream>,
    inbox: &mut Inbox,
    hub: &mpsc::Sender<Input>,
) {
    loop {
        tokio::select! {
            incoming = ws.next() => {
                let input = match incoming {
                    None => return,
                    Some(Ok(Message::Text(text))) => Input::Text { id, text },
                    Some(Ok(Message::Binary(data))) => Input::Binary { id, data },
                    // Pings are answered and close frames echoed by the
                    // WebSocket layer; the stream then ends.
                    Some(Ok(_)) => continue,
                    Some(Err(WsError::Capacity(_))) => return too_large(id, ws).await,
                    // Gone without a close frame: a disconnect like any other.
                    Some(Err(
                        WsError::ConnectionClosed
                        | WsError::AlreadyClosed
                        | WsError::Io(_)
                        | WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake),
                    )) => return,
                    // Never the error's text: it can quote the message.
                    Some(Err(_)) => {
                        return log(format_args!("#{id}: WebSocket protocol error, closing"));
                    }
                };
                if hub.send(input).await.is_err() {
                    return;
                }
            }
            out = inbox.recv() => match out {
                Some(Outgoing::Message(message)) => {
                    let len = message.len();
                    let sent = ws.send(message).await;
                    inbox.sent(len);
                    if sent.is_err() {
                        return;
                    }
                }
                Some(Outgoing::Close) | None => return close(ws).await,
            },
        }
    }
}

/// Sends a close frame (1000, normal closure) and waits a moment for the
/// client's.
async fn close(ws: &mut WebSocketStream<TcpStream>) {
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    let _ = timeout(CLOSE_GRACE, async {
        if ws.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
}

/// A message over the limit: the rest of it is still on its way, so the
/// connection cannot go on. Send `too-large` and a close frame, stop
/// writing, and read and discard what the client still sends for a
/// moment, so that it can finish sending and read why.
async fn too_large(id: u64, ws: &mut WebSocketStream<TcpStream>) {
    log(format_args!("#{id}: message over the size limit, closing"));
    let error = Event::Error {
        code: ErrorCode::TooLarge,
        message: "a message is at most 1 MiB",
    };
    let frame = CloseFrame {
        code: CloseCode::Size,
        reason: "message too large".into(),
    };
    let _ = timeout(CLOSE_GRACE, async {
        if ws.send(Message::text(error.to_json())).await.is_ok() {
            let _ = ws.close(Some(frame)).await;
        }
    })
    .await;
    let stream = ws.get_mut();
    let _ = stream.shutdown().await;
    let _ = timeout(CLOSE_GRACE, async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut discarded = 0;
        while discarded < LINGER_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => discarded += n,
            }
        }
    })
    .await;
}
