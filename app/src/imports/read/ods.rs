//! ods: a streaming reader of `content.xml` (quick-xml over the zip entry), because
//! calamine's `Ods::new` expands every repeat of every sheet in memory. Repeats are
//! counted, never expanded beyond the limits, and memory is one row.

use std::fs::File;
use std::io::BufReader;
use std::ops::ControlFlow;

use quick_xml::events::{BytesStart, Event};

use super::error::corrupt;
use super::guards::{XmlRunGuard, Zip, check_zip, unescape, xml_err, zip_err};
use super::rows::Rows;
use super::value::{push_float, push_iso_datetime, push_iso_duration};
use super::{Format, Limits, ReadError};

pub(super) fn read(file: File, limits: &Limits, rows: &mut Rows<'_>) -> Result<(), ReadError> {
    let mut zip = check_zip(BufReader::new(file), limits, Format::Ods)?;
    if ods_encrypted(&mut zip, limits)? {
        return Err(ReadError::Encrypted);
    }
    let entry = match zip.by_name("content.xml") {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(corrupt("the spreadsheet has no content.xml"));
        }
        Err(e) => return Err(zip_err(e)),
    };
    let guard = XmlRunGuard::new(entry, limits.max_xml_run());
    let mut xml = quick_xml::Reader::from_reader(BufReader::with_capacity(64 << 10, guard));
    // No end-name stack: it would grow with hostile nesting.
    xml.config_mut().check_end_names = false;
    OdsReader {
        limits,
        rows,
        buf: Vec::with_capacity(1024),
        cell_buf: Vec::with_capacity(1024),
        text: String::new(),
        row_cells: Vec::new(),
    }
    .read(&mut xml)
}

/// ODF encryption is declared in the manifest (the parts themselves look like deflate).
fn ods_encrypted(zip: &mut Zip, limits: &Limits) -> Result<bool, ReadError> {
    let entry = match zip.by_name("META-INF/manifest.xml") {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(false),
        Err(e) => return Err(zip_err(e)),
    };
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(XmlRunGuard::new(
        entry,
        limits.max_xml_run(),
    )));
    xml.config_mut().check_end_names = false;
    let mut buf = Vec::new();
    loop {
        match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                if e.local_name().as_ref() == "encryption-data" {
                    return Ok(true);
                }
            }
            Ok(Event::Eof) => return Ok(false),
            Err(e) => return Err(xml_err(e, limits)),
            Ok(_) => {}
        }
        buf.clear();
    }
}

type OdsXml<'z> =
    quick_xml::Reader<BufReader<XmlRunGuard<zip::read::ZipFile<'z, BufReader<File>>>>>;

struct OdsReader<'l, 'r, 'a> {
    limits: &'l Limits,
    rows: &'r mut Rows<'a>,
    buf: Vec<u8>,
    cell_buf: Vec<u8>,
    text: String,
    row_cells: Vec<String>,
}

/// A cell's typed value from its attributes.
#[derive(Default)]
struct OdsCell {
    repeat: u64,
    value_type: Option<String>,
    value: Option<String>,
    error: bool,
}

fn repeat_attr(e: &BytesStart<'_>, key: &str) -> u64 {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| a.value.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .max(1)
}

