//! Typed ids. A bare `i64` never crosses a module boundary, so a user id cannot be passed
//! where a tenant id is expected.

use diesel::{
    deserialize::{FromSql, FromSqlRow},
    expression::AsExpression,
    pg::{Pg, PgValue},
    serialize::{Output, ToSql},
    sql_types::BigInt,
};
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            Serialize, Deserialize, AsExpression, FromSqlRow,
        )]
        #[diesel(sql_type = BigInt)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl ToSql<BigInt, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
                <i64 as ToSql<BigInt, Pg>>::to_sql(&self.0, out)
            }
        }

        impl FromSql<BigInt, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <i64 as FromSql<BigInt, Pg>>::from_sql(bytes).map(Self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A tenant: one company that signed up.
    TenantId
);
id_type!(
    /// A staff account inside a tenant.
    UserId
);
id_type!(
    /// An invitation to set a first password.
    InvitationId
);
id_type!(
    /// A row of the email outbox.
    EmailId
);
id_type!(
    /// A company (公司) of a tenant.
    CompanyId
);
id_type!(
    /// A customer category (客户分类).
    CategoryId
);
id_type!(
    /// A contact (联系人) at a company.
    ContactId
);
id_type!(
    /// A tag (标签).
    TagId
);
id_type!(
    /// A custom field (自定义字段) definition.
    FieldId
);
id_type!(
    /// A note (备注) on a company.
    NoteId
);
id_type!(
    /// A file attached to a note.
    AttachmentId
);
id_type!(
    /// An export (导出) of customers or contacts.
    ExportId
);
id_type!(
    /// An import (导入) of companies or contacts.
    ImportId
);
id_type!(
    /// A sales opportunity (销售机会).
    OpportunityId
);
id_type!(
    /// A stage of the tenant's sales pipeline (阶段).
    StageId
);
id_type!(
    /// An opportunity category (分类).
    OpportunityCategoryId
);
id_type!(
    /// A reason an opportunity was lost (失败原因).
    LostReasonId
);
id_type!(
    /// A row of an opportunity's stage/status history.
    OpportunityEventId
);
id_type!(
    /// A task or memo (任务 / 备忘录).
    TaskId
);
id_type!(
    /// A task category (任务分类).
    TaskCategoryId
);
id_type!(
    /// A recurring task's series (重复任务).
    TaskSeriesId
);

impl TenantId {
    /// Kehu's own account (migration 000034): pending sign-ups and their emails, before the
    /// tenant they ask for exists. It has no users, so nobody can sign in to it.
    pub const KEHU: Self = Self(0);
}
