//! Parsed, valid values of a send request: a value of these types exists only once it was
//! checked, so the rest of the code never checks it again.

pub mod phone;
pub mod variables;
