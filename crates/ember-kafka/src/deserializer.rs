//! How a record's key and value bytes become Rust values: the
//! [`Deserializer`] trait (Kafka's `Deserializer`), with
//! [`BytesDeserializer`] and [`StringDeserializer`].

/// Turns the bytes of a record's key or value into a `T`. It runs on the
/// workers while a batch is read, once per non-null key or value; a panic is
/// caught and becomes [`KafkaError::Deserialize`](crate::KafkaError).
///
/// ```
/// use ember_kafka::Deserializer;
/// /// Big-endian u64 values.
/// struct U64Deserializer;
/// impl Deserializer<u64> for U64Deserializer {
///     fn deserialize(&self, _topic: &str, data: &[u8]) -> Result<u64, String> {
///         let bytes: [u8; 8] = data.try_into().map_err(|_| format!("{} bytes, not 8", data.len()))?;
///         Ok(u64::from_be_bytes(bytes))
///     }
/// }
/// assert_eq!(U64Deserializer.deserialize("t", &7u64.to_be_bytes()), Ok(7));
/// ```
pub trait Deserializer<T>: Send + Sync + 'static {
    /// The value held by `data`, read from `topic`, or why it is invalid.
    fn deserialize(&self, topic: &str, data: &[u8]) -> Result<T, String>;
}

/// The bytes as they are (Kafka's `ByteArrayDeserializer`): one copy out of
/// the client's fetch buffer.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesDeserializer;

impl Deserializer<Vec<u8>> for BytesDeserializer {
    fn deserialize(&self, _topic: &str, data: &[u8]) -> Result<Vec<u8>, String> {
        Ok(data.to_vec())
    }
}

/// UTF-8 text (Kafka's `StringDeserializer`); like Java's decoder it
/// replaces invalid bytes with U+FFFD rather than failing the batch.
#[derive(Debug, Clone, Copy, Default)]
pub struct StringDeserializer;

impl Deserializer<String> for StringDeserializer {
    fn deserialize(&self, _topic: &str, data: &[u8]) -> Result<String, String> {
        Ok(String::from_utf8_lossy(data).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_decode_lossily_and_bytes_are_kept() {
        assert_eq!(
            StringDeserializer.deserialize("t", b"caf\xc3\xa9 \xff"),
            Ok("café \u{fffd}".to_owned())
        );
        assert_eq!(
            BytesDeserializer.deserialize("t", b"\x00\xff"),
            Ok(vec![0, 255])
        );
    }
}
