//! Configuration of an [`RddContext`](crate::RddContext): the master URL and
//! task retry policy, with Spark's defaults.

use crate::JobError;

/// Settings for an [`RddContext`](crate::RddContext).
///
/// ```
/// use ember_rdd::{RddConf, RddContext};
/// let ctx = RddContext::new(RddConf::new().master("local[2]").max_task_failures(2))?;
/// assert_eq!(ctx.default_parallelism(), 2);
/// # Ok::<(), ember_rdd::JobError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RddConf {
    master: String,
    max_task_failures: u32,
}

impl Default for RddConf {
    fn default() -> Self {
        RddConf {
            master: "local[*]".to_owned(),
            max_task_failures: 4,
        }
    }
}

impl RddConf {
    /// Defaults: master `local[*]`, 4 attempts per task (`spark.task.maxFailures`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the master: `local` (one thread), `local[n]` or `local[*]` (all cores).
    pub fn master(mut self, master: impl Into<String>) -> Self {
        self.master = master.into();
        self
    }

    /// How many times a task is attempted before its job fails (at least 1).
    pub fn max_task_failures(mut self, attempts: u32) -> Self {
        self.max_task_failures = attempts.max(1);
        self
    }

    /// The master string as given.
    pub fn master_str(&self) -> &str {
        &self.master
    }

    /// The number of attempts per task.
    pub fn task_attempts(&self) -> u32 {
        self.max_task_failures
    }

    /// The number of worker threads the master asks for.
    pub fn threads(&self) -> Result<usize, JobError> {
        parse_master(&self.master)
    }
}

/// Parses a master URL into a thread count: `local` is 1, `local[n]` is n,
/// `local[*]` is the number of cores.
///
/// ```
/// assert_eq!(ember_rdd::parse_master("local[3]")?, 3);
/// assert!(ember_rdd::parse_master("yarn").is_err());
/// # Ok::<(), ember_rdd::JobError>(())
/// ```
pub fn parse_master(master: &str) -> Result<usize, JobError> {
    let invalid = || JobError::InvalidMaster {
        master: master.to_owned(),
    };
    let trimmed = master.trim();
    if trimmed == "local" {
        return Ok(1);
    }
    let inner = trimmed
        .strip_prefix("local[")
        .and_then(|rest| rest.strip_suffix(']'))
        .ok_or_else(invalid)?;
    if inner == "*" {
        return Ok(std::thread::available_parallelism().map_or(1, |n| n.get()));
    }
    match inner.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masters_parse_like_spark() {
        assert_eq!(parse_master("local").unwrap(), 1);
        assert_eq!(parse_master("local[4]").unwrap(), 4);
        assert!(parse_master("local[*]").unwrap() >= 1);
        for bad in ["local[0]", "local[x]", "spark://h:7077", "local[", ""] {
            assert!(
                matches!(parse_master(bad), Err(JobError::InvalidMaster { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn task_attempts_are_at_least_one() {
        assert_eq!(RddConf::new().max_task_failures(0).task_attempts(), 1);
        assert_eq!(RddConf::new().task_attempts(), 4);
    }
}
