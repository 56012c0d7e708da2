//! The write-ahead log: round trips, rotation, deletion, torn tails cut off
//! on open, damage in sealed segments reported.

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::time::{Duration, SystemTime};

use ember_checkpoint::{
    CheckpointError, RecordDamage, RecordPointer, WalOptions, WalRecord, WriteAheadLog,
};
use proptest::prelude::*;

fn payloads(records: &[WalRecord]) -> Vec<Vec<u8>> {
    records.iter().map(|r| r.payload.clone()).collect()
}

fn small_segments(bytes: u64) -> WalOptions {
    WalOptions::new().max_segment_bytes(bytes)
}

#[test]
fn append_read_round_trip_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = WriteAheadLog::open(dir.path()).unwrap();
    let big = vec![7u8; 200_000]; // written without coalescing
    let records: Vec<&[u8]> = vec![b"one", b"", b"three", &big];
    let pointers: Vec<RecordPointer> = records.iter().map(|r| wal.append(r).unwrap()).collect();
    wal.sync().unwrap();
    assert_eq!(
        pointers[0],
        RecordPointer {
            segment_id: 0,
            offset: 0,
            len: 3
        }
    );
    assert_eq!(pointers[1].offset, 11);
    for (pointer, record) in pointers.iter().zip(&records) {
        assert_eq!(wal.read(*pointer).unwrap(), *record);
    }
    drop(wal);

    let mut wal = WriteAheadLog::open(dir.path()).unwrap();
    assert!(wal.torn_tail().is_none());
    let all = wal.read_all().unwrap();
    assert_eq!(
        payloads(&all),
        records.iter().map(|r| r.to_vec()).collect::<Vec<_>>()
    );
    assert_eq!(all.iter().map(|r| r.pointer).collect::<Vec<_>>(), pointers);

    let next = wal.append(b"after reopen").unwrap();
    assert_eq!(next.offset, pointers[3].offset + 8 + 200_000);
    assert_eq!(wal.read_all().unwrap().len(), 5);
}

#[test]
fn rotation_starts_new_segments_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = WriteAheadLog::open_with(dir.path(), small_segments(100)).unwrap();
    let mut pointers = Vec::new();
    for i in 0..10u8 {
        pointers.push(wal.append(&[i; 40]).unwrap()); // 48-byte frames: two per segment
    }
    let segments: Vec<u64> = pointers.iter().map(|p| p.segment_id).collect();
    assert_eq!(segments, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    assert_eq!(wal.segment_ids().unwrap(), [0, 1, 2, 3, 4]);
    assert_eq!(wal.active_segment_id(), 4);
    for id in 0..5 {
        assert_eq!(fs::metadata(wal.segment_path(id)).unwrap().len(), 96);
    }
    // A record larger than a segment gets one of its own.
    let huge = wal.append(&[9; 500]).unwrap();
    assert_eq!((huge.segment_id, huge.offset), (5, 0));
    let next = wal.append(b"x").unwrap();
    assert_eq!((next.segment_id, next.offset), (6, 0));

    let all = wal.read_all().unwrap();
    assert_eq!(all.len(), 12);
    assert_eq!(all[3].payload, [3; 40]);

    wal.rotate().unwrap();
    assert_eq!(wal.active_segment_id(), 7);
    wal.rotate().unwrap(); // an empty segment is not rotated again
    assert_eq!(wal.active_segment_id(), 7);
}

#[test]
fn deleting_old_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = WriteAheadLog::open_with(dir.path(), small_segments(50)).unwrap();
    let pointers: Vec<_> = (0..6u8).map(|i| wal.append(&[i; 40]).unwrap()).collect();
    assert_eq!(wal.segment_ids().unwrap(), [0, 1, 2, 3, 4, 5]);

    assert_eq!(wal.delete_segments_before(2).unwrap(), 2);
    assert_eq!(wal.segment_ids().unwrap(), [2, 3, 4, 5]);
    assert_eq!(payloads(&wal.read_all().unwrap())[0], [2; 40]);
    let err = wal.read(pointers[0]).unwrap_err();
    assert!(
        matches!(err, CheckpointError::InvalidPointer { .. }),
        "{err}"
    );

    // Never the active segment, whatever is asked.
    assert_eq!(wal.delete_segments_before(u64::MAX).unwrap(), 3);
    assert_eq!(wal.segment_ids().unwrap(), [5]);
    assert_eq!(wal.read(pointers[5]).unwrap(), [5; 40]);
}

