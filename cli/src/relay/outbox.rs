//! One client's bounded outgoing queue, between the hub that fills it and
//! the connection task that writes it to the socket.
//!
//! The queue holds at most [`QUEUE_MESSAGES`] messages and
//! [`QUEUE_BYTES`] bytes: a client that does not read is disconnected when
//! either is reached, so it never makes the relay hold unbounded memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use super::protocol::{QUEUE_BYTES, QUEUE_MESSAGES};

/// What the connection task is asked to do.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// Send this message.
    Message(Message),
    /// Send what was queued before, then close the connection.
    Close,
}

/// The queue is full: the client does not read fast enough.
#[derive(Debug)]
pub(crate) struct Overflow;

/// The hub's end of a client's queue.
#[derive(Debug)]
pub(crate) struct Outbox {
    tx: mpsc::Sender<Outgoing>,
    queued: Arc<AtomicUsize>,
    kill: Option<oneshot::Sender<()>>,
}

/// The connection task's end of a client's queue.
#[derive(Debug)]
pub(crate) struct Inbox {
    rx: mpsc::Receiver<Outgoing>,
    queued: Arc<AtomicUsize>,
}

/// Fires when the hub drops the client at once.
pub(crate) type Kill = oneshot::Receiver<()>;

/// A new queue: the hub's end, the connection task's end, and the signal
/// that tells the connection task to drop the connection at once.
pub(crate) fn queue() -> (Outbox, Inbox, Kill) {
    let (tx, rx) = mpsc::channel(QUEUE_MESSAGES);
    let (kill_tx, kill_rx) = oneshot::channel();
    let queued = Arc::new(AtomicUsize::new(0));
    (
        Outbox {
            tx,
            queued: Arc::clone(&queued),
            kill: Some(kill_tx),
        },
        Inbox { rx, queued },
        kill_rx,
    )
}

impl Outbox {
    /// Queues `message`, or says the queue is full.
    pub(crate) fn push(&self, message: Message) -> Result<(), Overflow> {
        let len = message.len();
        let before = self.queued.fetch_add(len, Ordering::Relaxed);
        if before.saturating_add(len) > QUEUE_BYTES {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            return Err(Overflow);
        }
        self.tx.try_send(Outgoing::Message(message)).map_err(|_| {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            Overflow
        })
    }

    /// Asks the connection task to close after what is queued; drops the
    /// client at once if even that does not fit.
    pub(crate) fn close(&mut self) {
        if self.tx.try_send(Outgoing::Close).is_err() {
            self.kill();
        }
    }

    /// Drops the connection at once, whatever is queued.
    pub(crate) fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            // The task may be gone already; nothing to do then.
            let _ = kill.send(());
        }
    }
}

impl Inbox {
    /// The next thing to do; `None` once the hub forgot the client.
    pub(crate) async fn recv(&mut self) -> Option<Outgoing> {
        self.rx.recv().await
    }

    /// Records that a message of `len` bytes left the queue.
    pub(crate) fn sent(&self, len: usize) {
        self.queued.fetch_sub(len, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    #[test]
    fn bounded_by_count_and_bytes() {
        let (outbox, mut inbox, _kill) = queue();
        for _ in 0..QUEUE_MESSAGES {
            outbox.push(Message::text("x")).unwrap();
        }
        assert!(outbox.push(Message::text("x")).is_err());
        let Ok(Outgoing::Message(m)) = inbox.rx.try_recv() else {
            panic!("nothing queued");
        };
        inbox.sent(m.len());
        outbox.push(Message::text("x")).unwrap();

        let (outbox, _inbox, _kill) = queue();
        let big = vec![0u8; QUEUE_BYTES / 4];
        for _ in 0..4 {
            outbox.push(Message::binary(big.clone())).unwrap();
        }
        assert!(outbox.push(Message::binary(vec![0u8])).is_err());
    }
}
