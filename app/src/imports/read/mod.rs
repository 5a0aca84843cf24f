//! Safe, streaming readers for import files: `.xlsx`, `.xls`, `.ods` and CSV.
//!
//! [`read`] opens a file, checks that it really is the format its name says and that it is
//! safe to open, hands the header row (the first non-empty row of the first worksheet) to
//! `on_headers`, then each following non-empty row to `on_row`, in file order, until a
//! callback returns [`ControlFlow::Break`] or the sheet ends. Nothing here panics on any
//! input (fuzzed: see `fuzz/README.md`), and every refusal is a [`ReadError`] whose
//! [`ReadError::message`] tells the user why, in their language.
//!
//! # What streams, and what holds memory
//!
//! - **xlsx**: calamine's streaming cell reader ([`calamine::Xlsx::worksheet_cells_reader`]),
//!   never `worksheet_range`, which allocates the declared sheet bounding box (sheet
//!   dimensions are attacker-controlled). Cells arrive row-major and are assembled into
//!   rows here, so memory is one row. calamine does hold the whole **shared strings table**
//!   (`xl/sharedStrings.xml`) in memory as a `Vec<String>` for the life of the reader: about
//!   1–3× the size of that XML part (24 bytes per string plus its text). That is why the
//!   part's uncompressed size has its own limit ([`Limits::max_shared_strings`]). Files with
//!   inline strings (what constant-memory writers, Kehu's exports included, produce) hold
//!   nothing but the current row. calamine also keeps the styles (number formats, to tell
//!   dates from numbers) and the workbook's sheet list.
//! - **ods**: calamine 0.38 has **no** streaming reader for ods: `Ods::new` parses every
//!   sheet of `content.xml` into `Range`s, and small hostile files make it allocate
//!   gigabytes (`table:number-columns-repeated` × `table:number-rows-repeated` expand to up
//!   to 100M cells; `<text:s text:c="1000000000"/>` is a billion spaces). So ods is read by
//!   a streaming parser in this module (quick-xml over the zip entry): repeats are counted,
//!   never expanded beyond the limits, and memory is one row.
//! - **xls**: calamine 0.38 has **no** streaming reader for xls either, and `Xls::new`
//!   parses every sheet into a dense `Range` (`Range::from_sparse`) at open time, before
//!   any of its API could be asked about dimensions. BIFF8 cell records address 65,536 rows
//!   × 65,536 columns, so two cells can ask for a 4-billion-cell range, and calamine's OLE
//!   (compound file) reader follows sector chains without loop checks. So before calamine
//!   sees an xls file, this module walks the compound file exactly as calamine will (every
//!   chain bounded, loop-checked and inside the file), reads the workbook stream, and scans
//!   its BIFF records: the declared `DIMENSIONS` of the first sheet are checked against
//!   [`Limits`], and the memory calamine will need (the dense range of every sheet, its
//!   copy of the first, the shared string table) is estimated from the cell positions and
//!   refused above 256 MiB. Only then is `worksheet_range` used. An xls file is at most
//!   65,536 rows by the format itself, so this is bounded; it is still the least efficient
//!   path, and users with big sheets are told to save as .xlsx.
//! - **csv**: the `csv` crate over a streaming line decoder: the encoding is detected on the
//!   first MiB with [`sniff::detect`](crate::imports::sniff::detect) (UTF-8, UTF-8 with BOM, GBK/GB18030), then every line
//!   is checked and decoded as it streams, so a file that switches encoding on line 900,000
//!   fails there with the line number ([`ReadError::MixedEncodings`]). Memory is one record,
//!   and a record (or a line) longer than the limits allow is an error.
//!
//! # Before anything is inflated (xlsx, ods)
//!
//! The zip central directory is checked first: the number of entries, the total declared
//! uncompressed size and the compression ratio of every entry over 1 MiB ([`Limits`]); a
//! zip bomb fails here, before a byte is inflated. A declared size that lies is caught by
//! the `zip` crate (9.x), which stops any entry that inflates past its declared size with
//! an error; so the declared sizes checked here do bound what is read. For xlsx, every XML
//! part is then inflated once more through a scanner before calamine opens the file (0.35 s
//! CPU on a 43 MB, 1M-row × 10-column file): no run of bytes between two `<` may be longer than
//! `max_cell_chars × 8 + 64 KiB`, because calamine's XML reader buffers a whole text node or
//! tag, so one hostile 2 GB "cell" would otherwise be read into memory in one piece. The
//! ods reader applies the same bound as it streams. The shared strings part's declared
//! `uniqueCount` (which calamine reserves up front) is checked against the part's size.
//!
//! # Values
//!
//! - Text is trimmed. Numbers print without exponent and without a trailing `.0`
//!   (13800138000 stays `13800138000`); other numbers print with full (shortest
//!   round-trip) precision. Booleans are `TRUE` / `FALSE`.
//! - Dates and date-times (date-formatted xlsx/xls cells, ods dates) are `YYYY-MM-DD`, or
//!   `YYYY-MM-DD HH:MM:SS` when there is a time part; times and durations are `HH:MM:SS`.
//! - Error cells (`#DIV/0!`, `#N/A`, ...) are read as empty: an error is not data.
//! - Formula cells give their cached value, the one the file's author last saw. Formulas are
//!   never evaluated and never imported as formulas.
//! - A cell longer than [`Limits::max_cell_chars`] is an error, not truncated.
//! - Rows whose cells are all empty are skipped; row numbers stay those of the file (1-based,
//!   the header is usually row 1). For CSV a row number is the number of the record in the
//!   file, counting blank lines as (skipped) rows; it differs from the line number only for
//!   records with line breaks inside quotes.
//! - `Row::cells[i]` is column `i` counted from column A (xlsx/xls/ods) or from the first
//!   field (CSV); a row has at least as many cells as the header row, more when it has data
//!   to the right of the last header.
//! - Only the first worksheet is read: the first visible one, or the first one if all are
//!   hidden.
//!
//! # Cost
//!
//! On 1M rows × 10 columns (5M strings, 5M numbers; 43 MB xlsx), `read` takes about 23%
//! more CPU than calamine's bare `next_cell` loop that looks at no value (inline strings
//! 4.55 s → 5.6 s, shared strings 4.1 s → 5.0 s; dev build of the app at opt-level 3, deps
//! at opt-level 1, on a busy 2-core machine): 0.35 s of it is the XML pre-scan, the rest is
//! one `String` per cell and the number formatting. Peak memory is calamine's: 7.5 MB with
//! inline strings, 62 MB with shared strings (1M distinct strings plus 100 repeated ones).
//! Measured then with a harness that is gone; `./infra/bench-import --phases raw-parse,reader`
//! measures calamine's cell reader against `read` on the benchmark's file today.
//!
//! calamine is not panic-free on hostile input (for example a `<dimension ref="B2:A1"/>`
//! underflows in debug builds, and several xls record parsers index unchecked). Calls into
//! calamine are therefore wrapped in `catch_unwind` as a last line of defence, and a panic
//! there becomes [`ReadError::Corrupt`]; the checks above keep such files from getting
//! that far in the cases we know of. Callbacks are never run inside `catch_unwind`.

