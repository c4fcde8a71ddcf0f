//! Logical names to deployed ones: the same mapping for the policy export and for the client.
//!
//! Models name logical tables (`users`); a deployment names physical ones (`prod-users`). The
//! mapping comes from flags, the environment or a `dynox-iam.toml` in the workspace:
//!
//! ```toml
//! prefix = "dev-"                  # every table
//! suffix = ""
//! # table_arn = "arn:{partition}:dynamodb:{region}:{account}:table/{table}"
//! runtime_tables = ["imports"]     # the (logical) tables run-time-named operations may touch
//!
//! [tables]
//! audit = "shared-audit-log"       # one table, overriding prefix and suffix
//!
//! [kms]
//! "alias/orders" = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
//!
//! [buckets]
//! attachments = "prod-attachments-111122223333"   # an S3 bucket as a field declares it
//!
//! [env.prod]                       # selected by --env prod or DYNOX_ENV=prod
//! prefix = "prod-"
//! region = "eu-west-1"
//! account = "111122223333"
//! ```
//!
//! An `[env.NAME]` section overrides the top level: its scalars replace, its tables and keys are
//! added. The export uses the result for ARNs; the client renames tables in every request (and back
//! in every answer) and the encryptor uses the mapped key ids, so what runs is what the policy names.
//! Both read it the same way ([`Mapping::load`]): the file from `--config` or `DYNOX_IAM_CONFIG`
//! (the export also finds a `dynox-iam.toml` in its workspace), the section from `--env` or
//! `DYNOX_ENV`, then `DYNOX_TABLE_PREFIX` / `DYNOX_TABLE_SUFFIX`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The file the export looks for, from the current directory up to its workspace root.
pub const FILE_NAME: &str = "dynox-iam.toml";

/// Environment variables: the mapping file, the section, and overrides of prefix and suffix.
pub const CONFIG_VARIABLE: &str = "DYNOX_IAM_CONFIG";
/// Selects an `[env.NAME]` section.
pub const ENV_VARIABLE: &str = "DYNOX_ENV";
/// Overrides the table prefix.
pub const PREFIX_VARIABLE: &str = "DYNOX_TABLE_PREFIX";
/// Overrides the table suffix.
pub const SUFFIX_VARIABLE: &str = "DYNOX_TABLE_SUFFIX";

/// How logical names become deployed ones. The default maps every name to itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapping {
    /// Put before every table name without an entry in `tables`.
    pub prefix: String,
    /// Put after every table name without an entry in `tables`.
    pub suffix: String,
    /// Logical table name to physical name (or a table ARN).
    pub tables: BTreeMap<String, String>,
    /// The table ARN with `{partition}`, `{region}`, `{account}` and `{table}` placeholders.
    pub table_arn: Option<String>,
    /// KMS key as declared by a field (usually an alias) to the key id or ARN to use.
    pub kms_keys: BTreeMap<String, String>,
    /// S3 bucket as declared by a field (`s3(bucket = "...")`) to the deployed bucket.
    pub buckets: BTreeMap<String, String>,
    /// The logical tables that operations naming their table at run time may use (mapped like
    /// every other table, since the client renames run-time names too).
    pub runtime_tables: Vec<String>,
    /// Region for ARNs, when the file names one.
    pub region: Option<String>,
    /// Account for ARNs, when the file names one.
    pub account: Option<String>,
    /// Partition for ARNs, when the file names one.
    pub partition: Option<String>,
}

/// Why a mapping could not be read.
#[derive(Debug)]
pub enum MappingError {
    /// The file could not be read.
    Io(PathBuf, std::io::Error),
    /// The file is not a valid mapping.
    Invalid(PathBuf, String),
    /// A value is not usable (an empty name, a bad table name, an unknown section).
    Value(String),
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MappingError::Io(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            MappingError::Invalid(p, e) => write!(f, "{} is not a valid mapping: {e}", p.display()),
            MappingError::Value(m) => write!(f, "invalid mapping: {m}"),
        }
    }
}

