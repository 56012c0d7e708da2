//! Configuration of an [`RddContext`](crate::RddContext): the master URL,
//! the task retry policy and the default partition count, with Spark's
//! defaults.

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
    default_parallelism: Option<usize>,
}

impl Default for RddConf {
    fn default() -> Self {
        RddConf {
            master: "local[*]".to_owned(),
            max_task_failures: 4,
            default_parallelism: None,
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

    /// The default partition count (`spark.default.parallelism`): of
    /// `parallelize` without a count, the queue stream's batches and every
    /// shuffle without one (`reduce_by_key`, …). Unset (the default), it is
    /// the worker thread count of the master (times the processes, in a
    /// cluster), as in Spark's local mode. Spark's tuning guide advises 2–3
    /// tasks per core, so that a slow or late thread does not hold back a
    /// whole stage. At least 1.
    ///
    /// ```
    /// use ember_rdd::{RddConf, RddContext};
    /// let ctx = RddContext::new(RddConf::new().master("local[2]").default_parallelism(6))?;
    /// assert_eq!(ctx.default_parallelism(), 6);
    /// assert_eq!(ctx.threads(), 2);
    /// # Ok::<(), ember_rdd::JobError>(())
    /// ```
    pub fn default_parallelism(mut self, partitions: usize) -> Self {
        self.default_parallelism = Some(partitions.max(1));
        self
    }

    /// The default partition count set, if any.
    pub fn default_parallelism_setting(&self) -> Option<usize> {
        self.default_parallelism
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

    #[test]
    fn default_parallelism_is_unset_unless_given_and_at_least_one() {
        assert_eq!(RddConf::new().default_parallelism_setting(), None);
        let conf = RddConf::new().default_parallelism(0);
        assert_eq!(conf.default_parallelism_setting(), Some(1));
    }
}
