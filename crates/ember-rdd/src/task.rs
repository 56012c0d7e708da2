//! [`TaskContext`]: what a running task knows about itself.

/// Identifies one attempt of one task: the stage, the partition it computes
/// and the attempt number (1 for the first try).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskContext {
    /// The stage the task belongs to.
    pub stage: usize,
    /// The partition the task computes.
    pub partition: usize,
    /// 1 for the first attempt, 2 for the first retry, and so on.
    pub attempt: u32,
}

impl TaskContext {
    /// A task context, e.g. to compute a partition outside a job in a test.
    pub fn new(stage: usize, partition: usize, attempt: u32) -> Self {
        TaskContext {
            stage,
            partition,
            attempt,
        }
    }
}
