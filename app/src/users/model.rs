//! Users of a tenant: queries and updates. Every function takes a [`TenantTx`] and filters
//! on its tenant explicitly; RLS is the second lock.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Bool},
};
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};

use crate::{
    db::TenantTx,
    error::{AppError, AppResult},
    ids::{TenantId, UserId},
    schema::{invitations, tenants, users},
};

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees and manages everything in the tenant, including users.
    Admin,
    /// Sees their reports' records as well as their own.
    Manager,
    /// Sees their own records and public ones.
    Member,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Manager, Role::Member];

    /// The value stored in `users.role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Manager => "manager",
            Self::Member => "member",
        }
    }

    /// Parses a stored or submitted value.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// The locale key of the role's name.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::Admin => "role.admin",
            Self::Manager => "role.manager",
            Self::Member => "role.member",
        }
    }
}

impl<DB: diesel::backend::Backend> Queryable<diesel::sql_types::Text, DB> for Role
where
    String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
{
    type Row = String;
    fn build(row: String) -> diesel::deserialize::Result<Self> {
        Role::parse(&row).ok_or_else(|| format!("unknown role {row:?}").into())
    }
}

/// A user as lists and forms show them.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Lower-case email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Whom they report to.
    pub reports_to: Option<UserId>,
    /// `invited`, `active` or `disabled`.
    pub status: String,
    /// Wrong passwords in a row.
    pub failed_logins: i32,
    /// Set while locked.
    pub locked_at: Option<DateTime<Utc>>,
    /// UI language.
    pub locale: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Whether a password was ever set (the hash itself is never loaded for lists).
    #[diesel(select_expression = users::password_hash.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<users::password_hash>)]
    pub password_hash_set: bool,
    /// The last sign-in (`None`: never).
    pub first_sign_in_at: Option<DateTime<Utc>>,
    /// Whether the person behind the address confirmed it, which takes it across Kehu
    /// (migration 000055): a user an admin adds waits, `invited`, until then.
    #[diesel(select_expression = users::email_confirmed_at.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<users::email_confirmed_at>)]
    pub email_confirmed: bool,
}

impl User {
    /// The user as the admin pages show it: a lock older than `lock` has ended (it is
    /// cleared for good at the next login attempt), so it is not shown.
    pub fn with_lock_in_force(mut self, lock: std::time::Duration) -> Self {
        let lock = chrono::Duration::from_std(lock).unwrap_or(chrono::Duration::MAX);
        self.locked_at = self.locked_at.filter(|at| *at > Utc::now() - lock);
        self
    }
}

/// What the session check needs about the signed-in user, with the tenant's details.
#[derive(Clone, Debug)]
pub struct SessionUserRow {
    /// Id.
    pub id: UserId,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Status.
    pub status: String,
    /// Set while locked.
    pub locked_at: Option<DateTime<Utc>>,
    /// Current session epoch.
    pub session_epoch: i32,
    /// UI language.
    pub locale: String,
    /// Company name.
    pub tenant_name: String,
    /// Tenant time zone.
    pub time_zone: String,
}

/// Loads the signed-in user with the tenant's name, or `NotFound`.
pub async fn session_user(tx: &mut TenantTx, id: UserId) -> AppResult<SessionUserRow> {
    let tenant = tx.tenant();
    let (user, tenant_name, tenant_zone, own_zone, session_epoch): (
        User,
        String,
        String,
        Option<String>,
        i32,
    ) = users::table
        .inner_join(tenants::table)
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .select((
            User::as_select(),
            tenants::name,
            tenants::time_zone,
            users::time_zone,
            users::session_epoch,
        ))
        .first(&mut **tx)
        .await?;
    // A user's own time zone, else the tenant's.
    let time_zone = own_zone.unwrap_or(tenant_zone);
    Ok(SessionUserRow {
        id: user.id,
        role: user.role,
        email: user.email,
        name: user.name,
        status: user.status,
        locked_at: user.locked_at,
        session_epoch,
        locale: user.locale,
        tenant_name,
        time_zone,
    })
}

