//! GET /tasks — 任务一览, on the shared list machinery ([`crate::listing`]): the tabs 我的
//! 未完成 (the default) / 全部未完成 / 已完成 / 全部 (`?state=`), the quick filters (today,
//! this week, overdue), filters by type, owner and category, search, saved filters, the
//! column chooser, sorting, keyset pages and the generic bulk actions (reassign,
//! delete). POST /tasks/bulk-done marks the selected tasks done or not done, and deletes
//! every done task of the view (清除已完成), each after a confirmation that says how
//! many.

use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Jsonb, Nullable, Text, Timestamptz},
};
use maud::{Markup, html};
use poem::{IntoResponse, Request, Response, handler, web::Data};

use crate::{
    db::TenantTx,
    error::{AppError, AppResult},
    files::DeletedFiles,
    history,
    ids::TaskId,
    listing::{
        self, ACTIVE_PEOPLE, BulkChoice, BulkDef, Cast, ColumnDef, Dom, FieldDef, How, ListSpec,
        Options, PEOPLE, QuickDef, Row, SortKey, Source, Tabs, Texts, VISIBILITY,
        bulk::{BulkRequest, Picked, counted, manageable, with_skipped},
        choice,
        filter::{FieldType, MINE_TAB},
        ranked,
        routes::Target,
        sql::Sql,
        text::{escape_like, term_grams},
        views::{self, Parts},
    },
    state::State,
    tasks::model,
    visibility::{Scope, View},
    web::{ctx::Ctx, forms::RawForm, layout::Module},
};

/// The tenant's task categories, in their order.
pub const CATEGORIES: Source = Source {
    key: "task_categories",
    sql: "SELECT id, name FROM task_categories WHERE tenant_id = $1 ORDER BY position, id",
};

/// The kinds and their labels.
const KINDS: &[(&str, &str)] = &[("task", "tasks.kind_task"), ("memo", "tasks.kind_memo")];

/// The columns a task row is read with ([`Listed`]).
const COLUMNS: &str = "tasks.id, tasks.kind, tasks.content, tasks.starts_at, tasks.due_at, \
    tasks.owner_id, tasks.category_id, tasks.visibility, tasks.company_id, tasks.opportunity_id, \
    (SELECT companies.name FROM companies WHERE companies.tenant_id = tasks.tenant_id \
      AND companies.id = tasks.company_id) AS company_name, \
    (SELECT opportunities.name FROM opportunities WHERE opportunities.tenant_id = tasks.tenant_id \
      AND opportunities.id = tasks.opportunity_id) AS opportunity_name, \
    tasks.done_at, tasks.created_at, '{}'::jsonb AS custom";

/// A task as its list shows it.
#[derive(Debug, QueryableByName)]
pub struct Listed {
    /// Id.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// `task` or `memo`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// What to do.
    #[diesel(sql_type = Text)]
    pub content: String,
    /// Start.
    #[diesel(sql_type = Timestamptz)]
    pub starts_at: DateTime<Utc>,
    /// Due.
    #[diesel(sql_type = Timestamptz)]
    pub due_at: DateTime<Utc>,
    /// 责任人.
    #[diesel(sql_type = BigInt)]
    pub owner_id: i64,
    /// 分类.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub category_id: Option<i64>,
    /// `public` or `private`.
    #[diesel(sql_type = Text)]
    pub visibility: String,
    /// The company.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub company_id: Option<i64>,
    /// The opportunity.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub opportunity_id: Option<i64>,
    /// The company's name.
    #[diesel(sql_type = Nullable<Text>)]
    pub company_name: Option<String>,
    /// The opportunity's name.
    #[diesel(sql_type = Nullable<Text>)]
    pub opportunity_name: Option<String>,
    /// Done.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub done_at: Option<DateTime<Utc>>,
    /// Created.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// Tasks have no custom fields (always `{}`).
    #[diesel(sql_type = Jsonb)]
    pub custom: serde_json::Value,
}

impl Row for Listed {
    fn id(&self) -> i64 {
        self.id
    }

    fn label(&self) -> &str {
        &self.content
    }

    fn custom(&self) -> &serde_json::Value {
        &self.custom
    }
}

