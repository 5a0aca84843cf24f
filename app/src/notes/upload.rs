//! Reading the add-note form (`multipart/form-data`) with its limits, and making the
//! uploader's file names and media types safe to store and to send back.
//!
//! The body is streamed, never buffered whole: the text is capped, each file is kept only
//! up to [`MAX_FILE_BYTES`] (the rest of a larger one is read and dropped, so the browser
//! gets the error page instead of a reset connection), and the whole request may not
//! exceed [`MAX_REQUEST_BYTES`].

use bytes::{Bytes, BytesMut};
use poem::{Body, Request};

use crate::error::{AppError, AppResult};

/// Largest attachment.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Most attachments on one note.
pub const MAX_FILES: usize = 5;
/// Longest note text, in characters.
pub const MAX_BODY_CHARS: usize = 10_000;
/// Most bytes of text read (four per character, with room for CRLFs).
const MAX_BODY_BYTES: usize = 4 * MAX_BODY_CHARS + 1024;
/// Largest request: the files at their limits plus the text and the multipart framing.
pub const MAX_REQUEST_BYTES: u64 = (MAX_FILES * MAX_FILE_BYTES + 256 * 1024) as u64;
/// Longest stored file name, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 200;

/// Field names of the form.
pub const BODY_FIELD: &str = "body";
/// See [`BODY_FIELD`].
pub const FILES_FIELD: &str = "files";

/// One uploaded file, within the limits.
#[derive(Debug)]
pub struct UploadedFile {
    /// Sanitised display name.
    pub file_name: String,
    /// Sanitised media type.
    pub content_type: String,
    /// The content.
    pub bytes: Bytes,
}

/// What was wrong with an upload (the text is kept regardless).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// This file is larger than [`MAX_FILE_BYTES`].
    FileTooLarge(String),
    /// More than [`MAX_FILES`] files.
    TooManyFiles,
    /// The request is larger than [`MAX_REQUEST_BYTES`]; reading stopped there.
    RequestTooLarge,
}

/// The submitted form.
#[derive(Debug, Default)]
pub struct Upload {
    /// The text as typed (possibly cut at [`MAX_BODY_BYTES`]).
    pub body: String,
    /// The text was longer than could be read.
    pub body_cut: bool,
    /// The files that were within the limits.
    pub files: Vec<UploadedFile>,
    /// What went wrong.
    pub problems: Vec<Problem>,
}

/// Reads the form. A body that is not a well-formed multipart form is a 400.
pub async fn read(req: &Request, body: Body) -> AppResult<Upload> {
    let boundary = req
        .content_type()
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or(AppError::BadRequest)?;
    let declared_too_large = req
        .header(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > MAX_REQUEST_BYTES);
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(MAX_REQUEST_BYTES));
    let mut parts =
        multer::Multipart::with_constraints(body.into_bytes_stream(), boundary, constraints);
    let mut upload = Upload::default();
    let mut chosen = 0;
    loop {
        let mut field = match parts.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => return stop(upload, err),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == BODY_FIELD {
            let (bytes, cut) = match read_capped(&mut field, MAX_BODY_BYTES).await {
                Ok(read) => read,
                Err(err) => return stop(upload, err),
            };
            let text = String::from_utf8_lossy(&bytes);
            // PostgreSQL text cannot hold NUL, and no browser sends one from a textarea.
            if text.contains('\0') {
                return Err(AppError::BadRequest);
            }
            upload.body.push_str(&text);
            upload.body_cut |= cut;
        } else if name == FILES_FIELD && field.file_name().is_some() {
            if declared_too_large {
                // Keep the text that came first, but do not read tens of MiB to refuse them.
                upload.problems.push(Problem::RequestTooLarge);
                return Ok(upload);
            }
            let raw_name = field.file_name().unwrap_or_default().to_owned();
            let content_type = field
                .content_type()
                .map(|m| m.essence_str().to_owned())
                .unwrap_or_default();
            let (bytes, too_large) = match read_capped(&mut field, MAX_FILE_BYTES).await {
                Ok(read) => read,
                Err(err) => return stop(upload, err),
            };
            // A file input left empty still sends a part, with no name and no content.
            if raw_name.is_empty() && bytes.is_empty() {
                continue;
            }
            chosen += 1;
            let file_name = sanitize_file_name(&raw_name);
            if too_large {
                upload.problems.push(Problem::FileTooLarge(file_name));
            } else if chosen > MAX_FILES {
                if !upload.problems.contains(&Problem::TooManyFiles) {
                    upload.problems.push(Problem::TooManyFiles);
                }
            } else {
                upload.files.push(UploadedFile {
                    file_name,
                    content_type: sanitize_content_type(&content_type),
                    bytes,
                });
            }
        } else if let Err(err) = read_capped(&mut field, 0).await {
            // `_csrf` (checked by the middleware) and anything unknown: read and dropped.
            return stop(upload, err);
        }
    }
    Ok(upload)
}

