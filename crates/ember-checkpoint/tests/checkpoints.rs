//! Checkpoint series: retention, each kind of damage, fallback to an older
//! valid checkpoint, and the error when none is valid.

mod common;

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use common::{RecordingStore, WarnCapture};
use ember_checkpoint::format::FORMAT_VERSION;
use ember_checkpoint::{
    CheckpointError, CheckpointSeries, CheckpointStore, DEFAULT_RETAIN, LocalCheckpointStore,
};

const FINGERPRINT: u64 = 0x5EED_F00D;

fn series() -> (tempfile::TempDir, CheckpointSeries<LocalCheckpointStore>) {
    let dir = tempfile::tempdir().unwrap();
    let series = CheckpointSeries::new(LocalCheckpointStore::open(dir.path()).unwrap());
    (dir, series)
}

fn state(n: u64) -> Vec<(String, u64)> {
    vec![("w0".to_string(), n), ("w1".to_string(), n * 2)]
}

fn path_of(series: &CheckpointSeries<LocalCheckpointStore>, time: u64) -> PathBuf {
    series
        .store()
        .location(&CheckpointSeries::<LocalCheckpointStore>::name_for(time))
}

/// Damages the checkpoint file at `time` with `damage`.
fn damage(
    series: &CheckpointSeries<LocalCheckpointStore>,
    time: u64,
    damage: impl FnOnce(&mut Vec<u8>),
) {
    let path = path_of(series, time);
    let mut bytes = fs::read(&path).unwrap();
    damage(&mut bytes);
    fs::write(&path, bytes).unwrap();
}

#[test]
fn names_and_times() {
    type Series = CheckpointSeries<LocalCheckpointStore>;
    assert_eq!(Series::name_for(1500), "checkpoint-1500");
    assert_eq!(Series::time_of("checkpoint-1500"), Some(1500));
    for other in [
        "checkpoint-",
        "checkpoint-+5",
        "checkpoint-1a",
        "metadata",
        "checkpoint-99999999999999999999999",
    ] {
        assert_eq!(Series::time_of(other), None, "{other}");
    }
}

#[test]
fn no_checkpoint_yet_is_none() {
    let (_dir, series) = series();
    assert!(series.latest_valid(Some(FINGERPRINT)).unwrap().is_none());
    assert!(
        series
            .latest_valid_value::<Vec<(String, u64)>>(None)
            .unwrap()
            .is_none()
    );
}

#[test]
fn latest_valid_is_the_newest_and_ordered_by_time_not_name() {
    let (_dir, series) = series();
    for time in [900, 10_000, 2_000] {
        series.write_value(time, FINGERPRINT, &state(time)).unwrap();
    }
    assert_eq!(series.times().unwrap(), [900, 2_000, 10_000]);
    let latest = series.latest_valid(Some(FINGERPRINT)).unwrap().unwrap();
    assert_eq!(latest.time_ms(), 10_000);
    assert_eq!(latest.name(), "checkpoint-10000");
    assert_eq!(latest.fingerprint(), FINGERPRINT);
    assert_eq!(latest.value::<Vec<(String, u64)>>().unwrap(), state(10_000));

    let raw = series.read(2_000, Some(FINGERPRINT)).unwrap();
    assert_eq!(raw.value::<Vec<(String, u64)>>().unwrap(), state(2_000));
}

#[test]
fn retention_keeps_the_newest_n() {
    let (_dir, series) = series();
    assert_eq!(series.retain(), DEFAULT_RETAIN);
    let series = series.with_retain(3);
    for time in (1..=7).map(|k| k * 1000) {
        series.write(time, FINGERPRINT, b"x").unwrap();
        assert!(series.times().unwrap().len() <= 3);
    }
    assert_eq!(series.times().unwrap(), [5000, 6000, 7000]);
}

