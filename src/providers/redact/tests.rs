use super::normalize::{fold, push_digits};
use super::*;
use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;

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

#[test]
fn values_are_found_trimmed_in_any_case_and_in_compatibility_forms() {
    let redact = Redact::new(
        "sk-Secret-Key",
        ["  Ana Lima ", "élodie", "Straße", "Σοφία"],
    );
    for (raw, want) in [
        ("Dear ANA LIMA, hi", "Dear ***, hi"),
        ("Dear ana\u{a0}lima!", "Dear ***!"),
        ("Dear ana\tlima!", "Dear ***!"),
        ("Ｈｉ ＡＮＡ ＬＩＭＡ！", "Ｈｉ ***！"),
        ("to ÉLODIE.", "to ***."),
        ("to E\u{301}lodie.", "to ***."),
        ("to e\u{301}LODIE\u{200b}.", "to ***\u{200b}."),
        ("at STRASSE 5", "at *** 5"),
        ("ΣΟΦΊΑ ok", "*** ok"),
        ("σοφίας", "***ς"),
    ] {
        assert_eq!(redact.text(raw, 300), want, "{raw}");
    }
}

#[test]
fn a_value_holding_another_is_cut_whole_and_short_ones_stay() {
    let redact = Redact::new("", ["Ana", "Ana Lima", " é ", "\u{200b}a"]);
    assert_eq!(redact.text("ana lima, ana", 300), "***, ***");
    assert_eq!(redact.text("é a café", 300), "é a café");
}

#[test]
fn the_key_is_found_in_any_case_and_form_in_texts_and_identifiers() {
    let redact = Redact::new(" sk-Secret-Key\n", []);
    for echo in [
        "SK-SECRET-KEY",
        "ｓｋ－ｓｅｃｒｅｔ－ｋｅｙ",
        "Sk-SeCrEt-KeY",
    ] {
        assert_eq!(redact.text(&format!("key {echo}."), 300), "key ***.");
        assert_eq!(redact.id(&format!("id-{echo}\u{7}"), 64), "id-*** ");
    }
}

#[test]
fn phone_numbers_are_masked_with_unicode_dashes_spaces_and_digits() {
    let none = Redact::none();
    for raw in [
        "+62\u{2011}812\u{2011}3456\u{2011}7890",
        "+62\u{2007}812\u{202f}3456\u{2212}7890",
        "+62\u{3000}812\u{2013}3456\u{205f}7890",
        "+62\u{2000}812\u{200a}3456\u{ff0d}7890",
        "+６２８１２３４５６７８９０",
        "+62 ８１２-３４５６-𝟕𝟖𝟗𝟎",
        "+62.812（3456）7890",
    ] {
        assert_eq!(none.text(raw, 300), "+*********7890", "{raw}");
    }
    // Digits NFKC keeps as they are (Arabic-Indic) are masked even among the last four.
    assert_eq!(none.text("رقم ٠٨١٢٣٤٥٦٧٨٩٠", 300), "رقم ************");
    assert_eq!(none.text("room ４２, floor ３", 300), "room ４２, floor ３");
}

#[test]
fn a_number_across_the_bound_is_masked_whole() {
    assert_eq!(Redact::none().text("abc +6281234567890", 10), "abc +*****");
}

#[test]
fn echoes_side_by_side_leave_no_prefix_of_a_secret() {
    let value = "v".repeat(50);
    let redact = Redact::new("", [value.as_str()]);
    assert_eq!(redact.text(&value.repeat(3), 20), "***");
    assert_eq!(redact.text(&format!("a {value}"), 20), "a ***");
}

#[test]
fn a_cut_that_makes_a_new_echo_is_cut_again() {
    let redact = Redact::new("", ["x*"]);
    assert_eq!(redact.text("xx*", 300), "*****");
    let stars_only = Redact::new("", ["**"]);
    assert_eq!(stars_only.text("a**b", 300), "a**b");
}

#[test]
fn identifiers_are_not_masked_nor_cut_for_values() {
    let redact = Redact::new("sk-Secret-Key", ["１２３４５６７８"]);
    assert_eq!(redact.id("１２３４５６７８９", 64), "１２３４５６７８９");
    assert_eq!(redact.id("１２３４５６７８９", 4), "１２３４");
}

/// Every case and compatibility form of every character folds as the character does, and
/// folding a folded text changes nothing: what `text()` searches for is what it finds.
/// Planes 2 and 3 (ideographs without case or decomposition, bar the compatibility block),
/// the unassigned planes and private use are left out, to keep the test under a second.
#[test]
fn every_form_of_every_character_folds_alike() {
    let planes = (0..=0x1ffff)
        .chain(0x2f800..=0x2fa1f)
        .chain(0xe0000..=0xe01ef);
    for c in planes.filter_map(char::from_u32) {
        let one = c.to_string();
        let folded = fold(&one).text;
        for form in [
            c.to_uppercase().collect::<String>(),
            c.to_lowercase().collect(),
            one.nfkc().collect(),
            one.nfkd().collect(),
            folded.clone(),
        ] {
            assert_eq!(fold(&form).text, folded, "U+{:04X} as {form:?}", c as u32);
        }
    }
}

