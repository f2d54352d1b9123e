//! wa-dispatch: sends approved WhatsApp template messages through a choice of providers
//! and answers in one normalized shape, from any Lambda event source.
//!
//! Data flows one way: `entry` receives the event (through `lambda_http`), `request`
//! validates it (its provider's part by the provider), `service` sends it through one
//! `providers::Provider` with keys from `secrets`, and the outcome goes back out through
//! the same entry point.

pub mod app;
mod aws;
pub mod config;
pub mod deadline;
pub mod entry;
pub mod error;
pub mod idempotency;
pub mod outcome;
pub mod pacing;
pub mod phone;
pub mod providers;
pub mod request;
pub mod secrets;
pub mod service;
pub mod telemetry;
pub mod variables;

pub use app::App;
pub use config::Config;
pub use service::Invocation;
