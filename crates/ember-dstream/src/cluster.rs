//! Cluster mode from the configuration (cargo feature `cluster`): the
//! `ember.cluster.*` keys, [`StreamingConf::cluster`] to set them from
//! timely's options, and the connection a [`StreamingContext`] makes when
//! they name more than one process.
//!
//! [`StreamingContext`]: crate::StreamingContext

use std::sync::Arc;

use ember_cluster::{Cluster, ClusterConf};

use crate::{StreamingConf, StreamingError};

/// `ember.cluster.addresses`: the processes' `host:port`, comma-separated,
/// in process order (instead of a hostfile).
const ADDRESSES_KEY: &str = "ember.cluster.addresses";

impl StreamingConf {
    /// Runs the context as process `cluster.process` of a cluster of
    /// `cluster.processes` processes with `cluster.threads` worker threads
    /// each: sets `ember.cluster.threads`, `.processes`, `.process`,
    /// `.hostfile` or `.addresses`, `.connectTimeout`, `.keepalive` and
    /// `.roundTimeout` (when set). With one
    /// process nothing changes: the context runs locally.
    ///
    /// ```
    /// use ember_cluster::ClusterConf;
    /// use ember_dstream::StreamingConf;
    /// let args = ["-n", "2", "-p", "1", "-w", "4"].map(String::from);
    /// let (cluster, _rest) = ClusterConf::from_args(args).unwrap();
    /// let conf = StreamingConf::new().cluster(&cluster);
    /// assert_eq!(conf.get("ember.cluster.process"), Some("1"));
    /// assert_eq!(conf.get("ember.cluster.threads"), Some("4"));
    /// assert_eq!(conf.get("ember.cluster.keepalive"), Some("10s"));
    /// ```
    pub fn cluster(self, cluster: &ClusterConf) -> Self {
        let mut conf = self
            .set("ember.cluster.threads", cluster.threads.to_string())
            .set("ember.cluster.processes", cluster.processes.to_string())
            .set("ember.cluster.process", cluster.process.to_string())
            .set(
                "ember.cluster.connectTimeout",
                format!("{}ms", cluster.connect_timeout.as_millis()),
            )
            .set(
                "ember.cluster.keepalive",
                format!("{}s", cluster.keepalive.as_secs()),
            );
        if let Some(t) = cluster.round_timeout {
            conf = conf.set("ember.cluster.roundTimeout", format!("{}ms", t.as_millis()));
        }
        if let Some(hostfile) = &cluster.hostfile {
            conf = conf.set("ember.cluster.hostfile", hostfile.display().to_string());
        }
        if let Some(addresses) = &cluster.addresses {
            conf = conf.set(ADDRESSES_KEY, addresses.join(","));
        }
        conf
    }
}

/// The cluster `conf` describes, joined, with its worker threads per
/// process; `None` for one process (local mode).
pub(crate) fn connect(
    conf: &StreamingConf,
) -> Result<Option<(Arc<Cluster>, usize)>, StreamingError> {
    let mut cluster = ClusterConf::from_settings(|key| conf.get(key).map(str::to_owned))
        .map_err(|e| StreamingError::Cluster(Arc::new(e.into())))?;
    if cluster.processes <= 1 {
        return Ok(None);
    }
    if let Some(addresses) = conf.get(ADDRESSES_KEY) {
        cluster.addresses = Some(addresses.split(',').map(str::to_owned).collect());
    }
    tracing::info!(
        process = cluster.process,
        processes = cluster.processes,
        threads = cluster.threads,
        "joining the cluster"
    );
    let joined = Cluster::connect(&cluster).map_err(|e| StreamingError::Cluster(Arc::new(e)))?;
    Ok(Some((Arc::new(joined), cluster.threads)))
}
