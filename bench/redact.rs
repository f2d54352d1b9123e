//! What redacting a provider's text costs at its largest (`bash bench/run.sh` runs it):
//! `Redact::text` on an answer of 1 MiB (the transport's cap) that echoes the request's
//! values here and there, against 100 values of 1 KiB each and a key. Each run builds a
//! new `Redact` (as each send does) and redacts once; best and median of the runs. Every
//! caller bounds the text (300 characters for a message, 64 or 256 for a code or an id),
//! and only the bound and the longest secret past it are searched.
//! The per-value scan `Redact` did before is timed on the same text, beside it.
//!
//!     redact [--runs N]

use std::time::{Duration, Instant};
use wa_dispatch::providers::Redact;

const ANSWER_BYTES: usize = 1024 * 1024;
const VALUES: usize = 100;
const VALUE_BYTES: usize = 1024;
/// The bound answers use for a provider's message.
const MESSAGE_CHARS: usize = 300;
const KEY: &str = "sk-live-4f9a1c2e7b3d5a6f8e0c1b2a3d4e5f6a";

const WORDS: &[&str] = &[
    "template",
    "message",
    "recipient",
    "parameter",
    "invalid",
    "quota",
    "número",
    "pedido",
    "Ödeme",
    "réponse",
    "akun",
    "pengiriman",
    "テンプレート",
    "status",
    "error",
    "retry",
];

fn words(rng: &mut fastrand::Rng, bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 16);
    while text.len() < bytes {
        text.push_str(WORDS[rng.usize(..WORDS.len())]);
        text.push(' ');
    }
    while text.len() > bytes {
        text.pop();
    }
    text
}

/// Ordinary text with phone numbers in it, and every ~10 KiB an echo of a value (as sent,
/// upper-cased or padded).
fn answer(rng: &mut fastrand::Rng, values: &[String]) -> String {
    let mut text = String::with_capacity(ANSWER_BYTES + 4 * VALUE_BYTES);
    while text.len() < ANSWER_BYTES {
        text.push_str(&words(rng, 10 * 1024));
        text.push_str(" to +62 812-3456-7890: ");
        let value = &values[rng.usize(..values.len())];
        match rng.u8(..3) {
            0 => text.push_str(value),
            1 => text.push_str(&value.to_uppercase()),
            _ => text.push_str(&format!("  {value}  ")),
        }
    }
    while text.len() > ANSWER_BYTES {
        text.pop();
    }
    text
}

/// Times `f` over `runs` runs: (best, median).
fn time(runs: usize, mut f: impl FnMut() -> usize) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(f());
            started.elapsed()
        })
        .collect();
    times.sort();
    (times[0], times[times.len() / 2])
}

fn row(what: &str, (best, median): (Duration, Duration)) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| {what} | {:.2} ms | {:.2} ms |", ms(best), ms(median));
}

fn main() {
    let mut argv = std::env::args().skip(1);
    let mut runs = 7;
    while let (Some(k), Some(v)) = (argv.next(), argv.next()) {
        if k == "--runs" {
            runs = v.parse().unwrap_or(runs);
        }
    }
    let runs = runs.max(1);
    let mut rng = fastrand::Rng::with_seed(10);
    let values: Vec<String> = (0..VALUES).map(|_| words(&mut rng, VALUE_BYTES)).collect();
    let text = answer(&mut rng, &values);
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    // The worst case for a per-value scan: every value a long run of the text's one letter.
    let flat = "a".repeat(ANSWER_BYTES);
    let near: Vec<String> = (0..VALUES)
        .map(|i| format!("{}{i:02}", "a".repeat(VALUE_BYTES - 2)))
        .collect();
    let near: Vec<&str> = near.iter().map(String::as_str).collect();

    let redact = |values: &[&str], text: &str, max_chars: usize| {
        Redact::new(KEY, values.iter().copied())
            .text(text, max_chars)
            .len()
    };
    println!(
        "| redaction: a 1 MiB answer, {VALUES} values of 1 KiB and a key | best of {runs} | median |"
    );
    println!("| --- | --- | --- |");
    row(
        &format!("`Redact::new` + `text()`, bounded to {MESSAGE_CHARS} characters"),
        time(runs, || redact(&values, &text, MESSAGE_CHARS)),
    );
    row(
        &format!(
            "the same, bounded to {MESSAGE_CHARS}, on `aaa…` against values `aaa…aNN` (a substring search's worst case)"
        ),
        time(runs, || redact(&near, &flat, MESSAGE_CHARS)),
    );
    row(
        "`Redact::new` + `text()`, unbounded (the whole 1 MiB searched; no caller does this)",
        time(runs, || redact(&values, &text, usize::MAX)),
    );
    row(
        &format!("before: one scan of the whole text per value, bounded to {MESSAGE_CHARS}"),
        time(runs, || {
            before::text(KEY, &values, &text, MESSAGE_CHARS).len()
        }),
    );
}

/// `Redact::text` as it was: one scan of the whole text per secret, ASCII case only.
mod before {
    const SEPARATORS: &[char] = &[' ', '-', '.', '(', ')', '/', '\u{a0}'];

    pub fn text(key: &str, values: &[&str], raw: &str, max_chars: usize) -> String {
        let mut values: Vec<&str> = values.to_vec();
        values.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut text = raw.to_string();
        for secret in std::iter::once(&key).chain(&values) {
            text = replace_ignoring_ascii_case(&text, secret, "***");
        }
        mask_digit_runs(&text).chars().take(max_chars).collect()
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
        String::from_utf8(out).unwrap_or_default()
    }

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
            if digits.len() >= 6 {
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
}
