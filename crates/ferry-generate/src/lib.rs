//! Deterministic generated datasets for `ferry bench`: a [`Source`] with no database behind
//! it, so a team can measure its target's ingest without a source database.
//!
//! A [`Profile`] names one or more tables; each holds `rows` rows keyed `1..=rows` by an
//! integer primary key `id`. Every value is a function of the seed, the table, the row's key
//! and the column alone (a xorshift generator seeded per cell), so any key range reads the
//! same rows in any order, again and again: the engine's chunked parallel copy and the
//! content verifier (which reads the source a second time) both apply. Rows go through the
//! shared [`RowLoop`], so batch limits and the run's memory budget apply as for every reader.
//!
//! [`GeneratedConnector`] hands the engine this source for the source side and opens sinks
//! through the real drivers, so the load is the normal migrate pipeline.

use async_trait::async_trait;
use ferry_core::read_loop::{BadRow, RowLoop};
use ferry_core::{
    BatchSender, Column, ConnUrl, Connector, DataType, Dialect, Error, Index, IndexPart,
    ReadOptions, ReadStats, Result, Schema, Sink, Source, Table, TargetPlanner, Value,
};
use std::sync::Arc;

/// A small deterministic pseudo-random generator (xorshift64, as in `benches/lib.rs`).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator with a seed (0 is replaced, xorshift never leaves it).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// A number below `n` (`n` 0 counts as 1).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// splitmix64's finalizer: spreads nearby inputs (row keys, column positions) over the
/// whole range, so per-cell xorshift seeds are unrelated.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The datasets `ferry bench --profile` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// A few integers, a short text and a flag: per-row overhead dominates.
    Narrow,
    /// 30 columns of mixed types (integers, numerics, floats, bool, dates and times, short
    /// text, uuid, json), several nullable.
    Wide,
    /// Long Unicode text full of quotes, backslashes, tabs, newlines and `\N`.
    TextHeavy,
    /// Binary values of up to 8 KiB.
    Blob,
    /// Every table above, `rows` rows each.
    All,
}

