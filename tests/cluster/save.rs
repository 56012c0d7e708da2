//! `save_as_text_files` in cluster mode: a 2-process cluster writes its
//! batches into one shared directory, each process its own partitions'
//! parts, and every batch's directory must be Spark's layout
//! (`counts-<time>.txt/part-NNNNN` with distinct indices `0..n`, and
//! `_SUCCESS`) holding exactly the lines local mode wrote for that batch.

use std::path::Path;

use ember::cluster::LocalCluster;
use ember::prelude::*;

use crate::{Error, suite};

/// Runs [`suite::save`] locally and on a 2 x 1 cluster for `seed` and
/// compares the batches' lines as multisets.
pub(crate) fn check_save(seed: u64) -> Result<(), Error> {
    let local = tempfile::tempdir()?;
    let conf = StreamingConf::new()
        .master("local[2]")
        .app_name("ClusterSave")
        .set("spark.ui.enabled", "false");
    let ssc = StreamingContext::new(conf, suite::batch_interval())?;
    suite::save(ssc, seed, &local.path().display().to_string())?;
    let expected = batches(local.path())?;

    let shared = tempfile::tempdir()?;
    let out = shared.path().join("out");
    LocalCluster::new(2, 1)?
        .args([
            "--mode".to_owned(),
            "save".to_owned(),
            "--seed".to_owned(),
            seed.to_string(),
            "--dir".to_owned(),
            shared.path().join("data").display().to_string(),
            "--out".to_owned(),
            out.display().to_string(),
        ])
        .spawn()?
        .wait()?;
    let got = batches(&shared.path().join("data"))?;
    for (i, (local, cluster)) in expected.iter().zip(&got).enumerate() {
        if local != cluster {
            return Err(format!(
                "seed {seed}: batch {i} saved by a 2 x 1 cluster differs from local mode\n  local:   {local:?}\n  cluster: {cluster:?}\n(rerun with EMBER_CLUSTER_SEED={seed})"
            )
            .into());
        }
    }
    let lines: usize = got.iter().take(suite::BATCHES).map(Vec::len).sum();
    println!(
        "save_as_text_files: 2 x 1 cluster, {} batches ({lines} lines) in one shared directory equal local mode's",
        suite::BATCHES
    );
    Ok(())
}

/// The first [`suite::BATCHES`] batch directories of `dir`, oldest first,
/// each as its sorted lines; fails unless each is complete Spark layout
/// and nothing else (a temporary directory) is left.
fn batches(dir: &Path) -> Result<Vec<Vec<String>>, Error> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let time = name
            .strip_prefix("counts-")
            .and_then(|rest| rest.strip_suffix(".txt"))
            .and_then(|ms| ms.parse::<u64>().ok())
            .ok_or_else(|| format!("unexpected entry {name:?} in {}", dir.display()))?;
        dirs.push((time, name));
    }
    dirs.sort();
    if dirs.len() < suite::BATCHES {
        return Err(format!("{} holds {} batches", dir.display(), dirs.len()).into());
    }
    dirs.truncate(suite::BATCHES);
    let mut batches = Vec::new();
    for (_, name) in dirs {
        let batch = dir.join(&name);
        let mut parts = Vec::new();
        let mut success = false;
        for entry in std::fs::read_dir(&batch)? {
            let file = entry?.file_name().to_string_lossy().into_owned();
            match file.strip_prefix("part-") {
                Some(index) if index.len() == 5 => parts.push(index.parse::<usize>()?),
                _ if file == "_SUCCESS" => success = true,
                _ => return Err(format!("unexpected file {file:?} in {name}").into()),
            }
        }
        parts.sort_unstable();
        if !success || parts != (0..parts.len()).collect::<Vec<_>>() || parts.is_empty() {
            return Err(format!(
                "{name}: not a complete output (_SUCCESS: {success}, parts {parts:?})"
            )
            .into());
        }
        let mut lines = Vec::new();
        for part in parts {
            let text = std::fs::read_to_string(batch.join(format!("part-{part:05}")))?;
            lines.extend(text.lines().map(str::to_owned));
        }
        lines.sort();
        batches.push(lines);
    }
    Ok(batches)
}
