//! Clocks: the [`SystemClock`] for real runs and the [`ManualClock`] that
//! tests advance by hand, so batch generation is deterministic.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Duration, Time};

/// The time source of the job generator.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Time;
    /// Blocks until the clock reaches `target` or `max_wait` (real time)
    /// passes, whichever is first; returns whether `target` was reached.
    fn wait_until(&self, target: Time, max_wait: std::time::Duration) -> bool;
}

/// Wall-clock time in milliseconds since the Unix epoch.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Time {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Time::from_millis(ms)
    }

    fn wait_until(&self, target: Time, max_wait: std::time::Duration) -> bool {
        let now = self.now();
        if now >= target {
            return true;
        }
        let remaining = (target - now).to_std();
        std::thread::sleep(remaining.min(max_wait));
        self.now() >= target
    }
}

/// A clock that only moves when told to.
///
/// ```
/// use ember_dstream::{Clock, Duration, ManualClock, Time};
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(clock.now(), Time::from_millis(1000));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    time: Mutex<u64>,
    moved: Condvar,
}

impl ManualClock {
    /// A manual clock at time 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the time (it may not go backwards; earlier times are ignored).
    pub fn set_time(&self, time: Time) {
        let mut now = self.time.lock().unwrap_or_else(PoisonError::into_inner);
        *now = (*now).max(time.milliseconds());
        self.moved.notify_all();
    }

    /// Moves the time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let now = self.now();
        self.set_time(now + d);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Time {
        Time::from_millis(*self.time.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn wait_until(&self, target: Time, max_wait: std::time::Duration) -> bool {
        let now = self.time.lock().unwrap_or_else(PoisonError::into_inner);
        let (now, _) = self
            .moved
            .wait_timeout_while(now, max_wait, |now| *now < target.milliseconds())
            .unwrap_or_else(PoisonError::into_inner);
        *now >= target.milliseconds()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn manual_clock_wakes_waiters_and_never_goes_back() {
        let clock = Arc::new(ManualClock::new());
        let waiter = {
            let clock = Arc::clone(&clock);
            std::thread::spawn(move || {
                clock.wait_until(Time::from_millis(2000), std::time::Duration::from_secs(10))
            })
        };
        clock.advance(Duration::from_secs(1));
        clock.advance(Duration::from_secs(1));
        assert!(waiter.join().unwrap());
        clock.set_time(Time::from_millis(5));
        assert_eq!(clock.now(), Time::from_millis(2000));
        assert!(!clock.wait_until(Time::from_millis(3000), std::time::Duration::from_millis(5)));
    }

    #[test]
    fn system_clock_waits_for_a_near_target() {
        let clock = SystemClock;
        let target = clock.now() + Duration::from_millis(20);
        while !clock.wait_until(target, std::time::Duration::from_millis(5)) {}
        assert!(clock.now() >= target);
    }
}
