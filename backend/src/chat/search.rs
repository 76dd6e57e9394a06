//! Search across a user's conversations: Postgres full text over conversation titles and the
//! text of messages (see the `search` migration), under row-level security, best first.
//!
//! One hit per conversation, at its best-matching message (or at none when only the title
//! matches), ranked by `ts_rank` (a word in the title weighs more than one in a message) and then
//! by recency. The query is read by `websearch_to_tsquery`, which accepts whatever a person types:
//! quotes, `or`, `-word`, and any punctuation, never failing on it. The snippet and the title come
//! back split into [`Fragment`]s, the matched words marked, so that a client renders the marks
//! without ever reading stored text as markup.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{db, text};

/// The longest query searched, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// The most hits one search returns.
pub const MAX_HITS: i64 = 20;

/// The longest snippet, in characters (its marked words whole).
pub const MAX_SNIPPET_CHARS: usize = 240;

/// Where `ts_headline` starts and ends a matched word: two private-use characters, removed from
/// the stored text before the headline is made, so no text can forge or break a mark.
const START: char = '\u{E000}';
const STOP: char = '\u{E001}';

/// A piece of a title or snippet; `matched` pieces are words the query found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    pub text: String,
    pub matched: bool,
}

/// A conversation that matches, at the message to open it at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub conversation_id: Uuid,
    /// The conversation's title, its matched words marked.
    pub title: Vec<Fragment>,
    /// The message shown where the best match is: for a reply, the first message of its run (a
    /// reply's messages read as one). `None` when only the title matches.
    pub message_id: Option<Uuid>,
    /// Words around the best match in that message; empty when only the title matches.
    pub snippet: Vec<Fragment>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("Search for at most {MAX_QUERY_CHARS} characters.")]
    QueryTooLong,
    #[error("the conversation search failed")]
    Database(#[from] sqlx::Error),
}

impl crate::Kinded for SearchError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            Self::QueryTooLong => crate::ErrorKind::Invalid,
            Self::Database(_) => crate::ErrorKind::Unavailable,
        }
    }
}

#[derive(sqlx::FromRow)]
struct HitRow {
    conversation_id: Uuid,
    title: String,
    message_id: Option<Uuid>,
    snippet: Option<String>,
    updated_at: DateTime<Utc>,
}

/// The user's conversations matching `query`, best first, at most [`MAX_HITS`]. A blank query
/// (or one of only stop words and punctuation) finds nothing; a NUL is read as a space; a query
/// over [`MAX_QUERY_CHARS`] is refused.
#[tracing::instrument(name = "chat.search", skip_all, fields(user.id = %user_id))]
pub async fn search(pool: &PgPool, user_id: Uuid, query: &str) -> Result<Vec<Hit>, SearchError> {
    let query = text::nul_as_space(query);
    let query = query.trim();
    if query.is_empty() {
        return Ok(Vec::new());
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(SearchError::QueryTooLong);
    }
    let markers = format!("{START}{STOP}");
    let snippet_options = format!(
        "StartSel={START}, StopSel={STOP}, MaxWords=20, MinWords=8, ShortWord=2, MaxFragments=2, FragmentDelimiter=\" … \""
    );
    let title_options = format!("StartSel={START}, StopSel={STOP}, HighlightAll=true");
    let rows = db::for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, HitRow>(
            "WITH q AS (SELECT websearch_to_tsquery('english', $2) AS query),
             best_messages AS (
                 SELECT DISTINCT ON (m.conversation_id)
                        m.conversation_id, m.id, m.role, m.run_id, m.content, ts_rank(m.search, q.query) AS rank
                   FROM messages m, q
                  WHERE m.user_id = $1 AND m.search @@ q.query
                  ORDER BY m.conversation_id, rank DESC, m.position DESC
             ),
             hits AS (
                 SELECT c.id, c.title, c.updated_at, b.id AS message_id, b.role, b.run_id, b.content,
                        coalesce(b.rank, 0)
                          + CASE WHEN c.search @@ q.query THEN ts_rank(c.search, q.query) ELSE 0 END AS rank
                   FROM conversations c CROSS JOIN q
                   LEFT JOIN best_messages b ON b.conversation_id = c.id
                  WHERE c.user_id = $1 AND (b.id IS NOT NULL OR c.search @@ q.query)
                  ORDER BY rank DESC, c.updated_at DESC, c.id
                  LIMIT $3
             )
             SELECT h.id AS conversation_id, h.updated_at,
                    ts_headline('english', translate(h.title, $4, ''), q.query, $6) AS title,
                    CASE WHEN h.message_id IS NOT NULL THEN
                        ts_headline('english', translate(message_search_text(h.content), $4, ''), q.query, $5)
                    END AS snippet,
                    CASE WHEN h.role = 'assistant' AND h.run_id IS NOT NULL THEN
                        (SELECT a.id FROM messages a
                          WHERE a.conversation_id = h.id AND a.user_id = $1 AND a.run_id = h.run_id
                            AND a.role = 'assistant'
                          ORDER BY a.position LIMIT 1)
                    ELSE h.message_id END AS message_id
               FROM hits h, q
              ORDER BY h.rank DESC, h.updated_at DESC, h.id",
        )
        .bind(user_id)
        .bind(query)
        .bind(MAX_HITS)
        .bind(&markers)
        .bind(&snippet_options)
        .bind(&title_options)
        .fetch_all(&mut *conn)
        .await
    })
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Hit {
            conversation_id: row.conversation_id,
            title: fragments(&row.title, usize::MAX),
            message_id: row.message_id,
            snippet: row.snippet.as_deref().map(|s| fragments(s, MAX_SNIPPET_CHARS)).unwrap_or_default(),
            updated_at: row.updated_at,
        })
        .collect())
}

