//! xlsx: calamine's streaming cell reader, after every XML part has passed the run guard
//! and the shared strings part its size checks (see the module docs of [`super`]).

use std::fs::File;
use std::io::{self, BufReader, Read};

use calamine::{Reader, Xlsx};
use quick_xml::events::{BytesStart, Event};

use super::error::corrupt;
use super::guards::{XmlRunGuard, Zip, check_zip, entry_io_err, guarded, unescape, zip_err};
use super::rows::Rows;
use super::value::{Value, render};
use super::{Format, Limits, ReadError, Summary, first_sheet};

fn xlsx_err(e: calamine::XlsxError) -> ReadError {
    match e {
        calamine::XlsxError::Password => ReadError::Encrypted,
        calamine::XlsxError::Io(e) => ReadError::Io(e),
        e => corrupt(e),
    }
}

fn check_declared(
    dims: calamine::Dimensions,
    limits: &Limits,
    summary: &mut Summary,
) -> Result<(), ReadError> {
    let (start, end) = (dims.start, dims.end);
    let rows = u64::from(end.0.saturating_sub(start.0)) + 1;
    let columns = u64::from(end.1) + 1;
    if rows > limits.max_rows.saturating_add(1) || columns > limits.max_columns as u64 {
        return Err(ReadError::DeclaredTooLarge {
            rows,
            columns,
            max_rows: limits.max_rows,
            max_columns: limits.max_columns,
        });
    }
    // No `<dimension>` (or "A1") reads as A1:A1: nothing declared.
    if end != (0, 0) {
        summary.declared_rows = Some(rows - 1);
    }
    Ok(())
}

pub(super) fn read(
    file: File,
    limits: &Limits,
    rows: &mut Rows<'_>,
    summary: &mut Summary,
) -> Result<(), ReadError> {
    let mut zip = check_zip(BufReader::new(file), limits, Format::Xlsx)?;
    prescan_xlsx(&mut zip, limits)?;
    let reader = zip.into_inner();
    let mut workbook: Xlsx<_> = guarded(|| Xlsx::new(reader))?.map_err(xlsx_err)?;
    let name = first_sheet(workbook.sheets_metadata()).ok_or(ReadError::NoWorksheet)?;
    let mut cells = guarded(|| workbook.worksheet_cells_reader(&name))?.map_err(xlsx_err)?;
    check_declared(cells.dimensions(), limits, summary)?;
    let mut text = String::new();
    loop {
        let next = guarded(|| cells.next_cell())?.map_err(xlsx_err)?;
        let Some(cell) = next else { break };
        let (row, col) = cell.get_position();
        let value = Value::from(cell.get_value());
        if matches!(value, Value::Empty) {
            continue;
        }
        let value = render(&value, &mut text);
        if rows.cell(u64::from(row), u64::from(col), value)?.is_break() {
            return Ok(());
        }
    }
    Ok(())
}

