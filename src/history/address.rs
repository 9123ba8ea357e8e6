//! A team store's address: a `postgres://` URL completed as libpq completes one (the PG*
//! variables for what it leaves out, the password from `~/.pgpass`), with its TLS
//! (`sslmode`, `sslrootcert`). Messages name the store by `user@host:port/db`, never
//! with its password.

use std::path::{Path, PathBuf};
use std::time::Duration;

use postgres::config::{Host, SslMode};

use super::pgpass;
use super::tls::Check;

/// A `postgres://` URL as given (`--db`, `$TWOEARS_DB`).
#[derive(Clone, PartialEq, Eq)]
pub struct TeamUrl(String);

/// The URL's password must not reach a log through `{:?}`.
impl std::fmt::Debug for TeamUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TeamUrl({})", self.label())
    }
}

/// A connection's settings, completed.
pub struct Resolved {
    pub config: postgres::Config,
    /// None: no TLS (`sslmode=disable`, or a Unix socket, where libpq uses none either).
    pub tls: Option<Check>,
    pub label: String,
}

/// What a URL says by itself, before the environment completes it.
struct Parts {
    config: postgres::Config,
    sslmode: Option<String>,
    rootcert: Option<PathBuf>,
}

const MODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// Why a team store's address cannot be used. Never repeats the URL (it may hold a
/// password).
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    #[error("--db: sslmode={0} is not one of {modes}", modes = MODES.join(", "))]
    SslMode(String),
    #[error("PGSSLMODE={0} is not one of {modes}", modes = MODES.join(", "))]
    EnvSslMode(String),
    /// The driver's error, shown with its causes (the driver's own words say little).
    #[error("--db: not a PostgreSQL URL ({}); the form is postgres://USER@HOST:PORT/DATABASE", causes(.0))]
    NotPostgres(postgres::Error),
}

impl TeamUrl {
    /// A team store's URL (`postgres://` or `postgresql://`, any case).
    ///
    /// # Errors
    /// It is not a URL PostgreSQL takes, or its sslmode is unknown. The message never
    /// repeats the URL (it may hold a password).
    pub fn new(s: &str) -> Result<Self, AddressError> {
        let (scheme, rest) = s.split_once("://").unwrap_or(("", s));
        let url = Self(format!("{}://{rest}", scheme.to_ascii_lowercase()));
        url.parts()?;
        Ok(url)
    }

    /// `postgres://user@host:port/db`: the store named without its password.
    pub fn label(&self) -> String {
        self.resolve()
            .map_or_else(|_| "postgres://(an unreadable URL)".into(), |r| r.label)
    }

