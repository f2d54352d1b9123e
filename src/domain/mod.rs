//! Parsed, valid values of a send request: a value of these types exists only once it was
//! checked, so the rest of the code never checks it again.

pub mod json;
pub mod phone;
pub mod request;
pub mod status;
pub mod template;
pub mod variables;
