//! `foreach_rdd` with `?` on an RDD action, an I/O call and a `String`
//! error compiles without annotating the closure's return type.
use std::io::Write;

use ember_dstream::testing::run_operation;
use ember_dstream::StreamingError;

fn main() -> Result<(), StreamingError> {
    run_operation(vec![vec![1u32, 2], vec![3]], |s| {
        s.foreach_rdd(|rdd, time| {
            let total: u32 = rdd.collect()?.iter().sum();
            write!(std::io::sink(), "{time}: {total}")?;
            if total > 100 {
                return Err(format!("total {total} too large").into());
            }
            Ok(())
        })?;
        Ok(s)
    }, 2)?;
    Ok(())
}
