//! Row assembly: cells from any reader become the header row and then data rows, with the
//! row, column and cell limits enforced on the way.

use std::ops::ControlFlow;

use super::error::corrupt;
use super::{Limits, ReadError, Row};

/// Turns cells into header + rows, enforcing the row, column and cell limits.
pub(super) struct Rows<'a> {
    limits: &'a Limits,
    on_headers: &'a mut dyn FnMut(&[String]) -> ControlFlow<()>,
    on_row: &'a mut dyn FnMut(Row) -> ControlFlow<()>,
    /// 0-based row of `cells`, when it holds something.
    current: Option<u64>,
    cells: Vec<String>,
    header_width: Option<usize>,
    pub(super) data_rows: u64,
    stopped: bool,
}

impl<'a> Rows<'a> {
    pub(super) fn new(
        limits: &'a Limits,
        on_headers: &'a mut dyn FnMut(&[String]) -> ControlFlow<()>,
        on_row: &'a mut dyn FnMut(Row) -> ControlFlow<()>,
    ) -> Self {
        Rows {
            limits,
            on_headers,
            on_row,
            current: None,
            cells: Vec::new(),
            header_width: None,
            data_rows: 0,
            stopped: false,
        }
    }

    /// Checks a non-empty, trimmed value for (0-based) `row`, `col`.
    pub(super) fn check(&self, row: u64, col: u64, value: &str) -> Result<(), ReadError> {
        if col >= self.limits.max_columns as u64 {
            return Err(ReadError::TooManyColumns {
                row: row.saturating_add(1),
                column: col.saturating_add(1),
                limit: self.limits.max_columns,
            });
        }
        if value.len() > self.limits.max_cell_chars {
            let chars = value.chars().count();
            if chars > self.limits.max_cell_chars {
                return Err(ReadError::CellTooLong {
                    row: row.saturating_add(1),
                    column: col.saturating_add(1),
                    chars,
                    limit: self.limits.max_cell_chars,
                });
            }
        }
        Ok(())
    }

