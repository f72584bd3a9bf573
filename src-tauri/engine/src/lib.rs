//! RepXP's engine: the local progression store with its offline outbox, the derived view the rep
//! sees, and (in later modules) the Twenty sync. It knows nothing of Tauri, so every part of it is
//! tested without a display.

pub mod award_api;
pub mod cli;
mod cli_sync;
pub mod crashpoint;
pub mod db_watch;
pub mod display;
pub mod error;
pub mod event_input;
pub mod headless;
pub mod instance;
pub mod level;
pub mod lineage;
pub mod logging;
pub mod model;
pub mod netwatch;
pub mod outbox;
pub mod paths;
pub mod record;
pub mod secrets;
pub mod settings;
pub mod snapshot;
pub mod store;
pub mod sync;
pub mod sync_status;
pub mod timefmt;
pub mod twenty;
pub mod view;

pub use error::{StoreError, ValidationError};
pub use model::{EventId, Progress};
pub use store::Store;
pub use view::Progression;
