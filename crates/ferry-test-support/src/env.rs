//! Where the test servers are: env vars whose defaults match `scripts/servers.sh`.

fn var_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// Admin URL of the test PostgreSQL (`FERRY_TEST_PG`).
pub fn pg_admin_url() -> String {
    var_or(
        "FERRY_TEST_PG",
        "postgres://postgres:ferrytest@127.0.0.1:55439/postgres",
    )
}

/// Admin URL of the test MariaDB with `local_infile=1` (`FERRY_TEST_MYSQL`).
pub fn mysql_admin_url() -> String {
    var_or(
        "FERRY_TEST_MYSQL",
        "mysql://root:ferrytest@127.0.0.1:53309/mysql",
    )
}

/// Admin URL of the test MariaDB with `local_infile=0` (`FERRY_TEST_MYSQL_NOINFILE`).
pub fn mysql_noinfile_admin_url() -> String {
    var_or(
        "FERRY_TEST_MYSQL_NOINFILE",
        "mysql://root:ferrytest@127.0.0.1:53310/mysql",
    )
}

/// Admin URL of the test MariaDB with a row binlog (`FERRY_TEST_MYSQL_BINLOG`).
pub fn mysql_binlog_admin_url() -> String {
    var_or(
        "FERRY_TEST_MYSQL_BINLOG",
        "mysql://root:ferrytest@127.0.0.1:53311/mysql",
    )
}

/// The AWS API emulator (moto) on loopback (`FERRY_TEST_AWS_ENDPOINT`). Callers that send
/// AWS calls check it is a loopback address with `ferry_aws::endpoint_is_loopback`.
pub fn moto_endpoint() -> String {
    var_or("FERRY_TEST_AWS_ENDPOINT", "http://127.0.0.1:55500")
}

/// The AWS environment every test that reaches moto runs with: dummy credentials, no
/// instance metadata, no user config or credentials file, so nothing can reach an account.
pub const AWS_TEST_ENV: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/nonexistent/ferry-test-aws-config"),
    (
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/ferry-test-aws-credentials",
    ),
];

/// The OpenSSH bastion of `scripts/servers.sh start sshd` (`FERRY_TEST_SSH_*`).
#[derive(Debug, Clone)]
pub struct SshBastion {
    /// Its loopback port.
    pub port: u16,
    /// The login user.
    pub user: String,
    /// A private key it accepts.
    pub key: String,
    /// A known_hosts file that holds its host key.
    pub known_hosts: String,
    /// Its sshd_config (for tests that start a second instance of their own).
    pub config: String,
}

impl SshBastion {
    /// `USER@127.0.0.1:PORT`, as `--ssh` takes it.
    pub fn target(&self) -> String {
        format!("{}@127.0.0.1:{}", self.user, self.port)
    }
}

/// Where the test bastion is.
pub fn ssh_bastion() -> SshBastion {
    let root = var_or("FERRY_TEST_ROOT", "/tmp/ferry-test");
    SshBastion {
        port: var_or("FERRY_TEST_SSH_PORT", "52222")
            .parse()
            .expect("FERRY_TEST_SSH_PORT is a port"),
        user: var_or("FERRY_TEST_SSH_USER", "root"),
        key: var_or("FERRY_TEST_SSH_KEY", &format!("{root}/sshd/client_ed25519")),
        known_hosts: var_or(
            "FERRY_TEST_SSH_KNOWN_HOSTS",
            &format!("{root}/sshd/known_hosts"),
        ),
        config: var_or("FERRY_TEST_SSH_CONFIG", &format!("{root}/sshd/sshd_config")),
    }
}
