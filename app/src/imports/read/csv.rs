//! CSV: the `csv` crate over a streaming line decoder that checks and decodes every line
//! in the encoding found so far, so a file that switches encoding fails on the line where
//! it does (see the module docs of [`super`]).

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

use super::error::corrupt;
use super::rows::Rows;
use super::{Limits, ReadError, Summary};
use crate::imports::sniff::{self, Encoding, SniffError};

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

pub(super) fn read(
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

/// The data rows of a CSV file, counted from its line ends.
pub(super) fn count_rows(mut file: File) -> Option<u64> {
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
    Some(lines.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use crate::imports::read::fixtures::{file, read_all, row, strings};
    use crate::imports::read::{Format, Limits, ReadError, Row, estimate_rows};
    use crate::imports::sniff::Encoding;

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
}
