//! Bulk actions on a list (批量操作): what they act on, their confirmation page and what
//! they say when done.
//!
//! The bulk bar posts the action with one of three selections: the checked rows
//! (`<id_field>`, repeated), this page (`page_id`, repeated) or everything that matches
//! the view (`query` and `view`, run again here, at most [`MAX_ROWS`]). Only rows the user
//! can see are taken; the module then keeps the ones the user may change. An action that
//! changes or deletes rows first answers with a confirmation page that says how many and
//! posts everything back with `confirm=1`. Every outcome — done, nothing selected, too
//! many — is a flash message on the same view, search, filters and page.

use diesel::{
    QueryableByName,
    sql_types::{BigInt, Nullable, Text},
};
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{IntoResponse, Response, web::Redirect};

use crate::{
    db::TenantTx,
    error::{AppError, AppResult},
    files::DeletedFiles,
    history::{self, Diff},
    ids::UserId,
    listing::{
        BulkChoice, ListSpec, PEOPLE, Source, Sources, clean_back, compiled_for,
        filter::ListFilter, query, sql::Sql,
    },
    state::State,
    users::model as users,
    visibility::{Scope, View},
    web::{
        ctx::Ctx,
        flash,
        forms::RawForm,
        layout::{self, csrf_field},
        security::CSRF_FIELD,
    },
};

/// Most rows one bulk action changes ("all that match" beyond this is refused).
pub const MAX_ROWS: i64 = 10_000;

/// What a bulk action acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// The checked rows.
    Checked,
    /// Every row of the page it was posted from.
    Page,
    /// Every row that matches the view.
    All,
}

/// A bulk action as posted.
#[derive(Clone, Debug)]
pub struct BulkRequest {
    /// `action` (or what the route implies).
    pub action: String,
    /// What it acts on.
    pub selection: Selection,
    checked: Vec<i64>,
    page: Vec<i64>,
    query: String,
    view: View,
    /// The view to return to (a cleaned query string).
    pub back: String,
    /// The confirmation page was answered.
    pub confirmed: bool,
    pairs: Vec<(String, String)>,
}

/// The ids behind a selection, or the reason there are none.
pub enum Picked {
    /// The visible rows selected (possibly none).
    Rows(Vec<i64>),
    /// "All that match" matches more than [`MAX_ROWS`].
    TooMany,
}

impl BulkRequest {
    /// Reads the posted form of `spec`'s bulk bar.
    pub fn parse(spec: &'static ListSpec, form: &RawForm) -> Self {
        let mut out = Self {
            action: String::new(),
            selection: Selection::Checked,
            checked: vec![],
            page: vec![],
            query: String::new(),
            view: View::All,
            back: String::new(),
            confirmed: false,
            pairs: form
                .pairs()
                .iter()
                .filter(|(k, _)| k != CSRF_FIELD && k != "confirm")
                .cloned()
                .collect(),
        };
        for (key, value) in form.pairs() {
            match key.as_str() {
                "action" => out.action = value.clone(),
                "selection" => {
                    out.selection = match value.as_str() {
                        "page" => Selection::Page,
                        "all" => Selection::All,
                        _ => Selection::Checked,
                    }
                }
                "page_id" => out.page.extend(value.parse::<i64>().ok()),
                "query" => out.query = value.clone(),
                "view" => out.view = View::parse(Some(value)),
                "back" => out.back = clean_back(spec, value),
                "confirm" => out.confirmed = value == "1",
                k if k == spec.dom.id_field => out.checked.extend(value.parse::<i64>().ok()),
                _ => {}
            }
        }
        // Nothing more than a page's worth is taken from a form.
        out.checked.truncate(500);
        out.page.truncate(500);
        out
    }

    /// A posted value (the new owner…).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The list view it came from.
    pub fn back_href(&self, spec: &ListSpec) -> String {
        if self.back.is_empty() {
            spec.path.to_owned()
        } else {
            format!("{}?{}", spec.path, self.back)
        }
    }

