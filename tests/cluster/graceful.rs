//! A graceful stop in cluster mode processes every record the receivers
//! accepted, on every process: two fast receivers (receiver `i` on process
//! `i % 2`) in a 2 x 2 cluster store numbered records until refused; after
//! 1.5 s process 1 — not the driver — asks for a graceful stop. Every
//! process must stop its receivers and the cluster must run batches until
//! each has processed what its receivers accepted: the records the batches
//! processed (count and sum, cluster-wide) must be exactly those whose
//! `store` returned `Ok`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration as StdDuration;

use ember::cluster::{Cluster, ClusterConf, LocalCluster};
use ember::prelude::*;
use ember::sources::receiver::{Receiver, ReceiverContext};

use crate::Error;

/// Receiver `i` stores `i * BASE + n` for n = 0, 1, 2, ...
const BASE: u64 = 1_000_000_000;

/// Stores `base`, `base + 1`, ... 500 at a time every 10 ms until refused.
struct Fast {
    base: u64,
    accepted: Arc<AtomicU64>,
}

impl Receiver<u64> for Fast {
    fn on_start(&self, ctx: &ReceiverContext<u64>) {
        let mut n = 0;
        loop {
            for _ in 0..500 {
                if ctx.store(self.base + n).is_err() {
                    return; // stopping: this one was refused
                }
                n += 1;
                self.accepted.store(n, Ordering::SeqCst);
            }
            std::thread::sleep(StdDuration::from_millis(10));
        }
    }
}

/// A cluster process's part: writes `<out>.<process>.accepted` (one line
/// `<receiver> <records accepted>` per receiver, 0 for those running on
/// another process) and, on process 0, `<out>` (`<count> <sum>` of the
/// records processed).
pub(crate) fn process(
    joined: &Arc<Cluster>,
    cluster: &ClusterConf,
    out: &str,
) -> Result<(), Error> {
    let conf = StreamingConf::new()
        .master(format!("local[{}]", cluster.threads))
        .app_name("ClusterGracefulStop")
        .set("spark.ui.enabled", "false")
        .set("spark.streaming.blockInterval", "50ms");
    let ssc = StreamingContext::with_exchange(
        conf,
        Duration::from_millis(200),
        Arc::clone(joined) as Arc<dyn ember::rdd::Exchange>,
    )?;
    let accepted: Vec<Arc<AtomicU64>> = (0..2).map(|_| Arc::default()).collect();
    let streams: Vec<DStream<u64>> = accepted
        .iter()
        .enumerate()
        .map(|(i, accepted)| {
            ssc.receiver_stream(Fast {
                base: i as u64 * BASE,
                accepted: Arc::clone(accepted),
            })
        })
        .collect();
    let (count, sum) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (c, s) = (Arc::clone(&count), Arc::clone(&sum));
    ssc.union(&streams)?.foreach_rdd(move |rdd, _| {
        let records = rdd.collect()?;
        c.fetch_add(records.len() as u64, Ordering::SeqCst);
        s.fetch_add(records.iter().sum::<u64>(), Ordering::SeqCst);
        Ok(())
    })?;
    ssc.start()?;
    if cluster.process == 1 {
        // The scenario: 1.5 s, and some records processed (a loaded
        // machine may start the receivers late).
        std::thread::sleep(StdDuration::from_millis(1_500));
        let deadline = std::time::Instant::now() + StdDuration::from_secs(30);
        while count.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(StdDuration::from_millis(50));
        }
        ssc.stop(StopOptions {
            stop_gracefully: true,
        })?;
    } else {
        ssc.await_termination()?;
    }
    let lines: Vec<String> = accepted
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{i} {}", n.load(Ordering::SeqCst)))
        .collect();
    std::fs::write(
        format!("{out}.{}.accepted", cluster.process),
        lines.join("\n"),
    )?;
    if cluster.process == 0 {
        std::fs::write(
            out,
            format!(
                "{} {}",
                count.load(Ordering::SeqCst),
                sum.load(Ordering::SeqCst)
            ),
        )?;
    }
    Ok(())
}

/// Runs the 2 x 2 cluster and compares what it processed with what its
/// receivers accepted.
pub(crate) fn check() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("graceful");
    LocalCluster::new(2, 2)?
        .args([
            "--mode".to_owned(),
            "graceful".to_owned(),
            "--out".to_owned(),
            out.display().to_string(),
        ])
        .spawn()?
        .wait()?;
    let (mut count, mut sum) = (0u64, 0u64);
    for process in 0..2 {
        let text = std::fs::read_to_string(format!("{}.{process}.accepted", out.display()))?;
        for line in text.lines() {
            let (receiver, n) = line
                .split_once(' ')
                .ok_or_else(|| format!("bad line {line:?}"))?;
            let (receiver, n): (u64, u64) = (receiver.parse()?, n.parse()?);
            count += n;
            sum += n * receiver * BASE + n * n.saturating_sub(1) / 2;
        }
    }
    let processed = std::fs::read_to_string(&out)?;
    let expected = format!("{count} {sum}");
    if processed != expected || count == 0 {
        return Err(format!(
            "graceful stop in a 2 x 2 cluster: processed (count sum) {processed:?}, the receivers accepted {expected:?}"
        )
        .into());
    }
    println!(
        "graceful stop: 2 x 2 cluster, stop asked by process 1, all {count} records the receivers accepted were processed once"
    );
    Ok(())
}
