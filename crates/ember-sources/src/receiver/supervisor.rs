//! The supervisor: a thread per receiver (`ember-receiver-<stream id>`)
//! that runs the receiver's `on_start` on a thread of its own
//! (`ember-receiver-<stream id>-start`), calls `on_stop` as soon as a stop,
//! restart or shutdown is requested (while `on_start` may still be
//! blocked, as Spark does), restarts it after errors with a delay, reports
//! start, error and stop to the listeners, and stops it when the context
//! stops. Stopping waits a bounded time for the supervisor
//! (`ember.receiver.stopTimeout`), then logs and detaches it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration as StdDuration, Instant};

use ember_dstream::ReceiverInfo;

use super::{Receiver, ReceiverContext, Shared};
use crate::error::SourceError;

/// What a receiver (or the context) asked the supervisor for.
#[derive(Debug, Clone)]
pub(crate) enum Request {
    /// Stop, then start again after a delay.
    Restart {
        message: String,
        error: Option<String>,
        delay: Option<ember_dstream::Duration>,
    },
    /// Stop the receiver for good.
    Stop { message: String },
    /// The context stops.
    Shutdown,
}

/// The request slot the supervisor waits on.
#[derive(Debug, Default)]
pub(crate) struct Control {
    request: Mutex<Option<Request>>,
    changed: Condvar,
    stopping: AtomicBool,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, Option<Request>> {
        self.request.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Set while a stop, restart or shutdown is pending.
    pub(crate) fn stopping(&self) -> &AtomicBool {
        &self.stopping
    }

    /// Records a request: a stop overrides a restart, a shutdown overrides
    /// both; otherwise the first request wins.
    pub(crate) fn request(&self, request: Request) {
        let mut slot = self.lock();
        let replace = matches!(
            (&*slot, &request),
            (None, _)
                | (
                    Some(Request::Restart { .. }),
                    Request::Stop { .. } | Request::Shutdown
                )
                | (Some(Request::Stop { .. }), Request::Shutdown)
        );
        if replace {
            *slot = Some(request);
        }
        self.stopping.store(true, Ordering::Relaxed);
        self.changed.notify_all();
    }

    /// Clears a restart request before starting again; false when the
    /// receiver must not start (stopped or shut down).
    fn begin(&self) -> bool {
        let mut slot = self.lock();
        if matches!(*slot, Some(Request::Stop { .. } | Request::Shutdown)) {
            return false;
        }
        *slot = None;
        self.stopping.store(false, Ordering::Relaxed);
        true
    }

    /// Waits for a request.
    fn wait(&self) -> Request {
        let mut slot = self.lock();
        loop {
            if let Some(request) = &*slot {
                return request.clone();
            }
            slot = self
                .changed
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Sleeps for `delay` unless a stop or shutdown comes first (true then).
    fn sleep(&self, delay: StdDuration) -> bool {
        let deadline = Instant::now() + delay;
        let mut slot = self.lock();
        loop {
            if matches!(*slot, Some(Request::Stop { .. } | Request::Shutdown)) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            slot = self
                .changed
                .wait_timeout(slot, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

fn info<T>(shared: &Shared<T>, active: bool, last_error: Option<String>) -> ReceiverInfo {
    ReceiverInfo {
        stream_id: shared.stream_id,
        name: shared.name.clone(),
        active,
        last_error,
    }
}

/// Posts `on_receiver_error`.
pub(crate) fn post_error<T>(shared: &Shared<T>, last_error: String, active: bool) {
    let info = info(shared, active, Some(last_error));
    shared.listeners.post(|l| l.on_receiver_error(&info));
}

/// The supervisor thread of one receiver.
pub(crate) struct Supervisor {
    thread: Option<JoinHandle<()>>,
    done: crossbeam_channel::Receiver<()>,
}

impl Supervisor {
    pub(crate) fn spawn<T: Send + 'static>(
        receiver: Box<dyn Receiver<T>>,
        shared: Arc<Shared<T>>,
        restart_delay: StdDuration,
    ) -> Result<Self, SourceError> {
        let name = format!("ember-receiver-{}", shared.stream_id);
        let (finished, done) = crossbeam_channel::bounded(1);
        let thread = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                supervise(Arc::from(receiver), &shared, restart_delay);
                // Fails only if the stop stopped waiting: no one to tell.
                let _ = finished.send(());
            })
            .map_err(|source| SourceError::Thread { name, source })?;
        Ok(Supervisor {
            thread: Some(thread),
            done,
        })
    }

    /// Waits up to `timeout` for the supervisor thread to end; after that
    /// logs and detaches it (a receiver whose `on_start` or `on_stop` does
    /// not return). True when it ended.
    pub(crate) fn join(&mut self, stream_id: usize, timeout: StdDuration) -> bool {
        let Some(thread) = self.thread.take() else {
            return true;
        };
        match self.done.recv_timeout(timeout) {
            Ok(()) | Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                if thread.join().is_err() {
                    tracing::error!(stream_id, "receiver supervisor thread panicked");
                }
                true
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                tracing::error!(
                    stream_id,
                    ?timeout,
                    "receiver did not stop in time (on_start or on_stop does not return): \
                     its thread is left behind, and what it stores from now on is refused"
                );
                false
            }
        }
    }
}

/// Runs `on_start` on a thread of its own, with a context of its own
/// (flushed when it returns, by the context's drop); a panic counts as a
/// restart request.
fn spawn_on_start<T: Send + 'static>(
    receiver: &Arc<dyn Receiver<T>>,
    shared: &Arc<Shared<T>>,
) -> Option<JoinHandle<()>> {
    let name = format!("ember-receiver-{}-start", shared.stream_id);
    let (receiver, for_thread) = (Arc::clone(receiver), Arc::clone(shared));
    let spawned = std::thread::Builder::new().name(name).spawn(move || {
        let ctx = ReceiverContext::new(for_thread);
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| receiver.on_start(&ctx))) {
            let message = panic_message(panic.as_ref());
            ctx.restart(format!("receiver panicked: {message}"), None, None);
        }
    });
    match spawned {
        Ok(thread) => Some(thread),
        Err(e) => {
            shared.request(Request::Restart {
                message: "cannot start the receiver's thread".to_owned(),
                error: Some(e.to_string()),
                delay: None,
            });
            None
        }
    }
}

