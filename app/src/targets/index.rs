//! GET /targets — 销售指标设定, a tab of 工作桌面: the chosen person's twelve monthly
//! targets of a year as a form, the query (a year's months, or a month across the years)
//! as a table and a chart, and the team's forecast. An htmx request (the query bar) gets
//! the tab's content only.

use poem::{
    Request, Response, handler,
    web::{Data, Query},
};
use serde::Deserialize;

use crate::{
    customers::visibility::{Scope, View},
    db::TenantTx,
    error::{AppError, AppResult},
    ids::UserId,
    state::State,
    targets::{
        Month, People, Who, YEARS,
        forecast::{self, Forecast},
        model::{self, Target},
        report::{self, Mode, Row},
        views,
    },
    web::{ctx::Ctx, forms::Errors},
};

/// The query string.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Params {
    /// `team`, a user id, or empty for the viewer.
    pub who: Option<String>,
    /// A year, or empty.
    pub year: Option<String>,
    /// A month 1..=12, or empty.
    pub month: Option<String>,
    /// Set after a save.
    pub saved: Option<String>,
}

/// What the viewer chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    /// Whose figures.
    pub who: Who,
    /// The chosen year, if any.
    pub year: Option<i32>,
    /// The chosen month, if any.
    pub month: Option<u32>,
}

impl Choice {
    /// Reads the parameters; a year outside the supported range or a month outside
    /// 1..=12 counts as not chosen.
    pub fn parse(params: &Params, viewer: UserId) -> Self {
        let year = params
            .year
            .as_deref()
            .and_then(|y| y.trim().parse().ok())
            .filter(|y| YEARS.contains(y));
        let month = params
            .month
            .as_deref()
            .and_then(|m| m.trim().parse().ok())
            .filter(|m| (1..=12).contains(m));
        Self {
            who: Who::parse(params.who.as_deref().filter(|w| !w.is_empty()), viewer),
            year,
            month,
        }
    }

    /// The query: only a month chosen compares that month across the years; otherwise
    /// the months of the chosen (or current) year.
    pub fn mode(&self, now: Month) -> Mode {
        match (self.year, self.month) {
            (None, Some(month)) => Mode::Month(month),
            (year, _) => Mode::Year(year.unwrap_or(now.year)),
        }
    }

    /// The year of the target form: the chosen one, else the current one.
    pub fn sheet_year(&self, now: Month) -> i32 {
        self.year.unwrap_or(now.year)
    }
}

/// One month of the target form.
#[derive(Clone, Debug)]
pub struct MonthInput {
    /// The month.
    pub month: Month,
    /// What the input shows: the stored amount, or what was typed.
    pub value: String,
    /// The name of whoever assigned the stored target, if someone else did.
    pub assigned_by: Option<String>,
    /// The viewer may not change it (assigned to them by someone else).
    pub locked: bool,
}

/// The target form of one person and year.
#[derive(Clone, Debug)]
pub struct Sheet {
    /// Whose targets.
    pub person: UserId,
    /// Their name.
    pub name: String,
    /// The year.
    pub year: i32,
    /// Twelve months.
    pub months: Vec<MonthInput>,
    /// Errors by field (`m1`..`m12`).
    pub errors: Errors,
}

/// What was typed into a refused form.
#[derive(Clone, Debug)]
pub struct Draft {
    /// The twelve inputs as typed.
    pub values: Vec<String>,
    /// Their errors.
    pub errors: Errors,
}

/// Everything the tab shows.
pub struct Page {
    /// The viewer's team and everyone's names.
    pub people: People,
    /// What was chosen.
    pub choice: Choice,
    /// The current month in the tenant's time zone.
    pub now: Month,
    /// The target form (not for the whole team).
    pub sheet: Option<Sheet>,
    /// The query.
    pub mode: Mode,
    /// Its rows.
    pub rows: Vec<Row>,
    /// The forecast of the team.
    pub forecast: Forecast,
    /// A save just succeeded.
    pub saved: bool,
}

