//! The cross-tenant matrix: tenants A and B, each with an admin, a manager and a member,
//! against every route of `app/src/routes.rs`, with ids of their own tenant and of the
//! other one. Another tenant's id must look exactly like an id that does not exist, and no
//! response may carry the other tenant's data.

use kehu_tests::{Client, PASSWORD, TestApp, client::Page};

use crate::support::{OTHER_PASSWORD, exec, invite, lock_out, tenant_snapshot, zh};

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user.
    SignedIn,
    /// Admins only.
    Admin,
}

/// Which of the actor's own users `:id` names in the same-tenant request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The route has no `:id`.
    None,
    /// The tenant's member (active).
    Member,
    /// A user who was invited and has not accepted.
    Invitee,
    /// A user locked by three wrong passwords.
    Locked,
    /// A disabled user.
    Disabled,
    /// A public company owned by the member (who reports to the manager), so all three
    /// roles may see and edit it.
    Company,
    /// A company the acting role deletes (one per role, so each delete finds its own).
    DoomedCompany,
    /// A contact at [`Target::Company`].
    Contact,
    /// A contact the acting role deletes (one per role).
    DoomedContact,
    /// A customer category.
    Category,
    /// A customer category the admin deletes.
    DoomedCategory,
    /// A custom field.
    Field,
    /// A custom field the admin deletes.
    DoomedField,
    /// A saved filter the acting role owns and deletes (one per role).
    DoomedFilter,
    /// A saved filter of the opportunity list the acting role owns and deletes.
    DoomedOpportunityFilter,
    /// A finished export the acting role asked for (one per role).
    Export,
    /// A note by the member on [`Target::Company`] (`:id` is the company, `:note_id` the
    /// note).
    Note,
    /// A note on [`Target::Company`] the acting role deletes (one per role).
    DoomedNote,
    /// The file attached to [`Target::Note`] (`:id` is the company, `:attachment_id` the
    /// attachment).
    Attachment,
    /// A finished import by the admin, with a refused row (so it has an error report).
    Import,
    /// An uploaded import waiting for its mapping.
    DraftImport,
    /// A public opportunity owned by the member on [`Target::Company`], so all three
    /// roles may see and change it.
    Opportunity,
    /// An opportunity the acting role deletes (one per role).
    DoomedOpportunity,
    /// A note by the member on [`Target::Opportunity`] (`:id` is the opportunity).
    OpportunityNote,
    /// A note on [`Target::Opportunity`] the acting role deletes (one per role).
    DoomedOpportunityNote,
    /// The file attached to [`Target::OpportunityNote`].
    OpportunityAttachment,
    /// An extra pipeline stage.
    Stage,
    /// An opportunity category.
    OpportunityCategory,
    /// An opportunity category the admin deletes.
    DoomedOpportunityCategory,
    /// A lost reason.
    LostReason,
    /// A lost reason the admin deletes.
    DoomedLostReason,
    /// A public task owned by the member on [`Target::Opportunity`], so all three roles
    /// may see and change it.
    Task,
    /// A task the acting role deletes (one per role).
    DoomedTask,
    /// A saved filter of the task list the acting role owns and deletes.
    DoomedTaskFilter,
    /// A task category.
    TaskCategory,
    /// A task category the admin deletes.
    DoomedTaskCategory,
}

/// One route of the app.
pub struct RouteCase {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The pattern as in `app/src/routes.rs`.
    pub path: &'static str,
    /// Who may use it.
    pub access: Access,
    /// The status an allowed actor gets (for `:id` routes: with their own tenant's target).
    pub ok: u16,
    /// The own-tenant user behind `:id`.
    pub own: Target,
    /// The form sent with a POST: what a real submission (or attack) would carry.
    pub form: &'static [(&'static str, &'static str)],
    /// The POST is a `multipart/form-data` upload (sent with a small file).
    pub multipart: bool,
}

const fn case(
    method: &'static str,
    path: &'static str,
    access: Access,
    ok: u16,
    own: Target,
    form: &'static [(&'static str, &'static str)],
) -> RouteCase {
    RouteCase {
        method,
        path,
        access,
        ok,
        own,
        form,
        multipart: false,
    }
}

/// A [`case`] whose POST is a file upload.
const fn upload(
    path: &'static str,
    access: Access,
    ok: u16,
    own: Target,
    form: &'static [(&'static str, &'static str)],
) -> RouteCase {
    RouteCase {
        multipart: true,
        ..case("POST", path, access, ok, own, form)
    }
}

use Access::{Admin, Public, SignedIn};

