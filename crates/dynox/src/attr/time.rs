//! Timestamps (chrono): ISO-8601 strings by default, epoch seconds or milliseconds by choice.
//!
//! `DateTime<Utc>` and `DateTime<FixedOffset>` are stored as RFC 3339 strings with nine
//! fractional digits (fixed width, so UTC values sort as text) and their offset, and round-trip
//! exactly. The [`EpochSeconds`] and [`EpochMillis`]
//! codecs (`#[dynox(timestamp = "epoch_seconds")]`) store a number instead; seconds drop the
//! sub-second part, which is the precision chosen.
//!
//! The epoch codecs also take integer fields (`i32`, `i64`, `i128`, `u32`, `u64`, `u128`, or an
//! `Option` of one) that already hold the time in the declared unit: the number is stored as it
//! is, and `created_at` / `updated_at` fill it with the current time in that unit.

use super::{Attribute, Codec, ValueError, wrong};
use crate::AttributeValue;
use chrono::{DateTime, FixedOffset, SecondsFormat, TimeZone, Utc};

fn parse(text: &str) -> Result<DateTime<FixedOffset>, ValueError> {
    DateTime::parse_from_rfc3339(text)
        .map_err(|e| ValueError::Invalid(format!("`{text}` is not an ISO-8601 timestamp: {e}")))
}

impl Attribute for DateTime<Utc> {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::S(
            self.to_rfc3339_opts(SecondsFormat::Nanos, true),
        )))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        match value {
            AttributeValue::S(s) => parse(&s).map(|t| t.with_timezone(&Utc)),
            other => Err(wrong("S", &other)),
        }
    }
}

impl Attribute for DateTime<FixedOffset> {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::S(
            self.to_rfc3339_opts(SecondsFormat::Nanos, false),
        )))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        match value {
            AttributeValue::S(s) => parse(&s),
            other => Err(wrong("S", &other)),
        }
    }
}

fn epoch(value: AttributeValue) -> Result<i64, ValueError> {
    match value {
        AttributeValue::N(n) => n.parse().map_err(|_| ValueError::Number {
            value: n,
            target: "epoch time (whole number)",
        }),
        other => Err(wrong("N", &other)),
    }
}

macro_rules! epoch_codec {
    ($name:ident, $doc:literal, $to:expr, $from:expr) => {
        #[doc = $doc]
        #[derive(Debug)]
        pub struct $name;

        impl Codec<DateTime<Utc>> for $name {
            fn encode(value: &DateTime<Utc>) -> Result<Option<AttributeValue>, ValueError> {
                let n: i64 = $to(value);
                Ok(Some(AttributeValue::N(n.to_string())))
            }
            fn decode(value: AttributeValue) -> Result<DateTime<Utc>, ValueError> {
                let n = epoch(value)?;
                $from(n)
                    .ok_or_else(|| ValueError::Invalid(format!("epoch time {n} is out of range")))
            }
            fn absent() -> Option<DateTime<Utc>> {
                None
            }
        }

        impl Codec<Option<DateTime<Utc>>> for $name {
            fn encode(value: &Option<DateTime<Utc>>) -> Result<Option<AttributeValue>, ValueError> {
                value
                    .as_ref()
                    .map_or(Ok(None), <$name as Codec<DateTime<Utc>>>::encode)
            }
            fn decode(value: AttributeValue) -> Result<Option<DateTime<Utc>>, ValueError> {
                match value {
                    AttributeValue::Null(_) => Ok(None),
                    other => <$name as Codec<DateTime<Utc>>>::decode(other).map(Some),
                }
            }
            fn absent() -> Option<Option<DateTime<Utc>>> {
                Some(None)
            }
        }
    };
}

/// What an epoch codec stores a field type as: the number its attribute path compares
/// (`i64` for a `DateTime<Utc>`, the integer itself for an integer field), and the generator
/// `created_at` / `updated_at` fill it with: the current instant for a `DateTime<Utc>`
/// ([`Now`](crate::generate::Now)), the current time in the codec's unit for an integer
/// ([`generate::EpochSeconds`](crate::generate::EpochSeconds),
/// [`generate::EpochMillis`](crate::generate::EpochMillis)).
pub trait EpochNumber<T>: Codec<T> {
    /// The stored number's type.
    type Number: Attribute;
    /// The current time as a value of `T`.
    type Now;
}

macro_rules! epoch_integers {
    ($codec:ident, $now:ty: $($t:ty),*) => {$(
        impl Codec<$t> for $codec {
            fn encode(value: &$t) -> Result<Option<AttributeValue>, ValueError> {
                value.to_attribute()
            }
            fn decode(value: AttributeValue) -> Result<$t, ValueError> {
                <$t>::from_attribute(value)
            }
            fn absent() -> Option<$t> {
                None
            }
        }
        impl Codec<Option<$t>> for $codec {
            fn encode(value: &Option<$t>) -> Result<Option<AttributeValue>, ValueError> {
                value.as_ref().map_or(Ok(None), Attribute::to_attribute)
            }
            fn decode(value: AttributeValue) -> Result<Option<$t>, ValueError> {
                match value {
                    AttributeValue::Null(_) => Ok(None),
                    other => <$t>::from_attribute(other).map(Some),
                }
            }
            fn absent() -> Option<Option<$t>> {
                Some(None)
            }
        }
        impl EpochNumber<$t> for $codec {
            type Number = $t;
            type Now = $now;
        }
        impl EpochNumber<Option<$t>> for $codec {
            type Number = $t;
            type Now = $now;
        }
    )*};
}

