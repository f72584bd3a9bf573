use std::path::PathBuf;

/// Bad input from the rep, the dialer or a script. The message is one line and says what is
/// allowed, so a caller can show it as is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("XP amount {given:?} is not valid: give a whole number from 1 to {max}")]
    XpAmount { given: String, max: i64 },
    #[error("{what} must not be empty")]
    EmptyId { what: &'static str },
    #[error("{what} is too long ({len} characters; at most {max})")]
    IdTooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{what} must not contain control characters")]
    IdControlChars { what: &'static str },
    #[error("{what} {given:?} is not valid: give a finite number{range}")]
    Number {
        what: &'static str,
        given: String,
        range: &'static str,
    },
    #[error("event id {given:?} is not a UUID")]
    EventId { given: String },
    #[error("time {given:?} is not valid: give an RFC 3339 time such as 2026-11-25T14:00:00Z")]
    Time { given: String },
}

/// Everything that can go wrong with the local database. Each message names the file, because
/// "which file?" is the first thing support asks.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("event {id} was already recorded with different content; use a new --id")]
    IdConflict { id: String },
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a readable RepXP database ({detail}); it was left untouched: move it aside to start a new one"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "{path} was written by a newer RepXP (schema version {found}; this build knows up to {supported}); it was left untouched: install the newer RepXP"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{path} is read-only or its directory is not writable: {detail}")]
    ReadOnly { path: PathBuf, detail: String },
    #[error("the disk holding {path} is full; nothing was recorded")]
    DiskFull { path: PathBuf },
    #[error("{path} stayed locked by another RepXP process; try again")]
    Busy { path: PathBuf },
    #[error("database error on {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot upgrade the database {path}: {detail}")]
    Migration { path: PathBuf, detail: String },
    #[error("the database {path} holds a value it cannot read ({detail})")]
    BadRow { path: PathBuf, detail: String },
}

impl StoreError {
    /// Sorts a raw SQLite error into the kinds a person can act on.
    pub fn from_sqlite(path: &std::path::Path, err: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode as C;
        let path = path.to_path_buf();
        match err.sqlite_error_code() {
            Some(C::NotADatabase) | Some(C::DatabaseCorrupt) => StoreError::Corrupt {
                path,
                detail: err.to_string(),
            },
            Some(C::ReadOnly) | Some(C::CannotOpen) | Some(C::PermissionDenied) => {
                StoreError::ReadOnly {
                    path,
                    detail: err.to_string(),
                }
            }
            Some(C::DiskFull) => StoreError::DiskFull { path },
            Some(C::DatabaseBusy) | Some(C::DatabaseLocked) => StoreError::Busy { path },
            _ => StoreError::Sqlite { path, source: err },
        }
    }
}