/// "content contains": the grams, with a LIKE recheck for longer terms.
fn content_contains(term: &str) -> Vec<Sql> {
    let grams = Sql::new("tasks.content_grams @> ").texts(term_grams(term));
    if term.chars().count() <= 2 {
        return vec![grams];
    }
    vec![
        grams,
        Sql::new("kehu_search_text(tasks.content) LIKE ").text(format!("%{}%", escape_like(term))),
    ]
}

/// Due in the user's current day (`days` = 1) or week (`days` = 7, from Monday).
fn due_within(time_zone: &str, unit: &str) -> Sql {
    let start = || {
        Sql::new(format!("(date_trunc('{unit}', now() AT TIME ZONE "))
            .text(time_zone.to_owned())
            .sql(") AT TIME ZONE ")
            .text(time_zone.to_owned())
            .sql(")")
    };
    Sql::new("tasks.due_at >= ")
        .push(start())
        .sql(" AND tasks.due_at < ")
        .push(start())
        .sql(format!(" + interval '1 {unit}'"))
}

const fn plain(key: &'static str, label: &'static str, sort: Option<SortKey>) -> ColumnDef {
    ColumnDef {
        key,
        label,
        sort,
        source: None,
        class: None,
    }
}

/// 任务一览.
pub static TASKS: ListSpec = ListSpec {
    key: "tasks",
    path: "/tasks",
    module: Module::Home,
    title: "tasks.title",
    table: "tasks",
    select: COLUMNS,
    entity: None,
    dom: Dom {
        search: "task-search",
        table: "tasks",
        row: "task",
        id_field: "task_id",
    },
    name_search: content_contains,
    fields: &[
        FieldDef {
            name: "content",
            label: "tasks.content",
            kind: FieldType::Text,
            sql: "tasks.content",
            nullable: false,
            how: How::Name,
        },
        choice(
            "kind",
            "tasks.kind",
            "tasks.kind",
            false,
            Options::Fixed(KINDS),
        ),
        choice(
            "owner",
            "tasks.owner",
            "tasks.owner_id",
            false,
            Options::Source(PEOPLE),
        ),
        choice(
            "category",
            "tasks.category",
            "tasks.category_id",
            true,
            Options::Source(CATEGORIES),
        ),
        choice(
            "visibility",
            "tasks.visibility",
            "tasks.visibility",
            false,
            Options::Fixed(VISIBILITY),
        ),
        FieldDef {
            name: "due",
            label: "tasks.due_at",
            kind: FieldType::Date,
            sql: "tasks.due_at",
            nullable: false,
            how: How::Day,
        },
        FieldDef {
            name: "starts",
            label: "tasks.starts_at",
            kind: FieldType::Date,
            sql: "tasks.starts_at",
            nullable: false,
            how: How::Day,
        },
    ],
    name_column: plain(
        "content",
        "tasks.content",
        Some(SortKey::Expr {
            sql: "tasks.content COLLATE \"zh-x-icu\"",
            cast: Cast::Text,
            asc: true,
        }),
    ),
    columns: &[
        plain(
            "due",
            "tasks.due_at",
            Some(SortKey::Expr {
                sql: "tasks.due_at",
                cast: Cast::Time,
                asc: true,
            }),
        ),
        plain(
            "starts",
            "tasks.starts_at",
            Some(SortKey::Expr {
                sql: "tasks.starts_at",
                cast: Cast::Time,
                asc: true,
            }),
        ),
        plain("link", "tasks.linked_to", None),
        plain(
            "kind",
            "tasks.kind",
            Some(SortKey::Expr {
                sql: "tasks.kind",
                cast: Cast::Text,
                asc: true,
            }),
        ),
        ranked("owner", "tasks.owner", "tasks.owner_id", PEOPLE, false),
        ranked(
            "category",
            "tasks.category",
            "coalesce(tasks.category_id, 0)",
            CATEGORIES,
            true,
        ),
        plain("state", "tasks.state", None),
        plain(
            "visibility",
            "tasks.visibility",
            Some(SortKey::Expr {
                sql: "tasks.visibility",
                cast: Cast::Text,
                asc: true,
            }),
        ),
        plain("created", "tasks.created_at", Some(SortKey::Id)),
    ],
    default_columns: &["due", "link", "owner", "state"],
    default_sort: "due",
    quick: &[
        QuickDef {
            key: "today",
            label: "tasks.quick_today",
            sql: |a| Some(due_within(a.time_zone, "day")),
            input: None,
        },
        QuickDef {
            key: "week",
            label: "tasks.quick_week",
            sql: |a| Some(due_within(a.time_zone, "week")),
            input: None,
        },
        QuickDef {
            key: "overdue",
            label: "tasks.quick_overdue",
            sql: |_| {
                Some(Sql::new(
                    "tasks.kind = 'task' AND tasks.done_at IS NULL AND tasks.due_at < now()",
                ))
            },
            input: None,
        },
    ],
    params: &[],
    tabs: Some(Tabs {
        param: "state",
        default: MINE_TAB,
        tabs: &[
            (MINE_TAB, "tasks.tab_mine", Some("tasks.done_at IS NULL")),
            ("open", "tasks.tab_open", Some("tasks.done_at IS NULL")),
            ("done", "tasks.tab_done", Some("tasks.done_at IS NOT NULL")),
            ("all", "tasks.tab_all", None),
        ],
    }),
    bulk: &[
        BulkDef {
            action: "owner",
            label: "tasks.bulk_owner",
            choice: BulkChoice::Source {
                source: ACTIVE_PEOPLE,
                field: "owner_id",
                none: None,
            },
        },
        BulkDef {
            action: "delete",
            label: "list.bulk_delete",
            choice: BulkChoice::Nothing,
        },
    ],
    texts: Texts {
        new: "tasks.new",
        new_href: "/tasks/new",
        search: "tasks.content_contains",
        empty: "tasks.empty",
        no_match: "tasks.no_match",
        counted: "list.tasks_counted",
        noun: "list.tasks_noun",
        all: "tasks.quick_all",
        filters_empty: "filters.empty",
        delete_warning: "tasks.bulk_delete_warning",
    },
    export: None,
};

