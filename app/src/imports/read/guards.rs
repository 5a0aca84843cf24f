//! The guards every file passes before a parser sees it: the zip central directory is
//! checked before anything is inflated, every XML part is read through a bound on how much
//! quick-xml may buffer, and calamine calls run under `catch_unwind` (see the module docs
//! of [`super`]).

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::error::corrupt;
use super::kind::{has_xlsx_workbook, is_ods_zip};
use super::{Format, Found, Limits, ReadError};

/// Runs a calamine call; a panic inside it becomes [`ReadError::Corrupt`].
pub(super) fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, ReadError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        corrupt(format!("the spreadsheet library gave up: {what}"))
    })
}

pub(super) type Zip = zip::ZipArchive<BufReader<File>>;

pub(super) fn zip_err(e: zip::result::ZipError) -> ReadError {
    match e {
        zip::result::ZipError::Io(e) => ReadError::Io(e),
        e => corrupt(e),
    }
}

/// Opens the zip and checks its central directory against `limits` before anything is
/// inflated; for xlsx, also that it holds a workbook; for ods, its mimetype.
pub(super) fn check_zip(
    reader: BufReader<File>,
    limits: &Limits,
    format: Format,
) -> Result<Zip, ReadError> {
    let mut zip = zip::ZipArchive::new(reader).map_err(zip_err)?;
    if zip.len() > limits.max_zip_entries {
        return Err(ReadError::TooManyEntries {
            entries: zip.len(),
            limit: limits.max_zip_entries,
        });
    }
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_data(i).map_err(zip_err)?;
        total = total.saturating_add(entry.size());
    }
    if total > limits.max_uncompressed {
        return Err(ReadError::TooLarge {
            bytes: total,
            limit: limits.max_uncompressed,
        });
    }
    for i in 0..zip.len() {
        let entry = zip.by_index_data(i).map_err(zip_err)?;
        if entry.encrypted() {
            return Err(ReadError::Encrypted);
        }
        let size = entry.size();
        let ratio = size / entry.compressed_size().max(1);
        if size > (1 << 20) && ratio > limits.max_ratio {
            return Err(ReadError::ZipBomb {
                entry: String::from_utf8_lossy(entry.name_raw())
                    .chars()
                    .take(100)
                    .collect(),
                ratio,
                limit: limits.max_ratio,
            });
        }
    }
    match format {
        Format::Ods => {
            if !is_ods_zip(&mut zip) {
                let found = if has_xlsx_workbook(&zip) {
                    Found::Xlsx
                } else {
                    Found::Zip
                };
                return Err(ReadError::WrongFormat {
                    format,
                    found: Some(found),
                });
            }
        }
        _ => {
            if !has_xlsx_workbook(&zip) {
                let found = if is_ods_zip(&mut zip) {
                    Found::Ods
                } else {
                    Found::Zip
                };
                return Err(ReadError::WrongFormat {
                    format,
                    found: Some(found),
                });
            }
        }
    }
    Ok(zip)
}

/// A reader that fails once more than `limit` bytes pass without a `<`: quick-xml buffers a
/// whole text node or tag, so this bounds its buffer.
pub(super) struct XmlRunGuard<R> {
    inner: R,
    since_lt: u64,
    limit: u64,
}

impl<R: Read> XmlRunGuard<R> {
    pub(super) fn new(inner: R, limit: u64) -> Self {
        XmlRunGuard {
            inner,
            since_lt: 0,
            limit: limit.max(1024),
        }
    }
}

#[derive(Debug)]
struct RunTooLong(u64);

impl fmt::Display for RunTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an XML run is longer than {} bytes", self.0)
    }
}

impl std::error::Error for RunTooLong {}

