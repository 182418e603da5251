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
