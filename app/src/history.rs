//! Record history (变更记录) and the 最新动态 feed.
//!
//! Every change to a company, its contacts, its notes and its opportunities is written here in the same
//! transaction as the change, with who, when and the values before and after. The
//! company's detail page shows its history; the home page shows the newest events of
//! the companies the user may see (through [`Scope`], like everything else).
//!
//! Imports are recorded as tenant events (`tenant_events`, written by
//! [`crate::imports::history`]): an import is not about one company. The feed merges them
//! in for whoever may see imports. A company's history shows the imports that created,
//! updated or restored it by joining those events to `companies.import_id` and the
//! import's undo snapshots, so an import writes no row per company.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Nullable, Text, Timestamptz},
};
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use crate::{
    customers::visibility::Scope,
    db::TenantTx,
    error::AppResult,
    ids::{CompanyId, ExportId, ImportId, UserId},
    listing::views::grouped,
    schema::{companies, company_events, tenant_events, users},
    web::ctx::Ctx,
};

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The company was created.
    Created,
    /// Its fields changed.
    Updated,
    /// A note was added.
    NoteAdded,
    /// A note was deleted.
    NoteDeleted,
    /// A contact was added.
    ContactAdded,
    /// A contact changed.
    ContactUpdated,
    /// A contact was deleted.
    ContactDeleted,
    /// A tag was added.
    Tagged,
    /// A tag was removed.
    Untagged,
    /// An opportunity was added (subject: its name).
    OpportunityAdded,
    /// An opportunity changed: fields, stage, or back to tracking.
    OpportunityUpdated,
    /// An opportunity was deleted.
    OpportunityDeleted,
    /// An opportunity was won.
    OpportunityWon,
    /// An opportunity was lost.
    OpportunityLost,
}

impl Action {
    /// The database spelling (also the locale key suffix).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::NoteAdded => "note_added",
            Self::NoteDeleted => "note_deleted",
            Self::ContactAdded => "contact_added",
            Self::ContactUpdated => "contact_updated",
            Self::ContactDeleted => "contact_deleted",
            Self::Tagged => "tagged",
            Self::Untagged => "untagged",
            Self::OpportunityAdded => "opportunity_added",
            Self::OpportunityUpdated => "opportunity_updated",
            Self::OpportunityDeleted => "opportunity_deleted",
            Self::OpportunityWon => "opportunity_won",
            Self::OpportunityLost => "opportunity_lost",
        }
    }
}

/// One changed field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// A built-in field's locale key (`company.phone`), or empty for a custom field.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
    /// A custom field's label at the time of the change.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// The value before.
    pub before: String,
    /// The value after.
    pub after: String,
}

impl Change {
    /// A built-in field, named by its locale key.
    pub fn field(key: &str, before: &str, after: &str) -> Self {
        Self {
            field: key.to_owned(),
            label: String::new(),
            before: before.to_owned(),
            after: after.to_owned(),
        }
    }

    /// A custom field, named by its label.
    pub fn custom(label: &str, before: &str, after: &str) -> Self {
        Self {
            field: String::new(),
            label: label.to_owned(),
            before: before.to_owned(),
            after: after.to_owned(),
        }
    }
}

/// Collects the changes between two versions of a record, skipping equal values.
#[derive(Default)]
pub struct Diff(Vec<Change>);

impl Diff {
    /// A built-in field.
    pub fn field(&mut self, key: &str, before: &str, after: &str) -> &mut Self {
        if before != after {
            self.0.push(Change::field(key, before, after));
        }
        self
    }

    /// A custom field.
    pub fn custom(&mut self, label: &str, before: &str, after: &str) -> &mut Self {
        if before != after {
            self.0.push(Change::custom(label, before, after));
        }
        self
    }

    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The changes.
    pub fn into_changes(self) -> Vec<Change> {
        self.0
    }
}

