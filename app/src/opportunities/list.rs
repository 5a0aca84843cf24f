//! GET /opportunities — 销售时机一览 / 机会列表, on the shared list machinery
//! ([`crate::listing`]): the tabs 跟踪中 / 已经成功 / 失败 / 全部 (`?status=`), the quick
//! filters (mine, closing this month, no activity in 30 days, over an amount), search,
//! saved filters, the column chooser, sorting by any shown column (names, owners,
//! categories and stages in pinyin or pipeline order), keyset pages, bulk actions and
//! export of the view. Visibility is the customers' rule on the opportunity's own owner
//! and visibility.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Date, Jsonb, Nullable, Text, Timestamptz},
};
use maud::{Markup, html};
use poem::{Request, handler, web::Data};

use crate::{
    custom_fields::Entity,
    db::TenantTx,
    error::AppResult,
    files::DeletedFiles,
    history::{self, Action},
    ids::OpportunityId,
    listing::{
        self, ACTIVE_PEOPLE, Cast, ColumnDef, Dom, FieldDef, How, ListSpec, Options, PEOPLE,
        ParamDef, QuickDef, QuickInput, Row, SortKey, Source, Tabs, Texts, VISIBILITY, choice,
        filter::{FieldType, parse_money},
        ranked,
        routes::Target,
        sql::Sql,
        text::{escape_like, term_grams},
        views::{self, Parts},
    },
    money,
    opportunities::{model::Status, views::status_badge},
    state::State,
    web::{ctx::Ctx, layout::Module},
};

/// The tenant's opportunity categories, by name in pinyin order.
pub const CATEGORIES: Source = Source {
    key: "opportunity_categories",
    sql: "SELECT id, name FROM opportunity_categories WHERE tenant_id = $1 \
          ORDER BY name COLLATE \"zh-x-icu\", id",
};

/// The tenant's stages in pipeline order (retired ones too: their opportunities remain).
pub const STAGES: Source = Source {
    key: "opportunity_stages",
    sql: "SELECT id, name FROM opportunity_stages WHERE tenant_id = $1 ORDER BY position, id",
};

/// The statuses and their labels.
const STATUSES: &[(&str, &str)] = &[
    ("tracking", "opportunities.status_tracking"),
    ("won", "opportunities.status_won"),
    ("lost", "opportunities.status_lost"),
];

/// The columns an opportunity row is read with ([`Listed`]).
const COLUMNS: &str = "opportunities.id, opportunities.company_id, \
    (SELECT companies.name FROM companies WHERE companies.tenant_id = opportunities.tenant_id \
      AND companies.id = opportunities.company_id) AS company_name, \
    opportunities.name, opportunities.amount, opportunities.currency, \
    opportunities.category_id, opportunities.stage_id, opportunities.status, \
    opportunities.expected_close, opportunities.closed_at, opportunities.owner_id, \
    opportunities.visibility, opportunities.custom, opportunities.created_at, \
    opportunities.updated_at, opportunities.last_activity_at";

/// An opportunity as its list shows it.
#[derive(Debug, QueryableByName)]
pub struct Listed {
    /// Id.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// The company.
    #[diesel(sql_type = BigInt)]
    pub company_id: i64,
    /// The company's name.
    #[diesel(sql_type = Nullable<Text>)]
    pub company_name: Option<String>,
    /// Name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Minor units of `currency`.
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
    /// ISO 4217 code.
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// 分类.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub category_id: Option<i64>,
    /// Stage.
    #[diesel(sql_type = BigInt)]
    pub stage_id: i64,
    /// `tracking`, `won` or `lost`.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// 预计成交日期.
    #[diesel(sql_type = Nullable<Date>)]
    pub expected_close: Option<NaiveDate>,
    /// When it was won or lost.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub closed_at: Option<DateTime<Utc>>,
    /// 负责人.
    #[diesel(sql_type = BigInt)]
    pub owner_id: i64,
    /// `public` or `private`.
    #[diesel(sql_type = Text)]
    pub visibility: String,
    /// Custom field values.
    #[diesel(sql_type = Jsonb)]
    pub custom: serde_json::Value,
    /// Created.
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    /// Last note, stage or status change.
    #[diesel(sql_type = Timestamptz)]
    pub last_activity_at: DateTime<Utc>,
}

