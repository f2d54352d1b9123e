//! The providers. Each is one file that knows everything about its provider, read against
//! its documentation top to bottom: its request block and template rules (parsed into its
//! own typed `Message`), its secret, its settings' defaults, its pacing, its wire request
//! and its answer table. The rest of wa-dispatch knows providers only through `Provider`
//! and `Message`, and finds them in `REGISTRY`.
//!
//! Adding a provider: a file beside this one, and a line in `REGISTRY`.

mod answers;
mod autocalls;
mod bitbybit;
#[cfg(any(test, feature = "test-providers"))]
mod echo;
mod meta;
mod provider;
mod redact;
#[cfg(test)]
mod testing;
pub mod transport;

pub use provider::{
    endpoint, Accepted, Auth, Defaults, Input, Message, Provider, ProviderRequest, RawAnswer,
    Settings, Webhook, WebhookRequest,
};
pub use redact::Redact;

/// Every provider a request may name: the one list.
pub static REGISTRY: &[&dyn Provider] = &[
    &bitbybit::Bitbybit,
    &autocalls::Autocalls,
    &meta::Meta,
    #[cfg(any(test, feature = "test-providers"))]
    &echo::Echo,
];

/// The provider of this name.
pub fn find(name: &str) -> Option<&'static dyn Provider> {
    REGISTRY.iter().copied().find(|p| p.name() == name)
}

/// The registry's names, as an error lists them (`bitbybit, autocalls, meta`).
pub fn names() -> String {
    REGISTRY
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(", ")
}