/// The forms a provider may echo a value in.
fn forms(value: &str) -> Vec<String> {
    let full_width = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                ' ' => '\u{3000}',
                '!'..='~' => char::from_u32(c as u32 + 0xfee0).unwrap_or(c),
                _ => c,
            })
            .collect()
    };
    vec![
        value.to_string(),
        value.trim().to_string(),
        format!("  {value}  "),
        value.to_uppercase(),
        value.to_lowercase(),
        value.nfkc().collect(),
        value.nfkd().collect(),
        full_width(value),
        full_width(&value.to_uppercase()),
    ]
}

/// Whether any form of `secret` shows in `out` (compared in the folded form `text()` uses).
fn shows(out: &str, secret: &str) -> bool {
    let out = fold(out).text;
    forms(secret).iter().any(|form| {
        let form = fold(form).text;
        let form = form.trim();
        !form.is_empty() && out.contains(form)
    })
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{2,64}", "[a-zA-Zà-ÿ ΑΩαωİıß0-9]{2,64}", "\\PC{2,64}"]
        .prop_filter("searched", |v| needle(v, MIN_SECRET_CHARS).is_some())
}

fn around() -> impl Strategy<Value = String> {
    prop_oneof!["[ -~]{0,60}", "\\PC{0,60}", any::<String>()]
}

fn bound() -> impl Strategy<Value = usize> {
    prop_oneof![0..400usize, Just(usize::MAX)]
}

fn digit_forms(d: u32) -> Vec<char> {
    let at = |base: u32| char::from_u32(base + d).unwrap_or('0');
    vec![at(0x30), at(0xff10), at(0x1d7ce), at(0x1d7d8), at(0x1d7f6)]
}

const PHONE_SEPARATORS: &[char] = &[
    ' ', '-', '.', '(', ')', '/', '\u{a0}', '\u{2007}', '\u{2011}', '\u{202f}', '\u{2010}',
    '\u{2012}', '\u{2013}', '\u{2014}', '\u{2015}', '\u{2212}', '\u{2000}', '\u{2003}', '\u{200a}',
    '\u{205f}', '\u{3000}', '\u{ff0d}', '\u{fe63}', '\u{ff0e}', '\u{200b}',
];

fn phone() -> impl Strategy<Value = String> {
    let digits: Vec<u32> = "6281234567890"
        .chars()
        .filter_map(|c| c.to_digit(10))
        .collect();
    let parts: Vec<_> = digits
        .into_iter()
        .map(|d| {
            (
                proptest::sample::select(digit_forms(d)),
                proptest::collection::vec(proptest::sample::select(PHONE_SEPARATORS), 0..3),
            )
        })
        .collect();
    (prop_oneof![Just("+"), Just("＋"), Just("")], parts).prop_map(|(plus, parts)| {
        let mut phone = plus.to_string();
        for (digit, separators) in parts {
            phone.push(digit);
            phone.extend(separators);
        }
        phone
    })
}

proptest! {
    #[test]
    fn no_form_of_a_value_survives(
        value in value(),
        form in 0..9usize,
        before in around(),
        after in around(),
        max_chars in bound(),
    ) {
        let echo = &forms(&value)[form];
        let redact = Redact::new("sk-Secret-Key", ["Ana Lima", value.as_str()]);
        let out = redact.text(&format!("{before}{echo}{after}"), max_chars);
        prop_assert!(!shows(&out, &value), "{value:?} shows in {out:?}");
    }

    #[test]
    fn no_form_of_the_key_survives(
        key in value(),
        form in 0..9usize,
        before in around(),
        after in around(),
        max_chars in bound(),
    ) {
        let echo = &forms(&key)[form];
        let redact = Redact::new(&key, ["Ana Lima"]);
        let raw = format!("{before}{echo}{after}");
        let out = redact.text(&raw, max_chars);
        prop_assert!(!shows(&out, &key), "{key:?} shows in {out:?}");
        let id = redact.id(&raw, max_chars);
        prop_assert!(!shows(&id, &key), "{key:?} shows in {id:?}");
    }

    #[test]
    fn a_phone_number_shows_at_most_its_last_four_digits(
        phone in phone(),
        before in "[a-zA-Zé ,:+]{0,30}",
        after in "[a-zA-Zé ,:]{0,30}",
        max_chars in bound(),
        with_values in any::<bool>(),
    ) {
        let redact = if with_values { Redact::new("sk-Secret-Key", ["Ana Lima"]) } else { Redact::none() };
        let out = redact.text(&format!("{before}{phone}{after}"), max_chars);
        let mut digits = String::new();
        for c in out.chars() {
            push_digits(c, &mut digits);
        }
        let shown = digits.trim_start_matches('*');
        prop_assert!("7890".starts_with(shown), "{phone:?} shows as {out:?}");
    }

    #[test]
    fn any_text_comes_out_bounded(
        raw in any::<String>(),
        key in any::<String>(),
        values in proptest::collection::vec(any::<String>(), 0..4),
        max_chars in 0..400usize,
    ) {
        let redact = Redact::new(&key, values.iter().map(String::as_str));
        prop_assert!(redact.text(&raw, max_chars).chars().count() <= max_chars);
        prop_assert!(redact.id(&raw, max_chars).chars().count() <= max_chars);
        prop_assert!(Redact::none().text(&raw, max_chars).chars().count() <= max_chars);
    }
}
