//! What a provider is to the rest of wa-dispatch (the `Provider` and `Message` traits) and
//! the types they speak in: every provider's file and the transport use these, so that none
//! of them needs the registry that names them all.

use super::redact::Redact;
use crate::domain::phone::{Country, Phone};
use crate::domain::status::Notifications;
use crate::domain::variables::Variables;
use crate::error::ApiError;
use crate::infra::secrets::Secret;
use reqwest::Url;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// What a provider is to the rest of wa-dispatch.
pub trait Provider: Send + Sync {
    /// Its name in requests (`provider`, its options block), in the secret and in the
    /// environment (`<NAME>_BASE_URL`, `<NAME>_MAX_RPS`, `<NAME>_SECRET_ID`).
    fn name(&self) -> &'static str;
    /// Where it is reached and how fast it may be sent to, unless the environment says
    /// otherwise.
    fn defaults(&self) -> Defaults;
    /// The field of its secret entry that holds its credential.
    fn key_field(&self) -> &'static str {
        "api_key"
    }
    /// How the credential is presented.
    fn auth(&self) -> Auth;
    /// Its part of a send request (the template, the variables' shape, the media URL, its
    /// block): a message typed by this provider, or the 400 naming the field.
    fn parse(&self, input: &Input<'_>) -> Result<Box<dyn Message>, ApiError>;
    /// Maps an answer to acceptance or to one of our errors, by its documentation. Every
    /// string taken from the answer goes through `redact`.
    fn interpret(&self, answer: &RawAnswer, redact: &Redact) -> Result<Accepted, ApiError>;
    /// Whether the answer says the key was refused: the secret is then fetched again, and
    /// the send tried once more if the key changed (docs/configuration.md, "The secret").
    fn key_refused(&self, answer: &RawAnswer) -> bool {
        answer.status == 401
    }
    /// Whether the answer says the provider throttled us: the send is then tried again
    /// after its `Retry-After` (or a short backoff), while that fits in the time left.
    fn throttled(&self, answer: &RawAnswer) -> bool {
        answer.status == 429
    }
    /// Its delivery-status webhook, when it documents one we can verify (docs/statuses.md).
    fn webhook(&self) -> Option<&dyn Webhook> {
        None
    }
}

/// A webhook request as it arrived: its headers, query and raw body bytes.
pub struct WebhookRequest<'a> {
    pub header: &'a (dyn Fn(&str) -> Option<&'a str> + Sync),
    pub query: &'a (dyn Fn(&str) -> Option<&'a str> + Sync),
    pub body: &'a [u8],
}

/// A provider's delivery-status webhook: how its proof is checked and how its body becomes
/// statuses. Proofs are checked on the raw bytes, in constant time, before anything of the
/// body is read.
pub trait Webhook: Send + Sync {
    /// `Ok` when the request carries the provider's valid proof under `secret`, else why
    /// not (for the log: never the proof itself).
    fn verify(&self, request: &WebhookRequest<'_>, secret: &Secret) -> Result<(), &'static str>;
    /// The provider's verification handshake (`GET`): `Some(Ok(body))` to answer 200 with
    /// it, `Some(Err(why))` to refuse (403); `None` when the provider has none.
    fn handshake(
        &self,
        _request: &WebhookRequest<'_>,
        _secret: &Secret,
    ) -> Option<Result<String, &'static str>> {
        None
    }
    /// The statuses of a verified body; every string cleaned by `redact`.
    fn notifications(&self, body: &[u8], redact: &Redact) -> Notifications;
}

/// One validated message for one provider, in that provider's own types.
pub trait Message: Send + Sync {
    /// Whether `build` needs the secret (a default it holds): a dry run reads it only then.
    fn needs_secret(&self) -> bool {
        false
    }
    /// The wire request, with the secret's defaults where the request gave none; never the
    /// credential itself (that is a header, added by the transport).
    fn build(
        &self,
        secret: Option<&Secret>,
        settings: &Settings,
    ) -> Result<ProviderRequest, ApiError>;
    /// What the provider limits its rate by, when it is paced: its API key, unless a
    /// provider limits something else (Meta: each sending number).
    fn pace_key(&self, secret: &Secret) -> Option<String> {
        Some(secret.key().expose().to_string())
    }
    /// Everything that changes what is sent, for the idempotency fingerprint: derived with
    /// serde from the message's own fields, so that no field can be left out.
    fn fingerprint(&self) -> Value;
    /// Values of this message a provider's answer must never echo (on top of the request's
    /// variables, name and media URL).
    fn personal_values(&self) -> Vec<&str> {
        Vec::new()
    }
}

/// The parts of a send request every provider may use, already validated.
pub struct Input<'a> {
    pub to: &'a Phone,
    pub country: Option<Country>,
    pub template: Option<&'a Value>,
    pub variables: &'a Variables,
    pub recipient_name: Option<&'a str>,
    /// An absolute https URL (checked); whether the provider takes one is its own rule.
    pub media_url: Option<&'a str>,
    /// The caller's own reference, which a provider may carry (Meta echoes it in statuses).
    pub client_reference: Option<&'a str>,
    /// The request's block named after this provider, when given: a JSON object, as written.
    pub block: Option<&'a RawValue>,
}

/// A provider's built-in settings.
#[derive(Clone, Copy, Debug)]
pub struct Defaults {
    pub base_url: &'static str,
    /// Sends per second per pacing key from one instance; `None`: not paced.
    pub max_rps: Option<f64>,
}

/// A provider's settings, from the environment over its defaults.
#[derive(Clone, Debug)]
pub struct Settings {
    pub base_url: Url,
    pub max_rps: Option<f64>,
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
    /// The body read as JSON once (`answers::json_body`), however many of the provider's
    /// questions (throttled? key refused? what does it say?) ask for it.
    pub(super) json: std::sync::OnceLock<Option<Value>>,
}

impl RawAnswer {
    pub fn new(status: u16, content_type: Option<String>, body: Vec<u8>) -> Self {
        RawAnswer {
            status,
            content_type,
            body,
            json: std::sync::OnceLock::new(),
        }
    }
}

/// A provider's acceptance, in our terms (docs/api.md, "Answers").
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    pub status: String,
    pub message_id: String,
    pub details: Map<String, Value>,
}

/// Joins a path to a base URL that may itself hold a path (`.../open/v1`).
pub fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url
}
