//! A team store's address: a `postgres://` URL completed as libpq completes one (the PG*
//! variables for what it leaves out, the password from `~/.pgpass`), with its TLS
//! (`sslmode`, `sslrootcert`). Messages name the store by `user@host:port/db`, never
//! with its password.

use std::path::PathBuf;
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

impl TeamUrl {
    /// A team store's URL, if `s` is one.
    pub fn parse(s: &str) -> Option<Self> {
        (s.starts_with("postgres://") || s.starts_with("postgresql://")).then(|| Self(s.into()))
    }

    /// `postgres://user@host:port/db`: the store named without its password.
    pub fn label(&self) -> String {
        self.resolve()
            .map_or_else(|_| "postgres://(an unreadable URL)".into(), |r| r.label)
    }

    /// The settings to connect with.
    ///
    /// # Errors
    /// The URL is not one PostgreSQL takes.
    pub fn resolve(&self) -> Result<Resolved, String> {
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
        let url = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        let mut config: postgres::Config = url.parse().map_err(|e| {
            format!(
                "--db: not a PostgreSQL URL ({e}); the form is postgres://USER@HOST:PORT/DATABASE"
            )
        })?;
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if config.get_hosts().is_empty() {
            let host = env("PGHOST").unwrap_or_else(|| {
                let socket = "/var/run/postgresql";
                if std::path::Path::new(socket).exists() {
                    socket.into()
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
        config.application_name("twoears");
        let mode = sslmode
            .or_else(|| env("PGSSLMODE"))
            .unwrap_or_else(|| "prefer".into());
        let on_socket = config
            .get_hosts()
            .iter()
            .all(|h| matches!(h, Host::Unix(_)));
        let tls = match mode.as_str() {
            _ if on_socket => None,
            "disable" => None,
            "allow" | "prefer" | "require" => Some(Check::None),
            "verify-ca" => Some(Check::Chain { roots: rootcert }),
            "verify-full" => Some(Check::Full { roots: rootcert }),
            other => {
                return Err(format!(
                    "--db: sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ))
            }
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
        let url = TeamUrl::parse("postgres://dana:hunter2@db.example:6543/team").unwrap();
        let r = url.resolve().unwrap();
        assert_eq!(r.label, "postgres://dana@db.example:6543/team");
        assert_eq!(r.config.get_password(), Some(&b"hunter2"[..]));
        assert_eq!(r.tls, Some(Check::None), "TLS when the server offers it");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!(TeamUrl::parse("/home/dana/history.sqlite").is_none());
    }

    #[test]
    fn tls_follows_sslmode_and_a_socket_has_none() {
        let r = TeamUrl::parse(
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
        let r = TeamUrl::parse("postgres://u@%2Ftmp%2Fpg/team")
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(r.tls, None);
        assert_eq!(r.label, "postgres://u@/tmp/pg:5432/team");
        let bad = TeamUrl::parse("postgres://u@h/db?sslmode=always").unwrap();
        let Err(e) = bad.resolve() else {
            panic!("sslmode=always taken")
        };
        assert!(e.contains("sslmode=always"), "{e}");
    }
}
