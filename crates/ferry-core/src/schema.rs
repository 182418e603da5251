//! The neutral schema model: what a source describes and what the translator rewrites for a
//! target dialect.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A SQL dialect ferry reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// SQLite 3.
    Sqlite,
    /// PostgreSQL 12+ (RDS, Aurora PostgreSQL).
    Postgres,
    /// MySQL 5.7/8, MariaDB, Aurora MySQL.
    Mysql,
}

impl Dialect {
    /// The lower-case name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
        }
    }

    /// Parse a dialect name as users write it.
    pub fn parse(name: &str) -> Option<Dialect> {
        match name.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => Some(Dialect::Sqlite),
            "postgres" | "postgresql" | "pg" => Some(Dialect::Postgres),
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            _ => None,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A column's type in dialect-neutral terms. Sources map their declared types onto these
/// (through ferry-schema's rule tables) and sinks render them in their own dialect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    /// true/false.
    Bool,
    /// 16-bit signed integer.
    Int16,
    /// 32-bit signed integer.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// 32-bit IEEE float.
    Float32,
    /// 64-bit IEEE float.
    Float64,
    /// Exact decimal; `None` precision means unconstrained.
    Decimal {
        /// Total significant digits.
        precision: Option<u32>,
        /// Digits after the point.
        scale: Option<u32>,
    },
    /// Text of unbounded length.
    Text,
    /// Text of at most this many characters.
    VarChar(u32),
    /// Fixed-length text of this many characters.
    Char(u32),
    /// Raw bytes.
    Bytes,
    /// Calendar date.
    Date,
    /// Time of day without a zone.
    Time,
    /// Date and time without a zone.
    Timestamp,
    /// An instant (stored in UTC).
    TimestampTz,
    /// A time span.
    Interval,
    /// A UUID.
    Uuid,
    /// A JSON document.
    Json,
    /// One of a fixed list of labels; `name` is the type name where the dialect names it.
    Enum {
        /// Type name (PostgreSQL creates a type with it).
        name: String,
        /// The labels in declaration order.
        labels: Vec<String>,
    },
    /// Any subset of a fixed list of labels (MySQL `SET`).
    Set(Vec<String>),
    /// A bit string of this many bits.
    Bit(u32),
    /// A one-dimensional array of another type.
    Array(Box<DataType>),
}

impl DataType {
    /// Whether values of this type are text that an index on MySQL needs a length for.
    pub fn is_text_like(&self) -> bool {
        matches!(
            self,
            DataType::Text | DataType::VarChar(_) | DataType::Char(_) | DataType::Json
        )
    }
}

/// A column default in neutral terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DefaultValue {
    /// `DEFAULT NULL`.
    Null,
    /// A boolean literal.
    Bool(bool),
    /// A numeric literal, as written.
    Number(String),
    /// A string literal (unquoted content).
    Text(String),
    /// The current date and time (UTC for naive timestamps).
    CurrentTimestamp,
    /// The current date.
    CurrentDate,
    /// The current time.
    CurrentTime,
    /// The current Unix time in whole seconds.
    UnixEpoch,
    /// A freshly generated random UUID.
    GenerateUuid,
    /// An expression that has no neutral meaning, in its source dialect's SQL.
    Expression {
        /// Dialect the expression is written in.
        dialect: Dialect,
        /// The SQL text.
        sql: String,
    },
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Name as written in the source.
    pub name: String,
    /// The type as declared in the source, verbatim (`VARCHAR(64)`, `int(10) unsigned`).
    pub source_type: String,
    /// The neutral type the column maps to.
    pub data_type: DataType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Default value, if any.
    pub default: Option<DefaultValue>,
    /// Whether the column generates its own values (identity, serial, AUTO_INCREMENT,
    /// SQLite's INTEGER PRIMARY KEY).
    pub auto_increment: bool,
    /// A generated (computed) column's expression in the source dialect; such columns are
    /// not copied, the target computes them.
    pub generated: Option<String>,
    /// Whether a generated column is stored (MySQL `STORED`, every PostgreSQL one) rather
    /// than computed on read (MySQL `VIRTUAL`).
    #[serde(default)]
    pub generated_stored: bool,
    /// Character set (MySQL), kept for same-dialect copies.
    pub charset: Option<String>,
    /// Collation, kept for same-dialect copies.
    pub collation: Option<String>,
    /// Column comment.
    pub comment: Option<String>,
    /// MySQL `ON UPDATE CURRENT_TIMESTAMP`: the column takes the current time whenever its
    /// row is updated (kept for MySQL targets; other targets get a warning).
    #[serde(default)]
    pub on_update_current_timestamp: bool,
}