impl OdsReader<'_, '_, '_> {
    fn read(mut self, xml: &mut OdsXml<'_>) -> Result<(), ReadError> {
        let limits = self.limits;
        // Find the first table.
        loop {
            self.buf.clear();
            match xml.read_event_into(&mut self.buf) {
                Ok(Event::Start(e)) if e.name().as_ref() == "table:table" => break,
                Ok(Event::Eof) => return Err(ReadError::NoWorksheet),
                Err(e) => return Err(xml_err(e, limits)),
                Ok(_) => {}
            }
        }
        // Rows of the first table, whatever groups they are nested in; nested tables
        // (inside cells) are skipped by the cell reader.
        let mut row_index: u64 = 0;
        loop {
            self.buf.clear();
            let event = xml.read_event_into(&mut self.buf);
            match event {
                Ok(Event::Start(e)) if e.name().as_ref() == "table:table-row" => {
                    let repeat = repeat_attr(&e, "table:number-rows-repeated");
                    if self.read_row(xml, row_index, repeat)?.is_break() {
                        return Ok(());
                    }
                    row_index = row_index.saturating_add(repeat);
                }
                Ok(Event::Empty(e)) if e.name().as_ref() == "table:table-row" => {
                    let repeat = repeat_attr(&e, "table:number-rows-repeated");
                    row_index = row_index.saturating_add(repeat);
                }
                Ok(Event::End(e)) if e.name().as_ref() == "table:table" => return Ok(()),
                Ok(Event::Eof) => return Err(corrupt("content.xml ends inside a table")),
                Err(e) => return Err(xml_err(e, limits)),
                Ok(_) => {}
            }
        }
    }

    /// Reads one `<table:table-row>` (its start tag consumed) and emits it `repeat` times.
    fn read_row(
        &mut self,
        xml: &mut OdsXml<'_>,
        row: u64,
        repeat: u64,
    ) -> Result<ControlFlow<()>, ReadError> {
        let limits = self.limits;
        self.row_cells.clear();
        let mut col: u64 = 0;
        let mut buf = std::mem::take(&mut self.buf);
        loop {
            buf.clear();
            let event = xml.read_event_into(&mut buf);
            let (e, has_content) = match event {
                Ok(Event::Start(e)) => (e, true),
                Ok(Event::Empty(e)) => (e, false),
                Ok(Event::End(e)) if e.name().as_ref() == "table:table-row" => break,
                Ok(Event::Eof) => return Err(corrupt("content.xml ends inside a row")),
                Err(e) => return Err(xml_err(e, limits)),
                Ok(_) => continue,
            };
            let is_cell = matches!(
                e.name().as_ref(),
                "table:table-cell" | "table:covered-table-cell"
            );
            if !is_cell {
                if has_content {
                    // Something else inside a row (not in ODF); skip it whole.
                    skip_element(xml, e.name().as_ref(), limits)?;
                }
                continue;
            }
            let cell = Self::cell_attrs(&e);
            self.text.clear();
            if has_content {
                self.read_cell_text(xml, row, col)?;
            }
            let value = ods_cell_value(&self.text, &cell).trim();
            if !value.is_empty() {
                for k in 0..cell.repeat {
                    let c = col.saturating_add(k);
                    self.rows.check(row, c, value)?;
                    // Checked: c < max_columns.
                    let c = c as usize;
                    if self.row_cells.len() <= c {
                        self.row_cells.resize(c + 1, String::new());
                    }
                    if let Some(slot) = self.row_cells.get_mut(c) {
                        value.clone_into(slot);
                    }
                }
            }
            col = col.saturating_add(cell.repeat);
        }
        self.buf = buf;
        if self.row_cells.is_empty() {
            return Ok(ControlFlow::Continue(()));
        }
        for k in 0..repeat {
            let cells = if k + 1 == repeat {
                std::mem::take(&mut self.row_cells)
            } else {
                self.row_cells.clone()
            };
            if self.rows.emit(row.saturating_add(k), cells)?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    fn cell_attrs(e: &BytesStart<'_>) -> OdsCell {
        let mut cell = OdsCell {
            repeat: 1,
            ..OdsCell::default()
        };
        let mut value = None;
        let mut date = None;
        let mut time = None;
        let mut boolean = None;
        let mut string = None;
        for attr in e.attributes().flatten() {
            let v = || unescape(&attr.value);
            match attr.key.as_ref() {
                "table:number-columns-repeated" => {
                    cell.repeat = attr.value.trim().parse::<u64>().unwrap_or(1).max(1);
                }
                "office:value-type" => cell.value_type = v(),
                "office:value" => value = v(),
                "office:date-value" => date = v(),
                "office:time-value" => time = v(),
                "office:boolean-value" => boolean = v(),
                "office:string-value" => string = v(),
                "calcext:value-type" => cell.error = attr.value.as_ref() == "error",
                _ => {}
            }
        }
        let mut out = String::new();
        cell.value = match cell.value_type.as_deref() {
            Some("float" | "percentage" | "currency") => value.map(|v| {
                match v.trim().parse::<f64>() {
                    Ok(f) => push_float(&mut out, f),
                    Err(_) => out.push_str(&v),
                }
                out
            }),
            Some("date") => date.map(|v| {
                push_iso_datetime(&mut out, &v);
                out
            }),
            Some("time") => time.map(|v| {
                push_iso_duration(&mut out, &v);
                out
            }),
            Some("boolean") => boolean.map(|v| {
                let b = matches!(v.trim(), "true" | "TRUE" | "1");
                (if b { "TRUE" } else { "FALSE" }).to_owned()
            }),
            _ => string,
        };
        cell
    }

    /// Reads a cell's content up to its end tag into `self.text`, bounded by the cell
    /// limit. Annotations (comments) and nested tables are skipped.
    fn read_cell_text(
        &mut self,
        xml: &mut OdsXml<'_>,
        row: u64,
        col: u64,
    ) -> Result<(), ReadError> {
        let limits = self.limits;
        // Bytes, not chars, so the bound is cheap: 4 bytes per char at most.
        let max_bytes = limits.max_cell_chars.saturating_mul(4).saturating_add(4);
        let too_long = |text: &str| ReadError::CellTooLong {
            row: row.saturating_add(1),
            column: col.saturating_add(1),
            chars: text.chars().count(),
            limit: limits.max_cell_chars,
        };
        let mut paragraphs = 0u32;
        let mut depth = 0u32;
        loop {
            self.cell_buf.clear();
            match xml.read_event_into(&mut self.cell_buf) {
                Ok(Event::Start(e)) => match e.name().as_ref() {
                    "text:p" | "text:h" => {
                        if paragraphs > 0 {
                            self.text.push('\n');
                        }
                        paragraphs = paragraphs.saturating_add(1);
                        depth += 1;
                    }
                    name @ ("office:annotation" | "table:table" | "text:note") => {
                        skip_element(xml, name, limits)?;
                    }
                    "text:s" => {
                        let n = repeat_attr(&e, "text:c");
                        push_spaces(&mut self.text, n, max_bytes);
                        depth += 1;
                    }
                    _ => depth += 1,
                },
                Ok(Event::Empty(e)) => match e.name().as_ref() {
                    "text:s" => {
                        let n = repeat_attr(&e, "text:c");
                        push_spaces(&mut self.text, n, max_bytes);
                    }
                    "text:tab" => self.text.push('\t'),
                    "text:line-break" => self.text.push('\n'),
                    "text:p" | "text:h" => {
                        if paragraphs > 0 {
                            self.text.push('\n');
                        }
                        paragraphs = paragraphs.saturating_add(1);
                    }
                    _ => {}
                },
                Ok(Event::Text(t)) => self.text.push_str(&t.xml10_content()),
                Ok(Event::CData(t)) => self.text.push_str(&t.xml10_content()),
                Ok(Event::GeneralRef(r)) => push_entity(&mut self.text, &r),
                Ok(Event::End(_)) => {
                    if depth == 0 {
                        return Ok(());
                    }
                    depth -= 1;
                }
                Ok(Event::Eof) => return Err(corrupt("content.xml ends inside a cell")),
                Err(e) => return Err(xml_err(e, limits)),
                Ok(_) => {}
            }
            if self.text.len() > max_bytes {
                return Err(too_long(&self.text));
            }
        }
    }
}

/// Skips an element whose start tag named `name` was just read.
fn skip_element(xml: &mut OdsXml<'_>, name: &str, limits: &Limits) -> Result<(), ReadError> {
    let mut buf = Vec::new();
    let mut depth = 0u64;
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e)) if e.name().as_ref() == name => depth += 1,
            Ok(Event::End(e)) if e.name().as_ref() == name => {
                if depth == 0 {
                    return Ok(());
                }
                depth -= 1;
            }
            Ok(Event::Eof) => return Err(corrupt("content.xml ends inside an element")),
            Err(e) => return Err(xml_err(e, limits)),
            Ok(_) => {}
        }
    }
}