fn supervise<T: Send + 'static>(
    receiver: Arc<dyn Receiver<T>>,
    shared: &Arc<Shared<T>>,
    default_delay: StdDuration,
) {
    let mut last_error = None;
    while shared.control.begin() {
        tracing::info!(stream_id = shared.stream_id, name = %shared.name, "receiver started");
        let started = info(shared, true, None);
        shared.listeners.post(|l| l.on_receiver_started(&started));
        let on_start = spawn_on_start(&receiver, shared);
        let request = shared.control.wait();
        // Concurrently with a still running on_start: it must end it.
        if catch_unwind(AssertUnwindSafe(|| receiver.on_stop())).is_err() {
            tracing::error!(stream_id = shared.stream_id, "receiver on_stop panicked");
        }
        if let Some(thread) = on_start
            && thread.join().is_err()
        {
            tracing::error!(stream_id = shared.stream_id, "receiver thread panicked");
        }
        match request {
            Request::Restart {
                message,
                error,
                delay,
            } => {
                let text = match error {
                    Some(e) => format!("{message}: {e}"),
                    None => message,
                };
                shared.counters.restarts.fetch_add(1, Ordering::Relaxed);
                post_error(shared, text.clone(), false);
                last_error = Some(text);
                let delay = delay.map_or(default_delay, |d| d.to_std());
                tracing::info!(stream_id = shared.stream_id, ?delay, "restarting receiver");
                if shared.control.sleep(delay) {
                    break;
                }
            }
            Request::Stop { message } => {
                last_error = Some(message);
                break;
            }
            Request::Shutdown => break,
        }
    }
    tracing::info!(stream_id = shared.stream_id, name = %shared.name, "receiver stopped");
    let stopped = info(shared, false, last_error);
    shared.listeners.post(|l| l.on_receiver_stopped(&stopped));
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panicked with a non-string payload".to_owned()
    }
}
