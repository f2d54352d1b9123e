//! Integration tests: real event JSON through the real handler, providers served by
//! wiremock, Secrets Manager by moto in server mode.

mod architecture;
mod callers;
mod concurrency;
mod delivery;
mod errors;
mod event_sources;
mod faults;
mod hostile;
mod http_sources;
mod idempotency;
mod load;
mod logs;
mod meta;
mod openapi;
mod phone_oracle;
mod providers;
mod secrets;
mod shared_limit;
mod simulator;
mod startup;
mod statuses;
mod support;
mod together;
