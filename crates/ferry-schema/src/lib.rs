//! ferry's dialect translation: a source's neutral schema becomes DDL for a target dialect.
//!
//! - Source type rules are ordered tables, first match wins ([`rules`], [`sqlite`]).
//! - [`translate`] applies the user's overrides, names every object within the target's
//!   identifier limits ([`ident`]), and renders DDL per target dialect ([`postgres`]), in the
//!   phases a bulk load needs: create, load, then keys and indexes, then foreign keys, then
//!   sequences.
//! - Anything that cannot be carried over is listed as a [`Warning`], never dropped silently.
//!
//! This crate does no I/O.

pub mod default_fit;
pub mod expr;
pub mod ident;
pub mod mysql;
pub mod mysql_target;
pub mod postgres;
pub mod postgres_source;
pub mod quote;
pub mod rules;
pub mod sqlite;
pub mod tokens;

use ferry_core::{DataType, Dialect, Error, Result, Schema, Table};
use ident::Namer;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// User overrides of the type rules, from the config file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// Declared source type (full, like `VARCHAR(64)`, or base, like `INTEGER`;
    /// case-insensitive) to a type name (`integer`, `text`, `numeric(12,2)`, ...).
    #[serde(default)]
    pub types: BTreeMap<String, String>,
    /// `table.column` to a type name; wins over `types`.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
}

impl Overrides {
    /// Check that every override names a known type; the error names the offending key.
    pub fn validate(&self) -> Result<()> {
        for (section, map) in [("types", &self.types), ("columns", &self.columns)] {
            for (key, value) in map {
                if rules::parse_type_name(value).is_none() {
                    return Err(Error::config(format!(
                        "config [{section}] \"{key}\" = \"{value}\": unknown type name"
                    )));
                }
            }
        }
        for key in self.columns.keys() {
            if !key.contains('.') {
                return Err(Error::config(format!(
                    "config [columns] \"{key}\": expected \"table.column\""
                )));
            }
        }
        Ok(())
    }

    fn for_column(&self, table: &Table, column: &ferry_core::Column) -> Option<DataType> {
        let full = format!("{}.{}", table.display_name(), column.name);
        let short = format!("{}.{}", table.name, column.name);
        if let Some(t) = self.columns.get(&full).or_else(|| self.columns.get(&short)) {
            return rules::parse_type_name(t);
        }
        let declared = rules::DeclaredType::parse(&column.source_type);
        self.types
            .iter()
            .find(|(k, _)| {
                k.eq_ignore_ascii_case(column.source_type.trim())
                    || k.eq_ignore_ascii_case(&declared.base)
            })
            .and_then(|(_, v)| rules::parse_type_name(v))
    }
}