    /// Adds one cell (streamed row-major). `value` is the raw text; blank values are
    /// dropped. Returns `Break` once a callback stopped the read.
    pub(super) fn cell(
        &mut self,
        row: u64,
        col: u64,
        value: &str,
    ) -> Result<ControlFlow<()>, ReadError> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(ControlFlow::Continue(()));
        }
        self.check(row, col, value)?;
        match self.current {
            Some(current) if current == row => {}
            Some(current) if current > row => {
                return Err(corrupt(format!(
                    "row {} comes after row {}",
                    row.saturating_add(1),
                    current.saturating_add(1)
                )));
            }
            Some(_) => {
                if self.flush()?.is_break() {
                    return Ok(ControlFlow::Break(()));
                }
                self.current = Some(row);
            }
            None => self.current = Some(row),
        }
        // `col < max_columns` was checked, so this is bounded.
        let col = col as usize;
        if self.cells.len() <= col {
            self.cells.resize(col + 1, String::new());
        }
        if let Some(slot) = self.cells.get_mut(col) {
            slot.clear();
            slot.push_str(value);
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Hands the collected row on.
    fn flush(&mut self) -> Result<ControlFlow<()>, ReadError> {
        let Some(row) = self.current.take() else {
            return Ok(ControlFlow::Continue(()));
        };
        // The next row most likely has as many cells as this one.
        let width = self.cells.len().max(self.header_width.unwrap_or(0));
        let cells = std::mem::replace(&mut self.cells, Vec::with_capacity(width));
        self.emit(row, cells)
    }

    /// Hands a whole row on: `row` is 0-based, `cells` already checked and non-blank.
    pub(super) fn emit(
        &mut self,
        row: u64,
        mut cells: Vec<String>,
    ) -> Result<ControlFlow<()>, ReadError> {
        if self.stopped {
            return Ok(ControlFlow::Break(()));
        }
        let flow = match self.header_width {
            None => {
                self.header_width = Some(cells.len());
                (self.on_headers)(&cells)
            }
            Some(width) => {
                self.data_rows += 1;
                if self.data_rows > self.limits.max_rows {
                    return Err(ReadError::TooManyRows {
                        row: row.saturating_add(1),
                        limit: self.limits.max_rows,
                    });
                }
                if cells.len() < width {
                    cells.resize(width, String::new());
                }
                (self.on_row)(Row {
                    number: row.saturating_add(1),
                    cells,
                })
            }
        };
        if flow.is_break() {
            self.stopped = true;
        }
        Ok(flow)
    }

    pub(super) fn finish(&mut self) -> Result<(), ReadError> {
        if !self.stopped {
            let _flow = self.flush()?;
        }
        if self.header_width.is_none() {
            return Err(ReadError::NoHeader);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use rust_xlsxwriter::Workbook;

    use crate::imports::read::fixtures::{file, patch_sheet, read_all, sample_xlsx};
    use crate::imports::read::{Format, Limits, ReadError, estimate_rows, read};

    #[test]
    fn break_stops_the_read_early() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut csv = String::from("名称\n");
        for i in 0..100 {
            csv.push_str(&format!("公司{i}\n"));
        }
        let csv_path = file(&dir, "a.csv", csv.as_bytes());
        let xlsx_path = file(&dir, "a.xlsx", &sample_xlsx(false));
        for (path, format) in [(&csv_path, Format::Csv), (&xlsx_path, Format::Xlsx)] {
            let mut seen = 0;
            let summary = read(
                path,
                format,
                &Limits::default(),
                &mut |_| ControlFlow::Continue(()),
                &mut |_| {
                    seen += 1;
                    if seen == 1 {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                },
            )
            .expect("read");
            assert_eq!((seen, summary.rows), (1, 1));
            let mut rows = 0;
            read(
                path,
                format,
                &Limits::default(),
                &mut |_| ControlFlow::Break(()),
                &mut |_| {
                    rows += 1;
                    ControlFlow::Continue(())
                },
            )
            .expect("read");
            assert_eq!(rows, 0);
        }
    }

    #[test]
    fn a_thousand_columns_fail_naming_the_200_column_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        for c in 0..1000u16 {
            sheet.write_string(0, c, format!("列{c}")).expect("write");
            sheet.write_number(1, c, f64::from(c)).expect("write");
        }
        let path = file(&dir, "wide.xlsx", &workbook.save_to_buffer().expect("save"));
        let err = read_all(&path, Format::Xlsx, &Limits::default()).expect_err("wide");
        assert!(
            matches!(
                err,
                ReadError::DeclaredTooLarge {
                    columns: 1000,
                    max_columns: 200,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.message("zh-CN").contains("200 列"),
            "{}",
            err.message("zh-CN")
        );
        assert!(err.message("en").contains("200 columns"));
        // Without a declared dimension (CSV, or a sheet that omits it), while streaming.
        let header: Vec<String> = (0..1000).map(|c| format!("c{c}")).collect();
        let path = file(
            &dir,
            "wide.csv",
            format!("{}\n", header.join(",")).as_bytes(),
        );
        let err = read_all(&path, Format::Csv, &Limits::default()).expect_err("wide");
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
        assert_eq!(
            err.message("en"),
            "Row 1 has data in column 201 (GS), beyond the 200-column limit."
        );
        let xlsx = patch_sheet(&sample_xlsx(false), |xml| {
            xml.replace(r#"<dimension ref="A1:H4"/>"#, "").replacen(
                "</row>",
                r#"<c r="ALL1" t="n"><v>1</v></c></row>"#,
                1,
            )
        });
        let path = file(&dir, "undeclared.xlsx", &xlsx);
        let err = read_all(&path, Format::Xlsx, &Limits::default()).expect_err("wide");
        assert!(
            matches!(
                err,
                ReadError::TooManyColumns {
                    row: 1,
                    column: 1000,
                    limit: 200
                }
            ),
            "{err:?}"
        );
        // Empty cells far to the right are harmless.
        let path = file(
            &dir,
            "trailing.csv",
            format!("a,b{}\n1,2\n", ",".repeat(999)).as_bytes(),
        );
        let (headers, rows, _) = read_all(&path, Format::Csv, &Limits::default()).expect("read");
        assert_eq!((headers.len(), rows.len()), (2, 1));
    }

    #[test]
    fn a_cell_over_the_length_limit_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let long = "长".repeat(40_000);
        let path = file(
            &dir,
            "long.csv",
            format!("名称,备注\n北京,{long}\n").as_bytes(),
        );
        let err = read_all(&path, Format::Csv, &Limits::default()).expect_err("long");
        assert!(
            matches!(
                err,
                ReadError::CellTooLong {
                    row: 2,
                    column: 2,
                    chars: 40_000,
                    limit: 32_767
                }
            ),
            "{err:?}"
        );
        let limits = Limits {
            max_cell_chars: 5,
            ..Limits::default()
        };
        let path = file(&dir, "long.xlsx", &sample_xlsx(false));
        let err = read_all(&path, Format::Xlsx, &limits).expect_err("long");
        assert!(
            matches!(
                err,
                ReadError::CellTooLong {
                    row: 2,
                    column: 1,
                    chars: 10,
                    limit: 5
                }
            ),
            "{err:?}"
        );
        // An unclosed quote swallowing the rest of the file stops at the record limit.
        let limits = Limits {
            max_columns: 2,
            max_cell_chars: 10,
            ..Limits::default()
        };
        let mut csv = String::from("a,b\n\"unclosed,");
        while csv.len() < 3 << 20 {
            csv.push_str("more text,\n");
        }
        let path = file(&dir, "quote.csv", csv.as_bytes());
        let err = read_all(&path, Format::Csv, &limits).expect_err("long");
        assert!(
            matches!(err, ReadError::RecordTooLong { row: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn row_limit_counts_data_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = file(&dir, "rows.csv", b"h\n1\n2\n\n3\n");
        let limits = Limits {
            max_rows: 2,
            ..Limits::default()
        };
        let err = read_all(&path, Format::Csv, &limits).expect_err("rows");
        assert!(
            matches!(err, ReadError::TooManyRows { row: 5, limit: 2 }),
            "{err:?}"
        );
        assert_eq!(estimate_rows(&path, Format::Csv, &limits), Some(2));
    }
}
