//! The rep's history across calls: every `review` and `listen` stores its report in a
//! local SQLite file (the user data dir, or `--db PATH`), keyed by the audio's hash (a
//! live call: its own id), so reviewing a file again updates one record. `twoears
//! history` lists the calls and, with `--trends`, how the figures moved week by week.
//! With `--db postgres://...` the calls also go to a team's shared store (`team`), sent
//! from the local file (`push`) so a server that is down loses nothing.

pub mod address;
mod pgpass;
pub mod push;
mod store;
pub mod team;
mod tls;
pub mod trends;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use address::TeamUrl;
use serde::Serialize;
pub use store::{Store, StoreError};
pub use team::{TeamError, TeamStore};

/// One call as the history keeps it: the figures a trend is made of, and the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Call {
    pub key: String,
    pub name: String,
    /// The day of the call (YYYY-MM-DD).
    pub date: String,
    /// When it was stored (Unix seconds).
    pub stored_at: i64,
    pub rep: Option<String>,
    pub duration_s: f64,
    pub rep_s: f64,
    pub prospect_s: f64,
    /// Null when nobody spoke.
    pub rep_ratio: Option<f64>,
    pub longest_monologue_s: f64,
    pub longest_story_s: f64,
    /// Null without speech-to-text.
    pub questions: Option<i64>,
    pub interactivity: f64,
    /// Alerts by kind.
    pub alerts: BTreeMap<String, u32>,
    #[serde(skip)]
    pub report: String,
    /// The rep shares this call's transcript with the team store.
    #[serde(skip)]
    pub share_transcripts: bool,
}

/// `--db`: a local SQLite file, or a team's PostgreSQL (whose calls are also kept in the
/// local file, the default one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Db {
    File(PathBuf),
    Team(TeamUrl),
}

impl Db {
    /// A `postgres://` URL (any case) is a team store; anything else with a `scheme:` is
    /// refused, so a mistyped URL never becomes a file named after it.
    ///
    /// # Errors
    /// A URL that is not a PostgreSQL one, or not a valid one (the message does not
    /// repeat it: it may hold a password).
    pub fn parse(s: &str) -> Result<Self, String> {
        let scheme = s.split_once(':').map(|(h, _)| h.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("postgres" | "postgresql") => {
                TeamUrl::new(s).map(Self::Team).map_err(|e| e.to_string())
            }
            Some(h) if s.contains("://") || h.starts_with("postgres") => Err(format!(
                "{h}: is not a store twoears knows; pass a file path or postgres://USER@HOST:PORT/DB"
            )),
            _ => Ok(Self::File(s.into())),
        }
    }

    /// The local file: the given one, or the default beside a team store.
    pub fn local(&self) -> Option<PathBuf> {
        match self {
            Self::File(p) => Some(p.clone()),
            Self::Team(_) => default_path(),
        }
    }
}

/// After a team store failed, a run waits this long before it tries again (a batch does
/// not wait out a dead server once per call).
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// A run's connection to its team store, kept across its calls.
#[derive(Default)]
enum Link {
    #[default]
    Untried,
    Up(Box<TeamStore>),
    Down(Instant),
}

#[derive(Default, Clone)]
struct SharedLink(Arc<Mutex<Link>>);

impl std::fmt::Debug for SharedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedLink")
    }
}

/// Where a run keeps its calls: the local file, and a team store if there is one.
#[derive(Debug, Clone)]
pub struct Keep {
    pub local: Option<PathBuf>,
    pub team: Option<TeamUrl>,
    pub rep: Option<String>,
    pub share_transcripts: bool,
    link: SharedLink,
}

impl Keep {
    /// From `--db` (default: the local file) and the rep's choices.
    pub fn new(db: Option<&Db>, rep: Option<String>, share_transcripts: bool) -> Self {
        Self {
            local: db.map_or_else(default_path, Db::local),
            team: match db {
                Some(Db::Team(url)) => Some(url.clone()),
                _ => None,
            },
            rep,
            share_transcripts,
            link: SharedLink::default(),
        }
    }

    /// The rep a team store files calls under: `--rep-name`, else the login name.
    pub fn rep_or_login(&self) -> String {
        self.rep.clone().unwrap_or_else(address::login_name)
    }

