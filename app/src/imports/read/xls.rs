//! xls: calamine's `Xls`, which has no streaming reader, only once the compound file and
//! the BIFF records have been walked as calamine will walk them and the memory it will
//! need is known to fit (see the module docs of [`super`]).

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};

use calamine::{Data, Reader, Xls};

use super::error::corrupt;
use super::guards::guarded;
use super::ole::{Ole, le16, le32, read_all};
use super::rows::Rows;
use super::value::{Value, render};
use super::{Format, Found, Limits, ReadError, Summary, first_sheet};

/// The xls memory budget (see the module docs).
const XLS_MEMORY_BUDGET: u64 = 256 << 20;

fn xls_err(e: calamine::XlsError) -> ReadError {
    match e {
        calamine::XlsError::Password => ReadError::Encrypted,
        calamine::XlsError::Io(e) => ReadError::Io(e),
        e => corrupt(e),
    }
}

pub(super) fn read(
    mut file: File,
    limits: &Limits,
    rows: &mut Rows<'_>,
    summary: &mut Summary,
) -> Result<(), ReadError> {
    let data = read_all(&mut file)?;
    let ole = Ole::parse(&data).map_err(corrupt)?;
    let stream = match ole.stream(&data, "Workbook") {
        Ok(s) => s,
        Err(_) => ole
            .stream(&data, "Book")
            .map_err(|_| ReadError::WrongFormat {
                format: Format::Xls,
                found: Some(Found::Ole),
            })?,
    }
    .map_err(corrupt)?;
    let scan = scan_biff(&stream)?;
    if scan.encrypted {
        return Err(ReadError::Encrypted);
    }
    if let Some((declared_rows, declared_cols)) = scan.first_dimensions {
        if declared_rows > limits.max_rows.saturating_add(1)
            || declared_cols > limits.max_columns as u64
        {
            return Err(ReadError::DeclaredTooLarge {
                rows: declared_rows,
                columns: declared_cols,
                max_rows: limits.max_rows,
                max_columns: limits.max_columns,
            });
        }
        summary.declared_rows = Some(declared_rows.saturating_sub(1));
    }
    if scan.memory > XLS_MEMORY_BUDGET {
        return Err(ReadError::WorkbookTooLarge {
            bytes: scan.memory,
            limit: XLS_MEMORY_BUDGET,
        });
    }
    drop(stream);
    drop(data);
    file.seek(SeekFrom::Start(0))?;
    let reader = BufReader::new(file);
    let mut workbook: Xls<_> = guarded(|| Xls::new(reader))?.map_err(xls_err)?;
    let name = first_sheet(workbook.sheets_metadata()).ok_or(ReadError::NoWorksheet)?;
    let range = guarded(|| workbook.worksheet_range(&name))?.map_err(xls_err)?;
    drop(workbook);
    let Some((row0, col0)) = range.start() else {
        return Ok(());
    };
    let mut text = String::new();
    for (r, c, v) in range.used_cells() {
        let value = Value::from(v);
        if matches!(value, Value::Empty) {
            continue;
        }
        let row = u64::from(row0) + r as u64;
        let col = u64::from(col0) + c as u64;
        let value = render(&value, &mut text);
        if rows.cell(row, col, value)?.is_break() {
            return Ok(());
        }
    }
    Ok(())
}

/// The declared data rows of the first worksheet, from its `DIMENSIONS` record.
pub(super) fn declared_rows(mut file: File) -> Option<u64> {
    let data = read_all(&mut file).ok()?;
    let ole = Ole::parse(&data).ok()?;
    let stream = ole
        .stream(&data, "Workbook")
        .or_else(|_| ole.stream(&data, "Book"));
    let scan = scan_biff(&stream.ok()?.ok()?).ok()?;
    scan.first_dimensions
        .map(|(rows, _)| rows.saturating_sub(1))
}

/// What calamine will build from a BIFF workbook stream.
#[derive(Debug, Default)]
struct BiffScan {
    /// Declared rows (from the first row, inclusive) and columns (from column A) of the
    /// first worksheet.
    first_dimensions: Option<(u64, u64)>,
    /// Estimated bytes calamine needs.
    memory: u64,
    encrypted: bool,
}

/// One BIFF record as calamine's `RecordIter` delimits it (CONTINUE records folded in).
struct BiffRecords<'a> {
    stream: &'a [u8],
}

