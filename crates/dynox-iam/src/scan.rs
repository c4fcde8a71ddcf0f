//! Reads a linked executable and returns the permissions its markers declare.
//!
//! Only sections that are loaded at run time are searched (code and data, never debug info or
//! symbol tables), so a record that the linker dropped but that debug info still mentions is not
//! counted. Each hit of [`MAGIC`] is decoded and validated; hits that fail
//! validation are counted, never guessed at.

use crate::marker::{self, MAGIC, Requirement};
use object::{Object, ObjectSection, SectionKind};
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// What a scan found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// The distinct permissions the binary can use.
    pub requirements: BTreeSet<Requirement>,
    /// How many marker records were found, counting duplicates.
    pub records: usize,
    /// Places where the magic appears but no record follows (the checksum does not match: the
    /// scanner's own needle, for instance, when a binary links this crate).
    pub rejected: usize,
    /// Records with a valid checksum that this version cannot decode (a newer format, say). A
    /// policy built while any exist could miss permissions, so the exporter refuses them.
    pub unreadable: Vec<String>,
}

/// Why a binary could not be scanned.
#[derive(Debug)]
pub enum ScanError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The bytes are not an executable format the scanner understands (ELF, Mach-O, PE).
    Format(object::Error),
    /// The object has no loaded sections to search.
    NoSections,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::Io { path, .. } => write!(f, "cannot read {}", path.display()),
            ScanError::Format(e) => write!(f, "not an executable this scanner can read: {e}"),
            ScanError::NoSections => f.write_str("the executable has no loaded sections"),
        }
    }
}

impl std::error::Error for ScanError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScanError::Io { source, .. } => Some(source),
            ScanError::Format(e) => Some(e),
            ScanError::NoSections => None,
        }
    }
}

/// Scans the executable at `path`.
pub fn scan_file(path: impl AsRef<Path>) -> Result<ScanReport, ScanError> {
    let path = path.as_ref();
    let data = std::fs::read(path).map_err(|source| ScanError::Io {
        path: path.to_owned(),
        source,
    })?;
    scan_bytes(&data)
}

fn is_loaded(kind: SectionKind) -> bool {
    matches!(
        kind,
        SectionKind::Text
            | SectionKind::Data
            | SectionKind::ReadOnlyData
            | SectionKind::ReadOnlyDataWithRel
            | SectionKind::ReadOnlyString
            | SectionKind::Tls
    )
}

/// Scans an executable already in memory.
pub fn scan_bytes(data: &[u8]) -> Result<ScanReport, ScanError> {
    let file = object::File::parse(data).map_err(ScanError::Format)?;
    let finder = memchr::memmem::Finder::new(&MAGIC);
    let mut report = ScanReport::default();
    let mut searched = false;
    for section in file.sections() {
        if !is_loaded(section.kind()) {
            continue;
        }
        let Ok(bytes) = section.data() else { continue };
        searched = true;
        for at in finder.find_iter(bytes) {
            match marker::decode(&bytes[at..]) {
                Ok(req) => {
                    report.records += 1;
                    report.requirements.insert(req);
                }
                Err(marker::DecodeError::Checksum | marker::DecodeError::Truncated) => {
                    report.rejected += 1
                }
                Err(e) => report.unreadable.push(e.to_string()),
            }
        }
    }
    if !searched {
        return Err(ScanError::NoSections);
    }
    Ok(report)
}