/// Splits a headline at its marks into fragments, whitespace runs folded to one space, and keeps
/// about `max_chars` of it: a matched word is kept whole, plain text is cut (with "…") once the
/// budget is spent.
fn fragments(headline: &str, max_chars: usize) -> Vec<Fragment> {
    let mut out: Vec<Fragment> = Vec::new();
    let mut budget = max_chars;
    for (piece, matched) in marked_pieces(headline) {
        let text = fold_whitespace(&piece);
        if text.is_empty() {
            continue;
        }
        if budget == 0 {
            if let Some(last) = out.last_mut()
                && !last.matched
                && !last.text.ends_with('…')
            {
                last.text.push('…');
            } else if out.last().is_some_and(|last| last.matched) {
                out.push(Fragment { text: "…".to_owned(), matched: false });
            }
            break;
        }
        let length = text.chars().count();
        let text = if matched || length <= budget {
            budget = budget.saturating_sub(length);
            text
        } else {
            let kept: String = text.chars().take(budget).collect();
            budget = 0;
            format!("{kept}…")
        };
        match out.last_mut() {
            Some(last) if last.matched == matched => last.text.push_str(&text),
            _ => out.push(Fragment { text, matched }),
        }
    }
    out
}

/// The pieces of a headline between its marks, each with whether it was marked.
fn marked_pieces(headline: &str) -> Vec<(String, bool)> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut matched = false;
    for c in headline.chars() {
        if c == START || c == STOP {
            pieces.push((std::mem::take(&mut piece), matched));
            matched = c == START;
        } else {
            piece.push(c);
        }
    }
    pieces.push((piece, matched));
    pieces
}

/// `text` with each run of whitespace (line breaks included) made one space.
fn fold_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> Fragment {
        Fragment { text: text.to_owned(), matched: false }
    }

    fn mark(text: &str) -> Fragment {
        Fragment { text: text.to_owned(), matched: true }
    }

    #[test]
    fn marks_split_the_headline_into_matched_and_plain_fragments() {
        let headline = "the \u{E000}dog\u{E001} and the \u{E000}dogs\u{E001}";
        assert_eq!(
            fragments(headline, 100),
            vec![plain("the "), mark("dog"), plain(" and the "), mark("dogs")]
        );
    }

    #[test]
    fn a_headline_without_marks_is_one_plain_fragment() {
        assert_eq!(fragments("Rust\n\n  lifetimes", 100), vec![plain("Rust lifetimes")]);
        assert_eq!(fragments("", 100), vec![]);
    }

    #[test]
    fn a_headline_starting_with_a_match_marks_it() {
        assert_eq!(fragments("\u{E000}Rust\u{E001} lifetimes", 100), vec![mark("Rust"), plain(" lifetimes")]);
    }

    #[test]
    fn markup_in_the_text_stays_text() {
        let headline = "<b>\u{E000}x\u{E001}</b>";
        assert_eq!(fragments(headline, 100), vec![plain("<b>"), mark("x"), plain("</b>")]);
    }

    #[test]
    fn long_plain_text_is_cut_but_matched_words_stay_whole() {
        let headline = format!("{} \u{E000}needle\u{E001} {}", "a".repeat(10), "b".repeat(50));
        let cut = fragments(&headline, 15);
        assert_eq!(cut, vec![plain("aaaaaaaaaa "), mark("needle"), plain("…")]);
        let cut = fragments(&headline, 20);
        assert_eq!(cut, vec![plain("aaaaaaaaaa "), mark("needle"), plain(" bb…")]);
    }
}
