//! Time to live: an expiry instant stored as epoch seconds, as DynamoDB's TTL requires.

use super::{Attribute, ValueError, wrong};
use crate::AttributeValue;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// When an item expires, in epoch seconds. Declare the field `#[dynox(ttl)]` so the table is
/// created with time to live on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ttl(pub i64);

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Ttl {
    /// Expires `d` from now (rounded down to the second).
    pub fn expires_in(d: Duration) -> Ttl {
        Ttl(now().saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
    }
    /// Expires `n` seconds from now.
    pub fn in_seconds(n: u64) -> Ttl {
        Ttl::expires_in(Duration::from_secs(n))
    }
    /// Expires `n` minutes from now.
    pub fn in_minutes(n: u64) -> Ttl {
        Ttl::in_seconds(n.saturating_mul(60))
    }
    /// Expires `n` hours from now.
    pub fn in_hours(n: u64) -> Ttl {
        Ttl::in_seconds(n.saturating_mul(3600))
    }
    /// Expires `n` days from now.
    pub fn in_days(n: u64) -> Ttl {
        Ttl::in_seconds(n.saturating_mul(86_400))
    }
    /// Whether the expiry is past. (DynamoDB deletes expired items within days, not at once, so
    /// readers should check this.)
    pub fn is_expired(&self) -> bool {
        self.0 <= now()
    }
    /// How long until it expires; `None` once expired.
    pub fn time_left(&self) -> Option<Duration> {
        let left = self.0.saturating_sub(now());
        (left > 0).then(|| Duration::from_secs(left as u64))
    }
    /// Pushes the expiry back by `d`.
    pub fn extend(&mut self, d: Duration) {
        self.0 = self
            .0
            .saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    }
}

impl Attribute for Ttl {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::N(self.0.to_string())))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        match value {
            AttributeValue::N(n) => n.parse().map(Ttl).map_err(|_| ValueError::Number {
                value: n,
                target: "epoch seconds",
            }),
            other => Err(wrong("N", &other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        let t = Ttl::in_hours(2);
        assert!(!t.is_expired());
        let left = t.time_left().unwrap();
        assert!(left <= Duration::from_secs(7200) && left > Duration::from_secs(7190));
        let mut past = Ttl::in_seconds(0);
        assert!(past.is_expired());
        assert_eq!(past.time_left(), None);
        past.extend(Duration::from_secs(3600));
        assert!(!past.is_expired());
        assert_eq!(Ttl::in_days(1).0 - Ttl::in_minutes(0).0, 86_400);
        let a = t.to_attribute().unwrap().unwrap();
        assert_eq!(Ttl::from_attribute(a).unwrap(), t);
    }
}