/// The cell's text: the typed value when there is one, else its paragraphs.
fn ods_cell_value<'s>(text: &'s str, cell: &'s OdsCell) -> &'s str {
    if cell.error {
        return "";
    }
    match &cell.value {
        Some(v) => v,
        None => text,
    }
}

fn push_spaces(text: &mut String, n: u64, max_bytes: usize) {
    // Never more than one past the bound: the caller then reports the cell as too long.
    let room = max_bytes.saturating_add(1).saturating_sub(text.len());
    let n = usize::try_from(n).unwrap_or(usize::MAX).min(room);
    text.extend(std::iter::repeat_n(' ', n));
}

fn push_entity(text: &mut String, r: &quick_xml::events::BytesRef<'_>) {
    let name = r.xml10_content();
    if let Some(s) = quick_xml::escape::resolve_xml_entity(&name) {
        text.push_str(s);
    } else if let Ok(Some(c)) = r.resolve_char_ref() {
        text.push(c);
    }
}

#[cfg(test)]
mod tests {
    use crate::imports::read::fixtures::{ODS_SHEET, file, ods, read_all, row, strings};
    use crate::imports::read::{Format, Limits, ReadError, estimate_rows};

    #[test]
    fn ods_streams_values_repeats_and_row_numbers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = file(&dir, "客户.ods", &ods(ODS_SHEET));
        let (headers, rows, summary) =
            read_all(&path, Format::Ods, &Limits::default()).expect("read");
        assert_eq!(headers, strings(&["公司名称", "电话", "日期"]));
        assert_eq!(
            rows,
            [
                row(2, &["北京星辰科技&  有限公司", "13800138000", "2024-03-15"]),
                row(5, &["0.5", "TRUE", "2023-12-01 09:30:15"]),
                row(6, &["0.5", "TRUE", "2023-12-01 09:30:15"]),
                row(7, &["", "", "10:05:00", "第一段\n第二段"]),
            ]
        );
        assert_eq!(summary.rows, 4);
        assert_eq!(estimate_rows(&path, Format::Ods, &Limits::default()), None);
    }

    #[test]
    fn ods_repeats_are_counted_not_expanded_past_the_limits() {
        let dir = tempfile::tempdir().expect("tempdir");
        // 1,024 repeated non-empty cells: over the column limit.
        let wide = r#"<table:table table:name="a"><table:table-row><table:table-cell office:value-type="string" table:number-columns-repeated="1024"><text:p>x</text:p></table:table-cell></table:table-row></table:table>"#;
        let path = file(&dir, "wide.ods", &ods(wide));
        let err = read_all(&path, Format::Ods, &Limits::default()).expect_err("too wide");
        assert!(
            matches!(
                err,
                ReadError::TooManyColumns {
                    row: 1,
                    column: 201,
                    limit: 200
                }
            ),
            "{err:?}"
        );
        // A billion repeated rows: over the row limit, found without a billion callbacks.
        let tall = r#"<table:table table:name="a"><table:table-row><table:table-cell office:value-type="string"><text:p>h</text:p></table:table-cell></table:table-row><table:table-row table:number-rows-repeated="1000000000"><table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row></table:table>"#;
        let path = file(&dir, "tall.ods", &ods(tall));
        let limits = Limits {
            max_rows: 1000,
            ..Limits::default()
        };
        let err = read_all(&path, Format::Ods, &limits).expect_err("too tall");
        assert!(
            matches!(
                err,
                ReadError::TooManyRows {
                    row: 1002,
                    limit: 1000
                }
            ),
            "{err:?}"
        );
        // A billion spaces in one cell: over the cell limit, without a gigabyte string.
        let spaces = r#"<table:table table:name="a"><table:table-row><table:table-cell office:value-type="string"><text:p>a<text:s text:c="1000000000"/>b</text:p></table:table-cell></table:table-row></table:table>"#;
        let path = file(&dir, "spaces.ods", &ods(spaces));
        let err = read_all(&path, Format::Ods, &Limits::default()).expect_err("too long");
        assert!(
            matches!(
                err,
                ReadError::CellTooLong {
                    row: 1,
                    column: 1,
                    limit: 32_767,
                    ..
                }
            ),
            "{err:?}"
        );
        // One 600 KB text node: refused before it is buffered whole.
        let huge = format!(
            r#"<table:table table:name="a"><table:table-row><table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell></table:table-row></table:table>"#,
            "x".repeat(600_000)
        );
        let path = file(&dir, "huge.ods", &ods(&huge));
        let err = read_all(&path, Format::Ods, &Limits::default()).expect_err("too long");
        assert!(matches!(err, ReadError::XmlRunTooLong { .. }), "{err:?}");
    }
}
