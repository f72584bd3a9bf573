//! RepXP's engine: the local progression store with its offline outbox, the derived view the rep
//! sees, and the Twenty sync. A pure core: no Tauri, no command line, no HTTP server, so every
//! part of it is tested without a display. The CLI (`repxp-cli`), the award API
//! (`repxp-award-api`) and the desktop app (`repxp`) are built on it.

pub mod crashpoint;
pub mod db_watch;
pub mod display;
pub mod error;
pub mod error_kind;
pub mod event_input;
pub mod identity;
pub mod instance;
pub mod intake;
pub mod level;
pub mod lineage;
pub mod logging;
pub mod model;
pub mod netwatch;
pub mod outbox;
pub mod pace;
pub mod paths;
pub mod progression;
pub mod secrets;
pub mod settings;
pub mod snapshot;
pub mod store;
pub mod sync;
pub mod sync_status;
pub mod team;
pub mod timefmt;
pub mod twenty;

pub use error::{StoreError, ValidationError};
pub use error_kind::ErrorKind;
pub use model::{EventId, Progress};
pub use progression::Progression;
pub use store::Store;
