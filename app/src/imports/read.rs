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
//!   first MiB with [`sniff::detect`] (UTF-8, UTF-8 with BOM, GBK/GB18030), then every line
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

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use calamine::{Data, DataRef, ExcelDateTime, Reader, SheetType, SheetVisible, Xls, Xlsx};
use quick_xml::events::{BytesStart, Event};

use crate::imports::sniff::{self, Encoding, SniffError};

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

/// What a file that is not what its name says looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// An Excel 2007+ workbook.
    Xlsx,
    /// An Excel 97-2003 workbook.
    Xls,
    /// An OpenDocument spreadsheet.
    Ods,
    /// Some other zip archive (a Word document, an .xlsb, ...).
    Zip,
    /// Some other OLE compound file (an old Word document, ...).
    Ole,
    /// A PDF document.
    Pdf,
    /// An image.
    Image,
    /// Text.
    Text,
    /// Binary data of no known kind.
    Binary,
}

/// Why a file cannot be imported. Every variant is one specific reason.
#[derive(Debug)]
pub enum ReadError {
    /// The file could not be opened or read.
    Io(io::Error),
    /// The file has no bytes.
    Empty,
    /// The content is not the format the file name says.
    WrongFormat {
        /// The format named by the extension.
        format: Format,
        /// What the content looks like, when that is known.
        found: Option<Found>,
    },
    /// The workbook is password-protected (encrypted).
    Encrypted,
    /// The zip has more entries than [`Limits::max_zip_entries`].
    TooManyEntries {
        /// Entries in the file.
        entries: usize,
        /// The limit.
        limit: usize,
    },
    /// The zip's declared uncompressed size is over [`Limits::max_uncompressed`].
    TooLarge {
        /// Declared uncompressed bytes.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// One zip entry is compressed more than [`Limits::max_ratio`]: a zip bomb.
    ZipBomb {
        /// The entry's name.
        entry: String,
        /// Its compression ratio.
        ratio: u64,
        /// The limit.
        limit: u64,
    },
    /// The shared strings part is larger than [`Limits::max_shared_strings`].
    SharedStringsTooLarge {
        /// Its uncompressed size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// One XML text node or tag is longer than any cell can be.
    XmlRunTooLong {
        /// The limit in bytes.
        limit: u64,
    },
    /// The sheet's declared dimensions are over the limits.
    DeclaredTooLarge {
        /// Declared rows (including the header).
        rows: u64,
        /// Declared columns, counted from column A.
        columns: u64,
        /// [`Limits::max_rows`].
        max_rows: u64,
        /// [`Limits::max_columns`].
        max_columns: usize,
    },
    /// More data rows than [`Limits::max_rows`].
    TooManyRows {
        /// The row that went over.
        row: u64,
        /// The limit.
        limit: u64,
    },
    /// A non-empty cell at or beyond [`Limits::max_columns`].
    TooManyColumns {
        /// Its row.
        row: u64,
        /// Its 1-based column.
        column: u64,
        /// The limit.
        limit: usize,
    },
    /// A cell longer than [`Limits::max_cell_chars`].
    CellTooLong {
        /// Its row.
        row: u64,
        /// Its 1-based column.
        column: u64,
        /// Its length in characters (at least this many).
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// A CSV record or line longer than any record within the limits can be.
    RecordTooLong {
        /// The record's row number (or the line, for a line).
        row: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// An xls workbook calamine would need too much memory for.
    WorkbookTooLarge {
        /// Estimated bytes.
        bytes: u64,
        /// The budget.
        limit: u64,
    },
    /// The workbook has no worksheet.
    NoWorksheet,
    /// The first worksheet (or the CSV) has no non-empty row.
    NoHeader,
    /// A CSV line is in another encoding than the lines before it.
    MixedEncodings {
        /// 1-based line number.
        line: u64,
    },
    /// A CSV line is neither UTF-8 nor GB18030.
    Undecodable {
        /// 1-based line number.
        line: u64,
    },
    /// The file is damaged, truncated or malformed; the detail is technical (English).
    Corrupt(String),
}

/// The xls memory budget (see the module docs).
const XLS_MEMORY_BUDGET: u64 = 256 << 20;

fn mib(bytes: u64) -> String {
    let tenths = bytes.saturating_mul(10) / (1 << 20);
    if tenths >= 100 {
        format!("{}", tenths / 10)
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

/// `1` → `A`, `27` → `AA`.
fn column_letters(mut column: u64) -> String {
    let mut letters = Vec::new();
    while column > 0 && letters.len() < 16 {
        let rem = ((column - 1) % 26) as u8;
        letters.push(char::from(b'A' + rem));
        column = (column - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// "1000 (ALL)"
fn column_label(column: u64) -> String {
    format!("{column} ({})", column_letters(column))
}

fn tr(locale: &str, key: &str, args: &[(&str, String)]) -> String {
    let mut text = rust_i18n::t!(key, locale = locale).into_owned();
    for (name, value) in args {
        text = text.replace(&format!("%{{{name}}}"), value);
    }
    text
}

impl ReadError {
    /// The reason in the user's language, from the locale files.
    pub fn message(&self, locale: &str) -> String {
        let l = locale;
        match self {
            ReadError::Io(e) => tr(l, "import_errors.io", &[("detail", e.to_string())]),
            ReadError::Empty => tr(l, "import_errors.empty", &[]),
            ReadError::WrongFormat { format, found } => {
                let kind = match format {
                    Format::Xlsx => tr(l, "import_errors.kind_xlsx", &[]),
                    Format::Xls => tr(l, "import_errors.kind_xls", &[]),
                    Format::Ods => tr(l, "import_errors.kind_ods", &[]),
                    Format::Csv => tr(l, "import_errors.kind_csv", &[]),
                };
                let ext = format!(".{}", format.as_str());
                let found = found.map(|f| match f {
                    Found::Xlsx => tr(l, "import_errors.kind_xlsx", &[]),
                    Found::Xls => tr(l, "import_errors.kind_xls", &[]),
                    Found::Ods => tr(l, "import_errors.kind_ods", &[]),
                    Found::Zip => tr(l, "import_errors.found_zip", &[]),
                    Found::Ole => tr(l, "import_errors.found_ole", &[]),
                    Found::Pdf => tr(l, "import_errors.found_pdf", &[]),
                    Found::Image => tr(l, "import_errors.found_image", &[]),
                    Found::Text => tr(l, "import_errors.found_text", &[]),
                    Found::Binary => tr(l, "import_errors.found_binary", &[]),
                });
                match found {
                    Some(found) => tr(
                        l,
                        "import_errors.wrong_format_found",
                        &[("ext", ext), ("kind", kind), ("found", found)],
                    ),
                    None => tr(
                        l,
                        "import_errors.wrong_format",
                        &[("ext", ext), ("kind", kind)],
                    ),
                }
            }
            ReadError::Encrypted => tr(l, "import_errors.encrypted", &[]),
            ReadError::TooManyEntries { entries, limit } => tr(
                l,
                "import_errors.too_many_entries",
                &[("count", entries.to_string()), ("limit", limit.to_string())],
            ),
            ReadError::TooLarge { bytes, limit } => tr(
                l,
                "import_errors.too_large",
                &[("size", mib(*bytes)), ("limit", mib(*limit))],
            ),
            ReadError::ZipBomb {
                entry,
                ratio,
                limit,
            } => tr(
                l,
                "import_errors.zip_bomb",
                &[
                    ("entry", entry.clone()),
                    ("ratio", ratio.to_string()),
                    ("limit", limit.to_string()),
                ],
            ),
            ReadError::SharedStringsTooLarge { bytes, limit } => tr(
                l,
                "import_errors.shared_strings",
                &[("size", mib(*bytes)), ("limit", mib(*limit))],
            ),
            ReadError::XmlRunTooLong { limit } => tr(
                l,
                "import_errors.xml_run_too_long",
                &[("limit", (limit / 1024).to_string())],
            ),
            ReadError::DeclaredTooLarge {
                rows,
                columns,
                max_rows,
                max_columns,
            } => tr(
                l,
                "import_errors.declared_too_large",
                &[
                    ("rows", rows.to_string()),
                    ("columns", columns.to_string()),
                    ("max_rows", max_rows.to_string()),
                    ("max_columns", max_columns.to_string()),
                ],
            ),
            ReadError::TooManyRows { row, limit } => tr(
                l,
                "import_errors.too_many_rows",
                &[("row", row.to_string()), ("limit", limit.to_string())],
            ),
            ReadError::TooManyColumns { row, column, limit } => tr(
                l,
                "import_errors.too_many_columns",
                &[
                    ("row", row.to_string()),
                    ("column", column_label(*column)),
                    ("limit", limit.to_string()),
                ],
            ),
            ReadError::CellTooLong {
                row,
                column,
                chars,
                limit,
            } => tr(
                l,
                "import_errors.cell_too_long",
                &[
                    ("row", row.to_string()),
                    ("column", column_label(*column)),
                    ("chars", chars.to_string()),
                    ("limit", limit.to_string()),
                ],
            ),
            ReadError::RecordTooLong { row, limit } => tr(
                l,
                "import_errors.record_too_long",
                &[("row", row.to_string()), ("limit", mib(*limit))],
            ),
            ReadError::WorkbookTooLarge { bytes, limit } => tr(
                l,
                "import_errors.workbook_too_large",
                &[("size", mib(*bytes)), ("limit", mib(*limit))],
            ),
            ReadError::NoWorksheet => tr(l, "import_errors.no_worksheet", &[]),
            ReadError::NoHeader => tr(l, "import_errors.no_header", &[]),
            ReadError::MixedEncodings { line } => tr(
                l,
                "import_errors.mixed_encodings",
                &[("line", line.to_string())],
            ),
            ReadError::Undecodable { line } => tr(
                l,
                "import_errors.undecodable",
                &[("line", line.to_string())],
            ),
            ReadError::Corrupt(detail) => {
                tr(l, "import_errors.corrupt", &[("detail", detail.clone())])
            }
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message("en"))
    }
}

impl std::error::Error for ReadError {}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

impl From<SniffError> for ReadError {
    fn from(e: SniffError) -> Self {
        match e {
            SniffError::MixedEncodings { line } => ReadError::MixedEncodings { line: line as u64 },
            SniffError::Undecodable { line } => ReadError::Undecodable { line: line as u64 },
        }
    }
}

fn corrupt(detail: impl fmt::Display) -> ReadError {
    ReadError::Corrupt(detail.to_string())
}

/// Runs a calamine call; a panic inside it becomes [`ReadError::Corrupt`].
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, ReadError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        corrupt(format!("the spreadsheet library gave up: {what}"))
    })
}

// ---------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------

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
    check_kind(&mut file, format)?;
    let mut rows = Rows::new(limits, on_headers, on_row);
    let mut summary = Summary::default();
    match format {
        Format::Xlsx => read_xlsx(file, limits, &mut rows, &mut summary)?,
        Format::Ods => read_ods(file, limits, &mut rows)?,
        Format::Xls => read_xls(file, limits, &mut rows, &mut summary)?,
        Format::Csv => read_csv(file, limits, &mut rows, &mut summary)?,
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
    check_kind(&mut file, format).ok()?;
    let rows = match format {
        Format::Csv => {
            let mut newlines = 0u64;
            let mut returns = 0u64;
            let mut last = b'\n';
            let mut buf = vec![0u8; 64 << 10];
            loop {
                let n = file.read(&mut buf).ok()?;
                let chunk = buf.get(..n)?;
                let Some(&l) = chunk.last() else { break };
                last = l;
                newlines += memchr::memchr_iter(b'\n', chunk).count() as u64;
                returns += memchr::memchr_iter(b'\r', chunk).count() as u64;
            }
            // Lines end in LF or CRLF, or (old Mac) a lone CR.
            let (breaks, end) = if newlines > 0 {
                (newlines, b'\n')
            } else {
                (returns, b'\r')
            };
            let lines = breaks + u64::from(last != end);
            lines.saturating_sub(1)
        }
        Format::Xlsx => {
            let zip = check_zip(BufReader::new(file), limits, Format::Xlsx).ok()?;
            xlsx_declared_rows(zip)?
        }
        Format::Xls => {
            let data = read_all(&mut file).ok()?;
            let ole = Ole::parse(&data).ok()?;
            let stream = ole
                .stream(&data, "Workbook")
                .or_else(|_| ole.stream(&data, "Book"));
            let scan = scan_biff(&stream.ok()?.ok()?).ok()?;
            scan.first_dimensions
                .map(|(rows, _)| rows.saturating_sub(1))?
        }
        Format::Ods => return None,
    };
    Some(rows.min(limits.max_rows))
}

// ---------------------------------------------------------------------------------------
// Magic bytes
// ---------------------------------------------------------------------------------------

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
const ODS_MIMETYPE: &[u8] = b"application/vnd.oasis.opendocument.spreadsheet";

/// Checks the first bytes against `format`; leaves `file` at the start.
fn check_kind(file: &mut File, format: Format) -> Result<(), ReadError> {
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

fn read_all(file: &mut File) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(0))?;
    let mut data = Vec::new();
    file.read_to_end(&mut data)?;
    Ok(data)
}

fn is_ods_zip<R: Read + Seek>(zip: &mut zip::ZipArchive<R>) -> bool {
    let Ok(entry) = zip.by_name("mimetype") else {
        return false;
    };
    let mut mime = Vec::with_capacity(64);
    if entry.take(128).read_to_end(&mut mime).is_err() {
        return false;
    }
    mime.trim_ascii() == ODS_MIMETYPE
}

fn has_xlsx_workbook<R: Read + Seek>(zip: &zip::ZipArchive<R>) -> bool {
    zip.file_names_raw().any(|n| {
        let n = n.to_ascii_lowercase();
        n.ends_with(b"workbook.xml") || n.ends_with(b"workbook2.xml")
    })
}

// ---------------------------------------------------------------------------------------
// Zip checks
// ---------------------------------------------------------------------------------------

type Zip = zip::ZipArchive<BufReader<File>>;

fn zip_err(e: zip::result::ZipError) -> ReadError {
    match e {
        zip::result::ZipError::Io(e) => ReadError::Io(e),
        e => corrupt(e),
    }
}

/// Opens the zip and checks its central directory against `limits` before anything is
/// inflated; for xlsx, also that it holds a workbook; for ods, its mimetype.
fn check_zip(reader: BufReader<File>, limits: &Limits, format: Format) -> Result<Zip, ReadError> {
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
struct XmlRunGuard<R> {
    inner: R,
    since_lt: u64,
    limit: u64,
}

impl<R: Read> XmlRunGuard<R> {
    fn new(inner: R, limit: u64) -> Self {
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
fn entry_io_err(e: &io::Error, limits: &Limits) -> ReadError {
    if e.get_ref().is_some_and(|inner| inner.is::<RunTooLong>()) {
        ReadError::XmlRunTooLong {
            limit: limits.max_xml_run(),
        }
    } else {
        corrupt(e)
    }
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

// ---------------------------------------------------------------------------------------
// Row assembly
// ---------------------------------------------------------------------------------------

/// Turns cells into header + rows, enforcing the row, column and cell limits.
struct Rows<'a> {
    limits: &'a Limits,
    on_headers: &'a mut dyn FnMut(&[String]) -> ControlFlow<()>,
    on_row: &'a mut dyn FnMut(Row) -> ControlFlow<()>,
    /// 0-based row of `cells`, when it holds something.
    current: Option<u64>,
    cells: Vec<String>,
    header_width: Option<usize>,
    data_rows: u64,
    stopped: bool,
}

impl<'a> Rows<'a> {
    fn new(
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
    fn check(&self, row: u64, col: u64, value: &str) -> Result<(), ReadError> {
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
    fn cell(&mut self, row: u64, col: u64, value: &str) -> Result<ControlFlow<()>, ReadError> {
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
    fn emit(&mut self, row: u64, mut cells: Vec<String>) -> Result<ControlFlow<()>, ReadError> {
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

    fn finish(&mut self) -> Result<(), ReadError> {
        if !self.stopped {
            let _flow = self.flush()?;
        }
        if self.header_width.is_none() {
            return Err(ReadError::NoHeader);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------

/// A cell value from any reader, borrowed.
enum Value<'a> {
    Empty,
    Text(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    DateTime(&'a ExcelDateTime),
    DateTimeIso(&'a str),
    DurationIso(&'a str),
}

impl<'a> From<&'a DataRef<'a>> for Value<'a> {
    fn from(v: &'a DataRef<'a>) -> Self {
        match v {
            DataRef::Int(i) => Value::Int(*i),
            DataRef::Float(f) => Value::Float(*f),
            DataRef::String(s) => Value::Text(s),
            DataRef::SharedString(s) => Value::Text(s),
            DataRef::Bool(b) => Value::Bool(*b),
            DataRef::DateTime(d) => Value::DateTime(d),
            DataRef::DateTimeIso(s) => Value::DateTimeIso(s),
            DataRef::DurationIso(s) => Value::DurationIso(s),
            DataRef::Error(_) | DataRef::Empty => Value::Empty,
        }
    }
}

impl<'a> From<&'a Data> for Value<'a> {
    fn from(v: &'a Data) -> Self {
        match v {
            Data::Int(i) => Value::Int(*i),
            Data::Float(f) => Value::Float(*f),
            Data::String(s) => Value::Text(s),
            Data::Bool(b) => Value::Bool(*b),
            Data::DateTime(d) => Value::DateTime(d),
            Data::DateTimeIso(s) => Value::DateTimeIso(s),
            Data::DurationIso(s) => Value::DurationIso(s),
            Data::Error(_) | Data::Empty => Value::Empty,
        }
    }
}

/// Writes `value` as import text into `out` (cleared first) and returns the text.
fn render<'v>(value: &Value<'v>, out: &'v mut String) -> &'v str {
    use std::fmt::Write as _;
    out.clear();
    match value {
        Value::Empty => {}
        Value::Text(s) => return s,
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => push_float(out, *f),
        Value::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        Value::DateTime(d) => push_excel_datetime(out, d),
        Value::DateTimeIso(s) => push_iso_datetime(out, s),
        Value::DurationIso(s) => push_iso_duration(out, s),
    }
    out
}

/// Rust's `Display` for `f64` is the shortest round-trip form, never with an exponent and
/// without a trailing `.0`: `13800138000.0` → `13800138000`, `0.1` → `0.1`.
fn push_float(out: &mut String, f: f64) {
    use std::fmt::Write as _;
    if f == 0.0 {
        out.push('0');
    } else if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        // Integral and exact in an i64 (|f| < 2^53): the same digits, formatted faster.
        let _ = write!(out, "{}", f as i64);
    } else if f.is_finite() {
        let _ = write!(out, "{f}");
    }
}

fn push_hms(out: &mut String, h: u64, m: u64, s: u64) {
    use std::fmt::Write as _;
    let _ = write!(out, "{h:02}:{m:02}:{s:02}");
}

fn push_excel_datetime(out: &mut String, d: &ExcelDateTime) {
    use std::fmt::Write as _;
    let v = d.as_f64();
    if !v.is_finite() {
        return;
    }
    if d.is_duration() || (0.0..1.0).contains(&v) {
        // A duration, or a time of day with no date.
        let total = (v.abs() * 86_400.0).round();
        let total = if total > 1e15 { 0 } else { total as u64 };
        if v < 0.0 {
            out.push('-');
        }
        push_hms(out, total / 3600, total / 60 % 60, total % 60);
        return;
    }
    let (y, mo, day, h, mi, s, _ms) = d.to_ymd_hms_milli();
    let _ = write!(out, "{y:04}-{mo:02}-{day:02}");
    if (h, mi, s) != (0, 0, 0) {
        out.push(' ');
        push_hms(out, h.into(), mi.into(), s.into());
    }
}

/// `2024-01-05T10:30:00.123` → `2024-01-05 10:30:00`; `2024-01-05T00:00:00` → `2024-01-05`.
fn push_iso_datetime(out: &mut String, s: &str) {
    let s = s.trim();
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, t),
        None => (s, ""),
    };
    out.push_str(date);
    let time = time
        .split(['.', 'Z', '+'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('-');
    if !time.is_empty() && time != "00:00:00" && time != "00:00" {
        out.push(' ');
        out.push_str(time);
    }
}

/// `PT10H30M05S` / `P1DT2H` → `HH:MM:SS` (hours may exceed 24); anything else is copied.
fn push_iso_duration(out: &mut String, s: &str) {
    fn parse(s: &str) -> Option<(bool, u64)> {
        let (neg, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let s = s.strip_prefix('P')?;
        let mut secs: f64 = 0.0;
        let mut num = String::new();
        let mut in_time = false;
        for c in s.chars() {
            match c {
                'T' => in_time = true,
                '0'..='9' | '.' => num.push(c),
                _ => {
                    let n: f64 = num.parse().ok()?;
                    num.clear();
                    secs += n * match (c, in_time) {
                        ('D', false) => 86_400.0,
                        ('H', true) => 3_600.0,
                        ('M', true) => 60.0,
                        ('S', true) => 1.0,
                        _ => return None,
                    };
                }
            }
        }
        if !num.is_empty() || !secs.is_finite() || secs > 1e15 {
            return None;
        }
        Some((neg, secs.round() as u64))
    }
    match parse(s.trim()) {
        Some((neg, total)) => {
            if neg {
                out.push('-');
            }
            push_hms(out, total / 3600, total / 60 % 60, total % 60);
        }
        None => out.push_str(s),
    }
}

// ---------------------------------------------------------------------------------------
// xlsx
// ---------------------------------------------------------------------------------------

fn xlsx_err(e: calamine::XlsxError) -> ReadError {
    match e {
        calamine::XlsxError::Password => ReadError::Encrypted,
        calamine::XlsxError::Io(e) => ReadError::Io(e),
        e => corrupt(e),
    }
}

/// The first visible worksheet, else the first worksheet.
fn first_sheet(sheets: &[calamine::Sheet]) -> Option<String> {
    let worksheets = || sheets.iter().filter(|s| s.typ == SheetType::WorkSheet);
    worksheets()
        .find(|s| s.visible == SheetVisible::Visible)
        .or_else(|| worksheets().next())
        .map(|s| s.name.clone())
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

fn read_xlsx(
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
fn xlsx_declared_rows(mut zip: Zip) -> Option<u64> {
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

// ---------------------------------------------------------------------------------------
// ods (own streaming reader; see the module docs)
// ---------------------------------------------------------------------------------------

fn read_ods(file: File, limits: &Limits, rows: &mut Rows<'_>) -> Result<(), ReadError> {
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

fn xml_err(e: quick_xml::Error, limits: &Limits) -> ReadError {
    match e {
        quick_xml::Error::Io(io) => entry_io_err(&io, limits),
        e => corrupt(e),
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

/// An attribute value with its entities resolved (`None` if one is unknown).
fn unescape(raw: &str) -> Option<String> {
    quick_xml::escape::unescape(raw).ok().map(Cow::into_owned)
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

// ---------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------

/// Why the line decoder stopped (carried through `io::Error` and the csv reader).
#[derive(Debug)]
enum LineError {
    Sniff(SniffError),
    TooLong { limit: u64 },
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for LineError {}

/// Streams a CSV file as UTF-8: each physical line is checked and decoded in the encoding
/// found so far (see the module docs). Also bounds how many bytes may pass between two
/// `reset`s (one record).
struct LineDecoder<R> {
    inner: R,
    encoding: Option<Encoding>,
    /// True once a non-ASCII line fixed the encoding.
    settled: bool,
    line: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    line_no: u64,
    since_reset: std::rc::Rc<std::cell::Cell<u64>>,
    max_bytes: u64,
    /// The row number of every record, in order, as the csv reader will find them.
    numbers: RowNumbers,
}

/// Row numbers of CSV records, found by following the quoting as csv-core does (default
/// dialect: `,` `"`, doubled quotes, CR/LF/CRLF line ends): a record starts at a line end
/// outside quotes, and an empty line there is a blank row that the csv crate skips
/// without a trace. Counting them here keeps row numbers true to the file.
#[derive(Default)]
struct RowNumbers {
    queue: std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<u64>>>,
    row: u64,
    state: CsvState,
    after_cr: bool,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum CsvState {
    #[default]
    RecordStart,
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl RowNumbers {
    fn scan(&mut self, text: &[u8]) {
        for &b in text {
            let terminator = b == b'\n' || b == b'\r';
            if self.state == CsvState::RecordStart {
                if b == b'\n' && self.after_cr {
                    self.after_cr = false;
                    continue;
                }
                self.row += 1;
                self.after_cr = b == b'\r';
                if terminator {
                    continue; // an empty line: a blank row
                }
                self.queue.borrow_mut().push_back(self.row);
                self.state = CsvState::FieldStart;
            }
            self.state = match (self.state, b) {
                (CsvState::Quoted, b'"') => CsvState::QuoteInQuoted,
                (CsvState::Quoted, _) => CsvState::Quoted,
                (CsvState::QuoteInQuoted, b'"') | (CsvState::FieldStart, b'"') => CsvState::Quoted,
                (_, b',') => CsvState::FieldStart,
                (_, b'\n' | b'\r') => {
                    self.after_cr = b == b'\r';
                    CsvState::RecordStart
                }
                _ => CsvState::Unquoted,
            };
        }
    }
}

impl<R: BufRead> LineDecoder<R> {
    fn fail(&self, e: LineError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    /// Reads the next physical line into `self.line`; false at the end.
    fn next_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(!self.line.is_empty());
            }
            // A CR ended the last chunk: a LF right after it belongs to the same line end.
            if self.line.last() == Some(&b'\r') {
                if available.first() == Some(&b'\n') {
                    self.line.push(b'\n');
                    self.inner.consume(1);
                }
                return Ok(true);
            }
            // Lines end in LF, CRLF or a lone CR (old Mac "CSV"); GB18030 never uses
            // either byte inside a character.
            let (end, done) = match memchr::memchr2(b'\n', b'\r', available) {
                Some(i) if available.get(i) == Some(&b'\r') => match available.get(i + 1) {
                    Some(b'\n') => (i + 2, true),
                    Some(_) => (i + 1, true),
                    None => (i + 1, false),
                },
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            let chunk = available.get(..end).unwrap_or(available);
            let used = chunk.len();
            self.line.extend_from_slice(chunk);
            self.inner.consume(used);
            if self.line.len() as u64 > self.max_bytes {
                return Err(self.fail(LineError::TooLong {
                    limit: self.max_bytes,
                }));
            }
            if done {
                return Ok(true);
            }
        }
    }

    /// Decodes `self.line` (line number `self.line_no`) into `self.out`.
    fn decode_line(&mut self) -> Result<(), LineError> {
        let line_no = self.line_no;
        let mut raw: &[u8] = &self.line;
        if line_no == 1
            && let Some(rest) = raw.strip_prefix(b"\xEF\xBB\xBF")
        {
            raw = rest;
            self.encoding = Some(Encoding::Utf8Bom);
            self.settled = true;
        }
        self.out.clear();
        if raw.is_ascii() {
            self.out.extend_from_slice(raw);
            return Ok(());
        }
        let utf8 = std::str::from_utf8(raw).is_ok();
        let line = usize::try_from(line_no).unwrap_or(usize::MAX);
        match (self.encoding, self.settled) {
            (_, false) => {
                if utf8 {
                    self.encoding = Some(Encoding::Utf8);
                } else {
                    match encoding_rs::GB18030
                        .decode_without_bom_handling_and_without_replacement(raw)
                    {
                        Some(text) => {
                            self.encoding = Some(Encoding::Gb18030);
                            self.out.extend_from_slice(text.as_bytes());
                            self.settled = true;
                            return Ok(());
                        }
                        None => return Err(LineError::Sniff(SniffError::Undecodable { line })),
                    }
                }
                self.settled = true;
                self.out.extend_from_slice(raw);
            }
            (Some(Encoding::Utf8 | Encoding::Utf8Bom) | None, true) => {
                if !utf8 {
                    return Err(LineError::Sniff(SniffError::MixedEncodings { line }));
                }
                self.out.extend_from_slice(raw);
            }
            (Some(Encoding::Gb18030), true) => {
                // Non-ASCII valid UTF-8 in a GB file: two encodings (as sniff::detect).
                if utf8 {
                    return Err(LineError::Sniff(SniffError::MixedEncodings { line }));
                }
                match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(raw)
                {
                    Some(text) => self.out.extend_from_slice(text.as_bytes()),
                    None => return Err(LineError::Sniff(SniffError::Undecodable { line })),
                }
            }
        }
        Ok(())
    }
}

impl<R: BufRead> Read for LineDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos >= self.out.len() {
            if !self.next_line()? {
                return Ok(0);
            }
            self.line_no += 1;
            self.out_pos = 0;
            if let Err(e) = self.decode_line() {
                return Err(self.fail(e));
            }
            self.numbers.scan(&self.out);
        }
        let pending = self.out.get(self.out_pos..).unwrap_or_default();
        let n = pending.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), pending.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.out_pos += n;
        let since = self.since_reset.get().saturating_add(n as u64);
        self.since_reset.set(since);
        if since > self.max_bytes {
            return Err(self.fail(LineError::TooLong {
                limit: self.max_bytes,
            }));
        }
        Ok(n)
    }
}

fn csv_err(e: csv::Error, row: u64) -> ReadError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => {
            let kind = io.kind();
            match io.into_inner().map(|inner| inner.downcast::<LineError>()) {
                Some(Ok(line_error)) => match *line_error {
                    LineError::Sniff(s) => s.into(),
                    LineError::TooLong { limit } => ReadError::RecordTooLong { row, limit },
                },
                Some(Err(other)) => ReadError::Io(io::Error::new(kind, other)),
                None => ReadError::Io(io::Error::from(kind)),
            }
        }
        kind => corrupt(format!("{kind:?}")),
    }
}

fn read_csv(
    mut file: File,
    limits: &Limits,
    rows: &mut Rows<'_>,
    summary: &mut Summary,
) -> Result<(), ReadError> {
    // Detect on the first MiB (cut at a line end), as the upload preview does, so both
    // report the same first problem.
    let mut prefix = Vec::new();
    file.by_ref().take(1 << 20).read_to_end(&mut prefix)?;
    file.seek(SeekFrom::Start(0))?;
    if prefix.len() == 1 << 20 {
        // Cut at the last line end; a prefix without one is left to the stream.
        match memchr::memrchr2(b'\n', b'\r', &prefix) {
            Some(end) => prefix.truncate(end + 1),
            None => prefix.clear(),
        }
    }
    let detected = if prefix.is_empty() {
        None
    } else {
        Some(sniff::detect(&prefix)?)
    };
    let since_reset = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let decoder = LineDecoder {
        inner: BufReader::with_capacity(64 << 10, file),
        // UTF-8 from a pure-ASCII prefix is not settled yet: a later line decides.
        settled: detected.is_some_and(|d| d != Encoding::Utf8 || !prefix.is_ascii()),
        encoding: detected,
        line: Vec::new(),
        out: Vec::new(),
        out_pos: 0,
        line_no: 0,
        since_reset: since_reset.clone(),
        max_bytes: limits.max_record_bytes(),
        numbers: RowNumbers::default(),
    };
    let numbers = decoder.numbers.queue.clone();
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(64 << 10)
        .from_reader(decoder);
    let mut record = csv::StringRecord::new();
    let mut number: u64 = 0;
    loop {
        since_reset.set(0);
        let more = csv
            .read_record(&mut record)
            .map_err(|e| csv_err(e, number.saturating_add(1)))?;
        if !more {
            break;
        }
        // The decoder has seen this record's start (it runs ahead of the csv reader).
        let next = numbers.borrow_mut().pop_front();
        number = next.unwrap_or(number + 1).max(number + 1);
        let row = number - 1;
        for (col, field) in record.iter().enumerate() {
            if rows.cell(row, col as u64, field)?.is_break() {
                summary.encoding = csv.get_ref().encoding.or(Some(Encoding::Utf8));
                return Ok(());
            }
        }
    }
    summary.encoding = csv.get_ref().encoding.or(Some(Encoding::Utf8));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// xls
// ---------------------------------------------------------------------------------------

fn xls_err(e: calamine::XlsError) -> ReadError {
    match e {
        calamine::XlsError::Password => ReadError::Encrypted,
        calamine::XlsError::Io(e) => ReadError::Io(e),
        e => corrupt(e),
    }
}

fn read_xls(
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

/// A read-only view of an OLE compound file that follows its chains the way calamine's
/// reader does, but refuses every chain that loops, leaves the file or would make calamine
/// index out of bounds.
struct Ole {
    sector_size: usize,
    header_len: usize,
    maxid: u64,
    fats: Vec<u32>,
    dirs: Vec<(String, u32, u64)>,
    mini_fats: Vec<u32>,
    mini_stream: Vec<u8>,
}

const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const RESERVED_SECTORS: u32 = 0xFFFF_FFFA;
const DIFSECT: u32 = 0xFFFF_FFFC;

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

impl Ole {
    fn parse(data: &[u8]) -> Result<Ole, String> {
        let header = data
            .get(..512)
            .ok_or("the file is shorter than its header")?;
        if !header.starts_with(OLE_MAGIC) {
            return Err("not an OLE compound file".into());
        }
        let version = le16(header, 26).unwrap_or(0);
        let (sector_size, header_len) = match le16(header, 30) {
            Some(0x0009) => (512usize, 512usize),
            Some(0x000C) => (4096, 4096),
            _ => return Err("bad sector size".into()),
        };
        if data.len() < header_len {
            return Err("the file is shorter than its header".into());
        }
        if le16(header, 32) != Some(6) {
            return Err("bad mini sector size".into());
        }
        let field = |at| le32(header, at).ok_or_else(|| "short header".to_owned());
        let dir_start = field(48)?;
        let mini_fat_start = field(60)?;
        let mini_fat_len = u64::from(field(64)?);
        let difat_start = field(68)?;
        let mut ole = Ole {
            sector_size,
            header_len,
            // calamine: `len / sector_size`, the header included.
            maxid: (data.len() / sector_size) as u64,
            fats: Vec::new(),
            dirs: Vec::new(),
            mini_fats: Vec::new(),
            mini_stream: Vec::new(),
        };
        let mut difat: Vec<u32> = u32s(header.get(76..512).unwrap_or_default()).collect();
        let mut sector_id = difat_start;
        let mut steps = 0u64;
        while sector_id < RESERVED_SECTORS {
            steps += 1;
            if steps > ole.maxid + 1 {
                return Err("the DIFAT chain loops".into());
            }
            difat.extend(u32s(ole.full_sector(data, sector_id)?));
            sector_id = difat.pop().ok_or("empty DIFAT sector")?;
        }
        for id in difat.into_iter().filter(|id| *id < DIFSECT) {
            let sector = ole.full_sector(data, id)?;
            ole.fats.extend(u32s(sector));
        }
        let dir_bytes = ole.chain(data, dir_start, u64::MAX, false)?;
        ole.dirs = dir_bytes
            .chunks_exact(128)
            .map(|d| {
                let name: String = char::decode_utf16(
                    d.get(..64)
                        .unwrap_or_default()
                        .chunks_exact(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]])),
                )
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .take_while(|c| *c != '\0')
                .collect();
                let start = le32(d, 116).unwrap_or(ENDOFCHAIN);
                let len = if sector_size == 512 {
                    u64::from(le32(d, 120).unwrap_or(0))
                } else {
                    le64(d, 120).unwrap_or(0)
                };
                (name, start, len)
            })
            .collect();
        let Some(&(_, root_start, root_len)) = ole.dirs.first() else {
            return Err("no root directory".into());
        };
        if version != 3 && root_start == ENDOFCHAIN {
            return Err("no root directory".into());
        }
        if mini_fat_len > 0 {
            ole.mini_stream = ole.chain(data, root_start, root_len, false)?;
            let mini_fat = ole.chain(
                data,
                mini_fat_start,
                mini_fat_len.saturating_mul(sector_size as u64),
                true,
            )?;
            ole.mini_fats = u32s(&mini_fat).collect();
        }
        Ok(ole)
    }

    /// Sector `id`: calamine refuses ids past `maxid` and panics on a sector starting past
    /// the end of the file; a partial last sector it reads short.
    fn sector<'d>(&self, data: &'d [u8], id: u32) -> Result<&'d [u8], String> {
        if u64::from(id) > self.maxid {
            return Err(format!("sector {id} is past the end of the file"));
        }
        let body = data.get(self.header_len..).unwrap_or_default();
        let start = (id as usize).saturating_mul(self.sector_size);
        if start > body.len() {
            return Err(format!("sector {id} is past the end of the file"));
        }
        let end = start.saturating_add(self.sector_size).min(body.len());
        Ok(body.get(start..end).unwrap_or_default())
    }

    fn full_sector<'d>(&self, data: &'d [u8], id: u32) -> Result<&'d [u8], String> {
        let s = self.sector(data, id)?;
        if s.len() != self.sector_size {
            return Err(format!("sector {id} is cut short"));
        }
        Ok(s)
    }

    /// The chain from `start`, as calamine's `get_chain` reads it (stopping at `len` bytes),
    /// refusing loops and FAT indexes out of range. `full` sectors are required where
    /// calamine would panic on a short one.
    fn chain(&self, data: &[u8], start: u32, len: u64, full: bool) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut id = start;
        while id != ENDOFCHAIN {
            if !seen.insert(id) {
                return Err("a sector chain loops".into());
            }
            let sector = if full {
                self.full_sector(data, id)?
            } else {
                self.sector(data, id)?
            };
            let remaining =
                usize::try_from(len.saturating_sub(out.len() as u64)).unwrap_or(usize::MAX);
            out.extend_from_slice(
                sector
                    .get(..sector.len().min(remaining))
                    .unwrap_or_default(),
            );
            if out.len() as u64 >= len {
                break;
            }
            id = *self
                .fats
                .get(id as usize)
                .ok_or_else(|| format!("sector {id} is not in the FAT"))?;
        }
        Ok(out)
    }

    fn find(&self, name: &str) -> Option<&(String, u32, u64)> {
        self.dirs
            .iter()
            .find(|(n, _, _)| n.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
    }

    /// A stream by name (outer error: no such stream; inner: it cannot be read safely).
    fn stream(&self, data: &[u8], name: &str) -> Result<Result<Vec<u8>, String>, ()> {
        let &(_, start, len) = self.find(name).ok_or(())?;
        if len >= 4096 {
            return Ok(self.chain(data, start, len, false));
        }
        // Mini stream: 64-byte sectors in `mini_stream`. calamine reads past its end from
        // the file, so every sector must lie inside it.
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut id = start;
        while id != ENDOFCHAIN {
            if !seen.insert(id) {
                return Ok(Err("a mini sector chain loops".into()));
            }
            let from = (id as usize).saturating_mul(64);
            let Some(sector) = self.mini_stream.get(from..from.saturating_add(64)) else {
                return Ok(Err(format!("mini sector {id} is outside the mini stream")));
            };
            let remaining = usize::try_from(len.saturating_sub(out.len() as u64)).unwrap_or(0);
            out.extend_from_slice(sector.get(..64.min(remaining)).unwrap_or_default());
            if out.len() as u64 >= len {
                break;
            }
            let Some(&next) = self.mini_fats.get(id as usize) else {
                return Ok(Err(format!("mini sector {id} is not in the mini FAT")));
            };
            id = next;
        }
        Ok(Ok(out))
    }
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
    use std::io::{Cursor, Write as _};
    use std::ops::ControlFlow;
    use std::path::{Path, PathBuf};

    use rust_xlsxwriter::{ExcelDateTime, Formula, Workbook};
    use zip::write::SimpleFileOptions;

    use super::{Format, Found, Limits, ReadError, Row, Summary, estimate_rows, read};
    use crate::imports::sniff::Encoding;

    /// Reads `path` fully: (headers, rows, summary).
    fn read_all(
        path: &Path,
        format: Format,
        limits: &Limits,
    ) -> Result<(Vec<String>, Vec<Row>, Summary), ReadError> {
        let mut headers = Vec::new();
        let mut rows = Vec::new();
        let summary = read(
            path,
            format,
            limits,
            &mut |h| {
                headers = h.to_vec();
                ControlFlow::Continue(())
            },
            &mut |r| {
                rows.push(r);
                ControlFlow::Continue(())
            },
        )?;
        Ok((headers, rows, summary))
    }

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_owned()).collect()
    }

    fn row(number: u64, cells: &[&str]) -> Row {
        Row {
            number,
            cells: strings(cells),
        }
    }

    fn file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write test file");
        path
    }

    /// A zip of `(name, bytes)` entries, deflated (the first one stored, as ods wants).
    fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (i, (name, bytes)) in entries.iter().enumerate() {
            let method = if i == 0 {
                zip::CompressionMethod::Stored
            } else {
                zip::CompressionMethod::Deflated
            };
            let options = SimpleFileOptions::default()
                .compression_method(method)
                .large_file(bytes.len() > u32::MAX as usize / 2);
            zip.start_file(*name, options).expect("zip entry");
            zip.write_all(bytes).expect("zip write");
        }
        zip.finish().expect("zip finish").into_inner()
    }

    /// The entries of a zip file, in order.
    fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
        (0..zip.len())
            .map(|i| {
                let mut entry = zip.by_index(i).expect("entry");
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut data).expect("inflate");
                (entry.name().expect("name").into_owned(), data)
            })
            .collect()
    }

    fn sample_xlsx(constant_memory: bool) -> Vec<u8> {
        let mut workbook = Workbook::new();
        let sheet = if constant_memory {
            workbook
                .add_worksheet_with_constant_memory()
                .expect("worksheet")
        } else {
            workbook.add_worksheet()
        };
        let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        let datetime = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        for (c, h) in ["公司名称", "电话", "成立日期", "合计", "", "公司名称"]
            .iter()
            .enumerate()
        {
            if !h.is_empty() {
                sheet.write_string(0, c as u16, *h).expect("write");
            }
        }
        sheet
            .write_string(1, 0, "北京星辰科技有限公司")
            .expect("write");
        sheet.write_number(1, 1, 13_800_138_000.0).expect("write");
        let d = ExcelDateTime::from_ymd(2024, 3, 15).expect("date");
        sheet
            .write_datetime_with_format(1, 2, &d, &date)
            .expect("write");
        sheet
            .write_formula(1, 3, Formula::new("=1+2").set_result("3"))
            .expect("write");
        // Row 3 (index 2) stays blank.
        sheet.write_string(3, 0, "  上海远航物流  ").expect("write");
        sheet.write_number(3, 1, 0.1).expect("write");
        let dt = ExcelDateTime::from_ymd(2023, 12, 1)
            .expect("date")
            .and_hms(9, 30, 15)
            .expect("time");
        sheet
            .write_datetime_with_format(3, 2, &dt, &datetime)
            .expect("write");
        sheet.write_boolean(3, 3, true).expect("write");
        sheet.write_number(3, 7, -2.5).expect("write");
        workbook.save_to_buffer().expect("save")
    }

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

    fn ods(content: &str) -> Vec<u8> {
        let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"#;
        let content = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" office:version="1.2"><office:body><office:spreadsheet>{content}</office:spreadsheet></office:body></office:document-content>"#
        );
        zip_bytes(&[
            ("mimetype", super::ODS_MIMETYPE),
            ("META-INF/manifest.xml", manifest.as_bytes()),
            ("content.xml", content.as_bytes()),
        ])
    }

    const ODS_SHEET: &str = r#"<table:table table:name="客户">
<table:table-column table:number-columns-repeated="3"/>
<table:table-header-rows>
<table:table-row><table:table-cell office:value-type="string"><text:p>公司名称</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>电话</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>日期</text:p></table:table-cell><table:table-cell table:number-columns-repeated="1021"/></table:table-row>
</table:table-header-rows>
<table:table-row><table:table-cell office:value-type="string"><text:p>北京<text:span>星辰</text:span>科技&amp;<text:s text:c="2"/>有限公司</text:p><office:annotation><text:p>备注不读</text:p></office:annotation></table:table-cell><table:table-cell office:value-type="float" office:value="13800138000" table:formula="of:=13800138000"><text:p>1.38E+10</text:p></table:table-cell><table:table-cell office:value-type="date" office:date-value="2024-03-15"><text:p>15/03/24</text:p></table:table-cell></table:table-row>
<table:table-row table:number-rows-repeated="2"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>
<table:table-row table:number-rows-repeated="2"><table:table-cell office:value-type="float" office:value="0.5" calcext:value-type="float"><text:p>0.5</text:p></table:table-cell><table:table-cell office:value-type="boolean" office:boolean-value="true"><text:p>TRUE</text:p></table:table-cell><table:table-cell office:value-type="date" office:date-value="2023-12-01T09:30:15"><text:p>x</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell table:formula="of:=1/0" office:value-type="string" office:string-value="" calcext:value-type="error"><text:p>#DIV/0!</text:p></table:table-cell><table:covered-table-cell/><table:table-cell office:value-type="time" office:time-value="PT10H05M00S"><text:p>10:05</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>第一段</text:p><text:p>第二段</text:p></table:table-cell></table:table-row>
<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>
</table:table>
<table:table table:name="第二页"><table:table-row><table:table-cell office:value-type="string"><text:p>不读</text:p></table:table-cell></table:table-row></table:table>"#;

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

    #[test]
    fn csv_in_utf8_with_bom_and_gbk_reads_with_true_row_numbers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = "公司名称,电话,备注\n北京星辰科技有限公司,13800138000, 重要客户 \n\n,,\n\"上海\n远航\",021-1234,\"说\"\"你好\"\"\"\n深圳,0755\n";
        let expected = [
            row(2, &["北京星辰科技有限公司", "13800138000", "重要客户"]),
            row(5, &["上海\n远航", "021-1234", "说\"你好\""]),
            row(6, &["深圳", "0755", ""]),
        ];
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let crlf = text.replace('\n', "\r\n");
        let cr = text.replace('\n', "\r");
        for (bytes, encoding) in [
            (text.as_bytes().to_vec(), Encoding::Utf8),
            (bom, Encoding::Utf8Bom),
            (gbk.into_owned(), Encoding::Gb18030),
            (crlf.into_bytes(), Encoding::Utf8),
            (cr.into_bytes(), Encoding::Utf8),
        ] {
            let path = file(&dir, "客户.csv", &bytes);
            let (headers, rows, summary) =
                read_all(&path, Format::Csv, &Limits::default()).expect("read");
            assert_eq!(headers, strings(&["公司名称", "电话", "备注"]));
            let rows: Vec<Row> = rows
                .into_iter()
                .map(|mut r| {
                    for c in &mut r.cells {
                        *c = c.replace("\r\n", "\n").replace('\r', "\n");
                    }
                    r
                })
                .collect();
            assert_eq!(rows, expected);
            assert_eq!(summary.encoding, Some(encoding));
            assert_eq!(summary.declared_rows, None);
            assert_eq!(
                estimate_rows(&path, Format::Csv, &Limits::default()),
                Some(6)
            );
        }
    }

    #[test]
    fn csv_mixing_encodings_fails_with_the_line_even_late_in_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (gbk_line, _, _) = encoding_rs::GBK.encode("上海远航物流,021\n");
        // Past the first MiB that detection looks at.
        let mut utf8 = String::from("公司名称,电话\n");
        while utf8.len() < 1_200_000 {
            utf8.push_str("北京星辰科技有限公司,010-88888888\n");
        }
        let lines = utf8.matches('\n').count() as u64;
        let late = [utf8.as_bytes(), &gbk_line].concat();
        let path = file(&dir, "late.csv", &late);
        let err = read_all(&path, Format::Csv, &Limits::default()).expect_err("mixed");
        assert!(
            matches!(err, ReadError::MixedEncodings { line } if line == lines + 1),
            "{err:?}"
        );
        assert!(
            err.message("zh-CN")
                .contains(&format!("第 {} 行", lines + 1))
        );
        // GBK first, a UTF-8 line later.
        let (gbk, _, _) = encoding_rs::GBK.encode("公司名称,电话\n北京星辰,010\n");
        let mixed = [&gbk, "上海远航,021\n".as_bytes()].concat();
        let path = file(&dir, "mixed.csv", &mixed);
        let err = read_all(&path, Format::Csv, &Limits::default()).expect_err("mixed");
        // As sniff::detect reports it: the first line that is not UTF-8.
        assert!(
            matches!(err, ReadError::MixedEncodings { line: 1 }),
            "{err:?}"
        );
        // ASCII for over a MiB, then GBK: one encoding, decided late.
        let mut ascii = String::from("name,phone\n");
        while ascii.len() < 1_200_000 {
            ascii.push_str("ACME Ltd,010-88888888\n");
        }
        let late_gbk = [ascii.as_bytes(), &gbk_line].concat();
        let path = file(&dir, "late-gbk.csv", &late_gbk);
        let (_, rows, summary) = read_all(&path, Format::Csv, &Limits::default()).expect("read");
        assert_eq!(summary.encoding, Some(Encoding::Gb18030));
        assert_eq!(
            rows.last().map(|r| r.cells.clone()),
            Some(strings(&["上海远航物流", "021"]))
        );
    }

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

    /// Rewrites the first worksheet's XML of a generated xlsx.
    fn patch_sheet(xlsx: &[u8], patch: impl Fn(&str) -> String) -> Vec<u8> {
        let entries: Vec<(String, Vec<u8>)> = unzip(xlsx)
            .into_iter()
            .map(|(name, data)| {
                if name == "xl/worksheets/sheet1.xml" {
                    let xml = String::from_utf8(data).expect("utf-8");
                    (name, patch(&xml).into_bytes())
                } else {
                    (name, data)
                }
            })
            .collect();
        let refs: Vec<(&str, &[u8])> = entries
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        zip_bytes(&refs)
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

    // ---- xls: a minimal BIFF8 workbook in a compound file, built by hand ----

    fn record(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut r = typ.to_le_bytes().to_vec();
        r.extend_from_slice(&(data.len() as u16).to_le_bytes());
        r.extend_from_slice(data);
        r
    }

    fn bof(dt: u16) -> Vec<u8> {
        let mut d = vec![0u8; 16];
        d[0..2].copy_from_slice(&0x0600u16.to_le_bytes());
        d[2..4].copy_from_slice(&dt.to_le_bytes());
        record(0x0809, &d)
    }

    fn label(row: u16, col: u16, text: &str) -> Vec<u8> {
        let utf16: Vec<u16> = text.encode_utf16().collect();
        let mut d = Vec::new();
        d.extend_from_slice(&row.to_le_bytes());
        d.extend_from_slice(&col.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&(utf16.len() as u16).to_le_bytes());
        d.push(1);
        for u in utf16 {
            d.extend_from_slice(&u.to_le_bytes());
        }
        record(0x0204, &d)
    }

    fn number(row: u16, col: u16, v: f64) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&row.to_le_bytes());
        d.extend_from_slice(&col.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&v.to_le_bytes());
        record(0x0203, &d)
    }

    fn dimensions(rows: u32, cols: u16) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&0u32.to_le_bytes());
        d.extend_from_slice(&rows.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&cols.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        record(0x0200, &d)
    }

    /// A workbook stream with one sheet holding `cells` (records).
    fn biff(dims: (u32, u16), cells: &[Vec<u8>]) -> Vec<u8> {
        let name = b"Sheet1";
        let globals_len = bof(0x0005).len() + (4 + 8 + name.len()) + 4;
        let mut s = bof(0x0005);
        let mut sheet = vec![0u8; 8];
        sheet[0..4].copy_from_slice(&(globals_len as u32).to_le_bytes());
        sheet[6] = name.len() as u8;
        sheet.extend_from_slice(name);
        s.extend(record(0x0085, &sheet));
        s.extend(record(0x000A, &[]));
        assert_eq!(s.len(), globals_len);
        s.extend(bof(0x0010));
        s.extend(dimensions(dims.0, dims.1));
        for c in cells {
            s.extend_from_slice(c);
        }
        s.extend(record(0x000A, &[]));
        // At least 4096 bytes: a regular (not mini) stream.
        s.resize(s.len().max(4096), 0);
        s
    }

    /// A version-3 compound file: sector 0 FAT, sector 1 directory, then the stream.
    fn cfb(stream: &[u8], patch_fat: impl Fn(&mut Vec<u32>)) -> Vec<u8> {
        let sectors = stream.len().div_ceil(512);
        let mut header = vec![0u8; 512];
        header[0..8].copy_from_slice(super::OLE_MAGIC);
        header[24..26].copy_from_slice(&0x003Eu16.to_le_bytes());
        header[26..28].copy_from_slice(&3u16.to_le_bytes());
        header[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
        header[30..32].copy_from_slice(&9u16.to_le_bytes());
        header[32..34].copy_from_slice(&6u16.to_le_bytes());
        header[44..48].copy_from_slice(&1u32.to_le_bytes());
        header[48..52].copy_from_slice(&1u32.to_le_bytes());
        header[56..60].copy_from_slice(&4096u32.to_le_bytes());
        header[60..64].copy_from_slice(&super::ENDOFCHAIN.to_le_bytes());
        header[68..72].copy_from_slice(&super::ENDOFCHAIN.to_le_bytes());
        for i in 0..109 {
            let v: u32 = if i == 0 { 0 } else { 0xFFFF_FFFF };
            header[76 + i * 4..80 + i * 4].copy_from_slice(&v.to_le_bytes());
        }
        let mut fat = vec![0xFFFF_FFFFu32; 128];
        fat[0] = 0xFFFF_FFFD;
        fat[1] = super::ENDOFCHAIN;
        for i in 0..sectors {
            fat[2 + i] = if i + 1 == sectors {
                super::ENDOFCHAIN
            } else {
                (3 + i) as u32
            };
        }
        patch_fat(&mut fat);
        let mut out = header;
        for v in fat {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let dir_entry = |name: &str, typ: u8, child: u32, start: u32, size: u32| {
            let mut d = vec![0u8; 128];
            let utf16: Vec<u16> = name.encode_utf16().chain([0]).collect();
            for (i, u) in utf16.iter().enumerate() {
                d[i * 2..i * 2 + 2].copy_from_slice(&u.to_le_bytes());
            }
            d[64..66].copy_from_slice(&((utf16.len() * 2) as u16).to_le_bytes());
            d[66] = typ;
            d[67] = 1;
            d[68..72].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
            d[72..76].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
            d[76..80].copy_from_slice(&child.to_le_bytes());
            d[116..120].copy_from_slice(&start.to_le_bytes());
            d[120..124].copy_from_slice(&size.to_le_bytes());
            d
        };
        out.extend(dir_entry("Root Entry", 5, 1, super::ENDOFCHAIN, 0));
        out.extend(dir_entry(
            "Workbook",
            2,
            0xFFFF_FFFF,
            2,
            stream.len() as u32,
        ));
        out.extend(vec![0u8; 256]);
        out.extend_from_slice(stream);
        out.resize(512 + 1024 + sectors * 512, 0);
        out
    }

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
