//! Payment card numbers are forbidden data: any value holding a Luhn-valid run of 13 to 19
//! digits (spaces and dashes between digits allowed, as cards are written) is refused.

use serde_json::Value;

pub fn luhn_valid(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(*d);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// Whether the text holds a Luhn-valid 13-19 digit number, contiguous or grouped with single
/// spaces or dashes.
pub fn holds_card_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // Collect one digit run, allowing single separators between digits.
        let mut digits = Vec::new();
        let mut j = i;
        while j < bytes.len() {
            if bytes[j].is_ascii_digit() {
                digits.push(bytes[j] - b'0');
                j += 1;
            } else if (bytes[j] == b' ' || bytes[j] == b'-') && j + 1 < bytes.len() && bytes[j + 1].is_ascii_digit() && !digits.is_empty() {
                j += 1;
            } else {
                break;
            }
        }
        if (13..=19).contains(&digits.len()) && luhn_valid(&digits) {
            return true;
        }
        i = j.max(i + 1);
    }
    false
}

/// The JSON paths of every string or number in a document that holds a card number.
pub fn card_number_fields(value: &Value) -> Vec<String> {
    fn walk(v: &Value, path: &str, out: &mut Vec<String>) {
        match v {
            Value::String(s) if holds_card_number(s) => out.push(path.to_string()),
            Value::Number(n) if holds_card_number(&n.to_string()) => out.push(path.to_string()),
            Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| walk(x, &format!("{path}[{i}]"), out)),
            Value::Object(o) => o.iter().for_each(|(k, x)| walk(x, &if path.is_empty() { k.clone() } else { format!("{path}.{k}") }, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_card_numbers_however_written() {
        for card in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "card: 5500005555555559 thanks",
            "378282246310005",
            "6011111111111117",
        ] {
            assert!(holds_card_number(card), "{card}");
        }
        for not in ["4111111111111112", "123456789012", "+49 30 1234567", "P12345678", "2026-01-01", "41111111111111111111111"] {
            assert!(!holds_card_number(not), "{not}");
        }
    }

    #[test]
    fn reports_the_fields_that_hold_one() {
        let doc = json!({"a": "ok", "b": {"c": ["x", "4111 1111 1111 1111"]}, "n": 4111111111111111u64});
        assert_eq!(card_number_fields(&doc), vec!["b.c[1]".to_string(), "n".to_string()]);
    }
}