    fn parts(&self) -> Result<Parts, AddressError> {
        let (base, query) = self.0.split_once('?').unwrap_or((&self.0, ""));
        let mut sslmode = None;
        let mut rootcert = None;
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sslmode", v)) => sslmode = Some(decode(v)),
                Some(("sslrootcert", v)) => rootcert = Some(PathBuf::from(decode(v))),
                _ => rest.push(pair),
            }
        }
        if let Some(mode) = sslmode.as_deref().filter(|m| !MODES.contains(m)) {
            return Err(AddressError::SslMode(mode.to_string()));
        }
        let url = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        let config = url.parse().map_err(AddressError::NotPostgres)?;
        Ok(Parts {
            config,
            sslmode,
            rootcert,
        })
    }

    /// The settings to connect with: the URL completed from the PG* variables and
    /// `~/.pgpass`, with timeouts so a store that hangs cannot hold a review up.
    ///
    /// # Errors
    /// The URL is not one PostgreSQL takes.
    pub fn resolve(&self) -> Result<Resolved, AddressError> {
        let Parts {
            mut config,
            sslmode,
            rootcert,
        } = self.parts()?;
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if config.get_hosts().is_empty() {
            let host = env("PGHOST").unwrap_or_else(|| {
                if Path::new(pgpass::DEFAULT_SOCKET_DIR).exists() {
                    pgpass::DEFAULT_SOCKET_DIR.into()
                } else {
                    "localhost".into()
                }
            });
            if host.starts_with('/') {
                config.host_path(host);
            } else {
                config.host(&host);
            }
        }
        if config.get_ports().is_empty() {
            if let Some(port) = env("PGPORT").and_then(|p| p.parse().ok()) {
                config.port(port);
            }
        }
        if config.get_user().is_none() {
            config.user(&env("PGUSER").unwrap_or_else(login_name));
        }
        let user = config.get_user().unwrap_or_default().to_string();
        if config.get_dbname().is_none() {
            config.dbname(&env("PGDATABASE").unwrap_or_else(|| user.clone()));
        }
        let db = config.get_dbname().unwrap_or_default().to_string();
        let host = match &config.get_hosts()[0] {
            Host::Tcp(h) => h.clone(),
            Host::Unix(p) => p.display().to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        if config.get_password().is_none() {
            let from_file = || {
                let file = pgpass::default_file()?;
                let want = pgpass::Lookup {
                    host: &host,
                    port,
                    database: &db,
                    user: &user,
                };
                pgpass::password(&file, &want)
            };
            if let Some(pw) = env("PGPASSWORD").or_else(from_file) {
                config.password(pw);
            }
        }
        if config.get_connect_timeout().is_none() {
            // A store that is down must not hold a review up: the call waits locally.
            config.connect_timeout(Duration::from_secs(5));
        }
        // Nor one that hangs: a statement, a lock wait or a silent network path ends.
        let limits = "-c statement_timeout=30s -c lock_timeout=10s";
        let options = match config.get_options() {
            Some(o) => format!("{o} {limits}"),
            None => limits.into(),
        };
        config
            .options(&options)
            .keepalives_idle(Duration::from_secs(30))
            .tcp_user_timeout(Duration::from_secs(30))
            .application_name("twoears");
        let mode = sslmode
            .or_else(|| env("PGSSLMODE"))
            .unwrap_or_else(|| "prefer".into());
        let on_socket = config
            .get_hosts()
            .iter()
            .all(|h| matches!(h, Host::Unix(_)));
        // libpq: `require` checks the chain too when a root certificate is at hand.
        let home_root = std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".postgresql/root.crt"))
            .filter(|p| p.exists());
        let tls = match mode.as_str() {
            m if !MODES.contains(&m) => return Err(AddressError::EnvSslMode(m.to_string())),
            _ if on_socket => None,
            "disable" => None,
            "require" if rootcert.is_some() || home_root.is_some() => {
                Some(Check::Chain { roots: rootcert })
            }
            "allow" | "prefer" | "require" => Some(Check::None),
            "verify-ca" => Some(Check::Chain { roots: rootcert }),
            _ => Some(Check::Full { roots: rootcert }),
        };
        config.ssl_mode(match mode.as_str() {
            _ if tls.is_none() => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            _ => SslMode::Require,
        });
        Ok(Resolved {
            config,
            tls,
            label: format!("postgres://{user}@{host}:{port}/{db}"),
        })
    }
}

/// An error with its causes, one after the other.
pub(super) fn causes(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let more = inner.to_string();
        if !s.contains(&more) {
            s = format!("{s}: {more}");
        }
        source = inner.source();
    }
    s
}

/// libpq's default user: the login name.
pub fn login_name() -> String {
    if let Some(u) = std::env::var("USER").ok().filter(|u| !u.is_empty()) {
        return u;
    }
    // SAFETY: getpwuid returns null or a pointer to a static record, read at once.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if pw.is_null() {
            return "twoears".into();
        }
        std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_string_lossy()
            .into_owned()
    }
}

/// A URL query value, %-decoded.
fn decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_its_store_without_the_password() {
        let url = TeamUrl::new("PostgreSQL://dana:hunter2@db.example:6543/team").unwrap();
        let r = url.resolve().unwrap();
        assert_eq!(r.label, "postgres://dana@db.example:6543/team");
        assert_eq!(r.config.get_password(), Some(&b"hunter2"[..]));
        assert_eq!(r.tls, Some(Check::None), "TLS when the server offers it");
        assert!(!format!("{url:?}").contains("hunter2"));
        let Err(e) = TeamUrl::new("postgres://dana:hunter2@db.example:port/team") else {
            panic!("a bad port taken")
        };
        let e = e.to_string();
        assert!(e.contains("invalid") && !e.contains("hunter2"), "{e}");
    }

    #[test]
    fn tls_follows_sslmode_and_a_socket_has_none() {
        let r = TeamUrl::new(
            "postgres://u@db.example/team?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap()
        .resolve()
        .unwrap();
        assert_eq!(
            r.tls,
            Some(Check::Full {
                roots: Some("/etc/ca.pem".into())
            })
        );
        assert_eq!(r.config.get_ssl_mode(), SslMode::Require);
        let r = TeamUrl::new("postgres://u@%2Ftmp%2Fpg/team")
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(r.tls, None);
        assert_eq!(r.label, "postgres://u@/tmp/pg:5432/team");
        let Err(e) = TeamUrl::new("postgres://u@%2Ftmp%2Fpg/db?sslmode=always") else {
            panic!("sslmode=always taken")
        };
        assert!(e.to_string().contains("sslmode=always"), "{e}");
    }
}