/// Something the translation could not carry over exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// Source table, if the warning is about one.
    pub table: Option<String>,
    /// Source column, if the warning is about one.
    pub column: Option<String>,
    /// What was lost or changed, and what was done instead.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.table, &self.column) {
            (Some(t), Some(c)) => write!(f, "{t}.{c}: {}", self.message),
            (Some(t), None) => write!(f, "{t}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

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
            let sql = postgres_source::create_extension(name);
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

/// Shared state while rendering one translation.
pub(crate) struct Ctx {
    pub source: Dialect,
    pub warnings: Vec<Warning>,
    /// Source display name -> (target table name, target table) for FK resolution.
    pub targets: HashMap<String, Table>,
    /// Source display name -> source table.
    pub sources: HashMap<String, Table>,
    pub constraint_names: Namer,
}

impl Ctx {
    pub fn warn(&mut self, table: &Table, column: Option<&str>, message: impl Into<String>) {
        self.warnings.push(Warning {
            table: Some(table.display_name()),
            column: column.map(str::to_string),
            message: message.into(),
        });
    }
}

/// The name of an index in the target: its source name, or one derived from the table and
/// columns for SQLite's automatic and unnamed indexes.
pub(crate) fn index_name(tgt: &Table, idx: &ferry_core::Index) -> String {
    if idx.name.is_empty() || idx.name.starts_with("sqlite_autoindex_") {
        let cols: Vec<String> = idx.parts.iter().filter_map(|p| p.column.clone()).collect();
        ident::derived_name(&tgt.name, &cols, if idx.unique { "key" } else { "idx" })
    } else {
        idx.name.clone()
    }
}

/// The referenced side of a foreign key: the parent table in target terms, the target names
/// of the referenced columns, and their source names (the parent's primary key when the
/// source named none).
/// `None`, with a warning naming the key, when the parent is not migrated, a column is
/// missing, or the column counts differ.
pub(crate) fn resolve_foreign_key(
    ctx: &mut Ctx,
    src: &Table,
    sfk: &ferry_core::ForeignKey,
    tfk: &ferry_core::ForeignKey,
) -> Option<(Table, Vec<String>, Vec<String>)> {
    let parent_key = match (&src.schema, sfk.ref_table.contains('.')) {
        (Some(s), false) => format!("{s}.{}", sfk.ref_table),
        _ => sfk.ref_table.clone(),
    };
    let parent_src = ctx
        .sources
        .get(&parent_key)
        .or_else(|| ctx.sources.get(&sfk.ref_table))
        .cloned();
    let parent_tgt = ctx
        .targets
        .get(&parent_key)
        .or_else(|| ctx.targets.get(&sfk.ref_table))
        .cloned();
    let (Some(parent_src), Some(parent_tgt)) = (parent_src, parent_tgt) else {
        ctx.warn(
            src,
            None,
            format!(
                "foreign key to `{}` dropped: that table is not part of the migration",
                sfk.ref_table
            ),
        );
        return None;
    };
    let ref_src_cols = if sfk.ref_columns.is_empty() {
        &parent_src.primary_key
    } else {
        &sfk.ref_columns
    };
    let mut ref_cols = Vec::new();
    for c in ref_src_cols {
        match expr::find_column(&parent_src, c) {
            Some(i) => ref_cols.push(parent_tgt.columns[i].name.clone()),
            None => {
                ctx.warn(
                    src,
                    None,
                    format!(
                        "foreign key to `{}`({c}) dropped: no such column",
                        sfk.ref_table
                    ),
                );
                return None;
            }
        }
    }
    if ref_cols.is_empty() || ref_cols.len() != tfk.columns.len() {
        ctx.warn(
            src,
            None,
            format!(
                "foreign key ({}) -> {} dropped: column counts differ",
                sfk.columns.join(", "),
                sfk.ref_table
            ),
        );
        return None;
    }
    let ref_src_cols = ref_src_cols.clone();
    Some((parent_tgt, ref_cols, ref_src_cols))
}

/// Limits and habits of a target dialect that naming needs.
struct Naming {
    max_ident: usize,
    columns_case_insensitive: bool,
    mysql: bool,
}

impl Naming {
    /// Table names: case-insensitive on MySQL, where they are file names too.
    fn table_namer(&self) -> Namer {
        if self.mysql {
            Namer::new(self.max_ident, true).mysql_tables()
        } else {
            Namer::new(self.max_ident, false)
        }
    }

    fn namer(&self, case_insensitive: bool) -> Namer {
        let n = Namer::new(self.max_ident, case_insensitive);
        if self.mysql {
            n.mysql()
        } else {
            n
        }
    }
}

fn naming(target: Dialect) -> Naming {
    match target {
        Dialect::Postgres => Naming {
            max_ident: 63,
            columns_case_insensitive: false,
            mysql: false,
        },
        Dialect::Mysql => Naming {
            max_ident: 64,
            columns_case_insensitive: true,
            mysql: true,
        },
        Dialect::Sqlite => Naming {
            max_ident: 1024,
            columns_case_insensitive: true,
            mysql: false,
        },
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
            let names: Vec<String> = tables.iter().map(|t| postgres::qualified(t)).collect();
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

/// Apply the config's type overrides to every column, returning the new schema.
pub fn apply_overrides(schema: &Schema, overrides: &Overrides) -> Schema {
    let mut out = schema.clone();
    for table in &mut out.tables {
        let snapshot = table.clone();
        for column in &mut table.columns {
            if let Some(t) = overrides.for_column(&snapshot, column) {
                column.data_type = t;
            }
        }
    }
    out
}

/// Translate `schema` (from a `source` database, with `overrides` applied) into DDL for
/// `target`.
pub fn translate(
    schema: &Schema,
    source: Dialect,
    target: Dialect,
    overrides: &Overrides,
) -> Result<Translation> {
    overrides.validate()?;
    quote::check_schema(schema)?;
    let mut schema = apply_overrides(schema, overrides);
    if source == Dialect::Postgres && target != Dialect::Postgres {
        // A PostgreSQL target keeps PostgreSQL defaults verbatim; others need their meaning.
        postgres_source::neutral_defaults(&mut schema);
    }
    let naming = naming(target);
    let keep_schemas = source == Dialect::Postgres && target == Dialect::Postgres;

    // Pass 1: target names of tables and columns.
    let mut table_names: HashMap<Option<String>, Namer> = HashMap::new();
    let mut ctx = Ctx {
        source,
        warnings: Vec::new(),
        targets: HashMap::new(),
        sources: HashMap::new(),
        constraint_names: naming.namer(false),
    };
    let mut pairs = Vec::new();
    for src in &schema.tables {
        let mut src = src.clone();
        if source != target {
            let display = src.display_name();
            for col in src.columns.iter_mut().filter(|c| c.generated.is_some()) {
                col.generated = None;
                ctx.warnings.push(Warning {
                    table: Some(display.clone()),
                    column: Some(col.name.clone()),
                    message: "generated column becomes a plain column holding the copied values"
                        .into(),
                });
            }
        }
        let src = &src;
        let mut tgt = src.clone();
        tgt.schema = if keep_schemas {
            src.schema.clone()
        } else {
            None
        };
        let namer = table_names
            .entry(tgt.schema.clone())
            .or_insert_with(|| naming.table_namer());
        tgt.name = namer.name(&src.name);
        if tgt.name != src.name {
            ctx.warn(
                src,
                None,
                format!(
                    "table renamed to `{}` (identifier limit or clash)",
                    tgt.name
                ),
            );
        }
        let mut columns = naming.namer(naming.columns_case_insensitive);
        let mut renames = HashMap::new();
        for col in &mut tgt.columns {
            let new = columns.name(&col.name);
            if new != col.name {
                ctx.warn(
                    src,
                    Some(&col.name),
                    format!("column renamed to `{new}` (identifier limit or clash)"),
                );
                renames.insert(col.name.clone(), new.clone());
                col.name = new;
            }
        }
        let rename = |c: &String| renames.get(c).cloned().unwrap_or_else(|| c.clone());
        tgt.primary_key = tgt.primary_key.iter().map(rename).collect();
        for idx in &mut tgt.indexes {
            for part in &mut idx.parts {
                part.column = part.column.as_ref().map(rename);
            }
            idx.include = idx.include.iter().map(rename).collect();
        }
        for fk in &mut tgt.foreign_keys {
            fk.columns = fk.columns.iter().map(rename).collect();
        }
        ctx.constraint_names.reserve(&tgt.name);
        ctx.sources.insert(src.display_name(), src.clone());
        pairs.push((src.clone(), tgt));
    }
    for (src, tgt) in &pairs {
        ctx.targets.insert(src.display_name(), tgt.clone());
    }

    if source == Dialect::Mysql && target != Dialect::Mysql {
        for src in &schema.tables {
            for (column, message) in mysql::lossy_columns(src) {
                ctx.warn(src, Some(&column), message);
            }
        }
    }

    // Pass 2: render per dialect.
    let mut tables = Vec::new();
    let pre_objects = match target {
        Dialect::Postgres if source == Dialect::Postgres => postgres_source::pre_objects(&schema),
        Dialect::Postgres => postgres::type_objects(&pairs),
        Dialect::Mysql | Dialect::Sqlite => Vec::new(),
    };
    let (pre, drop_pre) = match target {
        Dialect::Postgres if source == Dialect::Postgres => postgres_source::render_pre(&schema),
        Dialect::Postgres => postgres::render_types(&mut ctx, &pairs),
        Dialect::Mysql | Dialect::Sqlite => (Vec::new(), Vec::new()),
    };
    for (src, tgt) in pairs {
        let ddl = match target {
            Dialect::Postgres => postgres::render_table(&mut ctx, &src, &tgt),
            Dialect::Mysql => mysql_target::render_table(&mut ctx, &src, &tgt),
            other => {
                return Err(Error::schema(format!(
                    "{other} is not supported as a target dialect yet"
                )))
            }
        };
        tables.push(TablePlan {
            source: src,
            target: tgt,
            ddl,
        });
    }
    // Only a PostgreSQL target of a PostgreSQL source creates the source's extensions.
    let (extensions, extension_uses) = if source == Dialect::Postgres && target == Dialect::Postgres
    {
        let uses = schema
            .extension_uses
            .iter()
            .filter(|u| tables.iter().any(|t| t.source.display_name() == u.table))
            .cloned()
            .collect();
        (schema.extensions.clone(), uses)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(Translation {
        source,
        target,
        pre,
        drop_pre,
        pre_objects,
        tables,
        warnings: ctx.warnings,
        extensions,
        extension_uses,
    })
}
