//! Unit tests of the PostgreSQL source rules.

use super::*;
use ferry_core::Check;

fn ty(name: &str) -> DataType {
    map_pg_type(name).0
}

#[test]
fn every_postgres_type_rule() {
    assert_eq!(ty("boolean"), DataType::Bool);
    assert_eq!(ty("smallint"), DataType::Int16);
    assert_eq!(ty("integer"), DataType::Int32);
    assert_eq!(ty("bigint"), DataType::Int64);
    assert_eq!(ty("real"), DataType::Float32);
    assert_eq!(ty("double precision"), DataType::Float64);
    assert_eq!(
        ty("numeric(10,2)"),
        DataType::Decimal {
            precision: Some(10),
            scale: Some(2)
        }
    );
    assert_eq!(
        ty("numeric"),
        DataType::Decimal {
            precision: None,
            scale: None
        }
    );
    assert_eq!(ty("character varying(64)"), DataType::VarChar(64));
    assert_eq!(ty("character varying"), DataType::Text);
    assert_eq!(ty("character(3)"), DataType::Char(3));
    assert_eq!(ty("text"), DataType::Text);
    assert_eq!(ty("citext"), DataType::Text);
    assert_eq!(ty("public.citext"), DataType::Text);
    assert_eq!(ty("bytea"), DataType::Bytes);
    assert_eq!(ty("date"), DataType::Date);
    assert_eq!(ty("time without time zone"), DataType::Time);
    assert_eq!(ty("time(3) without time zone"), DataType::Time);
    assert_eq!(ty("timestamp without time zone"), DataType::Timestamp);
    assert_eq!(ty("timestamp(6) with time zone"), DataType::TimestampTz);
    assert_eq!(ty("interval"), DataType::Interval);
    assert_eq!(ty("interval year to month"), DataType::Interval);
    assert_eq!(ty("uuid"), DataType::Uuid);
    assert_eq!(ty("json"), DataType::Json);
    assert_eq!(ty("jsonb"), DataType::Json);
    assert_eq!(ty("bit(3)"), DataType::Bit(3));
    assert_eq!(ty("bit varying(12)"), DataType::Bit(12));
    assert_eq!(ty("integer[]"), DataType::Array(Box::new(DataType::Int32)));
    assert_eq!(ty("text[]"), DataType::Array(Box::new(DataType::Text)));
    let (t, w) = map_pg_type("money");
    assert_eq!(
        t,
        DataType::Decimal {
            precision: Some(19),
            scale: Some(2)
        }
    );
    assert!(w.is_some());
    let (t, w) = map_pg_type("point");
    assert_eq!(t, DataType::Text);
    assert!(w.is_some_and(|w| w.contains("as text")));
}

#[test]
fn time_defaults_become_neutral() {
    assert_eq!(parse_default("now()"), DefaultValue::CurrentTimestamp);
    assert_eq!(
        parse_default("CURRENT_TIMESTAMP"),
        DefaultValue::CurrentTimestamp
    );
    assert_eq!(
        parse_default("CURRENT_TIMESTAMP(3)"),
        DefaultValue::CurrentTimestamp
    );
    assert_eq!(
        parse_default("timezone('utc'::text, now())"),
        DefaultValue::CurrentTimestamp
    );
    assert_eq!(
        parse_default("(now() AT TIME ZONE 'utc'::text)"),
        DefaultValue::CurrentTimestamp
    );
    assert_eq!(parse_default("CURRENT_DATE"), DefaultValue::CurrentDate);
    // The "now"/"today" family in every form pg_get_expr prints.
    for now in [
        "'now'::timestamp without time zone",
        "'now'::timestamp(0) with time zone",
        "transaction_timestamp()",
        "LOCALTIMESTAMP",
        "LOCALTIMESTAMP(2)",
        "statement_timestamp()",
    ] {
        assert_eq!(parse_default(now), DefaultValue::CurrentTimestamp, "{now}");
    }
    for today in [
        "('now'::text)::date",
        "'now'::text::date",
        "'today'::date",
        "('today'::text)::date",
    ] {
        assert_eq!(parse_default(today), DefaultValue::CurrentDate, "{today}");
    }
    assert_eq!(
        parse_default("'today'::timestamp without time zone"),
        DefaultValue::CurrentDate
    );
    assert_eq!(
        parse_default("'now'::time without time zone"),
        DefaultValue::CurrentTime
    );
}