/// GET /tasks
#[handler]
pub async fn index(ctx: Ctx, state: Data<&State>, req: &Request) -> AppResult<Markup> {
    let raw = req.uri().query().unwrap_or("");
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let list = listing::load::<Listed>(&mut tx, &ctx, &TASKS, raw).await?;
    tx.commit().await?;

    let now = Utc::now();
    let sources = &list.sources;
    let overdue = |t: &Listed| t.kind == "task" && t.done_at.is_none() && t.due_at < now;
    let name = |t: &Listed| {
        html! {
            a href={"/tasks/" (t.id)} .text-decoration-line-through[t.done_at.is_some()] { (t.content) }
            @if overdue(t) { " " span.badge.text-bg-danger { (ctx.t("tasks.state_overdue")) } }
        }
    };
    let cell = |t: &Listed, col: &str| -> Markup {
        html! {
            @match col {
                "due" => span.text-nowrap.text-danger[overdue(t)] { (ctx.datetime(t.due_at)) },
                "starts" => span.text-nowrap { (ctx.datetime(t.starts_at)) },
                "link" => {
                    @if let (Some(id), Some(name)) = (t.opportunity_id, &t.opportunity_name) {
                        a href={"/opportunities/" (id)} { (name) }
                    } @else if let (Some(id), Some(name)) = (t.company_id, &t.company_name) {
                        a href={"/customers/" (id)} { (name) }
                    }
                }
                "kind" => (ctx.t(&format!("tasks.kind_{}", t.kind))),
                "owner" => (sources.name(PEOPLE, t.owner_id)),
                "category" => (t.category_id.map_or("", |id| sources.name(CATEGORIES, id))),
                "state" => {
                    @if t.done_at.is_some() { span.badge.text-bg-success { (ctx.t("tasks.state_done")) } }
                    @else if overdue(t) { span.badge.text-bg-danger { (ctx.t("tasks.state_overdue")) } }
                    @else { span.badge.text-bg-secondary { (ctx.t("tasks.state_open")) } }
                }
                "visibility" => (ctx.t(&format!("visibility.{}", t.visibility))),
                "created" => (ctx.datetime(t.created_at)),
                _ => {}
            }
        }
    };
    let done_tab = list.filter.tab(&TASKS) == Some("done");
    let parts = Parts {
        buttons: html! {
            a.btn.btn-primary href="/tasks/new" { (ctx.t("tasks.new")) }
            a.btn.btn-outline-secondary href="/tasks/new?kind=memo" { (ctx.t("tasks.new_memo")) }
            @if done_tab && !list.rows.is_empty() {
                form.d-inline method="post" action="/tasks/bulk-done" {
                    (crate::web::layout::csrf_field(&ctx.csrf))
                    input type="hidden" name="op" value="purge";
                    input type="hidden" name="selection" value="all";
                    input type="hidden" name="query" value=(list.filter.to_query(&TASKS));
                    input type="hidden" name="view" value=(list.view.as_param());
                    input type="hidden" name="back" value=(list.back);
                    button.btn.btn-outline-danger #tasks-purge type="submit" { (ctx.t("tasks.purge_done")) }
                }
            }
        },
        notices: html! {},
        name: &name,
        cell: &cell,
        bulk: html! {
            button.btn.btn-sm.btn-outline-success.text-nowrap type="submit" formaction="/tasks/bulk-done" name="op" value="done" { (ctx.t("tasks.mark_done")) }
            button.btn.btn-sm.btn-outline-secondary.text-nowrap type="submit" formaction="/tasks/bulk-done" name="op" value="restore" { (ctx.t("tasks.restore")) }
        },
    };
    Ok(views::page(&ctx, &list, parts))
}

