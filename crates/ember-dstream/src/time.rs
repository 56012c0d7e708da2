//! [`Duration`] and [`Time`]: milliseconds, as in Spark Streaming. Batch
//! intervals, windows and slides are durations; batch times are times.
//!
//! Overflow is never silent and never wraps: the plain constructors and
//! operators saturate at `u64::MAX` milliseconds (about 584 million years,
//! which behaves as "forever"), in debug and release builds alike; the
//! `try_*` constructors and `checked_*` methods report it instead.

use std::fmt;
use std::ops::{Add, Div, Mul, Sub};

use crate::StreamingError;

/// A span of time in milliseconds (Spark's `Duration`).
///
/// ```
/// use ember_dstream::Duration;
/// let window = Duration::from_secs(30);
/// assert!(window.is_multiple_of(Duration::from_secs(10)));
/// assert_eq!(Duration::minutes(1), Duration::from_millis(60_000));
/// assert_eq!(window / Duration::from_secs(10), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(u64);

impl Duration {
    /// Zero milliseconds.
    pub const ZERO: Duration = Duration(0);

    /// `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Duration(ms)
    }

    /// `s` seconds, saturating at `u64::MAX` milliseconds (see
    /// [`try_from_secs`](Self::try_from_secs) to get an error instead).
    pub const fn from_secs(s: u64) -> Self {
        Duration(s.saturating_mul(1000))
    }

    /// `m` minutes, saturating at `u64::MAX` milliseconds (see
    /// [`try_minutes`](Self::try_minutes) to get an error instead).
    pub const fn minutes(m: u64) -> Self {
        Duration(m.saturating_mul(60_000))
    }

    /// `s` seconds, or [`StreamingError::DurationOverflow`] when that is
    /// more milliseconds than a `u64` holds.
    pub fn try_from_secs(s: u64) -> Result<Self, StreamingError> {
        s.checked_mul(1000)
            .map(Duration)
            .ok_or_else(|| StreamingError::DurationOverflow {
                what: format!("{s} seconds"),
            })
    }

    /// `m` minutes, or [`StreamingError::DurationOverflow`] when that is
    /// more milliseconds than a `u64` holds.
    pub fn try_minutes(m: u64) -> Result<Self, StreamingError> {
        m.checked_mul(60_000)
            .map(Duration)
            .ok_or_else(|| StreamingError::DurationOverflow {
                what: format!("{m} minutes"),
            })
    }

    /// The sum, or `None` on overflow (`+` saturates).
    pub const fn checked_add(self, rhs: Duration) -> Option<Duration> {
        match self.0.checked_add(rhs.0) {
            Some(ms) => Some(Duration(ms)),
            None => None,
        }
    }

    /// The difference, or `None` when `rhs` is longer (`-` saturates at zero).
    pub const fn checked_sub(self, rhs: Duration) -> Option<Duration> {
        match self.0.checked_sub(rhs.0) {
            Some(ms) => Some(Duration(ms)),
            None => None,
        }
    }

    /// `n` times this duration, or `None` on overflow (`*` saturates).
    pub const fn checked_mul(self, n: u64) -> Option<Duration> {
        match self.0.checked_mul(n) {
            Some(ms) => Some(Duration(ms)),
            None => None,
        }
    }

    /// The length in milliseconds.
    pub const fn milliseconds(self) -> u64 {
        self.0
    }

    /// Whether this is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Whether this is a whole multiple of `other` (false when `other` is zero).
    pub const fn is_multiple_of(self, other: Duration) -> bool {
        other.0 != 0 && self.0 % other.0 == 0
    }

    /// This duration as a `std::time::Duration`.
    pub const fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

/// Saturates at `u64::MAX` ms (see [`Duration::checked_add`]).
impl Add for Duration {
    type Output = Duration;
    fn add(self, rhs: Duration) -> Duration {
        Duration(self.0.saturating_add(rhs.0))
    }
}

/// Saturates at zero (see [`Duration::checked_sub`]).
impl Sub for Duration {
    type Output = Duration;
    fn sub(self, rhs: Duration) -> Duration {
        Duration(self.0.saturating_sub(rhs.0))
    }
}

/// Saturates at `u64::MAX` ms (see [`Duration::checked_mul`]).
impl Mul<u64> for Duration {
    type Output = Duration;
    fn mul(self, rhs: u64) -> Duration {
        Duration(self.0.saturating_mul(rhs))
    }
}

