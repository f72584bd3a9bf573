//! Page cursors as Twenty writes them for records (base64 of `{"id":"..."}`), shared by the
//! records and metadata endpoints.

use serde_json::{json, Value};

/// Cursor text for a record id: base64 of `{"id":"..."}`. Clients must treat it as opaque.
pub fn cursor_for(id: &str) -> String {
    base64(json!({ "id": id }).to_string().as_bytes())
}

/// The id inside a cursor made by [`cursor_for`] (`None` if it does not decode).
pub(crate) fn cursor_id(cursor: &str) -> Option<String> {
    let bytes = unbase64(cursor)?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("id")?.as_str().map(str::to_string)
}

/// Base64 of a text (standard alphabet, padded), as Node's `Buffer.toString('base64')`.
pub(crate) fn base64_text(text: &str) -> String {
    base64(text.as_bytes())
}

/// The text inside base64 (`None` when it is not base64 of UTF-8).
pub(crate) fn unbase64_text(encoded: &str) -> Option<String> {
    String::from_utf8(unbase64(encoded)?).ok()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(input: &[u8]) -> String {
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unbase64(input: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in input.bytes().filter(|c| *c != b'=') {
        let v = B64.iter().position(|x| *x == c)? as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(((bits >> count) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for s in ["", "a", "ab", "abc", "{\"id\":\"x\"}"] {
            let e = base64(s.as_bytes());
            assert_eq!(unbase64(&e).unwrap(), s.as_bytes());
        }
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(cursor_id(&cursor_for("42")).as_deref(), Some("42"));
    }
}
