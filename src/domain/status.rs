//! A delivery status as every provider's webhook comes to say it (docs/statuses.md): one
//! word of ours (`sent`, `delivered`, `read`, `failed`, or `unknown`) with the provider's own
//! word kept, when it happened, whom it was for (masked), and why it failed.

use serde::Serialize;
use serde_json::Value;

/// Our word for a status, in the order a message moves through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// A word we do not know (Meta's `deleted` or `warning`): kept, never ordered.
    Unknown,
    Sent,
    Delivered,
    Read,
    /// Ends the message, from any earlier status.
    Failed,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Unknown => "unknown",
            Stage::Sent => "sent",
            Stage::Delivered => "delivered",
            Stage::Read => "read",
            Stage::Failed => "failed",
        }
    }

    /// Its place in the order (`sent` < `delivered` < `read` < `failed`); `None` for a word
    /// we do not know, which moves nothing.
    pub fn rank(self) -> Option<u8> {
        match self {
            Stage::Unknown => None,
            Stage::Sent => Some(1),
            Stage::Delivered => Some(2),
            Stage::Read => Some(3),
            Stage::Failed => Some(4),
        }
    }

    pub fn parse(text: &str) -> Option<Stage> {
        [
            Stage::Unknown,
            Stage::Sent,
            Stage::Delivered,
            Stage::Read,
            Stage::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// A provider's status word, lower-cased, and the stage it names: its own `aliases`
    /// first (Meta's `played`, autocalls' `undelivered`), then the four words every provider
    /// shares; any other word is `Unknown`.
    pub fn of_word(
        word: Option<&str>,
        aliases: &[(&str, Stage)],
    ) -> Result<(String, Stage), &'static str> {
        let word = word.ok_or("a status without status")?.to_lowercase();
        let stage = aliases
            .iter()
            .find(|(alias, _)| *alias == word)
            .map(|(_, stage)| *stage)
            .or_else(|| Stage::parse(&word))
            .unwrap_or(Stage::Unknown);
        Ok((word, stage))
    }
}

/// Why a status says the message failed, in a send's terms (its code table).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatusError {
    pub code: String,
    pub message: String,
    pub provider_code: Option<String>,
    pub retryable: bool,
}

/// One status a provider's webhook told, read and cleaned by its provider.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub message_id: String,
    pub stage: Stage,
    /// The provider's own word, lower case.
    pub provider_status: String,
    /// When it happened, by the provider's clock (epoch seconds), when it says.
    pub occurred_at: Option<u64>,
    /// The recipient, masked (`+62*******7890`).
    pub to: Option<String>,
    /// The recipient as Meta's business-scoped user id, when the status names it so (it is
    /// not a phone number; bounded).
    pub recipient_user_id: Option<String>,
    /// What the send carried to the provider for it (Meta's `biz_opaque_callback_data`).
    pub client_reference: Option<String>,
    pub error: Option<StatusError>,
    /// Meta's pricing of the message, when it gives one.
    pub pricing: Option<Value>,
}

/// A template's change, as Meta's template notifications tell it (docs/statuses.md,
/// "Template notifications"): every text bounded, Meta's words in its upper case.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TemplateUpdate {
    /// The notification's field (`message_template_status_update`, ...): not in the event.
    #[serde(skip)]
    pub field: String,
    pub template: Option<String>,
    pub template_id: Option<String>,
    pub language: Option<String>,
    pub status: Option<String>,
    pub previous_status: Option<String>,
    pub category: Option<String>,
    pub previous_category: Option<String>,
    pub reason: Option<String>,
    /// The entry's `time` (epoch seconds).
    #[serde(skip)]
    pub occurred_at: Option<u64>,
}

/// What a verified webhook body held.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Notifications {
    pub statuses: Vec<Status>,
    /// Templates' changes (Meta's template notifications): published as events of their own.
    pub templates: Vec<TemplateUpdate>,
    /// Notifications with no status and no template (an incoming message): counted only.
    pub others: usize,
    /// Statuses or notifications that are not the documented shape, with why.
    pub unreadable: Vec<String>,
}

impl Notifications {
    /// A status as its provider read it: kept, or counted unreadable with why.
    pub fn add(&mut self, read: Result<Status, &'static str>) {
        match read {
            Ok(status) => self.statuses.push(status),
            Err(why) => self.unreadable.push(why.into()),
        }
    }

    /// A template notification read by `read`, as a status is (a panic is its alone).
    pub fn read_template(&mut self, read: impl FnOnce() -> Result<TemplateUpdate, &'static str>) {
        match caught(read, "reading the notification panicked") {
            Ok(update) => self.templates.push(update),
            Err(why) => self.unreadable.push(why.into()),
        }
    }

    /// A status read by `read`, whose panic is that status's alone: counted unreadable, and
    /// the other statuses of the POST go on.
    pub fn read(&mut self, read: impl FnOnce() -> Result<Status, &'static str>) {
        self.add(caught(read, "reading the status panicked"));
    }
}

/// What `read` read, or why not; its panic becomes `panicked`.
fn caught<T>(
    read: impl FnOnce() -> Result<T, &'static str>,
    panicked: &'static str,
) -> Result<T, &'static str> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or(Err(panicked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_ordered_and_failed_ends_them() {
        let ranks: Vec<_> = [Stage::Sent, Stage::Delivered, Stage::Read, Stage::Failed]
            .map(|s| s.rank().unwrap())
            .into();
        assert!(ranks.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Stage::Unknown.rank(), None);
        assert_eq!(Stage::parse("read"), Some(Stage::Read));
    }
}
