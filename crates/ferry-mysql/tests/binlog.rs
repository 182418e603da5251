//! Change capture from a real MariaDB with a row binlog (`scripts/servers.sh start
//! mysql-binlog`): the copy's snapshot is pinned to a binlog position, and every change
//! after it arrives once, whole transaction by whole transaction, with values equal to what
//! the copy reads for the same rows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_core::{
    BatchLimits, Change, ChangeKind, ConnUrl, ErrorKind, Position, ReadOptions, Source,
    StreamEvent, Table, Value,
};
use ferry_mysql::MySqlSource;
use ferry_test_support::{mysql_admin_url, mysql_binlog_admin_url as binlog_url, MyDb};
use std::collections::BTreeMap;

const SCHEMA: &str = "
SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';
CREATE TABLE items (
  id int NOT NULL PRIMARY KEY,
  tiny tinyint unsigned,
  big bigint unsigned,
  small smallint,
  med mediumint unsigned,
  flag tinyint(1),
  price decimal(12,3),
  ratio float,
  score double,
  name varchar(40),
  legacy varchar(20) CHARACTER SET latin1,
  mood enum('sad','ok','happy'),
  tags set('a','b','c','d'),
  bits bit(10),
  born date,
  seen datetime(6),
  stamp timestamp(3) NULL,
  span time(6),
  short_span time,
  yr year,
  doc json,
  blobby blob,
  zero datetime NULL
) ENGINE=InnoDB;
CREATE TABLE notes (k varchar(10) NOT NULL, body text, PRIMARY KEY (k)) ENGINE=InnoDB;
CREATE TABLE keyless (a int, b varchar(10)) ENGINE=InnoDB;
";

const ROW1: &str = "INSERT INTO items VALUES (1, 250, 18446744073709551615, -32768, 16777215, 1, \
  -123456789.125, 1.1, 2.718281828459045, 'héllo 😀', 'caf\u{e9} \u{20ac}', 'happy', 'a,d', b'1010101010', \
  '2024-02-29', '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.123', '-838:59:58.5', '-12:00:01', 2155, \
  '{\"k\": [1, 2.5, \"x\"]}', x'00ff10', '0000-00-00 00:00:00')";

async fn read_all(source: &MySqlSource, table: &Table) -> BTreeMap<String, Vec<Value>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let options = ReadOptions {
        limits: BatchLimits::default(),
        ..Default::default()
    };
    let t = table.clone();
    let reader = async { source.read_table(&t, &options, tx).await.expect("read") };
    let collect = async {
        let mut rows = Vec::new();
        while let Some(batch) = rx.recv().await {
            rows.extend(batch.iter_rows().map(|r| r.to_vec()));
        }
        rows
    };
    let (_, rows) = tokio::join!(reader, collect);
    rows.into_iter().map(|r| (row_key(&r), r)).collect()
}

fn row_key(row: &[Value]) -> String {
    format!("{:?}|{:?}", row[0], row.get(1))
}

/// Apply changes to a model of the tables, as a target would.
fn apply(model: &mut [BTreeMap<String, Vec<Value>>], change: &Change) {
    let m = &mut model[change.table];
    match change.kind {
        ChangeKind::Insert => {
            let after = change.after.clone().unwrap();
            assert!(
                m.insert(row_key(&after), after).is_none(),
                "insert of an existing row"
            );
        }
        ChangeKind::Update => {
            let before = change.before.as_ref().unwrap();
            assert_eq!(
                m.remove(&row_key(before)).as_ref(),
                Some(before),
                "update's before-image"
            );
            let after = change.after.clone().unwrap();
            m.insert(row_key(&after), after);
        }
        ChangeKind::Delete => {
            let before = change.before.as_ref().unwrap();
            assert_eq!(
                m.remove(&row_key(before)).as_ref(),
                Some(before),
                "delete's before-image"
            );
        }
        ChangeKind::Truncate => m.clear(),
    }
}

