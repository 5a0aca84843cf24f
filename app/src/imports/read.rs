//! PLACEHOLDER until the streaming readers land (branch imports-read): CSV only.

use std::{ops::ControlFlow, path::Path};

/// File formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// xlsx
    Xlsx,
    /// xls
    Xls,
    /// ods
    Ods,
    /// csv
    Csv,
}

impl Format {
    /// Name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Xlsx => "xlsx",
            Self::Xls => "xls",
            Self::Ods => "ods",
            Self::Csv => "csv",
        }
    }
    /// Inverse of as_str.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Xlsx, Self::Xls, Self::Ods, Self::Csv]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
    /// By extension.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Self::parse(&ext)
    }
}

/// Limits.
#[derive(Clone, Debug, Default)]
pub struct Limits {}

/// A row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// 1-based.
    pub number: u64,
    /// Cells.
    pub cells: Vec<String>,
}

/// Summary.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Rows.
    pub rows: u64,
}

/// Error.
#[derive(Debug)]
pub struct ReadError(String);

impl ReadError {
    /// Message.
    pub fn message(&self, _locale: &str) -> String {
        self.0.clone()
    }
}

/// Reads.
pub fn read(
    path: &Path,
    _format: Format,
    _limits: &Limits,
    on_headers: &mut dyn FnMut(&[String]) -> ControlFlow<()>,
    on_row: &mut dyn FnMut(Row) -> ControlFlow<()>,
) -> Result<Summary, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| ReadError(e.to_string()))?;
    let enc = super::sniff::detect(&bytes).map_err(|e| ReadError(format!("{e:?}")))?;
    let text = super::sniff::decode(&bytes, enc);
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut summary = Summary::default();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| ReadError(e.to_string()))?;
        let cells: Vec<String> = rec.iter().map(|c| c.trim().to_owned()).collect();
        if i == 0 {
            if on_headers(&cells).is_break() {
                break;
            }
            continue;
        }
        if cells.iter().all(String::is_empty) {
            continue;
        }
        summary.rows += 1;
        if on_row(Row {
            number: i as u64 + 1,
            cells,
        })
        .is_break()
        {
            break;
        }
    }
    Ok(summary)
}

/// Estimate.
pub fn estimate_rows(path: &Path, _format: Format, _limits: &Limits) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    Some(
        bytes
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            .saturating_sub(1) as u64,
    )
}
