//! The checkpoint object file format.
//!
//! An object is a 30-byte header followed by the payload, all integers
//! little-endian:
//!
//! | offset | size | field                                              |
//! |-------:|-----:|----------------------------------------------------|
//! |      0 |    8 | magic number [`MAGIC`] (`b"EMBERCKP"`)             |
//! |      8 |    2 | format version ([`FORMAT_VERSION`])                |
//! |     10 |    8 | pipeline fingerprint                               |
//! |     18 |    8 | payload length in bytes                            |
//! |     26 |    4 | CRC32C of bytes 0..26 followed by the payload      |
//! |     30 |    … | payload                                            |
//!
//! The checksum covers the header as well as the payload, so a flipped bit
//! anywhere in the object is detected: in the magic number or the version by
//! their own checks, in the length by the length check, in the fingerprint
//! and the payload by the checksum, in the checksum itself by the mismatch.
//!
//! [`decode`] checks, in this order: enough bytes for the magic number and
//! version, the magic number, the version (before anything else, because a
//! newer version may lay out the rest differently), the complete header, the
//! payload length, the checksum and finally the fingerprint (so that
//! [`CheckpointError::FingerprintMismatch`] means "an intact checkpoint of
//! another pipeline", not damage). It never panics, whatever the input.
//!
//! Payloads of typed values are postcard-encoded serde values
//! ([`encode_value`], [`decode_value`]).

use std::io::{self, Seek, SeekFrom, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{CheckpointError, Result};

/// The magic number every checkpoint object starts with.
pub const MAGIC: [u8; 8] = *b"EMBERCKP";

/// The format version this build writes, and the newest it reads.
pub const FORMAT_VERSION: u16 = 1;

/// The length of the header in bytes.
pub const HEADER_LEN: usize = 30;

/// Where the version field starts.
const VERSION_OFFSET: usize = 8;
/// Where the fingerprint field starts.
const FINGERPRINT_OFFSET: usize = 10;
/// Where the payload-length field starts.
const LENGTH_OFFSET: usize = 18;
/// Where the checksum field starts; the checksum covers the bytes before it.
const CHECKSUM_OFFSET: usize = 26;

/// The fields of a decoded header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// The pipeline fingerprint.
    pub(crate) fingerprint: u64,
}

/// Encodes `payload` as a checkpoint object of the pipeline `fingerprint`.
///
/// ```
/// use ember_checkpoint::format::{decode, encode, HEADER_LEN};
///
/// let object = encode(7, b"state");
/// assert_eq!(object.len(), HEADER_LEN + 5);
/// assert_eq!(decode(&object, Some(7)).unwrap(), b"state");
/// ```
pub fn encode(fingerprint: u64, payload: &[u8]) -> Vec<u8> {
    let mut object = Vec::with_capacity(HEADER_LEN + payload.len());
    object.resize(HEADER_LEN, 0);
    object.extend_from_slice(payload);
    seal(&mut object, fingerprint);
    object
}

/// Serializes `value` with postcard and encodes it as a checkpoint object of
/// the pipeline `fingerprint`, without an intermediate copy of the payload.
///
/// ```
/// use ember_checkpoint::{decode_value, encode_value};
///
/// let state = vec![("w0".to_string(), 3u64)];
/// let object = encode_value(7, &state).unwrap();
/// let back: Vec<(String, u64)> = decode_value(&object, Some(7)).unwrap();
/// assert_eq!(back, state);
/// ```
pub fn encode_value<T: Serialize + ?Sized>(fingerprint: u64, value: &T) -> Result<Vec<u8>> {
    let mut buffer = Vec::with_capacity(4096);
    buffer.resize(HEADER_LEN, 0);
    let mut object = postcard::serialize_with_flavor(value, VecFlavor(buffer))
        .map_err(|source| CheckpointError::Serialize { source })?;
    seal(&mut object, fingerprint);
    Ok(object)
}

