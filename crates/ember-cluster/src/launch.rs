//! Running a cluster on this machine: [`LocalCluster`] starts N copies of
//! a program on 127.0.0.1 (free ports, a temporary hostfile, timely's
//! arguments), and [`launch_or_join`] lets a program's `main` either do
//! that or play its part.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::conf::{ClusterConf, ConfError, ParsedArgs};

/// How often [`RunningCluster::wait`] looks at its processes.
const POLL: Duration = Duration::from_millis(20);

/// Why a local cluster could not be started or did not finish cleanly.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The cluster options are wrong.
    #[error(transparent)]
    Conf(#[from] ConfError),
    /// The current program's path is unknown.
    #[error("cannot find the current program: {0}")]
    CurrentExe(#[source] std::io::Error),
    /// No free port on 127.0.0.1.
    #[error("cannot find free ports on 127.0.0.1: {0}")]
    Ports(#[source] std::io::Error),
    /// The hostfile could not be written.
    #[error("cannot write the hostfile: {0}")]
    Hostfile(#[source] std::io::Error),
    /// A process could not be started.
    #[error("cannot start process {process} ({}): {source}", program.display())]
    Spawn {
        /// The process index.
        process: usize,
        /// The program.
        program: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A process could not be waited for or killed.
    #[error("cannot wait for process {process}: {source}")]
    Wait {
        /// The process index.
        process: usize,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A process ended with a failure (the others were killed).
    #[error("process {process} failed: {status}")]
    Failed {
        /// The process index.
        process: usize,
        /// How it ended.
        status: ExitStatus,
    },
    /// Processes still running at the deadline (they were killed).
    #[error("processes {processes:?} did not end within {timeout:?}")]
    TimedOut {
        /// The processes that were still running.
        processes: Vec<usize>,
        /// The time they had.
        timeout: Duration,
    },
    /// A process index beyond the cluster.
    #[error("there is no process {process} in a cluster of {processes}")]
    NoSuchProcess {
        /// The index asked for.
        process: usize,
        /// The process count.
        processes: usize,
    },
}

/// A cluster of `processes` copies of a program on 127.0.0.1, each with
/// `threads` worker threads, to start with [`spawn`](LocalCluster::spawn).
#[derive(Debug, Clone)]
pub struct LocalCluster {
    processes: usize,
    threads: usize,
    program: PathBuf,
    args: Vec<String>,
    connect_timeout: Option<Duration>,
    keepalive: Option<Duration>,
    round_timeout: Option<Duration>,
}

impl LocalCluster {
    /// A local cluster running the current program (`std::env::current_exe`).
    pub fn new(processes: usize, threads: usize) -> Result<LocalCluster, LaunchError> {
        let program = std::env::current_exe().map_err(LaunchError::CurrentExe)?;
        Ok(LocalCluster {
            processes,
            threads,
            program,
            args: Vec::new(),
            connect_timeout: None,
            keepalive: None,
            round_timeout: None,
        })
    }

    /// Runs `program` instead of the current one.
    pub fn program(mut self, program: impl Into<PathBuf>) -> LocalCluster {
        self.program = program.into();
        self
    }

    /// The program's own arguments, given to every process after timely's.
    pub fn args(mut self, args: impl IntoIterator<Item = String>) -> LocalCluster {
        self.args = args.into_iter().collect();
        self
    }

    /// The processes' connect timeout (`--connect-timeout`).
    pub fn connect_timeout(mut self, timeout: Duration) -> LocalCluster {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The processes' TCP keepalive (`--keepalive`, see
    /// [`ClusterConf::keepalive`]).
    pub fn keepalive(mut self, keepalive: Duration) -> LocalCluster {
        self.keepalive = Some(keepalive);
        self
    }

    /// The processes' round timeout (`--round-timeout`, see
    /// [`ClusterConf::round_timeout`]).
    pub fn round_timeout(mut self, timeout: Duration) -> LocalCluster {
        self.round_timeout = Some(timeout);
        self
    }

    /// Starts `processes` copies of the current program with
    /// `program_args`, waits for all, and fails naming the first process
    /// that failed (after killing the others).
    pub fn launch(
        processes: usize,
        threads: usize,
        program_args: impl IntoIterator<Item = String>,
    ) -> Result<(), LaunchError> {
        LocalCluster::new(processes, threads)?
            .args(program_args)
            .spawn()?
            .wait()
    }

    /// Starts the processes: process `i` gets `-n N -p i -w T -h HOSTFILE`
    /// then the program's arguments. Process 0's stdout and stderr go to
    /// this process's; the others' lines go to stderr, prefixed
    /// `[process i]`.
    pub fn spawn(&self) -> Result<RunningCluster, LaunchError> {
        let conf = ClusterConf {
            threads: self.threads,
            processes: self.processes,
            ..ClusterConf::default()
        };
        conf.validate()?;
        let addresses = free_local_addresses(self.processes).map_err(LaunchError::Ports)?;
        let mut hostfile = tempfile::Builder::new()
            .prefix("ember-cluster-hosts-")
            .tempfile()
            .map_err(LaunchError::Hostfile)?;
        for address in &addresses {
            writeln!(hostfile, "{address}").map_err(LaunchError::Hostfile)?;
        }
        hostfile.flush().map_err(LaunchError::Hostfile)?;
        let hostfile = hostfile.into_temp_path();
        let mut running = RunningCluster {
            children: Vec::with_capacity(self.processes),
            forwarders: Vec::new(),
            addresses,
            _hostfile: hostfile,
        };
        for process in 0..self.processes {
            let mut command = Command::new(&self.program);
            command
                .arg("-n")
                .arg(self.processes.to_string())
                .arg("-p")
                .arg(process.to_string())
                .arg("-w")
                .arg(self.threads.to_string())
                .arg("-h")
                .arg(&*running._hostfile);
            if let Some(t) = self.connect_timeout {
                command
                    .arg("--connect-timeout")
                    .arg(format!("{}ms", t.as_millis()));
            }
            if let Some(k) = self.keepalive {
                command.arg("--keepalive").arg(format!("{}s", k.as_secs()));
            }
            if let Some(t) = self.round_timeout {
                command
                    .arg("--round-timeout")
                    .arg(format!("{}ms", t.as_millis()));
            }
            command.args(&self.args).stdin(Stdio::null());
            if process != 0 {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
            let mut child = command.spawn().map_err(|source| LaunchError::Spawn {
                process,
                program: self.program.clone(),
                source,
            })?;
            if let Some(out) = child.stdout.take() {
                running.forwarders.push(forward(out, process));
            }
            if let Some(err) = child.stderr.take() {
                running.forwarders.push(forward(err, process));
            }
            running.children.push(Some(child));
        }
        Ok(running)
    }
}

/// `n` addresses `127.0.0.1:port` with ports free a moment ago.
fn free_local_addresses(n: usize) -> std::io::Result<Vec<String>> {
    // Hold every listener until all ports are chosen, so they differ.
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.to_string()))
        .collect()
}

/// Copies `from`'s lines to this process's stderr, prefixed with the
/// process index.
fn forward(from: impl Read + Send + 'static, process: usize) -> JoinHandle<()> {
    thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            eprintln!("[process {process}] {line}");
        }
    })
}

/// The processes of a started [`LocalCluster`].
#[derive(Debug)]
pub struct RunningCluster {
    /// `None` once waited for.
    children: Vec<Option<Child>>,
    forwarders: Vec<JoinHandle<()>>,
    addresses: Vec<String>,
    /// Deleted when the cluster is dropped.
    _hostfile: tempfile::TempPath,
}

impl RunningCluster {
    /// The processes' addresses, in process order.
    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }

    /// The operating system's id of process `process`.
    pub fn id(&self, process: usize) -> Result<u32, LaunchError> {
        let processes = self.children.len();
        self.children
            .get(process)
            .and_then(Option::as_ref)
            .map(Child::id)
            .ok_or(LaunchError::NoSuchProcess { process, processes })
    }

    /// Kills process `process` (SIGKILL on Unix).
    pub fn kill(&mut self, process: usize) -> Result<(), LaunchError> {
        let processes = self.children.len();
        let child = self
            .children
            .get_mut(process)
            .and_then(Option::as_mut)
            .ok_or(LaunchError::NoSuchProcess { process, processes })?;
        child
            .kill()
            .map_err(|source| LaunchError::Wait { process, source })
    }

    /// Waits for every process; when one fails, kills the others and
    /// returns [`LaunchError::Failed`] naming it.
    pub fn wait(mut self) -> Result<(), LaunchError> {
        loop {
            let mut running = 0;
            for process in 0..self.children.len() {
                let Some(child) = self.children[process].as_mut() else {
                    continue;
                };
                match child.try_wait() {
                    Ok(None) => running += 1,
                    Ok(Some(status)) => {
                        self.children[process] = None;
                        if !status.success() {
                            self.kill_all();
                            return Err(LaunchError::Failed { process, status });
                        }
                    }
                    Err(source) => {
                        self.kill_all();
                        return Err(LaunchError::Wait { process, source });
                    }
                }
            }
            if running == 0 {
                self.join_forwarders();
                return Ok(());
            }
            thread::sleep(POLL);
        }
    }

    /// Waits up to `timeout` for every process, however each ends, and
    /// returns how they ended, in process order; processes still running
    /// then are killed and named in [`LaunchError::TimedOut`].
    pub fn wait_all_within(mut self, timeout: Duration) -> Result<Vec<ExitStatus>, LaunchError> {
        let deadline = std::time::Instant::now() + timeout;
        let mut statuses: Vec<Option<ExitStatus>> = vec![None; self.children.len()];
        loop {
            let mut running = Vec::new();
            for (process, slot) in self.children.iter_mut().enumerate() {
                let Some(child) = slot.as_mut() else { continue };
                match child.try_wait() {
                    Ok(Some(status)) => {
                        statuses[process] = Some(status);
                        *slot = None;
                    }
                    Ok(None) => running.push(process),
                    Err(source) => return Err(LaunchError::Wait { process, source }),
                }
            }
            if running.is_empty() {
                self.join_forwarders();
                return Ok(statuses.into_iter().flatten().collect());
            }
            if std::time::Instant::now() >= deadline {
                self.kill_all();
                return Err(LaunchError::TimedOut {
                    processes: running,
                    timeout,
                });
            }
            thread::sleep(POLL);
        }
    }

    /// Kills and reaps every process still running.
    fn kill_all(&mut self) {
        for child in self.children.iter_mut().filter_map(Option::take) {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits for the output of the ended processes to be copied.
    fn join_forwarders(&mut self) {
        for f in self.forwarders.drain(..) {
            let _ = f.join();
        }
    }
}

impl Drop for RunningCluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// What a program's `main` should do, as [`launch_or_join`] decided.
#[derive(Debug)]
pub enum Role {
    /// The arguments asked for a local cluster; it ran and every process
    /// succeeded: the program is done.
    Launched,
    /// Run as one process of the cluster `conf`, with the program's own
    /// `args`.
    Process {
        /// This process's place in the cluster.
        conf: ClusterConf,
        /// The arguments that are not cluster options, in order.
        args: Vec<String>,
    },
}

/// The `main` helper: with `--processes N` (N > 1) and neither `--process`
/// nor `--hostfile`, starts N copies of this program on 127.0.0.1
/// ([`LocalCluster`]), waits for them and returns [`Role::Launched`];
/// otherwise returns this process's [`Role::Process`] (a hostfile without
/// `--process` is process 0, timely's default). `args` exclude the program
/// name.
///
/// ```no_run
/// use ember_cluster::{Cluster, Role, launch_or_join};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// match launch_or_join(std::env::args().skip(1))? {
///     Role::Launched => {}
///     Role::Process { conf, args } => {
///         let cluster = Cluster::connect(&conf)?;
///         // … build the same RDDs on every process, with `args` …
///         cluster.shutdown()?;
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub fn launch_or_join(args: impl IntoIterator<Item = String>) -> Result<Role, LaunchError> {
    let parsed = ParsedArgs::parse(args)?;
    let conf = parsed.conf()?;
    if conf.processes > 1 && parsed.process.is_none() && parsed.hostfile.is_none() {
        let mut cluster = LocalCluster::new(conf.processes, conf.threads)?.args(parsed.free);
        if let Some(t) = parsed.connect_timeout {
            cluster = cluster.connect_timeout(t);
        }
        if let Some(k) = parsed.keepalive {
            cluster = cluster.keepalive(k);
        }
        if let Some(t) = parsed.round_timeout {
            cluster = cluster.round_timeout(t);
        }
        cluster.spawn()?.wait()?;
        return Ok(Role::Launched);
    }
    Ok(Role::Process {
        conf,
        args: parsed.free,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn without_processes_or_with_process_or_hostfile_the_program_plays_its_part() {
        for (given, process, rest) in [
            (args(&["--batches", "5"]), 0, args(&["--batches", "5"])),
            (args(&["-n", "2", "-p", "1", "x"]), 1, args(&["x"])),
            (args(&["-n", "2", "-h", "hosts.txt"]), 0, Vec::new()),
        ] {
            match launch_or_join(given.clone()).unwrap() {
                Role::Process { conf, args } => {
                    assert_eq!((conf.process, args), (process, rest), "{given:?}");
                }
                Role::Launched => panic!("{given:?} launched"),
            }
        }
    }

    #[test]
    fn bad_cluster_options_are_errors_before_anything_starts() {
        let e = launch_or_join(args(&["--processes", "two"])).unwrap_err();
        assert!(
            matches!(e, LaunchError::Conf(ConfError::InvalidValue { .. })),
            "{e}"
        );
    }
}
