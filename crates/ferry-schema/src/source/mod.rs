//! Source side: what each source dialect's catalog text means in neutral terms (type rules,
//! defaults, CHECKs), for the drivers' introspection.

pub mod mysql;
pub mod postgres;
pub mod sqlite;
