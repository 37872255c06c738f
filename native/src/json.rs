//! A strict JSON reader over one line, for the record decoder: every value is checked as the
//! models' JSON parser checks it, and whatever this reader is not sure of ends the line's
//! decoding with `None` (the line then goes to the models). It never reads past the line, never
//! recurses deeper than MAX_DEPTH, and never allocates except to unescape a string.

use std::borrow::Cow;

/// Nesting this reader follows inside ignored values; deeper lines go to the models.
pub const MAX_DEPTH: u32 = 64;
/// The longest number taken as sure: Python refuses integers of more than 4,300 digits.
const MAX_NUMBER_CHARS: usize = 4000;

pub struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    position: usize,
    depth: u32,
}

/// A number as written, checked against JSON's grammar.
pub struct Number<'a> {
    text: &'a str,
    integer: bool,
}

impl Number<'_> {
    /// The value as the models read a JSON number into a float: an integer converted (rounded to
    /// nearest, ties to even, as Python's `float(int)`), anything else parsed, correctly rounded;
    /// None when it is not finite.
    pub fn float(&self) -> Option<f64> {
        let value = if self.integer && self.text.len() <= 18 {
            self.text.parse::<i64>().ok()? as f64
        } else {
            self.text.parse::<f64>().ok()?
        };
        if self.integer && value == 0.0 {
            return Some(0.0); // "-0" is the integer 0, whose float is +0.0
        }
        value.is_finite().then_some(value)
    }

    /// The value of a non-negative integer (written without a fraction or exponent) that fits in
    /// 64 bits; `-0` is 0.
    pub fn count(&self) -> Option<u64> {
        if !self.integer {
            return None;
        }
        if self.text == "-0" {
            return Some(0);
        }
        self.text.parse::<u64>().ok()
    }
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a str) -> Self {
        Self { text, bytes: text.as_bytes(), position: 0, depth: 0 }
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.bytes.get(self.position) {
            self.position += 1;
        }
    }

    /// Consume `byte` if it is next (after any whitespace). Compact JSON has none: look first.
    fn eat(&mut self, byte: u8) -> bool {
        match self.bytes.get(self.position) {
            Some(&next) if next == byte => {
                self.position += 1;
                true
            }
            Some(b' ' | b'\t' | b'\r' | b'\n') => {
                self.skip_whitespace();
                self.eat(byte)
            }
            _ => false,
        }
    }

    /// The next byte that is not whitespace, not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.position).copied()
    }

    /// Whether the next value is an empty object or list (`{}`, `[ ]`), without consuming it.
    pub fn empty_container_next(&mut self) -> bool {
        let Some(open) = self.peek() else { return false };
        let close = match open {
            b'{' => b'}',
            b'[' => b']',
            _ => return false,
        };
        let after = self.bytes[self.position + 1..].iter().find(|byte| !matches!(byte, b' ' | b'\t' | b'\r' | b'\n'));
        after == Some(&close)
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.peek().is_some() && self.bytes[self.position..].starts_with(word) {
            self.position += word.len();
            true
        } else {
            false
        }
    }

    /// Consume `null` if it is next.
    pub fn null(&mut self) -> bool {
        self.literal(b"null")
    }

    pub fn boolean(&mut self) -> Option<bool> {
        if self.literal(b"true") {
            Some(true)
        } else if self.literal(b"false") {
            Some(false)
        } else {
            None
        }
    }

    /// A string's value. Escapes are decoded; an escaped surrogate (paired or lone) and a raw
    /// control character are left to the models.
    pub fn string(&mut self) -> Option<Cow<'a, str>> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.position;
        let end = special_byte(self.bytes, start)?;
        if self.bytes[end] == b'"' {
            self.position = end + 1;
            return Some(Cow::Borrowed(&self.text[start..end]));
        }
        let mut value = String::with_capacity(end - start + 16);
        let mut run_start = start;
        loop {
            let run_end = special_byte(self.bytes, run_start)?;
            if self.bytes[run_end] < 0x20 {
                return None;
            }
            value.push_str(&self.text[run_start..run_end]);
            if self.bytes[run_end] == b'"' {
                self.position = run_end + 1;
                return Some(Cow::Owned(value));
            }
            let escaped = *self.bytes.get(run_end + 1)?;
            run_start = run_end + 2;
            value.push(match escaped {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let hex = self.text.get(run_start..run_start + 4)?;
                    run_start += 4;
                    if !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                        return None;
                    }
                    char::from_u32(u32::from_str_radix(hex, 16).ok()?)? // None for a surrogate
                }
                _ => return None,
            });
        }
    }

    /// A number, checked against JSON's grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    pub fn number(&mut self) -> Option<Number<'a>> {
        self.skip_whitespace();
        let start = self.position;
        let bytes = self.bytes;
        let mut at = start;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        let digits = |mut at: usize| {
            let from = at;
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            (at > from).then_some(at)
        };
        at = match bytes.get(at)? {
            b'0' => at + 1,
            b'1'..=b'9' => digits(at)?,
            _ => return None,
        };
        let mut integer = true;
        if bytes.get(at) == Some(&b'.') {
            integer = false;
            at = digits(at + 1)?;
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            integer = false;
            at += 1;
            if let Some(b'+' | b'-') = bytes.get(at) {
                at += 1;
            }
            at = digits(at)?;
        }
        self.position = at;
        Some(Number { text: &self.text[start..at], integer })
    }

    /// Any scalar: a string, a number (a finite one, if not an integer), true, false or null.
    pub fn scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b't' | b'f' => self.boolean().map(drop),
            b'n' => self.null().then_some(()),
            _ => {
                let number = self.number()?;
                if !number.integer {
                    number.float()?;
                }
                Some(())
            }
        }
    }

    /// A list whose items are all scalars.
    pub fn list_of_scalars(&mut self) -> Option<()> {
        self.list(Self::scalar)
    }

    pub fn list(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if !self.eat(b'[') {
            return None;
        }
        if self.eat(b']') {
            return Some(());
        }
        loop {
            item(self)?;
            if self.eat(b']') {
                return Some(());
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    /// Any JSON value, checked and passed over.
    pub fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' | b'[' if self.depth >= MAX_DEPTH => None,
            b'{' => {
                self.depth += 1;
                self.object(|cursor, _| cursor.skip_value())?;
                self.depth -= 1;
                Some(())
            }
            b'[' => {
                self.depth += 1;
                self.list(Self::skip_value)?;
                self.depth -= 1;
                Some(())
            }
            _ => self.scalar(),
        }
    }

    /// Any JSON value Python's `json` module reads, checked and passed over: unlike
    /// `skip_value`, an escaped surrogate (paired or lone) and a number too large for a float are
    /// fine, as they are to `json.loads`. None for anything it is not sure `json.loads` takes
    /// (`NaN`, `Infinity`, a number of thousands of digits, nesting deeper than MAX_DEPTH).
    pub fn pass_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' | b'[' if self.depth >= MAX_DEPTH => None,
            b'{' => {
                self.depth += 1;
                self.object(|cursor, _| cursor.pass_value())?;
                self.depth -= 1;
                Some(())
            }
            b'[' => {
                self.depth += 1;
                self.list(Self::pass_value)?;
                self.depth -= 1;
                Some(())
            }
            b'"' => self.pass_string(),
            b't' | b'f' => self.boolean().map(drop),
            b'n' => self.null().then_some(()),
            _ => self.number().filter(|number| number.text.len() <= MAX_NUMBER_CHARS).map(drop),
        }
    }

    /// A string checked and passed over without building its value: any `\uXXXX` escape is
    /// taken, as `json.loads` takes it.
    pub fn pass_string(&mut self) -> Option<()> {
        if !self.eat(b'"') {
            return None;
        }
        let mut at = self.position;
        loop {
            let stop = special_byte(self.bytes, at)?;
            match self.bytes[stop] {
                b'"' => {
                    self.position = stop + 1;
                    return Some(());
                }
                b'\\' => {
                    at = match *self.bytes.get(stop + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => stop + 2,
                        b'u' if self.bytes.get(stop + 2..stop + 6)?.iter().all(u8::is_ascii_hexdigit) => stop + 6,
                        _ => return None,
                    };
                }
                _ => return None, // a raw control character
            }
        }
    }

    /// A number's text and whether it is an integer literal, checked against JSON's grammar.
    pub fn number_text(&mut self) -> Option<(&'a str, bool)> {
        let number = self.number()?;
        (number.text.len() <= MAX_NUMBER_CHARS).then_some((number.text, number.integer))
    }

    /// An object: `field(cursor, key)` reads each member's value. Keys are given unescaped (an
    /// escaped surrogate in one leaves the line to the models, as in any string).
    pub fn object(&mut self, mut field: impl FnMut(&mut Self, &[u8]) -> Option<()>) -> Option<()> {
        if !self.eat(b'{') {
            return None;
        }
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let key = self.string()?;
            if !self.eat(b':') {
                return None;
            }
            self.skip_whitespace();
            field(self, key.as_bytes())?;
            if self.eat(b'}') {
                return Some(());
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of the word that is less than `limit` (at most 128), and possibly of
/// bytes after such a byte (a borrow runs on), never before the first.
fn flag_bytes_below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGH_BITS
}

/// Where, from `at` on, the first byte a string's scan must stop at is: a quote, a backslash or a
/// control character (which is not allowed raw in a JSON string). Eight bytes at a time: the
/// lowest flagged byte of a word is always a true one (a false flag only follows a true one).
fn special_byte(bytes: &[u8], mut at: usize) -> Option<usize> {
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let word = u64::from_le_bytes(*chunk);
        let flags = flag_bytes_below(word ^ (ONES * u64::from(b'"')), 1) | flag_bytes_below(word ^ (ONES * u64::from(b'\\')), 1) | flag_bytes_below(word, 0x20);
        if flags != 0 {
            return Some(at + (flags.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes.get(at..)?.iter().position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20).map(|offset| at + offset)
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    fn string(json: &str) -> Option<String> {
        let mut cursor = Cursor::new(json);
        let value = cursor.string()?;
        cursor.at_end().then(|| value.into_owned())
    }

    fn skips(json: &str) -> bool {
        let mut cursor = Cursor::new(json);
        cursor.skip_value().is_some() && cursor.at_end()
    }

    #[test]
    fn strings_unescape_or_go_to_the_models() {
        assert_eq!(string(r#""plain""#).as_deref(), Some("plain"));
        assert_eq!(string(r#""a\"b\\c\/d\n\t\u00e9\u0000""#).as_deref(), Some("a\"b\\c/d\n\té\0"));
        assert_eq!(string(r#""\ud83d\ude00""#), None, "surrogates, paired or not, go to the models");
        assert_eq!(string(r#""\udc00""#), None);
        assert_eq!(string("\"tab\there\""), None, "a raw control character is not JSON");
        assert_eq!(string(r#""\x""#), None);
        assert_eq!(string(r#""\u12""#), None);
        assert_eq!(string(r#""open"#), None);
        assert_eq!(string("\"a long string with a \u{1} control character in its second word\""), None);
        assert_eq!(string(r#""0123456789abcdef0123456789abcdef""#).as_deref(), Some("0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn numbers_follow_the_grammar_and_the_models_values() {
        let float = |json: &str| Cursor::new(json).number().and_then(|number| number.float());
        let count = |json: &str| Cursor::new(json).number().and_then(|number| number.count());
        assert_eq!(float("1.5"), Some(1.5));
        assert_eq!(float("1e-05"), Some(1e-5));
        assert_eq!(float("-0").map(f64::to_bits), Some(0.0f64.to_bits()), "the integer -0 is +0.0");
        assert_eq!(float("-0.0").map(f64::to_bits), Some((-0.0f64).to_bits()));
        assert_eq!(float("9007199254740993"), Some(9007199254740992.0), "ties to even, as float(int)");
        assert_eq!(float("1e400"), None);
        assert_eq!(count("12"), Some(12));
        assert_eq!(count("-0"), Some(0));
        assert_eq!(count("1.0"), None);
        assert_eq!(count("1e2"), None);
        assert_eq!(count("-1"), None);
        for bad in ["01", "1.", ".5", "+1", "-", "1e", "0x1"] {
            let mut cursor = Cursor::new(bad);
            assert!(cursor.number().is_none() || !cursor.at_end(), "{bad}");
        }
    }

    #[test]
    fn ignored_values_are_checked_and_bounded() {
        assert!(skips(r#"{"a": [1, {"b": null}, "c", true, -2.5e3]}"#));
        assert!(!skips(r#"{"a": [1,]}"#));
        assert!(!skips(r#"{"a" 1}"#));
        assert!(!skips(r#"[1e999]"#), "an infinite float goes to the models");
        assert!(!skips(&("[".repeat(100) + &"]".repeat(100))), "too deep for this reader: the models decide");
        assert!(skips(&("[".repeat(60) + &"]".repeat(60))));
        assert!(!skips("NaN"));
    }
}