/// 任务一览 as the list's shared endpoints see it.
pub struct Tasks;

impl Target for Tasks {
    fn spec() -> &'static ListSpec {
        &TASKS
    }

    async fn delete(tx: &mut TenantTx, _ctx: &Ctx, ids: &[i64]) -> AppResult<DeletedFiles> {
        let ids: Vec<TaskId> = ids.iter().copied().map(TaskId).collect();
        model::delete_many(tx, &ids).await?;
        Ok(DeletedFiles::default())
    }

    async fn record(
        _tx: &mut TenantTx,
        _ctx: &Ctx,
        _id: i64,
        _changes: Vec<history::Change>,
    ) -> AppResult<()> {
        // Tasks keep no change history; the reassign changes the owner the reminders go to.
        Ok(())
    }
}

/// POST /tasks/bulk-done — `op=done` / `op=restore` on the selection, or `op=purge`:
/// delete the view's done tasks. Each asks first, saying how many.
#[handler]
pub async fn bulk_done(ctx: Ctx, state: Data<&State>, form: RawForm) -> AppResult<Response> {
    let spec = &TASKS;
    let req = BulkRequest::parse(spec, &form);
    let op = req.value("op").unwrap_or_default().to_owned();
    if !matches!(op.as_str(), "done" | "restore" | "purge") {
        return Err(AppError::BadRequest);
    }
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let picked = req.pick(&mut tx, &ctx, spec, &scope).await?;
    if let Some(refused) = req.refuse_picked(&ctx, spec, &picked) {
        tx.commit().await?;
        return Ok(refused);
    }
    let Picked::Rows(ids) = picked else {
        return Err(AppError::BadRequest);
    };
    let (allowed, skipped) = manageable(&mut tx, spec, &scope, &ids).await?;
    let mut ids: Vec<TaskId> = allowed.iter().map(|(id, _)| TaskId(*id)).collect();
    if op == "purge" {
        ids = model::only_done(&mut tx, &ids).await?;
    }
    if ids.is_empty() {
        tx.commit().await?;
        return Ok(req.refuse(&ctx, spec, ctx.t("list.bulk_not_yours")));
    }
    let what = counted(&ctx, spec, ids.len());
    let (ask, done) = match op.as_str() {
        "done" => ("tasks.bulk_done_confirm", "tasks.bulk_done_done"),
        "restore" => ("tasks.bulk_restore_confirm", "tasks.bulk_restore_done"),
        _ => ("tasks.purge_confirm", "tasks.purge_done_done"),
    };
    let args = [("what", what.as_str())];
    if !req.confirmed {
        tx.commit().await?;
        let purge = op == "purge";
        let warning = purge.then(|| ctx.t("tasks.bulk_delete_warning"));
        return Ok(req
            .confirm_page(
                &ctx,
                spec,
                &ctx.locale.tf(ask, &args),
                warning.as_deref(),
                purge,
            )
            .into_response());
    }
    let changed = match op.as_str() {
        "done" => model::set_done(&mut tx, &ids, true, ctx.user).await?.len(),
        "restore" => model::set_done(&mut tx, &ids, false, ctx.user).await?.len(),
        _ => model::delete_many(&mut tx, &ids).await?,
    };
    tx.commit().await?;
    let what = counted(&ctx, spec, changed);
    let text = with_skipped(
        &ctx,
        ctx.locale.tf(done, &[("what", what.as_str())]),
        skipped,
    );
    Ok(req.done(&ctx, spec, text))
}