    /// Stores `call` here (queued for the team store), then sends the team store what is
    /// queued for it. What failed is returned as warnings: a call is never lost for a store
    /// that is down.
    pub fn store(&self, mut call: Call) -> Vec<String> {
        call.share_transcripts = self.share_transcripts;
        let label = self.team.as_ref().map(TeamUrl::label);
        let mut warnings = Vec::new();
        let local = match &self.local {
            Some(path) => {
                let saved = Store::open(path).and_then(|s| {
                    s.save(&call)?;
                    if let Some(label) = &label {
                        s.queue(&call.key, label)?;
                    }
                    Ok(s)
                });
                match saved {
                    Ok(s) => Some(s),
                    Err(e) => {
                        warnings.push(format!("not stored in the history: {e}"));
                        None
                    }
                }
            }
            None => {
                warnings
                    .push("not stored in the history: no home directory; pass --db PATH".into());
                None
            }
        };
        let Some(url) = &self.team else {
            return warnings;
        };
        let waits = if local.is_some() {
            "; the call waits on this machine for `twoears history push`"
        } else {
            ""
        };
        let mut link = self.link.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Link::Down(at) = *link {
            if at.elapsed() < RETRY_AFTER {
                warnings.push(format!(
                    "not sent to the team store (unreachable a moment ago){waits}"
                ));
                return warnings;
            }
        }
        // A kept connection the server has closed since (a restart, an idle timeout) is
        // opened again, not reported as a failure.
        let usable = matches!(&*link, Link::Up(team) if !team.is_closed());
        if !usable {
            match TeamStore::connect(url) {
                Ok(team) => *link = Link::Up(Box::new(team)),
                Err(e) => {
                    *link = Link::Down(Instant::now());
                    warnings.push(format!(
                        "not sent to the team store: {}{waits}",
                        crate::term::chain(&e)
                    ));
                    return warnings;
                }
            }
        }
        let Link::Up(team) = &mut *link else {
            return warnings;
        };
        let rep = self.rep_or_login();
        let sent = match &local {
            // Calls refused earlier wait for `history push`; only this call's refusal is
            // this call's news.
            Some(store) => push::push(store, team, &rep, false)
                .map(|p| {
                    p.refused
                        .into_iter()
                        .filter(|(key, _)| *key == call.key)
                        .map(|(_, r)| r)
                        .collect()
                })
                .map_err(|e| {
                    let waits = if matches!(e, push::PushError::Team { .. }) {
                        ""
                    } else {
                        waits
                    };
                    format!("{e}{waits}")
                }),
            // Without a local file the call goes straight to the team store.
            None => {
                let report = push::shareable(&call.report, call.share_transcripts);
                let who = call.rep.as_deref().unwrap_or(&rep);
                team.save(&call, who, &report, call.share_transcripts)
                    .map(|()| Vec::new())
                    .map_err(|e| e.to_string())
            }
        };
        match sent {
            Ok(refused) => {
                warnings.extend(refused.into_iter().map(|r| {
                    format!("the team store refused {r}; it stays queued on this machine")
                }))
            }
            Err(e) => {
                *link = Link::Down(Instant::now());
                warnings.push(format!("not sent to the team store: {e}"));
            }
        }
        warnings
    }
}

/// Where the history lives by default: `$XDG_DATA_HOME/twoears/history.sqlite`
/// (`~/.local/share/...`), or the platform's data dir.
pub fn default_path() -> Option<PathBuf> {
    crate::model::store::user_data_dir().map(|d| d.join("history.sqlite"))
}

/// A key for a live call, which has no file to hash: its start and this process.
pub fn live_key(id: &str) -> String {
    format!("live:{id}:{}", std::process::id())
}

