//! The notes section of a company's or an opportunity's page: the add-note form and the
//! timeline, newest first. The detail pages, the notes page and the form's error page all
//! draw it with [`section`]. In a company's timeline, a note written on one of its
//! opportunities names that opportunity.

use maud::{Markup, html};

use crate::{
    notes::{
        Draft, Host, Timeline,
        model::Attachment,
        upload::{BODY_FIELD, FILES_FIELD, MAX_BODY_CHARS, MAX_FILE_BYTES, MAX_FILES},
    },
    web::{ctx::Ctx, layout::csrf_field},
};

/// The notes card: form (with the draft's text and errors) and timeline.
pub fn section(ctx: &Ctx, host: &Host, timeline: &Timeline, draft: &Draft) -> Markup {
    let base = host.path();
    let limit = ctx.locale.tf(
        "notes.limits",
        &[
            ("files", &MAX_FILES.to_string()),
            ("size", &human_size(MAX_FILE_BYTES as i64)),
        ],
    );
    let body_error = draft.errors.get("note-body");
    let files_error = draft.errors.get("note-files");
    html! {
        section.card.mb-3 id=(host.section_id()) {
            div.card-header { (ctx.t("notes.title")) }
            div.card-body {
                form.note-form method="post" action={(base) "/notes"}
                    enctype="multipart/form-data" novalidate {
                    // First, so the CSRF check finds it without reading the files.
                    (csrf_field(&ctx.csrf))
                    div.mb-2 {
                        label.visually-hidden for="f-note-body" { (ctx.t("notes.body")) }
                        textarea.form-control.is-invalid[body_error.is_some()] #f-note-body
                            name=(BODY_FIELD) rows="3" maxlength=(MAX_BODY_CHARS)
                            placeholder=(ctx.t("notes.placeholder"))
                            aria-invalid=[body_error.map(|_| "true")]
                            aria-describedby=[body_error.map(|_| "f-note-body-error")] { (draft.body) }
                        @if let Some(error) = body_error {
                            div.invalid-feedback #f-note-body-error { (error) }
                        }
                    }
                    div.mb-2 {
                        label.form-label.small.mb-1 for="f-note-files" { (ctx.t("notes.attach")) }
                        input.form-control.form-control-sm.is-invalid[files_error.is_some()] #f-note-files
                            type="file" name=(FILES_FIELD) multiple
                            aria-invalid=[files_error.map(|_| "true")]
                            aria-describedby=(if files_error.is_some() { "f-note-files-help f-note-files-error" } else { "f-note-files-help" });
                        div.form-text #f-note-files-help { (limit) }
                        @if let Some(error) = files_error {
                            div.invalid-feedback #f-note-files-error { (error) }
                        }
                    }
                    button.btn.btn-sm.btn-primary type="submit" { (ctx.t("notes.add")) }
                }
            }
            @if timeline.notes.is_empty() {
                div.card-body.empty-state.pt-0 { (ctx.t("notes.empty")) }
            } @else {
                ol.list-group.list-group-flush.notes-timeline {
                    @for note in &timeline.notes {
                        li.list-group-item id={"note-" (note.id)} {
                            div.d-flex.justify-content-between.align-items-baseline.gap-2 {
                                div.small.text-secondary {
                                    span.fw-semibold.text-body.note-author { (note.author_name) }
                                    " · "
                                    time datetime=(note.created_at.to_rfc3339()) { (ctx.datetime(note.created_at)) }
                                }
                                @if timeline.may_delete(note) {
                                    a.small.link-danger.note-delete href={(base) "/notes/" (note.id) "/delete"} {
                                        (ctx.t("common.delete"))
                                    }
                                }
                            }
                            @if let (None, Some((id, name))) = (host.opportunity, &note.opportunity) {
                                div.small.note-opportunity {
                                    (ctx.t("notes.on_opportunity")) " "
                                    a href={"/opportunities/" (id)} { (name) }
                                }
                            }
                            @if !note.body.is_empty() {
                                div.note-body.mt-1 { (note.body) }
                            }
                            @if !note.attachments.is_empty() {
                                ul.list-unstyled.mb-0.mt-1.note-files {
                                    @for file in &note.attachments {
                                        li { (attachment_link(&base, file)) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(before) = timeline.more {
                    div.card-body.py-2 {
                        a.small href={(base) "/notes?before=" (before)} { (ctx.t("notes.older")) }
                    }
                }
            }
        }
    }
}

/// A download link with the file's name and size, under the record's page `base`.
pub fn attachment_link(base: &str, file: &Attachment) -> Markup {
    html! {
        span.note-file {
            // A drawn paperclip (Bootstrap Icons, MIT): it needs no emoji font.
            svg.note-file-icon width="14" height="14" viewBox="0 0 16 16" fill="currentColor" aria-hidden="true" {
                path d="M4.5 3a2.5 2.5 0 0 1 5 0v9a1.5 1.5 0 0 1-3 0V5a.5.5 0 0 1 1 0v7a.5.5 0 0 0 1 0V3a1.5 1.5 0 1 0-3 0v9a2.5 2.5 0 0 0 5 0V5a.5.5 0 0 1 1 0v7a3.5 3.5 0 1 1-7 0z" {}
            }
            " "
            a href={(base) "/files/" (file.id)} download=(file.file_name) { (file.file_name) }
            span.text-secondary.small { " (" (human_size(file.size_bytes)) ")" }
        }
    }
}

/// A size for people: bytes, KB or MB (1024-based, one decimal under 10).
pub fn human_size(bytes: i64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KB {
        format!("{bytes} B")
    } else if b < KB * KB {
        format!("{:.0} KB", (b / KB).max(1.0))
    } else if b < 10.0 * KB * KB {
        format!("{:.1} MB", b / KB / KB)
    } else {
        format!("{:.0} MB", b / KB / KB)
    }
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1 KB");
        assert_eq!(human_size(350 * 1024), "350 KB");
        assert_eq!(human_size(1536 * 1024), "1.5 MB");
        assert_eq!(human_size(10 * 1024 * 1024), "10 MB");
    }
}
