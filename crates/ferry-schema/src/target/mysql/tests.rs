//! Unit tests of the MySQL target.

use super::*;
use ferry_core::{Check, Column, DataType, DefaultValue};

#[test]
fn every_neutral_type_has_a_mysql_name() {
    assert_eq!(type_name(&DataType::Bool), "tinyint(1)");
    assert_eq!(type_name(&DataType::Int16), "smallint");
    assert_eq!(type_name(&DataType::Int32), "int");
    assert_eq!(type_name(&DataType::Int64), "bigint");
    assert_eq!(type_name(&DataType::Float32), "float");
    assert_eq!(type_name(&DataType::Float64), "double");
    assert_eq!(
        type_name(&DataType::Decimal {
            precision: Some(10),
            scale: Some(2)
        }),
        "decimal(10,2)"
    );
    assert_eq!(
        type_name(&DataType::Decimal {
            precision: None,
            scale: None
        }),
        "decimal(65,30)"
    );
    assert_eq!(
        type_name(&DataType::Decimal {
            precision: Some(100),
            scale: Some(40)
        }),
        "decimal(65,30)"
    );
    assert_eq!(type_name(&DataType::Text), "longtext");
    assert_eq!(type_name(&DataType::VarChar(64)), "varchar(64)");
    assert_eq!(type_name(&DataType::Char(2)), "char(2)");
    assert_eq!(type_name(&DataType::Bytes), "longblob");
    assert_eq!(type_name(&DataType::Date), "date");
    assert_eq!(type_name(&DataType::Time), "time(6)");
    assert_eq!(type_name(&DataType::Timestamp), "datetime(6)");
    assert_eq!(type_name(&DataType::TimestampTz), "datetime(6)");
    assert_eq!(type_name(&DataType::Uuid), "char(36)");
    assert_eq!(type_name(&DataType::Json), "json");
    assert_eq!(
        type_name(&DataType::Array(Box::new(DataType::Int32))),
        "json"
    );
    assert_eq!(
        type_name(&DataType::Enum {
            name: "m".into(),
            labels: vec!["a".into(), "it's".into()]
        }),
        "enum('a','it''s')"
    );
    assert_eq!(type_name(&DataType::Set(vec!["x".into()])), "set('x')");
    assert_eq!(type_name(&DataType::Bit(3)), "bit(3)");
    assert_eq!(type_name(&DataType::Interval), "varchar(64)");
}

fn keyed_table() -> Table {
    let mut t = Table::new("t");
    for c in ["a", "b", "c"] {
        t.columns.push(Column::new(c, "TEXT", DataType::Text));
    }
    t.columns.push(Column::new("d", "BLOB", DataType::Bytes));
    t.primary_key = vec!["a".into()];
    t.indexes.push(ferry_core::Index {
        name: "t_bc".into(),
        parts: vec![
            ferry_core::IndexPart::column("b"),
            ferry_core::IndexPart::column("c"),
        ],
        unique: true,
        predicate: None,
        method: None,
        include: Vec::new(),
        constraint: None,
    });
    t.indexes.push(ferry_core::Index {
        name: "t_c".into(),
        parts: vec![ferry_core::IndexPart::column("c")],
        unique: false,
        predicate: None,
        method: None,
        include: Vec::new(),
        constraint: None,
    });
    t
}

#[test]
fn key_limits_are_shared_by_the_parts_of_a_key() {
    let t = keyed_table();
    assert_eq!(key_char_limit(&t, "a"), Some(768));
    assert_eq!(key_char_limit(&t, "b"), Some(384));
    // The tightest index that uses the column decides.
    assert_eq!(key_char_limit(&t, "c"), Some(384));
    assert_eq!(key_char_limit(&t, "d"), None);
    assert_eq!(columns_needing_length(&t), vec!["a", "b", "c"]);
}

#[test]
fn text_left_in_a_key_stays_text_with_a_prefix() {
    let mut t = keyed_table();
    t.indexes.push(ferry_core::Index {
        name: "t_d".into(),
        parts: vec![ferry_core::IndexPart::column("d")],
        unique: true,
        predicate: None,
        method: None,
        include: Vec::new(),
        constraint: None,
    });
    let tr = to_mysql(t, Dialect::Sqlite);
    let ddl = &tr.tables[0].ddl;
    let create = &ddl.create[0];
    assert!(create.contains("`a` longtext"), "{create}");
    assert!(create.contains("PRIMARY KEY (`a`(768))"), "{create}");
    assert!(create.contains("`d` varbinary(255)"), "{create}");
    let post = ddl.post_load.join("\n");
    assert!(post.contains("`t_bc` (`b`(384), `c`(384))"), "{post}");
    assert!(post.contains("`t_c` (`c`(768))"), "{post}");
    let warnings: Vec<String> = tr.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("t.a: unique index `PRIMARY` can only cover the first 768")),
        "{warnings:?}"
    );
}

