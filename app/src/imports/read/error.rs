//! Why a file cannot be imported: one [`ReadError`] variant per reason, and its message
//! in the user's language.

use std::fmt;
use std::io;

use super::Format;
use crate::imports::sniff::SniffError;

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

pub(super) fn corrupt(detail: impl fmt::Display) -> ReadError {
    ReadError::Corrupt(detail.to_string())
}
