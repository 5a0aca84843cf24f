//! Recurring tasks (重复任务): the rule a form chooses — daily, weekly, monthly or on
//! chosen weekdays, every N, until a date or for a number of times — as an RFC 5545
//! recurrence rule through the `rrule` crate, which also does the calendar maths: the
//! occurrences keep their local time of day in the user's time zone across daylight-saving
//! changes (a local time a change skips moves on by the skipped length).
//!
//! Every occurrence becomes an ordinary task (see `model::create_series`), so it is done,
//! moved, changed and reminded on its own.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};
use rrule::{Frequency, NWeekday, RRule, Unvalidated};

/// At most this many occurrences in one series.
pub const MAX_OCCURRENCES: u16 = 366;

/// Largest "every N".
pub const MAX_INTERVAL: u16 = 99;

/// How often.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    /// Every N days.
    Day,
    /// Every N weeks, on the start's weekday.
    Week,
    /// Every N months, on the start's day of the month (months without it are skipped).
    Month,
    /// Every N weeks, on the chosen weekdays.
    Weekdays,
}

impl Every {
    /// All choices, in the form's order.
    pub const ALL: [Self; 4] = [Self::Day, Self::Week, Self::Month, Self::Weekdays];

    /// The form's spelling (also the locale key suffix).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "daily",
            Self::Week => "weekly",
            Self::Month => "monthly",
            Self::Weekdays => "weekdays",
        }
    }

    /// Parses the form's spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == raw)
    }
}

/// How a series ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// On this day (in the user's time zone), included.
    Until(NaiveDate),
    /// After this many occurrences.
    Count(u16),
}

/// A recurrence as the form chose it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repeat {
    /// How often.
    pub every: Every,
    /// Every N (days, weeks or months).
    pub interval: u16,
    /// The weekdays of [`Every::Weekdays`] (Monday first).
    pub weekdays: Vec<Weekday>,
    /// When it ends.
    pub end: End,
}

/// Why a recurrence cannot be made (a locale key).
pub type Refused = &'static str;

/// The weekdays in the form's order, Monday first.
pub const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

impl Repeat {
    /// The rule, unvalidated (the stored text is its `Display`).
    fn rule(&self, tz: chrono_tz::Tz, start: DateTime<Utc>) -> RRule<Unvalidated> {
        let (freq, by_weekday) = match self.every {
            Every::Day => (Frequency::Daily, vec![]),
            Every::Week => (
                Frequency::Weekly,
                vec![NWeekday::Every(start.with_timezone(&tz).weekday())],
            ),
            Every::Month => (Frequency::Monthly, vec![]),
            Every::Weekdays => (
                Frequency::Weekly,
                self.weekdays.iter().copied().map(NWeekday::Every).collect(),
            ),
        };
        let mut rule = RRule::new(freq)
            .interval(self.interval)
            .week_start(Weekday::Mon);
        if !by_weekday.is_empty() {
            rule = rule.by_weekday(by_weekday);
        }
        match self.end {
            End::Count(n) => rule.count(u32::from(n)),
            // The end of that day where the user is, as UTC (RFC 5545 wants UTC there).
            End::Until(day) => rule.until(
                super::model::end_of_day(tz, day)
                    .checked_sub_signed(chrono::Duration::seconds(1))
                    .unwrap_or(start)
                    .with_timezone(&rrule::Tz::UTC),
            ),
        }
    }

    /// The occurrences' start times, the first one `start` itself when it matches the
    /// rule, with the rule's text; refused when there are none or more than
    /// [`MAX_OCCURRENCES`].
    pub fn occurrences(
        &self,
        tz: chrono_tz::Tz,
        start: DateTime<Utc>,
    ) -> Result<(String, Vec<DateTime<Utc>>), Refused> {
        if let End::Until(day) = self.end
            && day < start.with_timezone(&tz).date_naive()
        {
            return Err("tasks.repeat_until_before_start");
        }
        let rule = self.rule(tz, start);
        let text = rule.to_string();
        let set = rule
            .build(start.with_timezone(&rrule::Tz::Tz(tz)))
            .map_err(|_| "tasks.repeat_invalid")?;
        let found = set.all(MAX_OCCURRENCES + 1);
        if found.dates.len() > usize::from(MAX_OCCURRENCES) {
            return Err("tasks.repeat_too_many");
        }
        if found.dates.is_empty() {
            return Err("tasks.repeat_none");
        }
        Ok((
            text,
            found
                .dates
                .into_iter()
                .map(|d| d.with_timezone(&Utc))
                .collect(),
        ))
    }
}

