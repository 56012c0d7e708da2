//! Fuzz target: a valid write-ahead log, damaged one way, then recovered.
//!
//! Records are appended with a small segment size, then one damage is
//! applied: the newest segment cut at some point, garbage appended to it, or
//! one byte flipped in some segment. Invariants: opening never fails; what
//! reads back is always an exact prefix of the records written (a damaged
//! record is never returned); cutting or extending the newest segment loses
//! exactly the records no longer complete; a flip in a sealed segment is an
//! error, not silent loss.

#![no_main]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use ember_checkpoint::{CheckpointError, WalOptions, WriteAheadLog};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Damage {
    None,
    Truncate(u32),
    AppendGarbage(Vec<u8>),
    Flip { segment: u8, at: u32, mask: u8 },
}

#[derive(Debug, Arbitrary)]
struct Input {
    records: Vec<Vec<u8>>,
    max_segment: u16,
    damage: Damage,
}

fuzz_target!(|input: Input| {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let options = WalOptions::new().max_segment_bytes(u64::from(input.max_segment));

    let mut wal = WriteAheadLog::open_with(dir.path(), options).unwrap();
    let pointers: Vec<_> = input.records.iter().map(|r| wal.append(r).unwrap()).collect();
    let segments = wal.segment_ids().unwrap();
    let newest = wal.active_segment_id();
    let newest_path = wal.segment_path(newest);
    drop(wal);

    let newest_len = fs::metadata(&newest_path).unwrap().len();
    // How many records survive when the newest segment keeps `kept` bytes.
    let surviving = |kept: u64| {
        pointers
            .iter()
            .take_while(|p| p.segment_id < newest || p.offset + 8 + u64::from(p.len) <= kept)
            .count()
    };
    let mut sealed_flip = false;
    let expected = match &input.damage {
        Damage::None => Some(pointers.len()),
        Damage::Truncate(at) => {
            let kept = u64::from(*at) % (newest_len + 1);
            OpenOptions::new().write(true).open(&newest_path).unwrap().set_len(kept).unwrap();
            Some(surviving(kept))
        }
        Damage::AppendGarbage(garbage) => {
            OpenOptions::new().append(true).open(&newest_path).unwrap().write_all(garbage).unwrap();
            // Garbage that happens to form valid records is read as records.
            None
        }
        Damage::Flip { segment, at, mask } => {
            let id = segments[usize::from(*segment) % segments.len()];
            let path = dir.path().join(format!("wal-{id:020}.seg"));
            let mut bytes = fs::read(&path).unwrap();
            if !bytes.is_empty() && *mask != 0 {
                let at = *at as usize % bytes.len();
                bytes[at] ^= mask;
                fs::write(&path, bytes).unwrap();
                sealed_flip = id != newest;
            }
            None
        }
    };

    let wal = WriteAheadLog::open_with(dir.path(), options).unwrap();
    match wal.read_all() {
        Ok(records) => {
            assert!(!sealed_flip, "a flipped byte in a sealed segment went unnoticed");
            let n = records.len().min(input.records.len());
            for (got, want) in records.iter().zip(&input.records).take(n) {
                assert_eq!(&got.payload, want);
            }
            match expected {
                Some(count) => assert_eq!(records.len(), count),
                None => assert!(
                    records.len() <= input.records.len()
                        || matches!(input.damage, Damage::AppendGarbage(_))
                ),
            }
        }
        Err(CheckpointError::WalCorrupt { segment, .. }) => {
            assert!(sealed_flip, "unexpected damage in {}", segment.display());
            assert_ne!(segment, newest_path);
        }
        Err(other) => panic!("{other}"),
    }
});
