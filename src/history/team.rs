//! A team's shared store: the same call records in PostgreSQL, one row per call key, with
//! the rep's name. Only figures and alerts are sent unless the rep shares transcripts;
//! audio never. The schema is versioned in the code, as the local file's is; the first
//! writer to arrive upgrades it under an advisory lock while the others wait.

use postgres::{Client, NoTls};

use super::address::TeamUrl;
use super::Call;

/// The schema, step by step (never edit a step that has shipped; add one).
const STEPS: &[&str] = &[
    // 1: one row per call.
    "CREATE TABLE twoears_calls (
        key TEXT PRIMARY KEY,
        rep TEXT NOT NULL,
        name TEXT NOT NULL,
        call_date DATE NOT NULL,
        stored_at BIGINT NOT NULL,
        duration_s DOUBLE PRECISION NOT NULL,
        rep_s DOUBLE PRECISION NOT NULL,
        prospect_s DOUBLE PRECISION NOT NULL,
        rep_ratio DOUBLE PRECISION,
        longest_monologue_s DOUBLE PRECISION NOT NULL,
        longest_story_s DOUBLE PRECISION NOT NULL,
        questions INTEGER,
        interactivity DOUBLE PRECISION NOT NULL,
        alerts JSONB NOT NULL,
        report JSONB NOT NULL,
        transcripts BOOLEAN NOT NULL,
        pushed_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX twoears_calls_by_rep ON twoears_calls (rep, call_date);",
];

/// Serialises schema upgrades across writers (any constant both sides agree on).
const SCHEMA_LOCK: i64 = 0x0074_776f_6561_7273; // "twoears"

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error(transparent)]
    Address(#[from] super::address::AddressError),
    /// The TLS settings could not be made (a root certificate file).
    #[error(transparent)]
    Tls(#[from] super::tls::TlsError),
    #[error("{label}: cannot reach the team store: {cause}")]
    Connect { label: String, cause: PgError },
    #[error("{label}: written by a newer twoears (schema {found}, this one knows {known}); update twoears")]
    Newer {
        label: String,
        found: i32,
        known: usize,
    },
    #[error("{label}: the team store failed: {cause}")]
    Sql {
        label: String,
        cause: PgError,
        /// The server refused the data itself (SQLSTATE classes 22 and 23), not the
        /// connection: trying again will not help.
        data: bool,
    },
}

impl TeamError {
    /// The server refused this call's data; other calls may still go through.
    pub fn is_data(&self) -> bool {
        matches!(self, Self::Sql { data: true, .. })
    }
}

pub struct TeamStore {
    client: Client,
    pub label: String,
}

/// The driver's error, shown in the server's own words (the driver's wrapper says little:
/// "db error"): the server's message, or the driver's chain of causes.
#[derive(Debug)]
pub struct PgError(pub postgres::Error);

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_db_error() {
            Some(db) => f.write_str(db.message()),
            None => f.write_str(&super::address::causes(&self.0)),
        }
    }
}

/// Whether the server refused the data rather than the request.
fn is_data(e: &postgres::Error) -> bool {
    e.code()
        .is_some_and(|c| c.code().starts_with("22") || c.code().starts_with("23"))
}

fn sql_error(label: &str, e: postgres::Error) -> TeamError {
    TeamError::Sql {
        label: label.to_string(),
        data: is_data(&e),
        cause: PgError(e),
    }
}

impl TeamStore {
    /// Connects to the store at `url` and brings its schema up to date.
    ///
    /// # Errors
    /// The URL is bad, the server is unreachable or refuses us, or its schema is newer.
    pub fn connect(url: &TeamUrl) -> Result<Self, TeamError> {
        let r = url.resolve()?;
        let label = r.label.clone();
        let connect_err = |e: postgres::Error| TeamError::Connect {
            label: label.clone(),
            cause: PgError(e),
        };
        let client = match &r.tls {
            None => r.config.connect(NoTls).map_err(connect_err)?,
            Some(check) => {
                let tls = super::tls::connector(check)?;
                r.config.connect(tls).map_err(connect_err)?
            }
        };
        let mut store = Self { client, label };
        store.migrate()?;
        Ok(store)
    }

