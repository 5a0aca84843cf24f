//! The target query (销售指标查询): with only a year, that year's twelve months, each
//! against the month before; with only a month, that month in every year with data, each
//! against the year before (year on year).

use std::collections::HashMap;

use crate::{
    db::TenantTx,
    error::AppResult,
    ids::UserId,
    targets::{
        Month, YEARS, change, completion,
        model::{self, MonthSum, Target},
    },
};

/// How far back a year-on-year query goes at most.
const MAX_YEARS_BACK: i32 = 20;

/// What the query compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The months of one year.
    Year(i32),
    /// One calendar month (1..=12) across the years.
    Month(u32),
}

/// One period of the query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// The month.
    pub period: Month,
    /// The summed target; `None` when nobody has one for this month.
    pub target: Option<i64>,
    /// The won amount, fen.
    pub actual: i64,
    /// The won amount of the previous period (month before, or year before).
    pub previous: i64,
}

impl Row {
    /// Actual against target, percent.
    pub fn completion(&self) -> Option<f64> {
        completion(self.actual, self.target)
    }

    /// The actual's change against the previous period, percent.
    pub fn change(&self) -> Option<f64> {
        change(self.actual, self.previous)
    }
}

/// Loads the query for `people` (their figures summed).
pub async fn load(
    tx: &mut TenantTx,
    time_zone: &str,
    people: &[UserId],
    mode: Mode,
    now: Month,
) -> AppResult<Vec<Row>> {
    match mode {
        Mode::Year(year) => {
            let targets = model::targets(tx, people, (year, year), None).await?;
            let won = model::won_by_month(
                tx,
                time_zone,
                people,
                (Month::new(year - 1, 12), Month::new(year + 1, 1)),
                None,
            )
            .await?;
            let periods: Vec<Month> = (1..=12).map(|m| Month::new(year, m)).collect();
            Ok(build(&periods, Month::prev, &targets, &won))
        }
        Mode::Month(month) => {
            let first = model::first_year(tx, time_zone, people)
                .await?
                .unwrap_or(now.year)
                .clamp(now.year - MAX_YEARS_BACK, now.year);
            let targets = model::targets(tx, people, (first, *YEARS.end()), Some(month)).await?;
            let last = targets
                .iter()
                .map(|t| t.year)
                .max()
                .unwrap_or(now.year)
                .max(now.year);
            let won = model::won_by_month(
                tx,
                time_zone,
                people,
                (Month::new(first - 1, 1), Month::new(last + 1, 1)),
                Some(month),
            )
            .await?;
            let periods: Vec<Month> = (first..=last).map(|y| Month::new(y, month)).collect();
            Ok(build(
                &periods,
                |p| Month::new(p.year - 1, p.month),
                &targets,
                &won,
            ))
        }
    }
}

/// One month of `people` (the home page's progress), against the month before.
pub async fn one_month(
    tx: &mut TenantTx,
    time_zone: &str,
    people: &[UserId],
    month: Month,
) -> AppResult<Row> {
    let targets = model::targets(tx, people, (month.year, month.year), Some(month.month)).await?;
    let won =
        model::won_by_month(tx, time_zone, people, (month.prev(), month.plus(1)), None).await?;
    Ok(build(&[month], Month::prev, &targets, &won)
        .pop()
        .unwrap_or(Row {
            period: month,
            target: None,
            actual: 0,
            previous: 0,
        }))
}

/// The rows of `periods`, summing every person's targets and won amounts; `previous`
/// names the period each is compared with.
pub fn build(
    periods: &[Month],
    previous: impl Fn(Month) -> Month,
    targets: &[Target],
    won: &[MonthSum],
) -> Vec<Row> {
    let mut target_of: HashMap<Month, i64> = HashMap::new();
    for t in targets {
        *target_of.entry(t.month()).or_default() += t.amount;
    }
    let mut won_of: HashMap<Month, i64> = HashMap::new();
    for w in won {
        *won_of.entry(w.key.month()).or_default() += w.amount;
    }
    periods
        .iter()
        .map(|&period| Row {
            period,
            target: target_of.get(&period).copied(),
            actual: won_of.get(&period).copied().unwrap_or(0),
            previous: won_of.get(&previous(period)).copied().unwrap_or(0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::model::PersonMonth;

    fn target(user: i64, year: i32, month: i32, amount: i64) -> Target {
        Target {
            user_id: UserId(user),
            year,
            month,
            amount,
            assigned_by: None,
        }
    }

    fn won(user: i64, year: i32, month: i32, amount: i64) -> MonthSum {
        MonthSum {
            key: PersonMonth {
                user_id: UserId(user),
                year,
                month,
            },
            amount,
        }
    }

    #[test]
    fn a_year_sums_people_and_compares_with_the_month_before() {
        let periods: Vec<Month> = (1..=12).map(|m| Month::new(2026, m)).collect();
        let rows = build(
            &periods,
            Month::prev,
            &[target(1, 2026, 1, 100), target(2, 2026, 1, 300)],
            &[
                won(1, 2025, 12, 50),
                won(1, 2026, 1, 150),
                won(2, 2026, 1, 50),
            ],
        );
        assert_eq!(rows.len(), 12);
        assert_eq!(rows[0].target, Some(400));
        assert_eq!(rows[0].actual, 200);
        assert_eq!(rows[0].previous, 50);
        assert_eq!(rows[0].completion(), Some(50.0));
        assert_eq!(rows[0].change(), Some(300.0));
        assert_eq!(rows[1].target, None);
        assert_eq!(rows[1].previous, 200);
        assert_eq!(rows[1].change(), Some(-100.0));
        assert_eq!(rows[2].change(), None);
    }

    #[test]
    fn a_month_compares_with_the_year_before() {
        let periods: Vec<Month> = (2024..=2026).map(|y| Month::new(y, 3)).collect();
        let rows = build(
            &periods,
            |p| Month::new(p.year - 1, p.month),
            &[target(1, 2026, 3, 1000)],
            &[won(1, 2024, 3, 400), won(1, 2026, 3, 600)],
        );
        assert_eq!(
            rows.iter()
                .map(|r| (r.actual, r.previous))
                .collect::<Vec<_>>(),
            [(400, 0), (0, 400), (600, 0)]
        );
        assert_eq!(rows[2].completion(), Some(60.0));
    }
}