/// The declared data rows of the first worksheet, read from its `<dimension>` without
/// loading the workbook (no shared strings).
pub(super) fn declared_rows(file: File, limits: &Limits) -> Option<u64> {
    fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == key || a.key.local_name().as_ref() == key)
            .and_then(|a| unescape(&a.value))
    }
    /// Reads up to 1 MiB of `name`, calling `f` on each start tag until it returns Some.
    fn scan<T>(
        zip: &mut Zip,
        name: &str,
        mut f: impl FnMut(&BytesStart<'_>) -> Option<T>,
    ) -> Option<T> {
        let index = zip
            .file_names_raw()
            .position(|n| n.eq_ignore_ascii_case(name.as_bytes()))?;
        let entry = zip.by_index(index).ok()?;
        let mut xml = quick_xml::Reader::from_reader(BufReader::new(
            XmlRunGuard::new(entry, 64 << 10).take(1 << 20),
        ));
        xml.config_mut().check_end_names = false;
        let mut buf = Vec::new();
        loop {
            match xml.read_event_into(&mut buf).ok()? {
                Event::Start(e) | Event::Empty(e) => {
                    if let Some(t) = f(&e) {
                        return Some(t);
                    }
                }
                Event::Eof => return None,
                _ => {}
            }
            buf.clear();
        }
    }
    let mut zip = check_zip(BufReader::new(file), limits, Format::Xlsx).ok()?;
    let rid = scan(&mut zip, "xl/workbook.xml", |e| {
        (e.local_name().as_ref() == "sheet").then(|| attr(e, "id"))?
    })?;
    let target = scan(&mut zip, "xl/_rels/workbook.xml.rels", |e| {
        (e.local_name().as_ref() == "Relationship" && attr(e, "Id").as_deref() == Some(&rid))
            .then(|| attr(e, "Target"))?
    })?;
    let path = match target.strip_prefix('/') {
        Some(abs) => abs.to_owned(),
        None => format!("xl/{target}"),
    };
    let dimension = scan(&mut zip, &path, |e| match e.local_name().as_ref() {
        "dimension" => Some(attr(e, "ref")),
        "sheetData" => Some(None),
        _ => None,
    })??;
    let mut parts = dimension.split(':').map(|p| {
        let digits: String = p.chars().filter(char::is_ascii_digit).collect();
        digits.parse::<u64>().ok()
    });
    let first = parts.next()??;
    let last = parts.next().unwrap_or(Some(first))?;
    Some(last.saturating_sub(first))
}

/// Inflates every XML part of an xlsx once through [`XmlRunGuard`], and checks the shared
/// strings part's size and declared `uniqueCount`.
fn prescan_xlsx(zip: &mut Zip, limits: &Limits) -> Result<(), ReadError> {
    let mut buf = vec![0u8; 64 << 10];
    for i in 0..zip.len() {
        let (name, size) = {
            let entry = zip.by_index_data(i).map_err(zip_err)?;
            (
                String::from_utf8_lossy(entry.name_raw()).to_ascii_lowercase(),
                entry.size(),
            )
        };
        let shared = name.ends_with("sharedstrings.xml");
        if shared && size > limits.max_shared_strings {
            return Err(ReadError::SharedStringsTooLarge {
                bytes: size,
                limit: limits.max_shared_strings,
            });
        }
        let xml = name.ends_with(".xml") || name.ends_with(".rels");
        if !xml || (size <= limits.max_xml_run() && !shared) {
            continue;
        }
        let entry = zip.by_index(i).map_err(zip_err)?;
        let mut guard = XmlRunGuard::new(entry, limits.max_xml_run());
        let mut head: Vec<u8> = Vec::new();
        loop {
            let n = match guard.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(entry_io_err(&e, limits)),
            };
            if shared && head.len() < (64 << 10) {
                head.extend_from_slice(buf.get(..n).unwrap_or_default());
            }
        }
        if shared {
            check_unique_count(&head, size)?;
        }
    }
    Ok(())
}

