//! The profiles' tables: column specs and how each column's values are made.

use ferry_core::{Column, DataType, Index, IndexPart, Table};

/// How one column's values are made.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Gen {
    /// The row's key.
    Key,
    /// An integer in `[lo, lo + span)`.
    Int { lo: i64, span: u64 },
    /// Any `i64`.
    AnyInt,
    /// A decimal with this many digits before and after the point.
    Decimal { int_digits: u32, scale: u32 },
    /// An `f32`-exact value (sixteenths).
    Float32,
    /// Any finite `f64` of moderate size.
    Float64,
    /// true/false.
    Bool,
    /// A date in 2000..=2030.
    Date,
    /// A time of day with microseconds.
    Time,
    /// A timestamp in 2000..=2030 with microseconds.
    Timestamp,
    /// A short text of words, at most this many characters.
    Words { max_chars: usize },
    /// Exactly this many ASCII letters.
    Code { chars: usize },
    /// A random (version 4) UUID.
    Uuid,
    /// A small JSON object.
    Json,
    /// Hostile text of `min..max` bytes (about).
    Hostile { min: usize, max: usize },
    /// Random bytes, `min..max` of them.
    Bytes { min: usize, max: usize },
}

/// One generated column: name, neutral type, how often NULL (percent), how made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ColSpec {
    pub(crate) name: &'static str,
    pub(crate) source_type: &'static str,
    pub(crate) data_type: fn() -> DataType,
    pub(crate) null_pct: u64,
    pub(crate) gen: Gen,
}

/// One generated table.
#[derive(Debug, Clone)]
pub(crate) struct TableSpec {
    pub(crate) name: &'static str,
    pub(crate) salt: u64,
    pub(crate) columns: Vec<ColSpec>,
    /// Secondary (non-unique) indexes, one column each, so a load also builds indexes.
    pub(crate) indexes: Vec<&'static str>,
}

pub(crate) const fn col(
    name: &'static str,
    source_type: &'static str,
    data_type: fn() -> DataType,
    null_pct: u64,
    gen: Gen,
) -> ColSpec {
    ColSpec {
        name,
        source_type,
        data_type,
        null_pct,
        gen,
    }
}

pub(crate) fn key() -> ColSpec {
    col("id", "bigint", || DataType::Int64, 0, Gen::Key)
}

pub(crate) fn narrow() -> TableSpec {
    TableSpec {
        name: "bench_narrow",
        salt: 1,
        columns: vec![
            key(),
            col(
                "account_id",
                "integer",
                || DataType::Int32,
                0,
                Gen::Int {
                    lo: 1,
                    span: 100_000,
                },
            ),
            col("amount", "bigint", || DataType::Int64, 10, Gen::AnyInt),
            col(
                "label",
                "varchar(32)",
                || DataType::VarChar(32),
                0,
                Gen::Words { max_chars: 32 },
            ),
            col("active", "boolean", || DataType::Bool, 0, Gen::Bool),
        ],
        indexes: vec!["account_id"],
    }
}

pub(crate) fn dec(precision: u32, scale: u32) -> DataType {
    DataType::Decimal {
        precision: Some(precision),
        scale: Some(scale),
    }
}

