//! Provider keys and the function's own keys, from Secrets Manager or a local file
//! (docs/configuration.md, "The secret"): the types that hold them (never printed), and the
//! `Secrets` seam the send pipeline reads them through. `SecretStore` is the real one
//! (cached, fetched once for many askers, refetched on a rotation); `Fixed` serves unit tests.

mod fixed;
mod parse;
mod secret;
mod source;
mod store;

pub use fixed::Fixed;
pub use secret::{
    in_time, ApiKey, FingerprintKey, Secret, SecretRef, Secrets, MIN_FINGERPRINT_KEY_CHARS,
};
pub use source::Source;
pub use store::SecretStore;
