//! 统计分析: the statistics module — 比例图 (the distribution of opportunities), 销售排行榜
//! (the ranking) and 销售漏斗 (the funnel), one file per page.
//!
//! - **Who counts.** Every figure goes through the viewer's [`Scope`]: members see their
//!   own opportunities and public ones, managers also their team's, admins everything
//!   or, with the `view` switch of the customer list, public data or one employee's. The
//!   ranking and the funnel can narrow further to one manager's team (`team`).
//! - **Periods** are whole days in the tenant's time zone ([`Period`]).
//! - **Where figures come from.** The distribution is a snapshot, counted live. Period
//!   figures come from the nightly rollup for days that have not changed since it ran
//!   and live for the others, today included ([`rollup`]), so they are never stale.
//! - **Charts.** Apache ECharts (vendored from npm, `static/vendor/echarts.min.js`)
//!   draws them from JSON the server puts in the chart's `data-chart` attribute;
//!   `static/charts.js` finds them. Every chart has a table of the same numbers beside
//!   it, so the page reads without JavaScript, and `?format=json` answers the numbers.

pub mod distribution;
pub mod funnel;
pub mod model;
pub mod ranking;
pub mod rollup;
pub mod views;

use chrono::{Datelike, Months, NaiveDate, Utc};
use poem::{IntoResponse, Request, Response, web::Json};
use serde::Deserialize;

use crate::{
    customers::visibility::{Scope, View, team_of},
    db::TenantTx,
    error::AppResult,
    ids::UserId,
    users::model::{self as users, Role, User},
    web::ctx::Ctx,
};

/// The query string the statistics pages share.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Params {
    /// `this_month` (default), `last_month`, `this_quarter`, `this_year` or `custom`.
    pub period: String,
    /// First day of a custom period, `YYYY-MM-DD`.
    pub from: String,
    /// Last day of a custom period.
    pub to: String,
    /// The admin's view: empty, `public` or `user-<id>` (as on the customer list).
    pub view: String,
    /// A manager's id: only their team (them and everyone below them).
    pub team: String,
    /// `json` for the numbers, `xlsx` for the ranking's download; else the page.
    pub format: String,
    /// The distribution: only opportunities of this status (`tracking`, `won`, `lost`).
    pub status: String,
    /// The distribution's charts: `count` (default) or `amount`.
    pub measure: String,
}

/// A choice of period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Period {
    /// 本月.
    #[default]
    ThisMonth,
    /// 上月.
    LastMonth,
    /// 本季度.
    ThisQuarter,
    /// 本年.
    ThisYear,
    /// From–to dates.
    Custom,
}

impl Period {
    /// Every choice, in the order the form offers them.
    pub const ALL: [Period; 5] = [
        Period::ThisMonth,
        Period::LastMonth,
        Period::ThisQuarter,
        Period::ThisYear,
        Period::Custom,
    ];

    /// The query parameter value.
    pub fn as_param(self) -> &'static str {
        match self {
            Self::ThisMonth => "this_month",
            Self::LastMonth => "last_month",
            Self::ThisQuarter => "this_quarter",
            Self::ThisYear => "this_year",
            Self::Custom => "custom",
        }
    }

    /// The locale key of its label.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::ThisMonth => "statistics.period_this_month",
            Self::LastMonth => "statistics.period_last_month",
            Self::ThisQuarter => "statistics.period_this_quarter",
            Self::ThisYear => "statistics.period_this_year",
            Self::Custom => "statistics.period_custom",
        }
    }

    fn parse(raw: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|p| p.as_param() == raw)
            .unwrap_or_default()
    }

    /// The first and last day of a named period around `today`.
    fn span(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let month_start = today.with_day(1).unwrap_or(today);
        let month_end = |start: NaiveDate| {
            start
                .checked_add_months(Months::new(1))
                .and_then(|d| d.pred_opt())
                .unwrap_or(start)
        };
        match self {
            Self::ThisMonth | Self::Custom => (month_start, month_end(month_start)),
            Self::LastMonth => {
                let start = month_start
                    .checked_sub_months(Months::new(1))
                    .unwrap_or(month_start);
                (start, month_end(start))
            }
            Self::ThisQuarter => {
                let first_month = (today.month0() / 3) * 3 + 1;
                let start = NaiveDate::from_ymd_opt(today.year(), first_month, 1).unwrap_or(today);
                let end = start
                    .checked_add_months(Months::new(3))
                    .and_then(|d| d.pred_opt())
                    .unwrap_or(start);
                (start, end)
            }
            Self::ThisYear => (
                NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today),
                NaiveDate::from_ymd_opt(today.year(), 12, 31).unwrap_or(today),
            ),
        }
    }
}

