//! Criterion: encoding neutral values into PostgreSQL's binary COPY format.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferry_core::{Column, DataType, Table, Value};
use ferry_postgres::encode::RowEncoder;
use std::hint::black_box;

fn table() -> Table {
    let mut t = Table::new("comments");
    for (name, ty) in [
        ("id", DataType::Int64),
        ("post_id", DataType::Int64),
        ("body", DataType::Text),
        ("title", DataType::VarChar(255)),
        ("score", DataType::Float64),
        (
            "price",
            DataType::Decimal {
                precision: Some(10),
                scale: Some(2),
            },
        ),
        ("created_at", DataType::Timestamp),
        ("active", DataType::Bool),
    ] {
        t.columns.push(Column::new(name, "", ty));
    }
    t
}

fn rows(n: usize) -> Vec<Value> {
    (0..n)
        .flat_map(|i| {
            [
                Value::Int(i as i64),
                Value::Int((i * 7) as i64),
                Value::Text("a comment body with some words in it, like a real one 🚢".into()),
                Value::Text("title".into()),
                Value::Float(i as f64 / 3.0),
                Value::Decimal(format!("{}.{:02}", i % 10_000, i % 100)),
                Value::Timestamp(1_700_000_000_000_000 + i as i64),
                Value::Bool(i % 2 == 0),
            ]
        })
        .collect()
}

fn bench_encode(c: &mut Criterion) {
    let t = table();
    let enc = RowEncoder::new(&t);
    let n = 10_000;
    let values = rows(n);
    let bytes: usize = values.iter().map(Value::byte_size).sum();
    let mut g = c.benchmark_group("pg_binary_copy");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("encode_10k_rows", |b| {
        let mut buf = BytesMut::with_capacity(4 << 20);
        b.iter(|| {
            buf.clear();
            for row in values.chunks(8) {
                enc.encode_row(black_box(row), &mut buf).expect("encodes");
            }
            black_box(buf.len())
        })
    });
    g.bench_function("numeric_only", |b| {
        let mut buf = BytesMut::with_capacity(1 << 20);
        b.iter(|| {
            buf.clear();
            for i in 0..10_000u32 {
                ferry_postgres::encode::encode_numeric(black_box("123456.78"), Some(8), &mut buf)
                    .expect("numeric");
                black_box(i);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_encode);
criterion_main!(benches);
