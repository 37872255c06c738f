//! RFC 3339 timestamps to microseconds since the Unix epoch, in the shapes the models take:
//! `YYYY-MM-DD`, `T` (or `t`, or a space), `HH:MM:SS`, an optional `.` and 1 to 18 fraction digits
//! (cut to microseconds, as the models cut them), then `Z`, `z`, `±HH:MM` or `±HHMM`. Any other
//! shape is left to the models (`None`): they accept a few more (no seconds, a `,` before the
//! fraction, longer fractions) and are the judge of it.

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

/// The most fraction digits read here; a longer fraction is left to the models.
const MAX_FRACTION_DIGITS: usize = 18;

/// The zone at the end of a timestamp as seconds east of UTC: `Z`, `z`, `±HH:MM` or `±HHMM`, less
/// than a day; None for anything else.
fn zone_seconds(zone: &[u8]) -> Option<i64> {
    let (sign, hours, minutes) = match zone {
        [b'Z' | b'z'] => return Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => (*sign, number(&[*h1, *h2])?, number(&[*m1, *m2])?),
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    let seconds = hours * 3600 + minutes * 60;
    Some(if sign == b'-' { -seconds } else { seconds })
}

/// Microseconds since the epoch of an RFC 3339 timestamp of the shapes above, or None for any
/// other text, and for a time the models refuse (year 0, month 13, 30 February, hour 24, second
/// 60, an offset of a day or more …).
pub fn rfc3339_micros(text: &[u8]) -> Option<i64> {
    if text.len() < 20 {
        return None;
    }
    let fixed_ok = text[4] == b'-' && text[7] == b'-' && matches!(text[10], b'T' | b't' | b' ') && text[13] == b':' && text[16] == b':';
    if !fixed_ok {
        return None;
    }
    let year = number(&text[0..4])?;
    let month = number(&text[5..7])?;
    let day = number(&text[8..10])?;
    let hour = number(&text[11..13])?;
    let minute = number(&text[14..16])?;
    let second = number(&text[17..19])?;
    let (fraction_micros, zone_start) = if text[19] == b'.' {
        let digits = text[20..].iter().take_while(|byte| byte.is_ascii_digit()).count();
        if digits == 0 || digits > MAX_FRACTION_DIGITS {
            return None;
        }
        let kept = &text[20..20 + digits.min(6)];
        (number(kept)? * 10i64.pow(6 - kept.len() as u32), 20 + digits)
    } else {
        (0, 19)
    };
    let offset = zone_seconds(&text[zone_start..])?;
    let month_days = DAYS_IN_MONTH.get(month as usize).copied().unwrap_or(0) + i64::from(month == 2 && is_leap(year));
    if year == 0 || !(1..=12).contains(&month) || day < 1 || day > month_days || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let seconds = ((days_since_epoch(year, month, day) * 24 + hour) * 60 + minute) * 60 + second - offset;
    Some(seconds * 1_000_000 + fraction_micros)
}

#[cfg(test)]
mod tests {
    use super::rfc3339_micros;

    #[test]
    fn reads_the_shapes_the_models_take() {
        assert_eq!(rfc3339_micros(b"1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_micros(b"1970-01-01T00:00:01.5Z"), Some(1_500_000));
        assert_eq!(rfc3339_micros(b"2026-07-01T08:00:43.103004Z"), Some(1_782_892_843_103_004));
        assert_eq!(rfc3339_micros(b"0001-01-01T00:00:00Z"), Some(-62_135_596_800_000_000));
        assert_eq!(rfc3339_micros(b"2024-02-29T12:00:00Z"), Some(1_709_208_000_000_000));
        assert_eq!(rfc3339_micros(b"9999-12-31T23:59:59.999999Z"), Some(253_402_300_799_999_999));
        // what the models make of the same instants in other shapes (pydantic, then to_micros)
        assert_eq!(rfc3339_micros(b"2026-01-01T00:00:00+00:00"), Some(1_767_225_600_000_000));
        assert_eq!(rfc3339_micros(b"2026-01-01T00:00:00-00:00"), Some(1_767_225_600_000_000));
        assert_eq!(rfc3339_micros(b"2026-01-01T00:00:00-05:30"), Some(1_767_245_400_000_000));
        assert_eq!(rfc3339_micros(b"2026-01-01T00:00:00+0100"), Some(1_767_222_000_000_000));
        assert_eq!(rfc3339_micros(b"2026-01-01T00:00:00+23:59"), Some(1_767_139_260_000_000));
        assert_eq!(rfc3339_micros(b"2026-01-01t00:00:00z"), Some(1_767_225_600_000_000));
        assert_eq!(rfc3339_micros(b"2026-01-01 00:00:00Z"), Some(1_767_225_600_000_000));
        assert_eq!(rfc3339_micros(b"2026-01-01T00:00:00.9999995Z"), Some(1_767_225_600_999_999));
        assert_eq!(rfc3339_micros(b"2026-01-01T00:00:00.123456789Z"), Some(1_767_225_600_123_456));
        assert_eq!(rfc3339_micros(b"2026-01-01T00:00:00.5+01:00"), Some(1_767_222_000_500_000));
        assert_eq!(rfc3339_micros(b"0001-01-01T00:00:00+01:00"), Some(-62_135_600_400_000_000));
        assert_eq!(rfc3339_micros(b"9999-12-31T23:59:59-01:00"), Some(253_402_304_399_000_000));
    }

    #[test]
    fn leaves_everything_else_to_the_models() {
        for text in [
            "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:60Z",
            "2026-13-01T00:00:00Z", "0000-01-01T00:00:00Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567890123456789Z",
            "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+01:60", "2026-01-01T00:00:00+01", "2026-01-01T00:00:00UTC",
            "2026-01-01T00:00:00", "2026-01-01T00:00Z", "2026-01-01T00:00:00,5Z", "2026-01-01T00:00:00+00:00:00",
            "2026-01-01T00:00:0aZ", "+026-01-01T00:00:00Z", "", "2026-01-01", "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z",
            "2026-01-01T00:00:00 Z", "2026-01-01T00:00:00ZZ", "2026-01-01T00:00:00+1:00",
        ] {
            assert_eq!(rfc3339_micros(text.as_bytes()), None, "{text}");
        }
    }
}
