//! Change capture from the MySQL/MariaDB binary log: a replication connection (a fresh
//! server id, the connection's own TLS settings) reads row events from a recorded position
//! and turns them into whole source transactions of neutral values, converted by the copy's
//! own codecs.
//!
//! Positions advance only at transaction ends (XID, COMMIT, or a standalone statement), so
//! a recorded position never points into a transaction.

pub mod cells;
pub mod position;
pub mod statement;
mod time2;

use crate::conn::{map_error, Target};
use crate::types::{Bad, ReadCodec};
use cells::CellShape;
use ferry_core::{
    Change, ChangeKind, ChangeStream, Error, ErrorKind, Result, StreamEvent, Table, Value,
};
use futures::StreamExt;
use mysql_async::binlog::events::{Event, EventData, RowsEventData, TableMapEvent};
use mysql_async::binlog::row::BinlogRow;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest};
pub use position::BinlogPosition;
use statement::Statement;
use std::collections::{HashMap, VecDeque};

/// MariaDB's GTID event, which starts every transaction on a GTID-aware replica connection.
const MARIADB_GTID_EVENT: u8 = 162;

/// The compressed event kinds, which would otherwise pass as unknown (and unread) events:
/// MariaDB's `log_bin_compress` (165-171) and MySQL 8's transaction payload (40).
fn compressed(event_type: u8) -> Option<&'static str> {
    match event_type {
        165 => Some("a compressed statement event (log_bin_compress)"),
        166..=171 => Some("a compressed row event (log_bin_compress)"),
        40 => Some("a compressed transaction payload (binlog_transaction_compression)"),
        _ => None,
    }
}

/// A MariaDB GTID event's flag: the transaction is this one statement, with no COMMIT.
const FL_STANDALONE: u8 = 1;
/// Changes per `StreamEvent::Changes` piece, and their bytes: what bounds memory inside a
/// large source transaction.
const PIECE_CHANGES: usize = 2_000;
const PIECE_BYTES: usize = 8 << 20;

/// One streamed table: which binlog columns are copied, and how each converts.
struct TableShape {
    name: String,
    /// Columns in the binlog (every column of the table).
    total: usize,
    /// For each copied column: its binlog index, name, and conversions.
    copied: Vec<(usize, String, ReadCodec, CellShape)>,
    /// Indexes into `copied` of the row key, to name a bad row.
    key: Vec<usize>,
    /// Binlog indexes of the `TIME(1)`/`TIME(2)` columns, which ferry decodes itself
    /// ([`time2`]).
    narrow_times: Vec<usize>,
}

impl TableShape {
    /// How the binlog values of `table` become the values a copy reads.
    fn new(table: &Table, keep_zero_dates: bool) -> TableShape {
        let copied: Vec<(usize, String, ReadCodec, CellShape)> = table
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| table.copied_columns().any(|k| k.name == c.name))
            .map(|(i, c)| {
                (
                    i,
                    c.name.clone(),
                    ReadCodec {
                        keep_zero_dates,
                        ..ReadCodec::new(&c.source_type, c.data_type.clone(), c.nullable)
                    },
                    CellShape::new(c),
                )
            })
            .collect();
        let key = table
            .row_key()
            .iter()
            .filter_map(|k| copied.iter().position(|(_, n, _, _)| n == k))
            .collect();
        let narrow_times = table
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                let declared = ferry_schema::rules::DeclaredType::parse(&c.source_type);
                declared.base == "TIME" && matches!(declared.args.first(), Some(1 | 2))
            })
            .map(|(i, _)| i)
            .collect();
        TableShape {
            name: table.display_name(),
            total: table.columns.len(),
            copied,
            key,
            narrow_times,
        }
    }

    /// A binlog row image as the copy would have read it.
    fn convert(&self, mut row: BinlogRow, at: &str) -> Result<Vec<Value>> {
        let mut out = Vec::with_capacity(self.copied.len());
        for (idx, name, codec, shape) in &self.copied {
            let raw = row.take(*idx).ok_or_else(|| {
                Error::config(format!(
                    "table `{}`, column `{name}` at {at}: the binlog row image lacks the column (set binlog_row_image=FULL on the source)",
                    self.name
                ))
            })?;
            let cell = shape
                .cell(raw)
                .map_err(|why| self.bad(&out, name, at, &why))?;
            match codec.decode(cell) {
                Ok(v) => out.push(v),
                Err(Bad::ZeroDate) if codec.nullable => out.push(Value::Null),
                Err(Bad::ZeroDate) => {
                    return Err(self.bad(
                        &out,
                        name,
                        at,
                        &crate::types::zero_date_refusal(&self.name, name),
                    ))
                }
                Err(Bad::Invalid(why)) => return Err(self.bad(&out, name, at, &why)),
            }
        }
        Ok(out)
    }

    fn bad(&self, done: &[Value], column: &str, at: &str, why: &str) -> Error {
        let key: Vec<String> = self
            .key
            .iter()
            .filter_map(|&i| {
                done.get(i)
                    .map(|v| format!("{}={}", self.copied[i].1, v.to_json()))
            })
            .collect();
        let key = if key.len() == self.key.len() && !key.is_empty() {
            key.join(", ")
        } else {
            "key not yet read".into()
        };
        Error::data(format!(
            "table `{}`, column `{column}`, {key} (binlog {at}): {why}",
            self.name
        ))
    }
}

