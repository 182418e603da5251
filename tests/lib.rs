//! The end-to-end tests' library: the shared test helpers of `ferry-test-support`
//! (connection settings from env vars whose defaults match scripts/servers.sh, a uniquely
//! named database per test dropped on Drop, a runner for the `ferry` binary), re-exported
//! so the tests say `ferry_tests::...`; and the golden DDL files' paths ([`golden`]).

pub use ferry_test_support::*;

pub mod golden;
