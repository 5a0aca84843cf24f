//! GET /customers/:id/files/:attachment_id (and /opportunities/:id/files/…) — sends a
//! note's file to whoever can see the record, always as a download: `Content-Disposition: attachment` with an RFC 6266 file
//! name (an ASCII fallback plus the UTF-8 name, so Chinese names survive), `nosniff`, and
//! never a type a browser would render as a page of ours.

use poem::{
    Body, IntoResponse, Response, handler,
    http::{HeaderValue, header},
    web::{Data, Path},
};

use crate::{
    customers::visibility::{Scope, View},
    db::TenantTx,
    error::{AppError, AppResult},
    files::FileKey,
    ids::AttachmentId,
    notes::{
        Host, HostKind,
        model::{self, FILE_AREA},
    },
    state::State,
    web::ctx::Ctx,
};

/// GET /customers/:id/files/:attachment_id
#[handler]
pub async fn download(
    ctx: Ctx,
    state: Data<&State>,
    Path((id, attachment_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    send(
        ctx,
        &state,
        HostKind::Company,
        id,
        AttachmentId(attachment_id),
    )
    .await
}

/// GET /opportunities/:id/files/:attachment_id
#[handler]
pub async fn download_of_opportunity(
    ctx: Ctx,
    state: Data<&State>,
    Path((id, attachment_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    send(
        ctx,
        &state,
        HostKind::Opportunity,
        id,
        AttachmentId(attachment_id),
    )
    .await
}

async fn send(
    ctx: Ctx,
    state: &State,
    kind: HostKind,
    id: i64,
    attachment: AttachmentId,
) -> AppResult<Response> {
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let host = Host::find(&mut tx, &scope, kind, id).await?;
    let file = model::find_attachment(&mut tx, &host, attachment).await?;
    tx.commit().await?;
    let key = FileKey::parse(ctx.tenant, FILE_AREA, &file.storage_key)?;
    let Some(stored) = state.files.get_stream(&key).await? else {
        tracing::error!(%key, "an attachment's file is missing from the file store");
        return Err(AppError::NotFound);
    };
    Ok(Response::builder()
        .header(
            header::CONTENT_TYPE,
            served_content_type(&file.content_type),
        )
        .header(
            header::CONTENT_DISPOSITION,
            content_disposition(&file.file_name),
        )
        .header(header::CONTENT_LENGTH, stored.size)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CACHE_CONTROL, "private, no-store")
        .body(Body::from_bytes_stream(stored.chunks))
        .into_response())
}

/// The stored type, unless a browser could treat it as a document of our origin (HTML,
/// XML, SVG, scripts): those go out as opaque bytes.
pub fn served_content_type(stored: &str) -> HeaderValue {
    let active = stored.contains("html")
        || stored.contains("xml")
        || stored.contains("javascript")
        || stored.contains("ecmascript")
        || stored == "text/css";
    let value = if active {
        "application/octet-stream"
    } else {
        stored
    };
    HeaderValue::from_str(value)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded name>`
/// (RFC 6266 with RFC 8187 encoding).
pub fn content_disposition(name: &str) -> HeaderValue {
    let fallback: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        // RFC 8187 attr-char.
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_names_get_an_ascii_fallback_and_a_utf8_name() {
        assert_eq!(
            content_disposition("报价单 v2.xlsx")
                .to_str()
                .expect("ascii header"),
            "attachment; filename=\"___ v2.xlsx\"; filename*=UTF-8''%E6%8A%A5%E4%BB%B7%E5%8D%95%20v2.xlsx"
        );
        assert_eq!(
            content_disposition("a\"b\\c%.txt")
                .to_str()
                .expect("ascii header"),
            "attachment; filename=\"a_b_c_.txt\"; filename*=UTF-8''a%22b%5Cc%25.txt"
        );
    }

    #[test]
    fn documents_a_browser_would_render_are_sent_as_bytes() {
        for active in [
            "text/html",
            "application/xhtml+xml",
            "image/svg+xml",
            "text/xml",
            "text/javascript",
        ] {
            assert_eq!(
                served_content_type(active),
                "application/octet-stream",
                "{active}"
            );
        }
        assert_eq!(served_content_type("application/pdf"), "application/pdf");
        assert_eq!(served_content_type("image/png"), "image/png");
    }
}
