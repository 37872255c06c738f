//! The converted records written as FORMAT v1 JSONL, the lines the record decoder reads: the
//! same fields and values the Python converter puts in its dicts.

use super::convert::Unsure;
use super::entry::Usage;

/// `hex_id(*parts, size=size)` of `llmobs.agents`: BLAKE2b of the parts joined by U+001F, in hex.
pub fn hex_id(parts: &[&str], size: usize) -> String {
    let joined = parts.join("\u{1f}");
    blake2b_simd::Params::new().hash_length(size).hash(joined.as_bytes()).to_hex().to_string()
}

/// An attribute's value: a string, or `true`.
#[derive(Clone, Copy)]
pub enum Attr<'a> {
    Text(&'a str),
    True,
}

impl<'a> From<&'a str> for Attr<'a> {
    fn from(text: &'a str) -> Self {
        Attr::Text(text)
    }
}

impl From<bool> for Attr<'_> {
    fn from(_: bool) -> Self {
        Attr::True
    }
}

fn days_to_civil(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// Microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ`; a UTC year outside 1–9999
/// (an offset carried it past the calendar's end) is Python's to write.
fn rfc3339(micros: i64) -> Result<String, Unsure> {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let (year, month, day) = days_to_civil(seconds.div_euclid(86_400));
    if !(1..=9999).contains(&year) {
        return Err(Unsure("a time outside the years 1 to 9999 in UTC"));
    }
    let of_day = seconds.rem_euclid(86_400);
    Ok(format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{fraction:06}Z", of_day / 3600, of_day / 60 % 60, of_day % 60))
}

/// `max((end - start).total_seconds() * 1000, 0.0)`.
fn duration_ms(start: i64, end: i64) -> f64 {
    (((end - start) as f64) / 1e6 * 1000.0).max(0.0)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[derive(Default)]
pub struct RecordWriter {
    out: Vec<u8>,
}

impl RecordWriter {
    fn string(&mut self, text: &str) {
        self.out.push(b'"');
        let bytes = text.as_bytes();
        let mut run = 0;
        for (at, &byte) in bytes.iter().enumerate() {
            let escaped: &[u8] = match byte {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                0..=0x1f => &[b'\\', b'u', b'0', b'0', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]],
                _ => continue,
            };
            self.out.extend_from_slice(&bytes[run..at]);
            self.out.extend_from_slice(escaped);
            run = at + 1;
        }
        self.out.extend_from_slice(&bytes[run..]);
        self.out.push(b'"');
    }

    fn key(&mut self, key: &str) {
        self.string(key);
        self.out.push(b':');
    }

    fn text_field(&mut self, key: &str, value: &str) {
        self.key(key);
        self.string(value);
        self.out.push(b',');
    }

    fn raw_field(&mut self, key: &str, value: &str) {
        self.key(key);
        self.out.extend_from_slice(value.as_bytes());
        self.out.push(b',');
    }

    fn end_record(&mut self) {
        if self.out.last() == Some(&b',') {
            self.out.pop();
        }
        self.out.extend_from_slice(b"}\n");
    }

    #[allow(clippy::too_many_arguments)]
    pub fn span(&mut self, trace_id: &str, span_id: &str, parent: Option<&str>, name: &str, kind: &str, start: i64, end: i64, failed: bool,
                attrs: &[(&str, Attr<'_>)]) -> Result<(), Unsure> {
        let start_text = rfc3339(start)?;
        self.out.extend_from_slice(b"{\"v\":1,");
        self.text_field("type", "span");
        self.text_field("trace_id", trace_id);
        self.text_field("span_id", span_id);
        match parent {
            Some(parent) => self.text_field("parent_id", parent),
            None => self.raw_field("parent_id", "null"),
        }
        self.text_field("name", name);
        self.text_field("kind", kind);
        self.text_field("start", &start_text);
        self.raw_field("duration_ms", &format!("{:?}", duration_ms(start, end)));
        self.text_field("status", if failed { "error" } else { "ok" });
        self.key("attrs");
        self.out.push(b'{');
        for (index, (key, value)) in attrs.iter().enumerate() {
            if index > 0 {
                self.out.push(b',');
            }
            self.key(key);
            match value {
                Attr::Text(text) => self.string(text),
                Attr::True => self.out.extend_from_slice(b"true"),
            }
        }
        self.out.extend_from_slice(b"},");
        if failed {
            self.raw_field("error", "{\"type\":\"ToolError\",\"message\":null}");
        }
        self.end_record();
        Ok(())
    }

    pub fn usage(&mut self, trace_id: &str, span_id: &str, time: i64, model: &str, usage: &Usage, cost: Option<f64>) -> Result<(), Unsure> {
        let time_text = rfc3339(time)?;
        self.out.extend_from_slice(b"{\"v\":1,");
        self.text_field("type", "usage");
        self.text_field("trace_id", trace_id);
        self.text_field("span_id", span_id);
        self.text_field("time", &time_text);
        self.text_field("provider", "anthropic");
        self.text_field("model", model);
        if usage.reported {
            self.raw_field("input_tokens", &(usage.input + usage.cache_read + usage.cache_write).to_string());
            self.raw_field("output_tokens", &usage.output.to_string());
        } else {
            self.raw_field("input_tokens", "null");
            self.raw_field("output_tokens", "null");
        }
        self.raw_field("cache_read_tokens", &usage.cache_read.to_string());
        self.raw_field("cache_write_tokens", &usage.cache_write.to_string());
        self.raw_field("cache_write_1h_tokens", &usage.cache_write_1h.min(usage.cache_write).to_string());
        if let Some(cost) = cost {
            self.raw_field("cost_usd", &format!("{cost:?}"));
        }
        self.end_record();
        Ok(())
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::{duration_ms, hex_id, rfc3339};

    #[test]
    fn ids_are_the_python_converters() {
        // hashlib.blake2b("claude-code\x1fmessage:msg_A".encode(), digest_size=8).hexdigest(), and of "claude-code\x1fu1" in 16
        assert_eq!(hex_id(&["claude-code", "message:msg_A"], 8), "700a5ed4cb540a15");
        assert_eq!(hex_id(&["claude-code", "u1"], 16), "baeb40f714c1d744d1073e791a398cb3");
    }

    #[test]
    fn times_and_durations() {
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(1_782_892_843_103_004).unwrap(), "2026-07-01T08:00:43.103004Z");
        assert_eq!(rfc3339(-1).unwrap(), "1969-12-31T23:59:59.999999Z");
        assert!(rfc3339(-62_135_596_800_000_001).is_err());
        assert_eq!(duration_ms(0, 1_500), 1.5);
        assert_eq!(duration_ms(10, 0), 0.0);
    }
}