epoch_codec!(
    EpochSeconds,
    "Stores a UTC timestamp as whole epoch seconds (`N`).",
    |t: &DateTime<Utc>| t.timestamp(),
    |n: i64| Utc.timestamp_opt(n, 0).single()
);
epoch_codec!(
    EpochMillis,
    "Stores a UTC timestamp as epoch milliseconds (`N`).",
    |t: &DateTime<Utc>| t.timestamp_millis(),
    |n: i64| Utc.timestamp_millis_opt(n).single()
);

epoch_integers!(EpochSeconds, crate::generate::EpochSeconds: i32, i64, i128, u32, u64, u128);
epoch_integers!(EpochMillis, crate::generate::EpochMillis: i32, i64, i128, u32, u64, u128);

impl EpochNumber<DateTime<Utc>> for EpochSeconds {
    type Number = i64;
    type Now = crate::generate::Now;
}
impl EpochNumber<DateTime<Utc>> for EpochMillis {
    type Number = i64;
    type Now = crate::generate::Now;
}
impl EpochNumber<Option<DateTime<Utc>>> for EpochSeconds {
    type Number = i64;
    type Now = crate::generate::Now;
}
impl EpochNumber<Option<DateTime<Utc>>> for EpochMillis {
    type Number = i64;
    type Now = crate::generate::Now;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_keeps_offsets_and_fractions() {
        let t = DateTime::parse_from_rfc3339("2026-12-01T09:30:15.123456+05:30").unwrap();
        let a = t.to_attribute().unwrap().unwrap();
        assert_eq!(
            a,
            AttributeValue::S("2026-12-01T09:30:15.123456000+05:30".into())
        );
        assert_eq!(
            DateTime::<FixedOffset>::from_attribute(a.clone()).unwrap(),
            t
        );
        // Read as UTC, the same instant.
        let utc = DateTime::<Utc>::from_attribute(a).unwrap();
        assert_eq!(utc, t.with_timezone(&Utc));
        assert_eq!(
            utc.to_attribute().unwrap(),
            Some(AttributeValue::S("2026-12-01T04:00:15.123456000Z".into()))
        );
        assert!(DateTime::<Utc>::from_attribute(AttributeValue::S("yesterday".into())).is_err());
    }

    #[test]
    fn epoch_codecs_store_integers_as_they_are() {
        let n = <EpochSeconds as Codec<u64>>::encode(&1_764_581_415).unwrap();
        assert_eq!(n, Some(AttributeValue::N("1764581415".into())));
        let ms = <EpochMillis as Codec<i64>>::encode(&-1_500)
            .unwrap()
            .unwrap();
        assert_eq!(ms, AttributeValue::N("-1500".into()));
        assert_eq!(<EpochMillis as Codec<i64>>::decode(ms).unwrap(), -1_500);
        // Out of the field's range, fractional or of another type: refused.
        assert!(<EpochMillis as Codec<u64>>::decode(AttributeValue::N("-1500".into())).is_err());
        assert!(<EpochSeconds as Codec<u32>>::decode(AttributeValue::N("1.5".into())).is_err());
        assert!(
            <EpochSeconds as Codec<u32>>::decode(AttributeValue::N("4294967296".into())).is_err()
        );
        assert!(<EpochSeconds as Codec<i64>>::decode(AttributeValue::S("1".into())).is_err());
        // Options: absent when None, NULL read as None.
        assert_eq!(
            <EpochSeconds as Codec<Option<u64>>>::encode(&None).unwrap(),
            None
        );
        assert_eq!(<EpochSeconds as Codec<Option<u64>>>::absent(), Some(None));
        assert_eq!(
            <EpochSeconds as Codec<Option<u64>>>::decode(AttributeValue::Null(true)).unwrap(),
            None
        );
        assert_eq!(
            <EpochMillis as Codec<Option<i64>>>::decode(AttributeValue::N("7".into())).unwrap(),
            Some(7)
        );
        assert_eq!(<EpochSeconds as Codec<u64>>::absent(), None);
    }

    #[test]
    fn epoch_codecs() {
        let t = Utc.timestamp_millis_opt(1_764_581_415_123).unwrap();
        let s = EpochSeconds::encode(&t).unwrap().unwrap();
        assert_eq!(s, AttributeValue::N("1764581415".into()));
        let ms = EpochMillis::encode(&t).unwrap().unwrap();
        assert_eq!(
            <EpochMillis as Codec<DateTime<Utc>>>::decode(ms).unwrap(),
            t
        );
        assert_eq!(
            <EpochSeconds as Codec<DateTime<Utc>>>::decode(s)
                .unwrap()
                .timestamp(),
            1_764_581_415
        );
        assert!(
            <EpochSeconds as Codec<DateTime<Utc>>>::decode(AttributeValue::N("1.5".into()))
                .is_err()
        );
    }
}