mod csv;
mod error;
#[cfg(test)]
mod fixtures;
mod guards;
mod kind;
mod ods;
mod ole;
mod rows;
mod value;
mod xls;
mod xlsx;

use std::fs::File;
use std::ops::ControlFlow;
use std::path::Path;

use calamine::{SheetType, SheetVisible};

pub use error::{Found, ReadError};
use rows::Rows;

use crate::imports::sniff::Encoding;

/// An import file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Excel 2007+ workbook.
    Xlsx,
    /// Excel 97-2003 workbook (BIFF8 in an OLE compound file).
    Xls,
    /// OpenDocument spreadsheet.
    Ods,
    /// Comma-separated values.
    Csv,
}

impl Format {
    /// Every format, in the order shown to users.
    pub const ALL: [Format; 4] = [Format::Xlsx, Format::Xls, Format::Ods, Format::Csv];

    /// `"xlsx"`, `"xls"`, `"ods"` or `"csv"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
            Format::Ods => "ods",
            Format::Csv => "csv",
        }
    }

    /// The inverse of [`Format::as_str`].
    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The format a file name's extension names (case-insensitive), if any.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let (_, ext) = name.rsplit_once('.')?;
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(ext))
    }
}

/// Limits every file must stay within; exceeding one is an error that names the limit.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Columns (counted from column A): a non-empty cell at index `max_columns` or beyond,
    /// or a declared sheet dimension wider than this, is an error. Default 200.
    pub max_columns: usize,
    /// Data rows (non-empty rows after the header). Default 1,048,576.
    pub max_rows: u64,
    /// Entries in an xlsx/ods zip. Default 10,000.
    pub max_zip_entries: usize,
    /// Total declared uncompressed size of an xlsx/ods zip, in bytes. Default 2 GiB.
    pub max_uncompressed: u64,
    /// Compression ratio (uncompressed / compressed) of any zip entry larger than 1 MiB
    /// uncompressed. Default 200 (real sheets compress 5–50×).
    pub max_ratio: u64,
    /// Characters in one cell. Default 32,767 (Excel's own limit).
    pub max_cell_chars: usize,
    /// Uncompressed size of an xlsx's shared strings part, in bytes: calamine holds that
    /// table in memory (about 1–3× this size). Default 96 MiB.
    pub max_shared_strings: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_columns: 200,
            max_rows: 1_048_576,
            max_zip_entries: 10_000,
            max_uncompressed: 2 << 30,
            max_ratio: 200,
            max_cell_chars: 32_767,
            max_shared_strings: 96 << 20,
        }
    }
}