impl Column {
    /// A nullable column with no default; a starting point for introspection code.
    pub fn new(
        name: impl Into<String>,
        source_type: impl Into<String>,
        data_type: DataType,
    ) -> Self {
        Column {
            name: name.into(),
            source_type: source_type.into(),
            data_type,
            nullable: true,
            default: None,
            auto_increment: false,
            generated: None,
            generated_stored: false,
            charset: None,
            collation: None,
            comment: None,
            on_update_current_timestamp: false,
        }
    }
}

/// One part of an index key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexPart {
    /// Column name, or `None` for an expression part.
    pub column: Option<String>,
    /// An expression part in the source dialect's SQL.
    pub expression: Option<String>,
    /// MySQL prefix length in characters.
    pub prefix: Option<u32>,
    /// Descending order.
    pub descending: bool,
    /// Where NULLs sort when it is not the order's default (PostgreSQL: ascending puts them
    /// last, descending first): `Some(true)` for `NULLS FIRST`, `Some(false)` for
    /// `NULLS LAST`.
    #[serde(default)]
    pub nulls_first: Option<bool>,
    /// A non-default operator class in the source dialect's SQL (`text_pattern_ops`,
    /// `jsonb_path_ops`; qualified with its schema outside `pg_catalog`).
    #[serde(default)]
    pub opclass: Option<String>,
    /// A collation other than the column's, in the source dialect's SQL (`"C"`).
    #[serde(default)]
    pub collation: Option<String>,
}

impl IndexPart {
    /// An ascending part on a whole column.
    pub fn column(name: impl Into<String>) -> Self {
        IndexPart {
            column: Some(name.into()),
            expression: None,
            prefix: None,
            descending: false,
            nulls_first: None,
            opclass: None,
            collation: None,
        }
    }
}

/// A secondary index (or a unique constraint when `unique`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Name in the source.
    pub name: String,
    /// Key parts in order.
    pub parts: Vec<IndexPart>,
    /// Whether the index enforces uniqueness.
    pub unique: bool,
    /// A partial index's predicate in the source dialect's SQL.
    pub predicate: Option<String>,
    /// Index method where it is not the default (`gin`, `gist`, `FULLTEXT`, ...).
    pub method: Option<String>,
    /// Columns stored in the index but not part of its key (PostgreSQL `INCLUDE`).
    #[serde(default)]
    pub include: Vec<String>,
    /// When the index backs a PostgreSQL UNIQUE constraint (not a bare unique index): how
    /// that constraint is checked. A PostgreSQL target makes the constraint again, so `ON
    /// CONFLICT ON CONSTRAINT` and deferred checks keep working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<Deferrable>,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Constraint name, if the source named it.
    pub name: Option<String>,
    /// Referencing columns.
    pub columns: Vec<String>,
    /// Referenced table (schema-qualified names use the source's `schema.table` only when
    /// the source has schemas).
    pub ref_table: String,
    /// Referenced columns.
    pub ref_columns: Vec<String>,
    /// `ON DELETE` action as SQL (`CASCADE`, `SET NULL`, ...), `None` for NO ACTION.
    pub on_delete: Option<String>,
    /// `ON UPDATE` action as SQL, `None` for NO ACTION.
    pub on_update: Option<String>,
    /// Whether the source database enforces the key on every row it holds (a validated
    /// PostgreSQL constraint, an InnoDB foreign key; not SQLite, which enforces nothing
    /// unless a connection asks): rows read from one consistent snapshot then satisfy it.
    #[serde(default)]
    pub enforced: bool,
    /// Whether the source checks the key at the end of each transaction rather than at
    /// each statement (PostgreSQL and SQLite `DEFERRABLE`).
    #[serde(default)]
    pub deferrable: Deferrable,
}