/// Records an event and marks the company active now.
pub async fn record(
    tx: &mut TenantTx,
    company: CompanyId,
    actor: Option<UserId>,
    action: Action,
    subject: &str,
    changes: Vec<Change>,
) -> AppResult<()> {
    let tenant = tx.tenant();
    let subject: String = subject.chars().take(200).collect();
    let changes = serde_json::to_value(changes).map_err(anyhow::Error::from)?;
    diesel::insert_into(company_events::table)
        .values((
            company_events::tenant_id.eq(tenant),
            company_events::company_id.eq(company),
            company_events::actor_id.eq(actor),
            company_events::action.eq(action.as_str()),
            company_events::subject.eq(subject),
            company_events::changes.eq(changes),
        ))
        .execute(&mut **tx)
        .await?;
    diesel::update(companies::table)
        .filter(
            companies::tenant_id
                .eq(tenant)
                .and(companies::id.eq(company)),
        )
        .set(companies::last_activity_at.eq(diesel::dsl::now))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An event as pages show it.
#[derive(Clone, Debug)]
pub struct Event {
    /// The company.
    pub company_id: CompanyId,
    /// Its name now.
    pub company_name: String,
    /// Who acted, if a person did.
    pub actor: Option<String>,
    /// The database spelling of the action.
    pub action: String,
    /// A contact's name or a note's first line.
    pub subject: String,
    /// Field changes.
    pub changes: Vec<Change>,
    /// When.
    pub at: DateTime<Utc>,
    /// The import this event is (`imported`, `import_updated`, `import_undone`).
    pub import_id: Option<ImportId>,
}

type EventRow = (
    CompanyId,
    String,
    Option<String>,
    String,
    String,
    serde_json::Value,
    DateTime<Utc>,
);

fn event((company_id, company_name, actor, action, subject, changes, at): EventRow) -> Event {
    Event {
        company_id,
        company_name,
        actor,
        action,
        subject,
        changes: serde_json::from_value(changes).unwrap_or_default(),
        at,
        import_id: None,
    }
}

/// An event row without its company name.
type BareRow = (
    CompanyId,
    Option<String>,
    String,
    String,
    serde_json::Value,
    DateTime<Utc>,
);

/// Events matching `filter` (on `company_events`), newest first, with actor and company
/// names. The company names come in a second query, since the filter may itself be a
/// subquery on `companies`.
macro_rules! load_events {
    ($tx:expr, $filter:expr, $limit:expr) => {{
        let tx: &mut TenantTx = $tx;
        let tenant = tx.tenant();
        let rows: Vec<BareRow> = company_events::table
            .left_join(
                users::table.on(users::tenant_id
                    .eq(company_events::tenant_id)
                    .and(users::id.nullable().eq(company_events::actor_id))),
            )
            .filter(company_events::tenant_id.eq(tenant))
            .filter($filter)
            .order(company_events::id.desc())
            .limit($limit)
            .select((
                company_events::company_id,
                users::name.nullable(),
                company_events::action,
                company_events::subject,
                company_events::changes,
                company_events::created_at,
            ))
            .load(&mut **tx)
            .await?;
        let ids: Vec<CompanyId> = rows.iter().map(|r| r.0).collect();
        let names: std::collections::HashMap<CompanyId, String> = companies::table
            .filter(
                companies::tenant_id
                    .eq(tenant)
                    .and(companies::id.eq_any(ids)),
            )
            .select((companies::id, companies::name))
            .load::<(CompanyId, String)>(&mut **tx)
            .await?
            .into_iter()
            .collect();
        rows.into_iter()
            .map(|(company_id, actor, action, subject, changes, at)| {
                event((
                    company_id,
                    names.get(&company_id).cloned().unwrap_or_default(),
                    actor,
                    action,
                    subject,
                    changes,
                    at,
                ))
            })
            .collect::<Vec<Event>>()
    }};
}

/// An event about the tenant rather than one company (an import, its undo, an export), as the
/// feed shows it.
#[derive(Clone, Debug)]
pub struct TenantEvent {
    /// Who acted, if a person did.
    pub actor: Option<String>,
    /// `imported`, `import_undone` or `exported`.
    pub action: String,
    /// The import.
    pub import_id: Option<ImportId>,
    /// The export.
    pub export_id: Option<ExportId>,
    /// What was imported or exported: `company`, `contact` or `opportunity`.
    pub entity: String,
    /// Records created (for an undo: removed).
    pub created: i64,
    /// Records updated (for an undo: restored).
    pub updated: i64,
    /// When.
    pub at: DateTime<Utc>,
}

/// One entry of 最新动态.
#[derive(Clone, Debug)]
pub enum FeedEntry {
    /// A change to a company.
    Company(Event),
    /// An import, its undo or an export.
    Tenant(TenantEvent),
}

impl FeedEntry {
    /// When it happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Company(e) => e.at,
            Self::Tenant(e) => e.at,
        }
    }
}

