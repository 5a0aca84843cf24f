//! Every route in one place, and the stack around them: sessions, CSRF, error pages,
//! security headers, the request log and the static files.

use std::time::Duration;

use poem::{
    Endpoint, EndpointExt, Request, Response, Route,
    endpoint::EmbeddedFilesEndpoint,
    get, handler,
    http::header,
    middleware::{Csrf, SetHeader},
    post,
    session::{CookieConfig, ServerSession},
    web::cookie::SameSite,
};

use crate::{
    account,
    admin::{
        self,
        lists::{CustomerCategories, LostReasons, OpportunityCategories, TaskCategories},
    },
    auth::{invite, login, recovery, session_routes, signup},
    contacts, customers, exports, home, imports, listing, notes, opportunities,
    state::State,
    statistics, tags, targets, tasks, users,
    web::{error_pages::error_pages, security, session_store},
};

/// The static files (htmx, CSS), compiled into the binary.
#[derive(rust_embed::RustEmbed)]
#[folder = "../static"]
struct Assets;

/// How long a session lives without requests.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// The whole application: routes, sessions, CSRF, error pages and security headers.
pub fn app(state: State) -> impl Endpoint<Output = Response> {
    let secure = state.config.secure_cookies();
    let sessions = session_store::RedisSessions::new(
        state.redis.clone(),
        &state.config.redis_prefix,
        SESSION_TTL,
    );
    let cookie = CookieConfig::default()
        .name("kehu_session")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(None);
    let csrf = Csrf::new()
        .cookie_name("kehu_csrf")
        .key(state.config.secret_key)
        .secure(secure)
        .same_site(SameSite::Lax);

    let routes = Route::new()
        .at("/", get(home::index))
        .at("/login", get(login::show).post(login::submit))
        .at("/signup", get(signup::show).post(signup::submit))
        .at(
            "/signup/confirm/:token",
            get(signup::confirm_form).post(signup::confirm),
        )
        .at("/logout", post(session_routes::logout))
        .at("/locale", post(session_routes::switch_locale))
        .at("/invite/:token", get(invite::show).post(invite::accept))
        .at(
            "/password/forgot",
            get(recovery::forgot_form).post(recovery::forgot),
        )
        .at(
            "/password/reset/:token",
            get(recovery::reset_form).post(recovery::reset),
        )
        .at(
            "/account/unlock/:token",
            get(recovery::unlock_form).post(recovery::unlock),
        )
        .at("/customers", get(customers::list::index))
        .at(
            "/customers/new",
            get(customers::form::new_form).post(customers::form::create),
        )
        .at("/customers/check-name", get(customers::form::check_name))
        .at(
            "/customers/autocomplete",
            get(customers::picker::autocomplete),
        )
        .at("/customers/bulk-tag", post(tags::routes::bulk))
        .at("/customers/:id", get(customers::form::show))
        .at(
            "/customers/:id/inline",
            get(customers::inline::edit).post(customers::inline::save),
        )
        .at("/customers/:id/tags", post(tags::routes::tag_one))
        .at("/customers/:id/untag", post(tags::routes::untag_one))
        .at(
            "/customers/:id/notes",
            get(notes::list::index).post(notes::create::create),
        )
        .at(
            "/customers/:id/notes/:note_id/delete",
            get(notes::delete::confirm).post(notes::delete::delete),
        )
        .at(
            "/customers/:id/files/:attachment_id",
            get(notes::download::download),
        )
        .at("/tags", get(tags::routes::index))
        .at("/targets", get(targets::index::index))
        .at("/targets/:id", post(targets::save::save))
        .at(
            "/customers/:id/edit",
            get(customers::form::edit_form).post(customers::form::update),
        )
        .at(
            "/customers/:id/delete",
            get(customers::form::delete_form).post(customers::form::delete),
        )
        .at(
            "/exports",
            get(exports::routes::index).post(exports::routes::create),
        )
        .at("/exports/:id", get(exports::routes::show))
        .at("/exports/:id/progress", get(exports::routes::progress))
        .at("/exports/:id/download", get(exports::routes::download))
        .at(
            "/imports",
            get(imports::routes::index).post(imports::routes::create),
        )
        .at("/imports/:id", get(imports::routes::show))
        .at("/imports/:id/preview", post(imports::routes::preview_rows))
        .at("/imports/:id/start", post(imports::routes::start))
        .at("/imports/:id/progress", get(imports::routes::progress))
        .at("/imports/:id/cancel", post(imports::routes::cancel))
        .at(
            "/imports/:id/undo",
            get(imports::routes::undo_confirm).post(imports::routes::undo),
        )
        .at("/imports/:id/errors", get(imports::routes::errors))
        .at("/opportunities", get(opportunities::list::index))
        .at("/tasks", get(tasks::list::index))
        .at(
            "/customers/:id/tasks",
            post(tasks::section::quick_on_company),
        )
        .at(
            "/opportunities/:id/tasks",
            post(tasks::section::quick_on_opportunity),
        )
        .at(
            "/tasks/new",
            get(tasks::create::new_form).post(tasks::create::create),
        )
        .at("/tasks/bulk-done", post(tasks::list::bulk_done))
        .at("/tasks/:id", get(tasks::detail::show))
        .at(
            "/tasks/:id/edit",
            get(tasks::edit::edit_form).post(tasks::edit::update),
        )
        .at("/tasks/:id/move", post(tasks::calendar::move_to))
        .at("/calendar", get(tasks::calendar::index))
        .at("/calendar/feed/:token", get(tasks::feed::show))
        .at("/tasks/:id/done", post(tasks::detail::complete))
        .at("/tasks/:id/restore", post(tasks::detail::reopen))
        .at(
            "/tasks/:id/delete",
            get(tasks::detail::confirm_delete).post(tasks::detail::delete),
        )
        .at(
            "/opportunities/new",
            get(opportunities::create::new_form).post(opportunities::create::create),
        )
        .at("/opportunities/board", get(opportunities::board::index))
        .at("/opportunities/:id", get(opportunities::detail::show))
        .at(
            "/opportunities/:id/edit",
            get(opportunities::edit::edit_form).post(opportunities::edit::update),
        )
        .at(
            "/opportunities/:id/delete",
            get(opportunities::delete::confirm).post(opportunities::delete::delete),
        )
        .at(
            "/opportunities/:id/status",
            get(opportunities::status::card).post(opportunities::status::set),
        )
        .at(
            "/opportunities/:id/stage",
            post(opportunities::stage::change),
        )
        .at(
            "/opportunities/:id/inline",
            get(opportunities::inline::edit).post(opportunities::inline::save),
        )
        .at(
            "/opportunities/:id/notes",
            get(notes::list::index_of_opportunity).post(notes::create::create_on_opportunity),
        )
        .at(
            "/opportunities/:id/notes/:note_id/delete",
            get(notes::delete::confirm_on_opportunity).post(notes::delete::delete_on_opportunity),
        )
        .at(
            "/opportunities/:id/files/:attachment_id",
            get(notes::download::download_of_opportunity),
        )
        .at(
            "/statistics/distribution",
            get(statistics::distribution::index),
        )
        .at("/statistics/ranking", get(statistics::ranking::index))
        .at("/statistics/funnel", get(statistics::funnel::index))
        .at("/contacts", get(contacts::list::index))
        .at(
            "/contacts/new",
            get(contacts::form::new_form).post(contacts::form::create),
        )
        .at("/contacts/:id", get(contacts::form::show))
        .at(
            "/contacts/:id/edit",
            get(contacts::form::edit_form).post(contacts::form::update),
        )
        .at(
            "/contacts/:id/delete",
            get(contacts::form::delete_form).post(contacts::form::delete),
        )
        .at("/account", get(account::profile))
        .at(
            "/account/reminders",
            get(tasks::settings::show).post(tasks::settings::save),
        )
        .at("/account/calendar-feed", post(tasks::feed::manage))
        .at(
            "/account/password",
            get(users::password::change_form).post(users::password::change),
        )
        .at("/admin/users", get(users::list::index))
        .at(
            "/admin/users/new",
            get(users::form::new_form).post(users::form::create),
        )
        .at(
            "/admin/users/invite",
            get(users::form::invite_form).post(users::form::invite),
        )
        .at(
            "/admin/users/:id",
            get(users::form::edit_form).post(users::form::update),
        )
        .at(
            "/admin/users/:id/password",
            get(users::password::reset_form).post(users::password::reset),
        )
        .at("/admin/users/:id/unlock", post(users::actions::unlock))
        .at("/admin/users/:id/disable", post(users::actions::disable))
        .at("/admin/users/:id/enable", post(users::actions::enable))
        .at("/admin/users/:id/reinvite", post(users::actions::reinvite))
        .at(
            "/admin/stages",
            get(admin::stages::index).post(admin::stages::create),
        )
        .at("/admin/stages/:id", post(admin::stages::update))
        .at("/admin/stages/:id/up", post(admin::stages::move_up))
        .at("/admin/stages/:id/retire", post(admin::stages::retire))
        .at(
            "/admin/fields",
            get(admin::fields::index).post(admin::fields::create),
        )
        .at(
            "/admin/fields/:id",
            get(admin::fields::edit_form).post(admin::fields::update),
        )
        .at("/admin/fields/:id/up", post(admin::fields::move_up))
        .at("/admin/fields/:id/delete", post(admin::fields::delete))
        .at("/admin/audit", get(admin::audit_log::index))
        .at("/admin/jobs", get(admin::jobs::index));
    // The settings lists of names (admin/lists.rs).
    let routes = admin::lists::mount::<CustomerCategories>(routes, "/admin/categories");
    let routes =
        admin::lists::mount::<OpportunityCategories>(routes, "/admin/opportunity-categories");
    let routes = admin::lists::mount::<LostReasons>(routes, "/admin/lost-reasons");
    let routes = admin::lists::mount::<TaskCategories>(routes, "/admin/task-categories");
    // Each list's filters, columns, condition and bulk endpoints (listing/routes.rs).
    let routes = listing::routes::mount::<customers::bulk::Customers>(routes, "/customers");
    let routes =
        listing::routes::mount::<opportunities::list::Opportunities>(routes, "/opportunities");
    let routes = listing::routes::mount::<tasks::list::Tasks>(routes, "/tasks");

    Route::new()
        .at("/healthz", get(healthz))
        .nest(
            "/static",
            EmbeddedFilesEndpoint::<Assets>::new()
                .with(SetHeader::new().overriding(header::CACHE_CONTROL, "public, max-age=3600")),
        )
        .nest("/", routes.with(security::RequireCsrf).around(error_pages))
        .with(csrf)
        .with(ServerSession::new(cookie, sessions))
        .with(security::SecurityHeaders { hsts: secure })
        .around(log_request)
        .data(state)
        .map_to_response()
}

/// Logs each request: method, path (the tokens of account links and calendar feeds
/// redacted, query strings left out, since both may carry secrets), status and duration.
async fn log_request<E: Endpoint<Output = Response>>(
    ep: E,
    req: Request,
) -> poem::Result<Response> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = match req.uri().path() {
        p if p.starts_with("/invite/") => "/invite/[token]".to_owned(),
        p if p.starts_with("/password/reset/") => "/password/reset/[token]".to_owned(),
        p if p.starts_with("/account/unlock/") => "/account/unlock/[token]".to_owned(),
        p if p.starts_with("/calendar/feed/") => "/calendar/feed/[token]".to_owned(),
        p => p.to_owned(),
    };
    let result = ep.call(req).await;
    let status = match &result {
        Ok(resp) => resp.status(),
        Err(err) => err.status(),
    };
    tracing::info!(%method, %path, status = status.as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    result
}

/// GET /healthz: answers once the process serves requests.
#[handler]
async fn healthz() -> &'static str {
    "ok"
}