/// Every user of the tenant, by name.
pub async fn list(tx: &mut TenantTx) -> AppResult<Vec<User>> {
    let tenant = tx.tenant();
    Ok(users::table
        .filter(users::tenant_id.eq(tenant))
        .order((users::name.asc(), users::id.asc()))
        .select(User::as_select())
        .load(&mut **tx)
        .await?)
}

/// One user of the tenant, or `NotFound` (also for another tenant's id).
pub async fn find(tx: &mut TenantTx, id: UserId) -> AppResult<User> {
    let tenant = tx.tenant();
    Ok(users::table
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .select(User::as_select())
        .first(&mut **tx)
        .await?)
}

/// Login facts about a user. Read without a row lock, so concurrent attempts on a real
/// account run in parallel like those on an unknown email; the counters below are
/// single atomic updates.
#[derive(Clone, Debug, Queryable)]
pub struct LoginFacts {
    /// Id.
    pub id: UserId,
    /// PHC hash, if a password was set.
    pub password_hash: Option<String>,
    /// Status.
    pub status: String,
    /// Wrong passwords in a row.
    pub failed_logins: i32,
    /// Set while locked.
    pub locked_at: Option<DateTime<Utc>>,
    /// Session epoch to store in the new session.
    pub session_epoch: i32,
    /// The last sign-in (`None`: this would be the first).
    pub first_sign_in_at: Option<DateTime<Utc>>,
}

/// Loads [`LoginFacts`].
pub async fn login_facts(tx: &mut TenantTx, id: UserId) -> AppResult<LoginFacts> {
    let tenant = tx.tenant();
    Ok(users::table
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .select((
            users::id,
            users::password_hash,
            users::status,
            users::failed_logins,
            users::locked_at,
            users::session_epoch,
            users::first_sign_in_at,
        ))
        .first(&mut **tx)
        .await?)
}

/// Counts a wrong password; locks the account at `lock_after` (its sessions go on: a lock
/// stops password logins only). Returns true when this attempt locked it. Each statement is atomic on its own, so
/// concurrent wrong passwords count once each and only one of them locks.
pub async fn record_failed_login(
    tx: &mut TenantTx,
    id: UserId,
    lock_after: i32,
) -> AppResult<(i32, bool)> {
    let tenant = tx.tenant();
    let failed: i32 = diesel::update(users::table)
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .set(users::failed_logins.eq(users::failed_logins + 1))
        .returning(users::failed_logins)
        .get_result(&mut **tx)
        .await?;
    if failed < lock_after {
        return Ok((failed, false));
    }
    let locked_now = diesel::update(users::table)
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .filter(users::locked_at.is_null())
        .set(users::locked_at.eq(diesel::dsl::now))
        .execute(&mut **tx)
        .await?;
    Ok((failed, locked_now == 1))
}

/// Clears the wrong-password count after a successful login, and records a first
/// sign-in (a login changes the row only then).
pub async fn record_successful_login(tx: &mut TenantTx, id: UserId) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(users::table)
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .filter(
            users::failed_logins
                .ne(0)
                .or(users::first_sign_in_at.is_null()),
        )
        .set((
            users::failed_logins.eq(0),
            users::first_sign_in_at.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
            >("coalesce(first_sign_in_at, now())")),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Ends the lock of `id` if it is older than `lock`; true if this call ended it. The row
/// lock the update takes makes concurrent callers wait and find it ended.
pub async fn unlock_if_expired(
    tx: &mut TenantTx,
    id: UserId,
    lock: std::time::Duration,
) -> AppResult<bool> {
    let tenant = tx.tenant();
    let ended = diesel::sql_query(
        "UPDATE users SET locked_at = NULL, failed_logins = 0 \
          WHERE tenant_id = $1 AND id = $2 AND locked_at <= now() - make_interval(secs => $3)",
    )
    .bind::<diesel::sql_types::BigInt, _>(tenant)
    .bind::<diesel::sql_types::BigInt, _>(id)
    .bind::<diesel::sql_types::Double, _>(lock.as_secs_f64())
    .execute(&mut **tx)
    .await?;
    Ok(ended == 1)
}

/// Records a first sign-in that did not go through the login form (sign-up, a link).
pub async fn record_sign_in(tx: &mut TenantTx, id: UserId) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(users::table)
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .filter(users::first_sign_in_at.is_null())
        .set(users::first_sign_in_at.eq(diesel::dsl::now))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A new user.
pub struct NewUser<'a> {
    /// Lower-case email.
    pub email: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Role.
    pub role: Role,
    /// Whom they report to.
    pub reports_to: Option<UserId>,
    /// PHC hash, or `None` for an invited user.
    pub password_hash: Option<&'a str>,
    /// UI language.
    pub locale: &'a str,
    /// The address is confirmed already (a sign-up's admin, who followed its link): the
    /// user is active and takes the address now. Users an admin adds are not: they wait,
    /// `invited`, for their own link ([`confirm_email`]).
    pub confirmed: bool,
}

