//! Property tests of the checkpoint object format: round trips, and every
//! kind of damage detected without a panic.

mod common;

use ember_checkpoint::CheckpointError;
use ember_checkpoint::format::{
    FORMAT_VERSION, HEADER_LEN, MAGIC, decode, decode_value, encode, encode_value,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn bytes_round_trip(fingerprint in any::<u64>(), payload in common::payload()) {
        let object = encode(fingerprint, &payload);
        prop_assert_eq!(object.len(), HEADER_LEN + payload.len());
        prop_assert_eq!(decode(&object, None).unwrap(), &payload[..]);
        prop_assert_eq!(decode(&object, Some(fingerprint)).unwrap(), &payload[..]);
    }

    #[test]
    fn serde_state_round_trips(fingerprint in any::<u64>(), state in common::word_counts()) {
        let object = encode_value(fingerprint, &state).unwrap();
        let back: Vec<(String, u64)> = decode_value(&object, Some(fingerprint)).unwrap();
        prop_assert_eq!(back, state);
    }

    #[test]
    fn other_fingerprints_are_rejected(
        fingerprint in any::<u64>(),
        other in any::<u64>(),
        payload in common::payload(),
    ) {
        prop_assume!(fingerprint != other);
        let object = encode(fingerprint, &payload);
        let err = decode(&object, Some(other)).unwrap_err();
        prop_assert!(
            matches!(err, CheckpointError::FingerprintMismatch { expected, found }
                if expected == other && found == fingerprint),
            "{}", err
        );
    }

    /// A single damaged byte anywhere is detected, and by the check that
    /// guards its field.
    #[test]
    fn every_single_byte_flip_is_detected_by_its_field_check(
        fingerprint in any::<u64>(),
        payload in common::payload(),
        index in any::<prop::sample::Index>(),
        mask in 1u8..=255,
        expect_fingerprint in any::<bool>(),
    ) {
        let mut object = encode(fingerprint, &payload);
        let at = index.index(object.len());
        object[at] ^= mask;
        let expected = expect_fingerprint.then_some(fingerprint);
        let err = decode(&object, expected).unwrap_err();
        let right_check = match at {
            0..8 => matches!(err, CheckpointError::WrongMagic { .. }),
            8..10 => matches!(err, CheckpointError::UnsupportedVersion { .. }),
            10..18 => matches!(err, CheckpointError::ChecksumMismatch { .. }),
            18..26 => matches!(
                err,
                CheckpointError::Truncated { .. } | CheckpointError::LengthMismatch { .. }
            ),
            _ => matches!(err, CheckpointError::ChecksumMismatch { .. }),
        };
        prop_assert!(right_check, "flip at {} gave {}", at, err);
    }

    #[test]
    fn several_flips_are_detected(
        payload in common::payload(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8),
    ) {
        let original = encode(7, &payload);
        let mut object = original.clone();
        for (index, mask) in flips {
            let at = index.index(object.len());
            object[at] ^= mask;
        }
        prop_assume!(object != original); // flips may cancel out
        prop_assert!(decode(&object, Some(7)).is_err());
    }

    #[test]
    fn every_truncation_is_detected_as_truncation(
        payload in common::payload(),
        cut in any::<prop::sample::Index>(),
    ) {
        let object = encode(7, &payload);
        let len = cut.index(object.len());
        let err = decode(&object[..len], Some(7)).unwrap_err();
        prop_assert!(
            matches!(err, CheckpointError::Truncated { found, .. } if found == len as u64),
            "cut at {} gave {}", len, err
        );
    }

    #[test]
    fn garbage_never_panics(garbage in prop::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(decode(&garbage, None).is_err() || garbage.starts_with(&MAGIC));
        let _ = decode_value::<Vec<(String, u64)>>(&garbage, None);
    }

    /// Garbage behind a plausible header prefix gets past the first checks.
    #[test]
    fn garbage_behind_a_header_never_panics(garbage in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut object = MAGIC.to_vec();
        object.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        object.extend_from_slice(&garbage);
        let _ = decode(&object, Some(1));
        let _ = decode_value::<Vec<(String, u64)>>(&object, None);
    }

    /// A valid object whose payload is garbage for the requested type.
    #[test]
    fn garbage_payloads_never_panic_when_deserialized(garbage in prop::collection::vec(any::<u8>(), 0..512)) {
        let object = encode(1, &garbage);
        let _ = decode_value::<Vec<(String, u64)>>(&object, Some(1));
        let _ = decode_value::<(u8, Vec<Option<String>>, u128)>(&object, Some(1));
    }
}

#[test]
fn each_kind_of_damage_has_its_own_variant() {
    let object = encode(42, b"word-count state");

    let mut flipped = object.clone();
    *flipped.last_mut().unwrap() ^= 0x01;
    assert!(matches!(
        decode(&flipped, Some(42)),
        Err(CheckpointError::ChecksumMismatch { .. })
    ));

    let truncated = &object[..object.len() - 3];
    assert!(matches!(
        decode(truncated, Some(42)),
        Err(CheckpointError::Truncated { .. })
    ));

    let mut wrong_magic = object.clone();
    wrong_magic[..8].copy_from_slice(b"PK\x03\x04ZIP!");
    assert!(matches!(
        decode(&wrong_magic, Some(42)),
        Err(CheckpointError::WrongMagic { .. })
    ));

    let mut newer = object.clone();
    newer[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert!(matches!(
        decode(&newer, Some(42)),
        Err(CheckpointError::UnsupportedVersion { found, supported })
            if found == FORMAT_VERSION + 1 && supported == FORMAT_VERSION
    ));

    assert!(matches!(
        decode(&object, Some(43)),
        Err(CheckpointError::FingerprintMismatch {
            expected: 43,
            found: 42
        })
    ));

    let mut longer = object.clone();
    longer.extend_from_slice(b"junk");
    assert!(matches!(
        decode(&longer, Some(42)),
        Err(CheckpointError::LengthMismatch { .. })
    ));
}

#[test]
fn streamed_objects_equal_encoded_ones_and_work_after_a_prefix() {
    use std::io::Cursor;
    for n in [0usize, 1, 1000, 100_000] {
        let value: Vec<(String, u64)> = (0..n).map(|i| (format!("k{i}"), i as u64)).collect();
        let mut out = Cursor::new(Vec::new());
        ember_checkpoint::write_value_to(&mut out, 42, &value).unwrap();
        assert_eq!(
            out.into_inner(),
            ember_checkpoint::encode_value(42, &value).unwrap()
        );
        // Written after other bytes, the object starts where the writer was.
        let mut out = Cursor::new(b"prefix".to_vec());
        out.set_position(6);
        ember_checkpoint::write_value_to(&mut out, 42, &value).unwrap();
        let bytes = out.into_inner();
        let back: Vec<(String, u64)> =
            ember_checkpoint::decode_value(&bytes[6..], Some(42)).unwrap();
        assert_eq!(back, value);
    }
}