impl Row for Listed {
    fn id(&self) -> i64 {
        self.id
    }

    fn label(&self) -> &str {
        &self.name
    }

    fn custom(&self) -> &serde_json::Value {
        &self.custom
    }
}

/// "name contains": the name's grams, with a LIKE recheck for longer terms.
fn name_contains(term: &str) -> Vec<Sql> {
    let grams = Sql::new("opportunities.name_grams @> ").texts(term_grams(term));
    if term.chars().count() <= 2 {
        return vec![grams];
    }
    vec![
        grams,
        Sql::new("kehu_search_text(opportunities.name) LIKE ")
            .text(format!("%{}%", escape_like(term))),
    ]
}

/// Expected to close in the tenant's current month.
fn closing_this_month(time_zone: &str) -> Sql {
    let month = || {
        Sql::new("date_trunc('month', now() AT TIME ZONE ")
            .text(time_zone.to_owned())
            .sql(")::date")
    };
    Sql::new("opportunities.expected_close >= ")
        .push(month())
        .sql(" AND opportunities.expected_close < (")
        .push(month())
        .sql(" + interval '1 month')::date")
}

const fn sorted(key: &'static str, label: &'static str, sort: SortKey) -> ColumnDef {
    ColumnDef {
        key,
        label,
        sort: Some(sort),
        source: None,
        class: None,
    }
}