impl<'a> Iterator for BiffRecords<'a> {
    type Item = Result<(u16, &'a [u8], usize), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.stream.is_empty() {
            return None;
        }
        let (Some(typ), Some(len)) = (le16(self.stream, 0), le16(self.stream, 2)) else {
            self.stream = &[];
            return Some(Err("a BIFF record is cut short".into()));
        };
        let len = usize::from(len);
        let Some(data) = self.stream.get(4..4 + len) else {
            self.stream = &[];
            return Some(Err("a BIFF record is cut short".into()));
        };
        self.stream = self.stream.get(4 + len..).unwrap_or_default();
        let mut continued = 0usize;
        while self.stream.len() > 4 && le16(self.stream, 0) == Some(0x003C) {
            let clen = usize::from(le16(self.stream, 2).unwrap_or(0));
            let Some(rest) = self.stream.get(4 + clen..) else {
                self.stream = &[];
                return Some(Err("a CONTINUE record is cut short".into()));
            };
            continued += clen;
            self.stream = rest;
        }
        Some(Ok((typ, data, continued)))
    }
}

/// Bounding box of cell positions.
#[derive(Default)]
struct BBox(Option<(u32, u32, u32, u32)>);

impl BBox {
    fn add(&mut self, row: u32, col: u32) {
        self.0 = Some(match self.0 {
            None => (row, row, col, col),
            Some((r0, r1, c0, c1)) => (r0.min(row), r1.max(row), c0.min(col), c1.max(col)),
        });
    }

    fn cells(&self) -> u64 {
        self.0.map_or(0, |(r0, r1, c0, c1)| {
            (u64::from(r1 - r0) + 1) * (u64::from(c1 - c0) + 1)
        })
    }
}