/// The longest custom period, in days (ten years).
const MAX_DAYS: i64 = 3660;

/// What the period part of the form asked for, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// The choice.
    pub period: Period,
    /// First day, in the tenant's time zone.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// The custom dates as typed (shown again in the form).
    pub typed: (String, String),
    /// Why the custom dates were refused (the page then shows this month); a locale key.
    pub error: Option<&'static str>,
}

impl Span {
    /// Resolves `params` on `today` (the tenant's date).
    pub fn resolve(params: &Params, today: NaiveDate) -> Self {
        let period = Period::parse(&params.period);
        let typed = (params.from.trim().to_owned(), params.to.trim().to_owned());
        let (from, to) = period.span(today);
        let mut span = Self {
            period,
            from,
            to,
            typed,
            error: None,
        };
        if period == Period::Custom {
            let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
            match (parse(&span.typed.0), parse(&span.typed.1)) {
                (Some(from), Some(to)) if from > to => {
                    span.error = Some("statistics.error_order");
                }
                (Some(from), Some(to)) if (to - from).num_days() >= MAX_DAYS => {
                    span.error = Some("statistics.error_too_long");
                }
                (Some(from), Some(to)) => {
                    span.from = from;
                    span.to = to;
                }
                _ => span.error = Some("statistics.error_dates"),
            }
        }
        span
    }

    /// The query string that selects this period again.
    pub fn to_query(&self) -> String {
        match self.period {
            Period::Custom if self.error.is_none() => {
                format!("period=custom&from={}&to={}", self.from, self.to)
            }
            p => format!("period={}", p.as_param()),
        }
    }
}

/// Who the figures are about: the viewer's scope, narrowed to a team if asked.
pub struct Audience {
    /// The admin's view (always `All` for others).
    pub view: View,
    /// The viewer's scope.
    pub scope: Scope,
    /// The manager whose team was picked, and the team.
    pub team: Option<(UserId, Vec<UserId>)>,
    /// Everyone in the tenant, by name (labels, the pickers).
    pub people: Vec<User>,
}

impl Audience {
    /// Resolves the viewer's scope and the `view` and `team` parameters. A team must be
    /// one the viewer may pick ([`Audience::teams`]); any other id is ignored.
    pub async fn resolve(tx: &mut TenantTx, ctx: &Ctx, params: &Params) -> AppResult<Self> {
        let view = if ctx.is_admin() {
            View::parse(Some(params.view.as_str()))
        } else {
            View::All
        };
        let scope = Scope::resolve(tx, ctx, view).await?;
        let people = users::list(tx).await?;
        let mut audience = Self {
            view,
            scope,
            team: None,
            people,
        };
        let asked = params.team.trim().parse::<i64>().ok().map(UserId);
        if let Some(manager) = asked.filter(|m| audience.teams(ctx).iter().any(|u| u.id == *m)) {
            audience.team = Some((manager, team_of(tx, manager).await?));
        }
        Ok(audience)
    }

    /// The managers whose team the viewer may pick: any manager for an admin, themselves
    /// and the managers below them for a manager, none for a member.
    pub fn teams(&self, ctx: &Ctx) -> Vec<&User> {
        self.people
            .iter()
            .filter(|u| u.role == Role::Manager)
            .filter(|u| match &self.scope {
                Scope::Admin(_) => true,
                Scope::Owners(owners) => ctx.role == Role::Manager && owners.contains(&u.id),
            })
            .collect()
    }

    /// The team, if one was picked.
    pub fn team_members(&self) -> Option<&[UserId]> {
        self.team.as_ref().map(|(_, members)| members.as_slice())
    }

