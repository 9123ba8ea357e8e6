//! A throwaway PostgreSQL server for the team-store tests: Debian's `postgresql` package
//! (`initdb` + `pg_ctl`), its data and Unix socket in a temp dir, run as the `postgres`
//! user when the tests run as root (initdb refuses root). Stopped when dropped.

use std::path::PathBuf;
use std::process::{Command, Output};

/// How a test server listens.
#[derive(Default, Clone, Copy)]
pub struct Options<'a> {
    /// Also on 127.0.0.1 (TCP), where a password is needed when one is set.
    pub tcp: bool,
    /// TLS on TCP, with a self-signed certificate for `localhost`.
    pub tls: bool,
    /// The superuser's password (TCP only; the socket trusts).
    pub password: Option<&'a str>,
}

pub struct Postgres {
    _dir: tempfile::TempDir,
    pub dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
    start_args: String,
    pub log: PathBuf,
}

/// The folder with initdb and pg_ctl: on PATH, else Debian's newest version.
fn bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists())
        .collect();
    found.sort_by_key(|b| {
        b.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    found
        .pop()
        .expect("no PostgreSQL server: apt-get install postgresql (scripts/setup.sh installs it)")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Postgres {
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    pub fn start_with(opts: Options) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let bin = bindir();
        let port = free_port();
        if let Some(pw) = opts.password {
            std::fs::write(dir.join("pw"), pw).unwrap();
        }
        let mut initdb = vec![
            bin.join("initdb").display().to_string(),
            "-D".into(),
            dir.join("data").display().to_string(),
            "-U".into(),
            "twoears".into(),
            "-E".into(),
            "UTF8".into(),
            "--no-sync".into(),
            "--auth-local=trust".into(),
        ];
        if opts.password.is_some() {
            initdb.push("--auth-host=scram-sha-256".into());
            initdb.push(format!("--pwfile={}", dir.join("pw").display()));
        } else {
            initdb.push("--auth-host=trust".into());
        }
        let mut settings = format!(
            "-k {} -p {port} -c fsync=off -c log_connections=on -c listen_addresses={}",
            dir.display(),
            if opts.tcp { "127.0.0.1" } else { "''" }
        );
        if opts.tls {
            // A test CA (ca.crt, for sslrootcert) and the server's certificate from it.
            let openssl = |args: &[&str]| {
                let out = Command::new("openssl")
                    .args(args)
                    .current_dir(&dir)
                    .output()
                    .expect("openssl (apt-get install openssl)");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n").unwrap();
            openssl(
                &[
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                ]
                .iter()
                .chain(&[
                    "-subj",
                    "/CN=twoears test CA",
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.crt",
                ])
                .copied()
                .collect::<Vec<_>>(),
            );
            openssl(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ]);
            openssl(&[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "san.ext",
                "-out",
                "server.crt",
            ]);
            settings += &format!(
                " -c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
                dir.display()
            );
        }
        let log = dir.join("server.log");
        let pg = Self {
            _dir: tmp,
            dir,
            port,
            bin,
            start_args: settings,
            log,
        };
        pg.own_files();
        let out = pg.as_server(&initdb);
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.start_again();
        pg
    }

    /// As root, the server's files must be the `postgres` user's.
    fn own_files(&self) {
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&self.dir)
                .status()
                .expect("chown");
            assert!(ok.success());
            if self.dir.join("server.key").exists() {
                std::fs::set_permissions(
                    self.dir.join("server.key"),
                    std::os::unix::fs::PermissionsExt::from_mode(0o600),
                )
                .unwrap();
            }
        }
    }

    fn as_server(&self, args: &[String]) -> Output {
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).args(args);
            c
        } else {
            let mut c = Command::new(&args[0]);
            c.args(&args[1..]);
            c
        };
        cmd.output().expect("run a PostgreSQL program")
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        let mut all = vec![
            self.bin.join("pg_ctl").display().to_string(),
            "-D".into(),
            self.dir.join("data").display().to_string(),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        self.as_server(&all)
    }

    /// Starts the server (again), and waits until it takes connections.
    pub fn start_again(&self) {
        let log = self.log.display().to_string();
        let out = self.pg_ctl(&["-w", "-l", &log, "-o", &self.start_args, "start"]);
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// Kills the server as a crash would (no shutdown checkpoint).
    pub fn kill(&self) {
        let out = self.pg_ctl(&["-w", "-m", "immediate", "stop"]);
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The URL of the `postgres` database over the Unix socket.
    pub fn url(&self) -> String {
        format!(
            "postgres:///postgres?host={}&port={}&user=twoears",
            self.dir.display(),
            self.port
        )
    }

    /// A client on the socket, for the test's own checks.
    pub fn client(&self) -> postgres::Client {
        postgres::Config::new()
            .host_path(&self.dir)
            .port(self.port)
            .user("twoears")
            .dbname("postgres")
            .connect(postgres::NoTls)
            .expect("connect to the test server")
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.client().query_one(sql, &[]).unwrap().get(0)
    }

    pub fn server_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
    }
}
