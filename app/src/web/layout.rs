//! The page layout: a left menu of modules and, on the right, a tab bar over the content
//! (as in the manuals). One function per layout; fragments are plain functions that both
//! full-page and htmx handlers call.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::{
    i18n::Locale,
    web::{
        ctx::{Ctx, PublicCtx},
        flash,
        security::{CSRF_FIELD, CSRF_HEADER},
    },
};

/// A module in the left menu. Modules that are not built yet are not listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Module {
    /// 工作桌面, the home page.
    Home,
    /// 客户管理: companies.
    Customers,
    /// 销售机会: opportunities, their list and board.
    Opportunities,
    /// 统计分析: distribution, ranking, funnel.
    Statistics,
    /// 系统设置: users, audit log, background jobs (admins only).
    Settings,
    /// 个人设置: profile, language and password.
    Account,
}

impl Module {
    fn href(self) -> &'static str {
        match self {
            Self::Home => "/",
            Self::Customers => "/customers",
            Self::Opportunities => "/opportunities",
            Self::Statistics => "/statistics/distribution",
            Self::Settings => "/admin/users",
            Self::Account => "/account",
        }
    }

    fn label_key(self) -> &'static str {
        match self {
            Self::Home => "menu.home",
            Self::Customers => "menu.customers",
            Self::Opportunities => "menu.opportunities",
            Self::Statistics => "statistics.menu",
            Self::Settings => "menu.settings",
            Self::Account => "menu.account",
        }
    }

    fn icon(self) -> &'static str {
        match self {
            Self::Home => "▦",
            Self::Customers => "☰",
            Self::Opportunities => "◆",
            Self::Statistics => "◔",
            Self::Settings => "⚙",
            Self::Account => "☺",
        }
    }

    fn visible_to(self, ctx: &Ctx) -> bool {
        match self {
            Self::Settings => ctx.is_admin(),
            Self::Home
            | Self::Customers
            | Self::Opportunities
            | Self::Statistics
            | Self::Account => true,
        }
    }
}

/// One tab of the tab bar.
pub struct Tab {
    /// Locale key of the label.
    pub label_key: &'static str,
    /// Where it goes.
    pub href: &'static str,
}

/// The tabs of a module.
pub fn tabs(module: Module, ctx: &Ctx) -> Vec<Tab> {
    match module {
        Module::Home => vec![
            Tab {
                label_key: "home.board",
                href: "/",
            },
            Tab {
                label_key: "tasks.tab",
                href: "/tasks",
            },
            Tab {
                label_key: "calendar.title",
                href: "/calendar",
            },
            Tab {
                label_key: "targets.tab",
                href: "/targets",
            },
        ],
        Module::Customers => vec![
            Tab {
                label_key: "tab.customers",
                href: "/customers",
            },
            Tab {
                label_key: "tab.contacts",
                href: "/contacts",
            },
            Tab {
                label_key: "tab.tags",
                href: "/tags",
            },
            Tab {
                label_key: "tab.filters",
                href: "/customers/filters",
            },
            Tab {
                label_key: "tab.exports",
                href: "/exports",
            },
        ]
        .into_iter()
        .chain(ctx.is_admin().then_some(Tab {
            label_key: "tab.imports",
            href: "/imports",
        }))
        .chain([
            Tab {
                label_key: "tab.new_customer",
                href: "/customers/new",
            },
            Tab {
                label_key: "tab.new_contact",
                href: "/contacts/new",
            },
        ])
        .collect(),
        Module::Opportunities => vec![
            Tab {
                label_key: "tab.opportunities",
                href: "/opportunities",
            },
            Tab {
                label_key: "tab.board",
                href: "/opportunities/board",
            },
            Tab {
                label_key: "tab.new_opportunity",
                href: "/opportunities/new",
            },
        ],
        Module::Statistics => vec![
            Tab {
                label_key: "statistics.tab_distribution",
                href: "/statistics/distribution",
            },
            Tab {
                label_key: "statistics.tab_ranking",
                href: "/statistics/ranking",
            },
            Tab {
                label_key: "statistics.tab_funnel",
                href: "/statistics/funnel",
            },
        ],
        Module::Settings if ctx.is_admin() => vec![
            Tab {
                label_key: "tab.users",
                href: "/admin/users",
            },
            Tab {
                label_key: "tab.categories",
                href: "/admin/categories",
            },
            Tab {
                label_key: "tab.fields",
                href: "/admin/fields",
            },
            Tab {
                label_key: "tab.stages",
                href: "/admin/stages",
            },
            Tab {
                label_key: "tab.opportunity_categories",
                href: "/admin/opportunity-categories",
            },
            Tab {
                label_key: "tab.lost_reasons",
                href: "/admin/lost-reasons",
            },
            Tab {
                label_key: "tab.task_categories",
                href: "/admin/task-categories",
            },
            Tab {
                label_key: "tab.audit",
                href: "/admin/audit",
            },
            Tab {
                label_key: "tab.jobs",
                href: "/admin/jobs",
            },
        ],
        Module::Settings => vec![],
        Module::Account => vec![
            Tab {
                label_key: "tab.profile",
                href: "/account",
            },
            Tab {
                label_key: "tab.reminders",
                href: "/account/reminders",
            },
            Tab {
                label_key: "tab.password",
                href: "/account/password",
            },
        ],
    }
}