    /// The rows it acts on that `scope` (the user's whole scope, [`View::All`]) sees.
    pub async fn pick(
        &self,
        tx: &mut TenantTx,
        ctx: &Ctx,
        spec: &'static ListSpec,
        scope: &Scope,
    ) -> AppResult<Picked> {
        let ids = match self.selection {
            Selection::Checked => self.checked.clone(),
            Selection::Page => self.page.clone(),
            Selection::All => {
                // The admin's view counts: "all that match" is what the page showed.
                let scope = match scope {
                    Scope::Admin(_) => Scope::Admin(self.view),
                    owners => owners.clone(),
                };
                let filter = ListFilter::from_query(spec, &self.query);
                let conditions = compiled_for(tx, ctx, spec, &scope, &filter).await?;
                let ids = query::ids(tx, spec, conditions, MAX_ROWS).await?;
                if ids.len() as i64 > MAX_ROWS {
                    return Ok(Picked::TooMany);
                }
                return Ok(Picked::Rows(ids));
            }
        };
        if ids.is_empty() {
            return Ok(Picked::Rows(vec![]));
        }
        let visible = query::ids(
            tx,
            spec,
            vec![
                scope.owned(spec.table),
                Sql::new(format!("{}.id = ANY(", spec.table))
                    .ints(ids)
                    .sql(")"),
            ],
            MAX_ROWS,
        )
        .await?;
        Ok(Picked::Rows(visible))
    }

    /// Back to the list, saying why nothing happened.
    pub fn refuse(&self, ctx: &Ctx, spec: &ListSpec, text: String) -> Response {
        flash::warning(ctx, text);
        Redirect::see_other(self.back_href(spec)).into_response()
    }

    /// Back to the list, saying what was done.
    pub fn done(&self, ctx: &Ctx, spec: &ListSpec, text: String) -> Response {
        flash::success(ctx, text);
        Redirect::see_other(self.back_href(spec)).into_response()
    }

    /// Back to the list with the standard refusals: nothing selected, or too many.
    pub fn refuse_picked(&self, ctx: &Ctx, spec: &ListSpec, picked: &Picked) -> Option<Response> {
        match picked {
            Picked::TooMany => Some(self.refuse(
                ctx,
                spec,
                ctx.locale.tf(
                    "list.bulk_too_many",
                    &[("max", &crate::listing::views::grouped(MAX_ROWS))],
                ),
            )),
            Picked::Rows(ids) if ids.is_empty() => Some(
                self.refuse(
                    ctx,
                    spec,
                    ctx.locale
                        .tf("list.bulk_nothing", &[("noun", &ctx.t(spec.texts.noun))]),
                ),
            ),
            Picked::Rows(_) => None,
        }
    }

    /// The confirmation page: the question, a warning, and the form that posts the same
    /// action again with `confirm=1`.
    pub fn confirm_page(
        &self,
        ctx: &Ctx,
        spec: &ListSpec,
        question: &str,
        warning: Option<&str>,
        destructive: bool,
    ) -> Markup {
        let content = html! {
            div.alert.alert-danger[destructive].alert-warning[!destructive] #bulk-confirm role="alert" {
                p.mb-2 { strong { (question) } }
                @if let Some(w) = warning { p.mb-0 { (w) } }
            }
            form method="post" action={(spec.path) "/bulk"} {
                (csrf_field(&ctx.csrf))
                @for (k, v) in &self.pairs { input type="hidden" name=(k) value=(v); }
                input type="hidden" name="confirm" value="1";
                button.btn.btn-danger[destructive].btn-primary[!destructive] type="submit" #bulk-confirm-submit {
                    (ctx.t("list.bulk_confirm"))
                }
                a.btn.btn-link href=(self.back_href(spec)) autofocus { (ctx.t("common.cancel")) }
            }
        };
        layout::page(
            ctx,
            spec.module,
            spec.path,
            &ctx.t("list.bulk_title"),
            content,
        )
    }
}

