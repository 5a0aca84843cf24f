//! Who sees which customer records — the one place that decides it (DESIGN.md §2).
//!
//! - Admins see every record, and can narrow the view to public records or to one
//!   employee's records (查看公共数据或某个员工的数据).
//! - Members see their own records and public ones.
//! - Managers also see the records of everyone who reports to them, directly or not.
//!
//! Lists, search, autocomplete, detail pages, counts, tags and exports all filter through
//! [`Scope`].

use diesel::{
    QueryableByName,
    dsl::sql,
    pg::Pg,
    prelude::*,
    sql_types::{BigInt, Bool},
};
use diesel_async::RunQueryDsl;

use crate::{
    auth::ctx::Ctx,
    db::TenantTx,
    error::AppResult,
    ids::UserId,
    schema::{companies, opportunities},
    users::model::Role,
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

    /// The condition a visible company meets.
    pub fn companies(&self) -> CompanyFilter {
        match self {
            Self::Admin(View::All) => Box::new(sql::<Bool>("TRUE")),
            Self::Admin(View::Public) => Box::new(companies::visibility.eq("public")),
            Self::Admin(View::Employee(id)) => Box::new(companies::owner_id.eq(*id)),
            Self::Owners(owners) => Box::new(
                companies::visibility
                    .eq("public")
                    .or(companies::owner_id.eq_any(owners.clone())),
            ),
        }
    }

    /// The condition a visible opportunity meets (the same rule as for companies: an
    /// opportunity has its own owner and visibility).
    pub fn opportunities(&self) -> OpportunityFilter {
        match self {
            Self::Admin(View::All) => Box::new(sql::<Bool>("TRUE")),
            Self::Admin(View::Public) => Box::new(opportunities::visibility.eq("public")),
            Self::Admin(View::Employee(id)) => Box::new(opportunities::owner_id.eq(*id)),
            Self::Owners(owners) => Box::new(
                opportunities::visibility
                    .eq("public")
                    .or(opportunities::owner_id.eq_any(owners.clone())),
            ),
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

/// The user and everyone who reports to them, directly or indirectly.
async fn team_of(tx: &mut TenantTx, manager: UserId) -> AppResult<Vec<UserId>> {
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
    use super::View;
    use crate::ids::UserId;

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
