//! 批量操作 on companies (POST /customers/bulk, the shared
//! [`crate::listing::bulk::handle`]): a new owner, category or visibility, or deletion.
//! Changes go to each company's history; a deletion removes the companies' note files
//! from the file store as deleting one company does.

use crate::{
    customers::{list::CUSTOMERS, model},
    db::TenantTx,
    error::AppResult,
    files::DeletedFiles,
    history::{self, Action},
    ids::CompanyId,
    listing::{ListSpec, bulk as lb},
    web::ctx::Ctx,
};

/// 客户一览 as the list's shared endpoints see it.
pub struct Customers;

impl lb::Target for Customers {
    fn spec() -> &'static ListSpec {
        &CUSTOMERS
    }

    async fn delete(tx: &mut TenantTx, _: &Ctx, ids: &[i64]) -> AppResult<DeletedFiles> {
        let ids: Vec<CompanyId> = ids.iter().copied().map(CompanyId).collect();
        model::delete_many(tx, &ids).await
    }

    async fn record(
        tx: &mut TenantTx,
        ctx: &Ctx,
        id: i64,
        changes: Vec<history::Change>,
    ) -> AppResult<()> {
        history::record(
            tx,
            CompanyId(id),
            Some(ctx.user),
            Action::Updated,
            "",
            changes,
        )
        .await
    }
}
