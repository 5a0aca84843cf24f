//! Feeds arbitrary bytes to the import readers, with small limits:
//! 1. as a file of every format (magic checks, zip/OLE/BIFF checks, CSV decoding);
//! 2. as the XML parts of an otherwise valid workbook, so mutations reach the XML
//!    readers instead of failing the zip CRC: the xlsx worksheet, the xlsx shared strings
//!    and the ods content.xml.
//!
//! `read` must return (Ok or a ReadError) on every input: never panic, hang or blow up.
#![no_main]

use std::io::{Cursor, Write as _};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Once, OnceLock};

use kehu::imports::read::{Format, Limits, estimate_rows, read};
use libfuzzer_sys::fuzz_target;

fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| std::env::temp_dir().join(format!("kehu-fuzz-{}", std::process::id())))
}

const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;
const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\-mm\-dd"/></numFmts><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>"#;
const SHARED: &str = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="8" uniqueCount="8"><si><t>公司名称</t></si><si><t>电话</t></si><si><r><t>北京</t></r><r><t>星辰</t></r></si><si><t xml:space="preserve"> 上海 </t></si><si><t>_x000D_</t></si><si><t/></si><si><t>a&amp;b</t></si><si><t>x</t></si></sst>"#;
const SHEET: &str = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:B2"/><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" s="1"><v>45000</v></c></row></sheetData></worksheet>"#;
const MANIFEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>"#;

/// A zip of stored entries.
fn zip(entries: &[(&str, &[u8])]) -> Option<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in entries {
        zip.start_file(*name, options).ok()?;
        zip.write_all(bytes).ok()?;
    }
    Some(zip.finish().ok()?.into_inner())
}

fn xlsx(sheet: &[u8], shared: &[u8]) -> Option<Vec<u8>> {
    zip(&[
        ("_rels/.rels", RELS.as_bytes()),
        ("xl/workbook.xml", WORKBOOK.as_bytes()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
        ("xl/styles.xml", STYLES.as_bytes()),
        ("xl/sharedStrings.xml", shared),
        ("xl/worksheets/sheet1.xml", sheet),
    ])
}

fn ods(content: &[u8]) -> Option<Vec<u8>> {
    zip(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("META-INF/manifest.xml", MANIFEST.as_bytes()),
        ("content.xml", content),
    ])
}

fn run(bytes: &[u8], formats: &[Format], limits: &Limits) {
    if std::fs::write(path(), bytes).is_err() {
        return;
    }
    // KEHU_FUZZ_DEBUG=1 prints what each read returned (to check seeds by hand).
    static DEBUG: OnceLock<bool> = OnceLock::new();
    let debug = *DEBUG.get_or_init(|| std::env::var_os("KEHU_FUZZ_DEBUG").is_some());
    for &format in formats {
        let mut rows = 0u64;
        let result = read(
            path(),
            format,
            limits,
            &mut |headers| {
                assert!(headers.len() <= limits.max_columns);
                ControlFlow::Continue(())
            },
            &mut |row| {
                rows += 1;
                assert!(row.cells.len() <= limits.max_columns);
                assert!(rows <= limits.max_rows);
                ControlFlow::Continue(())
            },
        );
        if debug {
            eprintln!("{format:?}: {result:?}, {rows} rows");
        }
        let _ = estimate_rows(path(), format, limits);
    }
}

fuzz_target!(|data: &[u8]| {
    // `read` turns a panic inside calamine into ReadError::Corrupt (catch_unwind).
    // libfuzzer-sys's panic hook aborts before any catch, so put the default hook back:
    // a panic that escapes `read` still unwinds out of here and is reported as a crash.
    static HOOK: Once = Once::new();
    HOOK.call_once(|| drop(std::panic::take_hook()));

    let limits = Limits {
        max_columns: 50,
        max_rows: 1_000,
        max_zip_entries: 100,
        max_uncompressed: 4 << 20,
        max_ratio: 100,
        max_cell_chars: 1_000,
        max_shared_strings: 1 << 20,
    };
    run(data, &Format::ALL, &limits);
    if let Some(bytes) = xlsx(data, SHARED.as_bytes()) {
        run(&bytes, &[Format::Xlsx], &limits);
    }
    if let Some(bytes) = xlsx(SHEET.as_bytes(), data) {
        run(&bytes, &[Format::Xlsx], &limits);
    }
    if let Some(bytes) = ods(data) {
        run(&bytes, &[Format::Ods], &limits);
    }
});
