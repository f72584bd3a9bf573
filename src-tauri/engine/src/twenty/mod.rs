//! Talking to Twenty: the REST client, the record format, the schema RepXP needs.

pub mod client;
pub mod error;
pub mod graphql;
pub mod list_fields;
pub mod progression_json;
pub mod records;
mod rest_records;
pub mod retry_after;
pub mod schema;
pub mod url;

pub use client::{Timeouts, TwentyClient};
pub use error::TwentyError;
