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

use diesel::{QueryableByName, sql_types::BigInt};
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{IntoResponse, Response, web::Redirect};

use crate::{
    auth::ctx::Ctx,
    db::TenantTx,
    error::AppResult,
    ids::UserId,
    listing::{ListSpec, clean_back, compiled, filter::ListFilter, query, sql::Sql},
    visibility::{Scope, View},
    web::{
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

    /// The visible rows it acts on.
    pub async fn pick(
        &self,
        tx: &mut TenantTx,
        ctx: &Ctx,
        spec: &'static ListSpec,
    ) -> AppResult<Picked> {
        let ids = match self.selection {
            Selection::Checked => self.checked.clone(),
            Selection::Page => self.page.clone(),
            Selection::All => {
                // The admin's view counts: "all that match" is what the page showed.
                let scope = Scope::resolve(tx, ctx, self.view).await?;
                let filter = ListFilter::from_query(spec, &self.query);
                let conditions = compiled(
                    tx,
                    spec,
                    &scope,
                    &filter,
                    ctx.user,
                    ctx.time_zone.name(),
                    ctx.locale,
                )
                .await?;
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
        let scope = Scope::resolve(tx, ctx, View::All).await?;
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
