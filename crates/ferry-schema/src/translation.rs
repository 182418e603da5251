//! [`Translation`]: a schema rendered as DDL for one target, by load phase.

use crate::{quote, target, Warning};
use ferry_core::{Dialect, Error, Result, Table};

/// A foreign key to add after every table is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyDdl {
    /// Constraint name in the target.
    pub name: String,
    /// Target name of the referenced table.
    pub ref_table: String,
    /// Adds the constraint (without checking existing rows where the dialect can).
    pub add: String,
    /// Checks existing rows, when `add` did not.
    pub validate: Option<String>,
    /// `validate` only matters when rows of the referenced table were rejected: the source
    /// enforced the key on the rows it had, all of which arrived (MySQL targets, where
    /// `add` checks nothing; a PostgreSQL target validates the constraint regardless).
    pub trusted: bool,
}

/// The DDL of one table, by phase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableDdl {
    /// Creates the table without secondary indexes, keys or foreign keys.
    pub create: Vec<String>,
    /// Index builds to run after the rows are in; independent of each other, so they may
    /// run at the same time on separate connections.
    pub indexes: Vec<String>,
    /// Primary key, unique keys and CHECKs, to run in order after `indexes`.
    pub post_load: Vec<String>,
    /// Foreign keys, to run once the referenced tables are complete.
    pub foreign_keys: Vec<ForeignKeyDdl>,
    /// Moves identity/sequence/AUTO_INCREMENT counters past the loaded maximum.
    pub reset_sequences: Vec<String>,
    /// Drops the table (for `--if-exists drop`).
    pub drop: Vec<String>,
    /// Empties the table (for `--if-exists truncate`).
    pub truncate: Vec<String>,
}

/// One table in both forms: `source` keeps source names with the final column types (what
/// the reader reads), `target` has target names and the same types (what the writer writes).
#[derive(Debug, Clone, PartialEq)]
pub struct TablePlan {
    /// Source-side description.
    pub source: Table,
    /// Target-side description.
    pub target: Table,
    /// The table's DDL.
    pub ddl: TableDdl,
}

/// A whole schema translated for one target dialect.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// Dialect of the source.
    pub source: Dialect,
    /// Dialect of the target.
    pub target: Dialect,
    /// Statements before any table (extensions, enum types).
    pub pre: Vec<String>,
    /// Statements that drop what `pre` creates (for `--if-exists drop`, after the tables).
    pub drop_pre: Vec<String>,
    /// The named objects `pre` creates (schemas, enum types, domains), so that a run can
    /// check the target has none of them before creating anything.
    pub pre_objects: Vec<ferry_core::DbObject>,
    /// Tables in source order.
    pub tables: Vec<TablePlan>,
    /// Everything that was not carried over exactly.
    pub warnings: Vec<Warning>,
    /// Extensions `pre` creates (PostgreSQL to PostgreSQL), in order.
    pub extensions: Vec<String>,
    /// What in the translated tables needs which of those extensions.
    pub extension_uses: Vec<ferry_core::ExtensionUse>,
}

impl Translation {
    /// The whole DDL as one script, in execution order, for `ferry schema`.
    pub fn script(&self) -> String {
        let mut out = String::new();
        let mut section = |title: &str, stmts: Vec<&String>| {
            if stmts.is_empty() {
                return;
            }
            out.push_str(&format!("-- {title}\n"));
            for s in stmts {
                out.push_str(s);
                out.push_str(";\n");
            }
            out.push('\n');
        };
        let session = quote::script_session(self.target).map(str::to_string);
        section(
            "session: the rules the string literals below are written for",
            session.iter().collect(),
        );
        section("types and extensions", self.pre.iter().collect());
        section(
            "tables",
            self.tables.iter().flat_map(|t| &t.ddl.create).collect(),
        );
        section(
            "after the load: keys, indexes, checks",
            self.tables
                .iter()
                .flat_map(|t| t.ddl.indexes.iter().chain(&t.ddl.post_load))
                .collect(),
        );
        section(
            "foreign keys",
            self.tables
                .iter()
                .flat_map(|t| &t.ddl.foreign_keys)
                .flat_map(|fk| std::iter::once(&fk.add).chain(fk.validate.as_ref()))
                .collect(),
        );
        section(
            "sequences",
            self.tables
                .iter()
                .flat_map(|t| &t.ddl.reset_sequences)
                .collect(),
        );
        out
    }

    /// Leave out the extensions a target cannot create (`unavailable`: name and why, as
    /// [`ferry_core::Sink::unavailable_extensions`] reports them). Each one becomes a warning
    /// naming what needs it. When a table has a column, default, index or constraint that
    /// needs it, the table cannot be created without it, and the error names the extension,
    /// why it is missing and what needs it.
    pub fn without_extensions(&mut self, unavailable: &[(String, String)]) -> Result<()> {
        let mut fatal = Vec::new();
        for (name, why) in unavailable {
            let sql = target::postgres::create_extension(name);
            self.pre.retain(|s| *s != sql);
            self.extensions.retain(|e| e != name);
            let uses: Vec<String> = self
                .extension_uses
                .iter()
                .filter(|u| &u.extension == name)
                .map(|u| format!("{}: {}", u.table, u.what))
                .collect();
            let message = if uses.is_empty() {
                format!(
                    "extension `{name}` is not created on the target ({why}); no copied table uses it"
                )
            } else {
                format!(
                    "extension `{name}` cannot be created on the target ({why}); needed by {}",
                    uses.join("; ")
                )
            };
            if !uses.is_empty() {
                fatal.push(message.clone());
            }
            self.warnings.push(Warning {
                table: None,
                column: None,
                message,
            });
        }
        if fatal.is_empty() {
            return Ok(());
        }
        Err(Error::schema(format!(
            "{}; create the extension on the target as a user allowed to (or ask the server's administrator), or leave those tables out with the config file",
            fatal.join(". ")
        )))
    }

    /// The plan of the table whose source name is `name`.
    pub fn table(&self, name: &str) -> Option<&TablePlan> {
        self.tables
            .iter()
            .find(|t| t.source.name == name || t.source.display_name() == name)
    }
}

/// Statements that empty `tables` together (for `--if-exists truncate`), so foreign keys
/// among them do not block the truncation.
pub fn truncate_all(target: Dialect, tables: &[&Table]) -> Vec<String> {
    if tables.is_empty() {
        return Vec::new();
    }
    match target {
        Dialect::Postgres => {
            let names: Vec<String> = tables.iter().map(|t| quote::pg_qualified(t)).collect();
            vec![format!("TRUNCATE TABLE {}", names.join(", "))]
        }
        _ => {
            let q = quote::mysql_ident;
            let mut out = vec!["SET FOREIGN_KEY_CHECKS = 0".to_string()];
            out.extend(
                tables
                    .iter()
                    .map(|t| format!("TRUNCATE TABLE {}", q(&t.name))),
            );
            out.push("SET FOREIGN_KEY_CHECKS = 1".to_string());
            out
        }
    }
}
