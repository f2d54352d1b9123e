//! The form in which a provider's text and the secrets are compared, and what a character
//! is to a phone number: both read a character as NFKC reads it, so that full-width `Ａ`,
//! `ﬁ`, `８` or a non-breaking hyphen hide nothing.
//!
//! The compared form is the compatibility decomposition (NFKD) rather than NFKC: two texts
//! have the same NFKC exactly when they have the same NFKD, and a decomposition is made
//! character by character, so each folded byte maps back to the one character it came
//! from, and a match cuts the original text.

use unicode_normalization::char::{canonical_combining_class, decompose_compatible};

/// Text in its compared form: compatibility-decomposed, in canonical order, case-folded,
/// control characters as spaces and invisible format characters left out. `origin` holds,
/// for each byte of `text`, where the character it came from starts in the original (if
/// `tracked`: a text only searched, not cut, does without).
pub(super) struct Folded {
    pub(super) text: String,
    origin: Vec<usize>,
    tracked: bool,
}

impl Folded {
    /// The original text's bytes that gave folded bytes `start..end`, from the first
    /// character's start to the last one's end (canonical ordering may have moved a
    /// combining mark, hence the least and the greatest).
    pub(super) fn span(&self, original: &str, start: usize, end: usize) -> Option<(usize, usize)> {
        let origins = self.origin.get(start..end)?;
        let from = *origins.iter().min()?;
        let last = *origins.iter().max()?;
        let to = last + original.get(last..)?.chars().next()?.len_utf8();
        Some((from, to))
    }

    /// Appends `c` where canonical ordering puts it: after the combining marks before it
    /// whose class is not greater.
    fn push(&mut self, c: char, origin: usize) {
        let class = canonical_combining_class(c);
        let bytes = std::iter::repeat_n(origin, if self.tracked { c.len_utf8() } else { 0 });
        if class == 0 {
            self.text.push(c);
            self.origin.extend(bytes);
            return;
        }
        let mut at = self.text.len();
        for (i, before) in self.text.char_indices().rev() {
            // A starter (class 0) stops it too.
            if canonical_combining_class(before) <= class {
                break;
            }
            at = i;
        }
        self.text.insert(at, c);
        if self.tracked {
            self.origin.splice(at..at, bytes);
        }
    }

    /// Folds the case of a decomposed combining sequence, once it is in canonical order
    /// (a mark's case can move it: U+0345 becomes `ι`).
    fn flush(&mut self, pending: &mut Vec<(char, usize)>) {
        for (c, origin) in pending.drain(..) {
            fold_case(c, |lower| {
                decompose_compatible(lower, |d| self.push(d, origin))
            });
        }
    }
}

/// `text` in its compared form, without where each byte came from.
pub(super) fn fold_text(text: &str) -> String {
    fold_tracking(text, false).text
}

/// `text` in its compared form, and where each byte came from.
pub(super) fn fold(text: &str) -> Folded {
    fold_tracking(text, true)
}

fn fold_tracking(text: &str, tracked: bool) -> Folded {
    let mut out = Folded {
        text: String::with_capacity(text.len()),
        origin: Vec::with_capacity(if tracked { text.len() } else { 0 }),
        tracked,
    };
    // The current combining sequence, decomposed and in canonical order, case not folded.
    let mut pending: Vec<(char, usize)> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let at = text.len() - rest.len();
        // Most of a provider's text is ASCII: a run of it folds byte by byte.
        let ascii = rest.bytes().take_while(u8::is_ascii).count();
        if ascii > 0 {
            out.flush(&mut pending);
            let run = &rest.as_bytes()[..ascii];
            out.text.extend(run.iter().map(|&b| match b {
                b if b.is_ascii_control() => ' ',
                b => char::from(b.to_ascii_lowercase()),
            }));
            if tracked {
                out.origin.extend(at..at + ascii);
            }
            rest = &rest[ascii..];
            continue;
        }
        let Some(c) = rest.chars().next() else {
            break;
        };
        rest = &rest[c.len_utf8()..];
        if c.is_control() {
            out.flush(&mut pending);
            out.push(' ', at);
        } else if !is_invisible(c) {
            decompose_compatible(c, |d| {
                let class = canonical_combining_class(d);
                if class == 0 {
                    out.flush(&mut pending);
                }
                let mut i = pending.len();
                while i > 0 && canonical_combining_class(pending[i - 1].0) > class && class != 0 {
                    i -= 1;
                }
                pending.insert(i, (d, at));
            });
        }
    }
    out.flush(&mut pending);
    out
}