/// Committed changes to a set of tables, read from the binlog.
pub struct BinlogChanges {
    stream: BinlogStream,
    database: String,
    names: Vec<String>,
    shapes: Vec<TableShape>,
    /// Binlog table id to the streamed table it maps (`None`: not streamed).
    table_ids: HashMap<u64, Option<usize>>,
    /// Table maps rewritten so ferry decodes `TIME(1|2)` itself ([`time2::relabel`]).
    relabelled: HashMap<u64, TableMapEvent<'static>>,
    file: String,
    offset: u64,
    gtids: GtidState,
    until: Option<BinlogPosition>,
    in_txn: bool,
    standalone: bool,
    txn_changes: usize,
    piece: Vec<Change>,
    piece_bytes: usize,
    pending: VecDeque<StreamEvent>,
    finished: bool,
    /// Whether a format description event was read (events before it are not checksummed
    /// as far as the reader knows).
    format_seen: bool,
    /// Whether the server checksums its binlog events (`binlog_checksum=CRC32`).
    checksummed: bool,
}

impl BinlogChanges {
    /// Open a replication connection and read from `from` on. With `until`, the stream ends
    /// once it has passed that position (a cutover's drain).
    pub async fn open(
        target: &Target,
        tables: &[Table],
        from: &BinlogPosition,
        until: Option<BinlogPosition>,
        keep_zero_dates: bool,
    ) -> Result<BinlogChanges> {
        let mut conn = target.connect().await?;
        if !position::still_available(&mut conn, &from.file).await? {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "{}: binlog file {} of the recorded position {} was purged from the source; replication cannot resume: copy again (ferry migrate --if-exists drop --replicate) and keep binlogs longer (binlog_expire_logs_seconds, or on RDS: CALL mysql.rds_set_configuration('binlog retention hours', 24))",
                    target.shown,
                    from.file,
                    from.to_position()
                ),
            ));
        }
        // GTID events from MariaDB, a heartbeat every second so a dead source is noticed.
        for set in [
            "SET @mariadb_slave_capability = 4",
            "SET @master_heartbeat_period = 1000000000",
        ] {
            conn.query_drop(set).await.map_err(|e| {
                map_error(e, &format!("{}: preparing the binlog stream", target.shown))
            })?;
        }
        let checksum: Option<String> = conn
            .query_first("SELECT @@GLOBAL.binlog_checksum")
            .await
            .map_err(|e| map_error(e, &format!("{}: reading binlog_checksum", target.shown)))?;
        let checksummed = checksum.is_some_and(|c| !c.eq_ignore_ascii_case("NONE"));
        let server_id = replica_server_id();
        let request = BinlogStreamRequest::new(server_id)
            .with_filename(from.file.as_bytes())
            .with_pos(from.offset);
        let stream = conn
            .get_binlog_stream(request)
            .await
            .map_err(|e| map_error(e, &format!("{}: opening the binlog stream", target.shown)))?;
        Ok(BinlogChanges {
            stream,
            database: target.database.clone(),
            names: tables.iter().map(|t| t.name.clone()).collect(),
            shapes: tables
                .iter()
                .map(|t| TableShape::new(t, keep_zero_dates))
                .collect(),
            table_ids: HashMap::new(),
            relabelled: HashMap::new(),
            file: from.file.clone(),
            offset: from.offset,
            gtids: GtidState::parse(from.gtid.as_deref()),
            until,
            in_txn: false,
            standalone: false,
            txn_changes: 0,
            piece: Vec::new(),
            piece_bytes: 0,
            pending: VecDeque::new(),
            finished: false,
            format_seen: false,
            checksummed,
        })
    }

    /// Where the stream stands: the end of the last whole transaction read.
    pub fn position(&self) -> BinlogPosition {
        BinlogPosition {
            file: self.file.clone(),
            offset: self.offset,
            gtid: self.gtids.render(),
        }
    }

    fn at(&self) -> String {
        format!("{}:{}", self.file, self.offset)
    }

    fn push_change(&mut self, change: Change) {
        self.piece_bytes += change.byte_size();
        self.piece.push(change);
        self.txn_changes += 1;
        if self.piece.len() >= PIECE_CHANGES || self.piece_bytes >= PIECE_BYTES {
            self.flush_piece();
        }
    }

    fn flush_piece(&mut self) {
        if !self.piece.is_empty() {
            self.pending
                .push_back(StreamEvent::Changes(std::mem::take(&mut self.piece)));
            self.piece_bytes = 0;
        }
    }

    /// The transaction that ended with the event that ends at `log_pos` committed.
    fn commit(&mut self, log_pos: u32, timestamp: u32) {
        if log_pos != 0 {
            self.offset = u64::from(log_pos);
        }
        self.gtids.commit();
        self.flush_piece();
        let end = self.position().to_position();
        if self.txn_changes > 0 {
            self.pending.push_back(StreamEvent::Commit {
                end,
                commit_micros: Some(i64::from(timestamp) * 1_000_000),
            });
        } else {
            self.pending.push_back(StreamEvent::Advanced(end));
        }
        self.in_txn = false;
        self.standalone = false;
        self.txn_changes = 0;
    }

    fn passed_until(&self) -> bool {
        !self.in_txn
            && self
                .until
                .as_ref()
                .is_some_and(|u| self.position().reached(u))
    }

    /// Read one event and act on it.
    async fn step(&mut self) -> Result<bool> {
        let Some(event) = self.stream.next().await else {
            return Ok(false);
        };
        let event =
            event.map_err(|e| map_error(e, &format!("reading the binlog at {}", self.at())))?;
        let header = event.header();
        let (log_pos, timestamp) = (header.log_pos(), header.timestamp());
        if header.event_type_raw() == MARIADB_GTID_EVENT {
            self.mariadb_gtid(event.data(), header.server_id());
            return Ok(true);
        }
        if let Some(what) = compressed(header.event_type_raw()) {
            return Err(Error::config(format!(
                "binlog {}: the source wrote {what}, which ferry does not read; nothing after this point was applied. Turn compression off (MariaDB: SET GLOBAL log_bin_compress = OFF; MySQL: SET GLOBAL binlog_transaction_compression = OFF), then copy again with `ferry migrate --replicate`",
                self.at()
            )));
        }
        let data = event.read_data().map_err(|e| {
            Error::other(format!(
                "a binlog event at {} does not parse: {e}",
                self.at()
            ))
        })?;
        match data {
            Some(EventData::RotateEvent(r)) => {
                // The rotate the server sends first comes before any format description, so
                // the reader cannot know yet that it ends in a checksum: cut it off here.
                let name = r.name_raw();
                let name = if !self.format_seen && self.checksummed && name.len() > 4 {
                    &name[..name.len() - 4]
                } else {
                    name
                };
                self.file = String::from_utf8_lossy(name).into_owned();
                self.offset = r.position();
            }
            Some(EventData::QueryEvent(q)) => {
                self.query(&q.query(), &q.schema(), log_pos, timestamp)?
            }
            Some(EventData::FormatDescriptionEvent(_)) => self.format_seen = true,
            Some(EventData::XidEvent(_)) => self.commit(log_pos, timestamp),
            Some(EventData::TableMapEvent(tme)) => self.map_table(&event, &tme)?,
            Some(EventData::RowsEvent(rows)) => self.rows(rows)?,
            _ => {}
        }
        Ok(true)
    }

    /// MariaDB's GTID event opens a transaction (or a standalone statement).
    fn mariadb_gtid(&mut self, data: &[u8], server_id: u32) {
        if data.len() >= 13 {
            let seq = u64::from_le_bytes(data[0..8].try_into().unwrap_or_default());
            let domain = u32::from_le_bytes(data[8..12].try_into().unwrap_or_default());
            self.gtids.begin(domain, server_id, seq);
            self.standalone = data[12] & FL_STANDALONE != 0;
        }
        self.in_txn = true;
    }

    /// A statement in the binlog: transaction bounds, truncates, and the DDL replication
    /// cannot carry (which stops it, naming the tables).
    fn query(&mut self, sql: &str, schema: &str, log_pos: u32, timestamp: u32) -> Result<()> {
        let ends_statement = |s: &Self| s.standalone || !s.in_txn;
        match statement::classify(sql, schema, &self.database, &self.names) {
            Statement::Begin => self.in_txn = true,
            Statement::Commit => self.commit(log_pos, timestamp),
            Statement::Truncate(tables) => {
                for table in tables {
                    self.push_change(Change::row(table, ChangeKind::Truncate, None, None));
                }
                if ends_statement(self) {
                    self.commit(log_pos, timestamp);
                }
            }
            Statement::Touches(tables) => {
                let names: Vec<String> = tables
                    .iter()
                    .map(|&t| format!("`{}`", self.names[t]))
                    .collect();
                let shown: String = sql.chars().take(300).collect();
                return Err(Error::new(
                    ErrorKind::Schema,
                    format!(
                        "the source ran a statement on replicated table {} that replication cannot carry (binlog {}): {shown}\n  replication stopped before it; to go on, copy again with `ferry migrate --if-exists drop --replicate` (schema changes are not replicated)",
                        names.join(", "),
                        self.at()
                    ),
                ));
            }
            Statement::NewTable(name) => {
                self.pending.push_back(StreamEvent::Notice(format!(
                    "table `{name}` was created on the source after the copy; its rows are not replicated"
                )));
                if ends_statement(self) {
                    self.commit(log_pos, timestamp);
                }
            }
            Statement::Other => {
                if ends_statement(self) {
                    self.commit(log_pos, timestamp);
                }
            }
        }
        Ok(())
    }

    fn map_table(&mut self, event: &Event, tme: &TableMapEvent<'_>) -> Result<()> {
        let id = tme.table_id();
        let mapped = if tme.database_name() == self.database.as_str() {
            let name = tme.table_name();
            self.names.iter().position(|n| *n == name)
        } else {
            None
        };
        if let Some(t) = mapped {
            let count = usize::try_from(tme.columns_count()).unwrap_or(usize::MAX);
            if count != self.shapes[t].total {
                return Err(Error::new(
                    ErrorKind::Schema,
                    format!(
                        "table `{}` has {count} columns in the binlog at {} but {} when it was copied: its definition changed on the source; copy again with `ferry migrate --if-exists drop --replicate`",
                        self.shapes[t].name,
                        self.at(),
                        self.shapes[t].total
                    ),
                ));
            }
        }
        self.relabelled.remove(&id);
        if let Some(t) = mapped.filter(|&t| !self.shapes[t].narrow_times.is_empty()) {
            let shape = &self.shapes[t];
            let relabelled = time2::relabel(event, tme, &shape.narrow_times).map_err(|why| {
                Error::other(format!("table `{}` at {}: {why}", shape.name, self.at()))
            })?;
            if let Some(r) = relabelled {
                self.relabelled.insert(id, r);
            }
        }
        self.table_ids.insert(id, mapped);
        Ok(())
    }

    fn rows(&mut self, rows: RowsEventData<'_>) -> Result<()> {
        let Some(Some(table)) = self.table_ids.get(&rows.table_id()).copied() else {
            return Ok(());
        };
        let kind = match &rows {
            RowsEventData::WriteRowsEventV1(_) | RowsEventData::WriteRowsEvent(_) => {
                ChangeKind::Insert
            }
            RowsEventData::UpdateRowsEventV1(_) | RowsEventData::UpdateRowsEvent(_) => {
                ChangeKind::Update
            }
            RowsEventData::DeleteRowsEventV1(_) | RowsEventData::DeleteRowsEvent(_) => {
                ChangeKind::Delete
            }
            RowsEventData::PartialUpdateRowsEvent(_) => {
                return Err(Error::config(format!(
                    "table `{}`: the source logs partial JSON updates (binlog {}); set binlog_row_value_options='' on the source",
                    self.shapes[table].name,
                    self.at()
                )))
            }
        };
        let at = self.at();
        let tme = match self.relabelled.get(&rows.table_id()) {
            Some(relabelled) => Some(relabelled),
            None => self.stream.get_tme(rows.table_id()),
        };
        let tme = tme.ok_or_else(|| {
            Error::other(format!("binlog {at}: a row event without its table map"))
        })?;
        let shape = &self.shapes[table];
        // The driver decodes the rows while iterating; a panic there (arithmetic on a value
        // it does not expect) must end as an error naming the table, not end the process.
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rows.rows(tme).collect::<Vec<_>>()
        }))
        .map_err(|_| {
            Error::other(format!(
                "table `{}`: the MySQL driver could not decode a binlog row at {at}",
                shape.name
            ))
        })?;
        let mut changes = Vec::new();
        for row in parsed {
            let (before, after) = row.map_err(|e| {
                Error::other(format!(
                    "table `{}`: a binlog row at {at} does not parse: {e}",
                    shape.name
                ))
            })?;
            let before = before.map(|r| shape.convert(r, &at)).transpose()?;
            let after = after.map(|r| shape.convert(r, &at)).transpose()?;
            changes.push(Change::row(table, kind, before, after));
        }
        for c in changes {
            self.push_change(c);
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl ChangeStream for BinlogChanges {
    async fn next(&mut self) -> Result<Option<StreamEvent>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Ok(Some(ev));
            }
            if self.finished || self.passed_until() {
                self.finished = true;
                return Ok(None);
            }
            if !self.step().await? {
                return Err(Error::new(
                    ErrorKind::Transient,
                    format!("the source closed the binlog stream at {}", self.at()),
                ));
            }
        }
    }
}

