//! Span ids as 64-bit integers, exactly as `llmobs.read.columns.id64` makes them: a W3C id (16 hex
//! digits) is its own value, any other id a stable BLAKE2b hash of its UTF-8 bytes.

/// The id's 64-bit value, or None for a 16-character id that is not 16 hex digits: Python's
/// `int(id, 16)` reads some of those (a `0x` prefix, underscores, spaces, a sign), so the models'
/// path decides them.
pub fn id64(identifier: &str) -> Option<i64> {
    let bytes = identifier.as_bytes();
    if let Some(value) = bytes.first_chunk::<16>().filter(|_| bytes.len() == 16).and_then(hex_value) {
        return Some(value as i64);
    }
    if bytes.len() >= 16 && identifier.chars().count() == 16 {
        return None;
    }
    let digest = blake2b_simd::Params::new().hash_length(8).hash(bytes);
    let mut raw = [0u8; 8];
    raw.copy_from_slice(digest.as_bytes());
    Some(i64::from_le_bytes(raw))
}

/// Each byte's value as a hex digit, or 0xFF: a table, since branching on random digits stalls.
const HEX_VALUES: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = match byte as u8 {
            digit @ b'0'..=b'9' => digit - b'0',
            letter @ b'a'..=b'f' => letter - b'a' + 10,
            letter @ b'A'..=b'F' => letter - b'A' + 10,
            _ => 0xFF,
        };
        byte += 1;
    }
    table
};

/// The value of 16 hex digits, or None if any byte is not one.
fn hex_value(bytes: &[u8; 16]) -> Option<u64> {
    let mut value = 0u64;
    let mut invalid = 0u8;
    for &byte in bytes {
        let digit = HEX_VALUES[usize::from(byte)];
        invalid |= digit;
        value = value << 4 | u64::from(digit & 0x0F);
    }
    (invalid & 0xF0 == 0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::id64;

    #[test]
    fn hex_ids_are_their_value_and_others_a_hash() {
        assert_eq!(id64("0000000000000001"), Some(1));
        assert_eq!(id64("ffffffffffffffff"), Some(-1));
        assert_eq!(id64("8000000000000000"), Some(i64::MIN));
        // the values Python's id64 gives (hashlib.blake2b(digest_size=8), little-endian, signed)
        assert_eq!(id64("s1"), Some(6_064_584_127_301_525_897));
        assert_eq!(id64(""), Some(-5_426_141_060_434_712_860));
        assert_eq!(id64("é"), Some(3_394_012_004_367_669_963));
        assert_eq!(id64("0x00000000000001"), None);
        assert_eq!(id64("ééééééééééééééé\u{e9}"), None);
    }
}
