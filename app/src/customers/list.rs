//! GET /customers — 客户一览, on the shared list machinery ([`crate::listing`]): the
//! customer list declares its fields, columns, quick filters and bulk actions in
//! [`CUSTOMERS`]; its own parts are the main-contact and tag columns, the tag filter and
//! bulk tagging.
//!
//! The name column sorts in the database's order (code points), as it always has: the
//! export test and bookmarks rely on it. Owners and categories sort by name in pinyin
//! order.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use maud::{Markup, html};
use poem::{Request, handler, web::Data};

use crate::{
    custom_fields::Entity,
    customers::model::{self, Company},
    db::TenantTx,
    error::AppResult,
    ids::{CompanyId, TagId},
    listing::{
        self, ACTIVE_PEOPLE, Cast, ColumnDef, Dom, FieldDef, How, ListSpec, Lookups, Options,
        PEOPLE, ParamDef, QuickDef, SortKey, Source, Texts, VISIBILITY,
        filter::{self as lf, FieldType, Op, Problem},
        sql::Sql,
        views::{self, Parts},
    },
    schema::contacts,
    state::State,
    tags::model as tags,
    web::{ctx::Ctx, layout::Module},
};

/// The tenant's customer categories, by name in pinyin order.
pub const CATEGORIES: Source = Source {
    key: "customer_categories",
    sql: "SELECT id, name FROM customer_categories WHERE tenant_id = $1 \
          ORDER BY name COLLATE \"zh-x-icu\", id",
};

/// The tenant's tags, by name.
pub const TAGS: Source = Source {
    key: "tags",
    sql: "SELECT id, name FROM tags WHERE tenant_id = $1 ORDER BY name, id LIMIT 1000",
};

/// Companies with one of the tags.
fn with_tags(ids: Vec<i64>) -> Sql {
    Sql::new(
        "companies.id IN (SELECT company_tags.company_id FROM company_tags \
         WHERE company_tags.tenant_id = companies.tenant_id AND company_tags.tag_id = ANY(",
    )
    .ints(ids)
    .sql("))")
}

fn tag_condition(op: Op, value: &str, look: &Lookups<'_>) -> Result<Sql, fn(usize) -> Problem> {
    const TAGGED: &str = "EXISTS (SELECT 1 FROM company_tags t WHERE t.tenant_id = companies.tenant_id AND t.company_id = companies.id)";
    match op {
        Op::Empty => Ok(Sql::new(format!("NOT {TAGGED}"))),
        Op::NotEmpty => Ok(Sql::new(TAGGED)),
        // An unknown name matches nothing rather than failing, so that a condition cannot
        // tell a tag that exists only on hidden records from one that does not exist.
        _ => Ok(with_tags(
            lf::resolve(value, op, look.sources.rows(TAGS)).unwrap_or_default(),
        )),
    }
}

const fn text(name: &'static str, label: &'static str, sql: &'static str) -> FieldDef {
    FieldDef {
        name,
        label,
        kind: FieldType::Text,
        sql,
        nullable: false,
        how: How::Text,
    }
}

const fn plain(key: &'static str, label: &'static str) -> ColumnDef {
    ColumnDef {
        key,
        label,
        sort: None,
        source: None,
        class: None,
    }
}

