//! What a file really is, from its first bytes, so that a wrong extension is refused with
//! the name of what the file looks like.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

use super::ole::{OLE_MAGIC, Ole, read_all};
use super::{Format, Found, ReadError};

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
pub(super) const ODS_MIMETYPE: &[u8] = b"application/vnd.oasis.opendocument.spreadsheet";

/// Checks the first bytes against `format`; leaves `file` at the start.
pub(super) fn check_kind(file: &mut File, format: Format) -> Result<(), ReadError> {
    let mut head = Vec::with_capacity(8192);
    file.by_ref().take(8192).read_to_end(&mut head)?;
    file.seek(SeekFrom::Start(0))?;
    if head.is_empty() {
        return Err(ReadError::Empty);
    }
    let wrong = |found| ReadError::WrongFormat {
        format,
        found: Some(found),
    };
    let is_zip = head.starts_with(ZIP_MAGIC);
    let is_ole = head.starts_with(OLE_MAGIC);
    match format {
        Format::Xlsx | Format::Ods if is_zip => Ok(()),
        Format::Xls if is_ole => Ok(()),
        Format::Csv if !is_zip && !is_ole && !head.contains(&0) => Ok(()),
        _ => {
            let found = if is_zip {
                zip_kind(file)
            } else if is_ole {
                ole_kind(file)
            } else if head.starts_with(b"%PDF") {
                Found::Pdf
            } else if head.starts_with(b"\x89PNG")
                || head.starts_with(b"\xFF\xD8\xFF")
                || head.starts_with(b"GIF8")
                || head.starts_with(b"BM")
                || (head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP"))
            {
                Found::Image
            } else if head.contains(&0) {
                Found::Binary
            } else {
                Found::Text
            };
            file.seek(SeekFrom::Start(0))?;
            if format == Format::Xlsx && found == Found::Ole {
                // An encrypted .xlsx is an OLE file holding an "EncryptedPackage".
                if ole_has_stream(file, "EncryptedPackage") {
                    return Err(ReadError::Encrypted);
                }
            }
            Err(wrong(found))
        }
    }
}

/// What kind of zip `file` is (for a wrong-format message).
fn zip_kind(file: &mut File) -> Found {
    let Ok(file) = file.try_clone() else {
        return Found::Zip;
    };
    let Ok(mut zip) = zip::ZipArchive::new(BufReader::new(file)) else {
        return Found::Zip;
    };
    if is_ods_zip(&mut zip) {
        return Found::Ods;
    }
    if has_xlsx_workbook(&zip) {
        return Found::Xlsx;
    }
    Found::Zip
}

fn ole_kind(file: &mut File) -> Found {
    if ole_has_stream(file, "Workbook") || ole_has_stream(file, "Book") {
        Found::Xls
    } else {
        Found::Ole
    }
}

fn ole_has_stream(file: &mut File, name: &str) -> bool {
    let Ok(data) = read_all(file) else {
        return false;
    };
    Ole::parse(&data).is_ok_and(|ole| ole.find(name).is_some())
}

pub(super) fn is_ods_zip<R: Read + Seek>(zip: &mut zip::ZipArchive<R>) -> bool {
    let Ok(entry) = zip.by_name("mimetype") else {
        return false;
    };
    let mut mime = Vec::with_capacity(64);
    if entry.take(128).read_to_end(&mut mime).is_err() {
        return false;
    }
    mime.trim_ascii() == ODS_MIMETYPE
}

pub(super) fn has_xlsx_workbook<R: Read + Seek>(zip: &zip::ZipArchive<R>) -> bool {
    zip.file_names_raw().any(|n| {
        let n = n.to_ascii_lowercase();
        n.ends_with(b"workbook.xml") || n.ends_with(b"workbook2.xml")
    })
}

#[cfg(test)]
mod tests {
    use crate::imports::read::fixtures::{ODS_SHEET, file, ods, read_all, sample_xlsx, zip_bytes};
    use crate::imports::read::{Format, Found, Limits, ReadError};

    #[test]
    fn wrong_extensions_say_what_the_file_really_is() {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = file(&dir, "a.xlsx", "公司名称,电话\n北京,010\n".as_bytes());
        let err = read_all(&csv, Format::Xlsx, &Limits::default()).expect_err("not xlsx");
        assert!(
            matches!(
                err,
                ReadError::WrongFormat {
                    format: Format::Xlsx,
                    found: Some(Found::Text)
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.message("zh-CN"),
            "文件扩展名是 .xlsx，但内容不是 Excel 工作簿（.xlsx），看起来是文本文件。请另存为正确的格式或改成正确的扩展名后重新上传。"
        );
        assert!(
            err.message("en")
                .starts_with("The file is named .xlsx but is not an Excel workbook (.xlsx)")
        );
        let png = file(&dir, "a.csv", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
        let err = read_all(&png, Format::Csv, &Limits::default()).expect_err("not csv");
        assert!(
            matches!(
                err,
                ReadError::WrongFormat {
                    format: Format::Csv,
                    found: Some(Found::Image)
                }
            ),
            "{err:?}"
        );
        let xlsx = file(&dir, "b.ods", &sample_xlsx(false));
        for (format, found) in [
            (Format::Ods, Found::Xlsx),
            (Format::Csv, Found::Xlsx),
            (Format::Xls, Found::Xlsx),
        ] {
            let err = read_all(&xlsx, format, &Limits::default()).expect_err("wrong");
            assert!(
                matches!(err, ReadError::WrongFormat { format: f, found: Some(g) } if f == format && g == found),
                "{err:?}"
            );
        }
        let ods_file = file(&dir, "c.xlsx", &ods(ODS_SHEET));
        let err = read_all(&ods_file, Format::Xlsx, &Limits::default()).expect_err("wrong");
        assert!(
            matches!(
                err,
                ReadError::WrongFormat {
                    found: Some(Found::Ods),
                    ..
                }
            ),
            "{err:?}"
        );
        let docx = file(
            &dir,
            "d.xlsx",
            &zip_bytes(&[("word/document.xml", b"<w/>")]),
        );
        let err = read_all(&docx, Format::Xlsx, &Limits::default()).expect_err("wrong");
        assert!(
            matches!(
                err,
                ReadError::WrongFormat {
                    found: Some(Found::Zip),
                    ..
                }
            ),
            "{err:?}"
        );
        let empty = file(&dir, "e.csv", b"");
        let err = read_all(&empty, Format::Csv, &Limits::default()).expect_err("empty");
        assert!(matches!(err, ReadError::Empty), "{err:?}");
        let blank = file(&dir, "f.csv", b",,\n\n  ,\n");
        let err = read_all(&blank, Format::Csv, &Limits::default()).expect_err("blank");
        assert!(matches!(err, ReadError::NoHeader), "{err:?}");
    }
}