/// Serializes `value` with postcard straight into `out` as a checkpoint
/// object of the pipeline `fingerprint`, without holding the payload in
/// memory: a zeroed header is written first, the payload is streamed after
/// it while its length and CRC32C are computed, then the header is filled
/// in (seek back) and the writer is left at the object's end. The bytes
/// written equal [`encode_value`]'s.
///
/// ```
/// use ember_checkpoint::format::{encode_value, write_value_to};
///
/// let state = vec![("w0".to_string(), 3u64)];
/// let mut out = std::io::Cursor::new(Vec::new());
/// write_value_to(&mut out, 7, &state).unwrap();
/// assert_eq!(out.into_inner(), encode_value(7, &state).unwrap());
/// ```
pub fn write_value_to<W, T>(out: &mut W, fingerprint: u64, value: &T) -> Result<()>
where
    W: Write + Seek + ?Sized,
    T: Serialize + ?Sized,
{
    write_payload_to(out, fingerprint, &mut |payload| to_writer(payload, value))
}

/// Writes a checkpoint object of the pipeline `fingerprint` into `out`
/// whose payload `fill` writes, without holding the payload in memory: a
/// zeroed header first, then the payload while its length and CRC32C are
/// computed, then the header is filled in (seek back) and the writer is
/// left at the object's end. An error of `fill` is returned as it is
/// (an I/O error of `out` as that error).
///
/// ```
/// use ember_checkpoint::format::{encode, write_payload_to};
/// use std::io::Write;
///
/// let mut out = std::io::Cursor::new(Vec::new());
/// write_payload_to(&mut out, 7, &mut |payload| {
///     payload.write_all(b"sta").and_then(|()| payload.write_all(b"te"))
///         .map_err(|source| ember_checkpoint::CheckpointError::Io {
///             action: "writing",
///             path: Default::default(),
///             source,
///         })
/// })
/// .unwrap();
/// assert_eq!(out.into_inner(), encode(7, b"state"));
/// ```
pub fn write_payload_to<W>(
    out: &mut W,
    fingerprint: u64,
    fill: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
) -> Result<()>
where
    W: Write + Seek + ?Sized,
{
    let io_error = |source| CheckpointError::Io {
        action: "writing checkpoint object",
        path: std::path::PathBuf::new(),
        source,
    };
    let start = out.stream_position().map_err(io_error)?;
    out.write_all(&[0; HEADER_LEN]).map_err(io_error)?;
    let mut sink = ChecksummedWriter {
        inner: &mut *out,
        crc: 0,
        len: 0,
        error: None,
    };
    if let Err(e) = fill(&mut sink) {
        return Err(match sink.error.take() {
            Some(io) => io_error(io),
            None => e,
        });
    }
    let (payload_crc, payload_len) = (sink.crc, sink.len);
    let mut header = [0u8; HEADER_LEN];
    fill_header_fields(&mut header, fingerprint, payload_len);
    let header_crc = crc32c::crc32c(&header[..CHECKSUM_OFFSET]);
    let len = usize::try_from(payload_len).unwrap_or(usize::MAX);
    let crc = crc32c::crc32c_combine(header_crc, payload_crc, len);
    header[CHECKSUM_OFFSET..].copy_from_slice(&crc.to_le_bytes());
    out.seek(SeekFrom::Start(start)).map_err(io_error)?;
    out.write_all(&header).map_err(io_error)?;
    out.seek(SeekFrom::End(0)).map_err(io_error)?;
    Ok(())
}

