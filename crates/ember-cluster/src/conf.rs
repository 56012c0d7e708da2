//! [`ClusterConf`]: how many processes, which one this is, where they listen,
//! read from timely's command-line conventions or from `ember.cluster.*`
//! settings.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The connect timeout when none is configured: how long
/// [`Cluster::connect`](crate::Cluster::connect) waits for every peer.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The TCP keepalive when none is configured: a peer whose machine stops
/// answering (gone without closing its connections) is declared lost
/// within about this long.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(10);

/// The port of process 0 when neither a hostfile nor addresses are given
/// (timely's convention: process `i` listens on `localhost:2101+i`).
pub const DEFAULT_BASE_PORT: u16 = 2101;

/// The shape of a cluster and this process's place in it, in timely's terms.
///
/// `threads` is the size of this process's worker pool (the RDD executor's
/// rayon pool); the transport itself runs one timely worker per process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConf {
    /// Worker threads per process (`-w`/`--threads`, `ember.cluster.threads`).
    pub threads: usize,
    /// Processes in the cluster (`-n`/`--processes`, `ember.cluster.processes`).
    pub processes: usize,
    /// This process's index in `0..processes` (`-p`/`--process`,
    /// `ember.cluster.process`).
    pub process: usize,
    /// A file whose lines are the processes' `host:port`, in process order
    /// (`-h`/`--hostfile`, `ember.cluster.hostfile`).
    pub hostfile: Option<PathBuf>,
    /// The processes' `host:port` given directly; wins over `hostfile`.
    pub addresses: Option<Vec<String>>,
    /// How long connecting to every peer may take (`--connect-timeout`,
    /// `ember.cluster.connectTimeout`; `250ms`, `30s`, `1min` or bare ms).
    pub connect_timeout: Duration,
    /// How long a connection to a peer may stay unanswered before the
    /// operating system declares it broken (`--keepalive`,
    /// `ember.cluster.keepalive`; whole seconds, at least 2 s): TCP
    /// keepalive probes on idle connections, and a limit on unacknowledged
    /// data (`TCP_USER_TIMEOUT`, on Linux) on busy ones. This catches a
    /// peer machine that vanished (power, network) without closing its
    /// sockets; see [`keepalive`](crate::keepalive) for the exact settings.
    pub keepalive: Duration,
    /// How long a round may wait before it fails naming the silent peer
    /// (`--round-timeout`, `ember.cluster.roundTimeout`; the same on every
    /// process); `None` (the default) waits forever. With a timeout, each
    /// process's timely worker sends a heartbeat to the others four times
    /// per timeout (it runs beside the computation), and an overdue round
    /// names the peers with no heartbeat for half the timeout, else those
    /// whose message is missing. This catches a peer that is alive but
    /// stuck (stopped, its timely worker blocked), which TCP keepalive does
    /// not: its kernel still answers. Set it above the longest time one
    /// process can spend computing between two rounds (a stage's tasks).
    pub round_timeout: Option<Duration>,
}

impl Default for ClusterConf {
    fn default() -> Self {
        ClusterConf {
            threads: 1,
            processes: 1,
            process: 0,
            hostfile: None,
            addresses: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            keepalive: DEFAULT_KEEPALIVE,
            round_timeout: None,
        }
    }
}

