//! Notes (备注) on companies, with file attachments: a timeline on the company page,
//! newest first. Anyone who can see a company can read and add its notes and download
//! their files; a note can be deleted by its author or by whoever manages the company.
//!
//! Files go to the [`crate::files::FileStore`] under keys the app generates; the rows
//! only describe them. Deleting a note or a company removes the rows in its transaction
//! and the files after the commit (best-effort, logged): a crash in between leaves
//! orphan files that no row points at. A crash after storing an upload's files but before
//! its commit does the same.

pub mod create;
pub mod delete;
pub mod download;
pub mod list;
pub mod model;
pub mod upload;
pub mod views;

use crate::{
    auth::ctx::Ctx,
    customers::{model::Company, visibility::Scope},
    db::TenantTx,
    error::AppResult,
    ids::{NoteId, UserId},
    notes::model::Note,
    web::forms::Errors,
};

/// Notes per page of the timeline.
pub const PAGE_SIZE: i64 = 20;

/// One page of a company's timeline and what the viewer may do with it.
#[derive(Debug)]
pub struct Timeline {
    /// The notes, newest first.
    pub notes: Vec<Note>,
    /// The `before` cursor of the next (older) page, if there is one.
    pub more: Option<NoteId>,
    /// The viewer.
    viewer: UserId,
    /// The viewer manages the company (and so may delete any of its notes).
    manages_company: bool,
}

impl Timeline {
    /// Loads the newest page of notes of a company the viewer can see (`company` was
    /// found through `scope`), or the page before `before`.
    pub async fn load(
        tx: &mut TenantTx,
        ctx: &Ctx,
        scope: &Scope,
        company: &Company,
        before: Option<NoteId>,
    ) -> AppResult<Self> {
        let (notes, more) = model::timeline(tx, company.id, before, PAGE_SIZE).await?;
        let more = more.then(|| notes.last().map(|n| n.id)).flatten();
        Ok(Self {
            notes,
            more,
            viewer: ctx.user,
            manages_company: scope.can_manage(company.owner_id),
        })
    }

    /// True when the viewer may delete `note`.
    pub fn may_delete(&self, note: &Note) -> bool {
        may_delete(self.viewer, self.manages_company, note)
    }
}

/// A note can be deleted by its author and by whoever manages its company.
pub fn may_delete(viewer: UserId, manages_company: bool, note: &Note) -> bool {
    manages_company || note.author_id == viewer
}

/// What the add-note form shows: the text typed so far and the errors.
#[derive(Debug, Default)]
pub struct Draft {
    /// The text.
    pub body: String,
    /// Errors by field (`note-body`, `note-files`).
    pub errors: Errors,
}