/// calamine reserves `uniqueCount` strings up front: it cannot be more than the part could
/// hold (an `<si/>` is 5 bytes).
fn check_unique_count(head: &[u8], size: u64) -> Result<(), ReadError> {
    let mut xml = quick_xml::Reader::from_reader(head);
    let mut buf = Vec::new();
    loop {
        match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                if e.local_name().as_ref() != "sst" {
                    return Ok(());
                }
                for attr in e.attributes().flatten() {
                    if attr.key.as_ref() == "uniqueCount" {
                        let digits = attr.value.trim();
                        // calamine parses plain digits; a longer number fails there.
                        if let Ok(count) = digits.parse::<u64>()
                            && count > size / 5 + 1
                        {
                            return Err(corrupt(format!(
                                "the shared strings part declares {count} strings in {size} bytes"
                            )));
                        }
                    }
                }
                return Ok(());
            }
            Ok(Event::Eof) | Err(_) => return Ok(()),
            Ok(_) => {}
        }
        buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use crate::imports::read::fixtures::{file, patch_sheet, read_all, row, sample_xlsx, strings};
    use crate::imports::read::{Format, Limits, ReadError, Row, estimate_rows, read};

    fn check_sample(headers: &[String], rows: &[Row]) {
        assert_eq!(
            headers,
            strings(&["公司名称", "电话", "成立日期", "合计", "", "公司名称"])
        );
        assert_eq!(
            rows,
            [
                row(
                    2,
                    &[
                        "北京星辰科技有限公司",
                        "13800138000",
                        "2024-03-15",
                        "3",
                        "",
                        ""
                    ]
                ),
                row(
                    4,
                    &[
                        "上海远航物流",
                        "0.1",
                        "2023-12-01 09:30:15",
                        "TRUE",
                        "",
                        "",
                        "",
                        "-2.5"
                    ]
                ),
            ]
        );
    }

    #[test]
    fn xlsx_with_shared_or_inline_strings_reads_values_and_true_row_numbers() {
        let dir = tempfile::tempdir().expect("tempdir");
        for constant_memory in [false, true] {
            let path = file(&dir, "客户.xlsx", &sample_xlsx(constant_memory));
            let (headers, rows, summary) =
                read_all(&path, Format::Xlsx, &Limits::default()).expect("read");
            check_sample(&headers, &rows);
            assert_eq!(summary.rows, 2);
            assert_eq!(summary.encoding, None);
            assert_eq!(summary.declared_rows, Some(3));
            assert_eq!(
                estimate_rows(&path, Format::Xlsx, &Limits::default()),
                Some(3)
            );
        }
    }

    #[test]
    fn absurd_declared_dimensions_fail_before_rows_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let xlsx = patch_sheet(&sample_xlsx(false), |xml| {
            xml.replace(
                r#"<dimension ref="A1:H4"/>"#,
                r#"<dimension ref="A1:XFD1048576"/>"#,
            )
        });
        let path = file(&dir, "huge.xlsx", &xlsx);
        let mut rows = 0;
        let err = read(
            &path,
            Format::Xlsx,
            &Limits::default(),
            &mut |_| ControlFlow::Continue(()),
            &mut |_| {
                rows += 1;
                ControlFlow::Continue(())
            },
        )
        .expect_err("absurd");
        assert_eq!(rows, 0);
        assert!(
            matches!(
                err,
                ReadError::DeclaredTooLarge {
                    rows: 1_048_576,
                    columns: 16_384,
                    max_columns: 200,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            estimate_rows(&path, Format::Xlsx, &Limits::default()),
            Some(1_048_575)
        );
        // A reversed dimension must not panic (calamine underflows on it).
        let xlsx = patch_sheet(&sample_xlsx(false), |xml| {
            xml.replace(r#"<dimension ref="A1:H4"/>"#, r#"<dimension ref="H4:A1"/>"#)
        });
        let path = file(&dir, "reversed.xlsx", &xlsx);
        let result = read_all(&path, Format::Xlsx, &Limits::default());
        assert!(result.is_ok() || matches!(result, Err(ReadError::Corrupt(_))));
        // One enormous inline string: refused by the pre-scan, not buffered.
        let xlsx = patch_sheet(&sample_xlsx(true), |xml| {
            xml.replacen(
                "</row>",
                &format!(
                    r#"<c r="Z1" t="inlineStr"><is><t>{}</t></is></c></row>"#,
                    "x".repeat(600_000)
                ),
                1,
            )
        });
        let path = file(&dir, "inline.xlsx", &xlsx);
        let err = read_all(&path, Format::Xlsx, &Limits::default()).expect_err("too long");
        assert!(matches!(err, ReadError::XmlRunTooLong { .. }), "{err:?}");
    }
}
