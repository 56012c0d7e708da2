//! The [`ListenerBus`]: delivers a context's events to its listeners
//! asynchronously, as Spark's `LiveListenerBus`. Events go to a bounded
//! queue drained in order by one `ember-listener-bus` thread; a full queue
//! drops (and counts) new events, so a slow listener never stalls batches;
//! a panicking callback is caught and reported to the context.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread::{JoinHandle, ThreadId};
use std::time::Instant;

use crate::listener::{
    BatchInfo, InputErrorInfo, OutputOperationInfo, ReceiverInfo, StreamingListener,
};
use crate::{StreamingError, Time};

/// Spark's default `spark.scheduler.listenerbus.eventqueue.capacity`.
pub(crate) const DEFAULT_EVENT_QUEUE_CAPACITY: usize = 10_000;

/// What the bus does with a listener's panic (the context stops).
pub(crate) type FailureHook = Arc<dyn Fn(StreamingError) + Send + Sync>;

/// One event, owned so that it can wait in the queue.
enum Event {
    StreamingStarted(Time),
    BatchSubmitted(BatchInfo),
    BatchStarted(BatchInfo),
    BatchCompleted(BatchInfo),
    OutputOperationStarted(OutputOperationInfo),
    OutputOperationCompleted(OutputOperationInfo),
    ReceiverStarted(ReceiverInfo),
    ReceiverError(ReceiverInfo),
    ReceiverStopped(ReceiverInfo),
    InputError(InputErrorInfo),
}

impl Event {
    /// The name of the callback it calls.
    fn callback(&self) -> &'static str {
        match self {
            Event::StreamingStarted(_) => "on_streaming_started",
            Event::BatchSubmitted(_) => "on_batch_submitted",
            Event::BatchStarted(_) => "on_batch_started",
            Event::BatchCompleted(_) => "on_batch_completed",
            Event::OutputOperationStarted(_) => "on_output_operation_started",
            Event::OutputOperationCompleted(_) => "on_output_operation_completed",
            Event::ReceiverStarted(_) => "on_receiver_started",
            Event::ReceiverError(_) => "on_receiver_error",
            Event::ReceiverStopped(_) => "on_receiver_stopped",
            Event::InputError(_) => "on_input_error",
        }
    }

    fn deliver(&self, listener: &dyn StreamingListener) {
        match self {
            Event::StreamingStarted(t) => listener.on_streaming_started(*t),
            Event::BatchSubmitted(b) => listener.on_batch_submitted(b),
            Event::BatchStarted(b) => listener.on_batch_started(b),
            Event::BatchCompleted(b) => listener.on_batch_completed(b),
            Event::OutputOperationStarted(o) => listener.on_output_operation_started(o),
            Event::OutputOperationCompleted(o) => listener.on_output_operation_completed(o),
            Event::ReceiverStarted(r) => listener.on_receiver_started(r),
            Event::ReceiverError(r) => listener.on_receiver_error(r),
            Event::ReceiverStopped(r) => listener.on_receiver_stopped(r),
            Event::InputError(e) => listener.on_input_error(e),
        }
    }
}

/// A listener that records the calls a `post` closure makes as owned
/// events, so `post` keeps its borrowing signature and still queues.
#[derive(Default)]
struct Capture(Mutex<Vec<Event>>);

impl Capture {
    fn push(&self, event: Event) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }
}

impl StreamingListener for Capture {
    fn on_streaming_started(&self, time: Time) {
        self.push(Event::StreamingStarted(time));
    }
    fn on_batch_submitted(&self, batch: &BatchInfo) {
        self.push(Event::BatchSubmitted(batch.clone()));
    }
    fn on_batch_started(&self, batch: &BatchInfo) {
        self.push(Event::BatchStarted(batch.clone()));
    }
    fn on_batch_completed(&self, batch: &BatchInfo) {
        self.push(Event::BatchCompleted(batch.clone()));
    }
    fn on_output_operation_started(&self, op: &OutputOperationInfo) {
        self.push(Event::OutputOperationStarted(op.clone()));
    }
    fn on_output_operation_completed(&self, op: &OutputOperationInfo) {
        self.push(Event::OutputOperationCompleted(op.clone()));
    }
    fn on_receiver_started(&self, receiver: &ReceiverInfo) {
        self.push(Event::ReceiverStarted(receiver.clone()));
    }
    fn on_receiver_error(&self, receiver: &ReceiverInfo) {
        self.push(Event::ReceiverError(receiver.clone()));
    }
    fn on_receiver_stopped(&self, receiver: &ReceiverInfo) {
        self.push(Event::ReceiverStopped(receiver.clone()));
    }
    fn on_input_error(&self, error: &InputErrorInfo) {
        self.push(Event::InputError(error.clone()));
    }
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Event>,
    /// The bus thread is delivering an event it took off the queue.
    delivering: bool,
    stopped: bool,
    thread: Option<JoinHandle<()>>,
    thread_id: Option<ThreadId>,
}

struct Core {
    listeners: RwLock<Vec<Arc<dyn StreamingListener>>>,
    queue: Mutex<Queue>,
    changed: Condvar,
    capacity: usize,
    dropped: AtomicU64,
    on_failure: Mutex<Option<FailureHook>>,
}

impl Core {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn shut_down(&self) {
        self.queue().stopped = true;
        self.changed.notify_all();
    }