#[test]
fn deleting_segments_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = WriteAheadLog::open_with(dir.path(), small_segments(50)).unwrap();
    for i in 0..3u8 {
        wal.append(&[i; 40]).unwrap();
    }
    // Nothing was written before an hour ago.
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    assert_eq!(wal.delete_segments_older_than(hour_ago).unwrap(), 0);
    // Everything sealed was written before a minute from now; the active
    // segment stays.
    let soon = SystemTime::now() + Duration::from_secs(60);
    assert_eq!(wal.delete_segments_older_than(soon).unwrap(), 2);
    assert_eq!(wal.segment_ids().unwrap(), [2]);
}

#[test]
fn torn_tail_written_by_hand_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = WriteAheadLog::open(dir.path()).unwrap();
    wal.append(b"first").unwrap();
    let second = wal.append(b"second").unwrap();
    wal.sync().unwrap();
    let segment = wal.segment_path(0);
    drop(wal);

    // A crash mid-append: a frame header promising 100 bytes, and 3 of them.
    let intact_len = fs::metadata(&segment).unwrap().len();
    let mut file = OpenOptions::new().append(true).open(&segment).unwrap();
    file.write_all(&100u32.to_le_bytes()).unwrap();
    file.write_all(&0xDEAD_BEEFu32.to_le_bytes()).unwrap();
    file.write_all(b"abc").unwrap();
    drop(file);

    let mut wal = WriteAheadLog::open(dir.path()).unwrap();
    let torn = wal.torn_tail().unwrap().clone();
    assert_eq!(torn.offset, intact_len);
    assert_eq!(torn.dropped_bytes, 11);
    assert_eq!(
        torn.damage,
        RecordDamage::TruncatedPayload {
            declared: 100,
            available: 3
        }
    );
    assert_eq!(fs::metadata(&segment).unwrap().len(), intact_len);
    assert_eq!(
        payloads(&wal.read_all().unwrap()),
        [b"first".to_vec(), b"second".to_vec()]
    );

    // Appending continues right after the last intact record.
    let third = wal.append(b"third").unwrap();
    assert_eq!(third.offset, second.offset + 8 + 6);
    drop(wal);
    let wal = WriteAheadLog::open(dir.path()).unwrap();
    assert!(wal.torn_tail().is_none());
    assert_eq!(wal.read_all().unwrap().len(), 3);
}

#[test]
fn checksum_bad_last_record_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = WriteAheadLog::open(dir.path()).unwrap();
    wal.append(b"kept").unwrap();
    let last = wal.append(b"torn by a lost page").unwrap();
    let segment = wal.segment_path(0);
    drop(wal);
    let mut bytes = fs::read(&segment).unwrap();
    *bytes.last_mut().unwrap() ^= 0xFF;
    fs::write(&segment, bytes).unwrap();

    let wal = WriteAheadLog::open(dir.path()).unwrap();
    let torn = wal.torn_tail().unwrap();
    assert_eq!(torn.offset, last.offset);
    assert!(matches!(torn.damage, RecordDamage::ChecksumMismatch { .. }));
    assert_eq!(payloads(&wal.read_all().unwrap()), [b"kept".to_vec()]);
}

#[test]
fn zero_filled_tail_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = WriteAheadLog::open(dir.path()).unwrap();
    wal.append(b"kept").unwrap();
    let segment = wal.segment_path(0);
    drop(wal);
    // The file system extended the file but the data never landed.
    let mut file = OpenOptions::new().append(true).open(&segment).unwrap();
    file.write_all(&[0; 64]).unwrap();
    drop(file);

    let wal = WriteAheadLog::open(dir.path()).unwrap();
    assert_eq!(wal.torn_tail().unwrap().dropped_bytes, 64);
    assert_eq!(payloads(&wal.read_all().unwrap()), [b"kept".to_vec()]);
}

