//! The call history on disk: one SQLite file, its schema versioned in the code (SQLite's
//! `user_version`). An older file is upgraded in place, never dropped; a file that is not
//! a SQLite database is an error that says where it is.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, MAIN_DB};

use super::Call;

/// The schema, step by step: a database at version N runs the steps after N, in one
/// transaction. Add steps; never edit one that has shipped.
const STEPS: &[&str] = &[
    // 1: one row per call, keyed by the audio's hash (or a live call's id).
    "CREATE TABLE calls (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        call_date TEXT NOT NULL,
        stored_at INTEGER NOT NULL,
        duration_s REAL NOT NULL,
        rep_s REAL NOT NULL,
        prospect_s REAL NOT NULL,
        rep_ratio REAL,
        longest_monologue_s REAL NOT NULL,
        longest_story_s REAL NOT NULL,
        questions INTEGER,
        interactivity REAL NOT NULL,
        alerts TEXT NOT NULL,
        report TEXT NOT NULL
    );",
    // 2: the rep's name (for a shared store and `history --rep`), and calls by date.
    "ALTER TABLE calls ADD COLUMN rep TEXT;
     CREATE INDEX calls_by_date ON calls(call_date);",
    // 3: a team store (`--db postgres://`): whether the rep shares this call's
    // transcript, and the calls queued for each store (a save bumps `version`, a send
    // marks the version it sent), so a call that could not be sent waits here.
    "ALTER TABLE calls ADD COLUMN share_transcripts INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE sends (
        key TEXT NOT NULL REFERENCES calls(key) ON DELETE CASCADE,
        store TEXT NOT NULL,
        version INTEGER NOT NULL,
        sent INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (key, store)
     );",
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: not a twoears history (damaged, or another file); move it away and a new one is started, or pass --db PATH", path.display())]
    Corrupt { path: PathBuf },
    #[error("{}: another program's database, not a twoears history (left as it is); pass --db with another file's path", path.display())]
    Foreign { path: PathBuf },
    #[error("{}: written by a newer twoears (schema {found}, this one knows {known}); update twoears or pass --db PATH", path.display())]
    Newer {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error("{}: the call history is read-only; make it writable (chmod u+w), or pass --db PATH or --no-save", path.display())]
    ReadOnly { path: PathBuf },
    #[error("{}: the call history is read-only, and it must be written to before it can be read (an older schema, or calls still in its -wal file); make it writable (chmod u+w)", path.display())]
    ReadOnlyStale { path: PathBuf },
    #[error("{}: cannot open the call history; check the folder is writable, or pass --db PATH or --no-save", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{}: the call history failed: {source}", path.display())]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl Store {
    /// Opens (or creates, 0600) the history at `path` and brings its schema up to date.
    ///
    /// # Errors
    /// The file is not a SQLite database, is another program's database, is newer than
    /// this twoears, is read-only, or cannot be opened.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_to(path, STEPS.len())
    }

    /// Opens the history at `path` to read it: as `open`, but a history this process may
    /// not write is read as it is.
    ///
    /// # Errors
    /// As `open`; a read-only history must also be at this twoears's schema with no calls
    /// left in its `-wal` file.
    pub fn open_to_read(path: &Path) -> Result<Self, StoreError> {
        match Self::open(path) {
            Err(StoreError::ReadOnly { .. }) => Self::open_immutable(path),
            opened => opened,
        }
    }

    /// Opens the history at `path` with its schema brought to step `target` (an older
    /// schema, for the upgrade test).
    pub(crate) fn open_to(path: &Path, target: usize) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::os::unix::fs::DirBuilderExt::mode(
                std::fs::DirBuilder::new().recursive(true),
                0o700,
            )
            .create(dir);
        }
        // A new file is made private before SQLite writes a byte to it (an empty file is a
        // new database; SQLite gives its journals the file's mode).
        let _ = std::os::unix::fs::OpenOptionsExt::mode(
            std::fs::OpenOptions::new().write(true).create_new(true),
            0o600,
        )
        .open(path);
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        // Not a URI: the path is the file made private above.
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        // SQLite falls back to reading a file it may not write, and reading a WAL database
        // so leaves -wal and -shm files behind that nobody removes: stop before a read.
        if conn.is_readonly(MAIN_DB).map_err(open_err)? {
            return Err(StoreError::ReadOnly {
                path: path.to_path_buf(),
            });
        }
        let mut store = Self {
            conn,
            path: path.to_path_buf(),
        };
        // Two processes may write at once (a batch, a background monitor): wait for the
        // other's write rather than fail.
        store
            .conn
            .busy_timeout(Duration::from_secs(10))
            .map_err(|e| store.err(e))?;
        // Processes that open a new file at once race to turn on WAL and to create the
        // schema, and SQLite reports some of those races as busy without waiting: try
        // again for as long as a write would wait. What the file is, is read first: WAL
        // and the schema are written only to a new file or a twoears history.
        let started = std::time::Instant::now();
        loop {
            let done = store.schema_version().and_then(|_| {
                store
                    .conn
                    .pragma_update(None, "journal_mode", "WAL")
                    .map_err(|e| store.err(e))?;
                store.migrate_to(target)
            });
            match done {
                Err(StoreError::Sql { source, .. })
                    if is_busy(&source) && started.elapsed() < Duration::from_secs(10) =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                done => return done.map(|()| store),
            }
        }
    }

    /// Opens a history this process may not write, for reading, with SQLite's `immutable`
    /// flag: nothing is created beside it. Nobody can be writing a file nobody may write,
    /// but the flag also skips the `-wal` file, so one with calls in it is refused.
    fn open_immutable(path: &Path) -> Result<Self, StoreError> {
        let stale = || StoreError::ReadOnlyStale {
            path: path.to_path_buf(),
        };
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
            return Err(stale());
        }
        // A URI names the file: every byte but the unreserved ones is escaped, so a path's
        // `?`, `#`, `%` or leading `//` stays part of the path.
        let mut uri = String::from("file:");
        for &b in std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()) {
            if b.is_ascii_alphanumeric() || b"._~-".contains(&b) {
                uri.push(char::from(b));
            } else {
                uri.push_str(&format!("%{b:02X}"));
            }
        }
        uri.push_str("?immutable=1");
        let conn = Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let store = Self {
            conn,
            path: path.to_path_buf(),
        };
        if store.schema_version()? < STEPS.len() as i64 {
            return Err(stale());
        }
        Ok(store)
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        if is_not_a_database(&source) {
            StoreError::Corrupt {
                path: self.path.clone(),
            }
        } else {
            StoreError::Sql {
                path: self.path.clone(),
                source,
            }
        }
    }

    /// The schema version the file is at.
    pub fn version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// The schema version of a new (empty) database or a twoears history, read without
    /// writing: anything else is another program's, and is refused before twoears writes
    /// a byte to it (its tables, its `user_version`, its journal mode).
    fn schema_version(&self) -> Result<i64, StoreError> {
        let version = self.version()?;
        let objects: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version == 0 && objects == 0 {
            return Ok(0);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM pragma_table_info('calls')")
            .map_err(|e| self.err(e))?;
        let columns = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        // Step 1's columns, which every version keeps.
        let ours = version > 0
            && ["key", "name", "call_date", "stored_at", "report"]
                .iter()
                .all(|c| columns.iter().any(|n| n == c));
        if !ours {
            return Err(StoreError::Foreign {
                path: self.path.clone(),
            });
        }
        if version > STEPS.len() as i64 {
            return Err(StoreError::Newer {
                path: self.path.clone(),
                found: version,
                known: STEPS.len(),
            });
        }
        Ok(version)
    }

    /// Runs the schema steps up to `target`.
    fn migrate_to(&mut self, target: usize) -> Result<(), StoreError> {
        let from = usize::try_from(self.version()?).unwrap_or(0);
        if from >= target {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| StoreError::Sql {
                path: self.path.clone(),
                source: e,
            })?;
        // Another process may have upgraded it meanwhile.
        let again: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| StoreError::Sql {
                path: self.path.clone(),
                source: e,
            })?;
        for step in STEPS
            .iter()
            .take(target)
            .skip(usize::try_from(again).unwrap_or(0))
        {
            tx.execute_batch(step).map_err(|e| StoreError::Sql {
                path: self.path.clone(),
                source: e,
            })?;
        }
        tx.pragma_update(None, "user_version", target as i64)
            .and_then(|()| tx.commit())
            .map_err(|e| StoreError::Sql {
                path: self.path.clone(),
                source: e,
            })
    }

    /// Stores `call`, replacing an earlier record of the same call.
    ///
    /// # Errors
    /// The write failed.
    pub fn save(&self, call: &Call) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO calls (key, name, call_date, stored_at, duration_s, rep_s,
                    prospect_s, rep_ratio, longest_monologue_s, longest_story_s, questions,
                    interactivity, alerts, report, rep, share_transcripts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 ON CONFLICT(key) DO UPDATE SET name = excluded.name,
                    call_date = excluded.call_date, stored_at = excluded.stored_at,
                    duration_s = excluded.duration_s, rep_s = excluded.rep_s,
                    prospect_s = excluded.prospect_s, rep_ratio = excluded.rep_ratio,
                    longest_monologue_s = excluded.longest_monologue_s,
                    longest_story_s = excluded.longest_story_s,
                    questions = excluded.questions, interactivity = excluded.interactivity,
                    alerts = excluded.alerts, report = excluded.report, rep = excluded.rep,
                    share_transcripts = excluded.share_transcripts",
                params![
                    call.key,
                    call.name,
                    call.date,
                    call.stored_at,
                    call.duration_s,
                    call.rep_s,
                    call.prospect_s,
                    call.rep_ratio,
                    call.longest_monologue_s,
                    call.longest_story_s,
                    call.questions,
                    call.interactivity,
                    serde_json::to_string(&call.alerts).unwrap_or_default(),
                    call.report,
                    call.rep,
                    call.share_transcripts,
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The calls on or after `since` (YYYY-MM-DD) of `rep`, newest first.
    ///
    /// # Errors
    /// The read failed.
    pub fn calls(&self, since: Option<&str>, rep: Option<&str>) -> Result<Vec<Call>, StoreError> {
        let calls = self.select(
            "WHERE (?1 IS NULL OR call_date >= ?1) AND (?2 IS NULL OR rep = ?2)
             ORDER BY call_date DESC, stored_at DESC",
            params![since, rep],
            "'', 0",
        )?;
        Ok(calls.into_iter().map(|(c, _)| c).collect())
    }

    /// Queues the call `key` (its latest version) for the team store `store`.
    ///
    /// # Errors
    /// The write failed.
    pub fn queue(&self, key: &str, store: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO sends (key, store, version) VALUES (?1, ?2, 1)
                 ON CONFLICT(key, store) DO UPDATE SET version = version + 1, sent = 0",
                params![key, store],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Queues every call of this history for `store` (`history push --all`).
    ///
    /// # Errors
    /// The write failed.
    pub fn queue_all(&self, store: &str) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "INSERT INTO sends (key, store, version) SELECT key, ?1, 1 FROM calls WHERE true
                 ON CONFLICT(key, store) DO UPDATE SET version = version + 1, sent = 0",
                params![store],
            )
            .map_err(|e| self.err(e))
    }

    /// The calls queued for `store` and not sent since, with their reports and queued
    /// versions, oldest first.
    ///
    /// # Errors
    /// The read failed.
    pub fn unsent(&self, store: &str) -> Result<Vec<(Call, i64)>, StoreError> {
        self.select(
            "JOIN sends s ON s.key = calls.key AND s.store = ?1 WHERE s.sent = 0
             ORDER BY calls.stored_at, calls.key",
            params![store],
            "calls.report, s.version",
        )
    }

    /// Notes that `store` has `key` as queued at `version` (a newer save stays queued).
    ///
    /// # Errors
    /// The write failed.
    pub fn mark_sent(&self, key: &str, store: &str, version: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE sends SET sent = 1 WHERE key = ?1 AND store = ?2 AND version = ?3",
                params![key, store, version],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The calls `rest` (joins, filter, order) picks, each with `extra`: the report (or
    /// '') and a number.
    fn select(
        &self,
        rest: &str,
        args: impl rusqlite::Params,
        extra: &str,
    ) -> Result<Vec<(Call, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT calls.key, name, call_date, stored_at, duration_s, rep_s, prospect_s,
                    rep_ratio, longest_monologue_s, longest_story_s, questions, interactivity,
                    alerts, rep, share_transcripts, {extra}
                 FROM calls {rest}"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(args, |r| {
                let alerts: String = r.get(12)?;
                let call = Call {
                    key: r.get(0)?,
                    name: r.get(1)?,
                    date: r.get(2)?,
                    stored_at: r.get(3)?,
                    duration_s: r.get(4)?,
                    rep_s: r.get(5)?,
                    prospect_s: r.get(6)?,
                    rep_ratio: r.get(7)?,
                    longest_monologue_s: r.get(8)?,
                    longest_story_s: r.get(9)?,
                    questions: r.get(10)?,
                    interactivity: r.get(11)?,
                    alerts: serde_json::from_str(&alerts).unwrap_or_default(),
                    rep: r.get(13)?,
                    share_transcripts: r.get(14)?,
                    report: r.get(15)?,
                };
                Ok((call, r.get(16)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The stored report of the call `key`.
    ///
    /// # Errors
    /// The read failed.
    pub fn report(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT report FROM calls WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }
}