impl Page {
    /// Loads the tab for `choice`, showing `draft` in the form if a save was refused.
    /// Someone outside the tenant is 404, someone outside the viewer's team 403.
    pub async fn load(
        tx: &mut TenantTx,
        ctx: &Ctx,
        people: People,
        choice: Choice,
        draft: Option<Draft>,
    ) -> AppResult<Self> {
        let now = Month::now(ctx.time_zone);
        let tz = ctx.time_zone.name();
        let shown: Vec<UserId> = match choice.who {
            Who::Person(id) => {
                check_may_set(&people, id)?;
                vec![id]
            }
            Who::Team => people.team_ids(),
        };
        let sheet = match choice.who {
            Who::Person(id) => {
                let year = choice.sheet_year(now);
                let stored = model::targets(tx, &[id], (year, year), None).await?;
                Some(sheet(ctx, &people, id, year, &stored, draft))
            }
            Who::Team => None,
        };
        let mode = choice.mode(now);
        let rows = report::load(tx, tz, &shown, mode, now).await?;
        let forecast = forecast::load(tx, tz, &people.team, now).await?;
        Ok(Self {
            people,
            choice,
            now,
            sheet,
            mode,
            rows,
            forecast,
            saved: false,
        })
    }
}

/// 404 for someone not in the tenant, 403 for someone whose targets the viewer may not
/// set or see.
pub fn check_may_set(people: &People, person: UserId) -> AppResult<()> {
    if !people.all.iter().any(|p| p.id == person) {
        return Err(AppError::NotFound);
    }
    if !people.team.iter().any(|p| p.id == person) {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// True when the viewer may not change `target`: it is their own and someone else
/// assigned it (admins may change any target).
pub fn locked(ctx: &Ctx, target: &Target) -> bool {
    !ctx.is_admin()
        && target.user_id == ctx.user
        && target.assigned_by.is_some_and(|by| by != ctx.user)
}

fn sheet(
    ctx: &Ctx,
    people: &People,
    person: UserId,
    year: i32,
    stored: &[Target],
    draft: Option<Draft>,
) -> Sheet {
    let (values, errors) = match draft {
        Some(d) => (Some(d.values), d.errors),
        None => (None, Errors::new()),
    };
    let months = (1..=12u32)
        .map(|m| {
            let target = stored.iter().find(|t| t.month == m as i32);
            let value = match &values {
                Some(typed) => typed.get(m as usize - 1).cloned().unwrap_or_default(),
                None => target
                    .map(|t| crate::money::plain(t.amount))
                    .unwrap_or_default(),
            };
            MonthInput {
                month: Month::new(year, m),
                value,
                assigned_by: target
                    .and_then(|t| t.assigned_by)
                    .map(|by| people.name(by).to_owned()),
                locked: target.is_some_and(|t| locked(ctx, t)),
            }
        })
        .collect();
    Sheet {
        person,
        name: people.name(person).to_owned(),
        year,
        months,
        errors,
    }
}

/// GET /targets
#[handler]
pub async fn index(
    ctx: Ctx,
    state: Data<&State>,
    req: &Request,
    Query(params): Query<Params>,
) -> AppResult<Response> {
    let choice = Choice::parse(&params, ctx.user);
    let mut tx = TenantTx::begin(&state.db, ctx.tenant).await?;
    let scope = Scope::resolve(&mut tx, &ctx, View::All).await?;
    let people = People::load(&mut tx, &scope, ctx.user).await?;
    let mut page = Page::load(&mut tx, &ctx, people, choice, None).await?;
    tx.commit().await?;
    page.saved = params.saved.is_some();
    Ok(views::respond(&ctx, req, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(year: &str, month: &str) -> Params {
        Params {
            who: None,
            year: Some(year.into()),
            month: Some(month.into()),
            saved: None,
        }
    }

    #[test]
    fn only_a_month_compares_across_years() {
        let me = UserId(1);
        let now = Month::new(2026, 5);
        assert_eq!(
            Choice::parse(&params("", ""), me).mode(now),
            Mode::Year(2026)
        );
        assert_eq!(
            Choice::parse(&params("2024", ""), me).mode(now),
            Mode::Year(2024)
        );
        assert_eq!(
            Choice::parse(&params("", "3"), me).mode(now),
            Mode::Month(3)
        );
        assert_eq!(
            Choice::parse(&params("2025", "3"), me).mode(now),
            Mode::Year(2025)
        );
        assert_eq!(
            Choice::parse(&params("1899", "13"), me).mode(now),
            Mode::Year(2026)
        );
    }
}
