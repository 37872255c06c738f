//! Timestamps in the one shape the logger writes, `YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z`, to microseconds
//! since the Unix epoch. Any other shape is left to the models (`None`): they accept more (offsets,
//! seven fraction digits rounded, lowercase letters …) and are the judge of it.

const DAYS_IN_MONTH: [i64; 13] = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// Days from 1970-01-01 to a proleptic Gregorian date, counting March as the first month so that
/// the leap day falls at the end of a year.
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The value of the ASCII digits in `text`, or None if any byte is not one.
fn number(text: &[u8]) -> Option<i64> {
    text.iter().try_fold(0i64, |value, &byte| byte.is_ascii_digit().then(|| value * 10 + i64::from(byte - b'0')))
}

/// Microseconds since the epoch of a canonical UTC timestamp, or None for any other text, and for
/// a time the models refuse (year 0, month 13, 30 February, hour 24, second 60 …).
pub fn canonical_micros(text: &[u8]) -> Option<i64> {
    let length = text.len();
    if !(length == 20 || (22..=27).contains(&length)) {
        return None;
    }
    let fixed_ok = text[4] == b'-'
        && text[7] == b'-'
        && text[10] == b'T'
        && text[13] == b':'
        && text[16] == b':'
        && text[length - 1] == b'Z'
        && (length == 20 || text[19] == b'.');
    if !fixed_ok {
        return None;
    }
    let year = number(&text[0..4])?;
    let month = number(&text[5..7])?;
    let day = number(&text[8..10])?;
    let hour = number(&text[11..13])?;
    let minute = number(&text[14..16])?;
    let second = number(&text[17..19])?;
    let fraction = if length > 20 { &text[20..length - 1] } else { &[][..] };
    let fraction_micros = number(fraction)? * 10i64.pow(6 - fraction.len() as u32);
    let month_days = DAYS_IN_MONTH.get(month as usize).copied().unwrap_or(0) + i64::from(month == 2 && is_leap(year));
    if year == 0 || !(1..=12).contains(&month) || day < 1 || day > month_days || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let seconds = ((days_since_epoch(year, month, day) * 24 + hour) * 60 + minute) * 60 + second;
    Some(seconds * 1_000_000 + fraction_micros)
}

#[cfg(test)]
mod tests {
    use super::canonical_micros;

    #[test]
    fn reads_the_canonical_shapes() {
        assert_eq!(canonical_micros(b"1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(canonical_micros(b"1970-01-01T00:00:01.5Z"), Some(1_500_000));
        assert_eq!(canonical_micros(b"2026-07-01T08:00:43.103004Z"), Some(1_782_892_843_103_004));
        assert_eq!(canonical_micros(b"0001-01-01T00:00:00Z"), Some(-62_135_596_800_000_000));
        assert_eq!(canonical_micros(b"2024-02-29T12:00:00Z"), Some(1_709_208_000_000_000));
        assert_eq!(canonical_micros(b"9999-12-31T23:59:59.999999Z"), Some(253_402_300_799_999_999));
    }

    #[test]
    fn leaves_everything_else_to_the_models() {
        for text in [
            "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:60Z",
            "2026-13-01T00:00:00Z", "0000-01-01T00:00:00Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567Z",
            "2026-01-01T00:00:00+01:00", "2026-01-01t00:00:00Z", "2026-01-01T00:00:00z", "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:0aZ", "+026-01-01T00:00:00Z", "", "2026-01-01", "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z",
        ] {
            assert_eq!(canonical_micros(text.as_bytes()), None, "{text}");
        }
    }
}