/// Every route, in the order the matrix runs them (state-changing ones on the actor's
/// own users are ordered so each finds its target in the right state; logout is last).
pub const ROUTES: &[RouteCase] = &[
    case("GET", "/healthz", Public, 200, Target::None, &[]),
    case("GET", "/", SignedIn, 200, Target::None, &[]),
    case("GET", "/login", Public, 200, Target::None, &[]),
    case(
        "POST",
        "/login",
        Public,
        401,
        Target::None,
        &[("email", ""), ("password", "")],
    ),
    case("GET", "/signup", Public, 200, Target::None, &[]),
    case(
        "POST",
        "/signup",
        Public,
        422,
        Target::None,
        &[("company", ""), ("name", ""), ("email", "")],
    ),
    case(
        "POST",
        "/locale",
        Public,
        303,
        Target::None,
        &[("locale", "zh-CN")],
    ),
    case(
        "GET",
        "/signup/confirm/:token",
        Public,
        404,
        Target::None,
        &[],
    ),
    case(
        "POST",
        "/signup/confirm/:token",
        Public,
        404,
        Target::None,
        &[
            ("company", "某公司"),
            ("name", "某人"),
            ("password", OTHER_PASSWORD),
        ],
    ),
    case("GET", "/invite/:token", Public, 404, Target::None, &[]),
    case(
        "POST",
        "/invite/:token",
        Public,
        404,
        Target::None,
        &[("password", OTHER_PASSWORD), ("confirm", OTHER_PASSWORD)],
    ),
    case("GET", "/password/forgot", Public, 200, Target::None, &[]),
    case(
        "POST",
        "/password/forgot",
        Public,
        422,
        Target::None,
        &[("email", "")],
    ),
    case(
        "GET",
        "/password/reset/:token",
        Public,
        404,
        Target::None,
        &[],
    ),
    case(
        "POST",
        "/password/reset/:token",
        Public,
        404,
        Target::None,
        &[("password", OTHER_PASSWORD), ("confirm", OTHER_PASSWORD)],
    ),
    case(
        "GET",
        "/account/unlock/:token",
        Public,
        404,
        Target::None,
        &[],
    ),
    case(
        "POST",
        "/account/unlock/:token",
        Public,
        404,
        Target::None,
        &[],
    ),
    case("GET", "/customers", SignedIn, 200, Target::None, &[]),
    case("GET", "/customers/new", SignedIn, 200, Target::None, &[]),
    case(
        "POST",
        "/customers/new",
        SignedIn,
        303,
        Target::None,
        &[
            ("name", "矩阵新建公司"),
            ("phone", "010-1234"),
            ("visibility", "private"),
        ],
    ),
    case(
        "GET",
        "/customers/check-name",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case(
        "GET",
        "/customers/autocomplete",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case(
        "POST",
        "/customers/bulk-tag",
        SignedIn,
        303,
        Target::None,
        &[("tag", "矩阵批量标签"), ("op", "add")],
    ),
    case(
        "POST",
        "/customers/bulk",
        SignedIn,
        303,
        Target::None,
        &[("action", "visibility"), ("visibility", "public")],
    ),
    case("GET", "/customers/:id", SignedIn, 200, Target::Company, &[]),
    case(
        "POST",
        "/customers/:id/tags",
        SignedIn,
        303,
        Target::Company,
        &[("name", "矩阵标签")],
    ),
    case(
        "POST",
        "/customers/:id/untag",
        SignedIn,
        303,
        Target::Company,
        &[("tag_id", "0")],
    ),
    case(
        "GET",
        "/customers/:id/notes",
        SignedIn,
        200,
        Target::Company,
        &[],
    ),
    upload(
        "/customers/:id/notes",
        SignedIn,
        303,
        Target::Company,
        &[("body", "矩阵备注")],
    ),
    case(
        "GET",
        "/customers/:id/notes/:note_id/delete",
        SignedIn,
        200,
        Target::Note,
        &[],
    ),
    case(
        "POST",
        "/customers/:id/notes/:note_id/delete",
        SignedIn,
        303,
        Target::DoomedNote,
        &[],
    ),
    case(
        "GET",
        "/customers/:id/files/:attachment_id",
        SignedIn,
        200,
        Target::Attachment,
        &[],
    ),
    case("GET", "/opportunities", SignedIn, 200, Target::None, &[]),
    case(
        "GET",
        "/opportunities?status=all&quick=over&min=10",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case(
        "GET",
        "/opportunities/condition",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case(
        "GET",
        "/opportunities/count",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case(
        "GET",
        "/opportunities/filters",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case(
        "POST",
        "/opportunities/filters",
        SignedIn,
        303,
        Target::None,
        &[("name", "矩阵机会过滤"), ("query", "status=won&quick=mine")],
    ),
    case(
        "POST",
        "/opportunities/filters/:id/delete",
        SignedIn,
        303,
        Target::DoomedOpportunityFilter,
        &[],
    ),
    case(
        "POST",
        "/opportunities/columns",
        SignedIn,
        303,
        Target::None,
        &[("col", "amount"), ("col", "stage")],
    ),
    case(
        "POST",
        "/opportunities/bulk",
        SignedIn,
        303,
        Target::None,
        &[("action", "visibility"), ("visibility", "public")],
    ),
    case(
        "GET",
        "/opportunities/new",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case(
        "POST",
        "/opportunities/new",
        SignedIn,
        422,
        Target::None,
        &[("company", "矩阵不存在的公司"), ("name", "矩阵新机会")],
    ),
    case(
        "GET",
        "/opportunities/board",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case(
        "GET",
        "/opportunities/:id",
        SignedIn,
        200,
        Target::Opportunity,
        &[],
    ),
    case(
        "GET",
        "/opportunities/:id/edit",
        SignedIn,
        200,
        Target::Opportunity,
        &[],
    ),
    case(
        "POST",
        "/opportunities/:id/edit",
        SignedIn,
        303,
        Target::Opportunity,
        &[
            ("name", "矩阵改名机会"),
            ("amount", "10"),
            ("visibility", "public"),
        ],
    ),
    case(
        "GET",
        "/opportunities/:id/status?to=lost",
        SignedIn,
        200,
        Target::Opportunity,
        &[],
    ),
    case(
        "POST",
        "/opportunities/:id/status",
        SignedIn,
        303,
        Target::Opportunity,
        &[("status", "won")],
    ),
    case(
        "POST",
        "/opportunities/:id/stage",
        SignedIn,
        400,
        Target::Opportunity,
        &[("stage_id", "0")],
    ),
    case(
        "GET",
        "/opportunities/:id/inline?field=amount",
        SignedIn,
        200,
        Target::Opportunity,
        &[],
    ),
    case(
        "POST",
        "/opportunities/:id/inline",
        SignedIn,
        200,
        Target::Opportunity,
        &[("field", "amount"), ("amount", "12")],
    ),
    case(
        "GET",
        "/opportunities/:id/notes",
        SignedIn,
        200,
        Target::Opportunity,
        &[],
    ),
    upload(
        "/opportunities/:id/notes",
        SignedIn,
        303,
        Target::Opportunity,
        &[("body", "矩阵机会备注")],
    ),
    case(
        "GET",
        "/opportunities/:id/notes/:note_id/delete",
        SignedIn,
        200,
        Target::OpportunityNote,
        &[],
    ),
    case(
        "POST",
        "/opportunities/:id/notes/:note_id/delete",
        SignedIn,
        303,
        Target::DoomedOpportunityNote,
        &[],
    ),
    case(
        "GET",
        "/opportunities/:id/files/:attachment_id",
        SignedIn,
        200,
        Target::OpportunityAttachment,
        &[],
    ),
    case(
        "GET",
        "/opportunities/:id/delete",
        SignedIn,
        200,
        Target::DoomedOpportunity,
        &[],
    ),
    case(
        "POST",
        "/opportunities/:id/delete",
        SignedIn,
        303,
        Target::DoomedOpportunity,
        &[],
    ),
    case(
        "GET",
        "/account/reminders",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case(
        "POST",
        "/account/calendar-feed",
        SignedIn,
        303,
        Target::None,
        &[("action", "off")],
    ),
    case(
        "POST",
        "/account/reminders",
        SignedIn,
        303,
        Target::None,
        &[
            ("time_zone", "Asia/Shanghai"),
            ("remind", "15"),
            ("reminders_on", "1"),
        ],
    ),
    case("GET", "/tasks", SignedIn, 200, Target::None, &[]),
    case(
        "GET",
        "/tasks?state=all&quick=overdue",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case("GET", "/tasks/condition", SignedIn, 200, Target::None, &[]),
    case("GET", "/tasks/count", SignedIn, 200, Target::None, &[]),
    case("GET", "/tasks/filters", SignedIn, 200, Target::None, &[]),
    case(
        "POST",
        "/tasks/filters",
        SignedIn,
        303,
        Target::None,
        &[
            ("name", "矩阵任务过滤"),
            ("query", "state=open&quick=today"),
        ],
    ),
    case(
        "POST",
        "/tasks/filters/:id/delete",
        SignedIn,
        303,
        Target::DoomedTaskFilter,
        &[],
    ),
    case(
        "POST",
        "/tasks/columns",
        SignedIn,
        303,
        Target::None,
        &[("column", "due"), ("column", "owner")],
    ),
    case(
        "POST",
        "/tasks/bulk",
        SignedIn,
        303,
        Target::None,
        &[("action", "delete"), ("selection", "checked")],
    ),
    case(
        "POST",
        "/tasks/bulk-done",
        SignedIn,
        303,
        Target::None,
        &[("op", "done"), ("selection", "checked")],
    ),
    case("GET", "/tasks/new", SignedIn, 200, Target::None, &[]),
    case(
        "POST",
        "/tasks/new",
        SignedIn,
        303,
        Target::None,
        &[
            ("content", "矩阵任务"),
            ("starts_at", "2030-01-02T09:00"),
            ("due_at", "2030-01-02T10:00"),
            ("remind", "0"),
        ],
    ),
    case(
        "POST",
        "/customers/:id/tasks",
        SignedIn,
        303,
        Target::Company,
        &[("content", "矩阵客户任务"), ("due_at", "2030-01-02T10:00")],
    ),
    case(
        "POST",
        "/opportunities/:id/tasks",
        SignedIn,
        303,
        Target::Opportunity,
        &[("content", "矩阵机会任务"), ("due_at", "2030-01-02T10:00")],
    ),
    case("GET", "/calendar", SignedIn, 200, Target::None, &[]),
    // A calendar app asks without a session; a made-up token opens nothing (the feed's
    // own test forges other tenants' and users' ids with a real secret).
    case(
        "GET",
        "/calendar/feed/:token",
        Public,
        404,
        Target::None,
        &[],
    ),
    case(
        "GET",
        "/calendar?view=week&date=2030-01-01",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case(
        "POST",
        "/tasks/:id/move",
        SignedIn,
        303,
        Target::Task,
        &[("date", "2030-01-05")],
    ),
    case("GET", "/tasks/:id", SignedIn, 200, Target::Task, &[]),
    case("GET", "/tasks/:id/edit", SignedIn, 200, Target::Task, &[]),
    case(
        "POST",
        "/tasks/:id/edit",
        SignedIn,
        303,
        Target::Task,
        &[
            ("kind", "task"),
            ("content", "矩阵任务（已改）"),
            ("starts_at", "2030-01-03T09:00"),
            ("due_at", "2030-01-03T10:00"),
            ("visibility", "public"),
        ],
    ),
    case("POST", "/tasks/:id/done", SignedIn, 303, Target::Task, &[]),
    case(
        "POST",
        "/tasks/:id/restore",
        SignedIn,
        303,
        Target::Task,
        &[],
    ),
    case(
        "GET",
        "/tasks/:id/delete",
        SignedIn,
        200,
        Target::DoomedTask,
        &[],
    ),
    case(
        "POST",
        "/tasks/:id/delete",
        SignedIn,
        303,
        Target::DoomedTask,
        &[],
    ),
    case("GET", "/tags", SignedIn, 200, Target::None, &[]),
    case("GET", "/targets", SignedIn, 200, Target::None, &[]),
    // The member reports to the manager: every role may see and set the member's targets.
    case(
        "GET",
        "/targets?who=:id",
        SignedIn,
        200,
        Target::Member,
        &[],
    ),
    case(
        "POST",
        "/targets/:id",
        SignedIn,
        303,
        Target::Member,
        &[("year", "2026"), ("m1", "1,000.00")],
    ),
    case(
        "GET",
        "/customers/:id/edit",
        SignedIn,
        200,
        Target::Company,
        &[],
    ),
    case(
        "POST",
        "/customers/:id/edit",
        SignedIn,
        303,
        Target::Company,
        &[("name", "矩阵改名公司"), ("visibility", "public")],
    ),
    case(
        "GET",
        "/customers/:id/inline?field=phone",
        SignedIn,
        200,
        Target::Company,
        &[],
    ),
    case(
        "POST",
        "/customers/:id/inline",
        SignedIn,
        200,
        Target::Company,
        &[("field", "phone"), ("phone", "021-12345678")],
    ),
    case(
        "GET",
        "/customers/:id/delete",
        SignedIn,
        200,
        Target::DoomedCompany,
        &[],
    ),
    case(
        "POST",
        "/customers/:id/delete",
        SignedIn,
        303,
        Target::DoomedCompany,
        &[],
    ),
    case(
        "GET",
        "/customers/condition",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case("GET", "/customers/count", SignedIn, 200, Target::None, &[]),
    case(
        "GET",
        "/customers/filters",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case(
        "POST",
        "/customers/filters",
        SignedIn,
        303,
        Target::None,
        &[
            ("name", "矩阵过滤"),
            ("query", "quick=mine"),
            ("shared", "on"),
        ],
    ),
    case(
        "POST",
        "/customers/filters/:id/delete",
        SignedIn,
        303,
        Target::DoomedFilter,
        &[],
    ),
    case(
        "POST",
        "/customers/columns",
        SignedIn,
        303,
        Target::None,
        &[("col", "phone"), ("col", "created")],
    ),
    case("GET", "/exports", SignedIn, 200, Target::None, &[]),
    case(
        "POST",
        "/exports",
        SignedIn,
        303,
        Target::None,
        &[("entity", "company"), ("format", "csv"), ("query", "")],
    ),
    case("GET", "/exports/:id", SignedIn, 200, Target::Export, &[]),
    case(
        "GET",
        "/exports/:id/progress",
        SignedIn,
        200,
        Target::Export,
        &[],
    ),
    case(
        "GET",
        "/exports/:id/download",
        SignedIn,
        200,
        Target::Export,
        &[],
    ),
    case("GET", "/imports", Admin, 200, Target::None, &[]),
    upload(
        "/imports",
        Admin,
        303,
        Target::None,
        &[("entity", "company")],
    ),
    case("GET", "/imports/:id", Admin, 200, Target::Import, &[]),
    case(
        "GET",
        "/imports/:id/progress",
        Admin,
        200,
        Target::Import,
        &[],
    ),
    case(
        "GET",
        "/imports/:id/errors",
        Admin,
        200,
        Target::Import,
        &[],
    ),
    case(
        "POST",
        "/imports/:id/preview",
        Admin,
        200,
        Target::DraftImport,
        &[("map_0", "name")],
    ),
    case(
        "POST",
        "/imports/:id/cancel",
        Admin,
        303,
        Target::Import,
        &[],
    ),
    case("GET", "/imports/:id/undo", Admin, 200, Target::Import, &[]),
    case("POST", "/imports/:id/undo", Admin, 303, Target::Import, &[]),
    case(
        "POST",
        "/imports/:id/start",
        Admin,
        303,
        Target::DraftImport,
        &[("map_0", "name")],
    ),
    case(
        "GET",
        "/statistics/distribution",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case(
        "GET",
        "/statistics/ranking",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case(
        "GET",
        "/statistics/ranking?format=xlsx",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case(
        "GET",
        "/statistics/funnel",
        SignedIn,
        200,
        Target::None,
        &[],
    ),
    case("GET", "/contacts", SignedIn, 200, Target::None, &[]),
    case("GET", "/contacts/new", SignedIn, 200, Target::None, &[]),
    case(
        "POST",
        "/contacts/new",
        SignedIn,
        303,
        Target::None,
        &[
            ("company", "矩阵改名公司"),
            ("name", "矩阵新联系人"),
            ("mobile", "13800000000"),
        ],
    ),
    case("GET", "/contacts/:id", SignedIn, 200, Target::Contact, &[]),
    case(
        "GET",
        "/contacts/:id/edit",
        SignedIn,
        200,
        Target::Contact,
        &[],
    ),
    case(
        "POST",
        "/contacts/:id/edit",
        SignedIn,
        303,
        Target::Contact,
        &[("company", "矩阵改名公司"), ("name", "矩阵联系人改名")],
    ),
    case(
        "GET",
        "/contacts/:id/delete",
        SignedIn,
        200,
        Target::DoomedContact,
        &[],
    ),
    case(
        "POST",
        "/contacts/:id/delete",
        SignedIn,
        303,
        Target::DoomedContact,
        &[],
    ),
    case("GET", "/account", SignedIn, 200, Target::None, &[]),
    case("GET", "/account/password", SignedIn, 200, Target::None, &[]),
    case(
        "POST",
        "/account/password",
        SignedIn,
        422,
        Target::None,
        &[
            ("current", "Not-My-Password-1"),
            ("password", OTHER_PASSWORD),
            ("confirm", OTHER_PASSWORD),
        ],
    ),
    case("GET", "/admin/users", Admin, 200, Target::None, &[]),
    case("GET", "/admin/users/new", Admin, 200, Target::None, &[]),
    case(
        "POST",
        "/admin/users/new",
        Admin,
        422,
        Target::None,
        &[
            ("name", "矩阵"),
            ("email", ""),
            ("role", "admin"),
            ("reports_to", ""),
            ("password", OTHER_PASSWORD),
        ],
    ),
    case("GET", "/admin/users/invite", Admin, 200, Target::None, &[]),
    case(
        "POST",
        "/admin/users/invite",
        Admin,
        422,
        Target::None,
        &[
            ("name", "矩阵"),
            ("email", ""),
            ("role", "admin"),
            ("reports_to", ""),
        ],
    ),
    case("GET", "/admin/users/:id", Admin, 200, Target::Member, &[]),
    case(
        "POST",
        "/admin/users/:id",
        Admin,
        303,
        Target::Member,
        &[
            ("name", "Matrix Rename"),
            ("role", "member"),
            ("reports_to", ""),
        ],
    ),
    case(
        "GET",
        "/admin/users/:id/password",
        Admin,
        200,
        Target::Member,
        &[],
    ),
    case(
        "POST",
        "/admin/users/:id/unlock",
        Admin,
        303,
        Target::Locked,
        &[],
    ),
    case(
        "POST",
        "/admin/users/:id/reinvite",
        Admin,
        303,
        Target::Invitee,
        &[],
    ),
    case(
        "POST",
        "/admin/users/:id/disable",
        Admin,
        303,
        Target::Invitee,
        &[],
    ),
    case(
        "POST",
        "/admin/users/:id/enable",
        Admin,
        303,
        Target::Disabled,
        &[],
    ),
    case(
        "POST",
        "/admin/users/:id/password",
        Admin,
        303,
        Target::Locked,
        &[("password", OTHER_PASSWORD), ("confirm", OTHER_PASSWORD)],
    ),
    case("GET", "/admin/categories", Admin, 200, Target::None, &[]),
    case(
        "POST",
        "/admin/categories",
        Admin,
        303,
        Target::None,
        &[("name", "矩阵新分类")],
    ),
    case(
        "POST",
        "/admin/categories/:id",
        Admin,
        303,
        Target::Category,
        &[("name", "矩阵改名分类")],
    ),
    case(
        "POST",
        "/admin/categories/:id/up",
        Admin,
        303,
        Target::Category,
        &[],
    ),
    case(
        "POST",
        "/admin/categories/:id/delete",
        Admin,
        303,
        Target::DoomedCategory,
        &[],
    ),
    case("GET", "/admin/fields", Admin, 200, Target::None, &[]),
    case(
        "POST",
        "/admin/fields",
        Admin,
        303,
        Target::None,
        &[
            ("entity", "company"),
            ("label", "矩阵新字段"),
            ("kind", "text"),
        ],
    ),
    case("GET", "/admin/fields/:id", Admin, 200, Target::Field, &[]),
    case(
        "POST",
        "/admin/fields/:id",
        Admin,
        303,
        Target::Field,
        &[("label", "矩阵改名字段"), ("options", "甲\n乙")],
    ),
    case(
        "POST",
        "/admin/fields/:id/up",
        Admin,
        303,
        Target::Field,
        &[],
    ),
    case(
        "POST",
        "/admin/fields/:id/delete",
        Admin,
        303,
        Target::DoomedField,
        &[],
    ),
    case("GET", "/admin/stages", Admin, 200, Target::None, &[]),
    case(
        "POST",
        "/admin/stages",
        Admin,
        422,
        Target::None,
        &[("name", ""), ("probability", "")],
    ),
    case(
        "POST",
        "/admin/stages/:id",
        Admin,
        303,
        Target::Stage,
        &[("name", "矩阵阶段"), ("probability", "20")],
    ),
    case(
        "POST",
        "/admin/stages/:id/up",
        Admin,
        303,
        Target::Stage,
        &[],
    ),
    case(
        "POST",
        "/admin/stages/:id/retire",
        Admin,
        303,
        Target::Stage,
        &[],
    ),
    case(
        "GET",
        "/admin/opportunity-categories",
        Admin,
        200,
        Target::None,
        &[],
    ),
    case(
        "POST",
        "/admin/opportunity-categories",
        Admin,
        422,
        Target::None,
        &[("name", "")],
    ),
    case(
        "POST",
        "/admin/opportunity-categories/:id",
        Admin,
        303,
        Target::OpportunityCategory,
        &[("name", "矩阵机会分类")],
    ),
    case(
        "POST",
        "/admin/opportunity-categories/:id/up",
        Admin,
        303,
        Target::OpportunityCategory,
        &[],
    ),
    case(
        "POST",
        "/admin/opportunity-categories/:id/delete",
        Admin,
        303,
        Target::DoomedOpportunityCategory,
        &[],
    ),
    case("GET", "/admin/lost-reasons", Admin, 200, Target::None, &[]),
    case(
        "POST",
        "/admin/lost-reasons",
        Admin,
        422,
        Target::None,
        &[("name", "")],
    ),
    case(
        "POST",
        "/admin/lost-reasons/:id",
        Admin,
        303,
        Target::LostReason,
        &[("name", "矩阵失败原因")],
    ),
    case(
        "POST",
        "/admin/lost-reasons/:id/up",
        Admin,
        303,
        Target::LostReason,
        &[],
    ),
    case(
        "POST",
        "/admin/lost-reasons/:id/delete",
        Admin,
        303,
        Target::DoomedLostReason,
        &[],
    ),
    case(
        "GET",
        "/admin/task-categories",
        Admin,
        200,
        Target::None,
        &[],
    ),
    case(
        "POST",
        "/admin/task-categories",
        Admin,
        303,
        Target::None,
        &[("name", "矩阵新任务分类")],
    ),
    case(
        "POST",
        "/admin/task-categories/:id",
        Admin,
        303,
        Target::TaskCategory,
        &[("name", "矩阵任务分类（改）")],
    ),
    case(
        "POST",
        "/admin/task-categories/:id/up",
        Admin,
        303,
        Target::TaskCategory,
        &[],
    ),
    case(
        "POST",
        "/admin/task-categories/:id/delete",
        Admin,
        303,
        Target::DoomedTaskCategory,
        &[],
    ),
    case("GET", "/admin/audit", Admin, 200, Target::None, &[]),
    case("GET", "/admin/jobs", Admin, 200, Target::None, &[]),
    case("POST", "/logout", Public, 303, Target::None, &[]),
];

/// The `(method, path)` pairs routed in `app/src/routes.rs` (outside any unit tests),
/// with each list's endpoints from `app/src/listing/routes.rs` under the path its
/// `mount` call names.
fn routes_in_source() -> Vec<(String, String)> {
    let read = |name: &str| {
        let file = format!("{}/../app/src/{name}", env!("CARGO_MANIFEST_DIR"));
        let source = std::fs::read_to_string(&file).expect(name);
        source
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let web = read("routes.rs");
    let mut found = routes_of(&web);
    // Each list's endpoints, and each settings list's (whose `mount` names its own path
    // `path`), under the path its `mount` call names.
    let mounts = [
        (
            "listing::routes::mount::<",
            routes_of(&read("listing/routes.rs")),
        ),
        (
            "admin::lists::mount::<",
            routes_of(
                &read("admin/lists.rs")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .replace(".at( path,", ".at(\"{path}\",")
                    .replace(".at(path,", ".at(\"{path}\","),
            ),
        ),
    ];
    for (call, templates) in &mounts {
        let mut rest = web.as_str();
        while let Some(at) = rest.find(call) {
            rest = &rest[at..];
            let path = rest.split('"').nth(1).expect("the path of a mount call");
            for (method, template) in templates {
                found.push((method.clone(), template.replace("{path}", path)));
            }
            rest = &rest[1..];
        }
    }
    found
}

/// The `.at("…", get(…).post(…))` calls of a source file.
fn routes_of(source: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(".at(") {
        let args = &rest[at + 4..];
        // The call's arguments, up to the matching parenthesis.
        let mut depth = 1;
        let mut end = args.len();
        for (i, c) in args.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let args = &args[..end];
        let path = args
            .split('"')
            .nth(1)
            .unwrap_or_else(|| panic!("a path literal in .at({args})"))
            .to_owned();
        let mut methods = 0;
        for method in ["get", "post", "put", "patch", "delete", "head"] {
            let needle = format!("{method}(");
            let mut from = 0;
            while let Some(pos) = args[from..].find(&needle) {
                let start = from + pos;
                let before = args[..start].chars().next_back();
                if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    found.push((method.to_uppercase(), path.clone()));
                    methods += 1;
                }
                from = start + needle.len();
            }
        }
        assert!(methods > 0, "no method found for {path}: {args}");
        rest = &rest[at + 4 + end..];
    }
    found
}

#[test]
fn every_route_in_the_router_is_in_the_matrix() {
    let source = routes_in_source();
    assert!(
        source.len() >= 20,
        "the parser found too few routes: {source:?}"
    );
    let table: Vec<(String, String)> = ROUTES
        .iter()
        // A query string in ROUTES only picks what the request carries.
        .map(|r| {
            let path = r.path.split('?').next().unwrap_or(r.path);
            (r.method.to_owned(), path.to_owned())
        })
        .collect();
    let missing: Vec<_> = source.iter().filter(|r| !table.contains(r)).collect();
    assert!(
        missing.is_empty(),
        "add these routes to tests/integration/tenancy.rs ROUTES: {missing:?}"
    );
    let stale: Vec<_> = table.iter().filter(|r| !source.contains(r)).collect();
    assert!(
        stale.is_empty(),
        "routes in ROUTES that no longer exist: {stale:?}"
    );
}

/// The users (and customer records) of one tenant.
struct Users {
    admin: i64,
    manager: i64,
    member: i64,
    invitee: i64,
    locked: i64,
    disabled: i64,
    /// See [`Target::Company`].
    company: i64,
    /// See [`Target::DoomedCompany`]: for the member, the manager and the admin.
    doomed: [i64; 3],
    /// See [`Target::Contact`].
    contact: i64,
    /// See [`Target::DoomedContact`]: for the member, the manager and the admin.
    doomed_contacts: [i64; 3],
    /// See [`Target::Category`].
    category: i64,
    /// See [`Target::DoomedCategory`].
    doomed_category: i64,
    /// See [`Target::Field`].
    field: i64,
    /// See [`Target::DoomedField`].
    doomed_field: i64,
    /// See [`Target::DoomedFilter`]: for the member, the manager and the admin.
    doomed_filters: [i64; 3],
    /// See [`Target::DoomedOpportunityFilter`]: for the member, the manager and the admin.
    doomed_opportunity_filters: [i64; 3],
    /// See [`Target::Export`]: for the member, the manager and the admin.
    exports: [i64; 3],
    /// See [`Target::Note`].
    note: i64,
    /// See [`Target::DoomedNote`]: for the member, the manager and the admin.
    doomed_notes: [i64; 3],
    /// See [`Target::Attachment`].
    attachment: i64,
    /// See [`Target::Import`].
    import: i64,
    /// See [`Target::DraftImport`].
    draft_import: i64,
    /// See [`Target::Opportunity`].
    opportunity: i64,
    /// See [`Target::DoomedOpportunity`]: for the member, the manager and the admin.
    doomed_opportunities: [i64; 3],
    /// See [`Target::OpportunityNote`].
    opportunity_note: i64,
    /// See [`Target::DoomedOpportunityNote`]: for the member, the manager and the admin.
    doomed_opportunity_notes: [i64; 3],
    /// See [`Target::OpportunityAttachment`].
    opportunity_attachment: i64,
    /// See [`Target::Stage`].
    stage: i64,
    /// See [`Target::OpportunityCategory`].
    opportunity_category: i64,
    /// See [`Target::DoomedOpportunityCategory`].
    doomed_opportunity_category: i64,
    /// See [`Target::LostReason`].
    lost_reason: i64,
    /// See [`Target::DoomedLostReason`].
    doomed_lost_reason: i64,
    /// See [`Target::Task`].
    task: i64,
    /// See [`Target::DoomedTask`]: for the member, the manager and the admin.
    doomed_tasks: [i64; 3],
    /// See [`Target::DoomedTaskFilter`]: for the member, the manager and the admin.
    doomed_task_filters: [i64; 3],
    /// See [`Target::TaskCategory`].
    task_category: i64,
    /// See [`Target::DoomedTaskCategory`].
    doomed_task_category: i64,
}

impl Users {
    fn all(&self) -> [i64; 6] {
        [
            self.admin,
            self.manager,
            self.member,
            self.invitee,
            self.locked,
            self.disabled,
        ]
    }

    /// The ids another tenant's actor tries for a route with this kind of target.
    fn ids_for(&self, target: Target) -> Vec<i64> {
        match target {
            Target::Company | Target::DoomedCompany => {
                let mut ids = vec![self.company];
                ids.extend(self.doomed);
                ids
            }
            Target::Category | Target::DoomedCategory => vec![self.category, self.doomed_category],
            Target::Field | Target::DoomedField => vec![self.field, self.doomed_field],
            Target::DoomedFilter => self.doomed_filters.to_vec(),
            Target::DoomedOpportunityFilter => self.doomed_opportunity_filters.to_vec(),
            Target::Export => self.exports.to_vec(),
            Target::Contact | Target::DoomedContact => {
                let mut ids = vec![self.contact];
                ids.extend(self.doomed_contacts);
                ids
            }
            Target::Note | Target::DoomedNote => {
                let mut ids = vec![self.note];
                ids.extend(self.doomed_notes);
                ids
            }
            Target::Attachment => vec![self.attachment],
            Target::Import | Target::DraftImport => vec![self.import, self.draft_import],
            Target::Opportunity | Target::DoomedOpportunity => {
                let mut ids = vec![self.opportunity];
                ids.extend(self.doomed_opportunities);
                ids
            }
            Target::OpportunityNote | Target::DoomedOpportunityNote => {
                let mut ids = vec![self.opportunity_note];
                ids.extend(self.doomed_opportunity_notes);
                ids
            }
            Target::OpportunityAttachment => vec![self.opportunity_attachment],
            Target::Stage => vec![self.stage],
            Target::OpportunityCategory | Target::DoomedOpportunityCategory => {
                vec![self.opportunity_category, self.doomed_opportunity_category]
            }
            Target::LostReason | Target::DoomedLostReason => {
                vec![self.lost_reason, self.doomed_lost_reason]
            }
            Target::Task | Target::DoomedTask => {
                let mut ids = vec![self.task];
                ids.extend(self.doomed_tasks);
                ids
            }
            Target::DoomedTaskFilter => self.doomed_task_filters.to_vec(),
            Target::TaskCategory | Target::DoomedTaskCategory => {
                vec![self.task_category, self.doomed_task_category]
            }
            _ => self.all().to_vec(),
        }
    }

    fn target(&self, target: Target, role: Role) -> i64 {
        match target {
            Target::None => 0,
            Target::Member => self.member,
            Target::Invitee => self.invitee,
            Target::Locked => self.locked,
            Target::Disabled => self.disabled,
            Target::Company => self.company,
            Target::DoomedCompany => self.doomed[role_slot(role)],
            Target::Contact => self.contact,
            Target::DoomedContact => self.doomed_contacts[role_slot(role)],
            Target::Category => self.category,
            Target::DoomedCategory => self.doomed_category,
            Target::Field => self.field,
            Target::DoomedField => self.doomed_field,
            Target::DoomedFilter => self.doomed_filters[role_slot(role)],
            Target::DoomedOpportunityFilter => self.doomed_opportunity_filters[role_slot(role)],
            Target::Export => self.exports[role_slot(role)],
            Target::Note => self.note,
            Target::DoomedNote => self.doomed_notes[role_slot(role)],
            Target::Attachment => self.attachment,
            Target::Import => self.import,
            Target::DraftImport => self.draft_import,
            Target::Opportunity => self.opportunity,
            Target::DoomedOpportunity => self.doomed_opportunities[role_slot(role)],
            Target::OpportunityNote => self.opportunity_note,
            Target::DoomedOpportunityNote => self.doomed_opportunity_notes[role_slot(role)],
            Target::OpportunityAttachment => self.opportunity_attachment,
            Target::Stage => self.stage,
            Target::OpportunityCategory => self.opportunity_category,
            Target::DoomedOpportunityCategory => self.doomed_opportunity_category,
            Target::LostReason => self.lost_reason,
            Target::DoomedLostReason => self.doomed_lost_reason,
            Target::Task => self.task,
            Target::DoomedTask => self.doomed_tasks[role_slot(role)],
            Target::DoomedTaskFilter => self.doomed_task_filters[role_slot(role)],
            Target::TaskCategory => self.task_category,
            Target::DoomedTaskCategory => self.doomed_task_category,
        }
    }

    /// The record a nested target lives under: the company or the opportunity.
    fn parent(&self, target: Target) -> i64 {
        match target {
            Target::OpportunityNote
            | Target::DoomedOpportunityNote
            | Target::OpportunityAttachment => self.opportunity,
            _ => self.company,
        }
    }

    /// The path of `route` with this tenant's record for `role`.
    fn own_path(&self, route: &RouteCase, role: Role) -> String {
        let id = self.target(route.own, role);
        if nested(route.own) {
            fill(route.path, self.parent(route.own), id)
        } else {
            fill(route.path, id, 0)
        }
    }
}

/// Targets that live under a company or an opportunity: `/customers/:id/…/:note_id`.
fn nested(target: Target) -> bool {
    matches!(
        target,
        Target::Note
            | Target::DoomedNote
            | Target::Attachment
            | Target::OpportunityNote
            | Target::DoomedOpportunityNote
            | Target::OpportunityAttachment
    )
}

/// `path` with `:id` and the nested record's id (`:note_id`, `:attachment_id`) filled in.
fn fill(path: &str, id: i64, nested_id: i64) -> String {
    path.replace(":note_id", &nested_id.to_string())
        .replace(":attachment_id", &nested_id.to_string())
        .replace(":id", &id.to_string())
}

/// The paths an actor tries with the `other` tenant's records: each of them, and for
/// nested records also under the actor's own company.
fn foreign_paths(route: &RouteCase, own: Option<&Users>, other: &Users) -> Vec<String> {
    let mut paths = Vec::new();
    for id in other.ids_for(route.own) {
        if nested(route.own) {
            paths.push(fill(route.path, other.parent(route.own), id));
            if let Some(own) = own {
                paths.push(fill(route.path, own.parent(route.own), id));
            }
        } else {
            paths.push(fill(route.path, id, 0));
        }
    }
    paths
}

/// Which of the three per-role "doomed" records a role deletes.
fn role_slot(role: Role) -> usize {
    match role {
        Role::Member => 0,
        Role::Manager => 1,
        Role::Admin | Role::Anonymous => 2,
    }
}

/// One tenant with its three signed-in actors.
struct Tenant {
    id: i64,
    users: Users,
    admin: Client,
    manager: Client,
    member: Client,
    /// Strings only this tenant's pages may contain: company, names, emails.
    markers: Vec<String>,
}

async fn setup(app: &TestApp, tag: &str) -> Tenant {
    let email = |who: &str| format!("{who}@{tag}.test");
    let company = format!("{tag} Holdings 有限公司");
    let name = |who: &str| format!("{tag}-{who}-姓名");
    let admin = app.signup(&company, &name("admin"), &email("admin")).await;
    let manager = app
        .create_user(&admin, &name("manager"), &email("manager"), "manager", None)
        .await;
    let member = app
        .create_user(
            &admin,
            &name("member"),
            &email("member"),
            "member",
            Some(manager),
        )
        .await;
    let (invitee, _) = invite(app, &admin, &name("invitee"), &email("invitee")).await;
    let locked = app
        .create_user(&admin, &name("locked"), &email("locked"), "member", None)
        .await;
    lock_out(app, &email("locked")).await;
    let disabled = app
        .create_user(
            &admin,
            &name("disabled"),
            &email("disabled"),
            "member",
            None,
        )
        .await;
    let page = admin
        .post(&format!("/admin/users/{disabled}/disable"), &[])
        .await;
    assert_eq!(page.status, 303);
    // Customer records, owned by the member so all three roles may manage them.
    let tenant = app.tenant_of(&email("admin")).await;
    let insert = |name: String| async move {
        exec(
            app,
            &format!(
                "INSERT INTO companies (tenant_id, name, owner_id, created_by, visibility) \
                 VALUES ({tenant}, '{name}', {member}, {member}, 'public')"
            ),
        )
        .await;
        app.scalar(&format!("SELECT id FROM companies WHERE name = '{name}'"))
            .await
    };
    let company_name = format!("{tag} 客户甲公司");
    let customer = insert(company_name.clone()).await;
    let mut doomed = [0; 3];
    for (i, slot) in doomed.iter_mut().enumerate() {
        *slot = insert(format!("{tag} 待删公司{i}")).await;
    }
    let add_contact = |name: String| async move {
        exec(
            app,
            &format!(
                "INSERT INTO contacts (tenant_id, company_id, name, created_by) \
                 VALUES ({tenant}, {customer}, '{name}', {member})"
            ),
        )
        .await;
        app.scalar(&format!("SELECT id FROM contacts WHERE name = '{name}'"))
            .await
    };
    let contact_name = format!("{tag} 联系人甲");
    let contact = add_contact(contact_name.clone()).await;
    let mut doomed_contacts = [0; 3];
    for (i, slot) in doomed_contacts.iter_mut().enumerate() {
        *slot = add_contact(format!("{tag} 待删联系人{i}")).await;
    }
    let add_category = |name: String, position: i32| async move {
        exec(
            app,
            &format!(
                "INSERT INTO customer_categories (tenant_id, name, position) VALUES ({tenant}, '{name}', {position})"
            ),
        )
        .await;
        app.scalar(&format!(
            "SELECT id FROM customer_categories WHERE name = '{name}'"
        ))
        .await
    };
    let category_name = format!("{tag} 重点客户");
    let doomed_category = add_category(format!("{tag} 待删分类"), 0).await;
    let category = add_category(category_name.clone(), 1).await;
    let add_field = |label: String, position: i32| async move {
        exec(
            app,
            &format!(
                "INSERT INTO custom_fields (tenant_id, entity, label, kind, options, position) \
                 VALUES ({tenant}, 'company', '{label}', 'select', '{{甲,乙}}', {position})"
            ),
        )
        .await;
        app.scalar(&format!(
            "SELECT id FROM custom_fields WHERE label = '{label}'"
        ))
        .await
    };
    let field_name = format!("{tag} 行业字段");
    let doomed_field = add_field(format!("{tag} 待删字段"), 0).await;
    let field = add_field(field_name.clone(), 1).await;
    let admin_id = app.user_id(&email("admin")).await;
    // One finished export per role, asked for through the app.
    let mut exports = [0; 3];
    for (slot, who) in exports.iter_mut().zip(["member", "manager", "admin"]) {
        let client = app.login_ok(&email(who)).await;
        client.get("/customers").await;
        let page = client
            .post(
                "/exports",
                &[("entity", "company"), ("format", "csv"), ("query", "")],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        *slot = page
            .location
            .and_then(|l| l.trim_start_matches("/exports/").parse().ok())
            .expect("the export's id");
    }
    for id in exports {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while app
            .text(&format!("SELECT status FROM exports WHERE id = {id}"))
            .await
            != "done"
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "export {id} not done"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    let mut doomed_opportunity_filters = [0; 3];
    for (slot, owner) in doomed_opportunity_filters
        .iter_mut()
        .zip([member, manager, admin_id])
    {
        exec(
            app,
            &format!(
                "INSERT INTO saved_filters (tenant_id, owner_id, list, name, query) \
                 VALUES ({tenant}, {owner}, 'opportunities', '{tag} 待删机会过滤', 'quick=mine')"
            ),
        )
        .await;
        *slot = app
            .scalar(&format!(
                "SELECT id FROM saved_filters WHERE owner_id = {owner} AND name = '{tag} 待删机会过滤'"
            ))
            .await;
    }
    let mut doomed_filters = [0; 3];
    for (slot, owner) in doomed_filters.iter_mut().zip([member, manager, admin_id]) {
        exec(
            app,
            &format!(
                "INSERT INTO saved_filters (tenant_id, owner_id, name, query) \
                 VALUES ({tenant}, {owner}, '{tag} 待删过滤', 'quick=public')"
            ),
        )
        .await;
        *slot = app
            .scalar(&format!(
                "SELECT id FROM saved_filters WHERE owner_id = {owner} AND name = '{tag} 待删过滤'"
            ))
            .await;
    }
    // Notes by the member on the company, through the app (one with a file).
    let member_client = app.login_ok(&email("member")).await;
    let add_note = |body: String, with_file: bool| {
        let member_client = &member_client;
        async move {
            member_client.get(&format!("/customers/{customer}")).await;
            let files: Vec<(&str, &str, Vec<u8>)> = if with_file {
                vec![("附件甲.txt", "text/plain", body.as_bytes().to_vec())]
            } else {
                vec![]
            };
            let page = member_client
                .post_multipart(
                    &format!("/customers/{customer}/notes"),
                    &[("body", body.as_str())],
                    &files,
                )
                .await;
            assert_eq!(page.status, 303, "adding note {body}: {}", page.body);
            app.scalar(&format!("SELECT id FROM notes WHERE body = '{body}'"))
                .await
        }
    };
    let note_text = format!("{tag} 备注甲");
    let note = add_note(note_text.clone(), true).await;
    let mut doomed_notes = [0; 3];
    for (i, slot) in doomed_notes.iter_mut().enumerate() {
        *slot = add_note(format!("{tag} 待删备注{i}"), false).await;
    }
    let attachment = app
        .scalar(&format!(
            "SELECT id FROM note_attachments WHERE note_id = {note}"
        ))
        .await;
    // An import by the admin (finished, one row refused) and a draft.
    let admin_client = app.login_ok(&email("admin")).await;
    let csv = format!("公司名称,邮箱\n{tag} 导入客户,\n{tag} 坏邮箱,not-an-email\n");
    let page = crate::imports::upload(
        &admin_client,
        "company",
        "矩阵.csv",
        "text/csv",
        csv.into_bytes(),
        &[],
    )
    .await;
    let import_path = page.location.expect("an import");
    let import = crate::imports::id_of(&import_path);
    let page = crate::imports::start(&admin_client, &import_path, &["name", "email"], &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    crate::imports::wait_for(app, import, &["done"]).await;
    let page = crate::imports::upload(
        &admin_client,
        "company",
        "草稿.csv",
        "text/csv",
        "公司名称\n草稿客户\n".as_bytes().to_vec(),
        &[],
    )
    .await;
    let draft_import = crate::imports::id_of(&page.location.expect("a draft import"));
    // Opportunities, owned by the member and public, on the company; notes on one of them.
    let first_stage = app
        .scalar(&format!(
            "SELECT id FROM opportunity_stages WHERE tenant_id = {tenant} ORDER BY position LIMIT 1"
        ))
        .await;
    let add_opportunity = |name: String| async move {
        exec(
            app,
            &format!(
                "INSERT INTO opportunities (tenant_id, company_id, name, stage_id, owner_id, created_by, visibility) \
                 VALUES ({tenant}, {customer}, '{name}', {first_stage}, {member}, {member}, 'public')"
            ),
        )
        .await;
        app.scalar(&format!(
            "SELECT id FROM opportunities WHERE name = '{name}'"
        ))
        .await
    };
    let opportunity_name = format!("{tag} 机会甲");
    let opportunity = add_opportunity(opportunity_name.clone()).await;
    let mut doomed_opportunities = [0; 3];
    for (i, slot) in doomed_opportunities.iter_mut().enumerate() {
        *slot = add_opportunity(format!("{tag} 待删机会{i}")).await;
    }
    let add_opportunity_note = |body: String, with_file: bool| {
        let member_client = &member_client;
        async move {
            member_client
                .get(&format!("/opportunities/{opportunity}"))
                .await;
            let files: Vec<(&str, &str, Vec<u8>)> = if with_file {
                vec![("机会附件.txt", "text/plain", body.as_bytes().to_vec())]
            } else {
                vec![]
            };
            let page = member_client
                .post_multipart(
                    &format!("/opportunities/{opportunity}/notes"),
                    &[("body", body.as_str())],
                    &files,
                )
                .await;
            assert_eq!(page.status, 303, "adding note {body}: {}", page.body);
            app.scalar(&format!("SELECT id FROM notes WHERE body = '{body}'"))
                .await
        }
    };
    let opportunity_note = add_opportunity_note(format!("{tag} 机会备注甲"), true).await;
    let mut doomed_opportunity_notes = [0; 3];
    for (i, slot) in doomed_opportunity_notes.iter_mut().enumerate() {
        *slot = add_opportunity_note(format!("{tag} 待删机会备注{i}"), false).await;
    }
    let opportunity_attachment = app
        .scalar(&format!(
            "SELECT id FROM note_attachments WHERE note_id = {opportunity_note}"
        ))
        .await;
    let named = |table: &'static str, name: &'static str, position: i32| async move {
        exec(
            app,
            &format!(
                "INSERT INTO {table} (tenant_id, name, position) VALUES ({tenant}, '{name}', {position})"
            ),
        )
        .await;
        app.scalar(&format!(
            "SELECT id FROM {table} WHERE tenant_id = {tenant} AND name = '{name}'"
        ))
        .await
    };
    let stage = named("opportunity_stages", "矩阵阶段", 10).await;
    let doomed_opportunity_category = named("opportunity_categories", "矩阵待删机会分类", 0).await;
    let opportunity_category = named("opportunity_categories", "矩阵机会分类", 1).await;
    let doomed_lost_reason = named("lost_reasons", "矩阵待删失败原因", 0).await;
    let lost_reason = named("lost_reasons", "矩阵失败原因", 1).await;
    let doomed_task_category = named("task_categories", "矩阵待删任务分类", 0).await;
    let task_category = named("task_categories", "矩阵任务分类", 1).await;
    // Tasks, owned by the member and public, on the opportunity (and so its company).
    let add_task = |content: String| async move {
        exec(
            app,
            &format!(
                "INSERT INTO tasks (tenant_id, content, starts_at, due_at, owner_id, created_by, visibility, company_id, opportunity_id) \
                 VALUES ({tenant}, '{content}', '2030-01-01 09:00+08', '2030-01-01 10:00+08', {member}, {member}, 'public', {customer}, {opportunity})"
            ),
        )
        .await;
        app.scalar(&format!("SELECT id FROM tasks WHERE content = '{content}'"))
            .await
    };
    let task_content = format!("{tag} 任务甲");
    let task = add_task(task_content.clone()).await;
    let mut doomed_tasks = [0; 3];
    for (i, slot) in doomed_tasks.iter_mut().enumerate() {
        *slot = add_task(format!("{tag} 待删任务{i}")).await;
    }
    let mut doomed_task_filters = [0; 3];
    for (slot, owner) in doomed_task_filters
        .iter_mut()
        .zip([member, manager, admin_id])
    {
        exec(
            app,
            &format!(
                "INSERT INTO saved_filters (tenant_id, owner_id, list, name, query) \
                 VALUES ({tenant}, {owner}, 'tasks', '{tag} 待删任务过滤', 'quick=today')"
            ),
        )
        .await;
        *slot = app
            .scalar(&format!(
                "SELECT id FROM saved_filters WHERE owner_id = {owner} AND name = '{tag} 待删任务过滤'"
            ))
            .await;
    }
    let users = Users {
        task,
        doomed_tasks,
        doomed_task_filters,
        task_category,
        doomed_task_category,
        opportunity,
        doomed_opportunities,
        opportunity_note,
        doomed_opportunity_notes,
        opportunity_attachment,
        stage,
        opportunity_category,
        doomed_opportunity_category,
        lost_reason,
        doomed_lost_reason,
        import,
        draft_import,
        admin: app.user_id(&email("admin")).await,
        manager,
        member,
        invitee,
        locked,
        disabled,
        company: customer,
        doomed,
        contact,
        doomed_contacts,
        category,
        doomed_category,
        field,
        doomed_field,
        doomed_filters,
        doomed_opportunity_filters,
        exports,
        note,
        doomed_notes,
        attachment,
    };
    let mut markers = vec![
        company,
        company_name,
        contact_name,
        category_name,
        field_name,
        note_text,
        opportunity_name,
        task_content,
    ];
    for who in [
        "admin", "manager", "member", "invitee", "locked", "disabled",
    ] {
        markers.push(email(who));
        markers.push(name(who));
    }
    Tenant {
        id: app.tenant_of(&email("admin")).await,
        users,
        manager: app.login_ok(&email("manager")).await,
        member: member_client,
        admin,
        markers,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Anonymous,
    Member,
    Manager,
    Admin,
}

async fn request(client: &Client, route: &RouteCase, path: &str) -> Page {
    match route.method {
        "GET" => client.get(path).await,
        "POST" if route.multipart && route.path == "/imports" => {
            let file = (
                "矩阵导入.csv",
                "text/csv",
                "公司名称\n矩阵客户\n".as_bytes().to_vec(),
            );
            client.upload(path, route.form, "file", file).await
        }
        "POST" if route.multipart => {
            let file = ("矩阵附件.txt", "text/plain", b"matrix".to_vec());
            client.post_multipart(path, route.form, &[file]).await
        }
        "POST" => client.post(path, route.form).await,
        other => panic!("unexpected method {other}"),
    }
}

/// What `role` must get for `route` (with an own-tenant id when `own`).
fn expected(route: &RouteCase, role: Role, own: bool) -> u16 {
    match (route.access, role) {
        (Access::Public, _) => route.ok,
        (_, Role::Anonymous) => 303,
        (Access::SignedIn, _) if route.own == Target::None || own => route.ok,
        (Access::SignedIn, _) => 404,
        (Access::Admin, Role::Member | Role::Manager) => 403,
        (Access::Admin, Role::Admin) if route.own == Target::None || own => route.ok,
        (Access::Admin, Role::Admin) => 404,
    }
}

fn check(
    page: &Page,
    route: &RouteCase,
    path: &str,
    who: &str,
    role: Role,
    own: bool,
    forbidden_markers: &[String],
) {
    let want = expected(route, role, own);
    assert_eq!(
        page.status, want,
        "{who} {} {path} (pattern {})",
        route.method, route.path
    );
    if role == Role::Anonymous && route.access != Access::Public {
        assert_eq!(
            page.location.as_deref(),
            Some("/login"),
            "{who} {} {path}",
            route.method
        );
    }
    if want == 404 && route.access != Access::Public {
        assert!(
            page.body.contains(&zh("error.404_title")),
            "{who} {} {path}",
            route.method
        );
    }
    if want == 403 {
        assert!(
            page.body.contains(&zh("error.403_title")),
            "{who} {} {path}",
            route.method
        );
    }
    for marker in forbidden_markers {
        assert!(
            !page.body.contains(marker.as_str()),
            "{who} {} {path} shows another tenant's {marker:?}",
            route.method
        );
        assert!(
            page.headers
                .values()
                .all(|v| !v.to_str().unwrap_or_default().contains(marker.as_str())),
            "{who} {} {path} leaks {marker:?} in a header",
            route.method
        );
    }
}

/// Runs every route for one actor: own-tenant ids, then every id of the other tenant,
/// then an id that exists nowhere, which must look exactly like the other tenant's.
async fn run_actor(
    who: &str,
    client: &Client,
    role: Role,
    own: Option<&Users>,
    other: &Users,
    forbidden: &[String],
) -> usize {
    let mut requests = 0;
    client.get("/login").await;
    for route in ROUTES {
        if route.path.contains(":token") {
            let path = route.path.replace(":token", "not-a-real-invitation-token");
            let page = request(client, route, &path).await;
            check(&page, route, &path, who, role, true, forbidden);
            requests += 1;
            continue;
        }
        if !route.path.contains(":id") {
            let page = request(client, route, route.path).await;
            check(&page, route, route.path, who, role, true, forbidden);
            requests += 1;
            continue;
        }
        let missing = fill(route.path, 987654321, 987654321);
        let page = request(client, route, &missing).await;
        check(&page, route, &missing, who, role, false, forbidden);
        let nonexistent = (page.status, page.texts("main"));
        for path in foreign_paths(route, own, other) {
            let page = request(client, route, &path).await;
            check(&page, route, &path, who, role, false, forbidden);
            assert_eq!(
                (page.status, page.texts("main")),
                nonexistent,
                "{who} {} {path}: another tenant's id must look like one that does not exist",
                route.method
            );
            requests += 1;
        }
        if let Some(own) = own {
            let path = own.own_path(route, role);
            let page = request(client, route, &path).await;
            check(&page, route, &path, who, role, true, forbidden);
            requests += 1;
        }
    }
    // The last route was the logout.
    assert_eq!(client.get("/").await.status, 303, "{who} is signed out");
    requests
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_every_actor_of_both_tenants_correctly() {
    let app = TestApp::start().await;
    let a = setup(&app, "alpha").await;
    let b = setup(&app, "bravo").await;
    app.drain_jobs().await;

    // Sanity: the markers do show up where they belong.
    let own_pages = format!(
        "{}{}",
        a.admin.get("/admin/users").await.body,
        a.admin.get("/customers").await.body
    ) + &a.admin.get("/contacts").await.body
        + &a.admin.get("/admin/categories").await.body
        + &a.admin.get("/admin/fields").await.body
        + &a.admin
            .get(&format!("/customers/{}", a.users.company))
            .await
            .body;
    for marker in &a.markers {
        assert!(
            own_pages.contains(marker.as_str()),
            "{marker} on A's own user or customer list"
        );
    }

    let mut requests = 0;
    let b_before = tenant_snapshot(&app, b.id).await;
    for (who, client, role) in [
        ("A member", &a.member, Role::Member),
        ("A manager", &a.manager, Role::Manager),
        ("A admin", &a.admin, Role::Admin),
    ] {
        requests += run_actor(who, client, role, Some(&a.users), &b.users, &b.markers).await;
    }
    app.drain_jobs().await;
    assert_eq!(
        b_before,
        tenant_snapshot(&app, b.id).await,
        "tenant A's requests changed tenant B's rows"
    );

    let a_before = tenant_snapshot(&app, a.id).await;
    for (who, client, role) in [
        ("B member", &b.member, Role::Member),
        ("B manager", &b.manager, Role::Manager),
        ("B admin", &b.admin, Role::Admin),
    ] {
        requests += run_actor(who, client, role, Some(&b.users), &a.users, &a.markers).await;
    }
    app.drain_jobs().await;
    assert_eq!(
        a_before,
        tenant_snapshot(&app, a.id).await,
        "tenant B's requests changed tenant A's rows"
    );

    // Anonymous visitors: no tenant's data at all, and signed-in routes send them to login.
    let (a_now, b_now) = (
        tenant_snapshot(&app, a.id).await,
        tenant_snapshot(&app, b.id).await,
    );
    let everyone: Vec<String> = a.markers.iter().chain(&b.markers).cloned().collect();
    let anonymous = app.client();
    requests += run_actor(
        "anonymous",
        &anonymous,
        Role::Anonymous,
        None,
        &a.users,
        &everyone,
    )
    .await;
    app.drain_jobs().await;
    assert_eq!(a_now, tenant_snapshot(&app, a.id).await);
    assert_eq!(b_now, tenant_snapshot(&app, b.id).await);

    // The own-tenant requests did take effect (the matrix really reached the handlers).
    assert_eq!(
        app.text(&format!(
            "SELECT string_agg(name, ',' ORDER BY tenant_id) FROM users WHERE id IN ({}, {})",
            a.users.member, b.users.member
        ))
        .await,
        "Matrix Rename,Matrix Rename"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT string_agg(name, ',' ORDER BY tenant_id) FROM companies WHERE id IN ({}, {})",
            a.users.company, b.users.company
        ))
        .await,
        "矩阵改名公司,矩阵改名公司"
    );
    let doomed: Vec<String> = a
        .users
        .doomed
        .iter()
        .chain(&b.users.doomed)
        .map(i64::to_string)
        .collect();
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM companies WHERE id IN ({})",
            doomed.join(",")
        ))
        .await,
        0,
        "each role deleted its own doomed company"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT string_agg(name, ',' ORDER BY tenant_id) FROM contacts WHERE id IN ({}, {})",
            a.users.contact, b.users.contact
        ))
        .await,
        "矩阵联系人改名,矩阵联系人改名"
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM contacts WHERE name = '矩阵新联系人'")
            .await,
        6,
        "each of the six actors added a contact in its own tenant"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT string_agg(name || ':' || position, ',' ORDER BY tenant_id) FROM customer_categories WHERE id IN ({}, {})",
            a.users.category, b.users.category
        ))
        .await,
        "矩阵改名分类:0,矩阵改名分类:0",
        "renamed, and moved above the deleted one's slot"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM customer_categories WHERE id IN ({}, {})",
            a.users.doomed_category, b.users.doomed_category
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM company_tags ct JOIN tags t ON t.tenant_id = ct.tenant_id AND t.id = ct.tag_id \
             WHERE t.name = '矩阵标签' AND ct.company_id IN ({}, {})",
            a.users.company, b.users.company
        ))
        .await,
        2,
        "each tenant tagged its own company"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT string_agg(label || ':' || position, ',' ORDER BY tenant_id) FROM custom_fields WHERE id IN ({}, {})",
            a.users.field, b.users.field
        ))
        .await,
        "矩阵改名字段:0,矩阵改名字段:0",
        "renamed and moved up, in each tenant"
    );
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM custom_fields WHERE id IN ({}, {})",
            a.users.doomed_field, b.users.doomed_field
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM saved_filters WHERE name LIKE '% 待删过滤'")
            .await,
        0,
        "each role deleted its own saved filter"
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM saved_filters WHERE name = '矩阵过滤' AND shared")
            .await,
        6,
        "each of the six actors saved a filter in its own tenant"
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM notes WHERE body = '矩阵备注'")
            .await,
        6,
        "each of the six actors added a note in its own tenant"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT string_agg(user_id || ':' || month || ':' || amount, ',' ORDER BY tenant_id) \
             FROM sales_targets WHERE user_id IN ({}, {})",
            a.users.member, b.users.member
        ))
        .await,
        format!("{}:1:100000,{}:1:100000", a.users.member, b.users.member),
        "each tenant's roles set their own member's target"
    );
    assert_eq!(
        app.scalar("SELECT count(*) FROM sales_targets").await,
        2,
        "no target was set for anyone else"
    );
    assert_eq!(
        app.scalar(
            "SELECT count(*) FROM note_attachments a JOIN notes n \
             ON n.tenant_id = a.tenant_id AND n.id = a.note_id WHERE n.body = '矩阵备注'"
        )
        .await,
        6,
        "with their files"
    );
    let doomed_notes: Vec<String> = a
        .users
        .doomed_notes
        .iter()
        .chain(&b.users.doomed_notes)
        .map(i64::to_string)
        .collect();
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) FROM notes WHERE id IN ({})",
            doomed_notes.join(",")
        ))
        .await,
        0,
        "each role deleted its own doomed note"
    );
    assert!(requests > 300, "{requests} requests");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admins_posts_to_another_tenants_users_change_nothing_there() {
    let app = TestApp::start().await;
    let a = setup(&app, "attacker").await;
    let b = setup(&app, "victim").await;
    app.drain_jobs().await;
    let before = tenant_snapshot(&app, b.id).await;
    let mails_before = app.smtp.messages().len();
    a.admin.get("/admin/users").await;
    for id in b.users.all() {
        let attacks: [(String, Vec<(&str, &str)>); 6] = [
            (format!("/admin/users/{id}/unlock"), vec![]),
            (format!("/admin/users/{id}/disable"), vec![]),
            (format!("/admin/users/{id}/enable"), vec![]),
            (format!("/admin/users/{id}/reinvite"), vec![]),
            (
                format!("/admin/users/{id}/password"),
                vec![("password", OTHER_PASSWORD), ("confirm", OTHER_PASSWORD)],
            ),
            (
                format!("/admin/users/{id}"),
                vec![("name", "Pwned"), ("role", "admin"), ("reports_to", "")],
            ),
        ];
        for (path, form) in attacks {
            let page = a.admin.post(&path, &form).await;
            assert_eq!(page.status, 404, "POST {path}");
            let page = a.admin.post_htmx(&path, &form).await;
            assert_eq!(page.status, 404, "htmx POST {path}");
        }
    }
    app.drain_jobs().await;
    assert_eq!(
        before,
        tenant_snapshot(&app, b.id).await,
        "B's rows changed"
    );
    assert_eq!(app.smtp.messages().len(), mails_before, "an email went out");
    let (_, login) = app.login("locked@victim.test", OTHER_PASSWORD).await;
    assert_eq!(login.status, 401);
    let (_, login) = app.login("member@victim.test", PASSWORD).await;
    assert_eq!(
        login.status, 303,
        "B's member still signs in with the old password"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tenant_comes_from_the_session_never_from_the_form() {
    let app = TestApp::start().await;
    let a = setup(&app, "home").await;
    let b = setup(&app, "away").await;
    let b_tenant = b.id.to_string();
    a.admin.get("/admin/users/new").await;
    let page = a
        .admin
        .post(
            &format!("/admin/users/new?tenant_id={b_tenant}"),
            &[
                ("tenant_id", b_tenant.as_str()),
                ("name", "新人"),
                ("email", "planted@home.test"),
                ("role", "member"),
                ("reports_to", ""),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(app.tenant_of("planted@home.test").await, a.id);

    // A manager from the other tenant cannot be chosen, on create or on edit.
    let b_manager = b.users.manager.to_string();
    a.admin.get("/admin/users/new").await;
    let page = a
        .admin
        .post(
            "/admin/users/new",
            &[
                ("name", "跨租户"),
                ("email", "cross@home.test"),
                ("role", "member"),
                ("reports_to", b_manager.as_str()),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(
        page.texts(".invalid-feedback")
            .contains(&zh("form.invalid_choice"))
    );
    assert!(!page.body.contains("away-manager"));
    let page = a
        .admin
        .post(
            &format!("/admin/users/{}", a.users.member),
            &[
                ("name", "home-member-姓名"),
                ("role", "member"),
                ("reports_to", b_manager.as_str()),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        app.scalar(&format!(
            "SELECT reports_to FROM users WHERE id = {}",
            a.users.member
        ))
        .await,
        a.users.manager
    );
    let form = a
        .admin
        .get(&format!("/admin/users/{}", a.users.member))
        .await;
    let offered = form.attrs("#f-reports_to option", "value");
    for id in b.users.all() {
        assert!(
            !offered.contains(&id.to_string()),
            "B's user {id} offered as manager"
        );
    }
}
