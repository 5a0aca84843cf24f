//! The error report of an import: one `.xlsx` row per refused file row (row number,
//! column, reason), written in constant memory from pages of `import_errors`.

use std::path::Path;

use anyhow::Context;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use rust_xlsxwriter::{Format, Workbook};

use crate::{
    db::{DbPool, TenantTx},
    i18n::Locale,
    ids::{ImportId, TenantId},
    schema::import_errors,
};

/// Rows read per query.
const PAGE: i64 = 5_000;

/// Writes the report of `import` to `dest`; returns the number of error rows.
pub async fn write(
    db: &DbPool,
    tenant: TenantId,
    import: ImportId,
    locale: Locale,
    dest: &Path,
) -> anyhow::Result<u64> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<(i64, String, String)>>(2);
    let headers = [
        locale.t("imports.report_row"),
        locale.t("imports.report_column"),
        locale.t("imports.report_reason"),
    ];
    let path = dest.to_owned();
    let writer = tokio::task::spawn_blocking(move || write_file(&path, &headers, receiver));
    let mut after = 0i64;
    loop {
        let page: Vec<(i64, String, String)> = {
            let mut tx = TenantTx::begin(db, tenant).await?;
            let page = import_errors::table
                .filter(import_errors::tenant_id.eq(tenant))
                .filter(import_errors::import_id.eq(import.0))
                .filter(import_errors::row_no.gt(after))
                .order(import_errors::row_no.asc())
                .limit(PAGE)
                .select((
                    import_errors::row_no,
                    import_errors::column_name,
                    import_errors::reason,
                ))
                .load(&mut *tx)
                .await?;
            tx.commit().await?;
            page
        };
        let Some(last) = page.last() else { break };
        after = last.0;
        let full = page.len() as i64 == PAGE;
        if sender.send(page).await.is_err() || !full {
            break;
        }
    }
    drop(sender);
    writer.await.context("the report writer panicked")?
}

fn write_file(
    path: &Path,
    headers: &[String; 3],
    mut pages: tokio::sync::mpsc::Receiver<Vec<(i64, String, String)>>,
) -> anyhow::Result<u64> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory()?;
    let bold = Format::new().set_bold();
    sheet.set_column_width(0, 10)?;
    sheet.set_column_width(1, 20)?;
    sheet.set_column_width(2, 80)?;
    for (col, header) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, header, &bold)?;
    }
    let mut row: u32 = 0;
    while let Some(page) = pages.blocking_recv() {
        for (row_no, column, reason) in page {
            row += 1;
            if row > 1_048_575 {
                break;
            }
            sheet.write_number(row, 0, row_no as f64)?;
            sheet.write_string(row, 1, crate::exports::write::neutralise(&column))?;
            sheet.write_string(row, 2, crate::exports::write::neutralise(&reason))?;
        }
    }
    book.save(path)?;
    Ok(u64::from(row))
}