impl Call {
    /// The history's record of a report (`twoears.report/1`). `key` defaults to the
    /// audio's sha256 from the report's source; `date` to the recording's date.
    pub fn of_report(
        report: &serde_json::Value,
        name: &str,
        key: Option<String>,
        date: Option<String>,
        rep: Option<&str>,
    ) -> Option<Self> {
        let talk = &report["talk"];
        let f = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
        let key = key.or_else(|| report["source"]["audio_sha256"].as_str().map(String::from))?;
        let date = date
            .or_else(|| report["source"]["recorded"].as_str().map(String::from))
            .unwrap_or_else(crate::clock::today);
        let (rep_s, prospect_s) = (f(&talk["rep_s"]), f(&talk["prospect_s"]));
        let mut alerts = BTreeMap::new();
        for a in report["alerts"].as_array().into_iter().flatten() {
            if let Some(k) = a["kind"].as_str() {
                *alerts.entry(k.to_string()).or_insert(0) += 1;
            }
        }
        Some(Self {
            key,
            name: name.into(),
            date,
            stored_at: crate::clock::now_s(),
            rep: rep.map(String::from),
            duration_s: f(&report["duration_s"]),
            rep_s,
            prospect_s,
            rep_ratio: (rep_s + prospect_s > 0.0).then(|| f(&talk["rep_ratio"])),
            longest_monologue_s: f(&talk["longest_monologue_s"]["rep"]),
            longest_story_s: f(&talk["longest_monologue_s"]["prospect"]),
            questions: report["model"]
                .is_string()
                .then(|| talk["rep_questions"].as_i64())
                .flatten(),
            interactivity: f(&talk["interactivity_per_min"]),
            alerts,
            report: report.to_string(),
            share_transcripts: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> serde_json::Value {
        serde_json::json!({
            "schema": "twoears.report/1", "duration_s": 94.3, "model": "tiny.en",
            "talk": {"rep_s": 40.0, "prospect_s": 44.0, "rep_ratio": 0.476,
                     "longest_monologue_s": {"rep": 15.0, "prospect": 16.0},
                     "interactivity_per_min": 6.0, "rep_questions": 5},
            "alerts": [{"kind": "pitch"}, {"kind": "pitch"}, {"kind": "monologue"}],
            "source": {"audio_sha256": "abc", "recorded": "2026-11-02"}
        })
    }

    #[test]
    fn a_report_becomes_a_record_keyed_by_its_audio() {
        let c = Call::of_report(&report(), "mon", None, None, Some("dana")).unwrap();
        assert_eq!((c.key.as_str(), c.date.as_str()), ("abc", "2026-11-02"));
        assert_eq!(c.rep_ratio, Some(0.476));
        assert_eq!(c.questions, Some(5));
        assert_eq!(c.alerts["pitch"], 2);
        let mut no_stt = report();
        no_stt["model"] = serde_json::Value::Null;
        no_stt["source"] = serde_json::json!({});
        assert!(
            Call::of_report(&no_stt, "x", None, None, None).is_none(),
            "no key"
        );
        let c = Call::of_report(&no_stt, "x", Some("live:1".into()), None, None).unwrap();
        assert_eq!(c.questions, None, "no questions without speech-to-text");
    }

    #[test]
    fn the_same_call_twice_is_one_record_and_an_old_file_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        {
            // A version-1 history with one call in it.
            let old = Store::open_to(&path, 1).unwrap();
            assert_eq!(old.version().unwrap(), 1);
        }
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO calls VALUES ('k0', 'old', '2026-10-01', 1, 60, 30, 30, 0.5, 10, 10,
             3, 4, '{}', '{}')",
            [],
        )
        .unwrap();
        drop(conn);
        let s = Store::open(&path).unwrap();
        assert_eq!(s.version().unwrap(), 3);
        let c = Call::of_report(&report(), "mon", None, None, None).unwrap();
        s.save(&c).unwrap();
        s.save(&Call {
            name: "mon again".into(),
            ..c.clone()
        })
        .unwrap();
        let all = s.calls(None, None).unwrap();
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(
            all[0].name, "mon again",
            "newest first, one record per call"
        );
        assert_eq!(all[1].key, "k0", "the old call kept");
        assert_eq!(s.calls(Some("2026-11-01"), None).unwrap().len(), 1);
        assert!(s.report("abc").unwrap().unwrap().contains("tiny.en"));
    }

    #[test]
    fn a_call_is_sent_to_a_store_only_when_queued_for_it_and_a_newer_save_stays_queued() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("h.sqlite")).unwrap();
        let a = Call::of_report(&report(), "a", Some("ka".into()), None, None).unwrap();
        let b = Call::of_report(&report(), "b", Some("kb".into()), None, None).unwrap();
        s.save(&a).unwrap();
        s.save(&b).unwrap();
        s.queue("ka", "team").unwrap();
        let unsent = s.unsent("team").unwrap();
        assert_eq!(unsent.len(), 1, "b was stored without the team store");
        assert!(unsent[0].0.report.contains("tiny.en"), "with its report");
        let version = unsent[0].1;
        // Saved again (queued again) while the first version was on its way.
        s.queue("ka", "team").unwrap();
        s.mark_sent("ka", "team", version).unwrap();
        assert_eq!(
            s.unsent("team").unwrap().len(),
            1,
            "the newer save still waits"
        );
        s.mark_sent("ka", "team", s.unsent("team").unwrap()[0].1)
            .unwrap();
        assert!(s.unsent("team").unwrap().is_empty());
        assert!(s.unsent("other").unwrap().is_empty(), "per store");
        assert_eq!(s.queue_all("team").unwrap(), 2);
        assert_eq!(s.unsent("team").unwrap().len(), 2);
    }

    #[test]
    fn a_mistyped_url_is_refused_not_taken_for_a_file() {
        assert!(matches!(Db::parse("/home/d/h.sqlite"), Ok(Db::File(_))));
        assert!(matches!(Db::parse("h.sqlite"), Ok(Db::File(_))));
        assert!(matches!(Db::parse("POSTGRES://u@h/db"), Ok(Db::Team(_))));
        for bad in [
            "postgress://u:pw@h/db",
            "postgresql:/u@h/db",
            "mysql://u@h/db",
        ] {
            let e = Db::parse(bad).unwrap_err();
            assert!(!e.contains("pw@"), "{e}");
        }
    }

    #[test]
    fn a_newer_history_is_told_apart_from_another_programs_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        drop(Store::open(&path).unwrap());
        rusqlite::Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 9)
            .unwrap();
        let err = Store::open(&path).err().expect("refused");
        assert!(matches!(err, StoreError::Newer { found: 9, .. }), "{err}");
        // No tables but a schema version: someone else's.
        let other = dir.path().join("o.sqlite");
        rusqlite::Connection::open(&other)
            .unwrap()
            .pragma_update(None, "user_version", 1)
            .unwrap();
        let err = Store::open(&other).err().expect("refused");
        assert!(matches!(err, StoreError::Foreign { .. }), "{err}");
    }

    #[test]
    fn a_file_that_is_no_database_is_named_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        std::fs::write(&path, vec![7u8; 8192]).unwrap();
        let err = Store::open(&path).err().expect("refused");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("h.sqlite"));
        assert_eq!(std::fs::read(&path).unwrap(), vec![7u8; 8192]);
    }
}
