//! What a user sees of a checkpoint error, e.g. printed by a `main` that
//! returns it (with `Debug`): the message with its context, the found magic
//! number as text rather than raw bytes, and what to do.

use std::path::PathBuf;

use ember_checkpoint::{CheckpointError, DamagedCheckpoint, decode};

#[test]
fn a_foreign_file_names_its_magic_number_as_text() {
    // A zip archive's first bytes, padded to a header's length.
    let mut bytes = b"PK\x03\x04\x14\x00\x00\x00".to_vec();
    bytes.resize(64, 0);
    let err = decode(&bytes, None).unwrap_err();
    let expected = "not an ember checkpoint object: its magic number is \"PK\\x03\\x04\\x14\\x00\\x00\\x00\" \
                    where ember's is \"EMBERCKP\" (a file another program left in the checkpoint \
                    directory, or a damaged one: move it out of the directory)";
    assert_eq!(err.to_string(), expected);
    assert_eq!(format!("{err:?}"), expected);
}

#[test]
fn no_valid_checkpoint_says_what_to_do() {
    let err = CheckpointError::NoValidCheckpoint {
        location: PathBuf::from("/data/ckpt"),
        damaged: vec![DamagedCheckpoint {
            name: "checkpoint-3000".to_owned(),
            path: PathBuf::from("/data/ckpt/checkpoint-3000"),
            error: CheckpointError::Truncated {
                needed: 40,
                found: 10,
            },
        }],
    };
    let expected = "no valid checkpoint in /data/ckpt: /data/ckpt/checkpoint-3000: checkpoint \
                    object truncated: 10 bytes, expected at least 40; nothing can be recovered \
                    from it: restore the directory from a backup, or move it aside (or use \
                    another directory) to start afresh without the old state";
    assert_eq!(err.to_string(), expected);
    assert_eq!(format!("{err:?}"), expected);
}
