//! wa-dispatch: sends approved WhatsApp template messages through a choice of providers
//! and answers in one normalized shape, from any Lambda event source.
//!
//! Data flows one way: `entry` recognises the event (through `lambda_http`) and says who
//! asked; `send` parses the request (`domain` values, the provider's own part by the
//! provider), claims its idempotency key, sends it through one `providers::Provider` and
//! settles its outcome; the outcome goes back out through the same entry point. `infra`
//! holds what is reached besides the providers (AWS, secrets, records, logs).

pub mod app;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod entry;
pub mod error;
pub mod infra;
pub mod providers;
pub mod send;

pub use app::{App, Seams};
pub use config::Config;
pub use send::Invocation;