impl Profile {
    /// Every profile with its command-line name.
    pub const ALL: [(&'static str, Profile); 5] = [
        ("narrow", Profile::Narrow),
        ("wide", Profile::Wide),
        ("text-heavy", Profile::TextHeavy),
        ("blob", Profile::Blob),
        ("all", Profile::All),
    ];

    /// Parse a profile name as users write it.
    pub fn parse(name: &str) -> Option<Profile> {
        let name = name.to_ascii_lowercase().replace('_', "-");
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// The tables this profile generates.
    fn tables(self) -> Vec<TableSpec> {
        match self {
            Profile::Narrow => vec![narrow()],
            Profile::Wide => vec![wide()],
            Profile::TextHeavy => vec![text_heavy()],
            Profile::Blob => vec![blob()],
            Profile::All => vec![narrow(), wide(), text_heavy(), blob()],
        }
    }

    /// The names of the tables this profile generates, in order.
    pub fn table_names(self) -> Vec<String> {
        self.tables()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect()
    }
}

/// How one column's values are made.
#[derive(Debug, Clone, Copy)]
enum Gen {
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
struct ColSpec {
    name: &'static str,
    source_type: &'static str,
    data_type: fn() -> DataType,
    null_pct: u64,
    gen: Gen,
}

/// One generated table.
#[derive(Debug, Clone)]
struct TableSpec {
    name: &'static str,
    salt: u64,
    columns: Vec<ColSpec>,
    /// Secondary (non-unique) indexes, one column each, so a load also builds indexes.
    indexes: Vec<&'static str>,
}

const fn col(
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

fn key() -> ColSpec {
    col("id", "bigint", || DataType::Int64, 0, Gen::Key)
}

fn narrow() -> TableSpec {
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

fn dec(precision: u32, scale: u32) -> DataType {
    DataType::Decimal {
        precision: Some(precision),
        scale: Some(scale),
    }
}

fn wide() -> TableSpec {
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

fn text_heavy() -> TableSpec {
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

fn blob() -> TableSpec {
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
    fn table(&self, rows: u64) -> Table {
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
            })
            .collect();
        t.estimated_rows = Some(rows);
        t
    }
}

const WORDS: &[&str] = &[
    "ferry",
    "harbour",
    "tide",
    "dock",
    "crane",
    "ship",
    "wave",
    "anchor",
    "cargo",
    "pier",
    "sail",
    "naïve",
    "Zürich",
    "Ålesund",
    "東京",
    "Москва",
    "🚢",
    "O'Brien",
    "line",
];

/// Pieces of hostile text: what breaks quoting, escaping and line-based formats.
const HOSTILE: &[&str] = &[
    "plain words ",
    "O'Brien's ",
    "\"double\" ",
    "back\\slash ",
    "\\N",
    "\t",
    "\n",
    "\r\n",
    "naïve café ",
    "東京 ",
    "Москва ",
    "🚢⚓ ",
    "a,b;c|d ",
    "100% _under_ ",
    "NULL",
    "''",
    "\\\\",
    "{\"k\": [1, 2]} ",
    "<tag attr='x'>",
    "\u{00a0}",
];

/// One cell's value: a function of the seed, the table, the key and the column only.
fn cell(seed: u64, table: &TableSpec, id: i64, column: usize) -> Value {
    let spec = &table.columns[column];
    let mut rng = Rng::new(mix(mix(
        seed ^ table.salt.wrapping_mul(0xA24B_AED4_963E_E407)
    ) ^ mix(id as u64)
        ^ (column as u64).wrapping_mul(0x9FB2_1C65_1E98_DF25)));
    if spec.null_pct > 0 && rng.below(100) < spec.null_pct {
        return Value::Null;
    }
    match spec.gen {
        Gen::Key => Value::Int(id),
        Gen::Int { lo, span } => Value::Int(lo + rng.below(span) as i64),
        Gen::AnyInt => Value::Int(rng.next_u64() as i64),
        Gen::Decimal { int_digits, scale } => Value::Decimal(decimal(&mut rng, int_digits, scale)),
        Gen::Float32 => Value::Float(f64::from(
            (rng.below(1 << 22) as f32 - (1 << 21) as f32) / 16.0,
        )),
        Gen::Float64 => {
            let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            Value::Float((unit - 0.5) * 2.0e9)
        }
        Gen::Bool => Value::Bool(rng.below(2) == 1),
        // 2000-01-01 is day 10957; 2000..=2030 spans 11323 days.
        Gen::Date => Value::Date(10_957 + rng.below(11_323) as i32),
        Gen::Time => Value::Time(rng.below(86_400_000_000) as i64),
        Gen::Timestamp => {
            Value::Timestamp(946_684_800_000_000 + rng.below(11_323 * 86_400_000_000) as i64)
        }
        Gen::Words { max_chars } => Value::Text(words(&mut rng, id, max_chars)),
        Gen::Code { chars } => Value::Text(
            (0..chars)
                .map(|_| char::from(b'A' + rng.below(26) as u8))
                .collect(),
        ),
        Gen::Uuid => {
            let mut u = [0u8; 16];
            u[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
            u[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
            u[6] = (u[6] & 0x0f) | 0x40;
            u[8] = (u[8] & 0x3f) | 0x80;
            Value::Uuid(u)
        }
        Gen::Json => Value::Json(format!(
            "{{\"n\": {}, \"ok\": {}, \"tag\": \"{}\", \"list\": [{}, {}]}}",
            rng.below(1_000_000),
            rng.below(2) == 1,
            WORDS[rng.below(11) as usize],
            rng.below(100),
            rng.below(100)
        )),
        Gen::Hostile { min, max } => Value::Text(hostile(&mut rng, min, max)),
        Gen::Bytes { min, max } => {
            let len = min + rng.below((max - min) as u64) as usize;
            let mut b = Vec::with_capacity(len + 8);
            while b.len() < len {
                b.extend_from_slice(&rng.next_u64().to_le_bytes());
            }
            b.truncate(len);
            Value::Bytes(b)
        }
    }
}

/// Decimal text with `int_digits` digits at most before the point and exactly `scale`
/// after it (as a database returns a `numeric(p, scale)`), canonical: no leading zeros,
/// no `-0`.
fn decimal(rng: &mut Rng, int_digits: u32, scale: u32) -> String {
    let digits = |rng: &mut Rng, n: u32| -> String {
        (0..n)
            .map(|_| char::from(b'0' + rng.below(10) as u8))
            .collect()
    };
    let len = 1 + rng.below(u64::from(int_digits)) as u32;
    let int = digits(rng, len);
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = digits(rng, scale);
    let zero = int == "0" && frac.bytes().all(|b| b == b'0');
    let sign = if rng.below(4) == 0 && !zero { "-" } else { "" };
    if scale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// Words up to `max_chars` characters (at least one character), starting with the key so
/// values differ.
fn words(rng: &mut Rng, id: i64, max_chars: usize) -> String {
    let mut s = format!("{id}");
    let target = 1 + rng.below(max_chars as u64) as usize;
    let mut chars = s.chars().count();
    while chars < target {
        let w = WORDS[rng.below(WORDS.len() as u64) as usize];
        let n = w.chars().count() + 1;
        if chars + n > max_chars {
            break;
        }
        s.push(' ');
        s.push_str(w);
        chars += n;
    }
    s.chars().take(max_chars).collect()
}

/// Hostile text of about `min..max` bytes.
fn hostile(rng: &mut Rng, min: usize, max: usize) -> String {
    let target = min + rng.below((max - min) as u64) as usize;
    let mut s = String::with_capacity(target + 16);
    while s.len() < target {
        s.push_str(HOSTILE[rng.below(HOSTILE.len() as u64) as usize]);
    }
    s
}

/// A generated dataset as a [`Source`]: `profile`'s tables, `rows` rows each, from `seed`.
#[derive(Debug, Clone)]
pub struct GeneratedSource {
    profile: Profile,
    rows: u64,
    seed: u64,
    tables: Vec<TableSpec>,
}

impl GeneratedSource {
    /// `rows` rows in each of `profile`'s tables, made from `seed`.
    pub fn new(profile: Profile, rows: u64, seed: u64) -> Result<Self> {
        if rows > i64::MAX as u64 {
            return Err(Error::config(format!(
                "--rows {rows} is more than a key can hold"
            )));
        }
        Ok(GeneratedSource {
            profile,
            rows,
            seed,
            tables: profile.tables(),
        })
    }

    /// How the source is named in reports: `generated:wide?rows=N&seed=S`.
    pub fn label(&self) -> String {
        format!(
            "generated:{}?rows={}&seed={}",
            self.profile.name(),
            self.rows,
            self.seed
        )
    }

    /// Rows in each table.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Rows over all tables.
    pub fn total_rows(&self) -> u64 {
        self.rows * self.tables.len() as u64
    }

    fn spec(&self, table: &Table) -> Result<&TableSpec> {
        self.tables
            .iter()
            .find(|t| t.name == table.name)
            .ok_or_else(|| {
                Error::config(format!(
                    "table `{}` is not part of the generated `{}` profile",
                    table.display_name(),
                    self.profile.name()
                ))
            })
    }

    /// For each column of `table` to read (copied columns, in order): its position in the
    /// generator's spec. A column whose type the caller changed is refused by name: the
    /// generator makes values of its own types only.
    fn plan_columns(&self, spec: &TableSpec, table: &Table) -> Result<Vec<usize>> {
        table
            .copied_columns()
            .map(|c| {
                let i = spec
                    .columns
                    .iter()
                    .position(|s| s.name == c.name)
                    .ok_or_else(|| {
                        Error::config(format!(
                            "table `{}`: the generator has no column `{}`",
                            spec.name, c.name
                        ))
                    })?;
                if (spec.columns[i].data_type)() != c.data_type {
                    return Err(Error::config(format!(
                        "table `{}`, column `{}`: the generator makes {:?} values, not {:?}",
                        spec.name,
                        c.name,
                        (spec.columns[i].data_type)(),
                        c.data_type
                    )));
                }
                Ok(i)
            })
            .collect()
    }

    /// The values of row `id` of `table` (every column, in order): what a read sends.
    pub fn row(&self, table: &str, id: i64) -> Option<Vec<Value>> {
        let spec = self.tables.iter().find(|t| t.name == table)?;
        (id >= 1 && id as u64 <= self.rows).then(|| {
            (0..spec.columns.len())
                .map(|c| cell(self.seed, spec, id, c))
                .collect()
        })
    }
}

#[async_trait]
impl Source for GeneratedSource {
    fn dialect(&self) -> Dialect {
        // Neutral types only: the translator maps every column from its `data_type`, as
        // for SQLite (a PostgreSQL or MySQL source would keep `source_type` verbatim on a
        // target of its own kind).
        Dialect::Sqlite
    }

    async fn schema(&self) -> Result<Schema> {
        Ok(Schema {
            tables: self.tables.iter().map(|t| t.table(self.rows)).collect(),
            ..Schema::default()
        })
    }

    async fn read_table(
        &self,
        table: &Table,
        options: &ReadOptions,
        tx: BatchSender,
    ) -> Result<ReadStats> {
        let spec = self.spec(table)?;
        let columns = self.plan_columns(spec, table)?;
        let (lo, hi) = options.key_range.unwrap_or((i64::MIN, i64::MAX));
        let first = lo.max(1);
        // `hi` is exclusive; the last key is `rows`.
        let last = (hi.saturating_sub(1)).min(self.rows as i64);
        let mut rows = RowLoop::new(table, options, tx);
        let mut id = first;
        while id <= last {
            rows.row(|out| {
                for &c in &columns {
                    out.push(cell(self.seed, spec, id, c));
                }
                Ok::<(), BadRow>(())
            })
            .await?;
            id += 1;
        }
        rows.finish().await
    }

    async fn count_rows(&self, table: &Table) -> Result<u64> {
        self.spec(table)?;
        Ok(self.rows)
    }

    fn supports_key_ranges(&self) -> bool {
        true
    }

    async fn key_bounds(&self, table: &Table) -> Result<Option<(i64, i64)>> {
        self.spec(table)?;
        Ok((self.rows > 0).then_some((1, self.rows as i64)))
    }

    async fn key_cuts(&self, table: &Table, every: u64, max: usize) -> Result<Vec<i64>> {
        self.spec(table)?;
        let every = every.max(1);
        // Keys are 1..=rows, so the key at 0-based position p is p + 1.
        Ok((1..)
            .map_while(|k: u64| k.checked_mul(every))
            .take_while(|p| *p < self.rows)
            .take(max)
            .map(|p| p as i64 + 1)
            .collect())
    }
}

/// A [`Connector`] whose source at [`GeneratedConnector::placeholder_url`] is a
/// [`GeneratedSource`]; every other URL (the target, which verification also reads as a
/// source) and planning go to `inner` (the real drivers).
pub struct GeneratedConnector {
    source: Arc<GeneratedSource>,
    inner: Arc<dyn Connector>,
}

impl GeneratedConnector {
    /// `source` for reading, `inner` for everything else.
    pub fn new(source: GeneratedSource, inner: Arc<dyn Connector>) -> Self {
        GeneratedConnector {
            source: Arc::new(source),
            inner,
        }
    }

    /// The URL to hand the engine as the run's source: the one this connector opens as the
    /// generated source (the report names it with [`GeneratedSource::label`]).
    pub fn placeholder_url() -> Result<ConnUrl> {
        ConnUrl::parse("sqlite:generated")
    }
}

#[async_trait]
impl Connector for GeneratedConnector {
    async fn open_source(&self, url: &ConnUrl) -> Result<Arc<dyn Source>> {
        if *url == Self::placeholder_url()? {
            return Ok(self.source.clone());
        }
        self.inner.open_source(url).await
    }

    async fn open_sink(&self, url: &ConnUrl) -> Result<Arc<dyn Sink>> {
        self.inner.open_sink(url).await
    }

    fn planner(&self, target: Dialect) -> Arc<dyn TargetPlanner> {
        self.inner.planner(target)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use ferry_core::BatchLimits;

    /// Every row of every table of `source` as read through `read_table`, in key ranges
    /// `ranges` (or whole), as debug text.
    async fn read_all(source: &GeneratedSource, ranges: Option<&[(i64, i64)]>) -> Vec<String> {
        let schema = source.schema().await.unwrap();
        let mut out = Vec::new();
        for t in &schema.tables {
            let ranges: Vec<Option<(i64, i64)>> = match ranges {
                Some(r) => r.iter().copied().map(Some).collect(),
                None => vec![None],
            };
            for range in ranges {
                let (tx, mut rx) = tokio::sync::mpsc::channel(4);
                let opts = ReadOptions {
                    limits: BatchLimits {
                        max_rows: 7,
                        max_bytes: 1 << 20,
                    },
                    key_range: range,
                    ..ReadOptions::default()
                };
                let s = source.clone();
                let table = t.clone();
                let reader = tokio::spawn(async move { s.read_table(&table, &opts, tx).await });
                while let Some(batch) = rx.recv().await {
                    for row in batch.iter_rows() {
                        out.push(format!("{}:{row:?}", t.name));
                    }
                }
                reader.await.unwrap().unwrap();
            }
        }
        out
    }

    #[tokio::test]
    async fn the_same_seed_gives_the_same_rows_and_another_seed_others() {
        for (_, profile) in Profile::ALL {
            let a = read_all(&GeneratedSource::new(profile, 300, 42).unwrap(), None).await;
            let b = read_all(&GeneratedSource::new(profile, 300, 42).unwrap(), None).await;
            let c = read_all(&GeneratedSource::new(profile, 300, 43).unwrap(), None).await;
            assert_eq!(a.len(), 300 * profile.tables().len(), "{profile:?}");
            assert_eq!(a, b, "{profile:?}: same seed, same rows");
            let same = a.iter().zip(&c).filter(|(x, y)| x == y).count();
            assert_eq!(same, 0, "{profile:?}: another seed changes every row");
        }
    }

    #[tokio::test]
    async fn key_ranges_read_exactly_the_rows_of_a_whole_read() {
        let s = GeneratedSource::new(Profile::All, 250, 7).unwrap();
        let whole = read_all(&s, None).await;
        let chunked = read_all(
            &s,
            Some(&[
                (i64::MIN, 1),
                (1, 100),
                (100, 101),
                (101, 251),
                (251, i64::MAX),
            ]),
        )
        .await;
        assert_eq!(whole, chunked);
        let t = s.schema().await.unwrap().tables[0].clone();
        assert_eq!(s.count_rows(&t).await.unwrap(), 250);
        assert_eq!(s.key_bounds(&t).await.unwrap(), Some((1, 250)));
        assert_eq!(s.key_cuts(&t, 100, 10).await.unwrap(), vec![101, 201]);
        assert_eq!(s.key_cuts(&t, 100, 1).await.unwrap(), vec![101]);
        assert_eq!(s.key_cuts(&t, 250, 10).await.unwrap(), Vec::<i64>::new());
    }

    #[test]
    fn values_fit_their_declared_types() {
        let s = GeneratedSource::new(Profile::All, 2_000, 1).unwrap();
        for spec in &s.tables {
            let table = spec.table(s.rows);
            let mut nulls = vec![0u64; spec.columns.len()];
            for id in 1..=2_000 {
                let row = s.row(spec.name, id).unwrap();
                for ((v, c), n) in row.iter().zip(&table.columns).zip(nulls.iter_mut()) {
                    let what = format!("{}.{} row {id}: {v:?}", spec.name, c.name);
                    match (&c.data_type, v) {
                        (_, Value::Null) => {
                            assert!(c.nullable, "{what}");
                            *n += 1;
                        }
                        (DataType::VarChar(max) | DataType::Char(max), Value::Text(t)) => {
                            let len = t.chars().count();
                            assert!(len >= 1 && len <= *max as usize, "{what}");
                            if matches!(c.data_type, DataType::Char(_)) {
                                assert_eq!(len, *max as usize, "{what}");
                            }
                        }
                        (DataType::Int16, Value::Int(i)) => {
                            assert!(i16::try_from(*i).is_ok(), "{what}")
                        }
                        (DataType::Int32, Value::Int(i)) => {
                            assert!(i32::try_from(*i).is_ok(), "{what}")
                        }
                        (
                            DataType::Decimal {
                                precision: Some(p),
                                scale: Some(sc),
                            },
                            Value::Decimal(d),
                        ) => {
                            assert_eq!(
                                ferry_core::value::canonical_decimal(d).as_deref(),
                                Some(d.as_str()),
                                "{what}"
                            );
                            let (i, f) = d.trim_start_matches('-').split_once('.').unwrap();
                            assert_eq!(f.len(), *sc as usize, "{what}");
                            assert!(i.len() <= (*p - *sc) as usize, "{what}");
                        }
                        (DataType::Float32, Value::Float(f)) => {
                            assert_eq!(f64::from(*f as f32), *f, "{what}")
                        }
                        (DataType::Text, Value::Text(t)) => assert!(!t.contains('\0'), "{what}"),
                        (DataType::Json, Value::Json(j)) => {
                            assert!(j.starts_with('{') && j.ends_with('}'), "{what}")
                        }
                        (
                            DataType::Int64
                            | DataType::Float64
                            | DataType::Bool
                            | DataType::Date
                            | DataType::Time
                            | DataType::Timestamp
                            | DataType::TimestampTz
                            | DataType::Uuid
                            | DataType::Bytes,
                            _,
                        ) => {}
                        _ => panic!("{what}: not a value of {:?}", c.data_type),
                    }
                }
            }
            for (c, n) in spec.columns.iter().zip(&nulls) {
                if c.null_pct > 0 {
                    assert!(*n > 0 && *n < 2_000, "{}.{}: {n} NULLs", spec.name, c.name);
                }
            }
        }
        let text = s.row("bench_text", 5).unwrap();
        let all: String = (1..=200)
            .filter_map(|id| match &s.row("bench_text", id).unwrap()[2] {
                Value::Text(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        for needle in ["'", "\"", "\\", "\t", "\n", "\r\n", "\\N", "東京", "🚢"] {
            assert!(all.contains(needle), "text-heavy holds {needle:?}");
        }
        assert!(matches!(text[2], Value::Text(_)));
    }

    #[test]
    fn the_wide_profile_is_wide_and_profiles_parse() {
        assert_eq!(wide().columns.len(), 30);
        assert_eq!(Profile::parse("text_heavy"), Some(Profile::TextHeavy));
        assert_eq!(Profile::parse("Wide"), Some(Profile::Wide));
        assert_eq!(Profile::parse("huge"), None);
        let s = GeneratedSource::new(Profile::Wide, 10, 3).unwrap();
        assert_eq!(s.label(), "generated:wide?rows=10&seed=3");
        assert!(s.row("bench_wide", 0).is_none() && s.row("bench_wide", 11).is_none());
    }

    #[tokio::test]
    async fn a_changed_column_type_is_refused_by_name() {
        let s = GeneratedSource::new(Profile::Narrow, 10, 3).unwrap();
        let mut t = s.schema().await.unwrap().tables[0].clone();
        t.columns[3].data_type = DataType::Text;
        let (tx, _rx) = tokio::sync::mpsc::channel(4);
        let err = s
            .read_table(&t, &ReadOptions::default(), tx)
            .await
            .expect_err("refused");
        assert!(
            err.message().contains("bench_narrow") && err.message().contains("`label`"),
            "{err}"
        );
    }
}