/// A cluster setting that is missing, malformed or inconsistent.
#[derive(Debug, thiserror::Error)]
pub enum ConfError {
    /// An option that takes a value came last.
    #[error("option {option} needs a value")]
    MissingValue {
        /// The option as written.
        option: String,
    },
    /// A value that does not parse or is out of range.
    #[error("invalid value {value:?} for {option}: {reason}")]
    InvalidValue {
        /// The option or setting key.
        option: String,
        /// The value given.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// The process index is not below the process count.
    #[error("process index {process} is out of range for {processes} processes (0..{processes})")]
    ProcessOutOfRange {
        /// The index given.
        process: usize,
        /// The process count.
        processes: usize,
    },
    /// The hostfile could not be read.
    #[error("cannot read hostfile {}: {source}", path.display())]
    HostfileRead {
        /// The hostfile.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Fewer addresses than processes.
    #[error("{source_name} has {found} addresses, but the cluster has {needed} processes")]
    TooFewAddresses {
        /// Where the addresses came from (the hostfile's path, or `addresses`).
        source_name: String,
        /// How many addresses it has.
        found: usize,
        /// How many processes there are.
        needed: usize,
    },
    /// An address that is not `host:port`.
    #[error("address {address:?} of process {process} is not host:port")]
    BadAddress {
        /// The process it belongs to.
        process: usize,
        /// The address as written.
        address: String,
    },
}

/// The cluster options found among command-line arguments, before
/// defaults: [`ClusterConf::from_args`] and the launcher's decision need to
/// know which were given.
#[derive(Debug, Default)]
pub(crate) struct ParsedArgs {
    pub(crate) threads: Option<usize>,
    pub(crate) processes: Option<usize>,
    pub(crate) process: Option<usize>,
    pub(crate) hostfile: Option<PathBuf>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) keepalive: Option<Duration>,
    pub(crate) round_timeout: Option<Duration>,
    /// Arguments that are not cluster options, in order.
    pub(crate) free: Vec<String>,
}

impl ParsedArgs {
    /// Splits `args` (without the program name) into cluster options and the
    /// program's own arguments; `--` ends option parsing (it is kept).
    pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<ParsedArgs, ConfError> {
        let mut parsed = ParsedArgs::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--" {
                parsed.free.push(arg);
                parsed.free.extend(args.by_ref());
                break;
            }
            let Some((name, inline)) = split_option(&arg) else {
                parsed.free.push(arg);
                continue;
            };
            let value = match inline {
                Some(v) => v,
                None => args.next().ok_or_else(|| ConfError::MissingValue {
                    option: arg.clone(),
                })?,
            };
            match name {
                Opt::Threads => parsed.threads = Some(count(&arg, &value)?),
                Opt::Processes => parsed.processes = Some(count(&arg, &value)?),
                Opt::Process => parsed.process = Some(index(&arg, &value)?),
                Opt::Hostfile => parsed.hostfile = Some(PathBuf::from(value)),
                Opt::ConnectTimeout => parsed.connect_timeout = Some(duration(&arg, &value)?),
                Opt::Keepalive => parsed.keepalive = Some(keepalive(&arg, &value)?),
                Opt::RoundTimeout => parsed.round_timeout = Some(duration(&arg, &value)?),
            }
        }
        Ok(parsed)
    }

    /// The configuration these options describe, with defaults for the rest.
    pub(crate) fn conf(&self) -> Result<ClusterConf, ConfError> {
        let defaults = ClusterConf::default();
        let conf = ClusterConf {
            threads: self.threads.unwrap_or(defaults.threads),
            processes: self.processes.unwrap_or(defaults.processes),
            process: self.process.unwrap_or(defaults.process),
            hostfile: self.hostfile.clone(),
            addresses: None,
            connect_timeout: self.connect_timeout.unwrap_or(defaults.connect_timeout),
            keepalive: self.keepalive.unwrap_or(defaults.keepalive),
            round_timeout: self.round_timeout.or(defaults.round_timeout),
        };
        conf.validate()?;
        Ok(conf)
    }
}

/// The cluster options, as timely spells them.
#[derive(Debug, Clone, Copy)]
enum Opt {
    Threads,
    Processes,
    Process,
    Hostfile,
    ConnectTimeout,
    Keepalive,
    RoundTimeout,
}

/// Recognises `-w 2`, `-w2`, `--threads 2` and `--threads=2` (and the same
/// for the other options): the option and its inline value, if any.
fn split_option(arg: &str) -> Option<(Opt, Option<String>)> {
    if let Some(long) = arg.strip_prefix("--") {
        let (name, value) = match long.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (long, None),
        };
        let opt = match name {
            "threads" => Opt::Threads,
            "processes" => Opt::Processes,
            "process" => Opt::Process,
            "hostfile" => Opt::Hostfile,
            "connect-timeout" => Opt::ConnectTimeout,
            "keepalive" => Opt::Keepalive,
            "round-timeout" => Opt::RoundTimeout,
            _ => return None,
        };
        return Some((opt, value));
    }
    let short = arg.strip_prefix('-')?;
    let mut chars = short.chars();
    let opt = match chars.next()? {
        'w' => Opt::Threads,
        'n' => Opt::Processes,
        'p' => Opt::Process,
        'h' => Opt::Hostfile,
        _ => return None,
    };
    let rest = chars.as_str();
    Some((opt, (!rest.is_empty()).then(|| rest.to_owned())))
}