/// Serializes `value` with postcard straight into `out` (a bare payload,
/// or a part of one: postcard encodes a struct as its fields one after
/// the other, so parts written in order read back as one value).
///
/// ```
/// use ember_checkpoint::format::{to_payload, to_writer};
///
/// let mut out = Vec::new();
/// to_writer(&mut out, &(7u64, "key")).unwrap();
/// to_writer(&mut out, &vec![1u32, 2]).unwrap();
/// assert_eq!(out, to_payload(&(7u64, "key", vec![1u32, 2])).unwrap());
/// ```
pub fn to_writer<W, T>(out: &mut W, value: &T) -> Result<()>
where
    W: Write + ?Sized,
    T: Serialize + ?Sized,
{
    let mut errors = IoErrorKeeper {
        inner: out,
        error: None,
    };
    postcard::to_io(value, &mut errors)
        .map(|_| ())
        .map_err(|source| match errors.error.take() {
            Some(e) => CheckpointError::Io {
                action: "writing checkpoint payload",
                path: std::path::PathBuf::new(),
                source: e,
            },
            None => CheckpointError::Serialize { source },
        })
}

/// A writer that keeps the I/O error postcard does not pass on.
struct IoErrorKeeper<'a, W: ?Sized> {
    inner: &'a mut W,
    error: Option<io::Error>,
}

impl<W: Write + ?Sized> Write for IoErrorKeeper<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.inner.write(bytes).map_err(|e| {
            let kind = e.kind();
            self.error = Some(e);
            kind.into()
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A writer that passes bytes on and keeps their CRC32C and count (and
/// the I/O error, which postcard does not pass on).
struct ChecksummedWriter<'a, W: ?Sized> {
    inner: &'a mut W,
    crc: u32,
    len: u64,
    error: Option<io::Error>,
}

impl<W: Write + ?Sized> Write for ChecksummedWriter<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = match self.inner.write(bytes) {
            Ok(written) => written,
            Err(e) => {
                let kind = e.kind();
                self.error = Some(e);
                return Err(kind.into());
            }
        };
        let done = bytes.get(..written).unwrap_or(bytes);
        self.crc = crc32c::crc32c_append(self.crc, done);
        self.len += done.len() as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Checks a checkpoint object and returns its payload.
///
/// With `expected_fingerprint` set, an intact object of another pipeline is
/// rejected with [`CheckpointError::FingerprintMismatch`]. Every kind of
/// damage has its own error variant: [`CheckpointError::Truncated`],
/// [`CheckpointError::WrongMagic`], [`CheckpointError::UnsupportedVersion`],
/// [`CheckpointError::LengthMismatch`], [`CheckpointError::ChecksumMismatch`].
///
/// ```
/// use ember_checkpoint::{CheckpointError, format::{decode, encode}};
///
/// let mut object = encode(7, b"state");
/// *object.last_mut().unwrap() ^= 1;
/// assert!(matches!(decode(&object, None), Err(CheckpointError::ChecksumMismatch { .. })));
/// ```
pub fn decode(bytes: &[u8], expected_fingerprint: Option<u64>) -> Result<&[u8]> {
    decode_parts(bytes, expected_fingerprint).map(|(_, payload)| payload)
}

/// Checks a checkpoint object and deserializes its payload with postcard.
///
/// Fails like [`decode`], and with [`CheckpointError::Deserialize`] or
/// [`CheckpointError::TrailingBytes`] when the payload is not exactly one `T`.
pub fn decode_value<T: DeserializeOwned>(
    bytes: &[u8],
    expected_fingerprint: Option<u64>,
) -> Result<T> {
    from_payload(decode(bytes, expected_fingerprint)?)
}

/// Serializes `value` with postcard into a bare payload (no header), e.g. for
/// a write-ahead log record.
pub fn to_payload<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(|source| CheckpointError::Serialize { source })
}

/// Deserializes a bare postcard payload that holds exactly one `T`.
pub fn from_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T> {
    let (value, rest) = postcard::take_from_bytes::<T>(payload)
        .map_err(|source| CheckpointError::Deserialize { source })?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(CheckpointError::TrailingBytes { unused: rest.len() })
    }
}

