//! Shutdown on signals: SIGINT and SIGTERM stop every running context,
//! gracefully when its `spark.streaming.stopGracefullyOnShutdown` is true
//! (Spark's key; default false), else promptly; a second signal during the
//! stop makes it prompt. The handler is installed by the first context
//! that starts (once per process); while no context runs, a signal does
//! what it would do without ember (the process ends).

use std::sync::{Arc, Mutex, Once, PoisonError, Weak};

use crate::StreamingContext;
use crate::context::ContextInner;

/// The running contexts a signal stops.
static RUNNING: Mutex<Vec<Weak<ContextInner>>> = Mutex::new(Vec::new());

/// The key saying whether a signal stops gracefully.
const GRACEFUL_KEY: &str = "spark.streaming.stopGracefullyOnShutdown";

fn running() -> std::sync::MutexGuard<'static, Vec<Weak<ContextInner>>> {
    RUNNING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A started context: a signal stops it from now on. Installs the
/// handler on first use.
pub(crate) fn register(inner: &Arc<ContextInner>) {
    install();
    let mut running = running();
    running.retain(|weak| weak.strong_count() > 0);
    running.push(Arc::downgrade(inner));
}

/// A stopped context: signals leave it alone.
pub(crate) fn deregister(inner: &ContextInner) {
    running().retain(|weak| weak.strong_count() > 0 && !std::ptr::eq(weak.as_ptr(), inner));
}

/// Whether `spark.streaming.stopGracefullyOnShutdown` is set for `ssc`.
fn graceful(ssc: &StreamingContext) -> bool {
    ssc.conf().flag(GRACEFUL_KEY, false).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "stopping promptly");
        false
    })
}

/// One signal: the first stops the running contexts (each on a thread of
/// its own), a later one while they stop makes their stops prompt; with
/// no context running, the signal's default action.
#[cfg(unix)]
fn on_signal(signal: i32, received: &mut u32) {
    let name = signal_hook::low_level::signal_name(signal).unwrap_or("signal");
    let contexts: Vec<StreamingContext> = running()
        .iter()
        .filter_map(Weak::upgrade)
        .map(|inner| StreamingContext { inner })
        .collect();
    if contexts.is_empty() {
        *received = 0;
        tracing::info!(
            signal = name,
            "no streaming context running: default action"
        );
        if let Err(e) = signal_hook::low_level::emulate_default_handler(signal) {
            tracing::error!(signal = name, error = %e, "cannot take the signal's default action");
        }
        return;
    }
    *received += 1;
    for ssc in contexts {
        if *received > 1 {
            tracing::warn!(
                signal = name,
                app = ssc.conf().app_name_str(),
                "second signal: stopping at once (queued batches are dropped)"
            );
            ssc.stop_now();
            continue;
        }
        let graceful = graceful(&ssc);
        ssc.set_stopped_by_signal(name);
        tracing::info!(
            signal = name,
            app = ssc.conf().app_name_str(),
            graceful,
            "stopping the streaming context on {name} ({GRACEFUL_KEY}={graceful})"
        );
        let stopper = std::thread::Builder::new()
            .name("ember-shutdown".to_owned())
            .spawn(move || {
                let _ = ssc.stop(crate::StopOptions {
                    stop_gracefully: graceful,
                });
            });
        if let Err(e) = stopper {
            tracing::error!(error = %e, "cannot start a thread to stop the context");
        }
    }
}

/// Installs the SIGINT/SIGTERM handler thread (once per process).
fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGINT, SIGTERM};
            let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
                Ok(signals) => signals,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot handle SIGINT/SIGTERM: signals end the process without a stop");
                    return;
                }
            };
            let spawned = std::thread::Builder::new()
                .name("ember-signals".to_owned())
                .spawn(move || {
                    let mut received = 0;
                    for signal in signals.forever() {
                        on_signal(signal, &mut received);
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start the signal thread");
            }
        }
    });
}
