//! The exactly-once sync with Twenty (DESIGN.md §3, merge table in docs/ARCHITECTURE.md):
//! freeze → compare-and-set write → acknowledge, and pull → merge.

pub mod config;
pub mod plan;
pub mod run;
pub mod scheduler;
pub mod service;

pub use run::{sync_once, Mode, SyncError, SyncReport};