/// 客户一览.
pub static CUSTOMERS: ListSpec = ListSpec {
    key: "customers",
    path: "/customers",
    module: Module::Customers,
    title: "customers.title",
    table: "companies",
    select: model::COLUMNS,
    entity: Some(Entity::Company),
    dom: Dom {
        search: "customer-search",
        table: "companies",
        row: "company",
        id_field: "company_id",
    },
    name_search: model::name_contains,
    fields: &[
        FieldDef {
            name: "name",
            label: "company.name",
            kind: FieldType::Text,
            sql: "companies.name",
            nullable: false,
            how: How::Name,
        },
        text("phone", "company.phone", "companies.phone"),
        text("email", "field.email", "companies.email"),
        text("website", "company.website", "companies.website"),
        text("address", "company.address", "companies.address"),
        text(
            "introduction",
            "company.introduction",
            "companies.introduction",
        ),
        FieldDef {
            name: "category",
            label: "company.category",
            kind: FieldType::Choice,
            sql: "companies.category_id",
            nullable: true,
            how: How::Choice(Options::Source(CATEGORIES)),
        },
        FieldDef {
            name: "owner",
            label: "company.owner",
            kind: FieldType::Choice,
            sql: "companies.owner_id",
            nullable: false,
            how: How::Choice(Options::Source(PEOPLE)),
        },
        FieldDef {
            name: "visibility",
            label: "company.visibility",
            kind: FieldType::Choice,
            sql: "companies.visibility",
            nullable: false,
            how: How::Choice(Options::Fixed(VISIBILITY)),
        },
        FieldDef {
            name: "tag",
            label: "tags.title",
            kind: FieldType::Choices,
            sql: "companies.id",
            nullable: false,
            how: How::Special {
                source: Some(TAGS),
                compile: tag_condition,
            },
        },
        FieldDef {
            name: "created",
            label: "company.created_at",
            kind: FieldType::Date,
            sql: "companies.created_at",
            nullable: false,
            how: How::Day,
        },
        FieldDef {
            name: "updated",
            label: "company.updated_at",
            kind: FieldType::Date,
            sql: "companies.updated_at",
            nullable: false,
            how: How::Day,
        },
    ],
    name_column: ColumnDef {
        key: "name",
        label: "company.name",
        sort: Some(SortKey::Expr {
            sql: "companies.name",
            cast: Cast::Text,
            asc: true,
        }),
        source: None,
        class: None,
    },
    columns: &[
        plain("contact", "customers.main_contact"),
        plain("phone", "company.phone"),
        plain("email", "field.email"),
        ColumnDef {
            key: "category",
            label: "company.category",
            sort: Some(SortKey::Rank {
                sql: "coalesce(companies.category_id, 0)",
                source: CATEGORIES,
                none: true,
            }),
            source: Some(CATEGORIES),
            class: None,
        },
        ColumnDef {
            key: "tags",
            label: "tags.title",
            sort: None,
            source: None,
            class: Some("company-tags"),
        },
        ColumnDef {
            key: "owner",
            label: "company.owner",
            sort: Some(SortKey::Rank {
                sql: "companies.owner_id",
                source: PEOPLE,
                none: false,
            }),
            source: Some(PEOPLE),
            class: None,
        },
        ColumnDef {
            key: "visibility",
            label: "company.visibility",
            sort: Some(SortKey::Expr {
                sql: "companies.visibility",
                cast: Cast::Text,
                asc: true,
            }),
            source: None,
            class: None,
        },
        plain("website", "company.website"),
        plain("address", "company.address"),
        ColumnDef {
            key: "created",
            label: "company.created_at",
            sort: Some(SortKey::Id),
            source: None,
            class: None,
        },
        ColumnDef {
            key: "updated",
            label: "company.updated_at",
            sort: Some(SortKey::Expr {
                sql: "companies.updated_at",
                cast: Cast::Time,
                asc: false,
            }),
            source: None,
            class: None,
        },
        ColumnDef {
            key: "activity",
            label: "company.last_activity_at",
            sort: Some(SortKey::Expr {
                sql: "companies.last_activity_at",
                cast: Cast::Time,
                asc: false,
            }),
            source: None,
            class: None,
        },
    ],
    default_columns: &["contact", "phone", "email", "category", "tags", "owner"],
    default_sort: "created",
    quick: &[
        QuickDef {
            key: "mine",
            label: "filters.quick_mine",
            sql: |a| Some(Sql::new("companies.owner_id = ").int(a.me.0)),
            input: None,
        },
        QuickDef {
            key: "public",
            label: "filters.quick_public",
            sql: |_| Some(Sql::new("companies.visibility = 'public'")),
            input: None,
        },
        QuickDef {
            key: "recent",
            label: "filters.quick_recent",
            sql: |_| Some(Sql::new("companies.created_at > now() - interval '7 days'")),
            input: None,
        },
        QuickDef {
            key: "idle",
            label: "filters.quick_idle",
            sql: |_| {
                Some(Sql::new(
                    "companies.last_activity_at < now() - interval '30 days'",
                ))
            },
            input: None,
        },
    ],
    params: &[ParamDef {
        name: "tag",
        parse: |v| v.parse::<i64>().ok().map(|id| id.to_string()),
        sql: Some(|v| with_tags(v.parse().map(|id| vec![id]).unwrap_or_default())),
    }],
    tabs: None,
    bulk: &listing::owner_category_visibility_delete(
        ACTIVE_PEOPLE,
        CATEGORIES,
        "company.no_category",
    ),
    texts: Texts {
        new: "customers.new",
        new_href: "/customers/new",
        search: "customers.name_contains",
        empty: "customers.empty",
        no_match: "customers.no_match",
        counted: "list.customers_counted",
        noun: "list.customers_noun",
        all: "filters.all",
        filters_empty: "filters.empty",
        delete_warning: "customers.delete_warning",
    },
    export: Some("company"),
};