/// When a foreign key is checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Deferrable {
    /// At each statement (`NOT DEFERRABLE`, and every MySQL key).
    #[default]
    No,
    /// `DEFERRABLE INITIALLY IMMEDIATE`: at each statement unless a transaction defers it.
    Immediate,
    /// `DEFERRABLE INITIALLY DEFERRED`: at commit.
    Deferred,
}

impl Deferrable {
    /// From PostgreSQL's `condeferrable` and `condeferred`.
    pub fn from_flags(deferrable: bool, deferred: bool) -> Self {
        match (deferrable, deferred) {
            (false, _) => Deferrable::No,
            (true, false) => Deferrable::Immediate,
            (true, true) => Deferrable::Deferred,
        }
    }

    /// The clause a constraint declaration ends with (with its leading space; empty for
    /// [`Deferrable::No`]), in the SQL PostgreSQL and SQLite share.
    pub fn clause(self) -> &'static str {
        match self {
            Deferrable::No => "",
            Deferrable::Immediate => " DEFERRABLE",
            Deferrable::Deferred => " DEFERRABLE INITIALLY DEFERRED",
        }
    }
}

/// A CHECK constraint in its source dialect's SQL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Constraint name, if any.
    pub name: Option<String>,
    /// The boolean expression, without the surrounding `CHECK ( )`.
    pub expression: String,
    /// The dialect it is written in.
    pub dialect: Dialect,
}

/// A table in neutral terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Schema (PostgreSQL) or database (MySQL) the table lives in, if the source has them.
    pub schema: Option<String>,
    /// Table name as written in the source.
    pub name: String,
    /// Columns in source order.
    pub columns: Vec<Column>,
    /// Primary key column names, empty when there is none.
    pub primary_key: Vec<String>,
    /// Secondary indexes and unique constraints.
    pub indexes: Vec<Index>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// CHECK constraints.
    pub checks: Vec<Check>,
    /// Table comment.
    pub comment: Option<String>,
    /// Default character set of the table (MySQL), kept for same-dialect copies so that
    /// columns added later and the table's own metadata match the source.
    #[serde(default)]
    pub charset: Option<String>,
    /// Default collation of the table (MySQL), kept for same-dialect copies.
    #[serde(default)]
    pub collation: Option<String>,
    /// Estimated row count (for progress; exact counts come from counting).
    pub estimated_rows: Option<u64>,
    /// Why ferry cannot copy this table (an SQLite FTS or R*Tree virtual table, or one of
    /// their shadow tables). A run refuses such a table unless the config excludes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsupported: Option<Unsupported>,
    /// How the source partitions the table, in its own SQL (MySQL's `PARTITION BY RANGE
    /// (year(created)) (PARTITION p0 VALUES LESS THAN (2024), ...)`), for a same-dialect
    /// target to partition it the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_by: Option<String>,
    /// PostgreSQL exclusion constraints as (name, definition in PostgreSQL's SQL: `EXCLUDE
    /// USING gist (room WITH =, during WITH &&)`), which only a PostgreSQL target can keep.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclusions: Vec<(String, String)>,
}

/// A table the source lists but ferry cannot copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsupported {
    /// Why, and what to do about it.
    pub reason: String,
    /// The table it belongs to (a shadow table's virtual table): excluding that table
    /// excludes this one too.
    pub belongs_to: Option<String>,
}

