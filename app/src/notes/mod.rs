//! Notes (备注) with file attachments, on companies and on opportunities: a timeline on the
//! record's page, newest first. A note on an opportunity is also a note of its company
//! (`company_id` is the opportunity's company) and shows in the company's timeline too.
//!
//! Anyone who can see the record (its [`Host`]) can read and add its notes and download
//! their files; a note can be deleted by its author or by whoever manages the record. The
//! same handlers serve both hosts: each route names its [`HostKind`].
//!
//! Files go to the [`crate::files::FileStore`] under keys the app generates; the rows
//! only describe them. Deleting a note, an opportunity or a company removes the rows in
//! its transaction and the files after the commit (best-effort, logged): a crash in
//! between leaves orphan files that no row points at. A crash after storing an upload's
//! files but before its commit does the same.

pub mod create;
pub mod delete;
pub mod download;
pub mod list;
pub mod model;
pub mod upload;
pub mod views;

use crate::{
    customers::{
        model::{self as companies, Company},
        visibility::Scope,
    },
    db::TenantTx,
    error::AppResult,
    ids::{CompanyId, NoteId, OpportunityId, UserId},
    notes::model::Note,
    opportunities::model::{self as opportunities, Opportunity},
    web::{ctx::Ctx, forms::Errors, layout::Module},
};

/// Notes per page of the timeline.
pub const PAGE_SIZE: i64 = 20;

/// What kind of record a route's `:id` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKind {
    /// `/customers/:id/…`.
    Company,
    /// `/opportunities/:id/…`.
    Opportunity,
}

/// The record notes are written on, found through the viewer's scope.
#[derive(Clone, Debug)]
pub struct Host {
    /// The company (of the opportunity, for an opportunity).
    pub company: CompanyId,
    /// The opportunity, when the notes are an opportunity's.
    pub opportunity: Option<OpportunityId>,
    /// The record's name.
    pub name: String,
    /// Its owner (who, with their managers and admins, may delete any of its notes).
    pub owner: UserId,
}

impl Host {
    /// A company's notes (its opportunities' included).
    pub fn of_company(c: &Company) -> Self {
        Self {
            company: c.id,
            opportunity: None,
            name: c.name.clone(),
            owner: c.owner_id,
        }
    }

    /// An opportunity's notes.
    pub fn of_opportunity(o: &Opportunity) -> Self {
        Self {
            company: o.company_id,
            opportunity: Some(o.id),
            name: o.name.clone(),
            owner: o.owner_id,
        }
    }

    /// The visible record `id` of `kind`, or `NotFound`.
    pub async fn find(
        tx: &mut TenantTx,
        scope: &Scope,
        kind: HostKind,
        id: i64,
    ) -> AppResult<Self> {
        Ok(match kind {
            HostKind::Company => {
                Self::of_company(&companies::find(tx, scope, CompanyId(id)).await?)
            }
            HostKind::Opportunity => {
                Self::of_opportunity(&opportunities::find(tx, scope, OpportunityId(id)).await?)
            }
        })
    }

    /// The record's page.
    pub fn path(&self) -> String {
        match self.opportunity {
            Some(id) => format!("/opportunities/{id}"),
            None => format!("/customers/{}", self.company),
        }
    }

    /// The id of the notes section on the record's page.
    pub fn section_id(&self) -> &'static str {
        match self.opportunity {
            Some(_) => "opportunity-notes",
            None => "company-notes",
        }
    }

    /// The left-menu module of the record's pages.
    pub fn module(&self) -> Module {
        match self.opportunity {
            Some(_) => Module::Opportunities,
            None => Module::Customers,
        }
    }

    /// The tab the record's pages sit under.
    pub fn tab(&self) -> &'static str {
        match self.opportunity {
            Some(_) => "/opportunities",
            None => "/customers",
        }
    }
}

/// One page of a record's timeline and what the viewer may do with it.
#[derive(Debug)]
pub struct Timeline {
    /// The notes, newest first.
    pub notes: Vec<Note>,
    /// The `before` cursor of the next (older) page, if there is one.
    pub more: Option<NoteId>,
    /// The viewer.
    viewer: UserId,
    /// The viewer manages the record (and so may delete any of its notes).
    manages: bool,
}

impl Timeline {
    /// Loads the newest page of notes of a record the viewer can see (`host` was found
    /// through `scope`), or the page before `before`.
    pub async fn load(
        tx: &mut TenantTx,
        ctx: &Ctx,
        scope: &Scope,
        host: &Host,
        before: Option<NoteId>,
    ) -> AppResult<Self> {
        let (notes, more) = model::timeline(tx, host, before, PAGE_SIZE).await?;
        let more = more.then(|| notes.last().map(|n| n.id)).flatten();
        Ok(Self {
            notes,
            more,
            viewer: ctx.user,
            manages: scope.can_manage(host.owner),
        })
    }

    /// True when the viewer may delete `note`.
    pub fn may_delete(&self, note: &Note) -> bool {
        may_delete(self.viewer, self.manages, note)
    }
}

/// A note can be deleted by its author and by whoever manages its record.
pub fn may_delete(viewer: UserId, manages: bool, note: &Note) -> bool {
    manages || note.author_id == viewer
}

/// What the add-note form shows: the text typed so far and the errors.
#[derive(Debug, Default)]
pub struct Draft {
    /// The text.
    pub body: String,
    /// Errors by field (`note-body`, `note-files`).
    pub errors: Errors,
}