pub(crate) fn wide() -> TableSpec {
    let int = |lo, span| Gen::Int { lo, span };
    TableSpec {
        name: "bench_wide",
        salt: 2,
        columns: vec![
            key(),
            col(
                "small_a",
                "smallint",
                || DataType::Int16,
                0,
                int(-32_768, 65_536),
            ),
            col("small_b", "smallint", || DataType::Int16, 20, int(0, 1_000)),
            col(
                "int_a",
                "integer",
                || DataType::Int32,
                0,
                int(-2_147_483_648, 1 << 32),
            ),
            col(
                "int_b",
                "integer",
                || DataType::Int32,
                20,
                int(0, 1_000_000),
            ),
            col("big_a", "bigint", || DataType::Int64, 0, Gen::AnyInt),
            col(
                "big_b",
                "bigint",
                || DataType::Int64,
                20,
                int(-1_000_000_000, 2_000_000_000),
            ),
            col(
                "price",
                "numeric(12,2)",
                || dec(12, 2),
                0,
                Gen::Decimal {
                    int_digits: 10,
                    scale: 2,
                },
            ),
            col(
                "rate",
                "numeric(18,6)",
                || dec(18, 6),
                20,
                Gen::Decimal {
                    int_digits: 12,
                    scale: 6,
                },
            ),
            col(
                "balance",
                "numeric(38,10)",
                || dec(38, 10),
                0,
                Gen::Decimal {
                    int_digits: 28,
                    scale: 10,
                },
            ),
            col("ratio", "real", || DataType::Float32, 0, Gen::Float32),
            col(
                "score",
                "double precision",
                || DataType::Float64,
                0,
                Gen::Float64,
            ),
            col(
                "weight",
                "double precision",
                || DataType::Float64,
                20,
                Gen::Float64,
            ),
            col("flag_a", "boolean", || DataType::Bool, 0, Gen::Bool),
            col("flag_b", "boolean", || DataType::Bool, 20, Gen::Bool),
            col("born_on", "date", || DataType::Date, 0, Gen::Date),
            col("due_on", "date", || DataType::Date, 20, Gen::Date),
            col("opens_at", "time", || DataType::Time, 0, Gen::Time),
            col(
                "created_at",
                "timestamp",
                || DataType::Timestamp,
                0,
                Gen::Timestamp,
            ),
            col(
                "updated_at",
                "timestamp",
                || DataType::Timestamp,
                20,
                Gen::Timestamp,
            ),
            col(
                "seen_at",
                "timestamptz",
                || DataType::TimestampTz,
                20,
                Gen::Timestamp,
            ),
            col(
                "code",
                "char(8)",
                || DataType::Char(8),
                0,
                Gen::Code { chars: 8 },
            ),
            col(
                "name",
                "varchar(64)",
                || DataType::VarChar(64),
                0,
                Gen::Words { max_chars: 64 },
            ),
            col(
                "city",
                "varchar(40)",
                || DataType::VarChar(40),
                20,
                Gen::Words { max_chars: 40 },
            ),
            col(
                "email",
                "varchar(120)",
                || DataType::VarChar(120),
                0,
                Gen::Words { max_chars: 120 },
            ),
            col(
                "note",
                "text",
                || DataType::Text,
                30,
                Gen::Words { max_chars: 200 },
            ),
            col("external_id", "uuid", || DataType::Uuid, 0, Gen::Uuid),
            col("parent_uuid", "uuid", || DataType::Uuid, 30, Gen::Uuid),
            col("attributes", "json", || DataType::Json, 0, Gen::Json),
            col("extra", "json", || DataType::Json, 40, Gen::Json),
        ],
        indexes: vec!["created_at", "int_b"],
    }
}

pub(crate) fn text_heavy() -> TableSpec {
    TableSpec {
        name: "bench_text",
        salt: 3,
        columns: vec![
            key(),
            col(
                "title",
                "varchar(200)",
                || DataType::VarChar(200),
                0,
                Gen::Words { max_chars: 200 },
            ),
            col(
                "body",
                "text",
                || DataType::Text,
                0,
                Gen::Hostile {
                    min: 200,
                    max: 4_000,
                },
            ),
            col(
                "footnote",
                "text",
                || DataType::Text,
                25,
                Gen::Hostile { min: 0, max: 400 },
            ),
        ],
        indexes: Vec::new(),
    }
}

pub(crate) fn blob() -> TableSpec {
    TableSpec {
        name: "bench_blob",
        salt: 4,
        columns: vec![
            key(),
            col(
                "kind",
                "integer",
                || DataType::Int32,
                0,
                Gen::Int { lo: 0, span: 16 },
            ),
            col(
                "payload",
                "bytea",
                || DataType::Bytes,
                0,
                Gen::Bytes { min: 0, max: 8_192 },
            ),
            col(
                "thumb",
                "bytea",
                || DataType::Bytes,
                25,
                Gen::Bytes { min: 1, max: 256 },
            ),
        ],
        indexes: Vec::new(),
    }
}

impl TableSpec {
    pub(crate) fn table(&self, rows: u64) -> Table {
        let mut t = Table::new(self.name);
        t.columns = self
            .columns
            .iter()
            .map(|c| Column {
                nullable: c.null_pct > 0,
                ..Column::new(c.name, c.source_type, (c.data_type)())
            })
            .collect();
        t.primary_key = vec!["id".into()];
        t.indexes = self
            .indexes
            .iter()
            .map(|c| Index {
                name: format!("{}_{c}_idx", self.name),
                parts: vec![IndexPart::column(*c)],
                unique: false,
                predicate: None,
                method: None,
                include: Vec::new(),
                constraint: None,
            })
            .collect();
        t.estimated_rows = Some(rows);
        t
    }
}
