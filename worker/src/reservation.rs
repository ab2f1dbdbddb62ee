use std::time::Duration;

use hopper_common::QueueName;
use tokio::time::Instant;

/// How long the queue of a reserved job is consumed alone, once its slots are free. If the job is not
/// delivered by then (another worker took it), every queue is consumed again.
const WINDOW: Duration = Duration::from_secs(1);

/// Slots held for a job that did not fit, so that a job needing many slots is not starved by a stream
/// of narrower jobs refilling every slot that frees up (as SGE's reservations do).
///
/// While fewer slots than it needs are free, the worker takes nothing new; once they are free, it
/// consumes only the job's queue for a short window, so the job (at the head of its queue again) gets
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reservation {
    queue: QueueName,
    slots: u32,
    window_ends: Option<Instant>,
}

impl Reservation {
    pub(crate) fn new(queue: QueueName, slots: u32) -> Self {
        Self {
            queue,
            slots,
            window_ends: None,
        }
    }

    /// How many slots it holds.
    pub(crate) fn slots(&self) -> u32 {
        self.slots
    }

    /// Whether a delivery from `queue` may be taken with `free` slots: only from the reserved queue,
    /// and only once the reserved slots are free.
    pub(crate) fn admits(&self, queue: &QueueName, free: u32) -> bool {
        *queue == self.queue && free >= self.slots
    }

    /// The prefetch of `queue`'s consumer with `free` slots; opens the window when the slots become
    /// free.
    pub(crate) fn prefetch(&mut self, queue: &QueueName, free: u32) -> u32 {
        if free < self.slots {
            return 0;
        }
        self.window_ends
            .get_or_insert_with(|| Instant::now() + WINDOW);
        if *queue == self.queue { free } else { 0 }
    }

    /// When the window closes, if it is open.
    pub(crate) fn window_ends(&self) -> Option<Instant> {
        self.window_ends
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing is consumed until the slots are free; then only the reserved queue.
    #[test]
    fn holds_everything_then_only_the_reserved_queue() {
        let (wide, other) = (
            QueueName::parse("wide").expect("name"),
            QueueName::parse("other").expect("name"),
        );
        let mut reservation = Reservation::new(wide.clone(), 4);
        assert_eq!(reservation.prefetch(&other, 3), 0);
        assert_eq!(reservation.prefetch(&wide, 3), 0);
        assert!(reservation.window_ends().is_none());
        assert!(!reservation.admits(&wide, 3));
        assert_eq!(reservation.prefetch(&wide, 4), 4);
        assert_eq!(reservation.prefetch(&other, 4), 0);
        assert!(reservation.window_ends().is_some());
        assert!(reservation.admits(&wide, 4));
        assert!(!reservation.admits(&other, 4));
    }
}
