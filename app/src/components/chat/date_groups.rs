//! The conversation list grouped by when each conversation last changed, in the reader's local
//! time: "Today", "Yesterday", "Previous 7 days", "Previous 30 days", then one group per month
//! ("October 2026"). Pure: the clock and the time zone come in as numbers.

use jarvis_types::chat::ConversationSummary;

/// Conversations under one heading, in the order they came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateGroup {
    pub label: String,
    pub conversations: Vec<ConversationSummary>,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Groups `conversations` (kept in their order) by their `updated_at` as seen at `now_unix`
/// (seconds) in a time zone `offset_minutes` ahead of UTC. A conversation with no readable time
/// (one just started on this page) counts as today.
pub fn group_by_date(
    conversations: &[ConversationSummary],
    now_unix: i64,
    offset_minutes: i32,
) -> Vec<DateGroup> {
    let offset = i64::from(offset_minutes) * 60;
    let today = (now_unix + offset).div_euclid(86_400);
    let mut groups: Vec<DateGroup> = Vec::new();
    for conversation in conversations {
        let day = unix_seconds(&conversation.updated_at).map(|at| (at + offset).div_euclid(86_400));
        let label = label(today, day.unwrap_or(today));
        match groups.iter_mut().find(|group| group.label == label) {
            Some(group) => group.conversations.push(conversation.clone()),
            None => groups.push(DateGroup { label, conversations: vec![conversation.clone()] }),
        }
    }
    groups
}

/// The heading of a conversation changed on local day `day`, seen on local day `today` (days
/// since 1970-01-01).
fn label(today: i64, day: i64) -> String {
    match today - day {
        ..=0 => "Today".to_owned(),
        1 => "Yesterday".to_owned(),
        2..=7 => "Previous 7 days".to_owned(),
        8..=30 => "Previous 30 days".to_owned(),
        _ => {
            let (year, month, _) = civil_from_days(day);
            format!("{} {year}", MONTHS[(month - 1) as usize])
        }
    }
}

/// Seconds since the epoch of an RFC 3339 time ("2026-11-27T01:45:30.123Z", "…+02:00").
fn unix_seconds(rfc3339: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = rfc3339.get(range)?;
        digits.bytes().all(|b| b.is_ascii_digit()).then(|| digits.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // The zone: after the seconds and their optional fraction.
    let rest = rfc3339.get(19..)?;
    let zone = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.get(0..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let hours: i64 = zone.get(1..3)?.parse().ok()?;
            let minutes: i64 = zone.get(4..6)?.parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day since 1970-01-01: (year, month 1–12, day 1–31).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(id: &str, updated_at: &str) -> ConversationSummary {
        ConversationSummary { id: id.into(), title: id.into(), updated_at: updated_at.into() }
    }

    /// 2026-11-27 14:00 UTC.
    fn now() -> i64 {
        unix_seconds("2026-11-27T14:00:00Z").expect("a time")
    }

    fn labelled(groups: &[DateGroup]) -> Vec<(String, Vec<String>)> {
        groups
            .iter()
            .map(|group| (group.label.clone(), group.conversations.iter().map(|c| c.id.clone()).collect()))
            .collect()
    }

    #[test]
    fn rfc3339_times_are_read_with_their_fraction_and_zone() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(unix_seconds("2026-11-27T14:00:00.123456Z"), Some(now()));
        assert_eq!(unix_seconds("2026-11-27T16:00:00+02:00"), Some(now()));
        assert_eq!(unix_seconds("2026-11-27T09:30:00-04:30"), Some(now()));
        assert_eq!(unix_seconds(""), None);
        assert_eq!(unix_seconds("yesterday"), None);
        assert_eq!(unix_seconds("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn days_and_dates_convert_both_ways() {
        for days in [-1, 0, 59, 60, 10_957, 20_784, 100_000] {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days, "{year}-{month}-{day}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

    #[test]
    fn conversations_are_grouped_today_yesterday_last_week_last_month_then_by_month() {
        let list = [
            conversation("new", ""),
            conversation("morning", "2026-11-27T08:00:00Z"),
            conversation("last-night", "2026-11-26T23:59:59Z"),
            conversation("yesterday-morning", "2026-11-26T00:00:00Z"),
            conversation("monday", "2026-11-23T10:00:00Z"),
            conversation("a-week-ago", "2026-11-20T10:00:00Z"),
            conversation("eight-days-ago", "2026-11-19T10:00:00Z"),
            conversation("a-month-ago", "2026-10-28T10:00:00Z"),
            conversation("october", "2026-10-27T10:00:00Z"),
            conversation("early-october", "2026-10-01T10:00:00Z"),
            conversation("last-year", "2025-12-31T10:00:00Z"),
        ];
        assert_eq!(
            labelled(&group_by_date(&list, now(), 0)),
            vec![
                ("Today".into(), vec!["new".into(), "morning".into()]),
                ("Yesterday".into(), vec!["last-night".into(), "yesterday-morning".into()]),
                ("Previous 7 days".into(), vec!["monday".into(), "a-week-ago".into()]),
                ("Previous 30 days".into(), vec!["eight-days-ago".into(), "a-month-ago".into()]),
                ("October 2026".into(), vec!["october".into(), "early-october".into()]),
                ("December 2025".into(), vec!["last-year".into()]),
            ]
        );
    }

    #[test]
    fn the_day_is_the_readers_local_day() {
        // 23:30 UTC on the 26th is already the 27th in Berlin (UTC+1), and 14:00 UTC on the 27th
        // is still the 27th there.
        let list = [conversation("late", "2026-11-26T23:30:00Z")];
        assert_eq!(group_by_date(&list, now(), 0)[0].label, "Yesterday");
        assert_eq!(group_by_date(&list, now(), 60)[0].label, "Today");
        // In New York (UTC−5) 14:00 UTC is 09:00 on the 27th; 03:00 UTC on the 27th was the 26th.
        let list = [conversation("early", "2026-11-27T03:00:00Z")];
        assert_eq!(group_by_date(&list, now(), 0)[0].label, "Today");
        assert_eq!(group_by_date(&list, now(), -300)[0].label, "Yesterday");
    }

    #[test]
    fn an_empty_list_has_no_groups_and_a_future_time_counts_as_today() {
        assert!(group_by_date(&[], now(), 0).is_empty());
        let list = [conversation("clock-skew", "2026-11-28T10:00:00Z")];
        assert_eq!(group_by_date(&list, now(), 0)[0].label, "Today");
    }
}
