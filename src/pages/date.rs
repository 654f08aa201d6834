//! Unix seconds shown as a UTC date and time ("2026-12-01 10:42 UTC"),
//! with the civil-from-days algorithm of Howard Hinnant's `chrono`-free
//! date library (no date crate in the worker).

/// `secs` (Unix time) as `YYYY-MM-DD HH:MM UTC`.
pub fn utc(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rest / 3600, rest % 3600 / 60)
}

/// The proleptic Gregorian (year, month, day) of a count of days since
/// 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March first
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_800_000_000), "2027-01-15 08:00 UTC");
        assert_eq!(utc(1_796_121_720), "2026-12-01 10:42 UTC");
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
    }

    #[test]
    fn every_day_follows_the_one_before() {
        let mut prev = civil_from_days(-1000);
        for days in -999..200_000 {
            let next = civil_from_days(days);
            let (py, pm, pd) = prev;
            let ok = next == (py, pm, pd + 1) || next == (py, pm + 1, 1) || next == (py + 1, 1, 1);
            assert!(ok && next.2 <= 31, "{prev:?} -> {next:?}");
            prev = next;
        }
    }
}