/// 销售机会一览.
pub static OPPORTUNITIES: ListSpec = ListSpec {
    key: "opportunities",
    path: "/opportunities",
    module: Module::Opportunities,
    title: "opportunities.title",
    table: "opportunities",
    select: COLUMNS,
    entity: Some(Entity::Opportunity),
    dom: Dom {
        search: "opportunity-search",
        table: "opportunities",
        row: "opportunity",
        id_field: "opportunity_id",
    },
    name_search: name_contains,
    fields: &[
        FieldDef {
            name: "name",
            label: "opportunities.name",
            kind: FieldType::Text,
            sql: "opportunities.name",
            nullable: false,
            how: How::Name,
        },
        FieldDef {
            name: "description",
            label: "opportunities.description",
            kind: FieldType::Text,
            sql: "opportunities.description",
            nullable: false,
            how: How::Text,
        },
        FieldDef {
            name: "amount",
            label: "opportunities.amount",
            kind: FieldType::Money,
            sql: "opportunities.amount",
            nullable: false,
            how: How::Money,
        },
        choice(
            "status",
            "opportunities.status",
            "opportunities.status",
            false,
            Options::Fixed(STATUSES),
        ),
        choice(
            "stage",
            "opportunities.stage",
            "opportunities.stage_id",
            false,
            Options::Source(STAGES),
        ),
        choice(
            "category",
            "opportunities.category",
            "opportunities.category_id",
            true,
            Options::Source(CATEGORIES),
        ),
        choice(
            "owner",
            "opportunities.owner",
            "opportunities.owner_id",
            false,
            Options::Source(PEOPLE),
        ),
        choice(
            "visibility",
            "opportunities.visibility",
            "opportunities.visibility",
            false,
            Options::Fixed(VISIBILITY),
        ),
        FieldDef {
            name: "expected_close",
            label: "opportunities.expected_close",
            kind: FieldType::Date,
            sql: "opportunities.expected_close",
            nullable: true,
            how: How::Date,
        },
        FieldDef {
            name: "created",
            label: "opportunities.created_at",
            kind: FieldType::Date,
            sql: "opportunities.created_at",
            nullable: false,
            how: How::Day,
        },
    ],
    name_column: sorted(
        "name",
        "opportunities.name",
        SortKey::Expr {
            sql: "opportunities.name COLLATE \"zh-x-icu\"",
            cast: Cast::Text,
            asc: true,
        },
    ),
    columns: &[
        ColumnDef {
            key: "company",
            label: "opportunities.company",
            sort: None,
            source: None,
            class: None,
        },
        sorted(
            "status",
            "opportunities.status",
            SortKey::Expr {
                sql: "opportunities.status",
                cast: Cast::Text,
                asc: true,
            },
        ),
        ranked(
            "stage",
            "opportunities.stage",
            "opportunities.stage_id",
            STAGES,
            false,
        ),
        sorted(
            "amount",
            "opportunities.amount",
            SortKey::Expr {
                sql: "opportunities.amount",
                cast: Cast::Int,
                asc: false,
            },
        ),
        sorted(
            "expected_close",
            "opportunities.expected_close",
            SortKey::Expr {
                sql: "coalesce(opportunities.expected_close, 'infinity'::date)",
                cast: Cast::Date,
                asc: true,
            },
        ),
        ranked(
            "owner",
            "opportunities.owner",
            "opportunities.owner_id",
            PEOPLE,
            false,
        ),
        ranked(
            "category",
            "opportunities.category",
            "coalesce(opportunities.category_id, 0)",
            CATEGORIES,
            true,
        ),
        sorted(
            "visibility",
            "opportunities.visibility",
            SortKey::Expr {
                sql: "opportunities.visibility",
                cast: Cast::Text,
                asc: true,
            },
        ),
        sorted("created", "opportunities.created_at", SortKey::Id),
        sorted(
            "activity",
            "opportunities.last_activity_at",
            SortKey::Expr {
                sql: "opportunities.last_activity_at",
                cast: Cast::Time,
                asc: false,
            },
        ),
    ],
    default_columns: &[
        "company",
        "status",
        "stage",
        "amount",
        "expected_close",
        "owner",
        "created",
    ],
    default_sort: "created",
    quick: &[
        QuickDef {
            key: "mine",
            label: "opportunities.quick_mine",
            sql: |a| Some(Sql::new("opportunities.owner_id = ").int(a.me.0)),
            input: None,
        },
        QuickDef {
            key: "closing",
            label: "opportunities.quick_closing",
            sql: |a| Some(closing_this_month(a.time_zone)),
            input: None,
        },
        QuickDef {
            key: "idle",
            label: "filters.quick_idle",
            sql: |_| {
                Some(Sql::new(
                    "opportunities.last_activity_at < now() - interval '30 days'",
                ))
            },
            input: None,
        },
        QuickDef {
            key: "over",
            label: "opportunities.quick_over",
            sql: |a| {
                let fen = parse_money(a.filter.param("min")?)?;
                Some(Sql::new("opportunities.amount >= ").int(fen))
            },
            input: Some(QuickInput {
                param: "min",
                label: "opportunities.quick_over_amount",
            }),
        },
    ],
    params: &[ParamDef {
        name: "min",
        parse: |v| parse_money(v).map(money::to_input),
        sql: None,
    }],
    tabs: Some(Tabs {
        param: "status",
        default: "tracking",
        tabs: &[
            (
                "tracking",
                "opportunities.status_tracking",
                Some("opportunities.status = 'tracking'"),
            ),
            (
                "won",
                "opportunities.status_won",
                Some("opportunities.status = 'won'"),
            ),
            (
                "lost",
                "opportunities.status_lost",
                Some("opportunities.status = 'lost'"),
            ),
            ("all", "opportunities.tab_all", None),
        ],
    }),
    bulk: &listing::owner_category_visibility_delete(
        ACTIVE_PEOPLE,
        CATEGORIES,
        "opportunities.no_category",
    ),
    texts: Texts {
        new: "opportunities.new",
        new_href: "/opportunities/new",
        search: "opportunities.name_contains",
        empty: "opportunities.empty",
        no_match: "opportunities.no_match",
        counted: "list.opportunities_counted",
        noun: "list.opportunities_noun",
        all: "opportunities.quick_all",
        filters_empty: "filters.empty",
        delete_warning: "opportunities.bulk_delete_warning",
    },
    export: Some("opportunity"),
};

