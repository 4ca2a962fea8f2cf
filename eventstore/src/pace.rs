//! How a follower of the log (a publisher, a consumer, an async projection runner) paces its
//! reads after a local commit wakes it.
//!
//! Every follower reads the log after each wake-up, and on SQLite every read is a hop to a
//! database thread; under a burst of commits (hundreds of sign-ins a second) the followers'
//! reads and their checkpoint transactions outnumbered the requests' own statements, and
//! took CPU from the password hashing that bounds sign-in. So a follower waits a short
//! moment after a commit (commits close together are read as one batch), and while commits
//! keep coming (its reads keep finding events) it reads at most once per `min_interval`: an
//! idle log is followed within `coalesce`, a busy one within `min_interval` (plus the time to
//! handle what it read). A read that found nothing (a poll) does not count: it must not
//! hold back the first commit after a quiet spell.

use std::time::Duration;

use tokio::time::Instant;

/// The pace of one follower. Call [`ReadPace::found_events`] after a read that found events,
/// and await [`ReadPace::after_commit`] when a commit wakes the follower.
#[derive(Debug, Clone)]
pub struct ReadPace {
    coalesce: Duration,
    min_interval: Duration,
    last_read: Option<Instant>,
}

impl ReadPace {
    /// Followers of the log in this process (async projections, mail, webhooks): 20 ms
    /// after a commit, at most 4 reads a second while commits keep coming. Under sign-in
    /// load on SQLite, 100 ms left the password hashing threads about 2 % less of the
    /// machine than 250 ms (measured from thread CPU times); slower than 250 ms gained
    /// nothing more.
    pub const COALESCE: Duration = Duration::from_millis(20);
    pub const MIN_INTERVAL: Duration = Duration::from_millis(250);
    /// Followers that other instances wait on (the NATS publisher, which carries
    /// revocations to them): at most 10 reads a second.
    pub const PROMPT_MIN_INTERVAL: Duration = Duration::from_millis(100);

    /// The pace of a follower other instances wait on.
    pub fn prompt() -> Self {
        Self::new(Self::COALESCE, Self::PROMPT_MIN_INTERVAL)
    }

    pub fn new(coalesce: Duration, min_interval: Duration) -> Self {
        Self {
            coalesce,
            min_interval,
            last_read: None,
        }
    }

    /// Notes that a read of the log just found events: the log is busy.
    pub fn found_events(&mut self) {
        self.last_read = Some(Instant::now());
    }

    /// When a follower woken by a commit at `now` may read: `coalesce` later, and not
    /// before `min_interval` after its previous read that found events.
    pub fn next_read(&self, now: Instant) -> Instant {
        let coalesced = now + self.coalesce;
        match self.last_read {
            Some(last) => coalesced.max(last + self.min_interval),
            None => coalesced,
        }
    }

    /// Waits until the follower, just woken by a commit, may read.
    pub async fn after_commit(&self) {
        tokio::time::sleep_until(self.next_read(Instant::now())).await;
    }
}

impl Default for ReadPace {
    fn default() -> Self {
        Self::new(Self::COALESCE, Self::MIN_INTERVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_idle_follower_reads_after_the_coalescing_delay() {
        let pace = ReadPace::default();
        let now = Instant::now();
        assert_eq!(pace.next_read(now), now + ReadPace::COALESCE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_follower_reads_at_most_once_per_interval() {
        let mut pace = ReadPace::default();
        pace.found_events();
        let read_at = Instant::now();
        tokio::time::advance(Duration::from_millis(5)).await;
        assert_eq!(
            pace.next_read(Instant::now()),
            read_at + ReadPace::MIN_INTERVAL
        );
        // Long after the previous read, only the coalescing delay is left.
        tokio::time::advance(Duration::from_millis(500)).await;
        let now = Instant::now();
        assert_eq!(pace.next_read(now), now + ReadPace::COALESCE);
    }

    #[tokio::test(start_paused = true)]
    async fn after_commit_sleeps_until_the_next_read() {
        let mut pace = ReadPace::new(Duration::from_millis(10), Duration::from_millis(50));
        pace.found_events();
        let started = Instant::now();
        pace.after_commit().await;
        assert_eq!(started.elapsed(), Duration::from_millis(50));
    }
}
