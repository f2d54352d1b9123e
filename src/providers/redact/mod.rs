//! Text from a provider's answer, made safe before it reaches an answer, a log line or the
//! idempotency record (docs/guarantees.md, "Privacy"): the key and the request's own values are cut
//! out wherever the provider echoed them, in whatever case, spacing or compatibility form
//! (full-width, ligatures), any phone number is masked whatever its digits and separators,
//! control characters go, and the length is bounded.
//!
//! Secrets are searched only in as much of the text as the bound can show (the bound, plus
//! the longest secret), each with `str::find` (linear in what it scans), so the cost follows
//! the bound and the secrets, never the length of the answer: an answer of 1 MiB against a
//! hundred values of 1 KiB takes well under a millisecond (`bench/redact.rs`).

mod normalize;
#[cfg(test)]
mod tests;

use normalize::{fold, fold_text, is_invisible, is_separator, push_digits, starts_sequence};
use std::sync::OnceLock;

/// What a secret becomes.
const CUT: &str = "***";
/// A run of this many digits (separators aside) is masked as a phone number would be.
const PHONE_DIGITS: usize = 6;
/// Shorter values are not searched for: they would cut ordinary words out of a message.
const MIN_SECRET_CHARS: usize = 2;
/// How many times a cleaned text is searched again before it is given up as `***`.
const MAX_ROUNDS: usize = 8;

/// What a provider's answer must never repeat: the key and the request's personal values.
#[derive(Default)]
pub struct Redact<'a> {
    key: Option<&'a str>,
    values: Vec<&'a str>,
    // Built on first use: most answers are successes, whose identifiers only need the key.
    every: OnceLock<Built>,
    key_only: OnceLock<Built>,
}

/// The secrets, folded; `None` when there is nothing to search for.
type Built = Option<Needles>;

/// The secrets in their folded form, found leftmost-longest, so that a value holding
/// another is cut out whole.
struct Needles {
    folded: Vec<String>,
    /// The longest secret, in folded characters: how far past the bound a cut can reach.
    longest: usize,
}

impl<'a> Redact<'a> {
    /// Masks phone numbers and control characters only.
    pub fn none() -> Self {
        Redact::default()
    }

    /// `key` is the credential sent; `values` the request's variable values and other
    /// personal fields.
    pub fn new(key: &'a str, values: impl IntoIterator<Item = &'a str>) -> Self {
        Redact {
            key: Some(key),
            values: values.into_iter().collect(),
            ..Redact::default()
        }
    }

    /// A provider's message: `raw` with the key and every value replaced by `***`, every
    /// phone-like run of digits masked to its last four digits, control characters as
    /// spaces, and at most `max_chars` long. A secret that starts within the bound is cut
    /// whole, so no prefix of one can survive.
    pub fn text(&self, raw: &str, max_chars: usize) -> String {
        let built = self.every.get_or_init(|| {
            let values = self
                .values
                .iter()
                .filter_map(|v| needle(v, MIN_SECRET_CHARS));
            Needles::build(self.key_needle().into_iter().chain(values))
        });
        clean(raw, max_chars, built.as_ref(), true)
    }

    /// A provider's identifier or timestamp: kept as it is (digits included, or a tracking
    /// id would break), bar the key, control characters and the bound.
    pub fn id(&self, raw: &str, max_chars: usize) -> String {
        let built = self
            .key_only
            .get_or_init(|| Needles::build(self.key_needle().into_iter()));
        clean(raw, max_chars, built.as_ref(), false)
    }

    fn key_needle(&self) -> Option<String> {
        self.key.and_then(|key| needle(key, 1))
    }
}

/// A secret as it is searched: trimmed and folded; `None` if it is too short, or made of
/// stars only (the mask itself could not hide it).
fn needle(secret: &str, min_chars: usize) -> Option<String> {
    let trimmed = secret.trim();
    if trimmed.chars().count() < min_chars {
        return None;
    }
    let folded = fold_text(trimmed);
    let folded = folded.trim();
    let searchable = folded.chars().count() >= min_chars && folded.chars().any(|c| c != '*');
    searchable.then(|| folded.to_string())
}

impl Needles {
    fn build(needles: impl Iterator<Item = String>) -> Built {
        let mut folded: Vec<String> = needles.collect();
        // The longest first: of two found at the same place, the longer is cut.
        folded.sort_by_key(|n| std::cmp::Reverse(n.len()));
        folded.dedup();
        let longest = folded.iter().map(|n| n.chars().count()).max()?;
        Some(Needles { folded, longest })
    }

    fn finds(&self, text: &str) -> bool {
        let text = fold_text(text);
        self.folded.iter().any(|n| text.contains(n.as_str()))
    }

