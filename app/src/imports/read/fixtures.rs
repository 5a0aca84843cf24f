//! Small files of every format for the readers' unit tests: an xlsx (shared or inline
//! strings), an ods, a hand-built BIFF8 workbook in a compound file, and ways to break them.

use std::io::{Cursor, Write as _};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{ExcelDateTime, Formula, Workbook};
use zip::write::SimpleFileOptions;

use super::kind::ODS_MIMETYPE;
use super::ole::{ENDOFCHAIN, OLE_MAGIC};
use super::{Format, Limits, ReadError, Row, Summary, read};

/// Reads `path` fully: (headers, rows, summary).
pub(super) fn read_all(
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

pub(super) fn strings(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

pub(super) fn row(number: u64, cells: &[&str]) -> Row {
    Row {
        number,
        cells: strings(cells),
    }
}

pub(super) fn file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

/// A zip of `(name, bytes)` entries, deflated (the first one stored, as ods wants).
pub(super) fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
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
pub(super) fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
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

pub(super) fn sample_xlsx(constant_memory: bool) -> Vec<u8> {
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

pub(super) fn ods(content: &str) -> Vec<u8> {
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
        ("mimetype", ODS_MIMETYPE),
        ("META-INF/manifest.xml", manifest.as_bytes()),
        ("content.xml", content.as_bytes()),
    ])
}

pub(super) const ODS_SHEET: &str = r#"<table:table table:name="客户">
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

/// Rewrites the first worksheet's XML of a generated xlsx.
pub(super) fn patch_sheet(xlsx: &[u8], patch: impl Fn(&str) -> String) -> Vec<u8> {
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

// ---- xls: a minimal BIFF8 workbook in a compound file, built by hand ----

pub(super) fn record(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut r = typ.to_le_bytes().to_vec();
    r.extend_from_slice(&(data.len() as u16).to_le_bytes());
    r.extend_from_slice(data);
    r
}

pub(super) fn bof(dt: u16) -> Vec<u8> {
    let mut d = vec![0u8; 16];
    d[0..2].copy_from_slice(&0x0600u16.to_le_bytes());
    d[2..4].copy_from_slice(&dt.to_le_bytes());
    record(0x0809, &d)
}

pub(super) fn label(row: u16, col: u16, text: &str) -> Vec<u8> {
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

pub(super) fn number(row: u16, col: u16, v: f64) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&row.to_le_bytes());
    d.extend_from_slice(&col.to_le_bytes());
    d.extend_from_slice(&0u16.to_le_bytes());
    d.extend_from_slice(&v.to_le_bytes());
    record(0x0203, &d)
}

pub(super) fn dimensions(rows: u32, cols: u16) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&0u32.to_le_bytes());
    d.extend_from_slice(&rows.to_le_bytes());
    d.extend_from_slice(&0u16.to_le_bytes());
    d.extend_from_slice(&cols.to_le_bytes());
    d.extend_from_slice(&0u16.to_le_bytes());
    record(0x0200, &d)
}

/// A workbook stream with one sheet holding `cells` (records).
pub(super) fn biff(dims: (u32, u16), cells: &[Vec<u8>]) -> Vec<u8> {
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
pub(super) fn cfb(stream: &[u8], patch_fat: impl Fn(&mut Vec<u32>)) -> Vec<u8> {
    let sectors = stream.len().div_ceil(512);
    let mut header = vec![0u8; 512];
    header[0..8].copy_from_slice(OLE_MAGIC);
    header[24..26].copy_from_slice(&0x003Eu16.to_le_bytes());
    header[26..28].copy_from_slice(&3u16.to_le_bytes());
    header[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
    header[30..32].copy_from_slice(&9u16.to_le_bytes());
    header[32..34].copy_from_slice(&6u16.to_le_bytes());
    header[44..48].copy_from_slice(&1u32.to_le_bytes());
    header[48..52].copy_from_slice(&1u32.to_le_bytes());
    header[56..60].copy_from_slice(&4096u32.to_le_bytes());
    header[60..64].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
    header[68..72].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
    for i in 0..109 {
        let v: u32 = if i == 0 { 0 } else { 0xFFFF_FFFF };
        header[76 + i * 4..80 + i * 4].copy_from_slice(&v.to_le_bytes());
    }
    let mut fat = vec![0xFFFF_FFFFu32; 128];
    fat[0] = 0xFFFF_FFFD;
    fat[1] = ENDOFCHAIN;
    for i in 0..sectors {
        fat[2 + i] = if i + 1 == sectors {
            ENDOFCHAIN
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
    out.extend(dir_entry("Root Entry", 5, 1, ENDOFCHAIN, 0));
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