    /// The name of a user of the tenant.
    pub fn name_of(&self, id: UserId) -> String {
        self.people
            .iter()
            .find(|u| u.id == id)
            .map_or_else(|| format!("#{id}"), |u| u.name.clone())
    }

    /// The query string that selects this audience again.
    pub fn to_query(&self) -> String {
        let mut parts = vec![];
        let view = self.view.as_param();
        if !view.is_empty() {
            parts.push(format!("view={view}"));
        }
        if let Some((manager, _)) = &self.team {
            parts.push(format!("team={manager}"));
        }
        parts.join("&")
    }
}

/// Opens the tenant's transaction and resolves the period and the audience of a page
/// with a period.
pub async fn open(
    db: &crate::db::DbPool,
    ctx: &Ctx,
    params: &Params,
) -> AppResult<(TenantTx, Span, Audience)> {
    let span = Span::resolve(params, today(ctx));
    let mut tx = TenantTx::begin(db, ctx.tenant).await?;
    let audience = Audience::resolve(&mut tx, ctx, params).await?;
    Ok((tx, span, audience))
}

/// The tenant's date today.
pub fn today(ctx: &Ctx) -> NaiveDate {
    Utc::now().with_timezone(&ctx.time_zone).date_naive()
}

/// Answers `json` as JSON, else the page: the fragment for htmx, the layout otherwise.
pub fn respond(
    req: &Request,
    params: &Params,
    json: impl FnOnce() -> serde_json::Value,
    fragment: maud::Markup,
    page: impl FnOnce(maud::Markup) -> maud::Markup,
) -> Response {
    if params.format == "json" {
        Json(json()).into_response()
    } else if crate::web::is_htmx(req) {
        fragment.into_response()
    } else {
        page(fragment).into_response()
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::{Params, Period, Span};

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn named_periods_are_whole_months_quarters_and_years() {
        let today = day("2026-02-14");
        assert_eq!(
            Period::ThisMonth.span(today),
            (day("2026-02-01"), day("2026-02-28"))
        );
        assert_eq!(
            Period::LastMonth.span(today),
            (day("2026-01-01"), day("2026-01-31"))
        );
        assert_eq!(
            Period::ThisQuarter.span(today),
            (day("2026-01-01"), day("2026-03-31"))
        );
        assert_eq!(
            Period::ThisYear.span(today),
            (day("2026-01-01"), day("2026-12-31"))
        );
        assert_eq!(
            Period::LastMonth.span(day("2026-01-05")),
            (day("2025-12-01"), day("2025-12-31"))
        );
        assert_eq!(
            Period::ThisQuarter.span(day("2026-12-31")),
            (day("2026-10-01"), day("2026-12-31"))
        );
    }

    #[test]
    fn custom_dates_are_checked() {
        let today = day("2026-12-06");
        let custom = |from: &str, to: &str| {
            Span::resolve(
                &Params {
                    period: "custom".into(),
                    from: from.into(),
                    to: to.into(),
                    ..Params::default()
                },
                today,
            )
        };
        let ok = custom("2026-11-30", "2026-12-01");
        assert_eq!(
            (ok.from, ok.to, ok.error),
            (day("2026-11-30"), day("2026-12-01"), None)
        );
        assert_eq!(ok.to_query(), "period=custom&from=2026-11-30&to=2026-12-01");
        for (from, to, error) in [
            ("2026-12-02", "2026-12-01", "statistics.error_order"),
            ("2000-01-01", "2026-12-01", "statistics.error_too_long"),
            ("12/01/2026", "2026-12-01", "statistics.error_dates"),
            ("", "", "statistics.error_dates"),
        ] {
            let span = custom(from, to);
            assert_eq!(span.error, Some(error), "{from}..{to}");
            assert_eq!((span.from, span.to), (day("2026-12-01"), day("2026-12-31")));
        }
        let unknown = Span::resolve(
            &Params {
                period: "forever".into(),
                ..Params::default()
            },
            today,
        );
        assert_eq!(unknown.period, Period::ThisMonth);
    }
}