/// Of visible `ids` of `spec`'s table, those whose owner the user may manage (with the
/// owner), and how many others were left alone.
pub async fn manageable(
    tx: &mut TenantTx,
    spec: &ListSpec,
    scope: &Scope,
    ids: &[i64],
) -> AppResult<(Vec<(i64, UserId)>, usize)> {
    #[derive(QueryableByName)]
    struct Owned {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = BigInt)]
        owner_id: i64,
    }
    let table = spec.table;
    let rows: Vec<Owned> = Sql::new(format!(
        "SELECT {table}.id AS id, {table}.owner_id AS owner_id FROM {table} WHERE {table}.tenant_id = "
    ))
    .int(tx.tenant().0)
    .sql(format!(" AND {table}.id = ANY("))
    .ints(ids.to_vec())
    .sql(") ORDER BY id")
    .query()
    .load(&mut **tx)
    .await?;
    let allowed: Vec<(i64, UserId)> = rows
        .into_iter()
        .map(|r| (r.id, UserId(r.owner_id)))
        .filter(|(_, owner)| scope.can_manage(*owner))
        .collect();
    let skipped = ids.len().saturating_sub(allowed.len());
    Ok((allowed, skipped))
}

/// "5 家客户" for `n` rows of `spec`.
pub fn counted(ctx: &Ctx, spec: &ListSpec, n: usize) -> String {
    ctx.locale.tf(
        spec.texts.counted,
        &[("count", &crate::listing::views::grouped(n as i64))],
    )
}

/// A done message, with the rows left alone when there were any.
pub fn with_skipped(ctx: &Ctx, text: String, skipped: usize) -> String {
    if skipped == 0 {
        text
    } else {
        format!(
            "{text} {}",
            ctx.locale
                .tf("list.bulk_skipped", &[("n", &skipped.to_string())])
        )
    }
}

/// What a bulk action of the generic bar sets. The form field of a [`BulkChoice`] is
/// the column it sets (`owner_id`, `category_id`, `visibility`).
#[derive(Clone, Debug)]
pub enum Change {
    /// A new owner (an active user the actor may manage).
    Owner(UserId, String),
    /// A category of the list's category source, or none.
    Category(Option<i64>, String),
    /// 公开 or 私有.
    Visibility(&'static str, String),
    /// Deletion.
    Delete,
}

impl Change {
    /// The locale keys of its question and of its message when done.
    pub fn keys(&self) -> (&'static str, &'static str) {
        match self {
            Self::Owner(..) => ("list.bulk_owner_confirm", "list.bulk_owner_done"),
            Self::Category(..) => ("list.bulk_category_confirm", "list.bulk_category_done"),
            Self::Visibility(..) => ("list.bulk_visibility_confirm", "list.bulk_visibility_done"),
            Self::Delete => ("list.bulk_delete_confirm", "list.bulk_delete_done"),
        }
    }

    /// The name of the value it sets ("" for a deletion).
    pub fn name(&self) -> &str {
        match self {
            Self::Owner(_, n) | Self::Category(_, n) | Self::Visibility(_, n) => n,
            Self::Delete => "",
        }
    }

