//! What each file of the export holds, from rows already read: `account.json`, each
//! conversation's `.json`, `usage.csv`, and the names of the files in the archive. Pure, so that
//! the formats are tested without a database.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::shares::markdown;

/// `account.json`: who the archive is of, and what it leaves out.
#[derive(Debug, Serialize)]
pub struct AccountJson {
    pub email: String,
    pub display_name: String,
    pub email_verified: bool,
    pub plan: PlanJson,
    pub created_at: DateTime<Utc>,
    pub exported_at: DateTime<Utc>,
    /// Library files not in the archive because it reached its size limit (download them from
    /// the library).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files_left_out: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PlanJson {
    pub id: String,
    pub name: String,
}

/// `conversations/<id>.json`: a conversation's every stored message, with the runs that wrote
/// the replies and the tokens each used.
#[derive(Debug, Serialize)]
pub struct ConversationJson {
    pub id: Uuid,
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub messages: Vec<MessageJson>,
    pub runs: Vec<RunJson>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct MessageJson {
    pub id: Uuid,
    /// `user` or `assistant` (tool results travel in `user` messages, as the model sees them).
    pub role: String,
    /// `complete`, or `partial` for a reply stopped before its end.
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// The run that wrote it (see `runs`), for replies and tool results.
    pub run_id: Option<Uuid>,
    /// The message's content blocks as stored: text, tool calls and their results.
    pub content: sqlx::types::Json<serde_json::Value>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct RunJson {
    pub id: Uuid,
    pub status: String,
    pub model: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    pub usage: UsageJson,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct UsageJson {
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
}

/// One metered run, a line of `usage.csv`.
#[derive(Debug, sqlx::FromRow)]
pub struct UsageRow {
    pub run_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub model: String,
    #[sqlx(flatten)]
    pub usage: UsageJson,
    pub cost_micros: i64,
}

/// `jarvis-export-<date>.zip`.
pub fn archive_name(now: DateTime<Utc>) -> String {
    format!("jarvis-export-{}.zip", now.format("%Y-%m-%d"))
}

/// `conversations/<date it began>-conversation-<title as a slug>.md` (the slug of the
/// Markdown export's own file name).
pub fn transcript_path(created_at: DateTime<Utc>, title: &str) -> String {
    format!("conversations/{}-{}", created_at.format("%Y-%m-%d"), markdown::filename(title))
}

/// `conversations/<id>.json`.
pub fn conversation_json_path(id: Uuid) -> String {
    format!("conversations/{id}.json")
}

/// `usage.csv`: one line per metered run, oldest first, with a header; the cost is the estimate
/// at the model's list prices, in US dollars.
pub fn usage_csv(rows: &[UsageRow]) -> String {
    let mut out = String::from(
        "run_id,started_at,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost_usd\n",
    );
    for row in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}.{:06}\n",
            row.run_id,
            row.started_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            csv_field(&row.model),
            row.usage.input_tokens,
            row.usage.output_tokens,
            row.usage.cache_read_tokens,
            row.usage.cache_write_tokens,
            row.cost_micros / 1_000_000,
            row.cost_micros.rem_euclid(1_000_000),
        ));
    }
    out
}

/// A CSV field (RFC 4180): quoted, with its quotes doubled, when it holds a comma, a quote or a
/// line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 9, 30, 0).unwrap()
    }

    #[test]
    fn names_carry_the_date_and_a_slug_of_the_title() {
        assert_eq!(archive_name(at(28)), "jarvis-export-2026-11-28.zip");
        assert_eq!(
            transcript_path(at(3), "Trip: Lisbon!"),
            "conversations/2026-11-03-conversation-trip-lisbon.md"
        );
        assert_eq!(transcript_path(at(3), "../../x"), "conversations/2026-11-03-conversation-x.md");
        let id = Uuid::nil();
        assert_eq!(conversation_json_path(id), format!("conversations/{id}.json"));
    }

    #[test]
    fn usage_is_one_line_per_run_with_the_cost_in_dollars() {
        let row = UsageRow {
            run_id: Uuid::nil(),
            started_at: at(2),
            model: "claude, \"fast\"".into(),
            usage: UsageJson {
                input_tokens: 10,
                output_tokens: 20,
                cache_read_tokens: 3,
                cache_write_tokens: 4,
            },
            cost_micros: 1_234_567,
        };
        let csv = usage_csv(&[row]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("run_id,started_at,model,"));
        assert_eq!(
            lines[1],
            format!("{},2026-11-02T09:30:00Z,\"claude, \"\"fast\"\"\",10,20,3,4,1.234567", Uuid::nil())
        );
    }
}
