//! PgSource against the real test PostgreSQL (`FERRY_TEST_PG`, default as in
//! scripts/servers.sh): introspection, snapshot isolation, decoding of every type, batching,
//! and the raw pass-through into PgSink. Each test's databases are dropped when their guards are.

use ferry_core::{
    Batch, BatchLimits, DataType, DefaultValue, ReadOptions, Schema, Sink, Source, Table, Value,
};
use ferry_postgres::{PgSink, PgSource};
use ferry_test_support::PgDb;

const EVERY_TYPE: &str = include_str!("../../../fixtures/postgres/every_type.sql");

async fn read_all(source: &PgSource, table: &Table, options: ReadOptions) -> Vec<Batch> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let table = table.clone();
    let reader = async move { source.read_table(&table, &options, tx).await };
    let collect = async move {
        let mut out = Vec::new();
        while let Some(b) = rx.recv().await {
            out.push(b);
        }
        out
    };
    let (stats, batches) = tokio::join!(reader, collect);
    let stats = stats.expect("read");
    let rows: usize = batches.iter().map(Batch::rows).sum();
    assert_eq!(stats.rows_read as usize, rows);
    batches
}

fn table<'a>(schema: &'a Schema, name: &str) -> &'a Table {
    schema
        .table(name)
        .unwrap_or_else(|| panic!("table {name} missing"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspects_and_decodes_every_type() {
    let db = PgDb::new("pgsrc_types");
    db.client()
        .await
        .batch_execute(EVERY_TYPE)
        .await
        .expect("fixture");
    let source = PgSource::open(db.conn_url(), None).await.expect("open");
    let schema = source.schema().await.expect("schema");

    // In creation order, so one an extension requires comes first.
    assert_eq!(schema.extensions, vec!["uuid-ossp", "citext"]);
    let type_names: Vec<&str> = schema.types.iter().map(|t| t.name.as_str()).collect();
    assert!(type_names.contains(&"mood") && type_names.contains(&"email"));
    assert!(type_names.contains(&"score"));

    let wh = table(&schema, "inventory.warehouse");
    assert_eq!(wh.schema.as_deref(), Some("inventory"));
    assert_eq!(wh.comment.as_deref(), Some("where things are"));
    assert!(wh.columns[0].auto_increment, "identity column");
    assert_eq!(wh.indexes.len(), 1);
    assert!(wh.indexes[0].unique);

    let t = table(&schema, "public.every_type");
    let col = |n: &str| t.column(n).unwrap_or_else(|| panic!("column {n}"));
    assert!(
        col("id").auto_increment && col("id").default.is_none(),
        "bigserial"
    );
    assert_eq!(col("id").source_type, "bigint");
    assert_eq!(t.primary_key, vec!["id"]);
    assert_eq!(col("vc").data_type, DataType::VarChar(20));
    assert_eq!(col("ch").data_type, DataType::Char(3));
    assert_eq!(col("ci").data_type, DataType::Text);
    assert_eq!(col("ci").source_type, "citext");
    assert_eq!(
        col("n").data_type,
        DataType::Decimal {
            precision: Some(12),
            scale: Some(3)
        }
    );
    assert_eq!(
        col("ints").data_type,
        DataType::Array(Box::new(DataType::Int32))
    );
    assert!(matches!(&col("m").data_type, DataType::Enum { labels, .. } if labels.len() == 3));
    assert_eq!(col("e").data_type, DataType::Text, "domain over citext");
    assert_eq!(col("e").source_type, "email");
    assert_eq!(col("sc").data_type, DataType::Int32);
    assert_eq!(col("bits").data_type, DataType::Bit(3));
    assert_eq!(col("addr").data_type, DataType::Text);
    assert_eq!(col("tstz").data_type, DataType::TimestampTz);
    assert_eq!(col("iv").data_type, DataType::Interval);
    assert_eq!(col("jb").data_type, DataType::Json);
    assert!(!col("u").nullable);
    assert_eq!(
        col("u").default,
        Some(DefaultValue::Expression {
            dialect: ferry_core::Dialect::Postgres,
            sql: "uuid_generate_v4()".into()
        })
    );
    assert!(col("doubled").generated.is_some());
    assert_eq!(col("t").comment.as_deref(), Some("free text"));
    assert_eq!(t.checks.len(), 1);
    assert!(t.checks[0].expression.contains("small > 0"));
    assert_eq!(t.foreign_keys.len(), 1);
    assert_eq!(t.foreign_keys[0].ref_table, "inventory.warehouse");
    assert_eq!(t.foreign_keys[0].on_delete.as_deref(), Some("SET NULL"));
    let idx = |n: &str| {
        t.indexes
            .iter()
            .find(|i| i.name == n)
            .unwrap_or_else(|| panic!("index {n}"))
    };
    assert_eq!(
        idx("every_type_lower_t").parts[0].expression.as_deref(),
        Some("lower(t)")
    );
    assert_eq!(idx("every_type_flagged").predicate.as_deref(), Some("flag"));
    assert!(idx("every_type_flagged").parts[0].descending);
    assert_eq!(idx("every_type_jb").method.as_deref(), Some("gin"));
    assert!(idx("every_type_u").unique);

    let batches = read_all(&source, t, ReadOptions::default()).await;
    let rows: Vec<&[Value]> = batches.iter().flat_map(|b| b.iter_rows()).collect();
    assert_eq!(rows.len(), 3);
    let copied: Vec<&str> = t.copied_columns().map(|c| c.name.as_str()).collect();
    let v = |row: usize, name: &str| -> &Value {
        let i = copied
            .iter()
            .position(|c| *c == name)
            .expect("copied column");
        &rows[row][i]
    };
    assert_eq!(*v(0, "flag"), Value::Bool(true));
    assert_eq!(*v(0, "small"), Value::Int(7));
    assert_eq!(*v(0, "int_col"), Value::Int(-42));
    assert_eq!(*v(0, "big"), Value::Int(9_007_199_254_740_993));
    assert_eq!(*v(0, "r"), Value::Float(1.5));
    assert_eq!(*v(0, "d"), Value::Float(-2.25));
    assert_eq!(*v(0, "n"), Value::Decimal("12345.678".into()));
    assert_eq!(*v(0, "n_free"), Value::Decimal("-0.000000012".into()));
    assert_eq!(*v(1, "n_free"), Value::Decimal("100000000.5".into()));
    assert_eq!(*v(0, "vc"), Value::Text("héllo".into()));
    assert_eq!(*v(0, "ch"), Value::Text("ab ".into()));
    assert_eq!(*v(0, "t"), Value::Text("Zoë says \"hi\"".into()));
    assert_eq!(*v(0, "ci"), Value::Text("MiXeD".into()));
    assert_eq!(*v(0, "b"), Value::Bytes(vec![0, 255, 16]));
    assert_eq!(*v(0, "dt"), Value::Date(19_782));
    assert_eq!(*v(0, "tm"), Value::Time(86_399_999_999));
    assert_eq!(*v(0, "ts"), Value::Timestamp(946_684_799_500_000));
    assert_eq!(*v(0, "tstz"), Value::TimestampTz(1_717_236_000_000_000));
    assert_eq!(
        *v(0, "iv"),
        Value::Interval(Box::new(ferry_core::value::Interval {
            months: 14,
            days: 3,
            micros: 14_706_700_000
        }))
    );
    assert_eq!(
        *v(0, "u"),
        Value::Uuid(
            ferry_core::value::parse_uuid("550e8400-e29b-41d4-a716-446655440000").expect("uuid")
        )
    );
    assert_eq!(*v(0, "j"), Value::Json("{\"a\": [1, 2]}".into()));
    assert_eq!(*v(0, "jb"), Value::Json("{\"b\": {\"c\": null}}".into()));
    assert_eq!(
        *v(0, "ints"),
        Value::Array(Box::new(vec![Value::Int(1), Value::Null, Value::Int(3)]))
    );
    assert_eq!(
        *v(0, "texts"),
        Value::Array(Box::new(vec![
            Value::Text("x".into()),
            Value::Text("y z".into()),
            Value::Null
        ]))
    );
    assert_eq!(*v(1, "ints"), Value::Array(Box::default()));
    assert_eq!(*v(0, "m"), Value::Text("happy".into()));
    assert_eq!(*v(0, "e"), Value::Text("Ann@Example.com".into()));
    assert_eq!(*v(0, "sc"), Value::Int(5));
    assert_eq!(*v(0, "bits"), Value::Bytes(vec![5]));
    assert_eq!(*v(0, "vbits"), Value::Bytes(vec![12]));
    assert_eq!(*v(0, "addr"), Value::Text("192.168.0.1/24".into()));
    assert!(matches!(v(1, "r"), Value::Float(f) if f.is_nan()));
    assert!(matches!(v(1, "d"), Value::Float(f) if f.is_infinite()));
    assert!(
        matches!(v(2, "u"), Value::Uuid(_)),
        "default uuid generated"
    );
    assert_eq!(*v(2, "small"), Value::Null);
    assert!(
        !copied.contains(&"doubled"),
        "generated columns are not copied"
    );

    // A column whose type the caller changed is read through a cast.
    let mut as_text = t.clone();
    for c in &mut as_text.columns {
        if c.name == "int_col" || c.name == "addr" {
            c.data_type = DataType::Text;
        }
        if c.name == "big" {
            c.data_type = DataType::Decimal {
                precision: None,
                scale: None,
            };
        }
    }
    let batches = read_all(&source, &as_text, ReadOptions::default()).await;
    let row = batches[0].row(0);
    let i = copied
        .iter()
        .position(|c| *c == "int_col")
        .expect("int_col");
    assert_eq!(row[i], Value::Text("-42".into()));
    let i = copied.iter().position(|c| *c == "big").expect("big");
    assert_eq!(row[i], Value::Decimal("9007199254740993".into()));
    drop(source);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_share_one_snapshot_and_batch_large_tables() {
    let db = PgDb::new("pgsrc_snap");
    let c = db.client().await;
    c.batch_execute(
        "CREATE TABLE big (id integer PRIMARY KEY, payload text NOT NULL);
         INSERT INTO big SELECT g, repeat('x', g % 50) FROM generate_series(1, 25000) g;",
    )
    .await
    .expect("fixture");
    let source = PgSource::open(db.conn_url(), None).await.expect("open");
    // Rows written after the snapshot was exported stay invisible to every reader.
    c.batch_execute("INSERT INTO big SELECT g, 'late' FROM generate_series(25001, 25100) g; DELETE FROM big WHERE id <= 10")
        .await
        .expect("later writes");
    let schema = source.schema().await.expect("schema");
    let t = table(&schema, "big");
    assert_eq!(source.count_rows(t).await.expect("count"), 25_000);
    let limits = BatchLimits {
        max_rows: 4_000,
        max_bytes: 1 << 20,
    };
    let options = ReadOptions {
        limits,
        ..ReadOptions::default()
    };
    let (a, b) = tokio::join!(
        read_all(&source, t, options.clone()),
        read_all(&source, t, options.clone())
    );
    for batches in [&a, &b] {
        assert_eq!(batches.len(), 7, "25,000 rows in batches of 4,000");
        assert!(batches.iter().all(|b| b.rows() <= 4_000));
        let ids: Vec<i64> = batches
            .iter()
            .flat_map(|b| b.iter_rows())
            .map(|r| match r[0] {
                Value::Int(i) => i,
                ref other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ids.len(), 25_000);
        assert_eq!(ids.iter().min(), Some(&1));
        assert_eq!(ids.iter().max(), Some(&25_000));
    }
    // Raw chunks: cut at tuple boundaries, under the limits, no header or trailer.
    let raw = read_all(
        &source,
        t,
        ReadOptions {
            raw_pg_copy: true,
            ..options
        },
    )
    .await;
    assert!(raw.len() >= 7);
    for b in &raw {
        let chunk = b.raw.as_ref().expect("raw chunk");
        assert!(b.raw_rows <= 4_000);
        assert_eq!(&chunk[..2], &2i16.to_be_bytes(), "starts with a tuple");
        assert_ne!(&chunk[chunk.len() - 2..], &(-1i16).to_be_bytes()[..]);
    }
    assert_eq!(raw.iter().map(|b| b.raw_rows).sum::<u64>(), 25_000);
    drop(source);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_pass_through_loads_a_postgres_target_byte_for_byte() {
    let src = PgDb::new("pgsrc_raw_src");
    let dst = PgDb::new("pgsrc_raw_dst");
    src.client()
        .await
        .batch_execute(EVERY_TYPE)
        .await
        .expect("fixture");
    let source = PgSource::open(src.conn_url(), None).await.expect("open");
    let schema = source.schema().await.expect("schema");
    let tr = ferry_schema::translate(
        &schema,
        ferry_core::Dialect::Postgres,
        ferry_core::Dialect::Postgres,
        &ferry_schema::Overrides::default(),
    )
    .expect("translate");
    let sink = PgSink::open(dst.conn_url()).await.expect("sink");
    sink.execute(&tr.pre).await.expect("pre");
    for plan in &tr.tables {
        sink.execute(&plan.ddl.create).await.expect("create");
    }
    for plan in &tr.tables {
        let batches = read_all(
            &source,
            &plan.source,
            ReadOptions {
                raw_pg_copy: true,
                ..ReadOptions::default()
            },
        )
        .await;
        let mut w = sink.open_writer(&plan.target, false).await.expect("writer");
        for b in batches {
            w.write(b).await.expect("write");
        }
        w.finish(None).await.expect("finish");
    }
    for plan in &tr.tables {
        sink.execute(&plan.ddl.indexes).await.expect("indexes");
        sink.execute(&plan.ddl.post_load).await.expect("post load");
    }
    for plan in &tr.tables {
        for fk in &plan.ddl.foreign_keys {
            sink.execute(std::slice::from_ref(&fk.add))
                .await
                .expect("fk");
            sink.execute(fk.validate.as_slice())
                .await
                .expect("validate");
        }
        sink.execute(&plan.ddl.reset_sequences)
            .await
            .expect("sequences");
    }
    let dump = "SELECT string_agg(x::text, '|' ORDER BY id) FROM every_type x";
    let (a, b) = (src.client().await, dst.client().await);
    let left: String = a.query_one(dump, &[]).await.expect("src").get(0);
    let right: String = b.query_one(dump, &[]).await.expect("dst").get(0);
    assert_eq!(left, right);
    // Defaults, the domain check and the identity still work on the target.
    let row = b
        .query_one(
            "INSERT INTO every_type (e) VALUES ('x@y') RETURNING id, u IS NOT NULL, m::text, doubled",
            &[],
        )
        .await
        .expect("insert with defaults");
    assert_eq!(row.get::<_, i64>(0), 4);
    assert!(row.get::<_, bool>(1));
    assert_eq!(row.get::<_, String>(2), "ok");
    assert_eq!(row.get::<_, Option<i32>>(3), Some(0));
    assert!(b
        .batch_execute("INSERT INTO every_type (e) VALUES ('no-at-sign')")
        .await
        .is_err());
    drop(source);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_translates_for_mysql_with_warnings_for_what_does_not_fit() {
    let db = PgDb::new("pgsrc_to_my");
    db.client()
        .await
        .batch_execute(EVERY_TYPE)
        .await
        .expect("fixture");
    let source = PgSource::open(db.conn_url(), Some(vec!["public".into()]))
        .await
        .expect("open");
    let schema = source.schema().await.expect("schema");
    assert_eq!(schema.tables.len(), 1, "only the chosen schema");
    let tr = ferry_schema::translate(
        &schema,
        ferry_core::Dialect::Postgres,
        ferry_core::Dialect::Mysql,
        &ferry_schema::Overrides::default(),
    )
    .expect("translate");
    let script = tr.script();
    for expected in [
        "`flag` tinyint(1)",
        "`u` char(36) NOT NULL DEFAULT (UUID())",
        "`jb` json",
        "`ints` json",
        "`tstz` datetime(6)",
        "`b` longblob",
        "`n_free` decimal(65,30)",
        "`m` enum('sad','ok','happy')",
        "`id` bigint NOT NULL AUTO_INCREMENT",
        "`ts` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)",
        "`sc` int DEFAULT 0",
        "`int_col` int DEFAULT 0",
        // The email domain's CHECK, printed back as `(e ~~ '%@%'::citext)`.
        "CHECK ((`e` LIKE '%@%'))",
    ] {
        assert!(
            script.contains(expected),
            "{expected} missing from\n{script}"
        );
    }
    let warnings: Vec<String> = tr.warnings.iter().map(|w| w.to_string()).collect();
    let warned = |needle: &str| warnings.iter().any(|w| w.contains(needle));
    for needle in [
        "every_type_lower_t",
        "every_type_flagged",
        "n_free",
        "iv",
        "warehouse",
    ] {
        assert!(warned(needle), "no warning about {needle}: {warnings:#?}");
    }
    drop(source);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extensions_the_target_cannot_create_are_named_with_what_needs_them() {
    let src = PgDb::new("pgsrc_ext_src");
    let dst = PgDb::new("pgsrc_ext_dst");
    src.client()
        .await
        .batch_execute(
            "CREATE EXTENSION citext;
             CREATE EXTENSION pg_trgm;
             CREATE TABLE people (id int PRIMARY KEY, email citext, tags citext[], nick text);
             CREATE INDEX people_nick_trgm ON people USING gin (nick gin_trgm_ops);
             CREATE TABLE plain (id int PRIMARY KEY);",
        )
        .await
        .expect("fixture");
    let source = PgSource::open(src.conn_url(), None).await.expect("open");
    let schema = source.schema().await.expect("schema");
    let uses: Vec<String> = schema
        .extension_uses
        .iter()
        .map(|u| format!("{} {}: {}", u.extension, u.table, u.what))
        .collect();
    assert_eq!(
        uses,
        vec![
            "citext public.people: column email (type citext)",
            "citext public.people: column tags (type citext[])",
            "pg_trgm public.people: index people_nick_trgm",
        ]
    );

    // The target offers citext and this role may create it; it lists no extension called
    // ferry_no_such_extension. Nothing is created by asking.
    let sink = PgSink::open(dst.conn_url()).await.expect("sink");
    let names = vec![
        "citext".to_string(),
        "ferry_no_such_extension".to_string(),
        "plpgsql".to_string(),
    ];
    let missing = sink.unavailable_extensions(&names).await.expect("check");
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0].0, "ferry_no_such_extension");
    assert!(
        missing[0]
            .1
            .contains("pg_available_extensions does not list it"),
        "{missing:?}"
    );
    let row = dst
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM pg_extension WHERE extname = 'citext'",
            &[],
        )
        .await
        .expect("query");
    assert_eq!(row.get::<_, i64>(0), 0, "the check created citext");

    // An extension nothing uses is a warning; one a table needs is an error naming both.
    let mut tr = ferry_schema::translate(
        &schema,
        ferry_core::Dialect::Postgres,
        ferry_core::Dialect::Postgres,
        &ferry_schema::Overrides::default(),
    )
    .expect("translate");
    let mut unused = tr.clone();
    unused.extension_uses.clear();
    unused
        .without_extensions(&[("pg_trgm".into(), "not offered".into())])
        .expect("an unused extension is no error");
    assert!(!unused.pre.iter().any(|s| s.contains("pg_trgm")));
    assert!(unused.pre.iter().any(|s| s.contains("citext")));
    assert!(unused.warnings.iter().any(|w| {
        w.message
        == "extension `pg_trgm` is not created on the target (not offered); no copied table uses it"
    }));
    let err = tr
        .without_extensions(&[("citext".into(), "not offered".into())])
        .expect_err("people cannot be created without citext");
    let text = err.to_string();
    assert!(
        text.contains("extension `citext` cannot be created on the target (not offered); needed by public.people: column email (type citext); public.people: column tags (type citext[])"),
        "{text}"
    );
    source.close().await.expect("close");
    drop(source);
}
