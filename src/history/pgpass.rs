//! `~/.pgpass` (or `$PGPASSFILE`), read as libpq reads it: `host:port:database:user:password`
//! lines, `*` matching anything, `\:` and `\\` escaped, the first match wins, and a file
//! that others can read is ignored (with a warning, as psql gives).

use std::path::{Path, PathBuf};

/// Where Debian's libpq looks for the server's socket; looked up as `localhost`.
pub const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// What a password is looked up for.
pub struct Lookup<'a> {
    pub host: &'a str,
    pub port: u16,
    pub database: &'a str,
    pub user: &'a str,
}

/// The password file libpq would read.
pub fn default_file() -> Option<PathBuf> {
    std::env::var_os("PGPASSFILE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass")))
}

/// The password for `want` in `file`, if the file exists, is private and has a match.
pub fn password(file: &Path, want: &Lookup) -> Option<String> {
    let meta = std::fs::metadata(file).ok()?;
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o077 != 0 {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            eprintln!(
                "twoears: warning: {}: ignored, others can read it; chmod 0600 it",
                file.display()
            );
        });
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| matching(line, want))
}

/// The password of `line` when its first four fields match `want`.
fn matching(line: &str, want: &Lookup) -> Option<String> {
    let fields = split(line);
    let [host, port, database, user, password, ..] = fields.as_slice() else {
        return None;
    };
    let port_s = want.port.to_string();
    let fits = |field: &str, value: &str| field == "*" || field == value;
    // libpq looks up its default socket folder as "localhost" (and only so).
    let want_host = if want.host.trim_end_matches('/') == DEFAULT_SOCKET_DIR {
        "localhost"
    } else {
        want.host
    };
    (fits(host, want_host)
        && fits(port, &port_s)
        && fits(database, want.database)
        && fits(user, want.user))
    .then(|| password.clone())
}

/// The colon-separated fields of a line, with `\:` and `\\` unescaped.
fn split(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("one field").push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(host: &str) -> Lookup<'_> {
        Lookup {
            host,
            port: 5432,
            database: "team",
            user: "dana",
        }
    }

    #[test]
    fn the_first_matching_line_wins_with_wildcards_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pgpass");
        std::fs::write(
            &f,
            "# comment\nother:5432:team:dana:no\ndb.example:*:team:dana:s\\:e\\\\cret:extra\n*:*:*:*:fallback\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            password(&f, &want("db.example")).as_deref(),
            Some("s:e\\cret")
        );
        assert_eq!(
            password(&f, &want("elsewhere")).as_deref(),
            Some("fallback")
        );
        std::fs::write(&f, "localhost:5432:team:dana:sock\n").unwrap();
        assert_eq!(
            password(&f, &want("/var/run/postgresql")).as_deref(),
            Some("sock"),
            "the default socket folder is looked up as localhost"
        );
        assert_eq!(password(&f, &want("/tmp/other-dir")), None);
        std::fs::write(&f, "/tmp/pg:5432:team:dana:path\n").unwrap();
        assert_eq!(password(&f, &want("/tmp/pg")).as_deref(), Some("path"));
    }

    #[test]
    fn a_file_others_can_read_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pgpass");
        std::fs::write(&f, "*:*:*:*:secret\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(password(&f, &want("h")), None);
    }
}
