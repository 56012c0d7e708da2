//! One round of a cluster job over the [`Exchange`]: every process's share
//! for every process, framed with its outcome, so that a failure on one
//! process fails the job on all of them instead of leaving them waiting.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;
use crate::{Exchange, JobError};

/// What one process sends another in a round.
#[derive(Serialize, Deserialize)]
enum Frame<P> {
    /// Its share.
    Done(P),
    /// Its part of the job failed, with this error.
    Failed(String),
}

fn encode<P: Serialize>(frame: &Frame<P>) -> Result<Vec<u8>, JobError> {
    postcard::to_allocvec(frame).map_err(|e| JobError::Codec {
        action: "encode",
        message: e.to_string(),
    })
}

/// A round where `shares[q]` goes to process `q` (this process's own share
/// stays here without being encoded), or, when `shares` is an error, that
/// error goes to every process. Returns every process's share for this
/// one, by sender; fails with this process's error, else with the first
/// other process's.
pub(crate) fn exchange_shares<P: Serialize + DeserializeOwned>(
    exchange: &dyn Exchange,
    metrics: &Metrics,
    shares: Result<Vec<P>, JobError>,
) -> Result<Vec<P>, JobError> {
    let me = exchange.process();
    let shares = match shares {
        Ok(shares) => shares,
        Err(error) => return fail_round(exchange, metrics, error),
    };
    let mut own = None;
    let mut outgoing = Vec::with_capacity(shares.len());
    for (q, share) in shares.into_iter().enumerate() {
        if q == me {
            own = Some(share);
            outgoing.push(Vec::new());
        } else {
            outgoing.push(encode(&Frame::Done(share))?);
        }
    }
    let incoming = send(exchange, metrics, outgoing)?;
    receive(me, own, incoming)
}

/// A round where every process sends `local` to every process: returns
/// every process's value, by process.
pub(crate) fn all_gather<P: Serialize + DeserializeOwned>(
    exchange: &dyn Exchange,
    metrics: &Metrics,
    local: Result<P, JobError>,
) -> Result<Vec<P>, JobError> {
    let me = exchange.process();
    let local = match local {
        Ok(local) => local,
        Err(error) => return fail_round(exchange, metrics, error),
    };
    let bytes = encode(&Frame::Done(&local))?;
    let outgoing = (0..exchange.processes())
        .map(|q| if q == me { Vec::new() } else { bytes.clone() })
        .collect();
    let incoming = send(exchange, metrics, outgoing)?;
    receive(me, Some(local), incoming)
}

/// Takes part in a round with this process's `error` and returns it.
fn fail_round<P>(
    exchange: &dyn Exchange,
    metrics: &Metrics,
    error: JobError,
) -> Result<P, JobError> {
    let failed = encode(&Frame::<()>::Failed(error.to_string()))?;
    send(exchange, metrics, vec![failed; exchange.processes()])?;
    Err(error)
}

/// Runs the round, counting it and the bytes bound for other processes.
fn send(
    exchange: &dyn Exchange,
    metrics: &Metrics,
    outgoing: Vec<Vec<u8>>,
) -> Result<Vec<Vec<u8>>, JobError> {
    let me = exchange.process();
    let bytes: usize = outgoing
        .iter()
        .enumerate()
        .filter(|(q, _)| *q != me)
        .map(|(_, m)| m.len())
        .sum();
    Metrics::add(&metrics.exchange_rounds, 1);
    Metrics::add(&metrics.exchange_bytes_sent, bytes as u64);
    Ok(exchange.all_to_all(outgoing)?)
}

/// Decodes what every other process sent, with `own` (this process's
/// share) in its place; fails with the first other process's error.
fn receive<P: DeserializeOwned>(
    me: usize,
    mut own: Option<P>,
    incoming: Vec<Vec<u8>>,
) -> Result<Vec<P>, JobError> {
    let mut shares = Vec::with_capacity(incoming.len());
    let mut remote_failure = None;
    for (q, bytes) in incoming.into_iter().enumerate() {
        if q == me {
            shares.push(own.take());
            continue;
        }
        let frame: Frame<P> = postcard::from_bytes(&bytes).map_err(|e| JobError::Codec {
            action: "decode",
            message: format!("from process {q}: {e}"),
        })?;
        match frame {
            Frame::Done(share) => shares.push(Some(share)),
            Frame::Failed(message) => {
                remote_failure.get_or_insert(JobError::RemoteFailed {
                    process: q,
                    message,
                });
                shares.push(None);
            }
        }
    }
    if let Some(error) = remote_failure {
        return Err(error);
    }
    shares
        .into_iter()
        .enumerate()
        .map(|(q, share)| {
            share.ok_or_else(|| JobError::Codec {
                action: "decode",
                message: format!("process {q} sent nothing in a round"),
            })
        })
        .collect()
}
