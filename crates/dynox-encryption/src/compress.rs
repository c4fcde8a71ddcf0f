//! Compressed values: zstd, lz4 or gzip, stored as `"ZSTD:"`, `"LZ4:"` or `"GZIP:"` followed by
//! standard base64 — what pydynox writes, so values written by either are read by the other.
//!
//! A value is compressed only when it is at least `min_size` bytes and shrinks below
//! `max_ratio` of its size; otherwise it is stored as it is. A plain value that happens to start
//! with one of the prefixes is always compressed, so reading is never ambiguous. Decompression is
//! bounded: a value that would expand past the limit is an error, not an allocation of gigabytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fmt;
use std::io::Read;

/// A compression algorithm and its level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// zstd at `level` (1 to 22; default 3).
    Zstd(i32),
    /// lz4, size-prepended block format.
    Lz4,
    /// gzip at `level` (0 to 9; default 6).
    Gzip(u32),
}

impl Algorithm {
    /// The stored prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Algorithm::Zstd(_) => "ZSTD:",
            Algorithm::Lz4 => "LZ4:",
            Algorithm::Gzip(_) => "GZIP:",
        }
    }
}

/// When and how to compress.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Compression {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// Values shorter than this are stored as they are (default 100 bytes).
    pub min_size: usize,
    /// A result at or above this fraction of the input is not worth it (default 0.9).
    pub max_ratio: f64,
}

impl Compression {
    /// zstd level 3, 100 bytes, 0.9.
    pub const fn zstd() -> Compression {
        Compression {
            algorithm: Algorithm::Zstd(3),
            min_size: 100,
            max_ratio: 0.9,
        }
    }
    /// lz4, 100 bytes, 0.9.
    pub const fn lz4() -> Compression {
        Compression {
            algorithm: Algorithm::Lz4,
            min_size: 100,
            max_ratio: 0.9,
        }
    }
    /// gzip level 6, 100 bytes, 0.9.
    pub const fn gzip() -> Compression {
        Compression {
            algorithm: Algorithm::Gzip(6),
            min_size: 100,
            max_ratio: 0.9,
        }
    }
}

/// Why a stored value could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompressionError {
    /// The base64 after the prefix is not valid.
    Base64,
    /// The compressed bytes are damaged or not of the algorithm the prefix names.
    Corrupt(String),
    /// The value would expand past the limit.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The decompressed bytes are not UTF-8 (for string values).
    NotText,
    /// Compressing failed.
    Compress(String),
}

impl fmt::Display for CompressionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompressionError::Base64 => f.write_str("the compressed value is not valid base64"),
            CompressionError::Corrupt(e) => write!(f, "the compressed value is damaged: {e}"),
            CompressionError::TooLarge { limit } => {
                write!(f, "the value would expand past {limit} bytes")
            }
            CompressionError::NotText => f.write_str("the decompressed value is not UTF-8 text"),
            CompressionError::Compress(e) => write!(f, "compression failed: {e}"),
        }
    }
}

impl std::error::Error for CompressionError {}

const PREFIXES: [&str; 3] = ["ZSTD:", "LZ4:", "GZIP:"];

fn compress_bytes(algorithm: Algorithm, data: &[u8]) -> Result<Vec<u8>, CompressionError> {
    match algorithm {
        Algorithm::Zstd(level) => {
            zstd::bulk::compress(data, level).map_err(|e| CompressionError::Compress(e.to_string()))
        }
        Algorithm::Lz4 => Ok(lz4_flex::compress_prepend_size(data)),
        Algorithm::Gzip(level) => {
            use std::io::Write as _;
            let mut enc =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
            enc.write_all(data)
                .and_then(|_| enc.finish())
                .map_err(|e| CompressionError::Compress(e.to_string()))
        }
    }
}

/// The stored form of `data`: compressed with its prefix when worth it, else the text itself.
pub fn compress_text(options: &Compression, text: &str) -> Result<String, CompressionError> {
    let ambiguous = PREFIXES.iter().any(|p| text.starts_with(p));
    if text.len() < options.min_size && !ambiguous {
        return Ok(text.to_owned());
    }
    let packed = compress_bytes(options.algorithm, text.as_bytes())?;
    let worth = (packed.len() as f64) < options.max_ratio * text.len() as f64;
    if !worth && !ambiguous {
        return Ok(text.to_owned());
    }
    Ok(format!(
        "{}{}",
        options.algorithm.prefix(),
        STANDARD.encode(packed)
    ))
}

/// Reads back what [`compress_text`] (or pydynox) stored; a value without a prefix is plain.
pub fn decompress_text(stored: &str, limit: usize) -> Result<String, CompressionError> {
    match decompress(stored, limit)? {
        Some(bytes) => String::from_utf8(bytes).map_err(|_| CompressionError::NotText),
        None => Ok(stored.to_owned()),
    }
}