    /// The column it sets, the list field whose label names it in history, and the new
    /// value as SQL.
    fn assignment(&self) -> Option<(&'static str, &'static str, Sql)> {
        match self {
            Self::Owner(id, _) => Some(("owner_id", "owner", Sql::default().int(id.0))),
            Self::Category(Some(id), _) => {
                Some(("category_id", "category", Sql::default().int(*id)))
            }
            Self::Category(None, _) => Some(("category_id", "category", Sql::new("NULL"))),
            Self::Visibility(v, _) => Some(("visibility", "visibility", Sql::default().text(*v))),
            Self::Delete => None,
        }
    }
}

/// The source of the list's "category" bulk action, if it has one.
fn category_source(spec: &ListSpec) -> Option<(Source, Option<&'static str>)> {
    spec.bulk.iter().find_map(|b| match b.choice {
        BulkChoice::Source { source, none, .. } if b.action == "category" => Some((source, none)),
        _ => None,
    })
}

/// Reads the value the action sets; `None` for a value the user may not choose.
async fn change(
    tx: &mut TenantTx,
    ctx: &Ctx,
    spec: &'static ListSpec,
    scope: &Scope,
    req: &BulkRequest,
) -> AppResult<Option<Change>> {
    let offered = |action: &str| spec.bulk.iter().any(|b| b.action == action);
    if !offered(&req.action) {
        return Err(AppError::BadRequest);
    }
    Ok(match req.action.as_str() {
        "owner" => {
            let id = req
                .value("owner_id")
                .and_then(|v| v.parse().ok())
                .map(UserId);
            let people = users::list(tx).await?;
            id.and_then(|id| people.into_iter().find(|u| u.id == id))
                .filter(|u| u.status != "disabled" && scope.can_manage(u.id))
                .map(|u| Change::Owner(u.id, u.name))
        }
        "category" => {
            let Some((source, none)) = category_source(spec) else {
                return Err(AppError::BadRequest);
            };
            match (req.value("category_id").unwrap_or_default(), none) {
                ("", Some(none)) => Some(Change::Category(None, ctx.t(none))),
                ("", None) => None,
                (raw, _) => {
                    let mut sources = Sources::default();
                    sources.fetch(tx, source).await?;
                    raw.parse::<i64>().ok().and_then(|id| {
                        sources
                            .rows(source)
                            .iter()
                            .find(|(i, _)| *i == id)
                            .map(|(i, n)| Change::Category(Some(*i), n.clone()))
                    })
                }
            }
        }
        "visibility" => match req.value("visibility") {
            Some("public") => Some(Change::Visibility("public", ctx.t("visibility.public"))),
            Some("private") => Some(Change::Visibility("private", ctx.t("visibility.private"))),
            _ => None,
        },
        "delete" => Some(Change::Delete),
        _ => return Err(AppError::BadRequest),
    })
}

/// A module's side of the generic bulk actions: its list, how its rows are deleted and
/// where a change is recorded.
pub trait Target: Send + Sync + 'static {
    /// The list.
    fn spec() -> &'static ListSpec;
    /// Deletes the rows (visible and manageable) with everything under them, recording
    /// the deletions where the module records them; returns the stored files to remove
    /// once the transaction has committed.
    fn delete(
        tx: &mut TenantTx,
        ctx: &Ctx,
        ids: &[i64],
    ) -> impl Future<Output = AppResult<DeletedFiles>> + Send;
    /// Records a change of a row in its history.
    fn record(
        tx: &mut TenantTx,
        ctx: &Ctx,
        id: i64,
        changes: Vec<history::Change>,
    ) -> impl Future<Output = AppResult<()>> + Send;
}

