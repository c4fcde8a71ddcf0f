//! Values filled in at save when a field is absent: ids and timestamps.
//!
//! Each generator is a type, so a generator on a field it cannot fill (a UUID into a `u64`) is a
//! compile error. `#[dynox(generate = "uuid7")]` on a field makes the derive call [`fill`] in
//! `Model::prepare_save`; `created_at` fills "now" once, `updated_at` refreshes it at every save.

use chrono::{DateTime, SecondsFormat, Utc};

/// A field that can be absent (and so filled): empty strings, zero numbers, `None`, the epoch.
pub trait MaybeAbsent {
    /// Whether the field holds no value yet.
    fn is_absent(&self) -> bool;
}

impl MaybeAbsent for String {
    fn is_absent(&self) -> bool {
        self.is_empty()
    }
}
impl<T> MaybeAbsent for Option<T> {
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}
impl MaybeAbsent for i64 {
    fn is_absent(&self) -> bool {
        *self == 0
    }
}
impl MaybeAbsent for u64 {
    fn is_absent(&self) -> bool {
        *self == 0
    }
}
impl MaybeAbsent for DateTime<Utc> {
    fn is_absent(&self) -> bool {
        *self == DateTime::<Utc>::UNIX_EPOCH
    }
}

/// A generator of values of type `T`.
#[diagnostic::on_unimplemented(
    message = "this generator cannot fill a `{T}` field",
    note = "uuid4, uuid7, ulid, ksuid and iso8601 fill String; epoch_seconds and epoch_millis fill \
            i64/u64; created_at and updated_at fill DateTime<Utc>, String, i64 or u64 (or an \
            Option of them)"
)]
pub trait Generates<T> {
    /// A new value.
    fn generate() -> T;
}

macro_rules! generators {
    ($($name:ident => $doc:literal),*) => {$(
        #[doc = $doc]
        #[derive(Debug)]
        pub struct $name;
        impl<T> Generates<Option<T>> for $name where $name: Generates<T> {
            fn generate() -> Option<T> {
                Some(<$name as Generates<T>>::generate())
            }
        }
    )*};
}

generators!(
    Uuid4 => "A random UUID (v4), hyphenated.",
    Uuid7 => "A time-ordered UUID (v7), hyphenated.",
    Ulid => "A ULID (time-ordered, 26 characters).",
    Ksuid => "A KSUID (time-ordered, 27 characters).",
    EpochSeconds => "The current time in epoch seconds.",
    EpochMillis => "The current time in epoch milliseconds.",
    Iso8601 => "The current time as an ISO-8601 string.",
    Now => "The current time, in the field's own type (`created_at`, `updated_at`)."
);

impl Generates<String> for Uuid4 {
    fn generate() -> String {
        uuid::Uuid::new_v4().to_string()
    }
}
impl Generates<String> for Uuid7 {
    fn generate() -> String {
        uuid::Uuid::now_v7().to_string()
    }
}
impl Generates<String> for Ulid {
    fn generate() -> String {
        ulid::Ulid::new().to_string()
    }
}
impl Generates<String> for Ksuid {
    fn generate() -> String {
        use svix_ksuid::KsuidLike as _;
        svix_ksuid::Ksuid::new(None, None).to_string()
    }
}
impl Generates<String> for Iso8601 {
    fn generate() -> String {
        Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}
impl Generates<i64> for EpochSeconds {
    fn generate() -> i64 {
        Utc::now().timestamp()
    }
}
impl Generates<u64> for EpochSeconds {
    fn generate() -> u64 {
        Utc::now().timestamp().max(0) as u64
    }
}
impl Generates<i64> for EpochMillis {
    fn generate() -> i64 {
        Utc::now().timestamp_millis()
    }
}
impl Generates<u64> for EpochMillis {
    fn generate() -> u64 {
        Utc::now().timestamp_millis().max(0) as u64
    }
}
impl Generates<DateTime<Utc>> for Now {
    fn generate() -> DateTime<Utc> {
        Utc::now()
    }
}
impl Generates<String> for Now {
    fn generate() -> String {
        <Iso8601 as Generates<String>>::generate()
    }
}
impl Generates<i64> for Now {
    fn generate() -> i64 {
        <EpochSeconds as Generates<i64>>::generate()
    }
}
impl Generates<u64> for Now {
    fn generate() -> u64 {
        <EpochSeconds as Generates<u64>>::generate()
    }
}

/// Fills `slot` with a generated value if it is absent.
pub fn fill<T: MaybeAbsent, G: Generates<T>>(slot: &mut T) {
    if slot.is_absent() {
        *slot = G::generate();
    }
}

/// Sets `slot` to a generated value whatever it holds (`updated_at`).
pub fn refresh<T, G: Generates<T>>(slot: &mut T) {
    *slot = G::generate();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_fill_only_absent_fields() {
        let mut id = String::new();
        fill::<_, Uuid7>(&mut id);
        assert_eq!(id.len(), 36);
        let before = id.clone();
        fill::<_, Uuid4>(&mut id);
        assert_eq!(id, before, "present values are kept");
        let mut u: Option<String> = None;
        fill::<_, Ulid>(&mut u);
        assert_eq!(u.unwrap().len(), 26);
        let mut k = String::new();
        fill::<_, Ksuid>(&mut k);
        assert_eq!(k.len(), 27);
        let mut ms = 0u64;
        fill::<_, EpochMillis>(&mut ms);
        assert!(ms > 1_700_000_000_000);
        let mut t = DateTime::<Utc>::UNIX_EPOCH;
        fill::<_, Now>(&mut t);
        assert!(t.timestamp() > 1_700_000_000);
        let mut iso = String::new();
        fill::<_, Iso8601>(&mut iso);
        assert!(iso.ends_with('Z'));
        // uuid7 sorts by time.
        let a = <Uuid7 as Generates<String>>::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = <Uuid7 as Generates<String>>::generate();
        assert!(a < b);
    }
}