/// A count of at least 1.
fn count(option: &str, value: &str) -> Result<usize, ConfError> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| invalid(option, value, "expected a whole number of at least 1"))
}

/// An index from 0.
fn index(option: &str, value: &str) -> Result<usize, ConfError> {
    value
        .trim()
        .parse::<usize>()
        .map_err(|_| invalid(option, value, "expected a whole number from 0"))
}

/// A positive duration: `250ms`, `2s`, `1min` or bare milliseconds (the
/// spelling of ember's other duration settings).
fn duration(option: &str, value: &str) -> Result<Duration, ConfError> {
    let v = value.trim();
    let (digits, scale) = if let Some(d) = v.strip_suffix("ms") {
        (d, 1)
    } else if let Some(d) = v.strip_suffix("min") {
        (d, 60_000)
    } else if let Some(d) = v.strip_suffix('s') {
        (d, 1000)
    } else {
        (v, 1)
    };
    let ms = digits
        .trim()
        .parse::<u64>()
        .map_err(|_| {
            invalid(
                option,
                value,
                "expected a duration such as 500ms, 30s or 1min",
            )
        })?
        .checked_mul(scale)
        .ok_or_else(|| invalid(option, value, "overflows"))?;
    if ms == 0 {
        return Err(invalid(option, value, "must be positive"));
    }
    Ok(Duration::from_millis(ms))
}

/// A keepalive: a [`duration`] of whole seconds, at least 2 s (the
/// operating system counts its keepalive settings in seconds, and
/// [`keepalive`](crate::keepalive) splits the time in two).
fn keepalive(option: &str, value: &str) -> Result<Duration, ConfError> {
    let d = duration(option, value)?;
    if d.subsec_nanos() != 0 || d < Duration::from_secs(2) {
        return Err(invalid(
            option,
            value,
            "expected whole seconds, at least 2s",
        ));
    }
    Ok(d)
}

