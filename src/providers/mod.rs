//! The providers: each one file that builds its request from our validated request and
//! maps each documented answer to ours. The HTTP exchange itself is `transport`'s.

mod autocalls;
mod bitbybit;
mod redact;
pub mod transport;

pub use autocalls::Autocalls;
pub use bitbybit::Bitbybit;
pub use redact::Redact;

use crate::error::ApiError;
use crate::request::SendRequest;
use crate::secrets::Credentials;
use reqwest::Url;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The providers we can send through. Adding one: a file beside this one, a variant here
/// and a line in `Registry::new`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    Bitbybit,
    Autocalls,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 2] = [ProviderKind::Bitbybit, ProviderKind::Autocalls];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Bitbybit => "bitbybit",
            ProviderKind::Autocalls => "autocalls",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// What would go over the wire, minus the credential header: the dry run shows exactly this.
#[derive(Clone, Debug)]
pub struct ProviderRequest {
    pub url: Url,
    pub body: Value,
}

/// How a provider wants its key presented.
#[derive(Clone, Copy, Debug)]
pub enum Auth {
    Header(&'static str),
    Bearer,
}

/// A provider's answer as it came back, read with a size cap.
#[derive(Clone, Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// A provider's acceptance, in the contract's terms (section 4).
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    pub status: String,
    pub message_id: String,
    pub details: Map<String, Value>,
}

pub trait Provider: Send + Sync {
    fn kind(&self) -> ProviderKind;
    fn auth(&self) -> Auth;
    /// Builds the provider's request. Fails only when the secret lacks what the request
    /// needs (autocalls' default `sender_id`).
    fn build(
        &self,
        request: &SendRequest,
        credentials: &Credentials,
    ) -> Result<ProviderRequest, ApiError>;
    /// Maps an answer to acceptance or to the contract's error, by the provider's table.
    /// Every string taken from the answer goes through `redact`.
    fn interpret(&self, answer: &RawAnswer, redact: &Redact) -> Result<Accepted, ApiError>;
}

/// The providers by kind, built once per instance.
#[derive(Clone)]
pub struct Registry {
    bitbybit: Arc<dyn Provider>,
    autocalls: Arc<dyn Provider>,
}

impl Registry {
    pub fn new(bitbybit_base: &Url, autocalls_base: &Url) -> Self {
        Registry {
            bitbybit: Arc::new(Bitbybit::new(bitbybit_base)),
            autocalls: Arc::new(Autocalls::new(autocalls_base)),
        }
    }

    pub fn get(&self, kind: ProviderKind) -> &dyn Provider {
        match kind {
            ProviderKind::Bitbybit => self.bitbybit.as_ref(),
            ProviderKind::Autocalls => self.autocalls.as_ref(),
        }
    }
}

/// Joins a path to a base URL that may itself hold a path (`.../open/v1`).
fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url
}

/// A JSON body, or `None` when the answer is not JSON: a body that does not parse, or one
/// labelled as something else (an HTML error page that happens to be valid JSON text).
fn json_body(answer: &RawAnswer) -> Option<Value> {
    let labelled_json = answer
        .content_type
        .as_deref()
        .is_none_or(|t| t.to_ascii_lowercase().contains("json"));
    labelled_json
        .then(|| serde_json::from_slice(&answer.body).ok())
        .flatten()
}

/// Bounds for strings taken from a provider's answer (contract section 10).
pub const MAX_MESSAGE_CHARS: usize = 300;
pub const MAX_CODE_CHARS: usize = 64;
pub const MAX_ID_CHARS: usize = 256;

/// An answer outside the provider's documentation: never success, always retryable. A 3xx
/// (never followed) or a 4xx is a refusal of the request, so nothing was sent; any other
/// status (an undocumented 5xx, a 200 we cannot read) may come after the provider acted.
fn undocumented(kind: ProviderKind, answer: &RawAnswer, what: &str) -> ApiError {
    let what = if (300..400).contains(&answer.status) {
        "a redirect, which is never followed"
    } else {
        what
    };
    let mut error = ApiError::new(
        crate::error::Code::ProviderUnavailable,
        format!(
            "{} answered HTTP {} with {what}",
            kind.as_str(),
            answer.status
        ),
    )
    .with_provider(kind.as_str());
    error.provider_status = Some(answer.status);
    error.maybe_sent = !(300..500).contains(&answer.status);
    error
}

/// One row of a provider's answer table: an HTTP status, the provider's own error code
/// (or any code), and ours.
struct Row {
    status: u16,
    provider_code: Match,
    code: crate::error::Code,
}

enum Match {
    Exactly(&'static str),
    Prefix(&'static str),
    Any,
}

impl Match {
    fn matches(&self, code: Option<&str>) -> bool {
        match (self, code) {
            (Match::Any, _) => true,
            (Match::Exactly(want), Some(got)) => *want == got,
            (Match::Prefix(want), Some(got)) => got.starts_with(want),
            _ => false,
        }
    }
}

/// Maps a refusal through a provider's table. Rows are tried in order; an answer that no
/// row covers is undocumented (`PROVIDER_UNAVAILABLE`), as are 5xx answers.
fn refusal(
    kind: ProviderKind,
    table: &[Row],
    answer: &RawAnswer,
    provider_code: Option<&str>,
    provider_message: Option<&str>,
    redact: &Redact,
) -> ApiError {
    let provider_code = provider_code.map(|code| redact.id(code, MAX_CODE_CHARS));
    let Some(row) = table.iter().find(|row| {
        row.status == answer.status && row.provider_code.matches(provider_code.as_deref())
    }) else {
        let what = if answer.status >= 500 {
            "a server error"
        } else {
            "an undocumented answer"
        };
        let mut error = undocumented(kind, answer, what);
        error.provider_code = provider_code;
        return error;
    };
    let message = provider_message
        .map(|m| redact.text(m, MAX_MESSAGE_CHARS))
        .unwrap_or_else(|| {
            format!(
                "{} refused the request (HTTP {})",
                kind.as_str(),
                answer.status
            )
        });
    let mut error = ApiError::new(row.code, message).with_provider(kind.as_str());
    error.provider_status = Some(answer.status);
    error.provider_code = provider_code;
    error
}
