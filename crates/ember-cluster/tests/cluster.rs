//! Real clusters of the probe program on 127.0.0.1: exact messages with 2
//! and 3 processes, a SIGKILLed process lost on every other one, the
//! launcher naming a failed process, and the connect errors naming the
//! address (wrong hostfile, port taken).

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ember_cluster::probe::expected_digest;
use ember_cluster::{Cluster, ClusterConf, ClusterError, LaunchError, LocalCluster};
use ember_rdd::{Exchange, ExchangeError};

/// The probe program.
const PROBE: &str = env!("CARGO_BIN_EXE_ember_cluster_probe");

/// The lines process `p` wrote to its report.
fn report(dir: &Path, p: usize) -> Vec<String> {
    std::fs::read_to_string(dir.join(format!("process-{p}.txt")))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// What process `p` of `processes` should report for `rounds` clean rounds.
fn model(seed: u64, rounds: usize, processes: usize, p: usize) -> Vec<String> {
    let mut lines: Vec<String> = (0..rounds)
        .map(|r| expected_digest(seed, r, processes, p))
        .collect();
    lines.push("shutdown ok".to_owned());
    lines
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Addresses on 127.0.0.1 that were free a moment ago.
fn free_addresses(n: usize) -> Vec<String> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect()
}

#[test]
fn two_processes_receive_exactly_what_each_sent_them() {
    let dir = tempfile::tempdir().unwrap();
    let seed = 11;
    LocalCluster::new(2, 1)
        .unwrap()
        .program(PROBE)
        .args(args(&[
            "--rounds",
            "7",
            "--seed",
            "11",
            "--report",
            dir.path().to_str().unwrap(),
        ]))
        .spawn()
        .unwrap()
        .wait()
        .unwrap();
    for p in 0..2 {
        assert_eq!(report(dir.path(), p), model(seed, 7, 2, p), "process {p}");
    }
}

#[test]
fn launch_or_join_runs_three_local_processes_from_processes_alone() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(PROBE)
        .args([
            "--processes",
            "3",
            "-w",
            "2",
            "--rounds",
            "6",
            "--seed",
            "5",
        ])
        .arg("--report")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    for p in 0..3 {
        assert_eq!(report(dir.path(), p), model(5, 6, 3, p), "process {p}");
    }
}