/// A server id for ferry's replica connection: random and high, away from the small ids
/// real replicas use, so two streams never evict each other.
fn replica_server_id() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or(0);
    let pid = std::process::id();
    0x4000_0000 | ((nanos ^ pid.rotate_left(16)) & 0x3fff_ffff)
}

/// MariaDB's GTID position, domain by domain (`0-11-42,1-12-7`): the transaction being read
/// becomes part of it when it commits. MySQL's GTID sets are kept as read at the start; the
/// file and offset are what resume uses.
#[derive(Debug, Default)]
struct GtidState {
    domains: Vec<(u32, u32, u64)>,
    raw: Option<String>,
    open: Option<(u32, u32, u64)>,
}

impl GtidState {
    fn parse(s: Option<&str>) -> GtidState {
        let mut state = GtidState {
            raw: s.map(str::to_string),
            ..GtidState::default()
        };
        if let Some(s) = s {
            for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let f: Vec<&str> = part.split('-').collect();
                match (f.first(), f.get(1), f.get(2)) {
                    (Some(d), Some(srv), Some(seq)) if f.len() == 3 => {
                        if let (Ok(d), Ok(srv), Ok(seq)) = (d.parse(), srv.parse(), seq.parse()) {
                            state.domains.push((d, srv, seq));
                            continue;
                        }
                        return GtidState {
                            raw: state.raw,
                            ..GtidState::default()
                        };
                    }
                    _ => {
                        return GtidState {
                            raw: state.raw,
                            ..GtidState::default()
                        }
                    }
                }
            }
        }
        state
    }

    fn begin(&mut self, domain: u32, server: u32, seq: u64) {
        self.open = Some((domain, server, seq));
    }

    fn commit(&mut self) {
        let Some((d, srv, seq)) = self.open.take() else {
            return;
        };
        match self.domains.iter_mut().find(|(dom, _, _)| *dom == d) {
            Some(entry) => *entry = (d, srv, seq),
            None => self.domains.push((d, srv, seq)),
        }
        self.raw = None;
    }

    fn render(&self) -> Option<String> {
        if let Some(raw) = &self.raw {
            return Some(raw.clone());
        }
        if self.domains.is_empty() {
            return None;
        }
        Some(
            self.domains
                .iter()
                .map(|(d, s, q)| format!("{d}-{s}-{q}"))
                .collect::<Vec<_>>()
                .join(","),
        )
    }
}
