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

use tables::{blob, narrow, text_heavy, wide, TableSpec};

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
pub(crate) fn mix(mut z: u64) -> u64 {
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
    pub(crate) fn tables(self) -> Vec<TableSpec> {
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

mod source;
mod tables;
mod values;

pub use source::{GeneratedConnector, GeneratedSource};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use ferry_core::{BatchLimits, DataType, ReadOptions, Source, Value};

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