/// Checks a checkpoint object and returns its header fields and payload.
pub(crate) fn decode_parts(
    bytes: &[u8],
    expected_fingerprint: Option<u64>,
) -> Result<(Header, &[u8])> {
    let found = bytes.len() as u64;
    let truncated = |needed: u64| CheckpointError::Truncated { needed, found };

    if let Some(magic) = bytes.first_chunk::<8>() {
        if *magic != MAGIC {
            return Err(CheckpointError::WrongMagic { found: *magic });
        }
    }
    let version = read_u16(bytes, VERSION_OFFSET).ok_or(truncated(HEADER_LEN as u64))?;
    if version != FORMAT_VERSION {
        return Err(CheckpointError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }

    let (header, payload) = bytes
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(truncated(HEADER_LEN as u64))?;
    let fingerprint = read_u64(header, FINGERPRINT_OFFSET).ok_or(truncated(HEADER_LEN as u64))?;
    let declared = read_u64(header, LENGTH_OFFSET).ok_or(truncated(HEADER_LEN as u64))?;
    let stored = read_u32(header, CHECKSUM_OFFSET).ok_or(truncated(HEADER_LEN as u64))?;

    let actual = payload.len() as u64;
    if declared > actual {
        return Err(truncated((HEADER_LEN as u64).saturating_add(declared)));
    }
    if declared < actual {
        return Err(CheckpointError::LengthMismatch { declared, actual });
    }

    let computed = checksum(&header[..CHECKSUM_OFFSET], payload);
    if computed != stored {
        return Err(CheckpointError::ChecksumMismatch { stored, computed });
    }

    if let Some(expected) = expected_fingerprint {
        if expected != fingerprint {
            return Err(CheckpointError::FingerprintMismatch {
                expected,
                found: fingerprint,
            });
        }
    }
    Ok((Header { fingerprint }, payload))
}

/// Fills in the header of `object`, whose first [`HEADER_LEN`] bytes are
/// reserved for it and whose remaining bytes are the payload.
fn seal(object: &mut [u8], fingerprint: u64) {
    let Some((header, payload)) = object.split_first_chunk_mut::<HEADER_LEN>() else {
        return; // Callers always reserve the header; nothing to seal otherwise.
    };
    fill_header_fields(header, fingerprint, payload.len() as u64);
    let crc = checksum(&header[..CHECKSUM_OFFSET], payload);
    header[CHECKSUM_OFFSET..].copy_from_slice(&crc.to_le_bytes());
}

/// Writes the header fields before the checksum.
fn fill_header_fields(header: &mut [u8; HEADER_LEN], fingerprint: u64, payload_len: u64) {
    header[..VERSION_OFFSET].copy_from_slice(&MAGIC);
    header[VERSION_OFFSET..FINGERPRINT_OFFSET].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[FINGERPRINT_OFFSET..LENGTH_OFFSET].copy_from_slice(&fingerprint.to_le_bytes());
    header[LENGTH_OFFSET..CHECKSUM_OFFSET].copy_from_slice(&payload_len.to_le_bytes());
}

/// CRC32C of the header fields before the checksum followed by the payload.
fn checksum(header_fields: &[u8], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(header_fields), payload)
}

/// Reads a little-endian `u16` at `offset`, if the bytes are there.
fn read_u16(bytes: &[u8], offset: usize) -> Option<u16> {
    let field = bytes.get(offset..)?.first_chunk::<2>()?;
    Some(u16::from_le_bytes(*field))
}

/// Reads a little-endian `u32` at `offset`, if the bytes are there.
fn read_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    let field = bytes.get(offset..)?.first_chunk::<4>()?;
    Some(u32::from_le_bytes(*field))
}

/// Reads a little-endian `u64` at `offset`, if the bytes are there.
fn read_u64(bytes: &[u8], offset: usize) -> Option<u64> {
    let field = bytes.get(offset..)?.first_chunk::<8>()?;
    Some(u64::from_le_bytes(*field))
}

/// A postcard output flavor that appends to a `Vec` which may already hold
/// bytes (the reserved header).
struct VecFlavor(Vec<u8>);