async fn drain(
    source: &MySqlSource,
    tables: &[Table],
    from: &Position,
    until: &Position,
) -> ferry_core::Result<Vec<StreamEvent>> {
    let mut stream = source
        .changes(tables, from, Some(until), &ReadOptions::default())
        .await?;
    let mut events = Vec::new();
    while let Some(ev) = stream.next().await? {
        events.push(ev);
    }
    Ok(events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_after_the_snapshot_arrives_once_and_equals_the_copy() {
    let db = MyDb::on(&binlog_url(), "binlog");
    db.exec(SCHEMA);
    db.exec(&format!("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'; {ROW1}; INSERT INTO notes VALUES ('n1', 'first'); INSERT INTO keyless VALUES (1, 'x'), (1, 'x')"));

    let source = MySqlSource::open(&db.conn_url(), 2).await.unwrap();
    let schema = source.schema().await.unwrap();
    let tables: Vec<Table> = ["items", "notes", "keyless"]
        .iter()
        .map(|n| schema.tables.iter().find(|t| t.name == *n).unwrap().clone())
        .collect();
    let mut model = Vec::new();
    for t in &tables {
        model.push(read_all(&source, t).await);
    }
    let start = source
        .snapshot_position()
        .await
        .unwrap()
        .expect("a binlog position");
    assert!(start.0.starts_with("mysql-bin."), "{start}");
    source.close().await;

    // Changes after the snapshot: every kind, a multi-table transaction, a rolled-back one,
    // a key change, a keyless duplicate row, and noise in another database.
    let other = MyDb::on(&binlog_url(), "binlog_other");
    other.exec("CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1)");
    db.exec(
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION';
         INSERT INTO items (id, name, mood, tags, zero) VALUES (2, 'two', 'sad', '', '0000-00-00 00:00:00'), (3, NULL, NULL, 'b,c', '2020-01-01 00:00:00');
         UPDATE items SET price = price + 1, tags = 'c', doc = JSON_OBJECT('n', 7), stamp = '1999-12-31 23:59:59.5' WHERE id = 1;
         UPDATE items SET id = 30 WHERE id = 3;
         START TRANSACTION;
           INSERT INTO notes VALUES ('n2', REPEAT('long ', 2000));
           UPDATE items SET name = 'moved with n2' WHERE id = 2;
           DELETE FROM notes WHERE k = 'n1';
         COMMIT;
         START TRANSACTION; INSERT INTO notes VALUES ('gone', 'rolled back'); ROLLBACK;
         DELETE FROM keyless LIMIT 1;
         INSERT INTO keyless VALUES (2, 'y');
         DELETE FROM items WHERE id = 30;",
    );
    db.exec("TRUNCATE TABLE keyless");
    db.exec("INSERT INTO keyless VALUES (3, 'after')");
    let until = source.current_position().await.unwrap();

    let events = drain(&source, &tables, &start, &until).await.unwrap();
    let mut commits = 0;
    let mut open: Vec<Change> = Vec::new();
    let mut multi_table_commit = false;
    for ev in &events {
        match ev {
            StreamEvent::Changes(c) => open.extend(c.iter().cloned()),
            StreamEvent::Commit { end, commit_micros } => {
                commits += 1;
                assert!(commit_micros.is_some());
                assert!(end.0.starts_with("mysql-bin."));
                let tables_in_txn: std::collections::BTreeSet<usize> =
                    open.iter().map(|c| c.table).collect();
                if tables_in_txn.len() == 2 && open.len() == 3 {
                    multi_table_commit = true;
                }
                for c in open.drain(..) {
                    apply(&mut model, &c);
                }
            }
            StreamEvent::Advanced(_) | StreamEvent::Notice(_) => {
                assert!(
                    open.is_empty(),
                    "a position inside a transaction: {events:?}"
                );
            }
        }
    }
    assert!(open.is_empty(), "changes without a commit");
    // 1 insert stmt, 2 updates, the 3-change transaction, 2 keyless stmts, 1 delete,
    // truncate, insert: 9 commits (the rolled-back transaction is not in the binlog).
    assert_eq!(commits, 9, "{events:#?}");
    assert!(
        multi_table_commit,
        "the multi-table transaction arrived as one"
    );

    let fresh = MySqlSource::open(&db.conn_url(), 2).await.unwrap();
    for (i, t) in tables.iter().enumerate() {
        let now = read_all(&fresh, t).await;
        assert_eq!(model[i], now, "table {} after replaying the binlog", t.name);
    }
    fresh.close().await;

    // Resuming from the end position yields nothing more.
    let again = drain(&source, &tables, &until, &until).await.unwrap();
    assert!(again.is_empty(), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_on_a_replicated_table_stops_with_the_statement() {
    let db = MyDb::on(&binlog_url(), "binlog_ddl");
    db.exec("CREATE TABLE t (id int PRIMARY KEY, v int); CREATE TABLE u (id int PRIMARY KEY)");
    let source = MySqlSource::open(&db.conn_url(), 1).await.unwrap();
    let schema = source.schema().await.unwrap();
    let tables: Vec<Table> = schema
        .tables
        .iter()
        .filter(|t| t.name == "t")
        .cloned()
        .collect();
    source.count_rows(&tables[0]).await.unwrap();
    let start = source.snapshot_position().await.unwrap().unwrap();
    // The snapshot's metadata locks would hold the ALTER back until the copy ends.
    source.close().await;
    db.exec("INSERT INTO t VALUES (1, 1); ALTER TABLE u ADD COLUMN x int; CREATE TABLE fresh (id int); INSERT INTO t VALUES (2, 2); ALTER TABLE t ADD COLUMN w int; INSERT INTO t VALUES (3, 3, 3)");
    let until = source.current_position().await.unwrap();
    let mut stream = source
        .changes(&tables, &start, Some(&until), &ReadOptions::default())
        .await
        .unwrap();
    let mut inserted = 0;
    let mut notices = Vec::new();
    let err = loop {
        match stream.next().await {
            Ok(Some(StreamEvent::Changes(c))) => inserted += c.len(),
            Ok(Some(StreamEvent::Notice(n))) => notices.push(n),
            Ok(Some(_)) => {}
            Ok(None) => panic!("the stream passed the ALTER"),
            Err(e) => break e,
        }
    };
    assert_eq!(inserted, 2, "the changes before the ALTER arrive");
    assert_eq!(err.kind(), ErrorKind::Schema);
    assert!(
        err.to_string().contains("ALTER TABLE t ADD COLUMN w int"),
        "{err}"
    );
    assert!(notices.iter().any(|n| n.contains("`fresh`")), "{notices:?}");
    source.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purged_position_says_to_copy_again() {
    let db = MyDb::on(&binlog_url(), "binlog_purged");
    db.exec("CREATE TABLE t (id int PRIMARY KEY)");
    let source = MySqlSource::open(&db.conn_url(), 1).await.unwrap();
    let tables = source.schema().await.unwrap().tables;
    let gone = Position("mysql-bin.999999:4".into());
    let err = match source
        .changes(&tables, &gone, None, &ReadOptions::default())
        .await
    {
        Err(e) => e,
        Ok(_) => panic!("a purged position opened"),
    };
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("copy again"), "{err}");
    assert!(!err.to_string().contains("ferrytest"), "{err}");
    source.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preconditions_name_each_missing_setting() {
    // The plain test server runs without a binlog.
    let url = ConnUrl::parse(&mysql_admin_url()).unwrap();
    let target = ferry_mysql::Target::from_url(&url).unwrap();
    let mut conn = target.connect().await.unwrap();
    let err = ferry_mysql::binlog::position::check_preconditions(&mut conn)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--log-bin"), "{err}");
    assert!(err.to_string().contains("binlog_format"), "{err}");
    let url = ConnUrl::parse(&binlog_url()).unwrap();
    let target = ferry_mysql::Target::from_url(&url).unwrap();
    let mut conn = target.connect().await.unwrap();
    ferry_mysql::binlog::position::check_preconditions(&mut conn)
        .await
        .unwrap();
}
