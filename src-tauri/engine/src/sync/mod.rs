//! The exactly-once sync with Twenty (DESIGN.md §3, merge table in docs/ARCHITECTURE.md):
//! pending events → compare-and-set write (watermark inside) → acknowledge, and pull → merge.

pub mod config;
mod hold;
pub mod legacy;
pub mod plan;
mod push;
mod resolve;
pub mod run;
pub mod scheduler;
pub mod service;

pub use run::{sync_once, Mode, SyncError, SyncReport};