impl postcard::ser_flavors::Flavor for VecFlavor {
    type Output = Vec<u8>;

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    #[inline]
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<Vec<u8>> {
        Ok(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_is_little_endian_and_fixed() {
        let object = encode(0x0102_0304_0506_0708, b"abc");
        assert_eq!(&object[..8], b"EMBERCKP");
        assert_eq!(&object[8..10], &[1, 0]);
        assert_eq!(&object[10..18], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(&object[18..26], &[3, 0, 0, 0, 0, 0, 0, 0]);
        let crc = crc32c::crc32c_append(crc32c::crc32c(&object[..26]), b"abc");
        assert_eq!(&object[26..30], &crc.to_le_bytes());
        assert_eq!(&object[30..], b"abc");
    }

    #[test]
    fn empty_payload_round_trips() {
        let object = encode(1, b"");
        assert_eq!(object.len(), HEADER_LEN);
        assert_eq!(decode(&object, Some(1)).unwrap(), b"");
    }

    #[test]
    fn encode_value_matches_encode_of_postcard_bytes() {
        let state = vec![("w1".to_string(), 5u64), ("w2".to_string(), 300)];
        let by_value = encode_value(9, &state).unwrap();
        let by_bytes = encode(9, &postcard::to_stdvec(&state).unwrap());
        assert_eq!(by_value, by_bytes);
    }

    #[test]
    fn short_inputs_are_truncated_or_wrong_magic() {
        let object = encode(1, b"payload");
        for len in 0..HEADER_LEN {
            let err = decode(&object[..len], None).unwrap_err();
            assert!(
                matches!(err, CheckpointError::Truncated { needed: 30, found } if found == len as u64),
                "{len}: {err}"
            );
        }
        assert!(matches!(
            decode(b"NOTEMBER", None),
            Err(CheckpointError::WrongMagic { found }) if &found == b"NOTEMBER"
        ));
    }

    #[test]
    fn truncated_payload_reports_needed_length() {
        let object = encode(1, &[0u8; 100]);
        let err = decode(&object[..80], None).unwrap_err();
        assert!(matches!(
            err,
            CheckpointError::Truncated {
                needed: 130,
                found: 80
            }
        ));
    }

    #[test]
    fn trailing_bytes_are_a_length_mismatch() {
        let mut object = encode(1, b"abc");
        object.push(0);
        let err = decode(&object, None).unwrap_err();
        assert!(matches!(
            err,
            CheckpointError::LengthMismatch {
                declared: 3,
                actual: 4
            }
        ));
    }

    #[test]
    fn newer_version_is_unsupported_even_if_the_rest_differs() {
        let mut object = encode(1, b"abc");
        object[8..10].copy_from_slice(&2u16.to_le_bytes());
        object.truncate(12); // a newer header could be shorter or longer
        let err = decode(&object, None).unwrap_err();
        assert!(matches!(
            err,
            CheckpointError::UnsupportedVersion {
                found: 2,
                supported: 1
            }
        ));
    }

    #[test]
    fn fingerprint_is_checked_only_when_expected() {
        let object = encode(1, b"abc");
        assert!(decode(&object, None).is_ok());
        let err = decode(&object, Some(2)).unwrap_err();
        assert!(matches!(
            err,
            CheckpointError::FingerprintMismatch {
                expected: 2,
                found: 1
            }
        ));
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        let object = encode(0xABCD, b"some state bytes");
        for i in 0..object.len() {
            for bit in 0..8 {
                let mut damaged = object.clone();
                damaged[i] ^= 1 << bit;
                assert!(decode(&damaged, None).is_err(), "flip at {i} bit {bit}");
                assert!(
                    decode(&damaged, Some(0xABCD)).is_err(),
                    "flip at {i} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn payload_with_unused_bytes_is_rejected() {
        let object = encode(1, &[1, 2]);
        let err = decode_value::<u8>(&object, None).unwrap_err();
        assert!(matches!(err, CheckpointError::TrailingBytes { unused: 1 }));
        let err = decode_value::<String>(&encode(1, &[5, b'a']), None).unwrap_err();
        assert!(matches!(err, CheckpointError::Deserialize { .. }));
    }
}
