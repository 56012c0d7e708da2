//! The panics timely's network layer raises on a broken connection,
//! expected when a peer dies: this crate turns them into
//! [`ExchangeError::PeerLost`](ember_rdd::ExchangeError::PeerLost), so the
//! panic hook stays quiet about them. Only those panics, on timely's
//! network threads and this crate's own threads, are silenced; every other
//! panic reaches the hook installed before.

use std::panic::{self, PanicHookInfo};
use std::sync::Once;

/// The name timely gives the thread that runs this process's worker.
const WORKER_THREAD: &str = "timely:work-0";

/// The name of the thread that joins timely's network threads after a loss.
pub(crate) const TEARDOWN_THREAD: &str = "ember-cluster-teardown";

/// Installs the filter once per process, in front of the current hook.
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if is_expected(info) {
                tracing::debug!(message = %message(info), "timely network failure (peer lost)");
            } else {
                previous(info);
            }
        }));
    });
}

/// Whether `info` is a network failure timely reports by panicking.
fn is_expected(info: &PanicHookInfo<'_>) -> bool {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("");
    let text = message(info);
    let timely_net = name.starts_with("timely:recv-") || name.starts_with("timely:send-");
    let ours = name == WORKER_THREAD || name == TEARDOWN_THREAD;
    (timely_net
        && (text.starts_with("timely communication error")
            || text.starts_with("MergeQueue poisoned")))
        || (ours
            && (text.starts_with("MergeQueue poisoned")
                || text.starts_with("timely communication error")
                || text.starts_with("Send thread panic")
                || text.starts_with("Recv thread panic")))
}

/// A panic's message, when it is text.
pub(crate) fn message(info: &PanicHookInfo<'_>) -> String {
    payload_text(info.payload())
}

/// The text of a panic payload (`&str` or `String`), else a placeholder.
pub(crate) fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