impl Limits {
    /// The longest run of XML bytes between two `<` that may be buffered: one cell's text,
    /// fully escaped, or one tag.
    fn max_xml_run(&self) -> u64 {
        (self.max_cell_chars as u64)
            .saturating_mul(8)
            .saturating_add(64 << 10)
    }

    /// The longest CSV record (or line) in bytes.
    fn max_record_bytes(&self) -> u64 {
        (self.max_columns as u64)
            .max(1)
            .saturating_mul(self.max_cell_chars as u64)
            .saturating_mul(8)
            .saturating_add(1 << 20)
    }
}

/// One data row as read: `number` is the 1-based row number the user sees in Excel (header
/// = row 1), `cells` one string per column (trimmed; missing cells are ""; index = column
/// index).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// 1-based row number in the file.
    pub number: u64,
    /// The cells, column A (or the first CSV field) first.
    pub cells: Vec<String>,
}

/// What a finished (or stopped) read saw.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Data rows handed to `on_row`.
    pub rows: u64,
    /// Data rows the sheet declares (its dimension, minus the header row), for xlsx and xls.
    pub declared_rows: Option<u64>,
    /// The text encoding, for CSV.
    pub encoding: Option<Encoding>,
}

/// Opens `path`, checks it is really `format` and is safe, reads the header row (first
/// non-empty row), and calls `on_row` for each following non-empty row in order until it
/// returns `ControlFlow::Break` or the sheet ends. Only the first worksheet is read.
pub fn read(
    path: &Path,
    format: Format,
    limits: &Limits,
    on_headers: &mut dyn FnMut(&[String]) -> ControlFlow<()>,
    on_row: &mut dyn FnMut(Row) -> ControlFlow<()>,
) -> Result<Summary, ReadError> {
    let mut file = File::open(path)?;
    kind::check_kind(&mut file, format)?;
    let mut rows = Rows::new(limits, on_headers, on_row);
    let mut summary = Summary::default();
    match format {
        Format::Xlsx => xlsx::read(file, limits, &mut rows, &mut summary)?,
        Format::Ods => ods::read(file, limits, &mut rows)?,
        Format::Xls => xls::read(file, limits, &mut rows, &mut summary)?,
        Format::Csv => csv::read(file, limits, &mut rows, &mut summary)?,
    }
    rows.finish()?;
    summary.rows = rows.data_rows;
    Ok(summary)
}

/// Cheap row-count estimate for progress: the declared sheet dimension for xlsx and xls
/// (data rows, clamped to the limits), the line count for CSV; `None` if unknown (ods,
/// or anything that does not open).
pub fn estimate_rows(path: &Path, format: Format, limits: &Limits) -> Option<u64> {
    let mut file = File::open(path).ok()?;
    kind::check_kind(&mut file, format).ok()?;
    let rows = match format {
        Format::Csv => csv::count_rows(file)?,
        Format::Xlsx => xlsx::declared_rows(file, limits)?,
        Format::Xls => xls::declared_rows(file)?,
        Format::Ods => return None,
    };
    Some(rows.min(limits.max_rows))
}