#[test]
fn literal_and_function_defaults_become_neutral() {
    // A cast inside an expression is no cast of the whole.
    assert!(matches!(
        parse_default("('a'::text || 'b'::text)"),
        DefaultValue::Expression { .. }
    ));
    // The word itself, as text, stays text.
    assert_eq!(
        parse_default("'now'::text"),
        DefaultValue::Text("now".into())
    );
    assert_eq!(
        parse_default("uuid_generate_v4()"),
        DefaultValue::GenerateUuid
    );
    assert_eq!(
        parse_default("gen_random_uuid()"),
        DefaultValue::GenerateUuid
    );
    assert_eq!(parse_default("'x'::text"), DefaultValue::Text("x".into()));
    assert_eq!(
        parse_default("'it''s'::character varying"),
        DefaultValue::Text("it's".into())
    );
    assert_eq!(parse_default("0"), DefaultValue::Number("0".into()));
    assert_eq!(parse_default("1.5"), DefaultValue::Number("1.5".into()));
    assert_eq!(
        parse_default("'-1'::integer"),
        DefaultValue::Number("-1".into())
    );
    assert_eq!(
        parse_default("'-2.50'::numeric"),
        DefaultValue::Number("-2.50".into())
    );
    assert_eq!(parse_default("true"), DefaultValue::Bool(true));
    assert_eq!(parse_default("NULL::text"), DefaultValue::Null);
    assert_eq!(
        parse_default("'active'::mood"),
        DefaultValue::Text("active".into())
    );
    assert!(matches!(
        parse_default("(random() * 10)"),
        DefaultValue::Expression {
            dialect: Dialect::Postgres,
            ..
        }
    ));
    assert!(matches!(
        parse_default("uuid_generate_v1()"),
        DefaultValue::Expression { .. }
    ));
    assert!(is_serial_default("nextval('users_id_seq'::regclass)"));
    assert!(!is_serial_default("0"));
}

#[test]
fn domains_flatten_into_columns_for_other_targets() {
    let mut schema = Schema::default();
    let mut t = ferry_core::Table::new("users");
    t.schema = Some("public".into());
    t.columns
        .push(ferry_core::Column::new("mail", "email", DataType::Text));
    let mut n = ferry_core::Column::new("n", "integer", DataType::Int32);
    n.default = Some(DefaultValue::Expression {
        dialect: Dialect::Postgres,
        sql: "'-1'::integer".into(),
    });
    t.columns.push(n);
    schema.tables.push(t);
    schema.types.push(UserType {
        schema: Some("public".into()),
        name: "email".into(),
        kind: UserTypeKind::Domain {
            base_type: "text".into(),
            not_null: true,
            default: Some("'a@b'::text".into()),
            checks: vec![Check {
                name: Some("has_at".into()),
                expression: "(VALUE ~~ '%@%'::text)".into(),
                dialect: Dialect::Postgres,
            }],
        },
    });
    neutral_defaults(&mut schema);
    let t = &schema.tables[0];
    assert!(!t.columns[0].nullable);
    assert_eq!(t.columns[0].default, Some(DefaultValue::Text("a@b".into())));
    assert_eq!(
        t.columns[1].default,
        Some(DefaultValue::Number("-1".into()))
    );
    assert_eq!(t.checks.len(), 1);
    assert_eq!(t.checks[0].name.as_deref(), Some("mail_has_at"));
    assert_eq!(t.checks[0].expression, "(mail ~~ '%@%'::text)");
}
