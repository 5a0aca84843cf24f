//! Recurring tasks and the iCalendar feed: a series' occurrences are tasks of their own
//! (done, moved and reminded alone; deleted one by one, from one on, or all), in the
//! owner's time zone across a daylight-saving change; the feed is a secret, revocable URL
//! with the user's own entries, parsed back with a different iCalendar crate.

use std::io::BufReader;

use kehu_tests::{Client, TestApp, client::Page};

use crate::support::{People, Team, exec, zh};

/// Posts a new task starting at `starts` (local `YYYY-MM-DDTHH:MM`, an hour long),
/// reminded 15 minutes before it ends, with `extra` fields (the repeat ones).
async fn post_task(client: &Client, content: &str, starts: &str, extra: &[(&str, &str)]) -> Page {
    let due = {
        let t = chrono::NaiveDateTime::parse_from_str(starts, "%Y-%m-%dT%H:%M").expect("a time");
        (t + chrono::Duration::hours(1))
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let mut form = vec![
        ("kind", "task"),
        ("content", content),
        ("starts_at", starts),
        ("due_at", due.as_str()),
        ("visibility", "private"),
        ("remind", "15"),
    ];
    // What `extra` sets replaces the defaults.
    form.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    form.extend_from_slice(extra);
    client.post("/tasks/new", &form).await
}

/// The occurrences of `content`: (id, local start in `zone`, done), by start.
async fn occurrences(app: &TestApp, content: &str, zone: &str) -> Vec<(i64, String, bool)> {
    let rows = app
        .text(&format!(
            "SELECT coalesce(string_agg(id || '|' || to_char(starts_at AT TIME ZONE '{zone}', 'Dy YYYY-MM-DD HH24:MI') \
             || '|' || (done_at IS NOT NULL), ';' ORDER BY starts_at, id), '') FROM tasks WHERE content = '{content}'"
        ))
        .await;
    rows.split(';')
        .filter(|r| !r.is_empty())
        .map(|r| {
            let mut p = r.split('|');
            (
                p.next().and_then(|v| v.parse().ok()).expect("an id"),
                p.next().unwrap_or_default().to_owned(),
                p.next() == Some("true"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recurring_task_is_a_series_of_tasks_each_done_moved_and_deleted_on_its_own() {
    let t = Team::new("task-repeat").await;
    // Mondays and Wednesdays from Monday 2027-01-04 up to and including 2027-01-13.
    let page = post_task(
        &t.member,
        "周例会",
        "2027-01-04T09:00",
        &[
            ("repeat", "weekdays"),
            ("repeat_interval", "1"),
            ("repeat_day", "0"),
            ("repeat_day", "2"),
            ("repeat_end", "until"),
            ("repeat_until", "2027-01-13"),
        ],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let all = occurrences(&t.app, "周例会", "Asia/Shanghai").await;
    let starts: Vec<&str> = all.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(
        starts,
        [
            "Mon 2027-01-04 09:00",
            "Wed 2027-01-06 09:00",
            "Mon 2027-01-11 09:00",
            "Wed 2027-01-13 09:00"
        ]
    );
    // One series; each occurrence has its own reminder, 15 minutes before it.
    assert_eq!(
        t.app
            .scalar(&format!(
                "SELECT count(DISTINCT series_id) FROM tasks WHERE tenant_id = {} AND series_id IS NOT NULL",
                t.tenant
            ))
            .await,
        1
    );
    assert_eq!(
        t.app
            .text(&format!(
                "SELECT string_agg(to_char(r.remind_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI'), ',' ORDER BY r.remind_at) \
                 FROM task_reminders r JOIN tasks k ON k.tenant_id = r.tenant_id AND k.id = r.task_id \
                 WHERE k.tenant_id = {} AND r.status = 'pending'",
                t.tenant
            ))
            .await,
        "01-04 09:45,01-06 09:45,01-11 09:45,01-13 09:45"
    );
    // Its page says how it repeats and which one it is.
    let first = t.member.get(&format!("/tasks/{}", all[0].0)).await;
    let series = first.texts("#task-series").join(" ");
    assert!(
        series.contains("每 1 周") && series.contains("第 1 项"),
        "{series}"
    );
    assert!(series.contains("2027-01-13"), "{series}");

    // Done alone: the second is done and loses its reminder; the others keep theirs.
    let done = t
        .member
        .post(&format!("/tasks/{}/done", all[1].0), &[])
        .await;
    assert_eq!(done.status, 303);
    // Moved alone: the third goes to Wednesday 2027-01-20, same time of day.
    let moved = t
        .member
        .post(
            &format!("/tasks/{}/move", all[2].0),
            &[("date", "2027-01-20")],
        )
        .await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    let now = occurrences(&t.app, "周例会", "Asia/Shanghai").await;
    let view: Vec<(String, bool)> = now.iter().map(|(_, s, d)| (s.clone(), *d)).collect();
    assert_eq!(
        view,
        [
            ("Mon 2027-01-04 09:00".to_owned(), false),
            ("Wed 2027-01-06 09:00".to_owned(), true),
            ("Wed 2027-01-13 09:00".to_owned(), false),
            ("Wed 2027-01-20 09:00".to_owned(), false),
        ]
    );
    assert_eq!(
        t.app
            .text(&format!(
                "SELECT string_agg(to_char(r.remind_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI'), ',' ORDER BY r.remind_at) \
                 FROM task_reminders r WHERE r.tenant_id = {} AND r.status = 'pending'",
                t.tenant
            ))
            .await,
        "01-04 09:45,01-13 09:45,01-20 09:45"
    );

    // Deleting asks which: only this one, this and the later ones, or all — with counts.
    let ask = t.member.get(&format!("/tasks/{}/delete", all[1].0)).await;
    assert_eq!(ask.status, 200);
    let choices = ask.texts("#delete-which label").join(" | ");
    assert!(
        choices.contains("（3 项）") && choices.contains("（4 项）"),
        "{choices}"
    );
    // Someone outside the team cannot even see it.
    assert_eq!(
        t.outsider
            .post(&format!("/tasks/{}/delete", all[1].0), &[("which", "all")])
            .await
            .status,
        404
    );
    let from_second = t
        .member
        .post(
            &format!("/tasks/{}/delete", all[1].0),
            &[("which", "following")],
        )
        .await;
    assert_eq!(from_second.status, 303);
    let left = occurrences(&t.app, "周例会", "Asia/Shanghai").await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].1, "Mon 2027-01-04 09:00");
    // The last one deleted on its own takes its series with it.
    assert_eq!(
        t.member
            .post(&format!("/tasks/{}/delete", left[0].0), &[("which", "one")])
            .await
            .status,
        303
    );
    assert_eq!(
        t.app
            .scalar(&format!(
                "SELECT count(*) FROM task_series WHERE tenant_id = {}",
                t.tenant
            ))
            .await,
        0
    );

    // "All" from any occurrence deletes the whole series.
    let page = post_task(
        &t.member,
        "每月对账",
        "2027-01-31T15:00",
        &[
            ("repeat", "monthly"),
            ("repeat_end", "count"),
            ("repeat_count", "3"),
        ],
    )
    .await;
    assert_eq!(page.status, 303);
    // Months without a 31st are skipped, as RFC 5545 says.
    let monthly = occurrences(&t.app, "每月对账", "Asia/Shanghai").await;
    let starts: Vec<&str> = monthly.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(
        starts,
        [
            "Sun 2027-01-31 15:00",
            "Wed 2027-03-31 15:00",
            "Mon 2027-05-31 15:00"
        ]
    );
    assert_eq!(
        t.member
            .post(
                &format!("/tasks/{}/delete", monthly[1].0),
                &[("which", "all")]
            )
            .await
            .status,
        303
    );
    assert!(
        occurrences(&t.app, "每月对账", "Asia/Shanghai")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_series_keeps_its_local_time_across_dst_and_bad_repeat_input_is_refused_and_kept() {
    let t = Team::new("task-repeat-dst").await;
    exec(
        &t.app,
        &format!(
            "UPDATE users SET time_zone = 'America/New_York' WHERE id = {}",
            t.member_id
        ),
    )
    .await;
    // Daily at 09:00 New York time across the switch to daylight time on 2027-03-14.
    let page = post_task(
        &t.member,
        "晨会",
        "2027-03-13T09:00",
        &[
            ("repeat", "daily"),
            ("repeat_end", "count"),
            ("repeat_count", "3"),
        ],
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let utc = occurrences(&t.app, "晨会", "UTC").await;
    let starts: Vec<&str> = utc.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(
        starts,
        [
            "Sat 2027-03-13 14:00",
            "Sun 2027-03-14 13:00",
            "Mon 2027-03-15 13:00"
        ]
    );

    // Weekdays with none chosen, too many times, an end before the start: each refused
    // with its reason, the form as typed, nothing written.
    let no_days = post_task(
        &t.member,
        "没选星期",
        "2027-03-13T09:00",
        &[
            ("repeat", "weekdays"),
            ("repeat_end", "count"),
            ("repeat_count", "5"),
        ],
    )
    .await;
    assert_eq!(no_days.status, 422);
    assert_eq!(
        no_days.field_error("repeat_days"),
        Some(zh("tasks.repeat_days_required"))
    );
    assert_eq!(no_days.input_value("repeat_count").as_deref(), Some("5"));
    assert_eq!(
        no_days.texts("#f-content").join(""),
        "没选星期",
        "the content is kept"
    );
    let too_many = post_task(
        &t.member,
        "太多次",
        "2027-03-13T09:00",
        &[
            ("repeat", "daily"),
            ("repeat_end", "count"),
            ("repeat_count", "500"),
        ],
    )
    .await;
    assert_eq!(too_many.status, 422);
    assert!(
        too_many
            .field_error("repeat_count")
            .is_some_and(|e| e.contains("366")),
        "{:?}",
        too_many.field_error("repeat_count")
    );
    let until_long = post_task(
        &t.member,
        "太久",
        "2027-03-13T09:00",
        &[
            ("repeat", "daily"),
            ("repeat_end", "until"),
            ("repeat_until", "2029-01-01"),
        ],
    )
    .await;
    assert_eq!(until_long.status, 422);
    assert_eq!(
        until_long.field_error("repeat"),
        Some(zh("tasks.repeat_too_many"))
    );
    let before = post_task(
        &t.member,
        "截止太早",
        "2027-03-13T09:00",
        &[
            ("repeat", "weekly"),
            ("repeat_end", "until"),
            ("repeat_until", "2027-03-01"),
        ],
    )
    .await;
    assert_eq!(before.status, 422);
    assert_eq!(
        before.field_error("repeat"),
        Some(zh("tasks.repeat_until_before_start"))
    );
    assert_eq!(
        t.app
            .scalar("SELECT count(*) FROM tasks WHERE content IN ('没选星期', '太多次', '太久', '截止太早')")
            .await,
        0
    );
}

/// The feed's path from the settings page shown after making it.
fn feed_path(page: &Page) -> String {
    let url = page
        .input_value("feed-url")
        .expect("the new feed's address");
    let at = url.find("/calendar/feed/").expect("a feed path");
    url[at..].to_owned()
}

/// The feed's events: each as (SUMMARY, DTSTART, DTEND, URL, DESCRIPTION), unescaped.
fn events(body: &str) -> Vec<[String; 5]> {
    let mut calendars = ical::IcalParser::new(BufReader::new(body.as_bytes()));
    let calendar = calendars
        .next()
        .expect("one calendar")
        .expect("a calendar ical parses");
    assert!(calendars.next().is_none(), "one calendar only");
    let unescape = |v: &str| {
        v.replace("\\n", "\n")
            .replace("\\,", ",")
            .replace("\\;", ";")
            .replace("\\\\", "\\")
    };
    let mut out: Vec<[String; 5]> = calendar
        .events
        .iter()
        .map(|e| {
            let prop = |name: &str| {
                e.properties
                    .iter()
                    .find(|p| p.name == name)
                    .and_then(|p| p.value.as_deref())
                    .map(unescape)
                    .unwrap_or_default()
            };
            [
                prop("SUMMARY"),
                prop("DTSTART"),
                prop("DTEND"),
                prop("URL"),
                prop("DESCRIPTION"),
            ]
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_calendar_feed_is_a_secret_revocable_url_with_my_own_entries() {
    let t = Team::new("task-feed").await;
    let other = People::sign_up(&t.app, "task-feed-other").await;
    // The member's tasks: one on a company, one done, a memo; the manager's own task and
    // one of the member's two years ahead are not in it.
    exec(
        &t.app,
        &format!(
            "INSERT INTO companies (tenant_id, name, owner_id, created_by, visibility) \
             VALUES ({}, '订阅客户', {m}, {m}, 'public')",
            t.tenant,
            m = t.member_id
        ),
    )
    .await;
    let now = chrono::Utc::now();
    let soon = (now + chrono::Duration::days(3))
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    for (content, starts, extra) in [
        (
            "拜访订阅客户",
            format!("{soon}T10:00"),
            vec![("company", "订阅客户")],
        ),
        ("已完成的事", format!("{soon}T14:00"), vec![]),
        ("两年后的事", "2029-01-01T09:00".to_owned(), vec![]),
    ] {
        let page = post_task(&t.member, content, &starts, &extra).await;
        assert_eq!(page.status, 303, "{content}: {}", page.body);
    }
    let memo = post_task(
        &t.member,
        "备忘：带合同",
        &format!("{soon}T16:00"),
        &[("kind", "memo")],
    )
    .await;
    assert_eq!(memo.status, 303);
    let done_id = t
        .app
        .scalar("SELECT id FROM tasks WHERE content = '已完成的事'")
        .await;
    assert_eq!(
        t.member
            .post(&format!("/tasks/{done_id}/done"), &[])
            .await
            .status,
        303
    );
    assert_eq!(
        post_task(&t.manager, "经理自己的事", &format!("{soon}T10:00"), &[])
            .await
            .status,
        303
    );

    // Off until turned on: the settings page says so and offers to make one.
    let settings = t.member.get("/account/reminders").await;
    assert_eq!(
        settings.texts("#feed-state").join(""),
        zh("calendar.feed_off")
    );
    let made = t
        .member
        .post("/account/calendar-feed", &[("action", "on")])
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert_eq!(made.header("cache-control").as_deref(), Some("no-store"));
    let path = feed_path(&made);
    // Shown once: the page again does not show it.
    assert!(
        t.member
            .get("/account/reminders")
            .await
            .input_value("feed-url")
            .is_none()
    );
    // Only the secret's SHA-256 is stored.
    // (The secret is URL-safe base64, which may itself hold a '-'.)
    let secret = path
        .trim_start_matches("/calendar/feed/")
        .splitn(3, '-')
        .nth(2)
        .unwrap_or_default()
        .trim_end_matches(".ics");
    assert_eq!(
        t.app
            .text(&format!(
                "SELECT (calendar_feed_hash = encode(sha256('{secret}'::bytea), 'hex'))::text                  FROM users WHERE id = {}",
                t.member_id
            ))
            .await,
        "true"
    );

    // Anyone with the URL (a calendar app, no session) gets the member's entries.
    let phone = t.app.client();
    let feed = phone.get(&path).await;
    assert_eq!(feed.status, 200, "{}", feed.body);
    assert!(
        feed.header("content-type")
            .is_some_and(|c| c.starts_with("text/calendar")),
        "{:?}",
        feed.header("content-type")
    );
    let found = events(&feed.body);
    let summaries: Vec<&str> = found.iter().map(|e| e[0].as_str()).collect();
    assert_eq!(
        summaries,
        ["【已完成】已完成的事", "备忘：带合同", "拜访订阅客户"],
        "{}",
        feed.body
    );
    let visit = found
        .iter()
        .find(|e| e[0] == "拜访订阅客户")
        .expect("the visit");
    let visit_id = t
        .app
        .scalar("SELECT id FROM tasks WHERE content = '拜访订阅客户'")
        .await;
    // Times in UTC: 10:00 in Shanghai is 02:00Z, an hour long.
    let day = soon.replace('-', "");
    assert_eq!(visit[1], format!("{day}T020000Z"));
    assert_eq!(visit[2], format!("{day}T030000Z"));
    assert!(
        visit[3].ends_with(&format!("/tasks/{visit_id}")),
        "{}",
        visit[3]
    );
    assert!(visit[4].contains("订阅客户"), "{}", visit[4]);

    // Tampering: the same secret with another tenant's or user's ids opens nothing.
    let rest = path.trim_start_matches("/calendar/feed/");
    let mut parts = rest.splitn(3, '-');
    let (_, _, secret) = (parts.next(), parts.next(), parts.next().expect("a secret"));
    for forged in [
        format!(
            "/calendar/feed/{}-{}-{secret}",
            other.tenant, other.member_id
        ),
        format!("/calendar/feed/{}-{}-{secret}", t.tenant, t.manager_id),
        format!("/calendar/feed/{}-{}-x{secret}", t.tenant, t.member_id),
        "/calendar/feed/nonsense.ics".to_owned(),
    ] {
        assert_eq!(phone.get(&forged).await.status, 404, "{forged}");
    }

    // A new link revokes the old one.
    let renewed = feed_path(
        &t.member
            .post("/account/calendar-feed", &[("action", "on")])
            .await,
    );
    assert_ne!(renewed, path);
    assert_eq!(phone.get(&path).await.status, 404);
    assert_eq!(phone.get(&renewed).await.status, 200);
    // A disabled user's feed is gone; so is one turned off.
    exec(
        &t.app,
        &format!(
            "UPDATE users SET status = 'disabled' WHERE id = {}",
            t.member_id
        ),
    )
    .await;
    assert_eq!(phone.get(&renewed).await.status, 404);
    exec(
        &t.app,
        &format!(
            "UPDATE users SET status = 'active' WHERE id = {}",
            t.member_id
        ),
    )
    .await;
    assert_eq!(phone.get(&renewed).await.status, 200);
    let off = t
        .member
        .post("/account/calendar-feed", &[("action", "off")])
        .await;
    assert_eq!(off.status, 303);
    assert_eq!(phone.get(&renewed).await.status, 404);
    assert_eq!(
        t.member
            .get("/account/reminders")
            .await
            .texts("#feed-state")
            .join(""),
        zh("calendar.feed_off")
    );
}
