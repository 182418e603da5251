//! Database servers of a test's own, for tests that stop, restart or reconfigure a server
//! (the shared servers of `scripts/servers.sh` are never touched): a fresh data directory
//! under the temp dir, a free loopback port, and optionally TLS with a certificate for
//! `localhost` from a CA the test makes, logical WAL (PostgreSQL) or a row binlog
//! (MariaDB). Dropping the value stops the server and removes its directory, also when the
//! test panics. Needs the server binaries (`scripts/servers.sh` installs them) and root
//! (PostgreSQL runs as `postgres`, MariaDB as `mysql`).

use crate::{free_port, unique_name};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A CA, and a server certificate for `localhost` it signed (PEM).
#[derive(Clone)]
pub struct TestCerts {
    /// The CA's certificate: what a client trusts (`sslrootcert`, `ssl-ca`).
    pub ca: String,
    /// The server's certificate.
    pub cert: String,
    /// The server's private key.
    pub key: String,
}

impl TestCerts {
    /// A new CA named `ca_name` and a certificate for `localhost` from it.
    pub fn for_localhost(ca_name: &str) -> TestCerts {
        let ca_key = KeyPair::generate().expect("key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, ca_name);
        let ca_cert = ca.self_signed(&ca_key).expect("ca");
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().expect("key");
        let server = CertificateParams::new(vec!["localhost".to_string()])
            .expect("params")
            .signed_by(&key, &issuer)
            .expect("server cert");
        TestCerts {
            ca: ca_cert.pem(),
            cert: server.pem(),
            key: key.serialize_pem(),
        }
    }
}

fn sh(cmd: &mut Command) {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fresh_dir(kind: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name(kind));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// How a [`PrivatePg`] is set up.
#[derive(Clone, Default)]
pub struct PgOptions {
    /// `wal_level = logical` (with room for slots and senders).
    pub logical: bool,
    /// Serve TLS with these certificates.
    pub tls: Option<TestCerts>,
    /// With `tls`: accept TCP connections over TLS only (`hostssl` in pg_hba.conf).
    pub tls_only: bool,
}

/// A PostgreSQL server of the test's own (user `postgres`, trust authentication).
pub struct PrivatePg {
    bin: PathBuf,
    /// Its directory: the data directory `data`, the log `pg.log`, certificates, `ca.pem`.
    pub dir: PathBuf,
    /// Its loopback port.
    pub port: u16,
}

fn pg_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect(
            "PostgreSQL server binaries under /usr/lib/postgresql (scripts/servers.sh start pg)",
        )
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop().expect("pg_ctl")
}

impl PrivatePg {
    /// initdb and start a server as `options` say.
    pub fn start(options: &PgOptions) -> PrivatePg {
        let bin = pg_bin();
        let dir = fresh_dir("ferry_pg");
        let data = dir.join("data");
        let port = free_port();
        // Made first, so a failure from here on still removes the directory.
        let pg = PrivatePg {
            bin: bin.clone(),
            dir: dir.clone(),
            port,
        };
        let mut conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{d}'\nfsync = off\n",
            d = dir.display()
        );
        if options.logical {
            conf.push_str(
                "wal_level = logical\nmax_replication_slots = 10\nmax_wal_senders = 10\n",
            );
        }
        let mut hba = String::from("local all all trust\n");
        if let Some(certs) = &options.tls {
            std::fs::write(dir.join("server.crt"), &certs.cert).expect("crt");
            std::fs::write(dir.join("server.key"), &certs.key).expect("key");
            std::fs::write(dir.join("ca.pem"), &certs.ca).expect("ca");
            conf.push_str(&format!(
                "ssl = on\nssl_cert_file = '{d}/server.crt'\nssl_key_file = '{d}/server.key'\n",
                d = dir.display()
            ));
        }
        let host = if options.tls.is_some() && options.tls_only {
            "hostssl"
        } else {
            "host"
        };
        for db in ["all", "replication"] {
            hba.push_str(&format!("{host} {db} all 127.0.0.1/32 trust\n"));
        }
        sh(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir));
        if options.tls.is_some() {
            sh(Command::new("chmod").arg("600").arg(dir.join("server.key")));
        }
        sh(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth-local=trust", "--auth-host=trust"]));
        let mut pg_conf = std::fs::read_to_string(data.join("postgresql.conf")).expect("conf");
        pg_conf.push_str(&conf);
        std::fs::write(data.join("postgresql.conf"), pg_conf).expect("conf");
        std::fs::write(data.join("pg_hba.conf"), hba).expect("hba");
        pg.up();
        pg
    }

    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(args)
            .output()
            .expect("pg_ctl runs")
    }

    /// Start the (stopped) server again, on the same port.
    pub fn up(&self) {
        let log = self.dir.join("pg.log").display().to_string();
        let out = self.pg_ctl(&["-l", &log, "-w", "-t", "60", "start"]);
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.join("pg.log")).unwrap_or_default()
        );
    }

    /// Stop the server with a fast shutdown (sessions are ended, a checkpoint is written).
    pub fn stop(&self) {
        let out = self.pg_ctl(&["-m", "fast", "-w", "-t", "60", "stop"]);
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stop (fast), then start again.
    pub fn restart(&self) {
        self.stop();
        self.up();
    }

    /// The URL of database `db` as user `postgres`, on `host` (`127.0.0.1` or `localhost`,
    /// which the test certificate names), with `params` (`?sslmode=...` or empty).
    pub fn url(&self, host: &str, db: &str, params: &str) -> String {
        format!("postgres://postgres@{host}:{}/{db}{params}", self.port)
    }

    /// The CA file of a server started with TLS.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Connection parameters for database `db` over the server's Unix socket (no TLS
    /// needed, whatever pg_hba.conf asks of TCP connections): for the test's own clients.
    pub fn socket(&self, db: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={db}",
            self.dir.display(),
            self.port
        )
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How a [`PrivateMariaDb`] is set up.
#[derive(Clone, Default)]
pub struct MariaDbOptions {
    /// Binary logging in row format with full row images (a replication source).
    pub binlog: bool,
    /// Serve TLS with these certificates.
    pub tls: Option<TestCerts>,
    /// Keep the grant tables (ferry reads its grants, which a server without them refuses),
    /// with `root@127.0.0.1` allowed everything without a password. Without, every session
    /// may do everything with any password (an IAM token included).
    pub grants: bool,
    /// More `mariadbd` options (`--performance-schema=ON`, ...).
    pub extra: Vec<String>,
}

/// A MariaDB server of the test's own (user `root` without a password: the grant tables
/// are skipped, so every session may do everything, replication included).
pub struct PrivateMariaDb {
    /// Its directory: the data directory `data`, the log `error.log`, certificates.
    pub dir: PathBuf,
    /// Its loopback port.
    pub port: u16,
    options: MariaDbOptions,
    child: Option<Child>,
}

impl PrivateMariaDb {
    /// Install a data directory and start a server as `options` say.
    pub fn start(options: &MariaDbOptions) -> PrivateMariaDb {
        let dir = fresh_dir("ferry_mariadb");
        std::fs::create_dir_all(dir.join("data")).expect("dir");
        // Its own temp dir: servers bootstrapping side by side collide in a shared one.
        std::fs::create_dir_all(dir.join("tmp")).expect("dir");
        if let Some(certs) = &options.tls {
            for (name, text) in [
                ("server.pem", &certs.cert),
                ("server.key", &certs.key),
                ("ca.pem", &certs.ca),
            ] {
                std::fs::write(dir.join(name), text).expect("write cert");
            }
        }
        // Made first, so a failure from here on still removes the directory.
        let mut server = PrivateMariaDb {
            dir,
            port: free_port(),
            options: options.clone(),
            child: None,
        };
        let dir = &server.dir;
        sh(Command::new("chown").args(["-R", "mysql:mysql"]).arg(dir));
        sh(Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                "--user=mysql",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg(format!("--tmpdir={}", dir.join("tmp").display())));
        server.up();
        if options.grants {
            sh(Command::new("mariadb")
                .arg(format!("--socket={}", server.file("mysqld.sock")))
                .args([
                    "-uroot",
                    "-e",
                    "CREATE USER IF NOT EXISTS root@'127.0.0.1'; \
                     GRANT ALL ON *.* TO root@'127.0.0.1' WITH GRANT OPTION",
                ]));
        }
        server
    }

    fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// Start the (stopped) server again, on the same port.
    pub fn up(&mut self) {
        let _ = std::fs::remove_file(self.dir.join("mysqld.pid"));
        let mut cmd = Command::new("mariadbd");
        cmd.args([
            "--no-defaults",
            "--user=mysql",
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--innodb-flush-log-at-trx-commit=2",
        ]);
        if !self.options.grants {
            cmd.arg("--skip-grant-tables");
        }
        cmd.arg(format!("--datadir={}", self.file("data")))
            .arg(format!("--tmpdir={}", self.file("tmp")))
            .arg(format!("--port={}", self.port))
            .arg(format!("--socket={}", self.file("mysqld.sock")))
            .arg(format!("--pid-file={}", self.file("mysqld.pid")))
            .arg(format!("--log-error={}", self.file("error.log")));
        if self.options.binlog {
            cmd.args([
                "--log-bin=mysql-bin",
                "--binlog-format=ROW",
                "--binlog-row-image=FULL",
                "--server-id=1",
            ]);
        }
        if self.options.tls.is_some() {
            cmd.arg(format!("--ssl-cert={}", self.file("server.pem")))
                .arg(format!("--ssl-key={}", self.file("server.key")))
                .arg(format!("--ssl-ca={}", self.file("ca.pem")));
        }
        cmd.args(&self.options.extra);
        self.child = Some(cmd.spawn().expect("mariadbd starts"));
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err()
            || !self.dir.join("mysqld.pid").exists()
        {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "mariadbd did not start: {}",
                std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stop the server with a normal shutdown (SIGTERM), and wait until it has exited.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if start.elapsed() > Duration::from_secs(60) {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Stop, then start again.
    pub fn restart(&mut self) {
        self.stop();
        self.up();
    }

    /// The URL of database `db` as `root`, on `host` (`127.0.0.1` or `localhost`, which
    /// the test certificate names), with `params` (`?ssl-mode=...` or empty).
    pub fn url(&self, host: &str, db: &str, params: &str) -> String {
        format!("mysql://root@{host}:{}/{db}{params}", self.port)
    }

    /// The CA file of a server started with TLS.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