/// Ends reading on a multipart error: too large keeps what was read, anything else is a
/// malformed request.
fn stop(mut upload: Upload, err: multer::Error) -> AppResult<Upload> {
    match err {
        multer::Error::StreamSizeExceeded { .. } => {
            upload.problems.push(Problem::RequestTooLarge);
            upload.files.clear();
            Ok(upload)
        }
        _ => Err(AppError::BadRequest),
    }
}

/// Reads a field to its end, keeping at most `cap` bytes; also says whether it had more.
async fn read_capped(field: &mut multer::Field<'_>, cap: usize) -> multer::Result<(Bytes, bool)> {
    let mut kept = BytesMut::new();
    let mut over = false;
    while let Some(chunk) = field.chunk().await? {
        if over {
            continue;
        }
        if kept.len() + chunk.len() > cap {
            over = true;
            kept.clear();
        } else {
            kept.extend_from_slice(&chunk);
        }
    }
    Ok((kept.freeze(), over))
}

/// A display name for an uploaded file: the last path component of what the browser
/// sent, without control, bidi or path characters, at most [`MAX_FILE_NAME_CHARS`]
/// characters (keeping the extension), never empty.
pub fn sanitize_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|&c| {
            !c.is_control()
                && !matches!(c, '"' | '*' | ':' | '<' | '>' | '?' | '|')
                && !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        return "file".to_owned();
    }
    if cleaned.chars().count() <= MAX_FILE_NAME_CHARS {
        return cleaned.to_owned();
    }
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.chars().count() <= 10 => {
            (stem, format!(".{ext}"))
        }
        _ => (cleaned, String::new()),
    };
    let keep = MAX_FILE_NAME_CHARS - ext.chars().count();
    let mut name: String = stem.chars().take(keep).collect();
    name = name.trim_end().to_owned();
    name.push_str(&ext);
    name
}

/// The media type to store: the browser's `type/subtype` when it is well-formed, else
/// `application/octet-stream`.
pub fn sanitize_content_type(raw: &str) -> String {
    let lower = raw.trim().to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    match lower.split_once('/') {
        Some((kind, sub)) if lower.len() <= 100 && token(kind) && token(sub) => lower,
        _ => "application/octet-stream".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_controls_and_bidi_tricks_and_stay_short() {
        assert_eq!(sanitize_file_name("合同草案.pdf"), "合同草案.pdf");
        assert_eq!(
            sanitize_file_name("C:\\Users\\li\\报价单.xlsx"),
            "报价单.xlsx"
        );
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_file_name("a\u{202E}fdp.exe"), "afdp.exe");
        assert_eq!(sanitize_file_name("\"quoted\"\r\n.txt"), "quoted.txt");
        assert_eq!(sanitize_file_name(".hidden"), "hidden");
        assert_eq!(sanitize_file_name("   "), "file");
        assert_eq!(sanitize_file_name(""), "file");
        let long = format!("{}.docx", "长".repeat(300));
        let cut = sanitize_file_name(&long);
        assert_eq!(cut.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(cut.ends_with(".docx"), "{cut}");
    }

    #[test]
    fn content_types_are_kept_only_when_well_formed() {
        assert_eq!(sanitize_content_type("image/PNG"), "image/png");
        assert_eq!(
            sanitize_content_type(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            ),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert_eq!(sanitize_content_type(""), "application/octet-stream");
        assert_eq!(
            sanitize_content_type("text/html\r\nX-Evil: 1"),
            "application/octet-stream"
        );
        assert_eq!(
            sanitize_content_type("nonsense"),
            "application/octet-stream"
        );
    }
}