/// An [`ConfError::InvalidValue`].
fn invalid(option: &str, value: &str, reason: &str) -> ConfError {
    ConfError::InvalidValue {
        option: option.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

impl ClusterConf {
    /// A single process with `threads` worker threads.
    pub fn local(threads: usize) -> ClusterConf {
        ClusterConf {
            threads,
            ..ClusterConf::default()
        }
    }

    /// Reads timely's options from `args` (the program's arguments without
    /// its name): `-w/--threads N`, `-n/--processes N`, `-p/--process I`,
    /// `-h/--hostfile FILE`, and ember's `--connect-timeout D`,
    /// `--keepalive D` and `--round-timeout D`. Returns the
    /// configuration and the remaining arguments, in order, for the
    /// program; `--` ends the options.
    ///
    /// ```
    /// use ember_cluster::ClusterConf;
    /// let args = ["-n", "2", "-p", "1", "--batches", "5"].map(String::from);
    /// let (conf, rest) = ClusterConf::from_args(args).unwrap();
    /// assert_eq!((conf.processes, conf.process), (2, 1));
    /// assert_eq!(rest, ["--batches", "5"]);
    /// ```
    pub fn from_args(
        args: impl IntoIterator<Item = String>,
    ) -> Result<(ClusterConf, Vec<String>), ConfError> {
        let parsed = ParsedArgs::parse(args)?;
        let conf = parsed.conf()?;
        Ok((conf, parsed.free))
    }

    /// Reads `ember.cluster.threads`, `.processes`, `.process`, `.hostfile`,
    /// `.connectTimeout`, `.keepalive` and `.roundTimeout` through `get` (e.g. a `StreamingConf`'s
    /// lookup); unset keys take the defaults (one process, one thread).
    ///
    /// ```
    /// use ember_cluster::ClusterConf;
    /// let conf = ClusterConf::from_settings(|key| match key {
    ///     "ember.cluster.processes" => Some("3".to_owned()),
    ///     "ember.cluster.process" => Some("2".to_owned()),
    ///     _ => None,
    /// })
    /// .unwrap();
    /// assert_eq!((conf.processes, conf.process, conf.threads), (3, 2, 1));
    /// ```
    pub fn from_settings(get: impl Fn(&str) -> Option<String>) -> Result<ClusterConf, ConfError> {
        let defaults = ClusterConf::default();
        let read = |key: &str| get(key).map(|v| (key.to_owned(), v));
        let conf = ClusterConf {
            threads: match read("ember.cluster.threads") {
                Some((k, v)) => count(&k, &v)?,
                None => defaults.threads,
            },
            processes: match read("ember.cluster.processes") {
                Some((k, v)) => count(&k, &v)?,
                None => defaults.processes,
            },
            process: match read("ember.cluster.process") {
                Some((k, v)) => index(&k, &v)?,
                None => defaults.process,
            },
            hostfile: get("ember.cluster.hostfile").map(PathBuf::from),
            addresses: None,
            connect_timeout: match read("ember.cluster.connectTimeout") {
                Some((k, v)) => duration(&k, &v)?,
                None => defaults.connect_timeout,
            },
            keepalive: match read("ember.cluster.keepalive") {
                Some((k, v)) => keepalive(&k, &v)?,
                None => defaults.keepalive,
            },
            round_timeout: match read("ember.cluster.roundTimeout") {
                Some((k, v)) => Some(duration(&k, &v)?),
                None => defaults.round_timeout,
            },
        };
        conf.validate()?;
        Ok(conf)
    }

    /// Checks the counts (at least one thread and process, and a process
    /// index below the process count) and the keepalive (whole seconds, at
    /// least 2 s).
    pub fn validate(&self) -> Result<(), ConfError> {
        if self.threads == 0 {
            return Err(invalid("threads", "0", "expected at least 1"));
        }
        if self.processes == 0 {
            return Err(invalid("processes", "0", "expected at least 1"));
        }
        if self.keepalive.subsec_nanos() != 0 || self.keepalive < Duration::from_secs(2) {
            return Err(invalid(
                "keepalive",
                &format!("{:?}", self.keepalive),
                "expected whole seconds, at least 2s",
            ));
        }
        if self.process >= self.processes {
            return Err(ConfError::ProcessOutOfRange {
                process: self.process,
                processes: self.processes,
            });
        }
        Ok(())
    }

    /// Every process's `host:port`, in process order: `addresses` if set,
    /// else the first `processes` lines of the hostfile, else timely's
    /// default `localhost:2101+i`.
    pub fn resolved_addresses(&self) -> Result<Vec<String>, ConfError> {
        let (source_name, all) = match (&self.addresses, &self.hostfile) {
            (Some(list), _) => ("addresses".to_owned(), list.clone()),
            (None, Some(path)) => (path.display().to_string(), read_hostfile(path)?),
            (None, None) => {
                return Ok((0..self.processes)
                    .map(|i| format!("localhost:{}", usize::from(DEFAULT_BASE_PORT) + i))
                    .collect());
            }
        };
        if all.len() < self.processes {
            return Err(ConfError::TooFewAddresses {
                source_name,
                found: all.len(),
                needed: self.processes,
            });
        }
        let addresses: Vec<String> = all.into_iter().take(self.processes).collect();
        for (process, address) in addresses.iter().enumerate() {
            let port_ok = address
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !port_ok {
                return Err(ConfError::BadAddress {
                    process,
                    address: address.clone(),
                });
            }
        }
        Ok(addresses)
    }
}

/// The non-blank lines of a hostfile, trimmed.
fn read_hostfile(path: &Path) -> Result<Vec<String>, ConfError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfError::HostfileRead {
        path: path.to_owned(),
        source,
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn timely_spellings_parse_and_the_rest_is_left_in_order() {
        let (conf, rest) = ClusterConf::from_args(args(&[
            "in.txt",
            "-w",
            "4",
            "--processes=3",
            "-p2",
            "--hostfile",
            "hosts.txt",
            "--batches",
            "5",
            "--connect-timeout",
            "2s",
            "--keepalive",
            "30s",
            "--round-timeout=1min",
            "--",
            "-n",
            "9",
        ]))
        .unwrap();
        assert_eq!(
            conf,
            ClusterConf {
                threads: 4,
                processes: 3,
                process: 2,
                hostfile: Some(PathBuf::from("hosts.txt")),
                addresses: None,
                connect_timeout: Duration::from_secs(2),
                keepalive: Duration::from_secs(30),
                round_timeout: Some(Duration::from_secs(60)),
            }
        );
        assert_eq!(rest, args(&["in.txt", "--batches", "5", "--", "-n", "9"]));
    }

    #[test]
    fn no_options_is_one_local_process() {
        let (conf, rest) = ClusterConf::from_args(Vec::new()).unwrap();
        assert_eq!(conf, ClusterConf::default());
        assert_eq!(conf, ClusterConf::local(1));
        assert!(rest.is_empty());
        assert_eq!(
            conf.resolved_addresses().unwrap(),
            args(&["localhost:2101"])
        );
    }

    #[test]
    fn wrong_values_are_typed_errors_naming_the_option() {
        let e = ClusterConf::from_args(args(&["-w", "zero"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value \"zero\" for -w: expected a whole number of at least 1"
        );
        let e = ClusterConf::from_args(args(&["--processes", "0"])).unwrap_err();
        assert!(matches!(e, ConfError::InvalidValue { ref option, .. } if option == "--processes"));
        let e = ClusterConf::from_args(args(&["-n", "2", "-p", "2"])).unwrap_err();
        assert!(matches!(
            e,
            ConfError::ProcessOutOfRange {
                process: 2,
                processes: 2
            }
        ));
        let e = ClusterConf::from_args(args(&["-h"])).unwrap_err();
        assert!(matches!(e, ConfError::MissingValue { ref option } if option == "-h"));
        for short in ["1s", "2500ms"] {
            let e = ClusterConf::from_args(args(&["--keepalive", short])).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "invalid value \"{short}\" for --keepalive: expected whole seconds, at least 2s"
                )
            );
        }
        let e = ClusterConf::from_args(args(&["--connect-timeout", "0s"])).unwrap_err();
        assert!(
            matches!(e, ConfError::InvalidValue { ref reason, .. } if reason == "must be positive")
        );
    }

    #[test]
    fn settings_read_the_ember_cluster_keys() {
        let settings = [
            ("ember.cluster.threads", "2"),
            ("ember.cluster.processes", "2"),
            ("ember.cluster.process", "1"),
            ("ember.cluster.hostfile", "/etc/hosts.txt"),
            ("ember.cluster.connectTimeout", "1min"),
            ("ember.cluster.keepalive", "4s"),
            ("ember.cluster.roundTimeout", "90s"),
        ];
        let get = |k: &str| {
            settings
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(
            ClusterConf::from_settings(get).unwrap(),
            ClusterConf {
                threads: 2,
                processes: 2,
                process: 1,
                hostfile: Some(PathBuf::from("/etc/hosts.txt")),
                addresses: None,
                connect_timeout: Duration::from_secs(60),
                keepalive: Duration::from_secs(4),
                round_timeout: Some(Duration::from_secs(90)),
            }
        );
        let e = ClusterConf::from_settings(|k| {
            (k == "ember.cluster.connectTimeout").then(|| "soon".to_owned())
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value \"soon\" for ember.cluster.connectTimeout: expected a duration such as 500ms, 30s or 1min"
        );
        let e =
            ClusterConf::from_settings(|k| (k == "ember.cluster.process").then(|| "1".to_owned()))
                .unwrap_err();
        assert!(matches!(
            e,
            ConfError::ProcessOutOfRange {
                process: 1,
                processes: 1
            }
        ));
    }

    #[test]
    fn hostfile_lines_are_the_addresses_and_short_or_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(&path, "10.0.0.1:2101\n\n10.0.0.2:2101\n10.0.0.3:2101\n").unwrap();
        let conf = ClusterConf {
            processes: 2,
            hostfile: Some(path.clone()),
            ..ClusterConf::default()
        };
        assert_eq!(
            conf.resolved_addresses().unwrap(),
            args(&["10.0.0.1:2101", "10.0.0.2:2101"])
        );
        let conf = ClusterConf {
            processes: 4,
            ..conf
        };
        let e = conf.resolved_addresses().unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{} has 3 addresses, but the cluster has 4 processes",
                path.display()
            )
        );
        let conf = ClusterConf {
            processes: 2,
            addresses: Some(args(&["a:1", "b"])),
            ..conf
        };
        assert!(matches!(
            conf.resolved_addresses().unwrap_err(),
            ConfError::BadAddress { process: 1, .. }
        ));
        let missing = ClusterConf {
            processes: 2,
            hostfile: Some(dir.path().join("absent")),
            ..ClusterConf::default()
        };
        assert!(matches!(
            missing.resolved_addresses().unwrap_err(),
            ConfError::HostfileRead { .. }
        ));
    }
}
