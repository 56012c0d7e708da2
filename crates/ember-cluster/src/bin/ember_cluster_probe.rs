//! The probe: a test-support program that joins a cluster and runs
//! deterministic all-to-all rounds ([`ember_cluster::probe::message`]),
//! appending one line per round to `<report>/process-<p>.txt` (a digest of
//! what it received) and printing the same on stdout.
//!
//! Arguments after the cluster options: `--rounds K`, `--seed S`,
//! `--report DIR`, `--pause-ms M` (between rounds, after the `--fail-at` check), `--fail-at R` (exit 4
//! before round R, to test the launcher; only on process `--fail-process
//! P` if given). Exit codes: 0 done, 2 could not
//! connect, 3 a round failed, 4 asked to fail, 5 bad arguments.
//! With `--processes N` and no `--process`, it starts N copies of itself.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ember_cluster::probe::{digest, message};
use ember_cluster::{Cluster, ClusterError, Role, launch_or_join};
use ember_rdd::{Exchange, ExchangeError};

/// The probe's own options.
struct Options {
    rounds: usize,
    seed: u64,
    report: Option<PathBuf>,
    pause: Duration,
    fail_at: Option<usize>,
    fail_process: Option<usize>,
}

/// Parses the probe's options.
fn options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        rounds: 3,
        seed: 1,
        report: None,
        pause: Duration::ZERO,
        fail_at: None,
        fail_process: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{arg} {v}: {e}"));
        match arg.as_str() {
            "--rounds" => o.rounds = number(value()?)? as usize,
            "--seed" => o.seed = number(value()?)?,
            "--report" => o.report = Some(PathBuf::from(value()?)),
            "--pause-ms" => o.pause = Duration::from_millis(number(value()?)?),
            "--fail-at" => o.fail_at = Some(number(value()?)? as usize),
            "--fail-process" => o.fail_process = Some(number(value()?)? as usize),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

/// Appends lines to the report file (if any) and stdout.
struct Report(Option<std::fs::File>);

impl Report {
    fn line(&mut self, line: &str) {
        println!("{line}");
        if let Some(f) = self.0.as_mut() {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// A round's failure, as the tests expect it (the message varies).
fn describe(e: &ExchangeError) -> String {
    match e {
        ExchangeError::PeerLost { process, .. } => format!("peer_lost process={process:?}"),
        other => format!("error {other}"),
    }
}

fn main() -> ExitCode {
    let (conf, args) = match launch_or_join(std::env::args().skip(1)) {
        Ok(Role::Launched) => return ExitCode::SUCCESS,
        Ok(Role::Process { conf, args }) => (conf, args),
        Err(e) => {
            eprintln!("probe: {e}");
            return ExitCode::from(5);
        }
    };
    let o = match options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("probe: {e}");
            return ExitCode::from(5);
        }
    };
    let file = match &o.report {
        Some(dir) => match OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("process-{}.txt", conf.process)))
        {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("probe: cannot open the report: {e}");
                return ExitCode::from(5);
            }
        },
        None => None,
    };
    let mut report = Report(file);
    let cluster = match Cluster::connect(&conf) {
        Ok(c) => c,
        Err(e) => {
            report.line(&format!("connect error: {e}"));
            return ExitCode::from(2);
        }
    };
    let me = cluster.process();
    for round in 0..o.rounds {
        if o.fail_at == Some(round) && o.fail_process.is_none_or(|p| p == me) {
            report.line(&format!("failing before round {round}"));
            return ExitCode::from(4);
        }
        if round > 0 {
            std::thread::sleep(o.pause);
        }
        let outgoing = (0..cluster.processes())
            .map(|to| message(o.seed, round, me, to))
            .collect();
        match cluster.all_to_all(outgoing) {
            Ok(received) => report.line(&digest(round, &received)),
            Err(e) => {
                eprintln!("probe: round {round}: {e}");
                report.line(&describe(&e));
                return ExitCode::from(3);
            }
        }
    }
    match cluster.shutdown() {
        Ok(()) => {
            report.line("shutdown ok");
            ExitCode::SUCCESS
        }
        Err(ClusterError::Exchange(e)) => {
            report.line(&describe(&e));
            ExitCode::from(3)
        }
        Err(e) => {
            report.line(&format!("shutdown error: {e}"));
            ExitCode::from(3)
        }
    }
}
