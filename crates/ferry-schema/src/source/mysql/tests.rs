//! Unit tests of the MySQL source rules.

use super::*;
use ferry_core::ForeignKey;

/// Labels as MariaDB prints them in COLUMN_TYPE (read from a real server): `\n`, `\r`
/// and `\\` escaped, `'` doubled, tab, Ctrl-Z and other control characters raw.
#[test]
fn enum_labels_unescape_as_mysql_prints_them() {
    let printed = "enum('a\\nb','c\\rd','e\tf','g\\\\h','i''j','k\u{1a}l','m\u{1}n','\\0','x\\'y')";
    assert_eq!(
        enum_labels(printed),
        vec!["a\nb", "c\rd", "e\tf", "g\\h", "i'j", "k\u{1a}l", "m\u{1}n", "\0", "x'y"]
    );
}

fn map(t: &str) -> DataType {
    map_column("t", "c", t, None).0
}

#[test]
fn every_mysql_type_rule() {
    assert_eq!(
        map_column("t", "c", "tinyint(1)", Some(true)).0,
        DataType::Bool
    );
    let (t, w) = map_column("t", "c", "tinyint(1)", Some(false));
    assert_eq!(t, DataType::Int16);
    assert_eq!(w, Some(TINYINT_NOT_BOOLEAN));
    assert_eq!(map("tinyint(4)"), DataType::Int16);
    assert_eq!(map("tinyint(3) unsigned"), DataType::Int16);
    assert_eq!(map("smallint(6)"), DataType::Int16);
    assert_eq!(map("smallint(5) unsigned"), DataType::Int32);
    assert_eq!(map("mediumint(8) unsigned"), DataType::Int32);
    assert_eq!(map("int(11)"), DataType::Int32);
    assert_eq!(map("int(10) unsigned"), DataType::Int64);
    assert_eq!(map("int unsigned zerofill"), DataType::Int64);
    assert_eq!(map("bigint(20)"), DataType::Int64);
    assert_eq!(
        map("bigint(20) unsigned"),
        DataType::Decimal {
            precision: Some(20),
            scale: Some(0)
        }
    );
    assert_eq!(map("year(4)"), DataType::Int16);
    assert_eq!(map("bit(1)"), DataType::Bool);
    assert_eq!(map("bit(12)"), DataType::Bit(12));
    assert_eq!(map("float"), DataType::Float32);
    assert_eq!(map("double"), DataType::Float64);
    assert_eq!(
        map("decimal(10,2)"),
        DataType::Decimal {
            precision: Some(10),
            scale: Some(2)
        }
    );
    assert_eq!(map("char(3)"), DataType::Char(3));
    assert_eq!(map("varchar(255)"), DataType::VarChar(255));
    for t in ["tinytext", "text", "mediumtext", "longtext"] {
        assert_eq!(map(t), DataType::Text, "{t}");
    }
    for t in [
        "binary(16)",
        "varbinary(20)",
        "tinyblob",
        "blob",
        "mediumblob",
        "longblob",
    ] {
        assert_eq!(map(t), DataType::Bytes, "{t}");
    }
    assert_eq!(map("json"), DataType::Json);
    assert_eq!(map("date"), DataType::Date);
    assert_eq!(map("datetime(6)"), DataType::Timestamp);
    assert_eq!(map("timestamp"), DataType::TimestampTz);
    assert_eq!(map("time(3)"), DataType::Time);
    let (t, w) = map_column("t", "c", "geometry", None);
    assert_eq!((t, w), (DataType::Bytes, Some(SPATIAL_AS_BYTES)));
    assert_eq!(
        map_column("film", "rating", "enum('G','PG-13','it''s')", None).0,
        DataType::Enum {
            name: "film_rating".into(),
            labels: vec!["G".into(), "PG-13".into(), "it's".into()]
        }
    );
    assert_eq!(
        map("set('a','b,c')"),
        DataType::Set(vec!["a".into(), "b,c".into()])
    );
}

