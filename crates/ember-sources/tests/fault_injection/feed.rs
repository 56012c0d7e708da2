//! A reliable source in the test's hands and its receiver: the test
//! releases numbered records; the receiver stores them in blocks of up to
//! eight with `store_block` and acknowledges a block (moves `acked` past
//! it) only once `store_block` returned `Ok` — the block is then in the
//! write-ahead log. A receiver started again (after a stop, a crash or a
//! restart request) resumes at the first unacknowledged record, as a
//! reliable source resends what was not acknowledged.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration as StdDuration;

use ember_sources::receiver::{Receiver, ReceiverContext};

#[derive(Debug, Default)]
struct Counts {
    /// Records `base..released` may be sent.
    released: u64,
    /// Records before this were stored and acknowledged.
    acked: u64,
}

/// The source: what the test released and what the receiver acknowledged.
#[derive(Debug, Default)]
pub(crate) struct Feed {
    counts: Mutex<Counts>,
    changed: Condvar,
}

impl Feed {
    /// A source whose numbers start at `base`.
    pub(crate) fn starting_at(base: u64) -> Arc<Feed> {
        Arc::new(Feed {
            counts: Mutex::new(Counts {
                released: base,
                acked: base,
            }),
            changed: Condvar::new(),
        })
    }

    /// Releases the next `n` numbers; returns them.
    pub(crate) fn release(&self, n: u64) -> std::ops::Range<u64> {
        let mut counts = self.counts.lock().unwrap();
        let from = counts.released;
        counts.released += n;
        self.changed.notify_all();
        from..counts.released
    }

    /// Waits until every released record is acknowledged; false after
    /// `timeout`.
    pub(crate) fn wait_acked(&self, timeout: StdDuration) -> bool {
        let counts = self.counts.lock().unwrap();
        let (counts, _) = self
            .changed
            .wait_timeout_while(counts, timeout, |c| c.acked < c.released)
            .unwrap();
        counts.acked == counts.released
    }

    /// The released records not acknowledged yet.
    pub(crate) fn unacked(&self) -> std::ops::Range<u64> {
        let counts = self.counts.lock().unwrap();
        counts.acked..counts.released
    }

    /// The next records to send (at most 8), waiting up to 10 ms for some.
    fn next_block(&self) -> Option<std::ops::Range<u64>> {
        let counts = self.counts.lock().unwrap();
        let (counts, _) = self
            .changed
            .wait_timeout_while(counts, StdDuration::from_millis(10), |c| {
                c.acked >= c.released
            })
            .unwrap();
        (counts.acked < counts.released)
            .then(|| counts.acked..counts.released.min(counts.acked + 8))
    }

    fn ack(&self, until: u64) {
        let mut counts = self.counts.lock().unwrap();
        counts.acked = counts.acked.max(until);
        self.changed.notify_all();
    }
}

/// The receiver of a [`Feed`].
pub(crate) struct FeedReceiver(pub(crate) Arc<Feed>);

impl Receiver<u64> for FeedReceiver {
    fn name(&self) -> String {
        "feed".to_owned()
    }

    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        while !ctx.is_stopped() {
            let Some(block) = self.0.next_block() else {
                continue;
            };
            let end = block.end;
            match ctx.store_block(block.collect()) {
                Ok(()) => self.0.ack(end),
                Err(e) => {
                    // Not acknowledged: the source sends it again.
                    if !ctx.is_stopped() {
                        ctx.restart("storing a block failed", Some(&e), None);
                    }
                    return;
                }
            }
        }
    }
}
