//! Compressed string fields (`#[dynox(compress = "zstd")]`), stored in pydynox's format.

use super::{Codec, ValueError, wrong};
use crate::AttributeValue;
use dynox_encryption::compress::{Algorithm, Compression, compress_text, decompress_text};

/// The codec of a compressed field. `ALG` is 0 zstd, 1 lz4, 2 gzip; `LEVEL` the level (ignored
/// by lz4); `MIN` the smallest value compressed; `RATIO` the largest worthwhile result, in
/// percent of the input.
#[derive(Debug)]
pub struct Compressed<const ALG: u8, const LEVEL: i32, const MIN: usize, const RATIO: u32>;

impl<const ALG: u8, const LEVEL: i32, const MIN: usize, const RATIO: u32>
    Compressed<ALG, LEVEL, MIN, RATIO>
{
    /// The options this codec stands for.
    pub const fn options() -> Compression {
        Compression {
            algorithm: match ALG {
                0 => Algorithm::Zstd(LEVEL),
                1 => Algorithm::Lz4,
                _ => Algorithm::Gzip(LEVEL as u32),
            },
            min_size: MIN,
            max_ratio: RATIO as f64 / 100.0,
        }
    }
}

fn err(e: dynox_encryption::compress::CompressionError) -> ValueError {
    ValueError::Invalid(e.to_string())
}

impl<const ALG: u8, const LEVEL: i32, const MIN: usize, const RATIO: u32> Codec<String>
    for Compressed<ALG, LEVEL, MIN, RATIO>
{
    fn encode(value: &String) -> Result<Option<AttributeValue>, ValueError> {
        compress_text(&Self::options(), value)
            .map(|s| Some(AttributeValue::S(s)))
            .map_err(err)
    }
    fn decode(value: AttributeValue) -> Result<String, ValueError> {
        match value {
            AttributeValue::S(s) => decompress_text(&s, crate::size::MAX_ITEM_SIZE).map_err(err),
            other => Err(wrong("S", &other)),
        }
    }
    fn absent() -> Option<String> {
        None
    }
}

impl<const ALG: u8, const LEVEL: i32, const MIN: usize, const RATIO: u32> Codec<Option<String>>
    for Compressed<ALG, LEVEL, MIN, RATIO>
{
    fn encode(value: &Option<String>) -> Result<Option<AttributeValue>, ValueError> {
        value
            .as_ref()
            .map_or(Ok(None), <Self as Codec<String>>::encode)
    }
    fn decode(value: AttributeValue) -> Result<Option<String>, ValueError> {
        match value {
            AttributeValue::Null(_) => Ok(None),
            other => <Self as Codec<String>>::decode(other).map(Some),
        }
    }
    fn absent() -> Option<Option<String>> {
        Some(None)
    }
}
