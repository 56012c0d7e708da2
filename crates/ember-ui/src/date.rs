//! Spark's REST date format: `yyyy-MM-dd'T'HH:mm:ss.SSS'GMT'` (UTC), the form
//! Spark's `JacksonMessageWriter` gives every `Date` of the API.

use serde::{Serialize, Serializer};

/// An instant in Unix milliseconds that serializes as Spark's API dates do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SparkDate(pub u64);

impl Serialize for SparkDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_spark_date(self.0))
    }
}

/// Formats Unix milliseconds as `2026-12-06T04:03:25.123GMT`.
pub fn format_spark_date(ms: u64) -> String {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}GMT",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::format_spark_date;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_spark_date(0), "1970-01-01T00:00:00.000GMT");
        assert_eq!(
            format_spark_date(951_782_400_000),
            "2000-02-29T00:00:00.000GMT"
        );
        assert_eq!(
            format_spark_date(1_431_560_361_234),
            "2015-05-13T23:39:21.234GMT"
        );
        assert_eq!(
            format_spark_date(1_796_529_805_999),
            "2026-12-06T04:03:25.999GMT"
        );
    }
}
