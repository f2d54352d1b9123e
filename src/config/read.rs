//! Reading one variable: a number in bounds, a rate, an https URL (loopback http only),
//! each refused with a message that names the variable and never its value.

use reqwest::Url;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {variable} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

/// An environment variable's name made from a provider's name, kept for the process (a
/// `ConfigError` names it); a handful, made once at start.
pub(super) fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}

pub(super) fn number(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(text) = var(name) else {
        return Ok(default);
    };
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError {
            variable: name,
            problem: format!("must be a whole number from {min} to {max}"),
        }),
    }
}

pub(super) fn rate(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: f64,
) -> Result<f64, ConfigError> {
    let Some(text) = var(name) else {
        return Ok(default);
    };
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 && n <= 10_000.0 => Ok(n),
        _ => Err(ConfigError {
            variable: name,
            problem: "must be a number of requests per second above 0".into(),
        }),
    }
}

pub(super) fn url(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
) -> Result<Url, ConfigError> {
    let text = var(name).unwrap_or_else(|| default.to_string());
    // The problem never quotes the value: a URL's password must not reach a log line.
    let refused = |problem: &str| ConfigError {
        variable: name,
        problem: problem.into(),
    };
    let url = Url::parse(&text).map_err(|_| {
        refused("must be an absolute https URL without a query (http only for a loopback address such as 127.0.0.1)")
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused(
            "must not carry a user or a password: the key goes in the secret",
        ));
    }
    if url.fragment().is_some() {
        return Err(refused("must not carry a fragment"));
    }
    match url.query().is_none() && (url.scheme() == "https" || is_loopback_http(&url)) {
        true => Ok(url),
        false => Err(refused("must be an absolute https URL without a query (http only for a loopback address such as 127.0.0.1)")),
    }
}

/// Plain http carries the key in clear text: only the simulator and tests, on this
/// machine, may use it (docs/guarantees.md, "Privacy").
fn is_loopback_http(url: &Url) -> bool {
    let host = url.host_str().unwrap_or("");
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    url.scheme() == "http"
        && (host.eq_ignore_ascii_case("localhost")
            || ip
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()))
}
