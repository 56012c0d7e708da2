//! Running a user function on the caller's thread, where an action merges
//! the results of its partitions: a panic there becomes
//! [`JobError::CallbackPanicked`] instead of unwinding into the caller.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::JobError;
use crate::scheduler::panic_message;

/// `merge()`, with a panic turned into an error naming `operation`.
pub(crate) fn merge_on_driver<R>(
    operation: &'static str,
    merge: impl FnOnce() -> R,
) -> Result<R, JobError> {
    catch_unwind(AssertUnwindSafe(merge)).map_err(|payload| JobError::CallbackPanicked {
        operation,
        message: panic_message(payload.as_ref()),
    })
}