#[test]
fn retention_deletes_only_after_the_new_checkpoint_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store = RecordingStore::new(LocalCheckpointStore::open(dir.path()).unwrap());
    let series = CheckpointSeries::new(&store).with_retain(2);
    series.write(1000, FINGERPRINT, b"1").unwrap();
    series.write(2000, FINGERPRINT, b"2").unwrap();
    store.take_log();

    series.write(3000, FINGERPRINT, b"3").unwrap();
    assert_eq!(
        store.take_log(),
        [
            "write-start checkpoint-3000",
            "write-durable checkpoint-3000",
            "delete checkpoint-1000"
        ]
    );

    // A write that fails deletes nothing: the old checkpoints stay.
    store.fail_writes.store(true, Ordering::SeqCst);
    assert!(series.write(4000, FINGERPRINT, b"4").is_err());
    assert_eq!(
        store.take_log(),
        [
            "write-start checkpoint-4000",
            "write-failed checkpoint-4000"
        ]
    );
    assert_eq!(series.times().unwrap(), [2000, 3000]);
}

#[test]
fn retention_never_deletes_the_checkpoint_just_written() {
    let (_dir, series) = series();
    let series = series.with_retain(2);
    series.write(5000, FINGERPRINT, b"5").unwrap();
    series.write(6000, FINGERPRINT, b"6").unwrap();
    series.write(1000, FINGERPRINT, b"late").unwrap(); // an older time, written last
    assert_eq!(series.times().unwrap(), [1000, 5000, 6000]);
    series.write(7000, FINGERPRINT, b"7").unwrap();
    assert_eq!(series.times().unwrap(), [6000, 7000]);
}

/// Each kind of damage, read back through the series, gives its own variant,
/// wrapped with the damaged file's path.
#[test]
fn each_kind_of_damage_is_reported_with_its_path() {
    let (_dir, series) = series();
    for time in 1..=6 {
        series
            .write_value(time * 1000, FINGERPRINT, &state(time))
            .unwrap();
    }
    damage(&series, 1000, |b| *b.last_mut().unwrap() ^= 0x40); // flipped byte
    damage(&series, 2000, |b| b.truncate(b.len() / 2)); // truncation
    damage(&series, 3000, |b| b[0] = b'X'); // wrong magic
    damage(&series, 4000, |b| {
        b[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes())
    });
    // 5000 is intact but read with another pipeline's fingerprint.

    type IsRightKind = fn(&CheckpointError) -> bool;
    let cases: [(u64, Option<u64>, IsRightKind); 5] = [
        (1000, Some(FINGERPRINT), |e| {
            matches!(e, CheckpointError::ChecksumMismatch { .. })
        }),
        (2000, Some(FINGERPRINT), |e| {
            matches!(e, CheckpointError::Truncated { .. })
        }),
        (3000, Some(FINGERPRINT), |e| {
            matches!(e, CheckpointError::WrongMagic { .. })
        }),
        (4000, Some(FINGERPRINT), |e| {
            matches!(e, CheckpointError::UnsupportedVersion { .. })
        }),
        (5000, Some(FINGERPRINT + 1), |e| {
            matches!(e, CheckpointError::FingerprintMismatch { .. })
        }),
    ];
    for (time, expected, is_right_kind) in cases {
        match series.read(time, expected).unwrap_err() {
            CheckpointError::Damaged { path, source } => {
                assert_eq!(path, path_of(&series, time));
                assert!(is_right_kind(&source), "{time}: {source}");
            }
            other => panic!("{time}: {other}"),
        }
    }
    assert!(series.read(6000, Some(FINGERPRINT)).is_ok());
    assert!(matches!(
        series.read(7000, Some(FINGERPRINT)),
        Err(CheckpointError::NotFound { .. })
    ));
}