/// Scans a BIFF workbook stream the way calamine's `Xls::new` will read it (see the
/// module docs), without building anything.
fn scan_biff(stream: &[u8]) -> Result<BiffScan, ReadError> {
    let mut scan = BiffScan::default();
    // (offset, sheet type, visible)
    let mut sheets: Vec<(usize, u8, bool)> = Vec::new();
    let mut sst_bytes: u64 = 0;
    for record in (BiffRecords { stream }) {
        let (typ, data, continued) = record.map_err(corrupt)?;
        match typ {
            0x002F => match le16(data, 0) {
                None => return Err(corrupt("short FILEPASS record")),
                Some(0) => {}
                Some(_) => {
                    scan.encrypted = true;
                    return Ok(scan);
                }
            },
            0x0042 | 0x0022 if data.len() < 2 => return Err(corrupt("short record")),
            0x0085 => {
                let pos = le32(data, 0).ok_or_else(|| corrupt("short BOUNDSHEET record"))?;
                let (Some(&state), Some(&typ)) = (data.get(4), data.get(5)) else {
                    return Err(corrupt("short BOUNDSHEET record"));
                };
                if data.len() < 8 {
                    return Err(corrupt("short BOUNDSHEET record"));
                }
                let pos = pos as usize;
                if pos > stream.len() {
                    return Err(corrupt("a sheet starts past the end of the workbook"));
                }
                sheets.push((pos, typ, state & 0x3F == 0));
            }
            0x00FC => sst_bytes += (data.len() + continued) as u64,
            0x000A => break,
            _ => {}
        }
    }
    let size_data = std::mem::size_of::<Data>() as u64;
    let size_cell = std::mem::size_of::<calamine::Cell<Data>>() as u64;
    let size_formula = std::mem::size_of::<calamine::Cell<String>>() as u64;
    // Shared strings: a string can take as little as 3 bytes of the record and costs a
    // `String` (24 bytes) plus its heap block.
    let mut memory = sst_bytes.saturating_mul(14);
    let mut largest_transient = 0u64;
    let mut largest_range = 0u64;
    // (visible, declared dimensions) of each worksheet, in workbook order.
    let mut worksheets = Vec::new();
    for (pos, typ, visible) in sheets {
        let sheet = stream.get(pos..).unwrap_or_default();
        let mut data_box = BBox::default();
        let mut formula_box = BBox::default();
        let mut cells = 0u64;
        let mut formulas = 0u64;
        let mut reserved = 0u64;
        let mut dims = None;
        let mut fmla_pos = (0u32, 0u32);
        let mut seen_bof = false;
        let mut depth = 0usize;
        for record in (BiffRecords { stream: sheet }) {
            let Ok((rtyp, r, _)) = record else {
                break; // calamine stops with an error here
            };
            if depth > 0 {
                match rtyp {
                    0x0809 => depth += 1,
                    0x000A => depth -= 1,
                    _ => {}
                }
                continue;
            }
            let pos16 = |r: &[u8]| -> Result<(u32, u32), ReadError> {
                match (le16(r, 0), le16(r, 2)) {
                    (Some(row), Some(col)) => Ok((row.into(), col.into())),
                    _ => Err(corrupt("short cell record")),
                }
            };
            match rtyp {
                0x0809 => {
                    if seen_bof {
                        depth += 1;
                    } else {
                        seen_bof = true;
                    }
                }
                0x0200 => {
                    // calamine's parse_dimensions, which it then reserves rows × cols for.
                    let (rf, rl, mut cf, cl) = match r.len() {
                        10 => (
                            u64::from(le16(r, 0).unwrap_or(0)),
                            u64::from(le16(r, 2).unwrap_or(0)),
                            u64::from(le16(r, 4).unwrap_or(0)),
                            u64::from(le16(r, 6).unwrap_or(0)),
                        ),
                        14 | 16 => (
                            u64::from(le32(r, 0).unwrap_or(0)),
                            u64::from(le32(r, 4).unwrap_or(0)),
                            u64::from(le16(r, 8).unwrap_or(0)),
                            u64::from(le16(r, 10).unwrap_or(0)),
                        ),
                        _ => return Err(corrupt("bad DIMENSIONS record")),
                    };
                    if 0xFF < cf || cl < cf {
                        cf = 0;
                    }
                    let (rows, cols) = if rl >= 1 && cl >= 1 {
                        if rl - 1 < rf || cl - 1 < cf {
                            return Err(corrupt("the sheet's DIMENSIONS end before they start"));
                        }
                        (rl - rf, cl - cf)
                    } else {
                        (1, 1)
                    };
                    // BIFF8 sheets are at most 65,536 × 256.
                    if rows > 65_536 || cols > 256 {
                        return Err(ReadError::DeclaredTooLarge {
                            rows,
                            columns: cols,
                            max_rows: 65_535,
                            max_columns: 256,
                        });
                    }
                    reserved = reserved.saturating_add(rows * cols);
                    if dims.is_none() {
                        dims = Some((rows, if rl >= 1 && cl >= 1 { cl } else { 1 }));
                    }
                }
                0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD => {
                    let (row, col) = pos16(r)?;
                    data_box.add(row, col);
                    cells += 1;
                }
                0x00BD => {
                    let (row, first) = pos16(r)?;
                    let last = r
                        .len()
                        .checked_sub(2)
                        .and_then(|at| le16(r, at))
                        .ok_or_else(|| corrupt("short MULRK record"))?;
                    let last = u32::from(last);
                    if last < first || r.len() != 6 + 6 * (last - first + 1) as usize {
                        return Err(corrupt("bad MULRK record"));
                    }
                    data_box.add(row, first);
                    data_box.add(row, last);
                    cells += u64::from(last - first + 1);
                }
                0x0006 => {
                    if r.len() < 20 {
                        return Err(corrupt("short FORMULA record"));
                    }
                    fmla_pos = pos16(r)?;
                    data_box.add(fmla_pos.0, fmla_pos.1);
                    formula_box.add(fmla_pos.0, fmla_pos.1);
                    cells += 1;
                    // The formula text calamine rebuilds, at most a few times the tokens.
                    formulas = formulas.saturating_add(1 + r.len() as u64);
                }
                0x0207 => {
                    data_box.add(fmla_pos.0, fmla_pos.1);
                    cells += 1;
                }
                0x000A => break,
                _ => {}
            }
        }
        memory = memory
            .saturating_add(data_box.cells().saturating_mul(size_data))
            .saturating_add(formula_box.cells().saturating_mul(size_formula))
            .saturating_add(formulas.saturating_mul(8));
        let transient = cells.max(reserved.min(1 << 24)).saturating_mul(size_cell);
        largest_transient = largest_transient.max(transient);
        largest_range = largest_range.max(data_box.cells().saturating_mul(size_data));
        if typ == 0x00 {
            worksheets.push((visible, dims));
        }
    }
    // The sheet read is the first visible worksheet, else the first (as `first_sheet`).
    scan.first_dimensions = worksheets
        .iter()
        .find(|(visible, _)| *visible)
        .or_else(|| worksheets.first())
        .and_then(|(_, dims)| *dims);
    // worksheet_range hands out a copy of the sheet's range.
    scan.memory = memory
        .saturating_add(largest_transient)
        .saturating_add(largest_range);
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use crate::imports::read::fixtures::{biff, cfb, file, label, number, read_all, row, strings};
    use crate::imports::read::{Format, Limits, ReadError, estimate_rows};

    #[test]
    fn xls_reads_through_the_checked_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stream = biff(
            (4, 2),
            &[
                label(0, 0, "公司名称"),
                label(0, 1, "电话"),
                label(1, 0, " 北京星辰科技有限公司 "),
                number(1, 1, 13_800_138_000.0),
                label(3, 0, "上海远航物流"),
                number(3, 1, 0.25),
            ],
        );
        let path = file(&dir, "客户.xls", &cfb(&stream, |_| {}));
        let (headers, rows, summary) =
            read_all(&path, Format::Xls, &Limits::default()).expect("read");
        assert_eq!(headers, strings(&["公司名称", "电话"]));
        assert_eq!(
            rows,
            [
                row(2, &["北京星辰科技有限公司", "13800138000"]),
                row(4, &["上海远航物流", "0.25"]),
            ]
        );
        assert_eq!(summary.declared_rows, Some(3));
        assert_eq!(
            estimate_rows(&path, Format::Xls, &Limits::default()),
            Some(3)
        );
    }

    #[test]
    fn hostile_xls_files_are_refused_before_calamine_allocates() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Two cells at opposite corners: a 65,536 × 65,536 dense range for calamine.
        let stream = biff((2, 2), &[label(0, 0, "a"), number(65_535, 65_535, 1.0)]);
        let path = file(&dir, "corners.xls", &cfb(&stream, |_| {}));
        let err = read_all(&path, Format::Xls, &Limits::default()).expect_err("huge");
        assert!(matches!(err, ReadError::WorkbookTooLarge { .. }), "{err:?}");
        // Declared wider than the column limit.
        let stream = biff((2, 250), &[label(0, 0, "a")]);
        let path = file(&dir, "wide.xls", &cfb(&stream, |_| {}));
        let err = read_all(&path, Format::Xls, &Limits::default()).expect_err("wide");
        assert!(
            matches!(
                err,
                ReadError::DeclaredTooLarge {
                    columns: 250,
                    max_columns: 200,
                    ..
                }
            ),
            "{err:?}"
        );
        // Declared beyond BIFF8 itself (calamine would reserve 4G × 256 cells).
        let stream = biff((u32::MAX, 2), &[label(0, 0, "a")]);
        let path = file(&dir, "tall.xls", &cfb(&stream, |_| {}));
        let err = read_all(&path, Format::Xls, &Limits::default()).expect_err("tall");
        assert!(matches!(err, ReadError::DeclaredTooLarge { .. }), "{err:?}");
        // A sector chain that loops (calamine would follow it forever).
        let stream = biff((2, 2), &[label(0, 0, "a")]);
        let path = file(&dir, "loop.xls", &cfb(&stream, |fat| fat[3] = 2));
        let err = read_all(&path, Format::Xls, &Limits::default()).expect_err("loop");
        assert!(matches!(err, ReadError::Corrupt(_)), "{err:?}");
        // The directory chain pointing outside the FAT.
        let path = file(&dir, "dir.xls", &cfb(&stream, |fat| fat[1] = 5000));
        let err = read_all(&path, Format::Xls, &Limits::default()).expect_err("dir");
        assert!(matches!(err, ReadError::Corrupt(_)), "{err:?}");
        // Truncated.
        let whole = cfb(&stream, |_| {});
        for cut in [whole.len() / 2, 700, 300] {
            let path = file(&dir, "cut.xls", &whole[..cut]);
            let err = read_all(&path, Format::Xls, &Limits::default()).expect_err("cut");
            assert!(matches!(err, ReadError::Corrupt(_)), "{cut}: {err:?}");
        }
    }
}