fn head(locale: Locale, title: &str, extra: Markup) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            // htmx reads its config from this meta tag: no eval, no injected inline styles,
            // and no `style` among the attributes it carries over a swap (setting a style
            // attribute breaks the CSP; charts get theirs from script, through the CSSOM).
            meta name="htmx-config" content=r#"{"allowEval":false,"includeIndicatorStyles":false,"selfRequestsOnly":true,"attributesToSettle":["class","width","height"]}"#;
            title { (title) " · " (locale.t("app.name")) }
            link rel="stylesheet" href="/static/vendor/bootstrap.min.css";
            link rel="stylesheet" href="/static/app.css";
            link rel="icon" href="/static/favicon.svg" type="image/svg+xml";
            script src="/static/vendor/htmx.min.js" defer {}
            script src="/static/forms.js" defer {}
            (extra)
        }
    }
}

/// Buttons that switch the UI language (a form per language, so it works without JS).
pub fn language_switch(locale: Locale, csrf: &str) -> Markup {
    html! {
        div.lang-switch {
            @for lang in Locale::ALL {
                form method="post" action="/locale" {
                    (csrf_field(csrf))
                    input type="hidden" name="locale" value=(lang.code());
                    button.btn.btn-link.btn-sm type="submit" disabled[lang == locale] lang=(lang.code()) {
                        (lang.native_name())
                    }
                }
            }
        }
    }
}

/// The form under a delete confirmation: the destructive button and a Cancel link that
/// has the focus, so Enter does not delete.
pub fn confirm_delete_form(ctx: &Ctx, action: &str, submit: &str, cancel: &str) -> Markup {
    confirm_delete_form_with(ctx, action, (submit, cancel), html! {})
}

