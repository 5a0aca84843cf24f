//! The audit log of account events (lock, unlock, role changes, …), readable by admins.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value;

use crate::{db::TenantTx, error::AppResult, ids::UserId, schema::audit_log};

/// What happened. The string is stored; the locale key is `audit.<as_str>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Three wrong passwords locked the account.
    UserLocked,
    /// An admin unlocked it.
    UserUnlocked,
    /// An admin changed the role.
    RoleChanged,
    /// An admin changed whom the user reports to.
    ManagerChanged,
    /// An admin disabled the user.
    UserDisabled,
    /// An admin re-enabled the user.
    UserEnabled,
    /// An admin created the user with a password.
    UserCreated,
    /// An admin invited the user by email.
    UserInvited,
    /// An admin set a new password for the user.
    PasswordReset,
    /// The user changed their own password.
    PasswordChanged,
}

impl Action {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserLocked => "user_locked",
            Self::UserUnlocked => "user_unlocked",
            Self::RoleChanged => "role_changed",
            Self::ManagerChanged => "manager_changed",
            Self::UserDisabled => "user_disabled",
            Self::UserEnabled => "user_enabled",
            Self::UserCreated => "user_created",
            Self::UserInvited => "user_invited",
            Self::PasswordReset => "password_reset",
            Self::PasswordChanged => "password_changed",
        }
    }
}

/// Appends an event. `actor` is `None` when the system acted.
pub async fn record(
    tx: &mut TenantTx,
    actor: Option<UserId>,
    action: Action,
    target: Option<UserId>,
    detail: Value,
) -> AppResult<()> {
    let tenant = tx.tenant();
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::tenant_id.eq(tenant),
            audit_log::actor_id.eq(actor),
            audit_log::action.eq(action.as_str()),
            audit_log::target_user_id.eq(target),
            audit_log::detail.eq(detail),
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An event as the audit page shows it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct Entry {
    /// Id, for keyset paging.
    pub id: i64,
    /// Who acted.
    pub actor_id: Option<UserId>,
    /// What happened.
    pub action: String,
    /// Whom it concerned.
    pub target_user_id: Option<UserId>,
    /// Extra facts (old and new role, …).
    pub detail: Value,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// One page of events, newest first, starting below `before` (keyset paging by id).
pub async fn page(tx: &mut TenantTx, before: Option<i64>, limit: i64) -> AppResult<Vec<Entry>> {
    let tenant = tx.tenant();
    let mut query = audit_log::table
        .filter(audit_log::tenant_id.eq(tenant))
        .select(Entry::as_select())
        .order(audit_log::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(audit_log::id.lt(before));
    }
    Ok(query.load(&mut **tx).await?)
}
