//! Unit tests of `secrets.rs`.
use super::*;
use serde_json::json;

fn text(s: &str) -> SecretText {
    SecretText(s.into())
}

fn key(secret: &Secret) -> &str {
    secret.key().expose()
}

#[test]
fn the_combined_secret_gives_each_provider_its_own_entry() {
    let t = text(r#"{"one":{"api_key":"b-key"},"two":{"api_key":"a-key","sender_id":12}}"#);
    assert_eq!(key(&parse("one", "api_key", true, &t).unwrap()), "b-key");
    let two = parse("two", "api_key", true, &t).unwrap();
    assert_eq!(
        (key(&two), two.number("sender_id").unwrap()),
        ("a-key", Some(12))
    );
}

#[test]
fn a_missing_provider_fails_that_provider_only() {
    let t = text(r#"{"two":{"api_key":"a-key"}}"#);
    let err = parse("one", "api_key", true, &t).unwrap_err();
    assert_eq!(err.code, Code::ConfigurationError);
    assert!(err.message.contains("no `one` entry"));
    assert!(parse("two", "api_key", true, &t).is_ok());
}

#[test]
fn a_per_provider_secret_is_its_object_or_the_bare_key() {
    assert_eq!(
        key(&parse("one", "api_key", false, &text(" bare-key\n")).unwrap()),
        "bare-key"
    );
    let obj = parse(
        "two",
        "api_key",
        false,
        &text(r#"{"api_key":"k","sender_id":3}"#),
    )
    .unwrap();
    assert_eq!(
        (key(&obj), obj.number("sender_id").unwrap()),
        ("k", Some(3))
    );
    let nested = parse(
        "two",
        "api_key",
        false,
        &text(r#"{"two":{"api_key":"k2"}}"#),
    )
    .unwrap();
    assert_eq!(key(&nested), "k2");
    assert!(parse("two", "api_key", false, &text("{broken")).is_err());
    let token = parse(
        "three",
        "access_token",
        false,
        &text(r#"{"access_token":"t"}"#),
    )
    .unwrap();
    assert_eq!(key(&token), "t");
}

#[test]
fn fields_are_typed_when_read_and_errors_never_show_the_key() {
    let t = text(r#"{"one":{"api_key":"sk-very-secret","sender_id":"x","phone_number_id":"  "}}"#);
    let secret = parse("one", "api_key", true, &t).unwrap();
    let err = secret.number("sender_id").unwrap_err();
    assert_eq!(err.code, Code::ConfigurationError);
    assert!(err
        .message
        .contains("`one.sender_id` must be a positive integer"));
    assert!(secret.text("phone_number_id").is_err());
    assert_eq!(secret.text("language").unwrap(), None);
    assert!(!format!("{secret:?} {} {t:?}", secret.key()).contains("sk-very-secret"));
    assert!(!format!("{:?}", Secret::new("one", "sk-very-secret", json!({}))).contains("sk-very"));
}