/// Inserts a user. A taken email surfaces as a unique violation of
/// `user_directory_pkey` (emails are unique across Kehu; only for a confirmed user) or
/// `users_tenant_email_key`.
pub async fn create(tx: &mut TenantTx, user: NewUser<'_>) -> Result<UserId, diesel::result::Error> {
    let tenant = tx.tenant();
    let status = if user.confirmed && user.password_hash.is_some() {
        "active"
    } else {
        "invited"
    };
    let confirmed_at = user.confirmed.then(Utc::now);
    diesel::insert_into(users::table)
        .values((
            users::tenant_id.eq(tenant),
            users::email.eq(user.email),
            users::name.eq(user.name),
            users::role.eq(user.role.as_str()),
            users::reports_to.eq(user.reports_to),
            users::password_hash.eq(user.password_hash),
            users::status.eq(status),
            users::locale.eq(user.locale),
            users::email_confirmed_at.eq(confirmed_at),
        ))
        .returning(users::id)
        .get_result(&mut **tx)
        .await
}

/// How long ago the tenant signed up.
pub async fn tenant_age(tx: &mut TenantTx) -> AppResult<chrono::Duration> {
    let tenant = tx.tenant();
    let created: chrono::DateTime<chrono::Utc> = tenants::table
        .filter(tenants::id.eq(tenant))
        .select(tenants::created_at)
        .first(&mut **tx)
        .await?;
    Ok(chrono::Utc::now() - created)
}

/// True when the email is used by any account in Kehu (not only this tenant).
pub async fn email_taken(tx: &mut TenantTx, email: &str) -> AppResult<bool> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = Bool)]
        taken: bool,
    }
    let row: Taken =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM kehu_find_account($1)) AS taken")
            .bind::<diesel::sql_types::Text, _>(email)
            .get_result(&mut **tx)
            .await?;
    Ok(row.taken)
}

/// Updates name, role and manager.
pub async fn update_profile(
    tx: &mut TenantTx,
    id: UserId,
    name: &str,
    role: Role,
    reports_to: Option<UserId>,
) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(users::table)
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .set((
            users::name.eq(name),
            users::role.eq(role.as_str()),
            users::reports_to.eq(reports_to),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// True when making `manager` the manager of `user` would close a loop in the reporting
/// chain (including `manager == user`).
pub async fn would_cycle(tx: &mut TenantTx, user: UserId, manager: UserId) -> AppResult<bool> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Bool)]
        found: bool,
    }
    let tenant = tx.tenant();
    let row: Found = diesel::sql_query(
        "WITH RECURSIVE chain(id, depth) AS (
             SELECT $2::bigint, 0
             UNION ALL
             SELECT u.reports_to, c.depth + 1 FROM users u JOIN chain c ON u.id = c.id
              WHERE u.tenant_id = $1 AND u.reports_to IS NOT NULL AND c.depth < 1000
         )
         SELECT EXISTS (SELECT 1 FROM chain WHERE id = $3) AS found",
    )
    .bind::<BigInt, _>(tenant)
    .bind::<BigInt, _>(manager)
    .bind::<BigInt, _>(user)
    .get_result(&mut **tx)
    .await?;
    Ok(row.found)
}

/// Serialises changes that could leave the tenant without an active admin (demoting or
/// disabling an admin) for the rest of the transaction, so two admins acting on each
/// other at once cannot both succeed.
pub async fn lock_admin_changes(tx: &mut TenantTx) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('kehu.admins', $1))")
        .bind::<BigInt, _>(tenant)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Active admins other than `except`.
