//! Text from a provider's answer, made safe before it reaches an answer, a log line or the
//! idempotency record (contract section 10): the key and the request's own values are cut
//! out wherever the provider echoed them, any phone number is masked whatever its spacing,
//! control characters go, and the length is bounded.

/// Characters a provider may put between the digits of a phone number it echoes.
const SEPARATORS: &[char] = &[' ', '-', '.', '(', ')', '/', '\u{a0}'];
/// A run of this many digits (separators aside) is masked as a phone number would be.
const PHONE_DIGITS: usize = 6;
/// Shorter values are not searched for: they would cut ordinary words out of a message.
const MIN_SECRET_CHARS: usize = 2;

/// What a provider's answer must never repeat: the key and the request's personal values.
#[derive(Default)]
pub struct Redact<'a> {
    key: Option<&'a str>,
    values: Vec<&'a str>,
}

impl<'a> Redact<'a> {
    /// Masks phone numbers and control characters only.
    pub fn none() -> Self {
        Redact::default()
    }

    /// `key` is the credential sent; `values` the request's variable values and other
    /// personal fields.
    pub fn new(key: &'a str, values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut values: Vec<&str> = values
            .into_iter()
            .filter(|s| s.chars().count() >= MIN_SECRET_CHARS)
            .collect();
        // The longest first, so that a value holding another is cut out whole.
        values.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redact {
            key: Some(key).filter(|k| !k.is_empty()),
            values,
        }
    }

    /// A provider's message: `raw` with the key and every value replaced by `***`, every
    /// phone-like run of digits masked to its last four digits, control characters as
    /// spaces, and at most `max_chars` long. Secrets are cut before the text is bounded,
    /// so no prefix of one can survive.
    pub fn text(&self, raw: &str, max_chars: usize) -> String {
        let mut text = raw.to_string();
        for secret in self.key.iter().chain(&self.values) {
            text = replace_ignoring_ascii_case(&text, secret, "***");
        }
        mask_digit_runs(&text).chars().take(max_chars).collect()
    }

    /// A provider's identifier or timestamp: kept as it is (digits included, or a tracking
    /// id would break), bar the key, control characters and the bound.
    pub fn id(&self, raw: &str, max_chars: usize) -> String {
        let text = match self.key {
            Some(key) => replace_ignoring_ascii_case(raw, key, "***"),
            None => raw.to_string(),
        };
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(max_chars)
            .collect()
    }
}

fn replace_ignoring_ascii_case(text: &str, needle: &str, with: &str) -> String {
    let (hay, pat) = (text.as_bytes(), needle.as_bytes());
    if pat.is_empty() || pat.len() > hay.len() {
        return text.to_string();
    }
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].len() >= pat.len() && hay[i..i + pat.len()].eq_ignore_ascii_case(pat) {
            out.extend_from_slice(with.as_bytes());
            i += pat.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    // A match starts on the needle's first byte, never a UTF-8 continuation byte, and
    // ends after its last whole character: the result is still UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// `+1 415 555 0100` becomes `+*******0100`: a run of digits, with separators between
/// them, holding six or more digits keeps only its last four.
fn mask_digit_runs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(if chars[i].is_control() { ' ' } else { chars[i] });
            i += 1;
            continue;
        }
        let (mut j, mut end) = (i, i);
        let mut digits = String::new();
        while j < chars.len() && (chars[j].is_ascii_digit() || SEPARATORS.contains(&chars[j])) {
            if chars[j].is_ascii_digit() {
                digits.push(chars[j]);
                end = j + 1;
            }
            j += 1;
        }
        if digits.len() >= PHONE_DIGITS {
            let keep = digits.len() - 4;
            out.push_str(&"*".repeat(keep));
            out.push_str(&digits[keep..]);
        } else {
            out.extend(&chars[i..end]);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_masked_in_any_spacing() {
        let none = Redact::none();
        for (raw, want) in [
            (
                "Invalid phone number +14155551234",
                "Invalid phone number +*******1234",
            ),
            ("to +1 415 555 0100 failed", "to +*******0100 failed"),
            ("(415) 555-0100", "(******0100"),
            ("0812-3456-0100.", "********0100."),
            ("order 12345 of 3", "order 12345 of 3"),
        ] {
            assert_eq!(none.text(raw, 300), want, "{raw}");
        }
    }

    #[test]
    fn secrets_are_cut_out_before_the_text_is_bounded() {
        let redact = Redact::new("sk-Secret-Key", ["Ana Lima", "x"]);
        assert_eq!(
            redact.text("bad key SK-SECRET-KEY for ana lima (x)", 300),
            "bad key *** for *** (x)"
        );
        let long = format!("{}sk-Secret-Key", "a".repeat(295));
        assert_eq!(redact.text(&long, 300), format!("{}***", "a".repeat(295)));
        assert_eq!(redact.text("é sk-secret-key ü\n", 300), "é *** ü ");
    }

    #[test]
    fn identifiers_keep_their_digits_but_never_the_key() {
        let redact = Redact::new("sk-Secret-Key", ["Ana Lima", "12"]);
        assert_eq!(
            redact.id("SM12345678\nsk-secret-key", 256),
            "SM12345678 ***"
        );
        assert_eq!(redact.id(&"x".repeat(300), 256).len(), 256);
    }
}