#[test]
fn a_sigkilled_process_is_lost_on_every_other_process() {
    let seed: u64 = std::env::var("EMBER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("seed {seed} (EMBER_SEED={seed} reproduces)");
    let processes = 3;
    let victim = (seed % 3) as usize;
    let pause_ms = if seed / 3 % 2 == 0 { 0 } else { 25 };
    let delay = Duration::from_millis(seed / 6 % 400);
    println!("victim {victim}, pause {pause_ms} ms between rounds, kill {delay:?} after round 0");
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = LocalCluster::new(processes, 1)
        .unwrap()
        .program(PROBE)
        .args(args(&[
            "--rounds",
            "100000",
            "--seed",
            &seed.to_string(),
            "--pause-ms",
            &pause_ms.to_string(),
            "--report",
            dir.path().to_str().unwrap(),
        ]))
        .spawn()
        .unwrap();
    let started = Instant::now();
    while (0..processes).any(|p| report(dir.path(), p).is_empty()) {
        assert!(started.elapsed() < Duration::from_secs(20), "no round 0");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(delay);
    cluster.kill(victim).unwrap();
    let killed = Instant::now();
    let statuses = cluster.wait_all_within(Duration::from_secs(15)).unwrap();
    let stopped = killed.elapsed();
    println!("survivors stopped {stopped:?} after the kill");
    for (p, status) in statuses.iter().enumerate() {
        let lines = report(dir.path(), p);
        if p == victim {
            assert_eq!(status.code(), None, "killed by a signal");
            let rounds = lines.len();
            assert_eq!(lines, model(seed, rounds, processes, p)[..rounds]);
            continue;
        }
        assert_eq!(status.code(), Some(3), "process {p}: {lines:?}");
        let (last, rounds) = lines.split_last().unwrap();
        assert_eq!(
            last,
            &format!("peer_lost process=Some({victim})"),
            "process {p}"
        );
        assert_eq!(
            rounds,
            &model(seed, rounds.len(), processes, p)[..rounds.len()],
            "process {p}"
        );
    }
    assert!(stopped < Duration::from_secs(10), "{stopped:?}");
}

#[test]
fn the_launcher_names_the_failed_process_and_stops_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let error = LocalCluster::new(3, 1)
        .unwrap()
        .program(PROBE)
        .args(args(&[
            "--rounds",
            "3",
            "--pause-ms",
            "5000",
            "--fail-at",
            "1",
            "--fail-process",
            "2",
            "--report",
            dir.path().to_str().unwrap(),
        ]))
        .spawn()
        .unwrap()
        .wait()
        .unwrap_err();
    let LaunchError::Failed { process, status } = &error else {
        panic!("{error}");
    };
    assert_eq!((*process, status.code()), (2, Some(4)), "{error}");
    // The others were killed in their pause after round 0.
    for p in 0..2 {
        assert_eq!(report(dir.path(), p), [expected_digest(1, 0, 3, p)]);
    }
    assert_eq!(
        report(dir.path(), 2),
        [
            expected_digest(1, 0, 3, 2),
            "failing before round 1".to_owned()
        ]
    );
}

#[test]
fn an_unreachable_peer_is_named_within_the_timeout() {
    let addresses = free_addresses(2);
    let conf = ClusterConf {
        processes: 2,
        process: 1,
        addresses: Some(addresses.clone()),
        connect_timeout: Duration::from_millis(400),
        ..ClusterConf::default()
    };
    let started = Instant::now();
    let error = Cluster::connect(&conf).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let ClusterError::Unreachable {
        process, address, ..
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!((*process, address), (0, &addresses[0]));
    assert!(
        error.to_string().starts_with(&format!(
            "could not connect to process 0 at {} within 400ms: ",
            addresses[0]
        )),
        "{error}"
    );

    // Process 0 of the same cluster waits for process 1, which never comes.
    let conf = ClusterConf { process: 0, ..conf };
    let error = Cluster::connect(&conf).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "process 0 at {}: no connection within 400ms from process 1 ({})",
            addresses[0], addresses[1]
        )
    );
}

#[test]
fn a_taken_port_is_named() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let conf = ClusterConf {
        processes: 2,
        process: 0,
        addresses: Some(vec![address.clone(), free_addresses(1).remove(0)]),
        connect_timeout: Duration::from_millis(400),
        ..ClusterConf::default()
    };
    let error = Cluster::connect(&conf).unwrap_err();
    assert!(
        matches!(&error, ClusterError::Bind { process: 0, address: a, .. } if *a == address),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with(&format!("process 0 cannot listen on {address}: ")),
        "{error}"
    );
}

#[test]
fn a_single_process_exchanges_with_itself_without_networking() {
    let cluster = Cluster::connect(&ClusterConf::local(2)).unwrap();
    assert_eq!((cluster.process(), cluster.processes()), (0, 1));
    for message in [Vec::new(), b"tiny".to_vec(), vec![7u8; 3 << 20]] {
        assert_eq!(
            cluster.all_to_all(vec![message.clone()]).unwrap(),
            vec![message]
        );
    }
    assert!(matches!(
        cluster.all_to_all(vec![Vec::new(), Vec::new()]),
        Err(ExchangeError::WrongFanOut {
            expected: 1,
            got: 2
        })
    ));
    cluster.shutdown().unwrap();
    assert!(matches!(
        cluster.all_to_all(vec![Vec::new()]),
        Err(ExchangeError::Closed)
    ));
}