impl<R: Read> Read for XmlRunGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Reading at most `limit` bytes at a time, a run between two `<` inside one chunk
        // is shorter than the limit; only the edges need counting.
        let max = usize::try_from(self.limit)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let Some(buf) = buf.get_mut(..max) else {
            return Ok(0);
        };
        let n = self.inner.read(buf)?;
        let chunk = buf.get(..n).unwrap_or_default();
        match memchr::memchr(b'<', chunk) {
            None => self.since_lt = self.since_lt.saturating_add(n as u64),
            Some(first) => {
                self.since_lt = self.since_lt.saturating_add(first as u64);
                if self.since_lt > self.limit {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        RunTooLong(self.limit),
                    ));
                }
                let last = memchr::memrchr(b'<', chunk).unwrap_or(first);
                self.since_lt = (n - last - 1) as u64;
            }
        }
        if self.since_lt > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                RunTooLong(self.limit),
            ));
        }
        Ok(n)
    }
}

/// Maps an I/O error from inside a zip entry or an XML reader: a run guard trip becomes
/// [`ReadError::XmlRunTooLong`], anything else is corruption.
pub(super) fn entry_io_err(e: &io::Error, limits: &Limits) -> ReadError {
    if e.get_ref().is_some_and(|inner| inner.is::<RunTooLong>()) {
        ReadError::XmlRunTooLong {
            limit: limits.max_xml_run(),
        }
    } else {
        corrupt(e)
    }
}

pub(super) fn xml_err(e: quick_xml::Error, limits: &Limits) -> ReadError {
    match e {
        quick_xml::Error::Io(io) => entry_io_err(&io, limits),
        e => corrupt(e),
    }
}

/// An attribute value with its entities resolved (`None` if one is unknown).
pub(super) fn unescape(raw: &str) -> Option<String> {
    quick_xml::escape::unescape(raw).ok().map(Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use crate::imports::read::fixtures::{
        ODS_SHEET, file, ods, read_all, sample_xlsx, unzip, zip_bytes,
    };
    use crate::imports::read::{Format, Limits, ReadError};

    #[test]
    fn zip_bombs_fail_before_anything_is_inflated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut entries = unzip(&sample_xlsx(false));
        entries.push(("xl/media/zeros.bin".into(), vec![0u8; 8 << 20]));
        let refs: Vec<(&str, &[u8])> = entries
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let path = file(&dir, "bomb.xlsx", &zip_bytes(&refs));
        let err = read_all(&path, Format::Xlsx, &Limits::default()).expect_err("bomb");
        match &err {
            ReadError::ZipBomb {
                entry,
                ratio,
                limit: 200,
            } => {
                assert_eq!(entry, "xl/media/zeros.bin");
                assert!(*ratio > 200);
            }
            other => panic!("{other:?}"),
        }
        assert!(err.message("zh-CN").contains("压缩炸弹"));
        // Total size and entry count limits.
        let small = Limits {
            max_uncompressed: 1 << 20,
            ..Limits::default()
        };
        let err = read_all(&path, Format::Xlsx, &small).expect_err("large");
        assert!(
            matches!(err, ReadError::TooLarge { limit, .. } if limit == 1 << 20),
            "{err:?}"
        );
        let few = Limits {
            max_zip_entries: 3,
            ..Limits::default()
        };
        let err = read_all(&path, Format::Xlsx, &few).expect_err("entries");
        assert!(
            matches!(err, ReadError::TooManyEntries { limit: 3, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn an_entry_larger_than_its_declared_size_is_caught() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = ods(ODS_SHEET);
        // Shrink content.xml's declared size in the central directory (and local header).
        let name = b"content.xml";
        for (sig, size_at) in [(b"PK\x01\x02", 24usize), (b"PK\x03\x04", 22usize)] {
            let at = (0..bytes.len())
                .find(|&i| {
                    bytes[i..].starts_with(sig) && {
                        let name_at = if sig == b"PK\x01\x02" { i + 46 } else { i + 30 };
                        bytes[name_at..].starts_with(name)
                    }
                })
                .expect("header");
            bytes[at + size_at..at + size_at + 4].copy_from_slice(&100u32.to_le_bytes());
        }
        let path = file(&dir, "lying.ods", &bytes);
        let err = read_all(&path, Format::Ods, &Limits::default()).expect_err("lies");
        assert!(matches!(err, ReadError::Corrupt(_)), "{err:?}");
    }
}