/// The newest events of companies the user may see (最新动态), with the tenant's
/// imports when `sees_imports` (see [`crate::imports::history::may_see`]), newest first.
pub async fn feed(
    tx: &mut TenantTx,
    scope: &Scope,
    sees_imports: bool,
    limit: i64,
) -> AppResult<Vec<FeedEntry>> {
    let tenant = tx.tenant();
    let visible = scope.company_ids(tenant);
    let mut entries: Vec<FeedEntry> =
        load_events!(tx, company_events::company_id.eq_any(visible), limit)
            .into_iter()
            .map(FeedEntry::Company)
            .collect();
    if sees_imports {
        entries.extend(
            tenant_events(tx, limit)
                .await?
                .into_iter()
                .map(FeedEntry::Tenant),
        );
        // Both lists are newest first; a stable sort keeps each one's order on ties.
        entries.sort_by_key(|e| std::cmp::Reverse(e.at()));
        entries.truncate(usize::try_from(limit).unwrap_or_default());
    }
    Ok(entries)
}

/// The tenant's newest tenant events.
async fn tenant_events(tx: &mut TenantTx, limit: i64) -> AppResult<Vec<TenantEvent>> {
    let tenant = tx.tenant();
    type Row = (
        Option<String>,
        String,
        Option<ImportId>,
        Option<ExportId>,
        String,
        i64,
        i64,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = tenant_events::table
        .left_join(
            users::table.on(users::tenant_id
                .eq(tenant_events::tenant_id)
                .and(users::id.nullable().eq(tenant_events::actor_id))),
        )
        .filter(tenant_events::tenant_id.eq(tenant))
        .order(tenant_events::id.desc())
        .limit(limit)
        .select((
            users::name.nullable(),
            tenant_events::action,
            tenant_events::import_id,
            tenant_events::export_id,
            tenant_events::entity,
            tenant_events::created_count,
            tenant_events::updated_count,
            tenant_events::created_at,
        ))
        .load(&mut **tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(actor, action, import_id, export_id, entity, created, updated, at)| TenantEvent {
                actor,
                action,
                import_id,
                export_id,
                entity,
                created,
                updated,
                at,
            },
        )
        .collect())
}

/// A company's history, newest first. The caller has checked the company is visible.
pub async fn of_company(
    tx: &mut TenantTx,
    company: CompanyId,
    limit: i64,
) -> AppResult<Vec<Event>> {
    let mut events = load_events!(tx, company_events::company_id.eq(company), limit);
    events.extend(imports_of(tx, company, limit).await?);
    events.sort_by_key(|e| std::cmp::Reverse(e.at));
    events.truncate(usize::try_from(limit).unwrap_or_default());
    Ok(events)
}

/// An import that touched a company, from [`imports_of`].
#[derive(QueryableByName)]
struct ImportTouch {
    #[diesel(sql_type = Text)]
    action: String,
    #[diesel(sql_type = BigInt)]
    import_id: ImportId,
    #[diesel(sql_type = Text)]
    company_name: String,
    #[diesel(sql_type = Text)]
    file_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    actor: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    at: DateTime<Utc>,
}

/// The imports that created the company (`imported`: its `import_id`), updated it
/// (`import_updated`: an undo snapshot of it) and were undone, restoring it
/// (`import_undone`), at the time of their tenant events. Only imports that updated
/// something are probed for a snapshot, each by its primary key.
async fn imports_of(tx: &mut TenantTx, company: CompanyId, limit: i64) -> AppResult<Vec<Event>> {
    let tenant = tx.tenant();
    let rows: Vec<ImportTouch> = diesel::sql_query(
        "SELECT CASE WHEN te.action = 'import_undone' THEN 'import_undone'
                     WHEN te.import_id = c.import_id THEN 'imported'
                     ELSE 'import_updated' END AS action,
                te.import_id, c.name AS company_name, i.file_name, u.name AS actor,
                te.created_at AS at
           FROM companies c
           JOIN tenant_events te ON te.tenant_id = c.tenant_id AND te.entity = 'company'
                                AND te.import_id IS NOT NULL
           JOIN imports i ON i.tenant_id = te.tenant_id AND i.id = te.import_id
           LEFT JOIN users u ON u.tenant_id = te.tenant_id AND u.id = te.actor_id
          WHERE c.tenant_id = $1 AND c.id = $2
            AND ((te.action = 'imported' AND te.import_id = c.import_id)
                 OR (te.updated_count > 0 AND EXISTS (
                        SELECT 1 FROM import_undo x
                         WHERE x.tenant_id = c.tenant_id AND x.import_id = te.import_id
                           AND x.record_id = c.id)))
          ORDER BY te.id DESC
          LIMIT $3",
    )
    .bind::<BigInt, _>(tenant.0)
    .bind::<BigInt, _>(company.0)
    .bind::<BigInt, _>(limit)
    .load(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Event {
            company_id: company,
            company_name: r.company_name,
            actor: r.actor,
            action: r.action,
            subject: r.file_name.chars().take(200).collect(),
            changes: vec![],
            at: r.at,
            import_id: Some(r.import_id),
        })
        .collect())
}