/// Whether a combining sequence starts at `c`, so that folding a text cut before it folds
/// everything before the cut as the whole text would.
pub(super) fn starts_sequence(c: char) -> bool {
    let mut first = None;
    decompose_compatible(c, |d| {
        first.get_or_insert(d);
    });
    first.is_none_or(|d| canonical_combining_class(d) == 0)
}

/// `to_lowercase` of `to_uppercase`, and again where that changed the letter: so that
/// every case of a letter meets, `ß` and `SS`, `ı` and `I`, `ſ` and `S`, `ᾳ` and `ΑΙ`, and
/// `ẞ` (whose lower case is `ß`).
fn fold_case(c: char, mut f: impl FnMut(char)) {
    if c.is_ascii() {
        return f(c.to_ascii_lowercase());
    }
    let mut once = c.to_uppercase().flat_map(char::to_lowercase);
    if let (Some(only), None) = (once.next(), once.next()) {
        if only == c {
            return f(c);
        }
    }
    for upper in c.to_uppercase() {
        for lower in upper.to_lowercase() {
            for upper in lower.to_uppercase() {
                upper.to_lowercase().for_each(&mut f);
            }
        }
    }
}

/// Format characters that do not show, which a client or a provider may slip into an
/// echo (or between the digits of a number) without changing what a reader sees.
pub(super) fn is_invisible(c: char) -> bool {
    const INVISIBLE: &[char] = &['\u{ad}', '\u{61c}', '\u{180e}', '\u{feff}'];
    INVISIBLE.contains(&c)
        || ('\u{200b}'..='\u{200f}').contains(&c)
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2060}'..='\u{2069}').contains(&c)
}

/// Pushes the digits `c` reads as after NFKC (`8`, `８`, `𝟖`, `⑧`; `⑫` is two) and
/// answers whether it is one. A digit of another script (Arabic-Indic, Devanagari, ...),
/// which NFKC leaves as it is, counts too, but is pushed as `*`: its value is not known
/// here, so it is masked even among the last four.
pub(super) fn push_digits(c: char, digits: &mut String) -> bool {
    if c.is_ascii() {
        if c.is_ascii_digit() {
            digits.push(c);
        }
        return c.is_ascii_digit();
    }
    let (mut read, mut count, mut all_digits) = (['0'; 2], 0, true);
    decompose_compatible(c, |d| {
        if d.is_ascii_digit() && count < read.len() {
            read[count] = d;
            count += 1;
        } else {
            all_digits = false;
        }
    });
    if all_digits && count > 0 {
        digits.extend(&read[..count]);
        true
    } else if c.is_numeric() {
        digits.push('*');
        true
    } else {
        false
    }
}

/// What a provider may put between the digits of a phone number it echoes: after NFKC,
/// any space, any dash, `.`, `/` and brackets (and the invisible format characters).
pub(super) fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return matches!(c, ' ' | '-' | '.' | '(' | ')' | '/');
    }
    if c.is_control() {
        return false;
    }
    if c.is_whitespace() || is_dash(c) || is_invisible(c) {
        return true;
    }
    let (mut only, mut count) = (c, 0);
    decompose_compatible(c, |d| {
        only = d;
        count += 1;
    });
    count == 1 && only != c && is_separator(only)
}

/// Unicode's dashes (the `Dash` property), and the prolonged sound mark a Japanese
/// keyboard types between the groups of a number (`090ー1234ー5678`).
fn is_dash(c: char) -> bool {
    const DASHES: &str = "\u{58a}\u{5be}\u{1400}\u{1806}\u{2053}\u{207b}\u{208b}\u{2212}\
        \u{2e17}\u{2e1a}\u{2e3a}\u{2e3b}\u{2e40}\u{2e5d}\u{301c}\u{3030}\u{30a0}\u{30fc}\
        \u{fe31}\u{fe32}\u{fe58}\u{fe63}\u{ff0d}\u{ff70}\u{10ead}";
    ('\u{2010}'..='\u{2015}').contains(&c) || DASHES.contains(c)
}