    /// The bus thread: delivers events in order until stopped and empty.
    fn run(&self) {
        loop {
            let event = {
                let mut queue = self.queue();
                loop {
                    if let Some(event) = queue.events.pop_front() {
                        queue.delivering = true;
                        break event;
                    }
                    if queue.stopped {
                        return;
                    }
                    queue = self
                        .changed
                        .wait(queue)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            };
            let listeners = self
                .listeners
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            for listener in &listeners {
                let delivered = catch_unwind(AssertUnwindSafe(|| event.deliver(listener.as_ref())));
                if let Err(panic) = delivered {
                    let message = crate::panic_message(panic.as_ref());
                    tracing::error!(callback = event.callback(), %message, "a streaming listener panicked");
                    let hook = self
                        .on_failure
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clone();
                    if let Some(hook) = hook {
                        hook(StreamingError::CallbackPanicked {
                            callback: format!("StreamingListener::{}", event.callback()),
                            message,
                        });
                    }
                }
            }
            self.queue().delivering = false;
            self.changed.notify_all();
        }
    }
}

/// Stops the bus thread when the last handle goes (the thread itself holds
/// only the core).
struct Owner(Arc<Core>);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.shut_down();
    }
}

/// Delivers events to every registered listener, in order, on its own
/// thread (see [`StreamingListener`] for the guarantees). Receivers post
/// their events through it.
#[derive(Clone)]
pub struct ListenerBus {
    core: Arc<Core>,
    _owner: Arc<Owner>,
}

impl Default for ListenerBus {
    /// A bus with Spark's default queue capacity (10000 events).
    fn default() -> Self {
        Self::with_capacity(DEFAULT_EVENT_QUEUE_CAPACITY)
    }
}

impl ListenerBus {
    /// A bus whose queue holds at most `capacity` undelivered events.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let core = Arc::new(Core {
            listeners: RwLock::default(),
            queue: Mutex::default(),
            changed: Condvar::new(),
            capacity,
            dropped: AtomicU64::new(0),
            on_failure: Mutex::new(None),
        });
        ListenerBus {
            _owner: Arc::new(Owner(Arc::clone(&core))),
            core,
        }
    }

    /// Registers a listener.
    pub fn add(&self, listener: Arc<dyn StreamingListener>) {
        self.core
            .listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(listener);
    }

    /// Queues the events `event` raises (it is called once, at once, with a
    /// recorder) for every listener, in registration order. Returns at once.
    /// With no listener registered, nothing is queued.
    pub fn post(&self, event: impl Fn(&dyn StreamingListener)) {
        if self
            .core
            .listeners
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
        {
            return;
        }
        let capture = Capture::default();
        event(&capture);
        let events = capture
            .0
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        for event in events {
            self.enqueue(event);
        }
    }

    /// Events dropped because the queue was full
    /// (`spark.scheduler.listenerbus.eventqueue.capacity`).
    pub fn dropped_events(&self) -> u64 {
        self.core.dropped.load(Ordering::SeqCst)
    }

    fn enqueue(&self, event: Event) {
        let mut queue = self.core.queue();
        if queue.stopped {
            tracing::warn!(
                callback = event.callback(),
                "the listener bus is stopped: event not delivered"
            );
            return;
        }
        if queue.events.len() >= self.core.capacity {
            drop(queue);
            let dropped = self.core.dropped.fetch_add(1, Ordering::SeqCst) + 1;
            if dropped.is_power_of_two() {
                tracing::error!(
                    dropped,
                    capacity = self.core.capacity,
                    "the listener event queue is full (a listener is too slow): dropping events; \
                     raise spark.scheduler.listenerbus.eventqueue.capacity or speed the listener up"
                );
            }
            return;
        }
        queue.events.push_back(event);
        if queue.thread.is_none() {
            let core = Arc::clone(&self.core);
            match std::thread::Builder::new()
                .name("ember-listener-bus".to_owned())
                .spawn(move || core.run())
            {
                Ok(handle) => {
                    queue.thread_id = Some(handle.thread().id());
                    queue.thread = Some(handle);
                }
                Err(e) => {
                    let lost = queue.events.len();
                    queue.events.clear();
                    tracing::error!(error = %e, lost, "cannot start the listener bus thread: events lost");
                }
            }
        }
        drop(queue);
        self.core.changed.notify_all();
    }

    /// What a listener's panic does.
    pub(crate) fn set_failure_hook(&self, hook: FailureHook) {
        *self
            .core
            .on_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(hook);
    }

    /// Whether the calling thread is this bus's delivery thread.
    pub(crate) fn is_bus_thread(&self) -> bool {
        self.core.queue().thread_id == Some(std::thread::current().id())
    }

    /// Delivers what is queued (waiting at most `timeout`), then stops the
    /// thread; later posts are not delivered. Returns whether everything
    /// was delivered. From the bus thread itself, it only marks the bus
    /// stopped (the thread ends after the events already queued).
    pub(crate) fn stop(&self, timeout: std::time::Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let me = std::thread::current().id();
        let mut queue = self.core.queue();
        if queue.thread_id == Some(me) {
            queue.stopped = true;
            return false;
        }
        let mut drained = true;
        while queue.thread.is_some() && (!queue.events.is_empty() || queue.delivering) {
            let now = Instant::now();
            if now >= deadline {
                drained = false;
                break;
            }
            queue = self
                .core
                .changed
                .wait_timeout(queue, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        queue.stopped = true;
        let thread = queue.thread.take();
        let left = queue.events.len();
        queue.events.clear();
        drop(queue);
        self.core.changed.notify_all();
        if drained {
            if let Some(thread) = thread
                && thread.join().is_err()
            {
                tracing::error!("the listener bus thread panicked");
            }
        } else {
            tracing::error!(
                left,
                ?timeout,
                "a streaming listener is still busy after the stop timeout: its remaining events are not delivered"
            );
        }
        drained
    }
}