    /// The server closed the connection (it restarted, or timed an idle one out).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    fn sql(&self, e: postgres::Error) -> TeamError {
        sql_error(&self.label, e)
    }

    /// Brings the schema up to date. A store already at this version is only read (a rep
    /// may have no right to create tables, a replica takes no writes).
    fn migrate(&mut self) -> Result<(), TeamError> {
        let label = self.label.clone();
        let sql = |e: postgres::Error| sql_error(&label, e);
        let known = STEPS.len();
        match self
            .client
            .query_opt("SELECT version FROM twoears_schema", &[])
        {
            Ok(Some(row)) if row.get::<_, i32>(0) as usize == known => return Ok(()),
            Ok(Some(row)) if row.get::<_, i32>(0) as usize > known => {
                return Err(TeamError::Newer {
                    label: label.clone(),
                    found: row.get(0),
                    known,
                })
            }
            Ok(_) => {}
            Err(e) if e.code() == Some(&postgres::error::SqlState::UNDEFINED_TABLE) => {}
            Err(e) => return Err(sql(e)),
        }
        let mut tx = self.client.transaction().map_err(sql)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .map_err(sql)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS twoears_schema (version INTEGER NOT NULL)")
            .map_err(sql)?;
        let at: i32 = match tx
            .query_opt("SELECT version FROM twoears_schema", &[])
            .map_err(sql)?
        {
            Some(row) => row.get(0),
            None => {
                tx.execute("INSERT INTO twoears_schema VALUES (0)", &[])
                    .map_err(sql)?;
                0
            }
        };
        if at as usize > STEPS.len() {
            return Err(TeamError::Newer {
                label: label.clone(),
                found: at,
                known: STEPS.len(),
            });
        }
        for step in STEPS.iter().skip(at as usize) {
            tx.batch_execute(step).map_err(sql)?;
        }
        tx.execute(
            "UPDATE twoears_schema SET version = $1",
            &[&(STEPS.len() as i32)],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// Stores `call` as `rep`'s, with `report` (already stripped of what stays local);
    /// an older version of a call never replaces a newer one, and a call stays filed under
    /// the rep who sent it first (a manager reviewing it again does not take it over).
    ///
    /// # Errors
    /// The write failed (the server went away, or refused it).
    pub fn save(
        &mut self,
        call: &Call,
        rep: &str,
        report: &serde_json::Value,
        transcripts: bool,
    ) -> Result<(), TeamError> {
        let alerts = serde_json::to_value(&call.alerts).unwrap_or_default();
        let questions = call.questions.map(|q| q as i32);
        self.client
            .execute(
                "INSERT INTO twoears_calls (key, rep, name, call_date, stored_at, duration_s,
                    rep_s, prospect_s, rep_ratio, longest_monologue_s, longest_story_s,
                    questions, interactivity, alerts, report, transcripts)
                 VALUES ($1, $2, $3, $4::text::date, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                    $14, $15, $16)
                 ON CONFLICT (key) DO UPDATE SET name = excluded.name,
                    call_date = excluded.call_date, stored_at = excluded.stored_at,
                    duration_s = excluded.duration_s, rep_s = excluded.rep_s,
                    prospect_s = excluded.prospect_s, rep_ratio = excluded.rep_ratio,
                    longest_monologue_s = excluded.longest_monologue_s,
                    longest_story_s = excluded.longest_story_s,
                    questions = excluded.questions, interactivity = excluded.interactivity,
                    alerts = excluded.alerts, report = excluded.report,
                    transcripts = excluded.transcripts, pushed_at = now()
                 WHERE twoears_calls.stored_at <= excluded.stored_at",
                &[
                    &call.key,
                    &rep,
                    &call.name,
                    &call.date,
                    &call.stored_at,
                    &call.duration_s,
                    &call.rep_s,
                    &call.prospect_s,
                    &call.rep_ratio,
                    &call.longest_monologue_s,
                    &call.longest_story_s,
                    &questions,
                    &call.interactivity,
                    &alerts,
                    report,
                    &transcripts,
                ],
            )
            .map(drop)
            .map_err(|e| self.sql(e))
    }

    /// The team's calls on or after `since` (of `rep`), newest first.
    ///
    /// # Errors
    /// The read failed.
    pub fn calls(
        &mut self,
        since: Option<&str>,
        rep: Option<&str>,
    ) -> Result<Vec<Call>, TeamError> {
        let rows = self
            .client
            .query(
                "SELECT key, name, call_date::text, stored_at, duration_s, rep_s, prospect_s,
                    rep_ratio, longest_monologue_s, longest_story_s, questions, interactivity,
                    alerts, rep
                 FROM twoears_calls
                 WHERE ($1::text IS NULL OR call_date >= $1::text::date)
                   AND ($2::text IS NULL OR rep = $2)
                 ORDER BY call_date DESC, stored_at DESC",
                &[&since, &rep],
            )
            .map_err(|e| self.sql(e))?;
        Ok(rows
            .iter()
            .map(|r| Call {
                key: r.get(0),
                name: r.get(1),
                date: r.get(2),
                stored_at: r.get(3),
                duration_s: r.get(4),
                rep_s: r.get(5),
                prospect_s: r.get(6),
                rep_ratio: r.get(7),
                longest_monologue_s: r.get(8),
                longest_story_s: r.get(9),
                questions: r.get::<_, Option<i32>>(10).map(i64::from),
                interactivity: r.get(11),
                alerts: serde_json::from_value(r.get(12)).unwrap_or_default(),
                rep: r.get(13),
                report: String::new(),
                share_transcripts: false,
            })
            .collect())
    }
}
