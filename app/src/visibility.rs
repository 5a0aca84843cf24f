//! Who sees which records — the one place that decides it (DESIGN.md §2), for every
//! record with an owner and a visibility (companies, opportunities, and the lists that
//! come after them).
//!
//! - Admins see every record, and can narrow the view to public records or to one
//!   employee's records (查看公共数据或某个员工的数据).
//! - Members see their own records and public ones.
//! - Managers also see the records of everyone who reports to them, directly or not.
//!
//! Lists, search, autocomplete, detail pages, counts, tags and exports all filter through
//! [`Scope`]: [`Scope::owned`] is the rule, as SQL over a table's `owner_id` and
//! `visibility` columns; [`Scope::companies`] and [`Scope::opportunities`] are that rule
//! as diesel filters of their tables.

use diesel::{
    QueryableByName,
    pg::Pg,
    prelude::*,
    sql_types::{BigInt, Bool},
};
use diesel_async::RunQueryDsl;

use crate::{
    db::TenantTx,
    error::AppResult,
    ids::{TenantId, UserId},
    listing::sql::Sql,
    schema::{companies, opportunities, tasks},
    users::model::Role,
    web::ctx::Ctx,
};

/// The view an admin picked (others always get their own scope).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    /// Everything the user may see.
    #[default]
    All,
    /// Only public records.
    Public,
    /// Only the records one employee owns.
    Employee(UserId),
}

impl View {
    /// Parses the `view` query parameter: `public`, `user-<id>`, anything else is `All`.
    pub fn parse(raw: Option<&str>) -> Self {
        match raw {
            Some("public") => Self::Public,
            Some(v) => v
                .strip_prefix("user-")
                .and_then(|id| id.parse().ok())
                .map_or(Self::All, |id| Self::Employee(UserId(id))),
            None => Self::All,
        }
    }

    /// The query parameter value.
    pub fn as_param(self) -> String {
        match self {
            Self::All => String::new(),
            Self::Public => "public".into(),
            Self::Employee(id) => format!("user-{id}"),
        }
    }
}

/// What the signed-in user may see, resolved once per request.
#[derive(Clone, Debug)]
pub enum Scope {
    /// An admin's view.
    Admin(View),
    /// Public records plus those owned by these users (the user and, for managers,
    /// everyone below them).
    Owners(Vec<UserId>),
}

/// A boxed SQL condition on `companies`.
pub type CompanyFilter = Box<dyn BoxableExpression<companies::table, Pg, SqlType = Bool>>;

/// A boxed SQL condition on `opportunities`.
pub type OpportunityFilter = Box<dyn BoxableExpression<opportunities::table, Pg, SqlType = Bool>>;

/// A boxed SQL condition on `tasks`.
pub type TaskFilter = Box<dyn BoxableExpression<tasks::table, Pg, SqlType = Bool>>;

impl Scope {
    /// Resolves the scope of `ctx`. A non-admin's `view` is ignored.
    pub async fn resolve(tx: &mut TenantTx, ctx: &Ctx, view: View) -> AppResult<Self> {
        Self::of_user(tx, ctx.user, ctx.role, view).await
    }

    /// The scope of a user with `role` (jobs acting for a user use this).
    pub async fn of_user(
        tx: &mut TenantTx,
        user: UserId,
        role: Role,
        view: View,
    ) -> AppResult<Self> {
        match role {
            Role::Admin => Ok(Self::Admin(view)),
            Role::Member => Ok(Self::Owners(vec![user])),
            Role::Manager => Ok(Self::Owners(team_of(tx, user).await?)),
        }
    }

    /// The condition a visible row of `table` meets: the table has `owner_id` (a user) and
    /// `visibility` (`public` or `private`). `table` is a name the code chose (never user
    /// input), as it appears in the query.
    pub fn owned(&self, table: &str) -> Sql {
        match self {
            Self::Admin(View::All) => Sql::new("TRUE"),
            Self::Admin(View::Public) => Sql::new(format!("{table}.visibility = 'public'")),
            Self::Admin(View::Employee(id)) => Sql::new(format!("{table}.owner_id = ")).int(id.0),
            Self::Owners(owners) => Sql::new(format!(
                "({table}.visibility = 'public' OR {table}.owner_id = ANY("
            ))
            .ints(owners.iter().map(|u| u.0).collect())
            .sql("))"),
        }
    }

    /// The condition a visible company meets.
    pub fn companies(&self) -> CompanyFilter {
        self.owned("companies").filter()
    }

