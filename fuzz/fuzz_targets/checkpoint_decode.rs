//! Fuzz target: checkpoint object decoding on arbitrary bytes.
//!
//! Invariants: `decode` and `decode_value` never panic; whatever decodes
//! re-encodes to exactly the same bytes (so nothing is accepted that the
//! encoder would not have written); arbitrary payloads behind a valid header
//! never make postcard deserialization panic.

#![no_main]

use ember_checkpoint::format::{HEADER_LEN, decode, decode_value, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(payload) = decode(data, None) {
        let mut fingerprint = [0u8; 8];
        fingerprint.copy_from_slice(&data[10..18]);
        let fingerprint = u64::from_le_bytes(fingerprint);
        assert_eq!(encode(fingerprint, payload), data);
        assert_eq!(payload.len() + HEADER_LEN, data.len());
        assert!(decode(data, Some(fingerprint)).is_ok());
        assert!(decode(data, Some(fingerprint.wrapping_add(1))).is_err());
    }
    let _ = decode_value::<Vec<(String, u64)>>(data, None);

    // The same bytes as the payload of an intact object.
    let object = encode(1, data);
    assert_eq!(decode(&object, Some(1)).ok(), Some(data));
    let _ = decode_value::<Vec<(String, u64)>>(&object, Some(1));
    let _ = decode_value::<(Option<u8>, Vec<Vec<u8>>, String, i128)>(&object, Some(1));
});
