//! A send request made whole (docs/api.md, "The send request"): its own fields read by
//! `domain::request`, its provider found in the registry, and the provider's part (the
//! template, the variables' shape, its block) read by the provider into its own typed
//! message. Valid once it exists.

use crate::domain::phone::Phone;
use crate::domain::request::Written;
use crate::domain::variables::Variables;
use crate::error::{ApiError, Code};
use crate::infra::secrets::FingerprintKey;
use crate::providers::{self, Input, Message, Provider};
use std::fmt;

/// A send request that passed every check of ours and of its provider.
pub struct SendRequest {
    provider: &'static dyn Provider,
    to: Phone,
    variables: Variables,
    recipient_name: Option<String>,
    media_url: Option<String>,
    client_reference: Option<String>,
    idempotency_key: Option<String>,
    dry_run: bool,
    message: Box<dyn Message>,
}

impl fmt::Debug for SendRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SendRequest({}, {:?}, {:?})",
            self.provider.name(),
            self.to,
            self.variables
        )
    }
}

impl SendRequest {
    /// Parses a send request given as its JSON text: number variables are taken exactly as
    /// written (`1.50`, `1e2`, 21 digits; docs/api.md, "Normalization"). `default_key` is the
    /// key when the body carries none (the `Idempotency-Key` header, an SQS `messageId`, an
    /// event id); `default_provider` is `DEFAULT_PROVIDER`.
    pub fn parse(
        text: &str,
        default_provider: Option<&'static dyn Provider>,
        default_key: Option<&str>,
    ) -> Result<SendRequest, ApiError> {
        let written = Written::read(text, |name| providers::find(name).is_some())?;
        let unknown =
            |message: String| ApiError::new(Code::UnknownProvider, message).with_field("provider");
        let provider = match written.provider()? {
            None => default_provider.ok_or_else(|| {
                unknown("`provider` is required: no DEFAULT_PROVIDER is set".into())
            })?,
            Some(name) => providers::find(&name).ok_or_else(|| {
                unknown(format!("`provider` must be one of {}", providers::names()))
            })?,
        };
        if let Some(other) = written.blocks.keys().find(|name| *name != provider.name()) {
            return Err(ApiError::invalid(
                other.clone(),
                format!(
                    "`{other}` options were given but the provider is {}",
                    provider.name()
                ),
            ));
        }
        let block = match written.blocks.get(provider.name()) {
            None => None,
            Some(raw) => match raw.get().trim_start() {
                "null" => None,
                text if text.starts_with('{') => Some(&**raw),
                _ => {
                    return Err(ApiError::invalid(
                        provider.name(),
                        format!("`{}` must be an object", provider.name()),
                    ))
                }
            },
        };
        let common = written.common(default_key)?;
        let template = written.template();
        let message = provider.parse(&Input {
            to: &common.to,
            country: common.country,
            template: template.as_ref(),
            variables: &common.variables,
            recipient_name: common.recipient_name.as_deref(),
            media_url: common.media_url.as_deref(),
            client_reference: common.client_reference.as_deref(),
            block,
        })?;
        Ok(SendRequest {
            provider,
            to: common.to,
            variables: common.variables,
            recipient_name: common.recipient_name,
            media_url: common.media_url,
            client_reference: common.client_reference,
            idempotency_key: common.idempotency_key,
            dry_run: common.dry_run,
            message,
        })
    }

    pub fn provider(&self) -> &'static dyn Provider {
        self.provider
    }

    pub fn to(&self) -> &Phone {
        &self.to
    }

    pub fn client_reference(&self) -> Option<&str> {
        self.client_reference.as_deref()
    }

    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    #[cfg(test)]
    pub fn into_message(self) -> Box<dyn Message> {
        self.message
    }

    pub fn message(&self) -> &dyn Message {
        self.message.as_ref()
    }

    /// The request's values a provider's answer must never echo back (variable values,
    /// the recipient's name, the media URL, and the provider's own).
    pub fn personal_values(&self) -> impl Iterator<Item = &str> {
        self.variables
            .values()
            .chain(self.recipient_name.as_deref())
            .chain(self.media_url.as_deref())
            .chain(self.message.personal_values())
    }

    /// HMAC-SHA256, under the function's own key, of what is sent (docs/guarantees.md,
    /// "Idempotency"): the provider and its message, as the provider's own types serialize
    /// it (so that no field is left out), with `to` normalized; what changes nothing that is
    /// sent (`dry_run`, the key itself, and `client_reference` for a provider that does not
    /// carry it: Meta does) is left out. Keyed, so that
    /// nobody who can read the table can recover a one-time code by hashing guesses.
    pub fn fingerprint(&self, key: &FingerprintKey) -> String {
        let sent = serde_json::json!([self.provider.name(), self.message.fingerprint()]);
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.expose());
        let tag = aws_lc_rs::hmac::sign(&key, sent.to_string().as_bytes());
        hex::encode(tag)
    }
}

#[cfg(test)]
mod tests;