#[test]
fn falls_back_to_an_older_valid_checkpoint_and_warns() {
    let (_dir, series) = series();
    for time in [1000, 2000, 3000] {
        series.write_value(time, FINGERPRINT, &state(time)).unwrap();
    }
    damage(&series, 3000, |b| b[40] ^= 0xFF);
    damage(&series, 2000, |b| b.truncate(20));

    let capture = WarnCapture::default();
    let (time, value) = capture
        .run(|| series.latest_valid_value::<Vec<(String, u64)>>(Some(FINGERPRINT)))
        .unwrap()
        .unwrap();
    assert_eq!((time, value), (1000, state(1000)));

    let warnings = capture.lines();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("checkpoint-3000") && warnings[0].contains("checksum"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1].contains("checkpoint-2000") && warnings[1].contains("truncated"),
        "{}",
        warnings[1]
    );
}

#[test]
fn a_payload_of_the_wrong_type_counts_as_damage() {
    let (_dir, series) = series();
    series.write_value(1000, FINGERPRINT, &state(1)).unwrap();
    series
        .write_value(2000, FINGERPRINT, &"not a word count")
        .unwrap();
    let (time, _) = series
        .latest_valid_value::<Vec<(String, u64)>>(Some(FINGERPRINT))
        .unwrap()
        .unwrap();
    assert_eq!(time, 1000);
    // Without a type to check, the newest intact object is the latest.
    assert_eq!(
        series
            .latest_valid(Some(FINGERPRINT))
            .unwrap()
            .unwrap()
            .time_ms(),
        2000
    );
}

#[test]
fn when_none_is_valid_the_error_names_every_file_and_its_damage() {
    let (_dir, series) = series();
    for time in [1000, 2000, 3000] {
        series.write_value(time, FINGERPRINT, &state(time)).unwrap();
    }
    damage(&series, 1000, |b| b[0] ^= 1);
    damage(&series, 2000, |b| b.truncate(10));
    damage(&series, 3000, |b| *b.last_mut().unwrap() ^= 1);

    let err = series.latest_valid(Some(FINGERPRINT)).unwrap_err();
    let message = err.to_string();
    for (time, what) in [
        (3000, "checksum mismatch"),
        (2000, "truncated"),
        (1000, "magic number"),
    ] {
        let path = path_of(&series, time);
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(what), "{message}");
    }
    let CheckpointError::NoValidCheckpoint { location, damaged } = err else {
        panic!("{message}");
    };
    assert!(location.starts_with(series.store().dir()));
    let names: Vec<&str> = damaged.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        ["checkpoint-3000", "checkpoint-2000", "checkpoint-1000"]
    );
    assert!(matches!(
        damaged[0].error,
        CheckpointError::ChecksumMismatch { .. }
    ));
    assert!(matches!(
        damaged[1].error,
        CheckpointError::Truncated { .. }
    ));
    assert!(matches!(
        damaged[2].error,
        CheckpointError::WrongMagic { .. }
    ));
}

#[test]
fn another_pipelines_checkpoints_are_not_recovered() {
    let (_dir, series) = series();
    series.write_value(1000, FINGERPRINT, &state(1)).unwrap();
    series
        .write_value(2000, FINGERPRINT + 1, &state(2))
        .unwrap();
    let latest = series.latest_valid(Some(FINGERPRINT)).unwrap().unwrap();
    assert_eq!(latest.time_ms(), 1000);
    assert_eq!(series.latest_valid(None).unwrap().unwrap().time_ms(), 2000);
}

#[test]
fn foreign_files_and_crash_leftovers_are_not_checkpoints() {
    let (_dir, series) = series();
    series.write(1000, FINGERPRINT, b"ok").unwrap();
    let dir = series.store().dir().to_owned();
    fs::write(dir.join("metadata"), b"foreign").unwrap();
    fs::write(dir.join(".checkpoint-2000.tmp-1-0"), b"half").unwrap();
    assert_eq!(series.times().unwrap(), [1000]);
    assert_eq!(
        series
            .latest_valid(Some(FINGERPRINT))
            .unwrap()
            .unwrap()
            .payload(),
        b"ok"
    );
}
