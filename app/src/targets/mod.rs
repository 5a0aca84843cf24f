//! 销售指标设定 (工作桌面 → 销售指标设定, from the 快客 manual): monthly sales targets.
//!
//! - Everyone sets their own target for each month of a year. A manager sets ("下派")
//!   targets for the people in their team (everyone who reports to them, directly or
//!   not), an admin for anyone; such a target shows who assigned it, and the person sees
//!   it on their own page but cannot change it. Who may set whose targets is
//!   [`Scope::can_manage`], the rule that decides who manages whose records.
//! - The actual of a month is the amount of the opportunities won (`status = 'won'`)
//!   with `closed_at` in that month of the tenant's time zone.
//! - The query compares a year's months (only a year chosen) or one month across the
//!   years (only a month chosen: year on year), with target, actual, completion and the
//!   change of the actual against the previous period, as a table and a chart.
//! - The forecast puts, for this and the next months, the probability-weighted amount of
//!   the open opportunities (by expected close month, weighted by their stage's win
//!   probability) beside target and actual, per person and for the team.
//!
//! "The team" is everyone whose targets the viewer may set: themselves and, for a
//! manager, their reports; for an admin, everyone. Its target is the sum of their
//! targets.

pub mod forecast;
pub mod index;
pub mod model;
pub mod report;
pub mod save;
pub mod views;

use chrono::{Datelike, NaiveDate, Utc};

use crate::{
    customers::visibility::Scope, db::TenantTx, error::AppResult, i18n::Locale, ids::UserId,
    users::model as users,
};

/// The years a target may be set for (the schema's check).
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// A calendar month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Year.
    pub year: i32,
    /// 1..=12.
    pub month: u32,
}

impl Month {
    /// `month` of `year` (a month outside 1..=12 is clamped).
    pub fn new(year: i32, month: u32) -> Self {
        Self {
            year,
            month: month.clamp(1, 12),
        }
    }

    /// The current month in the time zone `tz`.
    pub fn now(tz: chrono_tz::Tz) -> Self {
        let today = Utc::now().with_timezone(&tz).date_naive();
        Self::new(today.year(), today.month())
    }

    /// The month before.
    pub fn prev(self) -> Self {
        self.plus(-1)
    }

    /// `n` months later (earlier for negative `n`).
    pub fn plus(self, n: i32) -> Self {
        let index = self.year * 12 + self.month as i32 - 1 + n;
        Self::new(index.div_euclid(12), index.rem_euclid(12) as u32 + 1)
    }

    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The month's name: 3月, Mar.
    pub fn name(self, locale: Locale) -> String {
        locale.t(&format!("targets.m{}", self.month))
    }

    /// The month with its year: 2026年3月, Mar 2026.
    pub fn label(self, locale: Locale) -> String {
        locale.tf(
            "targets.year_month",
            &[
                ("year", &self.year.to_string()),
                ("month", &self.name(locale)),
            ],
        )
    }
}

/// Someone whose targets the viewer may see and set.
#[derive(Clone, Debug)]
pub struct Person {
    /// Id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Not disabled.
    pub active: bool,
}

/// Everyone in the tenant by name (`all`), and among them the people whose targets the
/// viewer may set (`team`: themselves, their reports, or for an admin everyone).
pub struct People {
    /// The viewer's team, the viewer first.
    pub team: Vec<Person>,
    /// Every user of the tenant, for the names of those who assigned a target.
    pub all: Vec<Person>,
}

impl People {
    /// Loads them for `viewer` in `scope`.
    pub async fn load(tx: &mut TenantTx, scope: &Scope, viewer: UserId) -> AppResult<Self> {
        let all: Vec<Person> = users::list(tx)
            .await?
            .into_iter()
            .map(|u| Person {
                active: u.status != "disabled",
                id: u.id,
                name: u.name,
            })
            .collect();
        let mut team: Vec<Person> = all
            .iter()
            .filter(|p| scope.can_manage(p.id))
            .cloned()
            .collect();
        team.sort_by_key(|p| p.id != viewer);
        Ok(Self { team, all })
    }

    /// The name of any user of the tenant.
    pub fn name(&self, id: UserId) -> &str {
        self.all
            .iter()
            .find(|p| p.id == id)
            .map_or("", |p| p.name.as_str())
    }

    /// The team's ids.
    pub fn team_ids(&self) -> Vec<UserId> {
        self.team.iter().map(|p| p.id).collect()
    }
}

/// Whose figures a query shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// One person.
    Person(UserId),
    /// The viewer's whole team, summed.
    Team,
}

impl Who {
    /// Parses the `who` parameter: `team`, a user id, or (empty, anything else) the viewer.
    pub fn parse(raw: Option<&str>, viewer: UserId) -> Self {
        match raw.map(str::trim) {
            Some("team") => Self::Team,
            Some(id) => id
                .parse()
                .map_or(Self::Person(viewer), |id| Self::Person(UserId(id))),
            None => Self::Person(viewer),
        }
    }

    /// The parameter value.
    pub fn as_param(self) -> String {
        match self {
            Self::Person(id) => id.to_string(),
            Self::Team => "team".into(),
        }
    }
}

/// `actual / target` in percent; `None` without a (non-zero) target.
pub fn completion(actual: i64, target: Option<i64>) -> Option<f64> {
    target
        .filter(|t| *t > 0)
        .map(|t| actual as f64 * 100.0 / t as f64)
}

/// The change from `previous` to `current` in percent; `None` when `previous` is zero.
pub fn change(current: i64, previous: i64) -> Option<f64> {
    (previous != 0).then(|| (current - previous) as f64 * 100.0 / previous as f64)
}

/// A percentage with one decimal (`85.3%`), `—` for none.
pub fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v:.1}%"))
}

/// A change with its sign (`+12.0%`, `-3.5%`), `—` for none.
pub fn signed_percent(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v:+.1}%"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_step_over_year_ends() {
        assert_eq!(Month::new(2026, 1).prev(), Month::new(2025, 12));
        assert_eq!(Month::new(2025, 12).plus(1), Month::new(2026, 1));
        assert_eq!(Month::new(2026, 3).plus(-15), Month::new(2024, 12));
        assert_eq!(Month::new(2026, 11).plus(14), Month::new(2028, 1));
        assert_eq!(
            Month::new(2026, 2).first_day(),
            NaiveDate::from_ymd_opt(2026, 2, 1).expect("date")
        );
    }

    #[test]
    fn percentages_need_a_base() {
        assert_eq!(completion(50, Some(200)), Some(25.0));
        assert_eq!(completion(50, Some(0)), None);
        assert_eq!(completion(50, None), None);
        assert_eq!(change(150, 100), Some(50.0));
        assert_eq!(change(150, 0), None);
        assert_eq!(percent(Some(85.26)), "85.3%");
        assert_eq!(signed_percent(Some(12.0)), "+12.0%");
        assert_eq!(signed_percent(Some(-3.54)), "-3.5%");
        assert_eq!(percent(None), "—");
    }

    #[test]
    fn who_defaults_to_the_viewer() {
        let me = UserId(7);
        assert_eq!(Who::parse(None, me), Who::Person(me));
        assert_eq!(Who::parse(Some(""), me), Who::Person(me));
        assert_eq!(Who::parse(Some("team"), me), Who::Team);
        assert_eq!(Who::parse(Some("12"), me), Who::Person(UserId(12)));
        assert_eq!(Who::parse(Some("x"), me), Who::Person(me));
    }
}