/// POST `<list>/bulk`: a new owner, category or visibility, or deletion, each after a
/// confirmation page that says how many. Rows the user may not change are left alone and
/// counted in the message; every change is recorded in each row's history.
pub async fn handle<T: Target>(ctx: &Ctx, state: &State, form: &RawForm) -> AppResult<Response> {
    let spec = T::spec();
    let req = BulkRequest::parse(spec, form);
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, ctx, View::All).await?;
    let picked = req.pick(&mut tx, ctx, spec, &scope).await?;
    if let Some(refused) = req.refuse_picked(ctx, spec, &picked) {
        tx.commit().await?;
        return Ok(refused);
    }
    let Picked::Rows(ids) = picked else {
        return Err(AppError::BadRequest);
    };
    let (allowed, skipped) = manageable(&mut tx, spec, &scope, &ids).await?;
    if allowed.is_empty() {
        tx.commit().await?;
        return Ok(req.refuse(ctx, spec, ctx.t("list.bulk_not_yours")));
    }
    let Some(change) = change(&mut tx, ctx, spec, &scope, &req).await? else {
        tx.commit().await?;
        return Ok(req.refuse(ctx, spec, ctx.t("list.bulk_bad_choice")));
    };
    let what = counted(ctx, spec, allowed.len());
    let (ask, done) = change.keys();
    let args = [("what", what.as_str()), ("name", change.name())];
    let deleting = matches!(change, Change::Delete);
    if !req.confirmed {
        tx.commit().await?;
        let warning = deleting.then(|| ctx.t(spec.texts.delete_warning));
        let question = ctx.locale.tf(ask, &args);
        return Ok(req
            .confirm_page(ctx, spec, &question, warning.as_deref(), deleting)
            .into_response());
    }
    let ids: Vec<i64> = allowed.iter().map(|(id, _)| *id).collect();
    let mut files = None;
    if deleting {
        files = Some(T::delete(&mut tx, ctx, &ids).await?);
    } else {
        for (id, changes) in apply(&mut tx, spec, &ids, &change).await? {
            T::record(&mut tx, ctx, id, changes).await?;
        }
    }
    tx.commit().await?;
    if let Some(files) = files {
        files.remove(&state.files).await;
    }
    let text = with_skipped(ctx, ctx.locale.tf(done, &args), skipped);
    Ok(req.done(ctx, spec, text))
}

/// Sets the value on the rows (locked first, in id order) and returns each row's
/// changes: owners and categories by name, visibility by its code.
async fn apply(
    tx: &mut TenantTx,
    spec: &'static ListSpec,
    ids: &[i64],
    change: &Change,
) -> AppResult<Vec<(i64, Vec<history::Change>)>> {
    #[derive(QueryableByName)]
    struct Before {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Nullable<Text>)]
        old: Option<String>,
    }
    let Some((column, field, value)) = change.assignment() else {
        return Ok(vec![]);
    };
    let table = spec.table;
    let tenant = tx.tenant().0;
    let rows: Vec<Before> = Sql::new(format!(
        "SELECT {table}.id AS id, {table}.{column}::text AS old FROM {table} WHERE {table}.tenant_id = "
    ))
    .int(tenant)
    .sql(format!(" AND {table}.id = ANY("))
    .ints(ids.to_vec())
    .sql(format!(") ORDER BY {table}.id FOR UPDATE"))
    .query()
    .load(&mut **tx)
    .await?;
    Sql::new(format!("UPDATE {table} SET {column} = "))
        .push(value)
        .sql(format!(" WHERE {table}.tenant_id = "))
        .int(tenant)
        .sql(format!(" AND {table}.id = ANY("))
        .ints(ids.to_vec())
        .sql(")")
        .query()
        .execute(&mut **tx)
        .await?;

    let label = spec
        .fields
        .iter()
        .find(|f| f.name == field)
        .map_or(field, |f| f.label);
    let mut names = Sources::default();
    let source = match change {
        Change::Owner(..) => Some(PEOPLE),
        Change::Category(..) => category_source(spec).map(|(s, _)| s),
        _ => None,
    };
    if let Some(source) = source {
        names.fetch(tx, source).await?;
    }
    let name_of = |raw: Option<&str>| -> String {
        match (source, raw) {
            (_, None) => String::new(),
            (Some(source), Some(raw)) => raw
                .parse::<i64>()
                .map_or(String::new(), |id| names.name(source, id).to_owned()),
            (None, Some(raw)) => raw.to_owned(),
        }
    };
    let new = match change {
        Change::Owner(id, _) => name_of(Some(&id.0.to_string())),
        Change::Category(id, _) => name_of(id.map(|i| i.to_string()).as_deref()),
        Change::Visibility(v, _) => (*v).to_owned(),
        Change::Delete => String::new(),
    };
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let mut diff = Diff::default();
            diff.field(label, &name_of(r.old.as_deref()), &new);
            (!diff.is_empty()).then(|| (r.id, diff.into_changes()))
        })
        .collect())
}
