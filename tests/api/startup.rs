//! A configuration that cannot be used stops the built function at start, naming the variable.

use std::process::Command;

fn start(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_wa-dispatch"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PROVIDER_SECRET_ID", "wa/providers")
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_values_stop_the_function_at_start_naming_the_variable() {
    for (variable, value) in [
        ("DEFAULT_PROVIDER", "twilio"),
        ("BITBYBIT_BASE_URL", "api.bitbybit.studio"),
        ("AUTOCALLS_BASE_URL", "::not a url"),
        // Plain http would carry the key in clear text: loopback only.
        ("AUTOCALLS_BASE_URL", "http://app.autocalls.ai"),
        ("SECRETS_CACHE_TTL_SECONDS", "5m"),
    ] {
        let (code, stderr) = start(&[(variable, value)]);
        assert_eq!(code, Some(2), "{variable}: {stderr}");
        assert!(stderr.contains(variable), "{variable}: {stderr}");
        assert!(
            !stderr.contains(value) || value.len() < 4,
            "the message names the variable, not its value"
        );
    }
}

#[test]
fn no_secret_configured_at_all_stops_the_function() {
    let output = Command::new(env!("CARGO_BIN_EXE_wa-dispatch"))
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("PROVIDER_SECRET_ID"));
}

/// Where init runs ahead of traffic, the phone metadata is loaded then; on demand it is not
/// (the first send loads it). The process stops after init here: no Runtime API is set.
#[test]
fn phone_metadata_is_loaded_during_init_only_ahead_of_traffic() {
    let init_lines = |kind: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_wa-dispatch"))
            .env_clear()
            .env("PROVIDER_SECRET_ID", "wa/providers")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", kind)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| l.contains("phone metadata loaded during init"))
            .count()
    };
    assert_eq!(init_lines("provisioned-concurrency"), 1);
    assert_eq!(init_lines("on-demand"), 0);
}