impl std::error::Error for MappingError {}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Section {
    prefix: Option<String>,
    suffix: Option<String>,
    table_arn: Option<String>,
    #[serde(default)]
    tables: BTreeMap<String, String>,
    #[serde(default)]
    kms: BTreeMap<String, String>,
    #[serde(default)]
    buckets: BTreeMap<String, String>,
    runtime_tables: Option<Vec<String>>,
    region: Option<String>,
    account: Option<String>,
    partition: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(flatten)]
    base: Section,
    #[serde(default)]
    env: BTreeMap<String, Section>,
}

impl Mapping {
    /// Parses a mapping file's text, selecting the `[env.NAME]` section when `env` is given.
    pub fn parse(text: &str, env: Option<&str>) -> Result<Mapping, String> {
        let file: File = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        let mut mapping = Mapping::default();
        mapping.apply(file.base);
        if let Some(name) = env {
            let section = file.env.into_iter().find(|(n, _)| n == name);
            match section {
                Some((_, s)) => mapping.apply(s),
                None => return Err(format!("it has no [env.{name}] section")),
            }
        }
        mapping.validate().map_err(|e| e.to_string())?;
        Ok(mapping)
    }

    /// Reads a mapping file.
    pub fn from_file(path: &Path, env: Option<&str>) -> Result<Mapping, MappingError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| MappingError::Io(path.to_owned(), e))?;
        Mapping::parse(&text, env).map_err(|e| MappingError::Invalid(path.to_owned(), e))
    }

    /// The mapping a deployed service runs with: [`Mapping::load`] with nothing given on a
    /// command line and no file search.
    pub fn from_env() -> Result<Mapping, MappingError> {
        Mapping::load(None, None, None).map(|(m, _)| m)
    }

    /// The one way the mapping is resolved, for the export and the client alike: the file
    /// `config`, else `DYNOX_IAM_CONFIG`, else (when `discover_from` is given) a `dynox-iam.toml`
    /// found from there up to the workspace root; its section `env`, else `DYNOX_ENV`; then
    /// `DYNOX_TABLE_PREFIX` / `DYNOX_TABLE_SUFFIX` on top. Without any, the identity. A named
    /// file that cannot be read is an error, never skipped. Returns the file used.
    pub fn load(
        config: Option<&Path>,
        env: Option<&str>,
        discover_from: Option<&Path>,
    ) -> Result<(Mapping, Option<PathBuf>), MappingError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let env = env.map(str::to_owned).or_else(|| var(ENV_VARIABLE));
        let file = config
            .map(Path::to_path_buf)
            .or_else(|| var(CONFIG_VARIABLE).map(PathBuf::from))
            .or_else(|| discover_from.and_then(Mapping::find_file));
        let mut mapping = match &file {
            Some(path) => Mapping::from_file(path, env.as_deref())?,
            None if env.is_some() => {
                return Err(MappingError::Value(format!(
                    "a mapping section is selected (--env or {ENV_VARIABLE}) but no mapping file \
                     is named (--config or {CONFIG_VARIABLE}) or found ({FILE_NAME})"
                )));
            }
            None => Mapping::default(),
        };
        if let Some(p) = var(PREFIX_VARIABLE) {
            mapping.prefix = p;
        }
        if let Some(s) = var(SUFFIX_VARIABLE) {
            mapping.suffix = s;
        }
        mapping.validate()?;
        Ok((mapping, file))
    }

    /// Finds `dynox-iam.toml` in `dir` or its parents, stopping at the workspace root (the first
    /// directory with a `Cargo.lock`), so a file elsewhere on the machine never applies.
    pub fn find_file(dir: &Path) -> Option<PathBuf> {
        // Outside a workspace nothing is found: a stray file in a home directory never applies.
        let root = dir.ancestors().find(|d| d.join("Cargo.lock").is_file())?;
        dir.ancestors()
            .take_while(|d| d.starts_with(root))
            .map(|d| d.join(FILE_NAME))
            .find(|p| p.is_file())
    }

    /// Whether every name maps to itself.
    pub fn is_identity(&self) -> bool {
        self.prefix.is_empty()
            && self.suffix.is_empty()
            && self.tables.is_empty()
            && self.kms_keys.is_empty()
            && self.buckets.is_empty()
    }

    fn apply(&mut self, s: Section) {
        if let Some(p) = s.prefix {
            self.prefix = p;
        }
        if let Some(x) = s.suffix {
            self.suffix = x;
        }
        if s.table_arn.is_some() {
            self.table_arn = s.table_arn;
        }
        self.tables.extend(s.tables);
        self.kms_keys.extend(s.kms);
        self.buckets.extend(s.buckets);
        if let Some(r) = s.runtime_tables {
            self.runtime_tables = r;
        }
        for (slot, v) in [
            (&mut self.region, s.region),
            (&mut self.account, s.account),
            (&mut self.partition, s.partition),
        ] {
            if v.is_some() {
                *slot = v;
            }
        }
    }

    /// Checks that mapped names are names DynamoDB accepts, so a typo fails here, not in AWS.
    pub fn validate(&self) -> Result<(), MappingError> {
        let name_chars = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        };
        if !name_chars(&self.prefix) || !name_chars(&self.suffix) {
            return Err(MappingError::Value(format!(
                "prefix `{}` and suffix `{}` may hold only letters, digits, `_`, `-` and `.`",
                self.prefix, self.suffix
            )));
        }
        let mut physical_names = std::collections::BTreeSet::new();
        for (logical, physical) in &self.tables {
            if !physical_names.insert(physical) {
                return Err(MappingError::Value(format!(
                    "two tables map to `{physical}`: the mapping must name each table once"
                )));
            }
            let ok = if physical.starts_with("arn:") {
                table_arn_shape(physical, false)
            } else {
                (3..=255).contains(&physical.len()) && name_chars(physical)
            };
            if logical.is_empty() || !ok {
                return Err(MappingError::Value(format!(
                    "table `{logical}` maps to `{physical}`, which is neither a table name \
                     (3-255 letters, digits, `_`, `-`, `.`) nor a table ARN"
                )));
            }
        }
        for (declared, key) in &self.kms_keys {
            if declared.is_empty() || !kms_key_reference(key) {
                return Err(MappingError::Value(format!(
                    "KMS key `{declared}` maps to `{key}`, which is not a key id, key ARN, alias \
                     name or alias ARN"
                )));
            }
        }
        for (declared, bucket) in &self.buckets {
            if !bucket_name(declared) || !bucket_name(bucket) {
                return Err(MappingError::Value(format!(
                    "bucket `{declared}` maps to `{bucket}`: both must be S3 bucket names (3-63 \
                     lowercase letters, digits, `.` and `-`, starting and ending with a letter \
                     or digit)"
                )));
            }
        }
        if let Some(arn) = &self.table_arn
            && !table_arn_shape(arn, true)
        {
            return Err(MappingError::Value(format!(
                "table_arn `{arn}` must be `arn:PARTITION:dynamodb:REGION:ACCOUNT:table/{{table}}`, \
                 each part a name or its placeholder (`{{partition}}`, `{{region}}` or `*`, \
                 `{{account}}`)"
            )));
        }
        for t in &self.runtime_tables {
            if t.is_empty() || !name_chars(t) || t.contains(['*', '?']) {
                return Err(MappingError::Value(format!(
                    "runtime table `{t}` is not a table name"
                )));
            }
        }
        for (what, v) in [("region", &self.region), ("partition", &self.partition)] {
            if let Some(v) = v
                && (v.is_empty()
                    || !v
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
            {
                return Err(MappingError::Value(format!(
                    "{what} `{v}` is not a {what} name"
                )));
            }
        }
        if let Some(a) = &self.account
            && (a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(MappingError::Value(format!(
                "account `{a}` is not a 12-digit account id"
            )));
        }
        Ok(())
    }

    /// The name (or ARN) to send for a logical table.
    pub fn table<'a>(&'a self, logical: &'a str) -> std::borrow::Cow<'a, str> {
        match self.tables.get(logical) {
            Some(physical) => physical.as_str().into(),
            None if self.prefix.is_empty() && self.suffix.is_empty() => logical.into(),
            None => format!("{}{logical}{}", self.prefix, self.suffix).into(),
        }
    }

    /// The logical table for a name the service answered with (the inverse of [`table`]).
    ///
    /// [`table`]: Mapping::table
    pub fn logical_table<'a>(&'a self, physical: &'a str) -> std::borrow::Cow<'a, str> {
        if let Some((logical, _)) = self.tables.iter().find(|(_, p)| *p == physical) {
            return logical.as_str().into();
        }
        let stripped = physical
            .strip_prefix(self.prefix.as_str())
            .and_then(|s| s.strip_suffix(self.suffix.as_str()));
        match stripped {
            // A name with an explicit entry never came from prefix + suffix.
            Some(s) if !self.tables.contains_key(s) => s.to_owned().into(),
            _ => physical.into(),
        }
    }

    /// The key id to call KMS with for a key as a field declared it.
    pub fn kms_key<'a>(&'a self, declared: &'a str) -> &'a str {
        self.kms_keys.get(declared).map_or(declared, String::as_str)
    }

    /// The deployed bucket of a bucket a field declares (itself when unmapped).
    pub fn bucket<'a>(&'a self, declared: &'a str) -> &'a str {
        self.buckets.get(declared).map_or(declared, String::as_str)
    }

    /// The ARN of a logical table, from `table_arn` or the standard form.
    pub fn table_arn(&self, logical: &str, partition: &str, region: &str, account: &str) -> String {
        let physical = self.table(logical);
        if physical.starts_with("arn:") {
            return physical.into_owned();
        }
        self.arn_for_physical(&physical, partition, region, account)
    }

    /// The ARN of a physical table name (or name pattern).
    pub fn arn_for_physical(
        &self,
        physical: &str,
        partition: &str,
        region: &str,
        account: &str,
    ) -> String {
        match &self.table_arn {
            Some(pattern) => pattern
                .replace("{partition}", partition)
                .replace("{region}", region)
                .replace("{account}", account)
                .replace("{table}", physical),
            None => format!("arn:{partition}:dynamodb:{region}:{account}:table/{physical}"),
        }
    }

    /// The name pattern every table the prefix and suffix can make matches (`prod-*`): what a
    /// run-time-named operation is granted when wildcards are allowed.
    pub fn name_pattern(&self) -> String {
        format!("{}*{}", self.prefix, self.suffix)
    }
}