/// [`confirm_delete_form`] with choices (`fields`) above its buttons.
pub fn confirm_delete_form_with(
    ctx: &Ctx,
    action: &str,
    (submit, cancel): (&str, &str),
    fields: Markup,
) -> Markup {
    html! {
        form method="post" action=(action) {
            (csrf_field(&ctx.csrf))
            (fields)
            button.btn.btn-danger type="submit" { (submit) }
            a.btn.btn-link href=(cancel) autofocus { (ctx.t("common.cancel")) }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

fn hx_headers(csrf: &str) -> String {
    serde_json::json!({ CSRF_HEADER: csrf }).to_string()
}

/// Seconds between the reloads of a [`job_page`] without JavaScript (htmx polls its
/// status every second).
pub const NO_JS_REFRESH_SECONDS: u32 = 2;

/// A signed-in page: left menu, tab bar, then `content`.
pub fn page(ctx: &Ctx, module: Module, active_tab: &str, title: &str, content: Markup) -> Markup {
    page_with_head(ctx, module, active_tab, title, html! {}, content)
}

/// [`page`] for a job's progress (an import, an export). While the job is `live`, a
/// browser without JavaScript reloads it every [`NO_JS_REFRESH_SECONDS`]: a
/// `<meta http-equiv="refresh">` inside `<noscript>`, so that with JavaScript the browser
/// ignores it and htmx polls the status instead. The CSP does not govern a meta refresh
/// (no directive covers it), so it needs no change there.
pub fn job_page(
    ctx: &Ctx,
    module: Module,
    active_tab: &str,
    title: &str,
    live: bool,
    content: Markup,
) -> Markup {
    let refresh = html! {
        @if live { noscript { meta http-equiv="refresh" content=(NO_JS_REFRESH_SECONDS); } }
    };
    page_with_head(ctx, module, active_tab, title, refresh, content)
}

/// [`page`] with `extra` at the end of its `<head>`.
fn page_with_head(
    ctx: &Ctx,
    module: Module,
    active_tab: &str,
    title: &str,
    extra: Markup,
    content: Markup,
) -> Markup {
    let tabs = tabs(module, ctx);
    html! {
        (DOCTYPE)
        html lang=(ctx.locale.code()) {
            (head(ctx.locale, title, extra))
            body hx-headers=(hx_headers(&ctx.csrf)) {
                div.app-shell {
                    nav.app-menu aria-label=(ctx.t("menu.label")) {
                        // On a narrow screen the menu folds away behind the Menu button:
                        // the button is the label of this checkbox, and app.css shows the
                        // menu while it is checked, so it needs no JavaScript.
                        input.app-menu-toggle #app-menu-toggle type="checkbox" aria-controls="app-menu-body";
                        div.app-menu-bar {
                            a.app-brand href="/" { (ctx.t("app.name")) }
                            label.app-menu-button.btn.btn-sm for="app-menu-toggle" {
                                svg width="16" height="16" viewBox="0 0 16 16" fill="currentColor" aria-hidden="true" {
                                    rect x="1" y="3" width="14" height="1.5" rx=".75" {}
                                    rect x="1" y="7.25" width="14" height="1.5" rx=".75" {}
                                    rect x="1" y="11.5" width="14" height="1.5" rx=".75" {}
                                }
                                " " (ctx.t("menu.toggle"))
                            }
                        }
                        div.app-menu-body #app-menu-body {
                            div.app-tenant title=(ctx.tenant_name) { (ctx.tenant_name) }
                            ul.nav.flex-column {
                                @for m in [Module::Home, Module::Customers, Module::Opportunities, Module::Statistics, Module::Settings, Module::Account] {
                                    @if m.visible_to(ctx) {
                                        li.nav-item {
                                            a.nav-link.active[m == module] href=(m.href())
                                                aria-current=[(m == module).then_some("page")] {
                                                span.menu-icon aria-hidden="true" { (m.icon()) }
                                                (ctx.t(m.label_key()))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    div.app-main {
                        header.app-topbar {
                            div.app-user {
                                span.fw-semibold { (ctx.name) }
                                span.badge.bg-primary-subtle.text-primary-emphasis.ms-2 { (ctx.t(ctx.role.label_key())) }
                            }
                            a.app-bell.btn.btn-sm.btn-outline-secondary #task-bell href="/tasks"
                                title=(ctx.t("tasks.bell")) aria-label=(ctx.locale.tf("tasks.bell_count", &[("count", &ctx.due_tasks.to_string())])) {
                                svg width="16" height="16" viewBox="0 0 16 16" fill="currentColor" aria-hidden="true" {
                                    path d="M8 16a2 2 0 0 0 2-2H6a2 2 0 0 0 2 2zm.995-14.901a1 1 0 1 0-1.99 0A5.002 5.002 0 0 0 3 6c0 1.098-.5 6-2 7h14c-1.5-1-2-5.902-2-7 0-2.42-1.72-4.44-4.005-4.901z" {}
                                }
                                @if ctx.due_tasks > 0 {
                                    span.badge.rounded-pill.text-bg-danger.ms-1 #task-bell-count { (ctx.due_tasks) }
                                }
                            }
                            (language_switch(ctx.locale, &ctx.csrf))
                            form method="post" action="/logout" {
                                (csrf_field(&ctx.csrf))
                                button.btn.btn-outline-secondary.btn-sm type="submit" { (ctx.t("nav.logout")) }
                            }
                        }
                        @if !tabs.is_empty() {
                            ul.nav.nav-tabs.app-tabs {
                                @for tab in &tabs {
                                    li.nav-item {
                                        a.nav-link.active[tab.href == active_tab] href=(tab.href)
                                            aria-current=[(tab.href == active_tab).then_some("page")] {
                                            (ctx.t(tab.label_key))
                                        }
                                    }
                                }
                            }
                        }
                        main #content.app-content {
                            h1.h4.mb-3 { (title) }
                            @if let Some(flash) = flash::take(ctx) { (flash::render(&flash)) }
                            (content)
                        }
                    }
                }
            }
        }
    }
}

/// A page for visitors who are not signed in (login, sign-up, invitation, errors).
pub fn public_page(locale: Locale, csrf: &str, title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(locale.code()) {
            (head(locale, title, html! {}))
            body.public-body hx-headers=(hx_headers(csrf)) {
                header.public-header {
                    a.app-brand-dark href="/" { (locale.t("app.name")) }
                    (language_switch(locale, csrf))
                }
                main.public-main {
                    div.card.public-card {
                        div.card-body {
                            h1.h4.mb-3 { (title) }
                            (content)
                        }
                    }
                }
            }
        }
    }
}

/// A public page for a [`PublicCtx`].
pub fn public(ctx: &PublicCtx, title: &str, content: Markup) -> Markup {
    public_page(ctx.locale, &ctx.csrf, title, content)
}

/// A flash-style notice at the top of a page.
pub fn notice(kind: &str, text: &str) -> Markup {
    html! { div class={"alert alert-" (kind)} role="alert" { (text) } }
}

/// A `<script type="application/json">` carrying `value` for a chart (or other script)
/// to read. `<`, `>`, `&` and the JavaScript line separators are written as `\u` escapes,
/// so no string in the data (a user's name, say) can end the script element: that is
/// what makes the `PreEscaped` safe.
pub fn json_script(value: &serde_json::Value) -> Markup {
    let mut text = String::new();
    for c in value.to_string().chars() {
        match c {
            '<' => text.push_str("\\u003c"),
            '>' => text.push_str("\\u003e"),
            '&' => text.push_str("\\u0026"),
            '\u{2028}' => text.push_str("\\u2028"),
            '\u{2029}' => text.push_str("\\u2029"),
            c => text.push(c),
        }
    }
    html! { script type="application/json" { (PreEscaped(text)) } }
}