pub async fn other_active_admins(tx: &mut TenantTx, except: UserId) -> AppResult<i64> {
    let tenant = tx.tenant();
    Ok(users::table
        .filter(users::tenant_id.eq(tenant))
        .filter(users::role.eq("admin").and(users::status.eq("active")))
        .filter(users::id.ne(except))
        .count()
        .get_result(&mut **tx)
        .await?)
}

/// Sets `status` (`active`/`disabled`). Disabling ends the user's sessions.
pub async fn set_status(tx: &mut TenantTx, id: UserId, status: &str) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(users::table)
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .set((
            users::status.eq(status),
            users::session_epoch.eq(users::session_epoch + 1),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Unlocks a locked account and clears its wrong-password count.
pub async fn unlock(tx: &mut TenantTx, id: UserId) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(users::table)
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .set((
            users::locked_at.eq(None::<DateTime<Utc>>),
            users::failed_logins.eq(0),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Confirms the user's address, which takes it across Kehu, and activates an invited
/// user. A unique violation of `user_directory_pkey` means another account has the
/// address by now.
pub async fn confirm_email(tx: &mut TenantTx, id: UserId) -> Result<(), diesel::result::Error> {
    let tenant = tx.tenant();
    diesel::update(users::table)
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .filter(users::email_confirmed_at.is_null())
        .set((
            users::email_confirmed_at.eq(diesel::dsl::now),
            users::status.eq(diesel::dsl::sql::<diesel::sql_types::Text>(
                "CASE WHEN status = 'invited' THEN 'active' ELSE status END",
            )),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Stores a new password hash, activates an invited user whose address is confirmed,
/// closes open links and ends every session. The link that confirms an unconfirmed
/// address stays open: an admin's reset does not take the address for its owner.
pub async fn set_password(tx: &mut TenantTx, id: UserId, phc: &str) -> AppResult<()> {
    let tenant = tx.tenant();
    let confirmed: bool = users::table
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .select(users::email_confirmed_at.is_not_null())
        .first(&mut **tx)
        .await?;
    // An open invitation could otherwise overwrite the password set now.
    diesel::update(invitations::table)
        .filter(
            invitations::tenant_id
                .eq(tenant)
                .and(invitations::user_id.eq(id)),
        )
        // Every open link but the invitation that confirms an unconfirmed address.
        .filter(
            invitations::purpose
                .ne("invite")
                .or(confirmed.into_sql::<Bool>()),
        )
        .filter(
            invitations::used_at
                .is_null()
                .and(invitations::expires_at.gt(diesel::dsl::now)),
        )
        .set(invitations::expires_at.eq(diesel::dsl::now))
        .execute(&mut **tx)
        .await?;
    diesel::update(users::table)
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .set((
            users::password_hash.eq(phc),
            users::session_epoch.eq(users::session_epoch + 1),
            users::status.eq(diesel::dsl::sql::<diesel::sql_types::Text>(
                "CASE WHEN status = 'invited' AND email_confirmed_at IS NOT NULL \
                 THEN 'active' ELSE status END",
            )),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The current session epoch (read back after a change that bumped it).
pub async fn session_epoch(tx: &mut TenantTx, id: UserId) -> AppResult<i32> {
    let tenant = tx.tenant();
    Ok(users::table
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .select(users::session_epoch)
        .first(&mut **tx)
        .await?)
}

/// Sets the user's UI language.
pub async fn set_locale(tx: &mut TenantTx, id: UserId, locale: &str) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::update(users::table)
        .filter(users::tenant_id.eq(tenant).and(users::id.eq(id)))
        .set(users::locale.eq(locale))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Creates the tenant row inside a [`TenantTx::begin_new_tenant`] transaction.
pub async fn create_tenant(tx: &mut TenantTx, name: &str) -> AppResult<()> {
    let tenant: TenantId = tx.tenant();
    diesel::insert_into(tenants::table)
        .values((tenants::id.eq(tenant), tenants::name.eq(name)))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Maps "not found" to a typed error for callers that want to re-render instead.
pub fn not_found_is_none<T>(result: AppResult<T>) -> AppResult<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(AppError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}