/// A DynamoDB table ARN (`pattern`: the `table_arn` template), part by part: no wildcard but a
/// whole-region `*` in a template, no policy variables, a real table name or `{table}`.
fn table_arn_shape(arn: &str, pattern: bool) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [head, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let name = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let table = resource.strip_prefix("table/").is_some_and(|t| {
        if pattern {
            t == "{table}"
        } else {
            (3..=255).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        }
    });
    head == "arn"
        && service == "dynamodb"
        && table
        && (name(partition) || (pattern && partition == "{partition}"))
        && (name(region) || (pattern && (region == "{region}" || region == "*")))
        && ((account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
            || (pattern && account == "{account}"))
}

/// A key id (`1234abcd-...`, `mrk-...`), key ARN, alias name (`alias/...`) or alias ARN: no
/// wildcards, nothing that could widen a policy.
/// S3's bucket naming rules (general purpose buckets).
pub fn bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'-'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..")
}

fn kms_key_reference(key: &str) -> bool {
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/'))
    };
    if let Some(rest) = key.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        return parts.len() == 5
            && parts[1] == "kms"
            && (parts[4].starts_with("key/") || parts[4].starts_with("alias/"))
            && parts.iter().all(|p| plain(p));
    }
    plain(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
prefix = "dev-"
runtime_tables = ["imports"]

[tables]
audit = "shared-audit-log"

[kms]
"alias/orders" = "arn:aws:kms:eu-west-1:111122223333:key/k1"

[env.prod]
prefix = "prod-"
region = "eu-west-1"
account = "111122223333"

[env.prod.tables]
users = "users-v2"
"#;

    #[test]
    fn sections_override_the_top_level() {
        let dev = Mapping::parse(FILE, None).unwrap();
        assert_eq!(dev.table("users"), "dev-users");
        assert_eq!(dev.table("audit"), "shared-audit-log");
        assert_eq!(dev.logical_table("dev-users"), "users");
        assert_eq!(dev.logical_table("shared-audit-log"), "audit");
        assert_eq!(dev.logical_table("other"), "other");
        let prod = Mapping::parse(FILE, Some("prod")).unwrap();
        assert_eq!(prod.table("users"), "users-v2");
        assert_eq!(prod.table("orders"), "prod-orders");
        assert_eq!(prod.table("audit"), "shared-audit-log");
        assert_eq!(prod.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            prod.kms_key("alias/orders"),
            "arn:aws:kms:eu-west-1:111122223333:key/k1"
        );
        assert_eq!(prod.kms_key("alias/other"), "alias/other");
        assert_eq!(prod.runtime_tables, ["imports"]);
        assert_eq!(
            prod.table_arn("orders", "aws", "eu-west-1", "111122223333"),
            "arn:aws:dynamodb:eu-west-1:111122223333:table/prod-orders"
        );
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        for (text, env, needle) in [
            ("prefix = 'a b'", None, "prefix"),
            ("[tables]\nusers = 'x'", None, "neither a table name"),
            ("frobnicate = 1", None, "unknown field"),
            ("account = '12'", None, "12-digit"),
            (
                "table_arn = 'arn:aws:dynamodb:r:a:table/x'",
                None,
                "{table}",
            ),
            ("prefix = 'a-'", Some("prod"), "no [env.prod]"),
            ("[tables]\na = 'same'\nb = 'same'", None, "two tables map"),
            (
                "[tables]\na = 'arn:aws:dynamodb:*:*:table/*'",
                None,
                "neither a table name",
            ),
            ("[kms]\n'alias/a' = '*'", None, "not a key id"),
            (
                "[kms]\n'alias/a' = 'arn:aws:kms:r:1:key/*'",
                None,
                "not a key id",
            ),
            ("runtime_tables = ['imp*']", None, "runtime table"),
            (
                "table_arn = 'arn:{partition}:dynamodb:{region}:{account}:table/{table}*'",
                None,
                "table_arn",
            ),
            (
                "[tables]\nx = 'arn:aws:dynamodb:us-east-1:111122223333:table/${aws:username}'",
                None,
                "neither a table name",
            ),
        ] {
            let err = Mapping::parse(text, env).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn patterns_and_runtime_tables() {
        let m = Mapping {
            prefix: "prod-".into(),
            table_arn: Some("arn:{partition}:dynamodb:*:{account}:table/{table}".into()),
            ..Mapping::default()
        };
        assert_eq!(
            m.table_arn("users", "aws", "eu-west-1", "111122223333"),
            "arn:aws:dynamodb:*:111122223333:table/prod-users"
        );
        assert_eq!(m.name_pattern(), "prod-*");
        assert_eq!(Mapping::default().name_pattern(), "*");
        assert!(Mapping::default().is_identity());
    }
}

#[cfg(test)]
mod bucket_tests {
    use super::*;

    #[test]
    fn buckets_map_like_tables_and_bad_names_are_refused() {
        let m = Mapping::parse(
            "[buckets]\nattachments = \"dev-attachments\"\n[env.prod.buckets]\nattachments = \"prod-attachments\"\n",
            None,
        )
        .unwrap();
        assert_eq!(m.bucket("attachments"), "dev-attachments");
        assert_eq!(m.bucket("other"), "other");
        assert!(!m.is_identity());
        let prod = Mapping::parse(
            "[buckets]\nattachments = \"dev-attachments\"\n[env.prod.buckets]\nattachments = \"prod-attachments\"\n",
            Some("prod"),
        )
        .unwrap();
        assert_eq!(prod.bucket("attachments"), "prod-attachments");
        for bad in ["Upper", "ab", "-lead", "trail-", "a..b", "under_score"] {
            let text = format!("[buckets]\nattachments = \"{bad}\"\n");
            assert!(Mapping::parse(&text, None).is_err(), "{bad} accepted");
        }
        assert!(bucket_name("my.bucket-1"));
    }
}
