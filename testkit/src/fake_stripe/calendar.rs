//! Time as Stripe counts it, on chrono: Unix timestamps in seconds, monthly billing periods that
//! end the same day and time a month later (or the month's last day when it has no such day).

use chrono::{DateTime, Days, Months, Utc};

/// Now, as a Unix timestamp.
pub(super) fn now() -> i64 {
    Utc::now().timestamp()
}

/// The same day and time a month later (the last day of the month when there is no such day), as
/// Stripe bills monthly.
pub(super) fn add_month(timestamp: i64) -> i64 {
    DateTime::from_timestamp(timestamp, 0)
        .and_then(|time| time.checked_add_months(Months::new(1)))
        .map_or(timestamp, |time| time.timestamp())
}

/// The same time `days` days later.
pub(super) fn days_later(timestamp: i64, days: u64) -> i64 {
    DateTime::from_timestamp(timestamp, 0)
        .and_then(|time| time.checked_add_days(Days::new(days)))
        .map_or(timestamp, |time| time.timestamp())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn day(year: i32, month: u32, day: u32) -> i64 {
        let date = NaiveDate::from_ymd_opt(year, month, day).expect("a date");
        date.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp()
    }

    #[test]
    fn a_month_later_is_the_same_day_or_the_last_of_the_month() {
        assert_eq!(day(1970, 1, 1), 0);
        assert_eq!(
            DateTime::from_timestamp(day(2024, 2, 29), 0).map(|t| t.date_naive()),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        assert_eq!(add_month(day(2024, 1, 31) + 3600), day(2024, 2, 29) + 3600);
        assert_eq!(add_month(day(2023, 1, 31)), day(2023, 2, 28));
        assert_eq!(add_month(day(2025, 12, 15)), day(2026, 1, 15));
        assert_eq!(add_month(day(2026, 3, 31)), day(2026, 4, 30));
    }

    #[test]
    fn days_later_keeps_the_time_of_day() {
        assert_eq!(days_later(day(2024, 2, 28) + 3600, 3), day(2024, 3, 2) + 3600);
        assert_eq!(days_later(100, 1), 100 + 86_400);
    }
}