impl Table {
    /// An empty table called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Table {
            schema: None,
            name: name.into(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            comment: None,
            charset: None,
            collation: None,
            estimated_rows: None,
            unsupported: None,
            partition_by: None,
            exclusions: Vec::new(),
        }
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Position of the column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Columns whose values are copied (generated columns are left to the target).
    pub fn copied_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.generated.is_none())
    }

    /// The name users see: `schema.table` when there is a schema, else `table`.
    pub fn display_name(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }

    /// The row key's column when the key is a single integer column: the key a table can
    /// be split on into ranges (`key >= lo AND key < hi`).
    pub fn integer_key(&self) -> Option<String> {
        match self.row_key().as_slice() {
            [key] => self
                .column(key)
                .filter(|c| {
                    matches!(
                        c.data_type,
                        DataType::Int16 | DataType::Int32 | DataType::Int64
                    )
                })
                .map(|c| c.name.clone()),
            _ => None,
        }
    }

    /// The columns of the key that identifies a row: the primary key, else the first unique
    /// index whose columns are all NOT NULL.
    pub fn row_key(&self) -> Vec<String> {
        if !self.primary_key.is_empty() {
            return self.primary_key.clone();
        }
        self.indexes
            .iter()
            .filter(|i| i.unique && i.predicate.is_none())
            .find(|i| {
                i.parts.iter().all(|p| {
                    p.prefix.is_none()
                        && p.column
                            .as_deref()
                            .and_then(|c| self.column(c))
                            .is_some_and(|c| !c.nullable)
                })
            })
            .map(|i| i.parts.iter().filter_map(|p| p.column.clone()).collect())
            .unwrap_or_default()
    }
}

/// Everything a source holds that ferry moves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Tables in the order the source lists them.
    pub tables: Vec<Table>,
    /// Extensions the source schema uses (PostgreSQL).
    pub extensions: Vec<String>,
    /// User-defined types the tables use (PostgreSQL enums and domains), in creation order.
    #[serde(default)]
    pub types: Vec<UserType>,
    /// What in the tables needs which extension (a column of an extension's type, a default
    /// calling its function, an index on its operator class), for reporting an extension a
    /// target cannot create.
    #[serde(default)]
    pub extension_uses: Vec<ExtensionUse>,
}

/// One thing in a table that needs an extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionUse {
    /// The extension's name.
    pub extension: String,
    /// The table, as [`Table::display_name`] names it.
    pub table: String,
    /// What needs it, in the table: `column email (type citext)`,
    /// `default of column id (uuid_generate_v4())`, `index docs_trgm`.
    pub what: String,
}

/// A user-defined type that must exist on a same-dialect target before the tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserType {
    /// Schema the type lives in, if the source has schemas.
    pub schema: Option<String>,
    /// Type name as written in the source.
    pub name: String,
    /// What the type is.
    pub kind: UserTypeKind,
}

/// The kinds of user-defined types ferry recreates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UserTypeKind {
    /// An enumeration with its labels in declaration order.
    Enum(Vec<String>),
    /// A domain over a base type, in the source dialect's SQL.
    Domain {
        /// The base type as the source writes it (`text`, `numeric(10,2)`).
        base_type: String,
        /// Whether the domain forbids NULL.
        not_null: bool,
        /// The default expression, if any.
        default: Option<String>,
        /// The domain's CHECK constraints.
        checks: Vec<Check>,
    },
    /// A composite type (`CREATE TYPE address AS (street text, zip text)`): its attributes'
    /// names and types in order, the types in the source dialect's SQL.
    Composite(Vec<(String, String)>),
}

impl Schema {
    /// The table called `name` (matching either `name` or `schema.name`).
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.name == name || t.display_name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_key_prefers_primary_key_then_not_null_unique() {
        let mut t = Table::new("t");
        let mut a = Column::new("a", "INTEGER", DataType::Int64);
        a.nullable = false;
        t.columns.push(a);
        t.columns.push(Column::new("b", "TEXT", DataType::Text));
        t.indexes.push(Index {
            name: "t_b".into(),
            parts: vec![IndexPart::column("b")],
            unique: true,
            predicate: None,
            method: None,
            include: Vec::new(),
            constraint: None,
        });
        assert!(t.row_key().is_empty(), "nullable unique column is no key");
        t.indexes.push(Index {
            name: "t_a".into(),
            parts: vec![IndexPart::column("a")],
            unique: true,
            predicate: None,
            method: None,
            include: Vec::new(),
            constraint: None,
        });
        assert_eq!(t.row_key(), vec!["a".to_string()]);
        t.primary_key = vec!["b".into()];
        assert_eq!(t.row_key(), vec!["b".to_string()]);
    }

    #[test]
    fn dialect_names_parse() {
        assert_eq!(Dialect::parse("PostgreSQL"), Some(Dialect::Postgres));
        assert_eq!(Dialect::parse("mariadb"), Some(Dialect::Mysql));
        assert_eq!(Dialect::parse("oracle"), None);
    }
}
