//! Shutdown is passed in: binaries turn signals into a [`Shutdown`] and hand it to `run`; libraries
//! never listen for signals themselves, so tests can shut them down at will.

use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Signals that arrive within this long of the first one count as the same request to stop. One
/// Ctrl-C often arrives twice: the terminal sends SIGINT to every process of its foreground group, and
/// a wrapper in that group (`scripts/run-local`, a supervisor) passes its own SIGTERM on a moment
/// later. Counting that as a second signal would kill the running jobs the first one meant to drain.
pub const SAME_REQUEST: Duration = Duration::from_secs(1);

/// A stop in two stages, passed into `run` functions: `begin` asks for a graceful stop (finish what is
/// in hand, within a bound), `now` cuts it short. Binaries cancel them on the first and the second
/// SIGTERM or SIGINT ([`Shutdown::on_signals`]); tests cancel them at will.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    pub begin: CancellationToken,
    pub now: CancellationToken,
}

impl Shutdown {
    /// Starts listening for SIGINT and SIGTERM, counting them together: the first begins the
    /// shutdown, a second one at least [`SAME_REQUEST`] later ends it at once. `docker compose stop`
    /// sends SIGTERM and a person at a terminal presses Ctrl-C, and either may come second.
    ///
    /// Call it inside the Tokio runtime, early in `main`: from then on these signals no longer end the
    /// process by themselves, so one arriving during start-up is kept and seen by whoever awaits
    /// `begin`.
    pub fn on_signals() -> Self {
        let shutdown = Self::default();
        let mut interrupt = listen(SignalKind::interrupt(), "SIGINT");
        let mut terminate = listen(SignalKind::terminate(), "SIGTERM");
        let (begin, now) = (shutdown.begin.clone(), shutdown.now.clone());
        tokio::spawn(async move {
            let mut count = SignalCount::default();
            loop {
                let name = tokio::select! {
                    () = received(&mut interrupt) => "SIGINT",
                    () = received(&mut terminate) => "SIGTERM",
                };
                match count.add(Instant::now()) {
                    Step::Begin => {
                        tracing::info!(
                            "{name} received, shutting down; a second signal stops at once"
                        );
                        begin.cancel();
                    }
                    Step::Same(after) => tracing::info!(
                        "{name} received {after:?} after the first signal: taken as the same request \
                         (send another to stop at once)"
                    ),
                    Step::Now => {
                        tracing::warn!("{name} received again, stopping now");
                        now.cancel();
                        return;
                    }
                }
            }
        });
        shutdown
    }

    /// Stops at once: both stages.
    pub fn stop_now(&self) {
        self.begin.cancel();
        self.now.cancel();
    }
}

/// What a signal means, given those before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The first: begin the shutdown.
    Begin,
    /// Within [`SAME_REQUEST`] of the first (this long after it): the same request again.
    Same(Duration),
    /// A separate, later one: stop now.
    Now,
}

/// Counts stop signals, folding those that arrive together into one.
#[derive(Debug, Default)]
struct SignalCount {
    first: Option<Instant>,
}

impl SignalCount {
    fn add(&mut self, at: Instant) -> Step {
        let Some(first) = self.first else {
            self.first = Some(at);
            return Step::Begin;
        };
        let after = at.saturating_duration_since(first);
        if after < SAME_REQUEST {
            Step::Same(after)
        } else {
            Step::Now
        }
    }
}

fn listen(kind: SignalKind, name: &str) -> Option<Signal> {
    signal(kind)
        .inspect_err(|error| tracing::error!(%error, "cannot listen for {name}"))
        .ok()
}

/// Completes on the next delivery of `signal`; never, if it could not be listened for.
async fn received(signal: &mut Option<Signal>) {
    if let Some(signal) = signal
        && signal.recv().await.is_some()
    {
        return;
    }
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_that_arrive_together_are_one_request_and_a_later_one_stops_now() {
        let mut count = SignalCount::default();
        let at = Instant::now();
        assert_eq!(count.add(at), Step::Begin);
        // A terminal's SIGINT, then the wrapper's SIGTERM a few milliseconds later.
        let echo = Duration::from_millis(15);
        assert_eq!(count.add(at + echo), Step::Same(echo));
        assert!(matches!(
            count.add(at + SAME_REQUEST - Duration::from_millis(1)),
            Step::Same(_)
        ));
        // A person pressing Ctrl-C again.
        assert_eq!(count.add(at + SAME_REQUEST), Step::Now);
    }
}