/// A stored rule in words, for the task's page: its frequency, every N, weekdays and end
/// (`None` if the text is not a rule).
pub fn describe(locale: crate::i18n::Locale, rule: &str, tz: chrono_tz::Tz) -> Option<String> {
    let rule: RRule<Unvalidated> = rule.parse().ok()?;
    let interval = rule.get_interval().max(1).to_string();
    let unit = match rule.get_freq() {
        Frequency::Daily => "tasks.repeat_unit_day",
        Frequency::Weekly => "tasks.repeat_unit_week",
        Frequency::Monthly => "tasks.repeat_unit_month",
        _ => return None,
    };
    let mut text = locale.tf(
        "tasks.repeat_every",
        &[("n", &interval), ("unit", &locale.t(unit))],
    );
    let days: Vec<String> = rule
        .get_by_weekday()
        .iter()
        .filter_map(|d| match d {
            NWeekday::Every(w) => {
                Some(locale.t(&format!("calendar.weekday_{}", w.num_days_from_monday())))
            }
            NWeekday::Nth(..) => None,
        })
        .collect();
    if !days.is_empty() {
        text.push_str(&locale.tf(
            "tasks.repeat_on",
            &[("days", &days.join(&locale.t("tasks.repeat_day_separator")))],
        ));
    }
    if let Some(n) = rule.get_count() {
        text.push_str(&locale.tf("tasks.repeat_times", &[("n", &n.to_string())]));
    } else if let Some(until) = rule.get_until() {
        let day = tz.from_utc_datetime(&until.naive_utc()).date_naive();
        text.push_str(&locale.tf("tasks.repeat_until", &[("date", &day.to_string())]));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(tz: chrono_tz::Tz, y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        tz.with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .expect("a real local time")
            .with_timezone(&Utc)
    }

    fn local(tz: chrono_tz::Tz, dates: &[DateTime<Utc>]) -> Vec<String> {
        dates
            .iter()
            .map(|d| d.with_timezone(&tz).format("%a %Y-%m-%d %H:%M").to_string())
            .collect()
    }

    #[test]
    fn weekdays_every_week_until_a_day_included() {
        let tz = chrono_tz::Asia::Shanghai;
        // Monday 2026-12-07 09:00.
        let repeat = Repeat {
            every: Every::Weekdays,
            interval: 1,
            weekdays: vec![Weekday::Mon, Weekday::Wed],
            end: End::Until(NaiveDate::from_ymd_opt(2026, 12, 16).expect("a day")),
        };
        let (rule, dates) = repeat
            .occurrences(tz, at(tz, 2026, 12, 7, 9))
            .expect("occurrences");
        assert_eq!(
            local(tz, &dates),
            [
                "Mon 2026-12-07 09:00",
                "Wed 2026-12-09 09:00",
                "Mon 2026-12-14 09:00",
                "Wed 2026-12-16 09:00"
            ]
        );
        assert!(
            rule.contains("FREQ=WEEKLY") && rule.contains("BYDAY=MO,WE"),
            "{rule}"
        );
    }

    #[test]
    fn daily_keeps_the_local_time_across_the_new_york_dst_switch() {
        let tz = chrono_tz::America::New_York;
        let repeat = Repeat {
            every: Every::Day,
            interval: 1,
            weekdays: vec![],
            end: End::Count(3),
        };
        // 2027-03-14 is the spring-forward day in New York.
        let (_, dates) = repeat
            .occurrences(tz, at(tz, 2027, 3, 13, 9))
            .expect("occurrences");
        assert_eq!(
            local(tz, &dates),
            [
                "Sat 2027-03-13 09:00",
                "Sun 2027-03-14 09:00",
                "Mon 2027-03-15 09:00"
            ]
        );
        // The same local time is one hour less of UTC apart across the switch.
        assert_eq!((dates[1] - dates[0]).num_hours(), 23);
        assert_eq!((dates[2] - dates[1]).num_hours(), 24);
    }

    #[test]
    fn monthly_every_two_and_weekly_on_the_start_day() {
        let tz = chrono_tz::Asia::Shanghai;
        let monthly = Repeat {
            every: Every::Month,
            interval: 2,
            weekdays: vec![],
            end: End::Count(3),
        };
        let (_, dates) = monthly
            .occurrences(tz, at(tz, 2026, 12, 15, 14))
            .expect("occurrences");
        assert_eq!(
            local(tz, &dates),
            [
                "Tue 2026-12-15 14:00",
                "Mon 2027-02-15 14:00",
                "Thu 2027-04-15 14:00"
            ]
        );
        let weekly = Repeat {
            every: Every::Week,
            ..monthly
        };
        let (_, dates) = weekly
            .occurrences(tz, at(tz, 2026, 12, 15, 14))
            .expect("occurrences");
        assert_eq!(
            local(tz, &dates),
            [
                "Tue 2026-12-15 14:00",
                "Tue 2026-12-29 14:00",
                "Tue 2027-01-12 14:00"
            ]
        );
    }

    #[test]
    fn too_many_or_none_or_an_end_before_the_start_are_refused() {
        let tz = chrono_tz::Asia::Shanghai;
        let start = at(tz, 2026, 12, 7, 9);
        let daily = |end| Repeat {
            every: Every::Day,
            interval: 1,
            weekdays: vec![],
            end,
        };
        assert_eq!(
            daily(End::Until(
                NaiveDate::from_ymd_opt(2028, 1, 1).expect("a day")
            ))
            .occurrences(tz, start),
            Err("tasks.repeat_too_many")
        );
        assert_eq!(
            daily(End::Until(
                NaiveDate::from_ymd_opt(2026, 12, 6).expect("a day")
            ))
            .occurrences(tz, start),
            Err("tasks.repeat_until_before_start")
        );
        assert_eq!(
            daily(End::Count(MAX_OCCURRENCES))
                .occurrences(tz, start)
                .map(|(_, d)| d.len()),
            Ok(usize::from(MAX_OCCURRENCES))
        );
    }

    #[test]
    fn a_stored_rule_reads_back_in_words() {
        let tz = chrono_tz::Asia::Shanghai;
        let repeat = Repeat {
            every: Every::Weekdays,
            interval: 2,
            weekdays: vec![Weekday::Tue, Weekday::Fri],
            end: End::Count(6),
        };
        let (rule, _) = repeat
            .occurrences(tz, at(tz, 2026, 12, 8, 9))
            .expect("occurrences");
        let words = describe(crate::i18n::Locale::En, &rule, tz).expect("occurrences");
        assert!(words.contains('2') && words.contains('6'), "{words}");
    }
}