/// GET /opportunities
#[handler]
pub async fn index(ctx: Ctx, state: Data<&State>, req: &Request) -> AppResult<Markup> {
    let raw = req.uri().query().unwrap_or("");
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let list = listing::load::<Listed>(&mut tx, &ctx, &OPPORTUNITIES, raw).await?;
    tx.commit().await?;

    let sources = &list.sources;
    let name = |o: &Listed| html! { a href={"/opportunities/" (o.id)} { (o.name) } };
    let cell = |o: &Listed, col: &str| -> Markup {
        html! {
            @match col {
                "company" => a href={"/customers/" (o.company_id)} { (o.company_name.as_deref().unwrap_or_default()) },
                "status" => (status_badge(&ctx, Status::parse(&o.status).unwrap_or(Status::Tracking))),
                "stage" => (sources.name(STAGES, o.stage_id)),
                "amount" => span.text-nowrap { (money::format(ctx.locale, o.amount, &o.currency)) },
                "expected_close" => {
                    @if let Some(date) = o.expected_close {
                        @let overdue = o.status == "tracking" && date < ctx.today();
                        span.text-nowrap.text-danger[overdue] { (date.format("%Y-%m-%d")) }
                    }
                }
                "owner" => (sources.name(PEOPLE, o.owner_id)),
                "category" => (o.category_id.map_or("", |id| sources.name(CATEGORIES, id))),
                "visibility" => (ctx.t(&format!("visibility.{}", o.visibility))),
                "created" => (ctx.datetime(o.created_at)),
                "activity" => (ctx.datetime(o.last_activity_at)),
                _ => {}
            }
        }
    };
    let parts = Parts {
        buttons: html! {
            a.btn.btn-primary href="/opportunities/new" { (ctx.t("opportunities.new")) }
            a.btn.btn-outline-secondary href="/opportunities/board" { (ctx.t("tab.board")) }
        },
        notices: html! {},
        name: &name,
        cell: &cell,
        bulk: html! {},
    };
    Ok(views::page(&ctx, &list, parts))
}

/// 销售机会一览 as the list's shared endpoints see it.
pub struct Opportunities;

impl Target for Opportunities {
    fn spec() -> &'static ListSpec {
        &OPPORTUNITIES
    }

    async fn delete(tx: &mut TenantTx, ctx: &Ctx, ids: &[i64]) -> AppResult<DeletedFiles> {
        let ids: Vec<OpportunityId> = ids.iter().copied().map(OpportunityId).collect();
        let (files, deleted) = super::model::delete_many(tx, &ids).await?;
        for (company, name) in deleted {
            history::record(
                tx,
                company,
                Some(ctx.user),
                Action::OpportunityDeleted,
                &name,
                vec![],
            )
            .await?;
        }
        Ok(files)
    }

    async fn record(
        tx: &mut TenantTx,
        ctx: &Ctx,
        id: i64,
        changes: Vec<history::Change>,
    ) -> AppResult<()> {
        super::model::record(
            tx,
            OpportunityId(id),
            Some(ctx.user),
            super::model::EventKind::Updated(changes),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::OPPORTUNITIES;
    use crate::listing::filter::ListFilter;

    #[test]
    fn tabs_and_the_amount_filter_round_trip_through_the_query_string() {
        let spec = &OPPORTUNITIES;
        let filter =
            ListFilter::from_query(spec, "status=won&quick=over&min=1%2C000.5&sort=amount");
        assert_eq!(filter.tab(spec), Some("won"));
        assert_eq!(filter.param("min"), Some("1000.50"));
        assert_eq!(ListFilter::from_query(spec, &filter.to_query(spec)), filter);
        // The default tab is 跟踪中; an unknown tab is dropped.
        assert_eq!(ListFilter::from_query(spec, "").tab(spec), Some("tracking"));
        assert_eq!(
            ListFilter::from_query(spec, "status=bogus").to_query(spec),
            ""
        );
        assert!(ListFilter::from_query(spec, "status=lost").is_unfiltered(spec));
        assert_eq!(
            ListFilter::from_query(spec, "min=abc").param("min"),
            None,
            "a malformed amount is ignored"
        );
    }
}
