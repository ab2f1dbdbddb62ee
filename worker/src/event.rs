//! What the dispatcher hears about: deliveries, consumers starting and ending, jobs ending, the broker
//! link failing. Every task the worker runs reports through one channel of these, so the dispatcher is
//! the only one to decide, and the modules that report need not know each other.

use hopper_common::{BrokerError, QueueName};
use lapin::message::Delivery;

#[derive(Debug)]
pub(crate) enum Event {
    Delivery {
        queue: QueueName,
        /// The consumer it came through.
        generation: u64,
        // Boxed: a delivery is large, and the channel holds many small events too.
        delivery: Box<Delivery>,
    },
    /// A consumer's `consume-ok` arrived; its deliveries follow this event.
    ConsumerStarted {
        queue: QueueName,
        generation: u64,
        tag: String,
    },
    ConsumerEnded {
        queue: QueueName,
        generation: u64,
        error: Option<lapin::Error>,
    },
    /// Starting or cancelling a consumer failed, or got no answer: the channel (or the connection) of
    /// attachment `attachment` is broken.
    ConsumersFailed { attachment: u64, error: BrokerError },
    /// Slots a job task no longer needs: its job ended, or the job it claimed needs fewer than were
    /// taken for the message, or it claimed nothing.
    SlotsFree { slots: u32 },
    /// The best job of `queue` needs `slots`, more than a message's claim could offer: reserve them.
    Reserve { queue: QueueName, slots: u32 },
    /// The control queue's consumer on connection `epoch` ended: cancel commands can no longer arrive.
    ControlEnded {
        epoch: u64,
        error: Option<lapin::Error>,
    },
    /// The broker did not answer the round trip that connection `epoch` is checked with: it keeps the
    /// connection open but no longer serves it.
    LinkSilent { epoch: u64, error: BrokerError },
}
