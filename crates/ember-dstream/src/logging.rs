//! Logs on by default: when a context is created and the application has
//! set no global `tracing` subscriber, ember installs one that writes to
//! stderr (through `eprint!`, so libtest captures it in tests).
//!
//! The filter, in `tracing-subscriber`'s `EnvFilter` syntax, comes from
//! `EMBER_LOG`, else `RUST_LOG`, else `spark.ember.log.level` (a level for
//! ember's targets; default `info`, other crates at `warn`). The format is
//! `spark.ember.log.format`: `full` (default), `compact` or `json`.

use std::io::Write;
use std::sync::Once;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::{StreamingConf, StreamingError};

/// The key of ember's log level (for ember's own targets).
const LEVEL_KEY: &str = "spark.ember.log.level";
/// The key of the log format.
const FORMAT_KEY: &str = "spark.ember.log.format";

/// Writes each formatted event with one `eprint!` (libtest captures it).
#[derive(Debug, Clone, Copy, Default)]
struct EprintWriter;

impl Write for EprintWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        eprint!("{}", String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for EprintWriter {
    type Writer = EprintWriter;

    fn make_writer(&'a self) -> EprintWriter {
        EprintWriter
    }
}

/// The log format (`spark.ember.log.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Full,
    Compact,
    Json,
}

/// The filter directives: `EMBER_LOG`, else `RUST_LOG`, else ember's
/// targets at `level` and everything else at `warn`.
fn directives(level: &str) -> String {
    ["EMBER_LOG", "RUST_LOG"]
        .into_iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| format!("warn,ember={level}"))
}

/// Validates the log keys; then, once per process and only when no global
/// subscriber is set, installs ember's.
pub(crate) fn install_default(conf: &StreamingConf) -> Result<(), StreamingError> {
    let level = conf.get(LEVEL_KEY).unwrap_or("info").trim().to_owned();
    if level.parse::<tracing::Level>().is_err() && !level.eq_ignore_ascii_case("off") {
        return Err(conf.invalid(LEVEL_KEY, "expected trace, debug, info, warn, error or off"));
    }
    let format = match conf.get(FORMAT_KEY).map(|f| f.trim().to_ascii_lowercase()) {
        None => Format::Full,
        Some(f) if f == "full" => Format::Full,
        Some(f) if f == "compact" => Format::Compact,
        Some(f) if f == "json" => Format::Json,
        Some(_) => return Err(conf.invalid(FORMAT_KEY, "expected full, compact or json")),
    };
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if tracing::dispatcher::has_been_set() {
            return;
        }
        let directives = directives(&level);
        let filter = EnvFilter::try_new(&directives).unwrap_or_else(|e| {
            eprintln!("ember: invalid log filter {directives:?} ({e}); using warn,ember=info");
            EnvFilter::new("warn,ember=info")
        });
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(EprintWriter)
            .with_ansi(false);
        // Another thread may have set its subscriber meanwhile: that one
        // stays, as the application's would.
        let _ = match format {
            Format::Full => builder.try_init(),
            Format::Compact => builder.compact().try_init(),
            Format::Json => builder.json().try_init(),
        };
    });
    Ok(())
}
