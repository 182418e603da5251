//! Criterion: translating a schema (type rules, naming, DDL rendering).

use criterion::{criterion_group, criterion_main, Criterion};
use ferry_core::{Column, Dialect, ForeignKey, Index, IndexPart, Schema, Table};
use ferry_schema::rules::{map_type, ColumnFacts, Mapped};
use ferry_schema::source::sqlite::SQLITE_RULES;
use ferry_schema::{translate, Overrides};
use std::hint::black_box;

const DECLARED: &[&str] = &[
    "INTEGER",
    "VARCHAR(255)",
    "TEXT",
    "REAL",
    "NUMERIC(10,2)",
    "BOOLEAN",
    "DATETIME",
    "BLOB",
    "NVARCHAR(40)",
    "DATE",
];

fn schema(tables: usize) -> Schema {
    let mut s = Schema::default();
    for t in 0..tables {
        let mut table = Table::new(format!("Table{t}"));
        for (i, d) in DECLARED.iter().enumerate() {
            let facts = ColumnFacts::declared(d);
            let Mapped::Type(ty, _) = map_type(SQLITE_RULES, &facts) else {
                continue;
            };
            let mut c = Column::new(format!("col_{i}"), *d, ty);
            c.nullable = i % 2 == 0;
            table.columns.push(c);
        }
        table.primary_key = vec!["col_0".into()];
        table.indexes.push(Index {
            name: format!("t{t}_idx"),
            parts: vec![IndexPart::column("col_1")],
            unique: false,
            predicate: None,
            method: None,
            include: Vec::new(),
            constraint: None,
        });
        if t > 0 {
            table.foreign_keys.push(ForeignKey {
                name: None,
                columns: vec!["col_0".into()],
                ref_table: format!("Table{}", t - 1),
                ref_columns: vec!["col_0".into()],
                on_delete: None,
                on_update: None,
                enforced: false,
                deferrable: ferry_core::Deferrable::No,
            });
        }
        s.tables.push(table);
    }
    s
}

fn bench_translate(c: &mut Criterion) {
    let s = schema(200);
    c.bench_function("translate_200_tables_to_postgres", |b| {
        b.iter(|| {
            translate(
                black_box(&s),
                Dialect::Sqlite,
                Dialect::Postgres,
                &Overrides::default(),
            )
            .expect("translates")
        })
    });
    c.bench_function("sqlite_type_rules", |b| {
        let facts: Vec<ColumnFacts> = DECLARED.iter().map(|d| ColumnFacts::declared(d)).collect();
        b.iter(|| {
            for f in &facts {
                black_box(map_type(SQLITE_RULES, black_box(f)));
            }
        })
    });
}

criterion_group!(benches, bench_translate);
criterion_main!(benches);