/// GET /customers
#[handler]
pub async fn index(ctx: Ctx, state: Data<&State>, req: &Request) -> AppResult<Markup> {
    let raw = req.uri().query().unwrap_or("");
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let mut list = listing::load::<Company>(&mut tx, &ctx, &CUSTOMERS, raw).await?;
    let ids: Vec<CompanyId> = list.rows.iter().map(|c| c.id).collect();
    let shows = |col: &str| list.columns.iter().any(|c| c == col);
    let row_tags = if shows("tags") {
        tags::of_companies(&mut tx, &ids).await?
    } else {
        HashMap::new()
    };
    let mains = if shows("contact") {
        main_contacts(&mut tx, &ids).await?
    } else {
        HashMap::new()
    };
    // The tag's name only when it is on a company this user can see.
    let tag_name = match list.filter.param("tag").and_then(|t| t.parse().ok()) {
        Some(id) => tags::visible_name(&mut tx, &list.scope, TagId(id)).await?,
        None => None,
    };
    tx.commit().await?;

    let tag_notice = list.filter.param("tag").map(|_| {
        let without = list.filter.with_param("tag", None);
        html! {
            div.alert.alert-info.d-flex.align-items-center.gap-2.py-2 #tag-filter {
                (ctx.t("tags.filtered_by")) " " span.badge.text-bg-info { (tag_name.as_deref().unwrap_or("?")) }
                a.ms-auto href=(views::href(&CUSTOMERS, &without.to_query(&CUSTOMERS), list.view)) { (ctx.t("tags.clear_filter")) }
            }
        }
    });
    let sources = &list.sources;
    let name = |c: &Company| html! { a href={"/customers/" (c.id)} { (c.name) } };
    let cell = |c: &Company, col: &str| -> Markup {
        html! {
            @match col {
                "contact" => (mains.get(&c.id).map_or("", String::as_str)),
                "phone" => (c.phone),
                "email" => (c.email),
                "category" => (c.category_id.map_or("", |id| sources.name(CATEGORIES, id.0))),
                "tags" => {
                    @for (id, name) in row_tags.get(&c.id).map(Vec::as_slice).unwrap_or_default() {
                        a.badge.text-bg-info.me-1.text-decoration-none href={"/customers?tag=" (id)} { (name) }
                    }
                }
                "owner" => (sources.name(PEOPLE, c.owner_id.0)),
                "visibility" => (ctx.t(&format!("visibility.{}", c.visibility))),
                "website" => (c.website),
                "address" => (c.address),
                "created" => (ctx.datetime(c.created_at)),
                "updated" => (ctx.datetime(c.updated_at)),
                "activity" => (ctx.datetime(c.last_activity_at)),
                _ => {}
            }
        }
    };
    let parts = Parts {
        buttons: html! { a.btn.btn-primary href="/customers/new" { (ctx.t("customers.new")) } },
        notices: tag_notice.unwrap_or_default(),
        name: &name,
        cell: &cell,
        bulk: bulk_tags(&ctx),
    };
    Ok(views::page(&ctx, &list, parts))
}

