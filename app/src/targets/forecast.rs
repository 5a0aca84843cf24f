//! The forecast (销售预测): for this month and the next ones, each person's target and
//! won amount beside the probability-weighted amount of their open opportunities expected
//! to close in that month, and the projected completion ((won + weighted) / target).
//!
//! Open opportunities whose expected close date has passed, or that have none, are not
//! in any month: a forecast by date cannot place them.

use std::collections::HashMap;

use crate::{
    db::TenantTx,
    error::AppResult,
    ids::UserId,
    targets::{
        Month, Person, completion,
        model::{self, MonthSum, OpenSum, Target},
    },
};

/// Months the forecast covers: this one and the next two.
pub const MONTHS: i32 = 3;

/// One person's (or the team's) figures for one month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    /// Target, fen; `None` when none is set.
    pub target: Option<i64>,
    /// Won so far, fen.
    pub actual: i64,
    /// Open opportunities expected to close in the month.
    pub open_count: i64,
    /// Their amount, fen.
    pub open_amount: i64,
    /// Their probability-weighted amount, fen.
    pub weighted: i64,
}

impl Cell {
    /// (won + weighted open) against the target, percent.
    pub fn projected(&self) -> Option<f64> {
        completion(self.actual + self.weighted, self.target)
    }

    /// True when there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.target.is_none() && self.actual == 0 && self.open_count == 0
    }

    fn add(&mut self, other: &Cell) {
        self.target = match (self.target, other.target) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.actual += other.actual;
        self.open_count += other.open_count;
        self.open_amount += other.open_amount;
        self.weighted += other.weighted;
    }
}

/// One person's line: a cell per month.
#[derive(Clone, Debug)]
pub struct Line {
    /// Who.
    pub person: UserId,
    /// Their name.
    pub name: String,
    /// One cell per month of [`Forecast::months`].
    pub cells: Vec<Cell>,
}

/// The forecast of a team.
#[derive(Clone, Debug)]
pub struct Forecast {
    /// The months, this one first.
    pub months: Vec<Month>,
    /// A line per person (active ones, and disabled ones that have figures).
    pub lines: Vec<Line>,
    /// The team's sums, one per month.
    pub team: Vec<Cell>,
}

/// Loads the forecast of `team` from the month `now`.
pub async fn load(
    tx: &mut TenantTx,
    time_zone: &str,
    team: &[Person],
    now: Month,
) -> AppResult<Forecast> {
    let ids: Vec<UserId> = team.iter().map(|p| p.id).collect();
    let months: Vec<Month> = (0..MONTHS).map(|n| now.plus(n)).collect();
    let end = now.plus(MONTHS);
    let targets = model::targets(tx, &ids, (now.year, end.year), None).await?;
    let won = model::won_by_month(tx, time_zone, &ids, (now, end), None).await?;
    let open = model::open_by_month(tx, &ids, (now, end)).await?;
    Ok(build(months, team, &targets, &won, &open))
}

/// Puts the sums into cells.
pub fn build(
    months: Vec<Month>,
    team: &[Person],
    targets: &[Target],
    won: &[MonthSum],
    open: &[OpenSum],
) -> Forecast {
    let mut cells: HashMap<(UserId, Month), Cell> = HashMap::new();
    for t in targets {
        cells.entry((t.user_id, t.month())).or_default().target = Some(t.amount);
    }
    for w in won {
        cells
            .entry((w.key.user_id, w.key.month()))
            .or_default()
            .actual += w.amount;
    }
    for o in open {
        let cell = cells.entry((o.key.user_id, o.key.month())).or_default();
        cell.open_count += o.count;
        cell.open_amount += o.amount;
        cell.weighted += o.weighted;
    }
    let mut team_cells = vec![Cell::default(); months.len()];
    let mut lines = Vec::new();
    for person in team {
        let row: Vec<Cell> = months
            .iter()
            .map(|m| cells.get(&(person.id, *m)).copied().unwrap_or_default())
            .collect();
        for (sum, cell) in team_cells.iter_mut().zip(&row) {
            sum.add(cell);
        }
        if person.active || row.iter().any(|c| !c.is_empty()) {
            lines.push(Line {
                person: person.id,
                name: person.name.clone(),
                cells: row,
            });
        }
    }
    Forecast {
        months,
        lines,
        team: team_cells,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::model::PersonMonth;

    fn key(user: i64, year: i32, month: i32) -> PersonMonth {
        PersonMonth {
            user_id: UserId(user),
            year,
            month,
        }
    }

    fn person(id: i64, active: bool) -> Person {
        Person {
            id: UserId(id),
            name: format!("p{id}"),
            active,
        }
    }

    #[test]
    fn cells_sum_into_the_team_and_project_completion() {
        let months = vec![Month::new(2026, 12), Month::new(2027, 1)];
        let forecast = build(
            months,
            &[person(1, true), person(2, true), person(3, false)],
            &[
                Target {
                    user_id: UserId(1),
                    year: 2026,
                    month: 12,
                    amount: 1000,
                    assigned_by: None,
                },
                Target {
                    user_id: UserId(2),
                    year: 2027,
                    month: 1,
                    amount: 500,
                    assigned_by: Some(UserId(1)),
                },
            ],
            &[MonthSum {
                key: key(1, 2026, 12),
                amount: 300,
            }],
            &[
                OpenSum {
                    key: key(1, 2026, 12),
                    count: 2,
                    amount: 800,
                    weighted: 400,
                },
                OpenSum {
                    key: key(2, 2027, 1),
                    count: 1,
                    amount: 500,
                    weighted: 250,
                },
            ],
        );
        // The disabled person without figures is left out.
        assert_eq!(forecast.lines.len(), 2);
        let first = &forecast.lines[0].cells[0];
        assert_eq!(first.projected(), Some(70.0));
        assert_eq!(forecast.team[0].target, Some(1000));
        assert_eq!(forecast.team[0].weighted, 400);
        assert_eq!(forecast.team[1].target, Some(500));
        assert_eq!(forecast.team[1].projected(), Some(50.0));
        assert_eq!(forecast.lines[1].cells[0], Cell::default());
    }
}
