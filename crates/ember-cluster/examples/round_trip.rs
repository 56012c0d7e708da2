//! Measures the cluster exchange: the latency of a round of tiny messages
//! and the throughput of rounds of ~200 KB and 6 MB per destination.
//!
//! ```text
//! cargo run --release -p ember-cluster --example round_trip -- --processes 2
//! ```
//!
//! Process 0 prints one line per size: rounds, time per round, and the
//! bytes each process received from the others per second.

use std::process::ExitCode;
use std::time::Instant;

use ember_cluster::{Cluster, Role, launch_or_join};
use ember_rdd::Exchange;

/// `rounds` rounds of `size` bytes to every process; returns seconds.
fn measure(
    cluster: &Cluster,
    size: usize,
    rounds: usize,
) -> Result<f64, Box<dyn std::error::Error>> {
    let n = cluster.processes();
    let started = Instant::now();
    for _ in 0..rounds {
        let received = cluster.all_to_all(vec![vec![7u8; size]; n])?;
        if received.iter().any(|m| m.len() != size) {
            return Err("a message of the wrong size".into());
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Runs the measurements as one process of the cluster.
fn run(cluster: &Cluster) -> Result<(), Box<dyn std::error::Error>> {
    measure(cluster, 8, 200)?; // warm up
    let others = (cluster.processes() - 1).max(1) as f64;
    for (label, size, rounds) in [
        ("tiny (8 B)", 8, 5000),
        ("200 KB", 200 * 1024, 300),
        ("6 MB", 6 * 1024 * 1024, 20),
    ] {
        let secs = measure(cluster, size, rounds)?;
        if cluster.process() == 0 {
            let per_round = secs / rounds as f64;
            let mb_per_s = (size as f64 * others * rounds as f64) / secs / 1e6;
            println!(
                "{label:>10}: {rounds} rounds, {:.1} us/round, {mb_per_s:.0} MB/s received from the others",
                per_round * 1e6
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let conf = match launch_or_join(std::env::args().skip(1)) {
        Ok(Role::Launched) => return ExitCode::SUCCESS,
        Ok(Role::Process { conf, .. }) => conf,
        Err(e) => {
            eprintln!("round_trip: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = Cluster::connect(&conf)
        .map_err(Box::<dyn std::error::Error>::from)
        .and_then(|cluster| {
            run(&cluster)?;
            cluster.shutdown()?;
            Ok(())
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("round_trip (process {}): {e}", conf.process);
            ExitCode::FAILURE
        }
    }
}
