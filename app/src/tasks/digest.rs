//! The daily digest (每日任务摘要): between 08:00 and 10:00 in each user's time zone, one
//! email listing their open tasks due that day and the overdue ones, if there are any.
//! Idempotent per (tenant, user, local day): the `task_digests` row is written in the
//! transaction that writes the email, and its primary key refuses a second one.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Date, Integer, Nullable, Text, Timestamptz},
};
use diesel_async::RunQueryDsl;

use crate::{
    db::{DbPool, TenantTx},
    error::AppResult,
    i18n::Locale,
    ids::{EmailId, TenantId},
    jobs::email::{self, NewEmail},
    tasks::reminders::Recipient,
};

/// Tasks listed in one digest at most.
const LISTED: i64 = 50;

#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = BigInt)]
    tenant_id: TenantId,
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Date)]
    day: NaiveDate,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    content: String,
    #[diesel(sql_type = Timestamptz)]
    due_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    company: Option<String>,
}

/// Writes every digest due at `now` (see the module); returns the emails to push.
pub async fn run(
    db: &DbPool,
    now: DateTime<Utc>,
    base_url: &str,
    max_attempts: i32,
) -> AppResult<Vec<(TenantId, EmailId)>> {
    let due: Vec<Due> = {
        let mut conn = db.get().await?;
        diesel::sql_query("SELECT tenant_id, user_id, day FROM kehu_digest_due_users($1)")
            .bind::<Timestamptz, _>(now)
            .load(&mut conn)
            .await?
    };
    let mut queued = Vec::new();
    for d in due {
        let mut tx = TenantTx::begin(db, d.tenant_id).await?;
        // Claim the (user, day) first: a concurrent run waits here, then writes nothing.
        let claimed = diesel::sql_query(
            "INSERT INTO task_digests (tenant_id, user_id, day) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind::<BigInt, _>(d.tenant_id)
        .bind::<BigInt, _>(d.user_id)
        .bind::<Date, _>(d.day)
        .execute(&mut *tx)
        .await?;
        if claimed == 0 {
            tx.commit().await?;
            continue;
        }
        let who: Recipient = diesel::sql_query(
            "SELECT u.email, u.name, u.locale, coalesce(u.time_zone, t.time_zone) AS time_zone
               FROM users u JOIN tenants t ON t.id = u.tenant_id
              WHERE u.tenant_id = $1 AND u.id = $2",
        )
        .bind::<BigInt, _>(d.tenant_id)
        .bind::<BigInt, _>(d.user_id)
        .get_result(&mut *tx)
        .await?;
        let tz: chrono_tz::Tz = who.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
        let end = super::model::end_of_day(tz, d.day);
        let lines: Vec<Line> = diesel::sql_query(
            "SELECT k.id, k.content, k.due_at, c.name AS company
               FROM tasks k
               LEFT JOIN companies c ON c.tenant_id = k.tenant_id AND c.id = k.company_id
              WHERE k.tenant_id = $1 AND k.owner_id = $2 AND k.done_at IS NULL
                AND k.kind = 'task' AND k.due_at < $3
              ORDER BY k.due_at, k.id
              LIMIT $4",
        )
        .bind::<BigInt, _>(d.tenant_id)
        .bind::<BigInt, _>(d.user_id)
        .bind::<Timestamptz, _>(end)
        .bind::<BigInt, _>(LISTED)
        .load(&mut *tx)
        .await?;
        if !lines.is_empty() {
            let id = email::enqueue(
                &mut tx,
                message(&who, tz, d.day, &lines, now, base_url),
                max_attempts,
            )
            .await?;
            diesel::sql_query(
                "UPDATE task_digests SET email_id = $4, tasks = $5
                  WHERE tenant_id = $1 AND user_id = $2 AND day = $3",
            )
            .bind::<BigInt, _>(d.tenant_id)
            .bind::<BigInt, _>(d.user_id)
            .bind::<Date, _>(d.day)
            .bind::<BigInt, _>(id)
            .bind::<Integer, _>(i32::try_from(lines.len()).unwrap_or(i32::MAX))
            .execute(&mut *tx)
            .await?;
            queued.push((d.tenant_id, id));
        }
        tx.commit().await?;
    }
    Ok(queued)
}

fn message(
    who: &Recipient,
    tz: chrono_tz::Tz,
    day: NaiveDate,
    lines: &[Line],
    now: DateTime<Utc>,
    base_url: &str,
) -> NewEmail {
    let locale = Locale::from_code(&who.locale).unwrap_or_default();
    let date = day.format("%Y-%m-%d").to_string();
    let mut body = locale.tf(
        "tasks.digest_body",
        &[("name", &who.name), ("count", &lines.len().to_string())],
    );
    for l in lines {
        let key = if l.due_at < now {
            "tasks.digest_line_overdue"
        } else {
            "tasks.digest_line"
        };
        body.push_str(&locale.tf(
            key,
            &[
                ("due", &locale.datetime(l.due_at, tz)),
                ("content", &l.content),
                ("company", l.company.as_deref().unwrap_or("")),
                ("url", &format!("{base_url}/tasks/{}", l.id)),
            ],
        ));
    }
    body.push_str(&locale.tf(
        "tasks.digest_footer",
        &[("url", &format!("{base_url}/tasks"))],
    ));
    NewEmail {
        kind: "task_digest",
        to_addr: who.email.clone(),
        subject: locale.tf(
            "tasks.digest_subject",
            &[("date", &date), ("count", &lines.len().to_string())],
        ),
        body_text: body,
    }
}