/// How many times `rhs` fits in `self` (0 when `rhs` is zero).
impl Div for Duration {
    type Output = u64;
    fn div(self, rhs: Duration) -> u64 {
        self.0.checked_div(rhs.0).unwrap_or(0)
    }
}

/// A point in time in milliseconds: a batch's time (Spark's `Time`).
///
/// ```
/// use ember_dstream::{Duration, Time};
/// let t = Time::from_millis(3000);
/// assert_eq!(t - Duration::from_secs(1), Time::from_millis(2000));
/// assert_eq!(t - Time::from_millis(1000), Duration::from_secs(2));
/// assert!(t.is_multiple_of(Duration::from_secs(1)));
/// ```
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Time(u64);

impl Time {
    /// `ms` milliseconds after the epoch (or after the manual clock's zero).
    pub const fn from_millis(ms: u64) -> Self {
        Time(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn milliseconds(self) -> u64 {
        self.0
    }

    /// This time plus `d`, or `None` on overflow (`+` saturates).
    pub const fn checked_add(self, d: Duration) -> Option<Time> {
        match self.0.checked_add(d.0) {
            Some(ms) => Some(Time(ms)),
            None => None,
        }
    }

    /// Whether this time is a whole multiple of `d` (false when `d` is zero).
    pub const fn is_multiple_of(self, d: Duration) -> bool {
        d.0 != 0 && self.0 % d.0 == 0
    }

    /// The largest multiple of `d` not after this time.
    pub const fn floor(self, d: Duration) -> Time {
        if d.0 == 0 {
            self
        } else {
            Time(self.0 - self.0 % d.0)
        }
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

/// Saturates at `u64::MAX` ms (see [`Time::checked_add`]).
impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, rhs: Duration) -> Time {
        Time(self.0.saturating_add(rhs.0))
    }
}

/// Saturates at zero.
impl Sub<Duration> for Time {
    type Output = Time;
    fn sub(self, rhs: Duration) -> Time {
        Time(self.0.saturating_sub(rhs.0))
    }
}

/// The time between two times, saturating at zero.
impl Sub for Time {
    type Output = Duration;
    fn sub(self, rhs: Time) -> Duration {
        Duration(self.0.saturating_sub(rhs.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        assert_eq!(
            Duration::from_millis(1) - Duration::from_millis(5),
            Duration::ZERO
        );
        assert_eq!(
            Time::from_millis(1) - Duration::from_secs(1),
            Time::from_millis(0)
        );
        assert_eq!(Duration::from_secs(3) / Duration::ZERO, 0);
        assert!(!Duration::from_secs(3).is_multiple_of(Duration::ZERO));
        assert_eq!(
            Time::from_millis(2500).floor(Duration::from_secs(1)),
            Time::from_millis(2000)
        );
        assert_eq!(Duration::from_secs(2) * 3, Duration::from_secs(6));
    }

    #[test]
    fn constructors_saturate_and_checked_forms_report_overflow() {
        let max = Duration::from_millis(u64::MAX);
        // Before: `s * 1000` panicked in debug and wrapped in release.
        assert_eq!(Duration::from_secs(u64::MAX), max);
        assert_eq!(Duration::minutes(u64::MAX / 1000), max);
        assert_eq!(Duration::from_secs(7), Duration::from_millis(7000));
        assert_eq!(
            Duration::try_from_secs(7).unwrap(),
            Duration::from_millis(7000)
        );
        assert_eq!(
            Duration::try_minutes(2).unwrap(),
            Duration::from_millis(120_000)
        );
        let err = Duration::try_from_secs(u64::MAX / 999).unwrap_err();
        assert!(
            matches!(&err, StreamingError::DurationOverflow { what } if what.contains("seconds")),
            "{err}"
        );
        assert!(matches!(
            Duration::try_minutes(u64::MAX / 59_999),
            Err(StreamingError::DurationOverflow { .. })
        ));
        assert_eq!(max.checked_add(Duration::from_millis(1)), None);
        assert_eq!(max + Duration::from_millis(1), max);
        assert_eq!(Duration::from_millis(1).checked_sub(max), None);
        assert_eq!(max.checked_mul(2), None);
        assert_eq!(
            Duration::from_millis(3).checked_mul(2),
            Some(Duration::from_millis(6))
        );
        let late = Time::from_millis(u64::MAX - 1);
        assert_eq!(late.checked_add(Duration::from_millis(2)), None);
        assert_eq!(late + Duration::from_millis(2), Time::from_millis(u64::MAX));
        assert_eq!(
            late.checked_add(Duration::from_millis(1)),
            Some(Time::from_millis(u64::MAX))
        );
    }
}