/// The label of a change's field in the user's language.
fn change_label(ctx: &Ctx, change: &Change) -> String {
    if change.field.is_empty() {
        change.label.clone()
    } else {
        ctx.t(&change.field)
    }
}

/// A value as shown: visibility codes translated, empty as a dash.
fn change_value(ctx: &Ctx, change: &Change, value: &str) -> String {
    match (change.field.as_str(), value) {
        (_, "") => "—".to_owned(),
        ("company.visibility" | "opportunities.visibility", v @ ("public" | "private")) => {
            ctx.t(&format!("visibility.{v}"))
        }
        (_, v) => v.to_owned(),
    }
}

/// A part of an event's phrase (`history.<action>`).
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    /// Words.
    Text(&'a str),
    /// `%{company}`: the company's name.
    Company,
    /// `%{subject}`: the contact, note or opportunity.
    Subject,
}

/// A phrase cut at its `%{company}` and `%{subject}` placeholders.
fn pieces(phrase: &str) -> Vec<Piece<'_>> {
    let mut out = vec![];
    let mut rest = phrase;
    loop {
        let next = [
            ("%{company}", Piece::Company),
            ("%{subject}", Piece::Subject),
        ]
        .into_iter()
        .filter_map(|(mark, piece)| rest.find(mark).map(|at| (at, mark.len(), piece)))
        .min_by_key(|(at, _, _)| *at);
        let Some((at, len, piece)) = next else { break };
        if at > 0 {
            out.push(Piece::Text(&rest[..at]));
        }
        out.push(piece);
        rest = &rest[at + len..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// What an event says after its actor. A phrase places `%{company}` and `%{subject}`
/// where its language wants them (English: "added the contact “Li Lei” to Acme"); what
/// it leaves out follows it: the subject, and the company in the feed only (the
/// company's own page need not name it, unless the phrase does).
fn sentence(ctx: &Ctx, e: &Event, with_company: bool) -> Markup {
    let phrase = ctx.t(&format!("history.{}", e.action));
    let pieces = pieces(&phrase);
    let company = html! {
        @if with_company {
            a.event-company href={"/customers/" (e.company_id)} { (e.company_name) }
        } @else {
            span.event-company { (e.company_name) }
        }
    };
    let import = e
        .import_id
        .filter(|_| crate::imports::history::may_see(ctx));
    let subject = html! {
        @if let Some(import) = import {
            a.text-secondary.event-subject href={"/imports/" (import)} { "“" (e.subject) "”" }
        } @else if !e.subject.is_empty() {
            span.text-secondary.event-subject { "“" (e.subject) "”" }
        }
    };
    html! {
        span.event-text {
            @for piece in &pieces {
                @match piece {
                    Piece::Text(text) => (text),
                    Piece::Company => (company),
                    Piece::Subject => (subject),
                }
            }
        }
        @if with_company && !pieces.contains(&Piece::Company) { (company) }
        @if !pieces.contains(&Piece::Subject) { (subject) }
    }
}

/// Events as a list; `with_company` links the company in each (the feed does; the
/// company's own page names it only where the language's phrase does).
pub fn render(ctx: &Ctx, events: &[Event], with_company: bool) -> Markup {
    html! {
        ol.list-unstyled.mb-0.events {
            @for e in events { (company_item(ctx, e, with_company)) }
        }
    }
}

/// The 最新动态 list: company events with their company linked, and tenant events.
pub fn render_feed(ctx: &Ctx, entries: &[FeedEntry]) -> Markup {
    html! {
        ol.list-unstyled.mb-0.events {
            @for entry in entries {
                @match entry {
                    FeedEntry::Company(e) => (company_item(ctx, e, true)),
                    FeedEntry::Tenant(e) => (tenant_item(ctx, e)),
                }
            }
        }
    }
}

/// Who acted, or 系统.
fn actor(ctx: &Ctx, actor: Option<&str>) -> Markup {
    html! { strong { (actor.unwrap_or(&ctx.t("history.system"))) } }
}

fn company_item(ctx: &Ctx, e: &Event, with_company: bool) -> Markup {
    html! {
        li.event.py-2.border-bottom data-action=(e.action) {
            div.d-flex.flex-wrap.gap-2.align-items-baseline {
                (actor(ctx, e.actor.as_deref()))
                (sentence(ctx, e, with_company))
                time.ms-auto.small.text-secondary datetime=(e.at.to_rfc3339()) { (ctx.datetime(e.at)) }
            }
            (changes_list(ctx, &e.changes))
        }
    }
}

fn tenant_item(ctx: &Ctx, e: &TenantEvent) -> Markup {
    let text = tenant_sentence(ctx, e);
    html! {
        li.event.py-2.border-bottom data-action=(e.action) {
            div.d-flex.flex-wrap.gap-2.align-items-baseline {
                (actor(ctx, e.actor.as_deref()))
                span.event-text {
                    @if let Some(import) = e.import_id {
                        a href={"/imports/" (import)} { (text) }
                    } @else if let Some(export) = e.export_id {
                        a href={"/exports/" (export)} { (text) }
                    } @else {
                        (text)
                    }
                }
                time.ms-auto.small.text-secondary datetime=(e.at.to_rfc3339()) { (ctx.datetime(e.at)) }
            }
        }
    }
}

/// "导入了 1,234 家客户，更新了 56 家" / "imported 1,234 companies and updated 56" /
/// "导出了 1,234 家客户".
fn tenant_sentence(ctx: &Ctx, e: &TenantEvent) -> String {
    let action = match e.action.as_str() {
        "import_undone" => "import_undone",
        "exported" => "exported",
        _ => "imported",
    };
    let entity = match e.entity.as_str() {
        "contact" => "contact",
        "opportunity" => "opportunity",
        _ => "company",
    };
    let one = if e.created == 1 { "_one" } else { "" };
    let mut text = ctx.locale.tf(
        &format!("history.{action}_{entity}{one}"),
        &[("count", &grouped(e.created))],
    );
    if e.updated > 0 {
        let also = if action == "import_undone" {
            "restored"
        } else {
            "updated"
        };
        text.push_str(&ctx.locale.tf(
            &format!("history.import_also_{also}_{entity}"),
            &[("count", &grouped(e.updated))],
        ));
    }
    text
}

/// The changed fields of an event, before → after (nothing when none).
pub fn changes_list(ctx: &Ctx, changes: &[Change]) -> Markup {
    html! {
        @if !changes.is_empty() {
            ul.small.mb-0.mt-1.event-changes {
                @for c in changes {
                    li {
                        span.fw-semibold { (change_label(ctx, c)) } (ctx.t("history.separator"))
                        del.text-secondary { (change_value(ctx, c, &c.before)) }
                        " → "
                        ins.text-decoration-none { (change_value(ctx, c, &c.after)) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Diff, Piece, pieces};

    #[test]
    fn a_phrase_is_cut_at_its_placeholders() {
        assert_eq!(
            pieces("added the contact %{subject} to %{company}"),
            [
                Piece::Text("added the contact "),
                Piece::Subject,
                Piece::Text(" to "),
                Piece::Company
            ]
        );
        assert_eq!(pieces("添加了联系人"), [Piece::Text("添加了联系人")]);
        assert_eq!(pieces("%{company}"), [Piece::Company]);
    }

    #[test]
    fn a_diff_keeps_only_changed_values() {
        let mut diff = Diff::default();
        diff.field("company.phone", "010", "021")
            .field("field.email", "a@b.cn", "a@b.cn")
            .custom("行业", "", "制造业");
        let changes = diff.into_changes();
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].field, "company.phone");
        assert_eq!(changes[1].label, "行业");
        assert_eq!(
            serde_json::to_value(&changes[1]).expect("json"),
            serde_json::json!({"label": "行业", "before": "", "after": "制造业"})
        );
    }
}
