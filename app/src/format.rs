//! How numbers are written on the pages: counts, sizes, limits and costs.

/// Formats micro-dollars as dollars with cents (`$0.42`), rounding up any fraction of a cent so
/// that a non-zero cost never shows as `$0.00`.
pub fn format_cost(micros: u64) -> String {
    let cents = micros.div_ceil(10_000);
    format!("${}.{:02}", cents / 100, cents % 100)
}

/// A limit, or "Unlimited" when there is none.
pub fn format_limit(limit: Option<u64>, format: fn(u64) -> String) -> String {
    limit.map_or_else(|| "Unlimited".to_owned(), format)
}

/// A count with thousands separated by commas: `10,000,000`.
pub fn format_count(count: u64) -> String {
    let digits = count.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A size in bytes in the largest unit it reaches, to a tenth (binary units): `100 MB`, `1.5 GB`,
/// `512 KB`, `900 B`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            // Rounded to the nearest tenth, in u128 so that no size overflows.
            let tenths = (u128::from(bytes) * 10 + u128::from(size) / 2) / u128::from(size);
            return if tenths % 10 == 0 {
                format!("{} {unit}", tenths / 10)
            } else {
                format!("{}.{} {unit}", tenths / 10, tenths % 10)
            };
        }
    }
    format!("{bytes} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_show_dollars_and_cents_rounded_up() {
        assert_eq!(format_cost(0), "$0.00");
        assert_eq!(format_cost(1), "$0.01");
        assert_eq!(format_cost(10_000), "$0.01");
        assert_eq!(format_cost(10_001), "$0.02");
        assert_eq!(format_cost(12_340_000), "$12.34");
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_000), "1,000");
        assert_eq!(format_count(200_000), "200,000");
        assert_eq!(format_count(10_000_000), "10,000,000");
    }

    #[test]
    fn storage_is_written_in_the_largest_unit_it_reaches() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1_023), "1023 B");
        assert_eq!(format_size(512 * 1024), "512 KB");
        assert_eq!(format_size(100 * 1024 * 1024), "100 MB");
        assert_eq!(format_size(10 * 1024 * 1024 * 1024), "10 GB");
        assert_eq!(format_size(3 * (1 << 29)), "1.5 GB");
    }

    #[test]
    fn a_missing_limit_is_unlimited() {
        assert_eq!(format_limit(None, format_count), "Unlimited");
        assert_eq!(format_limit(Some(20), format_count), "20");
    }
}
