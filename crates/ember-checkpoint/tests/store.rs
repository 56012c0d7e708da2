//! The local checkpoint store: atomic replacement, crash leftovers ignored,
//! large objects memory-mapped.

use std::fs;

use ember_checkpoint::{CheckpointError, CheckpointStore, LocalCheckpointStore};

fn store() -> (tempfile::TempDir, LocalCheckpointStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalCheckpointStore::open(dir.path().join("checkpoints")).unwrap();
    (dir, store)
}

#[test]
fn write_read_list_delete() {
    let (_dir, store) = store();
    assert!(store.list().unwrap().is_empty());
    store.write("b", b"2").unwrap();
    store.write("a", b"1").unwrap();
    assert_eq!(store.list().unwrap(), ["a", "b"]);
    assert_eq!(&*store.read("a").unwrap(), b"1");
    store.delete("a").unwrap();
    store.delete("a").unwrap(); // deleting a missing object is fine
    assert_eq!(store.list().unwrap(), ["b"]);
    let err = store.read("a").unwrap_err();
    assert!(
        matches!(&err, CheckpointError::NotFound { path } if path.ends_with("a")),
        "{err}"
    );
}

#[test]
fn overwrite_replaces_the_whole_object() {
    let (_dir, store) = store();
    store.write("metadata", &[1; 1000]).unwrap();
    store.write("metadata", &[2; 10]).unwrap();
    assert_eq!(&*store.read("metadata").unwrap(), &[2; 10]);
}

/// A crash between writing the temp file and renaming it leaves a dot-file
/// behind (here made by hand, half-written); the old object stays readable,
/// the leftover is invisible to `list`, and recovery sweeps it up.
#[test]
fn crash_leftover_temp_file_is_ignored() {
    let (_dir, store) = store();
    store
        .write("checkpoint-1000", b"complete old checkpoint")
        .unwrap();
    let leftover = store.dir().join(".checkpoint-1000.tmp-4242-0");
    fs::write(&leftover, b"half of a new checkp").unwrap();

    assert_eq!(store.list().unwrap(), ["checkpoint-1000"]);
    assert_eq!(
        &*store.read("checkpoint-1000").unwrap(),
        b"complete old checkpoint"
    );

    assert_eq!(store.remove_stale_temp_files().unwrap(), 1);
    assert!(!leftover.exists());
    assert_eq!(store.list().unwrap(), ["checkpoint-1000"]);
}

#[test]
fn list_ignores_directories_and_dot_files() {
    let (_dir, store) = store();
    store.write("x", b"").unwrap();
    fs::create_dir(store.dir().join("subdir")).unwrap();
    fs::write(store.dir().join(".hidden"), b"").unwrap();
    assert_eq!(store.list().unwrap(), ["x"]);
}

#[test]
fn large_objects_are_memory_mapped() {
    let (_dir, store) = store();
    let big: Vec<u8> = (0..(3 << 20) / 2).map(|i| (i % 251) as u8).collect(); // 1.5 MiB
    store.write("big", &big).unwrap();
    let data = store.read("big").unwrap();
    assert!(data.is_mapped());
    assert_eq!(&*data, &big[..]);

    // Replacing the object while the old one is mapped does not change the
    // mapped bytes: the store renames a new file over it.
    store.write("big", b"small now").unwrap();
    assert_eq!(&data[..10], &big[..10]);
    assert_eq!(data.len(), big.len());
    drop(data);

    let small = store.read("big").unwrap();
    assert!(!small.is_mapped());
    assert_eq!(&*small, b"small now");
}

#[test]
fn mmap_threshold_is_configurable() {
    let (_dir, store) = store();
    let store = store.with_mmap_threshold(4);
    store.write("tiny", b"abcd").unwrap();
    store.write("tinier", b"abc").unwrap();
    store.write("empty", b"").unwrap();
    assert!(store.read("tiny").unwrap().is_mapped());
    assert!(!store.read("tinier").unwrap().is_mapped());
    let empty = store.read("empty").unwrap();
    assert!(!empty.is_mapped());
    assert!(empty.is_empty());
    assert_eq!(store.read("tiny").unwrap().into_vec(), b"abcd");
}

#[test]
fn store_works_through_a_trait_object() {
    let (_dir, store) = store();
    let shared: std::sync::Arc<dyn CheckpointStore> = std::sync::Arc::new(store);
    shared.write("a", b"1").unwrap();
    assert_eq!(&*shared.read("a").unwrap(), b"1");
    assert!(shared.location("a").ends_with("checkpoints/a"));
}

#[test]
fn write_with_streams_into_place_and_a_failed_fill_leaves_nothing() {
    use std::io::SeekFrom;
    let (_dir, store) = store();
    store
        .write_with("obj", &mut |out| {
            out.write_all(b"xxxx-body").unwrap();
            out.seek(SeekFrom::Start(0)).unwrap();
            out.write_all(b"head").unwrap();
            Ok(())
        })
        .unwrap();
    assert_eq!(&*store.read("obj").unwrap(), b"head-body");
    let err = store
        .write_with("other", &mut |out| {
            out.write_all(b"partial").unwrap();
            Err(CheckpointError::TrailingBytes { unused: 1 })
        })
        .unwrap_err();
    assert!(
        matches!(err, CheckpointError::TrailingBytes { unused: 1 }),
        "{err}"
    );
    assert_eq!(store.list().unwrap(), ["obj"]);
    // No temporary file is left behind either.
    assert_eq!(store.remove_stale_temp_files().unwrap(), 0);
}