/// The first visible worksheet, else the first worksheet.
fn first_sheet(sheets: &[calamine::Sheet]) -> Option<String> {
    let worksheets = || sheets.iter().filter(|s| s.typ == SheetType::WorkSheet);
    worksheets()
        .find(|s| s.visible == SheetVisible::Visible)
        .or_else(|| worksheets().next())
        .map(|s| s.name.clone())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::fixtures::{
        ODS_SHEET, biff, cfb, file, label, number, ods, read_all, sample_xlsx, unzip,
    };
    use super::{Format, Limits, ReadError, Row, Summary};

    #[test]
    fn truncated_and_corrupt_files_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let xlsx = sample_xlsx(false);
        for cut in [xlsx.len() / 2, xlsx.len() - 30, 100, 4] {
            let path = file(&dir, "cut.xlsx", &xlsx[..cut]);
            let err = read_all(&path, Format::Xlsx, &Limits::default()).expect_err("cut");
            assert!(
                matches!(err, ReadError::Corrupt(_) | ReadError::Io(_)),
                "{cut}: {err:?}"
            );
            assert!(err.message("zh-CN").contains("损坏") || matches!(err, ReadError::Io(_)));
        }
        let ods_bytes = ods(ODS_SHEET);
        let path = file(&dir, "cut.ods", &ods_bytes[..ods_bytes.len() / 2]);
        assert!(read_all(&path, Format::Ods, &Limits::default()).is_err());
        // Malformed content.xml.
        let bad = ods("<table:table table:name=\"a\"><table:table-row><table:table-cell");
        let path = file(&dir, "bad.ods", &bad);
        assert!(matches!(
            read_all(&path, Format::Ods, &Limits::default()),
            Err(ReadError::Corrupt(_))
        ));
    }

    #[test]
    fn errors_can_cross_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<ReadError>();
        send_sync::<Row>();
        send_sync::<Summary>();
    }

    #[test]
    fn formats_and_messages() {
        assert_eq!(Format::from_file_name("客户.XLSX"), Some(Format::Xlsx));
        assert_eq!(Format::from_file_name("a.b.Csv"), Some(Format::Csv));
        assert_eq!(Format::from_file_name("xlsx"), None);
        assert_eq!(Format::from_file_name("a.xlsb"), None);
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
        }
        let err = ReadError::TooManyColumns {
            row: 1,
            column: 1000,
            limit: 200,
        };
        assert_eq!(
            err.message("zh-CN"),
            "第 1 行的第 1000 (ALL) 列有数据，超出了 200 列的上限。"
        );
        assert_eq!(err.to_string(), err.message("en"));
    }

    /// The fixtures above as a seed corpus for the fuzz target, each a file every reader
    /// accepts. Written to a temporary folder, or to `FUZZ_SEEDS`:
    /// `FUZZ_SEEDS=$PWD/fuzz/corpus/read cargo test -p kehu --lib seed_corpus`.
    #[test]
    fn the_fuzz_seed_corpus_is_files_that_read() {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = std::env::var("FUZZ_SEEDS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| temp.path().to_path_buf());
        std::fs::create_dir_all(&dir).expect("seed dir");
        let (gbk, _, _) =
            encoding_rs::GBK.encode("公司名称,电话\n北京星辰,010\n\"上海\n远航\",021\n");
        let xls = cfb(
            &biff(
                (4, 2),
                &[
                    label(0, 0, "公司名称"),
                    label(1, 0, "北京"),
                    number(1, 1, 1.5),
                ],
            ),
            |_| {},
        );
        let seeds: [(&str, Vec<u8>); 6] = [
            ("shared.xlsx", sample_xlsx(false)),
            ("inline.xlsx", sample_xlsx(true)),
            ("sheet.ods", ods(ODS_SHEET)),
            (
                "utf8.csv",
                "\u{feff}名称,电话\n北京,\"1\"\"2\"\n\n,,\n"
                    .as_bytes()
                    .to_vec(),
            ),
            ("gbk.csv", gbk.into_owned()),
            ("book.xls", xls),
        ];
        for (name, bytes) in seeds {
            let path = dir.join(name);
            std::fs::write(&path, bytes).expect("seed");
            let format = Format::from_file_name(name).expect("a format");
            let (headers, rows, _) = read_all(&path, format, &Limits::default())
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(
                !headers.is_empty() && !rows.is_empty(),
                "{name} has a header and rows"
            );
        }
        // Bare XML parts, which the fuzz target also wraps into a workbook.
        let parts = unzip(&sample_xlsx(false))
            .into_iter()
            .chain(unzip(&ods(ODS_SHEET)))
            .filter(|(name, _)| {
                [
                    "xl/worksheets/sheet1.xml",
                    "xl/sharedStrings.xml",
                    "content.xml",
                ]
                .contains(&name.as_str())
            });
        for (name, bytes) in parts {
            let name = name.rsplit('/').next().unwrap_or_default().to_owned();
            std::fs::write(dir.join(name), bytes).expect("seed");
        }
    }
}