    /// Where the secrets are in `hay`, leftmost first, the longest of those starting at the
    /// same byte, none overlapping the one before (byte ranges of `hay`). Each secret's next
    /// place is remembered and looked for again only once a cut has passed it.
    fn find_all(&self, hay: &str) -> Vec<(usize, usize)> {
        let next_from = |n: &str, from: usize| hay[from..].find(n).map(|i| from + i);
        let mut next: Vec<Option<usize>> = self.folded.iter().map(|n| next_from(n, 0)).collect();
        let mut found = Vec::new();
        let mut from = 0;
        loop {
            let mut best: Option<(usize, usize)> = None;
            for (n, at) in self.folded.iter().zip(next.iter_mut()) {
                if at.is_some_and(|start| start < from) {
                    *at = next_from(n, from);
                }
                // Sorted longest first: a later one at the same place is not longer.
                if let Some(start) = *at {
                    if best.is_none_or(|(b, _)| start < b) {
                        best = Some((start, start + n.len()));
                    }
                }
            }
            let Some((start, end)) = best else {
                return found;
            };
            found.push((start, end));
            from = end;
        }
    }
}

/// `raw` cut, masked (`phones`) and bounded, then searched again: a cut joins what was on
/// either side of a secret, masking writes stars and the bound may split a combining
/// sequence, any of which can make a new echo (`x***` holds `x*`). Each round removes a
/// character that is not a star, so it ends; past `MAX_ROUNDS`, the text is given up.
fn clean(raw: &str, max_chars: usize, needles: Option<&Needles>, phones: bool) -> String {
    let mut text = pass(raw, max_chars, needles, phones);
    let Some(needles) = needles else {
        return text;
    };
    for _ in 0..MAX_ROUNDS {
        if !needles.finds(&text) {
            return text;
        }
        text = pass(&text, max_chars, Some(needles), phones);
    }
    if needles.finds(&text) {
        CUT.to_string()
    } else {
        text
    }
}

/// One round: every secret that starts within the first `max_chars` characters replaced
/// by `***`, what follows them dropped, then phone numbers masked and the bound applied.
fn pass(raw: &str, max_chars: usize, needles: Option<&Needles>, phones: bool) -> String {
    let shown = raw
        .char_indices()
        .nth(max_chars)
        .map_or(raw.len(), |(i, _)| i);
    let mut cut = String::with_capacity(shown + CUT.len());
    let mut at = 0;
    if let Some(needles) = needles {
        let window = reach(raw, shown, needles.longest);
        let folded = fold(&raw[..window]);
        for (start, end) in needles.find_all(&folded.text) {
            let Some((start, end)) = folded.span(raw, start, end) else {
                continue;
            };
            if start >= shown {
                break;
            }
            // Otherwise this one shares a composed character with the previous cut.
            if start >= at {
                cut.push_str(&raw[at..start]);
                cut.push_str(CUT);
            }
            at = at.max(end);
        }
    }
    if at < shown {
        cut.push_str(&raw[at..shown]);
        at = shown;
    }
    let mut text = if phones {
        // A number that runs on past the bound is masked whole: masked in part, it would
        // show digits that are not its last four.
        if cut.chars().next_back().is_some_and(is_phone_char) {
            let rest = &raw[at..];
            let run = rest.find(|c| !is_phone_char(c)).unwrap_or(rest.len());
            cut.push_str(&rest[..run]);
        }
        mask_digit_runs(&cut)
    } else {
        cut.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    if let Some((end, _)) = text.char_indices().nth(max_chars) {
        text.truncate(end);
    }
    text
}

/// How far a secret starting before byte `shown` of `raw` can reach: `longest` characters
/// past it (invisible ones aside: the folding skips them), then on to where a combining
/// sequence starts, so that what is searched folds as it would within the whole text.
fn reach(raw: &str, shown: usize, longest: usize) -> usize {
    let mut left = longest;
    for (i, c) in raw[shown..].char_indices() {
        if left == 0 && starts_sequence(c) {
            return shown + i;
        }
        if !is_invisible(c) {
            left = left.saturating_sub(1);
        }
    }
    raw.len()
}

fn is_phone_char(c: char) -> bool {
    push_digits(c, &mut String::new()) || is_separator(c)
}

/// `+1 415 555 0100` becomes `+*******0100`: a run of digits, with separators between
/// them, holding six or more digits keeps only its last four (as ASCII digits). Control
/// characters become spaces.
fn mask_digit_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        // Most of a provider's text is ASCII without digits: copied as a run.
        let plain = text[i..]
            .bytes()
            .take_while(|b| b.is_ascii() && !b.is_ascii_digit())
            .count();
        if plain > 0 {
            let run = &text.as_bytes()[i..i + plain];
            out.extend(run.iter().map(|&b| match b {
                b if b.is_ascii_control() => ' ',
                b => char::from(b),
            }));
            i += plain;
            continue;
        }
        let mut digits = String::new();
        if !push_digits(c, &mut digits) {
            out.push(if c.is_control() { ' ' } else { c });
            i += c.len_utf8();
            continue;
        }
        let mut end = i + c.len_utf8();
        let mut j = end;
        for next in text[end..].chars() {
            if push_digits(next, &mut digits) {
                j += next.len_utf8();
                end = j;
            } else if is_separator(next) {
                j += next.len_utf8();
            } else {
                break;
            }
        }
        // `digits` is ASCII: one byte a digit.
        if digits.len() >= PHONE_DIGITS {
            let keep = digits.len() - 4;
            out.extend(std::iter::repeat_n('*', keep));
            out.push_str(&digits[keep..]);
        } else {
            out.push_str(&text[i..end]);
        }
        i = end;
    }
    out
}
