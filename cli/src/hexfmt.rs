//! Hex text in and out.

/// Parses hex digits, ignoring ASCII whitespace. Says where a bad digit is.
pub fn parse(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    for (i, c) in text.char_indices() {
        if c.is_ascii_whitespace() {
            continue;
        }
        let Some(v) = c.to_digit(16) else {
            return Err(format!("not hex: {c:?} at character {i} of the input"));
        };
        match high.take() {
            None => high = Some(v as u8),
            Some(h) => out.push(h << 4 | v as u8),
        }
    }
    if high.is_some() {
        return Err("not hex: odd number of hex digits".to_string());
    }
    if out.is_empty() {
        return Err("no hex given".to_string());
    }
    Ok(out)
}

/// Lowercase hex without separators.
pub fn format(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