#[test]
fn damage_in_a_sealed_segment_is_an_error_naming_segment_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = WriteAheadLog::open_with(dir.path(), small_segments(100)).unwrap();
    let pointers: Vec<_> = (0..6u8).map(|i| wal.append(&[i; 40]).unwrap()).collect();
    let damaged = pointers[3]; // second record of segment 1
    assert_eq!((damaged.segment_id, damaged.offset), (1, 48));
    let segment = wal.segment_path(1);
    drop(wal);
    let mut bytes = fs::read(&segment).unwrap();
    bytes[48 + 8 + 10] ^= 0x01;
    fs::write(&segment, &bytes).unwrap();

    let wal = WriteAheadLog::open_with(dir.path(), small_segments(100)).unwrap();
    assert!(wal.torn_tail().is_none()); // the newest segment is intact
    let mut iter = wal.iter().unwrap();
    for expected in 0..3u8 {
        assert_eq!(iter.next().unwrap().unwrap().payload, [expected; 40]);
    }
    let err = iter.next().unwrap().unwrap_err();
    match &err {
        CheckpointError::WalCorrupt {
            segment: path,
            offset,
            damage,
        } => {
            assert_eq!(path, &segment);
            assert_eq!(*offset, 48);
            assert!(matches!(damage, RecordDamage::ChecksumMismatch { .. }));
        }
        other => panic!("{other}"),
    }
    assert!(
        err.to_string().contains("wal-00000000000000000001.seg"),
        "{err}"
    );
    assert!(err.to_string().contains("offset 48"), "{err}");
    assert!(iter.next().is_none());
    assert!(wal.read_all().is_err());

    let err = wal.read(damaged).unwrap_err();
    assert!(
        matches!(err, CheckpointError::WalCorrupt { offset: 48, .. }),
        "{err}"
    );
    // The other records stay readable by pointer.
    assert_eq!(wal.read(pointers[5]).unwrap(), [5; 40]);

    // A truncated sealed segment is damage too, not a torn tail.
    fs::write(&segment, &bytes[..60]).unwrap();
    let wal = WriteAheadLog::open_with(dir.path(), small_segments(100)).unwrap();
    let err = wal.read_all().unwrap_err();
    assert!(
        matches!(
            err,
            CheckpointError::WalCorrupt {
                offset: 48,
                damage: RecordDamage::TruncatedPayload { .. },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn pointers_that_do_not_point_at_records_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = WriteAheadLog::open(dir.path()).unwrap();
    let p = wal.append(b"hello").unwrap();
    for bad in [
        RecordPointer { len: 4, ..p },
        RecordPointer { offset: 1, ..p },
        RecordPointer {
            offset: u64::MAX,
            ..p
        },
        RecordPointer { segment_id: 9, ..p },
    ] {
        assert!(wal.read(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn foreign_files_in_the_directory_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("README"), b"not a segment").unwrap();
    fs::write(dir.path().join("wal-1.seg"), b"short id: not ours").unwrap();
    let mut wal = WriteAheadLog::open(dir.path()).unwrap();
    wal.append(b"x").unwrap();
    assert_eq!(wal.segment_ids().unwrap(), [0]);
    assert_eq!(wal.read_all().unwrap().len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random records, then a crash that cuts the newest segment at a random
    /// point: every record completely before the cut is read back, nothing
    /// after it, and appending goes on cleanly.
    #[test]
    fn random_tail_truncation_keeps_exactly_the_complete_records(
        records in common::wal_records(),
        max_segment in 64u64..2048,
        cut in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let options = small_segments(max_segment);
        let mut wal = WriteAheadLog::open_with(dir.path(), options).unwrap();
        let pointers: Vec<_> = records.iter().map(|r| wal.append(r).unwrap()).collect();
        let last = wal.active_segment_id();
        let segment = wal.segment_path(last);
        drop(wal);

        let len = fs::metadata(&segment).unwrap().len();
        let cut_at = cut.index(len as usize + 1) as u64;
        OpenOptions::new().write(true).open(&segment).unwrap().set_len(cut_at).unwrap();

        let expected: Vec<Vec<u8>> = records
            .iter()
            .zip(&pointers)
            .filter(|(_, p)| p.segment_id < last || p.offset + 8 + u64::from(p.len) <= cut_at)
            .map(|(r, _)| r.clone())
            .collect();
        let on_boundary = cut_at == len
            || pointers.iter().any(|p| p.segment_id == last && p.offset == cut_at);

        let mut wal = WriteAheadLog::open_with(dir.path(), options).unwrap();
        prop_assert_eq!(wal.torn_tail().is_none(), on_boundary);
        prop_assert_eq!(payloads(&wal.read_all().unwrap()), expected.clone());

        let after = wal.append(b"after the crash").unwrap();
        prop_assert_eq!(wal.read(after).unwrap(), b"after the crash");
        let mut with_new = expected;
        with_new.push(b"after the crash".to_vec());
        prop_assert_eq!(payloads(&wal.read_all().unwrap()), with_new);
    }

    /// Random garbage after the last record (a torn write of unknown bytes)
    /// is cut off; every record is kept.
    #[test]
    fn random_garbage_tail_is_cut_off(
        records in common::wal_records(),
        garbage in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = WriteAheadLog::open(dir.path()).unwrap();
        for r in &records {
            wal.append(r).unwrap();
        }
        let segment = wal.segment_path(wal.active_segment_id());
        drop(wal);
        OpenOptions::new().append(true).open(&segment).unwrap().write_all(&garbage).unwrap();

        let wal = WriteAheadLog::open(dir.path()).unwrap();
        prop_assert!(wal.torn_tail().is_some());
        prop_assert_eq!(payloads(&wal.read_all().unwrap()), records);
    }
}