#[test]
fn defaults_from_both_servers() {
    let int = DataType::Int32;
    let text = DataType::Text;
    // MariaDB: SQL text.
    assert_eq!(
        parse_default(Some("'abc'"), true, "", &text),
        Some(DefaultValue::Text("abc".into()))
    );
    assert_eq!(
        parse_default(Some("'it''s'"), true, "", &text),
        Some(DefaultValue::Text("it's".into()))
    );
    assert_eq!(
        parse_default(Some("NULL"), true, "", &text),
        Some(DefaultValue::Null)
    );
    assert_eq!(
        parse_default(Some("5"), true, "", &int),
        Some(DefaultValue::Number("5".into()))
    );
    assert_eq!(
        parse_default(
            Some("current_timestamp()"),
            true,
            "on update current_timestamp()",
            &DataType::TimestampTz
        ),
        Some(DefaultValue::CurrentTimestamp)
    );
    assert_eq!(
        parse_default(Some("current_timestamp(6)"), true, "", &DataType::Timestamp),
        Some(DefaultValue::CurrentTimestamp)
    );
    // uuid() means a new random UUID wherever it goes.
    assert_eq!(
        parse_default(Some("uuid()"), true, "", &text),
        Some(DefaultValue::GenerateUuid)
    );
    assert!(matches!(
        parse_default(Some("rand()"), true, "", &text),
        Some(DefaultValue::Expression { .. })
    ));
    assert_eq!(parse_default(None, true, "", &text), None);
    // MySQL: bare literals.
    assert_eq!(
        parse_default(Some("abc"), false, "", &text),
        Some(DefaultValue::Text("abc".into()))
    );
    assert_eq!(
        parse_default(
            Some("0.00"),
            false,
            "",
            &DataType::Decimal {
                precision: Some(5),
                scale: Some(2)
            }
        ),
        Some(DefaultValue::Number("0.00".into()))
    );
    assert_eq!(
        parse_default(
            Some("CURRENT_TIMESTAMP"),
            false,
            "DEFAULT_GENERATED",
            &DataType::Timestamp
        ),
        Some(DefaultValue::CurrentTimestamp)
    );
    assert!(matches!(
        parse_default(Some("(rand())"), false, "DEFAULT_GENERATED", &int),
        Some(DefaultValue::Expression { .. })
    ));
    assert_eq!(
        parse_default(Some("b'1'"), false, "", &DataType::Bool),
        Some(DefaultValue::Number("1".into()))
    );
    assert!(on_update_now("on update CURRENT_TIMESTAMP"));
}

/// WordPress's shape: a `bigint unsigned AUTO_INCREMENT` key, a foreign key to it, and
/// NOT NULL datetimes defaulting to a zero date.
fn wordpress() -> Schema {
    let mut posts = Table::new("wp_posts");
    let mut id = Column::new("ID", "bigint(20) unsigned", map("bigint(20) unsigned"));
    id.auto_increment = true;
    id.nullable = false;
    let mut date = Column::new("post_date", "datetime", DataType::Timestamp);
    date.nullable = false;
    date.default = Some(DefaultValue::Text("0000-00-00 00:00:00".into()));
    let mut keyed_date = date.clone();
    keyed_date.name = "day".into();
    let mut author = Column::new("post_author", "bigint(20) unsigned", map("bigint unsigned"));
    author.nullable = false;
    posts.columns = vec![id, date, keyed_date, author];
    posts.primary_key = vec!["ID".into(), "day".into()];
    let mut meta = Table::new("wp_postmeta");
    meta.columns = vec![Column::new(
        "post_id",
        "bigint(20) unsigned",
        map("bigint unsigned"),
    )];
    meta.foreign_keys.push(ForeignKey {
        name: None,
        columns: vec!["post_id".into()],
        ref_table: "wp_posts".into(),
        ref_columns: vec!["ID".into()],
        on_delete: None,
        on_update: None,
        enforced: true,
        deferrable: ferry_core::Deferrable::No,
    });
    Schema {
        tables: vec![posts, meta],
        ..Default::default()
    }
}

#[test]
fn wordpress_keys_become_identities_and_zero_date_columns_nullable() {
    let mut schema = wordpress();
    let changed: Vec<(String, String)> = for_other_targets(&mut schema)
        .into_iter()
        .map(|(t, c, _)| (t, c))
        .collect();
    let pair = |t: &str, c: &str| (t.to_string(), c.to_string());
    assert_eq!(
        changed,
        vec![
            pair("wp_posts", "post_date"),
            pair("wp_posts", "ID"),
            pair("wp_postmeta", "post_id"),
        ]
    );
    let posts = &schema.tables[0];
    assert_eq!(posts.columns[0].data_type, DataType::Int64);
    assert!(posts.columns[1].nullable);
    // A key column keeps NOT NULL; a plain unsigned bigint keeps its exact range.
    assert!(!posts.columns[2].nullable);
    assert!(matches!(
        posts.columns[3].data_type,
        DataType::Decimal { .. }
    ));
    assert_eq!(schema.tables[1].columns[0].data_type, DataType::Int64);
}