/// Issue 13's examples: defaults MySQL would refuse are dropped with a warning quoting
/// them; "today" written the PostgreSQL way becomes CURRENT_DATE.
#[test]
fn defaults_that_do_not_fit_are_dropped_and_today_translates() {
    let mut t = Table::new("t");
    let mut c = Column::new("created", "DATETIME", DataType::Timestamp);
    c.default = Some(crate::source::sqlite::parse_default("0"));
    t.columns.push(c);
    let mut c = Column::new("day", "date", DataType::Date);
    c.nullable = false;
    c.default = Some(crate::source::postgres::parse_default(
        "('now'::text)::date",
    ));
    t.columns.push(c);
    let mut c = Column::new("perms", "set", DataType::Set(vec!["read".into()]));
    c.default = Some(DefaultValue::Text("write".into()));
    t.columns.push(c);
    let tr = to_mysql(t, Dialect::Sqlite);
    let create = &tr.tables[0].ddl.create[0];
    assert!(create.contains("`created` datetime(6),"), "{create}");
    assert!(
        create.contains("`day` date NOT NULL DEFAULT (CURRENT_DATE)"),
        "{create}"
    );
    assert!(!create.contains("DEFAULT 'write'"), "{create}");
    let warnings: Vec<String> = tr.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warnings.contains(
            &"t.created: default 0 does not fit a datetime(6) column; the default was not carried over"
                .to_string()
        ),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("t.perms: default 'write' member `write`")),
        "{warnings:?}"
    );
}

/// The review's example: a SQLite CHECK whose literals end a MySQL string early when
/// written in the standard style. Each literal stays one MySQL literal; the foreign-key
/// check puts no source name in a comment.
#[test]
fn check_literals_are_written_by_mysql_rules() {
    let col = "c**//1; DROP TABLE y; /*";
    let mut t = Table::new("t");
    t.columns.push(Column::new("v", "TEXT", DataType::Text));
    t.columns.push(Column::new(col, "INTEGER", DataType::Int64));
    t.checks.push(Check {
        name: None,
        expression: r"v IN ('\', ')); DROP TABLE y; -- ')".into(),
        dialect: Dialect::Sqlite,
    });
    t.primary_key = vec!["v".into()];
    t.foreign_keys.push(ferry_core::ForeignKey {
        name: None,
        columns: vec![col.into()],
        ref_table: "t".into(),
        ref_columns: vec!["v".into()],
        on_delete: None,
        on_update: None,
        enforced: false,
        deferrable: ferry_core::Deferrable::No,
    });
    let schema = ferry_core::Schema {
        tables: vec![t],
        ..Default::default()
    };
    let tr = |to| {
        crate::translate(&schema, Dialect::Sqlite, to, &crate::Overrides::default())
            .expect("translates")
    };
    let my = tr(Dialect::Mysql);
    let post = my.tables[0].ddl.post_load.join("\n");
    assert!(
        post.contains(r"CHECK (`v` IN ('\\', ')); DROP TABLE y; -- '))"),
        "{post}"
    );
    let fk = &my.tables[0].ddl.foreign_keys[0];
    let validate = fk.validate.as_deref().expect("checked");
    assert!(validate.starts_with(VALIDATE_FK_MARK), "{validate}");
    assert!(
        validate.starts_with("SELECT /* ferry:validate-fk */ 1 FROM (SELECT 1 UNION"),
        "{validate}"
    );
    assert!(
        validate.contains("`c**//1; DROP TABLE y; /*`"),
        "{validate}"
    );
    let pg = tr(Dialect::Postgres);
    let post = pg.tables[0].ddl.post_load.join("\n");
    assert!(
        post.contains(r"CHECK (v IN (E'\\', ')); DROP TABLE y; -- '))"),
        "{post}"
    );
}

