//! Fuzz target: write-ahead log recovery on arbitrary segment files.
//!
//! The input's first byte picks how many segment files (1 to 3) the rest is
//! split into; they are written into a fresh directory, and the log is opened
//! and read. Invariants: nothing panics; after open the newest segment is
//! clean (a second open finds no torn tail); every record read back is found
//! again by its pointer; appending after recovery works.

#![no_main]

use std::fs;
use std::path::Path;

use ember_checkpoint::WriteAheadLog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // tmpfs when there is one: fsync there is free, so the fuzzer stays fast.
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();

    let (segments, rest) = match data.split_first() {
        Some((&first, rest)) => (usize::from(first % 3) + 1, rest),
        None => (1, data),
    };
    let chunk = rest.len().div_ceil(segments).max(1);
    let mut chunks: Vec<&[u8]> = rest.chunks(chunk).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    for (id, bytes) in chunks.iter().enumerate() {
        fs::write(dir.path().join(format!("wal-{id:020}.seg")), bytes).unwrap();
    }

    let wal = WriteAheadLog::open(dir.path()).expect("open never fails on damage");
    let records = wal.read_all();
    if let Ok(records) = &records {
        for record in records {
            assert_eq!(wal.read(record.pointer).unwrap(), record.payload);
        }
    }
    // The newest segment is clean after open: iterating never stops there.
    let newest = wal.active_segment_id();
    for record in wal.iter().unwrap() {
        match record {
            Ok(_) => {}
            Err(ember_checkpoint::CheckpointError::WalCorrupt { segment, .. }) => {
                assert_ne!(segment, wal.segment_path(newest));
                break;
            }
            Err(other) => panic!("{other}"),
        }
    }
    drop(wal);

    let mut wal = WriteAheadLog::open(dir.path()).unwrap();
    assert!(wal.torn_tail().is_none());
    let pointer = wal.append(b"after recovery").unwrap();
    assert_eq!(wal.read(pointer).unwrap(), b"after recovery");
    if let Ok(records) = records {
        assert_eq!(wal.read_all().unwrap().len(), records.len() + 1);
    }
});