    /// The ids of `tenant`'s companies this scope sees, as a subquery for what is visible
    /// through its company (contacts, tags, history): `company_id.eq_any(…)`.
    pub fn company_ids(&self, tenant: TenantId) -> companies::BoxedQuery<'static, Pg, BigInt> {
        companies::table
            .filter(companies::tenant_id.eq(tenant))
            .filter(self.companies())
            .select(companies::id)
            .into_boxed()
    }

    /// The condition a visible opportunity meets (the same rule as for companies: an
    /// opportunity has its own owner and visibility).
    pub fn opportunities(&self) -> OpportunityFilter {
        self.owned("opportunities").filter()
    }

    /// The condition a visible task meets (a task has its own owner and visibility).
    pub fn tasks(&self) -> TaskFilter {
        self.owned("tasks").filter()
    }

    /// The same rule as three values for raw SQL over rows that carry an opportunity's
    /// `owner_id` and `visibility` (the statistics rollup, which sums rows of several
    /// owners): a row is visible when
    /// `$everything OR (visibility = 'public' AND $public) OR owner_id = ANY($owners)`.
    pub fn rule(&self) -> Rule {
        match self {
            Self::Admin(View::All) => Rule {
                everything: true,
                public: true,
                owners: vec![],
            },
            Self::Admin(View::Public) => Rule {
                everything: false,
                public: true,
                owners: vec![],
            },
            Self::Admin(View::Employee(id)) => Rule {
                everything: false,
                public: false,
                owners: vec![*id],
            },
            Self::Owners(owners) => Rule {
                everything: false,
                public: true,
                owners: owners.clone(),
            },
        }
    }

    /// True when the user may edit or delete a record owned by `owner`: admins always;
    /// others for their own records and their reports'.
    pub fn can_manage(&self, owner: UserId) -> bool {
        match self {
            Self::Admin(_) => true,
            Self::Owners(owners) => owners.contains(&owner),
        }
    }
}

/// [`Scope`] as bind values; see [`Scope::rule`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Every row is visible.
    pub everything: bool,
    /// Public rows are visible.
    pub public: bool,
    /// Rows of these owners are visible.
    pub owners: Vec<UserId>,
}

impl Rule {
    /// True when a row with this owner and visibility is visible.
    pub fn allows(&self, owner: UserId, visibility: &str) -> bool {
        self.everything || (self.public && visibility == "public") || self.owners.contains(&owner)
    }
}

/// The user and everyone who reports to them, directly or indirectly.
pub async fn team_of(tx: &mut TenantTx, manager: UserId) -> AppResult<Vec<UserId>> {
    #[derive(QueryableByName)]
    struct Member {
        #[diesel(sql_type = BigInt)]
        id: UserId,
    }
    let tenant = tx.tenant();
    let rows: Vec<Member> = diesel::sql_query(
        "WITH RECURSIVE team(id, depth) AS (
             SELECT $2::bigint, 0
             UNION
             SELECT u.id, t.depth + 1 FROM users u JOIN team t ON u.reports_to = t.id
              WHERE u.tenant_id = $1 AND t.depth < 50
         )
         SELECT DISTINCT id FROM team",
    )
    .bind::<BigInt, _>(tenant)
    .bind::<BigInt, _>(manager)
    .load(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|m| m.id).collect())
}

#[cfg(test)]
mod tests {
    use super::{Scope, View};
    use crate::ids::UserId;

    #[test]
    fn the_sql_rule_says_what_the_scope_says() {
        let (me, report, stranger) = (UserId(1), UserId(2), UserId(3));
        let team = Scope::Owners(vec![me, report]);
        let cases = [
            (Scope::Admin(View::All), stranger, "private", true),
            (Scope::Admin(View::Public), stranger, "public", true),
            (Scope::Admin(View::Public), stranger, "private", false),
            (
                Scope::Admin(View::Employee(stranger)),
                stranger,
                "private",
                true,
            ),
            (Scope::Admin(View::Employee(stranger)), me, "public", false),
            (team.clone(), report, "private", true),
            (team.clone(), stranger, "public", true),
            (team, stranger, "private", false),
        ];
        for (scope, owner, visibility, visible) in cases {
            assert_eq!(
                scope.rule().allows(owner, visibility),
                visible,
                "{scope:?} {owner} {visibility}"
            );
        }
    }

    #[test]
    fn the_view_parameter_round_trips() {
        for view in [View::All, View::Public, View::Employee(UserId(42))] {
            let param = view.as_param();
            let parsed = View::parse(if param.is_empty() { None } else { Some(&param) });
            assert_eq!(parsed, view);
        }
        assert_eq!(View::parse(Some("user-x")), View::All);
        assert_eq!(View::parse(Some("garbage")), View::All);
    }
}
