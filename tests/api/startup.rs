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