/// The decompressed bytes of a prefixed value, `None` for a plain one.
pub fn decompress(stored: &str, limit: usize) -> Result<Option<Vec<u8>>, CompressionError> {
    let Some((prefix, body)) = PREFIXES
        .iter()
        .find_map(|p| stored.strip_prefix(p).map(|b| (*p, b)))
    else {
        return Ok(None);
    };
    let packed = STANDARD
        .decode(body)
        .map_err(|_| CompressionError::Base64)?;
    let bounded = |reader: &mut dyn Read| -> Result<Vec<u8>, CompressionError> {
        let mut out = Vec::new();
        reader
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| CompressionError::Corrupt(e.to_string()))?;
        if out.len() > limit {
            return Err(CompressionError::TooLarge { limit });
        }
        Ok(out)
    };
    let out = match prefix {
        "ZSTD:" => {
            let mut d = zstd::stream::read::Decoder::new(packed.as_slice())
                .map_err(|e| CompressionError::Corrupt(e.to_string()))?;
            bounded(&mut d)?
        }
        "GZIP:" => bounded(&mut flate2::read::GzDecoder::new(packed.as_slice()))?,
        _ => {
            // lz4_flex's size-prepended format: a little-endian u32 length, then the block. The
            // length is checked before anything is allocated.
            let size = packed
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                .ok_or_else(|| CompressionError::Corrupt("no size header".into()))?;
            if size > limit {
                return Err(CompressionError::TooLarge { limit });
            }
            lz4_flex::decompress_size_prepended(&packed)
                .map_err(|e| CompressionError::Corrupt(e.to_string()))?
        }
    };
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 400 * 1024;

    #[test]
    fn round_trips_and_thresholds() {
        let long = "the quick brown fox jumps over the lazy dog. ".repeat(20);
        for c in [Compression::zstd(), Compression::lz4(), Compression::gzip()] {
            let stored = compress_text(&c, &long).unwrap();
            assert!(stored.starts_with(c.algorithm.prefix()), "{stored}");
            assert!(stored.len() < long.len());
            assert_eq!(decompress_text(&stored, LIMIT).unwrap(), long);
            // Short values and incompressible ones pass through.
            assert_eq!(compress_text(&c, "short").unwrap(), "short");
            let noise: String = (0..300u32)
                .map(|i| char::from_u32(0x4e00 + (i * 7919 % 20000)).unwrap())
                .collect();
            let n = compress_text(
                &Compression {
                    max_ratio: 0.1,
                    ..c
                },
                &noise,
            )
            .unwrap();
            assert_eq!(n, noise);
        }
        // A plain value that looks prefixed is compressed, so it reads back as itself.
        let tricky = "ZSTD:not really";
        let stored = compress_text(&Compression::zstd(), tricky).unwrap();
        assert_ne!(stored, tricky);
        assert_eq!(decompress_text(&stored, LIMIT).unwrap(), tricky);
    }

    #[test]
    fn decompression_is_bounded_and_checked() {
        let big = "a".repeat(1_000_000);
        for c in [Compression::zstd(), Compression::lz4(), Compression::gzip()] {
            let stored = compress_text(&c, &big).unwrap();
            assert!(stored.len() < 20_000);
            assert_eq!(
                decompress_text(&stored, 1000),
                Err(CompressionError::TooLarge { limit: 1000 })
            );
        }
        assert_eq!(
            decompress_text("ZSTD:%%%", LIMIT),
            Err(CompressionError::Base64)
        );
        assert!(matches!(
            decompress_text("GZIP:aGVsbG8=", LIMIT),
            Err(CompressionError::Corrupt(_))
        ));
        assert!(matches!(
            decompress_text("LZ4:AQ==", LIMIT),
            Err(CompressionError::Corrupt(_))
        ));
    }

    #[test]
    fn pydynox_vectors() {
        // Fixed values in each format, built by hand from the format specifications (not by this
        // crate's compressor): what another writer such as pydynox stores reads back.
        let lz4 = {
            let mut v = 11u32.to_le_bytes().to_vec();
            v.extend_from_slice(&[
                0xb0, b'h', b'e', b'l', b'l', b'o', b' ', b'w', b'o', b'r', b'l', b'd',
            ]);
            format!("LZ4:{}", STANDARD.encode(v))
        };
        assert_eq!(decompress_text(&lz4, LIMIT).unwrap(), "hello world");
        // gzip (RFC 1952) of "hello world", mtime 0.
        let gz = "GZIP:H4sIAAAAAAAC/8tIzcnJVyjPL8pJAQCFEUoNCwAAAA==";
        assert_eq!(decompress_text(gz, LIMIT).unwrap(), "hello world");
        // zstd frame of "hello world" (single raw block).
        let zs = "ZSTD:KLUv/SALWQAAaGVsbG8gd29ybGQ=";
        assert_eq!(decompress_text(zs, LIMIT).unwrap(), "hello world");
    }
}