#[test]
fn enums_mysql_cannot_hold_become_varchar() {
    let mut t = Table::new("t");
    for (name, labels) in [
        ("plain", vec!["a", "it's"]),
        ("emoji", vec!["a😀", "b"]),
        ("space", vec!["a ", "b"]),
        ("case", vec!["a", "A"]),
    ] {
        let labels = labels.into_iter().map(String::from).collect();
        let ty = DataType::Enum {
            name: name.into(),
            labels,
        };
        t.columns.push(Column::new(name, "x", ty));
    }
    let tr = to_mysql(t, Dialect::Postgres);
    let create = &tr.tables[0].ddl.create[0];
    assert!(create.contains("`plain` enum('a','it''s')"), "{create}");
    for col in [
        "`emoji` varchar(2)",
        "`space` varchar(2)",
        "`case` varchar(1)",
    ] {
        assert!(create.contains(col), "{create}");
    }
    assert_eq!(tr.warnings.len(), 3, "{:?}", tr.warnings);
}

#[test]
fn literals_and_identifiers_quote() {
    assert_eq!(quote_ident("a`b"), "`a``b`");
    assert_eq!(quote_literal("it's \\ ok"), "'it''s \\\\ ok'");
}

#[test]
fn postgres_gin_and_gist_indexes_are_left_out_and_size_no_column() {
    let mut t = Table::new("docs");
    t.columns
        .push(Column::new("id", "integer", DataType::Int32));
    t.columns
        .push(Column::new("tsv", "tsvector", DataType::Text));
    t.columns.push(Column::new("title", "text", DataType::Text));
    t.primary_key = vec!["id".into()];
    for (name, column, method) in [
        ("docs_tsv", "tsv", "gin"),
        ("docs_title_gist", "title", "gist"),
        ("docs_title_sp", "title", "spgist"),
        ("docs_title_hash", "title", "hash"),
    ] {
        t.indexes.push(ferry_core::Index {
            name: name.into(),
            parts: vec![ferry_core::IndexPart::column(column)],
            unique: false,
            predicate: None,
            method: Some(method.into()),
            include: Vec::new(),
            constraint: None,
        });
    }
    // No key needs a column whole: the hash index (a btree serves it) covers a prefix.
    assert!(columns_needing_length(&t).is_empty());
    assert_eq!(key_char_limit(&t, "tsv"), None);
    let tr = to_mysql(t, Dialect::Postgres);
    let post = tr.tables[0].ddl.post_load.join("\n");
    assert!(post.contains("`docs_title_hash` (`title`(768))"), "{post}");
    for left_out in ["docs_tsv", "docs_title_gist", "docs_title_sp"] {
        assert!(!post.contains(left_out), "{post}");
        assert!(
            tr.warnings
                .iter()
                .any(|w| w.message.contains(&format!("index `{left_out}` ("))
                    && w.message.contains("not carried over")),
            "{:?}",
            tr.warnings
        );
    }
}

#[test]
fn an_auto_increment_column_second_in_the_primary_key_gets_a_key_of_its_own() {
    // PostgreSQL's partitioned payment table: PRIMARY KEY (payment_date, payment_id serial).
    let mut t = Table::new("payment");
    let mut id = Column::new("payment_id", "integer", DataType::Int32);
    id.auto_increment = true;
    t.columns.push(id);
    t.columns.push(Column::new(
        "payment_date",
        "timestamp",
        DataType::Timestamp,
    ));
    t.primary_key = vec!["payment_date".into(), "payment_id".into()];
    let tr = to_mysql(t, Dialect::Postgres);
    let create = &tr.tables[0].ddl.create[0];
    assert!(create.contains("AUTO_INCREMENT"), "{create}");
    assert!(
        create.contains("KEY `payment_payment_id_auto` (`payment_id`)"),
        "InnoDB needs the AUTO_INCREMENT column to lead a key at creation: {create}"
    );
    assert!(tr
        .warnings
        .iter()
        .any(|w| w.message.contains("`payment_payment_id_auto` added")));
}

/// `table` alone, translated from `source` to MySQL with no overrides.
fn to_mysql(table: Table, source: Dialect) -> crate::Translation {
    let schema = ferry_core::Schema {
        tables: vec![table],
        ..Default::default()
    };
    crate::translate(
        &schema,
        source,
        Dialect::Mysql,
        &crate::Overrides::default(),
    )
    .expect("translates")
}