/// Bulk tagging in the bulk bar: a tag name and add / remove.
fn bulk_tags(ctx: &Ctx) -> Markup {
    html! {
        label.form-label.mb-0.text-secondary for="f-bulk-tag" { (ctx.t("tags.bulk_label")) }
        input.form-control.form-control-sm.w-auto #f-bulk-tag name="tag" maxlength="30"
            placeholder=(ctx.t("tags.name"));
        button.btn.btn-sm.btn-outline-primary.text-nowrap type="submit" formaction="/customers/bulk-tag" name="op" value="add" { (ctx.t("tags.add")) }
        button.btn.btn-sm.btn-outline-secondary.text-nowrap type="submit" formaction="/customers/bulk-tag" name="op" value="remove" formnovalidate { (ctx.t("tags.remove")) }
    }
}

/// The first contact of each company (its main contact), with a way to reach them.
pub(crate) async fn main_contacts(
    tx: &mut TenantTx,
    ids: &[CompanyId],
) -> AppResult<HashMap<CompanyId, String>> {
    let tenant = tx.tenant();
    let rows: Vec<(CompanyId, String, String, String)> = contacts::table
        .filter(contacts::tenant_id.eq(tenant))
        .filter(contacts::company_id.eq_any(ids))
        .distinct_on(contacts::company_id)
        .order((contacts::company_id, contacts::id))
        .select((
            contacts::company_id,
            contacts::name,
            contacts::mobile,
            contacts::phone,
        ))
        .load(&mut **tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(company, name, mobile, phone)| {
            let reach = if mobile.is_empty() { phone } else { mobile };
            let text = if reach.is_empty() {
                name
            } else {
                format!("{name} {reach}")
            };
            (company, text)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::CUSTOMERS;
    use crate::listing::filter::ListFilter;

    #[test]
    fn a_filter_round_trips_through_its_query_string() {
        let raw = "q=%E5%8C%97%E4%BA%AC&quick=mine&f2=cf_7&o2=after&v2=2026-01-01&f1=name&o1=contains&v1=%E7%A7%91%E6%8A%80&sort=name&dir=desc&before=99";
        let filter = ListFilter::from_query(&CUSTOMERS, raw);
        assert_eq!(filter.q, "北京");
        assert_eq!(filter.quick, Some("mine"));
        assert_eq!(filter.sort, "name");
        assert!(!filter.asc);
        assert_eq!(filter.conditions.len(), 2);
        assert_eq!(
            filter.conditions[0].field, "name",
            "ordered by their number"
        );
        assert_eq!(filter.conditions[1].value, "2026-01-01");
        assert_eq!(
            ListFilter::from_query(&CUSTOMERS, &filter.to_query(&CUSTOMERS)),
            filter
        );
        assert!(ListFilter::from_query(&CUSTOMERS, "").is_unfiltered(&CUSTOMERS));
        assert!(
            ListFilter::from_query(&CUSTOMERS, "f99=name&o99=contains&v99=x")
                .is_unfiltered(&CUSTOMERS)
        );
        // Unknown sorts and malformed tags are dropped, the default sort is not spelled.
        assert_eq!(
            ListFilter::from_query(&CUSTOMERS, "sort=bogus&tag=abc&sort=created")
                .to_query(&CUSTOMERS),
            ""
        );
        assert_eq!(
            ListFilter::from_query(&CUSTOMERS, "tag=7&sort=owner").to_query(&CUSTOMERS),
            "tag=7&sort=owner"
        );
    }
}
