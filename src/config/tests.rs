//! Unit tests of `config.rs`.
use super::*;

fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

/// A valid configuration: a secret id and `pairs`.
fn with_secret(pairs: &[(&str, &str)]) -> Config {
    let mut all = vec![("PROVIDER_SECRET_ID", "s")];
    all.extend_from_slice(pairs);
    config(&all).unwrap()
}

#[test]
fn defaults_follow_the_contract() {
    let c = config(&[("PROVIDER_SECRET_ID", "wa/keys")]).unwrap();
    assert_eq!(c.secrets_cache_ttl, Duration::from_secs(300));
    assert_eq!(c.provider_timeout, Duration::from_millis(10_000));
    assert_eq!(c.providers["autocalls"].max_rps, Some(5.0));
    assert_eq!(c.providers["bitbybit"].max_rps, None);
    assert_eq!(c.idempotency_ttl, Duration::from_secs(86_400));
    assert_eq!(
        c.providers["autocalls"].base_url.as_str(),
        "https://app.autocalls.ai/"
    );
    assert_eq!(
        c.secret_refs["bitbybit"],
        SecretRef {
            id: "wa/keys".into(),
            combined: true
        }
    );
}

#[test]
fn a_per_provider_secret_takes_precedence() {
    let c = config(&[("PROVIDER_SECRET_ID", "all"), ("AUTOCALLS_SECRET_ID", "ac")]).unwrap();
    assert_eq!(
        c.secret_refs["autocalls"],
        SecretRef {
            id: "ac".into(),
            combined: false
        }
    );
    assert_eq!(c.secret_refs["bitbybit"].id, "all");
}

#[test]
fn bad_values_name_their_variable() {
    let base = ("PROVIDER_SECRET_ID", "s");
    for (pair, variable) in [
        (("DEFAULT_PROVIDER", "twilio"), "DEFAULT_PROVIDER"),
        (("BITBYBIT_BASE_URL", "not a url"), "BITBYBIT_BASE_URL"),
        (("AUTOCALLS_BASE_URL", "ftp://x"), "AUTOCALLS_BASE_URL"),
        (
            ("AUTOCALLS_BASE_URL", "http://app.autocalls.ai"),
            "AUTOCALLS_BASE_URL",
        ),
        (
            ("BITBYBIT_BASE_URL", "http://10.0.0.7/v1"),
            "BITBYBIT_BASE_URL",
        ),
        (
            ("SECRETS_CACHE_TTL_SECONDS", "five"),
            "SECRETS_CACHE_TTL_SECONDS",
        ),
        (("PROVIDER_TIMEOUT_MS", "-1"), "PROVIDER_TIMEOUT_MS"),
        (("AUTOCALLS_MAX_RPS", "0"), "AUTOCALLS_MAX_RPS"),
        (("LOG_FORMAT", "xml"), "LOG_FORMAT"),
    ] {
        let err = config(&[base, pair]).unwrap_err();
        assert_eq!(err.variable, variable);
        assert!(err.to_string().contains(variable));
    }
    assert_eq!(config(&[]).unwrap_err().variable, "PROVIDER_SECRET_ID");
}

#[test]
fn plain_http_is_accepted_only_for_loopback_addresses() {
    for url in [
        "http://127.0.0.1:9100/bitbybit",
        "http://localhost:8080",
        "http://[::1]:1",
    ] {
        let c = with_secret(&[("BITBYBIT_BASE_URL", url)]);
        assert_eq!(c.providers["bitbybit"].base_url.scheme(), "http", "{url}");
    }
}

#[test]
fn empty_values_count_as_unset() {
    let c = config(&[
        ("PROVIDER_SECRET_ID", "s"),
        ("DEFAULT_PROVIDER", ""),
        ("IDEMPOTENCY_TABLE", " "),
    ])
    .unwrap();
    assert_eq!(c.default_provider, None);
    assert_eq!(c.idempotency_table, None);
}

#[test]
fn sends_in_flight_default_to_the_instance_concurrency() {
    let max = |pairs: &[(&str, &str)]| with_secret(pairs).max_concurrency;
    assert_eq!(max(&[]), 10);
    assert_eq!(max(&[("AWS_LAMBDA_MAX_CONCURRENCY", "1")]), 10);
    assert_eq!(max(&[("AWS_LAMBDA_MAX_CONCURRENCY", "64")]), 64);
    assert_eq!(max(&[("AWS_LAMBDA_MAX_CONCURRENCY", "junk")]), 10);
    assert_eq!(
        max(&[
            ("AWS_LAMBDA_MAX_CONCURRENCY", "64"),
            ("MAX_CONCURRENCY", "4")
        ]),
        4
    );
}

#[test]
fn phone_metadata_is_preloaded_only_where_init_runs_ahead_of_traffic() {
    let preload = |pairs: &[(&str, &str)]| with_secret(pairs).preload_phone_metadata;
    assert!(!preload(&[]));
    assert!(!preload(&[("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")]));
    assert!(!preload(&[("AWS_LAMBDA_MAX_CONCURRENCY", "1")]));
    assert!(preload(&[(
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "provisioned-concurrency"
    )]));
    assert!(preload(&[("AWS_LAMBDA_MAX_CONCURRENCY", "16")]));
}
