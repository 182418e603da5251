//! [`PgChanges`]: the committed changes of the replicated tables, read from a logical
//! replication slot with `pgoutput` (binary values), as whole source transactions of
//! neutral values decoded by the copy's own binary decoder.
//!
//! A task owns the replication connection: it reads and decodes messages into a bounded
//! channel (a full channel stops the reading, so memory stays bounded inside a large
//! transaction), and it sends standby status updates — the flushed position it reports is
//! only ever one the engine acknowledged after the target committed it, so the slot keeps
//! every change the target does not have yet.

use super::pgoutput::{self, Cell, Message, Relation, StreamMessage};
use super::wire::{server_error, ReplConnection, ReplReader, ReplWriter};
use super::PgPosition;
use crate::decode::{decode, Wire};
use ferry_core::{
    Change, ChangeKind, ChangeStream, ConnUrl, Error, ErrorKind, Position, Result, StreamEvent,
    Table, Value,
};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Changes per `StreamEvent::Changes` piece, and their bytes: what bounds memory inside a
/// large source transaction.
const PIECE_CHANGES: usize = 2_000;
const PIECE_BYTES: usize = 8 << 20;
/// How often the server hears from ferry even when nothing was acknowledged (well inside
/// the default `wal_sender_timeout` of 60 s).
const STATUS_EVERY: Duration = Duration::from_secs(10);

const COLUMNS_SQL: &str = include_str!("../../sql/replica_columns.sql");

/// One column as the copy read it: its catalog type and how its binary form decodes.
#[derive(Debug, Clone)]
pub(crate) struct ColumnShape {
    pub(crate) name: String,
    pub(crate) type_oid: u32,
    pub(crate) typmod: i32,
    pub(crate) type_name: String,
    pub(crate) conv: Conv,
}

/// How a column's binary value becomes the neutral value the copy reads.
#[derive(Debug, Clone)]
pub(crate) enum Conv {
    /// The copy's own decoder for this wire form.
    Wire(Wire),
    /// `inet` / `cidr`, which the copy reads as text.
    Inet,
    /// `macaddr` / `macaddr8`, which the copy reads as text.
    Mac,
    /// `xml`, whose binary form is its text.
    Xml,
    /// `money` (cents as int8), which the copy reads as numeric with `scale` digits.
    Money { scale: u32 },
}

impl Conv {
    /// The conversion for a column of catalog type `wire_type` whose copy reads `want`,
    /// when one exists without a server-side cast.
    fn choose(have: Wire, wire_type: &str, want: &Wire, money_scale: u32) -> Option<Conv> {
        if have.serves(want) {
            return Some(Conv::Wire(have));
        }
        match (wire_type, want) {
            ("inet" | "cidr", Wire::Text) => Some(Conv::Inet),
            ("macaddr" | "macaddr8", Wire::Text) => Some(Conv::Mac),
            ("xml", Wire::Text) => Some(Conv::Xml),
            ("money", Wire::Numeric) => Some(Conv::Money { scale: money_scale }),
            _ => None,
        }
    }

    fn decode(&self, b: &[u8]) -> std::result::Result<Value, String> {
        match self {
            Conv::Wire(w) => decode(w, b),
            Conv::Inet => inet_text(b).map(Value::Text),
            Conv::Mac => Ok(Value::Text(
                b.iter()
                    .map(|x| format!("{x:02x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
            )),
            Conv::Xml => std::str::from_utf8(b)
                .map(|s| Value::Text(s.to_string()))
                .map_err(|_| "xml is not valid UTF-8".to_string()),
            Conv::Money { scale } => {
                let cents = i64::from_be_bytes(
                    b.try_into()
                        .map_err(|_| "money field is not 8 bytes".to_string())?,
                );
                Ok(Value::Decimal(scaled_decimal(cents, *scale)))
            }
        }
    }
}

/// `units` with `scale` implied fraction digits as decimal text (`-12.34`).
fn scaled_decimal(units: i64, scale: u32) -> String {
    if scale == 0 {
        return units.to_string();
    }
    let neg = units < 0;
    let digits = units.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if neg { "-" } else { "" })
}

/// The text a binary `inet`/`cidr` becomes under the copy's `::text` cast: the address and
/// always `/bits` (`text(inet)`, unlike the type's output function, keeps the mask).
fn inet_text(b: &[u8]) -> std::result::Result<String, String> {
    let [family, bits, _is_cidr, nb, addr @ ..] = b else {
        return Err("inet field is too short".into());
    };
    let text = match (family, *nb as usize, addr.len()) {
        (2, 4, 4) => std::net::Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]).to_string(),
        (3, 16, 16) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(addr);
            let ip = std::net::Ipv6Addr::from(a);
            let w = ip.segments();
            // PostgreSQL prints an IPv4-compatible address (::a.b.c.d) with a dotted tail.
            if w[..6].iter().all(|x| *x == 0) && w[6] != 0 {
                format!("::{}.{}.{}.{}", a[12], a[13], a[14], a[15])
            } else {
                ip.to_string()
            }
        }
        _ => return Err("inet field has an unknown address family".into()),
    };
    Ok(format!("{text}/{bits}"))
}

/// One streamed table.
#[derive(Debug, Clone)]
pub(crate) struct TableShape {
    pub(crate) shown: String,
    pub(crate) schema: String,
    pub(crate) name: String,
    pub(crate) columns: Vec<ColumnShape>,
    /// Indexes of the row key's columns (a bad value is named by its key).
    key: Vec<usize>,
}

impl TableShape {
    /// Read `table`'s column types from the catalog and check that each decodes to the
    /// neutral type the copy gave it without a server-side cast.
    pub(crate) async fn load(client: &tokio_postgres::Client, table: &Table) -> Result<Self> {
        let shown = table.display_name();
        let rows = client
            .query(COLUMNS_SQL, &[&crate::write::qualified(table)])
            .await
            .map_err(|e| crate::map_error(e).context(format!("table `{shown}`: column types")))?;
        let mut columns = Vec::new();
        for col in table.copied_columns() {
            let row = rows
                .iter()
                .find(|r| r.get::<_, String>("column_name") == col.name)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!("table `{shown}`: column `{}` not found", col.name),
                    )
                })?;
            let have = Wire::from_catalog(
                &row.get::<_, String>("wire_type"),
                &row.get::<_, String>("wire_kind"),
                &row.get::<_, String>("elem_type"),
                &row.get::<_, String>("elem_kind"),
            );
            if row.get::<_, bool>("generated") {
                return Err(Error::config(format!(
                    "table `{shown}`, column `{}`: the source computes it (GENERATED ALWAYS), and PostgreSQL's logical replication does not send such values, so the target's copy of it could not follow; exclude the table, or drop the generation on the source (ALTER TABLE ... ALTER COLUMN ... DROP EXPRESSION)",
                    col.name
                )));
            }
            let (want, _) = Wire::for_type(&col.data_type);
            let type_name: String = row.get("type_name");
            let wire_type: String = row.get("wire_type");
            if wire_type == "varbit" {
                // The neutral value of a bit string keeps its bits but not its length, so a
                // short `bit varying` value would arrive zero-padded.
                return Err(Error::config(format!(
                    "table `{shown}`, column `{}`: {type_name} values cannot be replicated exactly (their length is lost on the way); change the column to bit(n) or text on the source, or exclude the table",
                    col.name
                )));
            }
            let scale = if wire_type == "money" {
                money_scale(client).await?
            } else {
                0
            };
            let conv = Conv::choose(have, &wire_type, &want, scale).ok_or_else(|| {
                Error::config(format!(
                    "table `{shown}`, column `{}`: its type {type_name} is copied through a cast to {:?}, which replication cannot apply to the values it streams; exclude the table or change the column's type",
                    col.name, col.data_type
                ))
            })?;
            columns.push(ColumnShape {
                name: col.name.clone(),
                type_oid: row.get::<_, i64>("type_oid") as u32,
                typmod: row.get("typmod"),
                type_name,
                conv,
            });
        }
        let key = table
            .row_key()
            .iter()
            .filter_map(|k| columns.iter().position(|c| &c.name == k))
            .collect();
        Ok(TableShape {
            shown,
            schema: table.schema.clone().unwrap_or_else(|| "public".into()),
            name: table.name.clone(),
            columns,
            key,
        })
    }

    /// Whether the relation the server describes is the table as copied; otherwise what
    /// changed, in words.
    fn differs(&self, rel: &Relation) -> Option<String> {
        let mut changes = Vec::new();
        for c in &self.columns {
            match rel.columns.iter().find(|r| r.name == c.name) {
                None => changes.push(format!("column `{}` was dropped or renamed", c.name)),
                Some(r) if r.type_oid != c.type_oid || r.typmod != c.typmod => changes.push(
                    format!("column `{}` changed type (it was {})", c.name, c.type_name),
                ),
                Some(_) => {}
            }
        }
        for r in &rel.columns {
            if !self.columns.iter().any(|c| c.name == r.name) {
                changes.push(format!("column `{}` was added", r.name));
            }
        }
        if changes.is_empty() && rel.columns.len() != self.columns.len() {
            changes.push("its columns were reordered".into());
        }
        if changes.is_empty() {
            None
        } else {
            Some(changes.join(", "))
        }
    }

    /// A tuple as the copy would have read it, and the columns the server left out
    /// because they did not change (unchanged TOAST values, kept as NULL placeholders).
    fn convert(&self, cells: &[Cell], at: u64) -> Result<(Vec<Value>, Vec<usize>)> {
        let mut values = Vec::with_capacity(self.columns.len());
        let mut unchanged = Vec::new();
        for (i, (cell, col)) in cells.iter().zip(&self.columns).enumerate() {
            let v = match cell {
                Cell::Null => Ok(Value::Null),
                Cell::Unchanged => {
                    unchanged.push(i);
                    Ok(Value::Null)
                }
                Cell::Binary(b) => col.conv.decode(b),
                Cell::Text(t) => text_cell(&col.conv, t),
            }
            .map_err(|why| self.bad(&values, &col.name, at, &why))?;
            values.push(v);
        }
        if values.len() != self.columns.len() {
            return Err(Error::new(
                ErrorKind::Schema,
                format!(
                    "table `{}`: a change at {} carries {} columns, the copy has {}",
                    self.shown,
                    pgoutput::format_lsn(at),
                    values.len(),
                    self.columns.len()
                ),
            ));
        }
        Ok((values, unchanged))
    }

    fn bad(&self, done: &[Value], column: &str, at: u64, why: &str) -> Error {
        let key: Vec<String> = self
            .key
            .iter()
            .filter_map(|&i| {
                done.get(i)
                    .map(|v| format!("{}={}", self.columns[i].name, v.to_json()))
            })
            .collect();
        let key = if key.len() == self.key.len() && !key.is_empty() {
            key.join(", ")
        } else {
            "key not yet read".into()
        };
        Error::data(format!(
            "table `{}`, column `{column}`, {key} (WAL {}): {why}",
            self.shown,
            pgoutput::format_lsn(at)
        ))
    }
}

/// The fraction digits of `money` under the server's `lc_monetary`, as the copy's
/// `money::numeric` cast gives them.
async fn money_scale(client: &tokio_postgres::Client) -> Result<u32> {
    let row = client
        .query_one("SELECT scale('1'::money::numeric)", &[])
        .await
        .map_err(|e| crate::map_error(e).context("reading money's scale"))?;
    Ok(row.get::<_, i32>(0).max(0) as u32)
}

/// A value the server sent in text form (a type without a binary send function).
fn text_cell(conv: &Conv, t: &[u8]) -> std::result::Result<Value, String> {
    let s = std::str::from_utf8(t).map_err(|_| "text is not valid UTF-8".to_string())?;
    match conv {
        Conv::Wire(Wire::Text) | Conv::Xml => Ok(Value::Text(s.to_string())),
        Conv::Wire(Wire::Json | Wire::Jsonb) => Ok(Value::Json(s.to_string())),
        _ => Err("the server sent the value as text (its type has no binary form)".into()),
    }
}

/// What the reading task sends: an event, the end (`None`), or the error that ended it.
type Item = Result<Option<StreamEvent>>;

/// Committed changes to a set of tables, read from a logical replication slot.
pub struct PgChanges {
    rx: mpsc::Receiver<Item>,
    ack: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
    finished: bool,
}

impl Drop for PgChanges {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PgChanges {
    /// Start streaming `slot` (publication of the same name) from `from`; with `until` the
    /// stream ends once every transaction committed before it was read.
    pub async fn open(
        url: &ConnUrl,
        tables: &[Table],
        from: &PgPosition,
        until: Option<u64>,
    ) -> Result<PgChanges> {
        let client = crate::conn::connect(url).await?;
        let mut shapes = Vec::with_capacity(tables.len());
        for t in tables {
            shapes.push(TableShape::load(&client, t).await?);
        }
        drop(client);
        let mut conn = ReplConnection::connect(url).await?;
        let slot = from.slot.clone();
        let sql = format!(
            "START_REPLICATION SLOT {} LOGICAL {} (proto_version '1', publication_names {}, binary 'true')",
            ferry_schema::quote::pg_ident(&slot),
            pgoutput::format_lsn(from.lsn),
            ferry_schema::quote::pg_literal(&ferry_schema::quote::pg_ident(&slot)),
        );
        conn.start_copy_both(&sql).await.map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                Error::new(
                    ErrorKind::NotFound,
                    format!("{e}: the replication slot of the recorded position {} is gone (dropped by a cutover, `ferry replicate --stop`, or by hand), so replication cannot resume; copy again with `ferry migrate --if-exists drop --replicate`", from.render()),
                )
            } else {
                e
            }
        })?;
        let (reader, writer) = conn.split();
        let (tx, rx) = mpsc::channel(4);
        let (ack, ack_rx) = watch::channel(from.lsn);
        let decoder = Decoder {
            slot,
            tables: shapes,
            relations: HashMap::new(),
            in_txn: false,
            txn_changes: 0,
            piece: Vec::new(),
            piece_bytes: 0,
            out: VecDeque::new(),
            until,
            last: from.lsn,
            finished: false,
        };
        let task = tokio::spawn(run(decoder, reader, writer, tx, ack_rx, from.lsn));
        Ok(PgChanges {
            rx,
            ack,
            task,
            finished: false,
        })
    }
}

#[async_trait::async_trait]
impl ChangeStream for PgChanges {
    async fn next(&mut self) -> Result<Option<StreamEvent>> {
        if self.finished {
            return Ok(None);
        }
        match self.rx.recv().await {
            Some(Ok(Some(ev))) => Ok(Some(ev)),
            Some(Ok(None)) => {
                self.finished = true;
                Ok(None)
            }
            Some(Err(e)) => Err(e),
            None => Err(Error::new(
                ErrorKind::Transient,
                "the replication stream's reader stopped",
            )),
        }
    }

    async fn acknowledge(&mut self, position: &Position) -> Result<()> {
        let p = PgPosition::parse(position)?;
        self.ack.send_if_modified(|a| {
            if p.lsn > *a {
                *a = p.lsn;
                true
            } else {
                false
            }
        });
        Ok(())
    }
}

/// The reading task: decode into `tx`, report acknowledged positions to the server.
async fn run(
    mut d: Decoder,
    mut reader: ReplReader,
    mut writer: ReplWriter,
    tx: mpsc::Sender<Item>,
    mut ack: watch::Receiver<u64>,
    from: u64,
) {
    let mut acked = from;
    let outcome: Result<()> = async {
        writer.status(acked, false).await?;
        if d.until.is_some_and(|u| from >= u) {
            d.out.push_back(None);
        }
        let mut tick = tokio::time::interval(STATUS_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_data = Instant::now();
        let mut last_ask = Instant::now() - Duration::from_secs(1);
        loop {
            // Draining to a position: ask the server where it stands whenever it goes quiet,
            // so the stream ends soon after the last transaction before it.
            let ask_in = if d.until.is_some() && !d.in_txn && d.out.is_empty() {
                Duration::from_millis(100).saturating_sub(last_data.elapsed().min(last_ask.elapsed()))
            } else {
                Duration::from_secs(3600)
            };
            tokio::select! {
                biased;
                changed = ack.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    acked = *ack.borrow_and_update();
                    writer.status(acked, false).await?;
                }
                permit = tx.reserve(), if !d.out.is_empty() => {
                    let Ok(permit) = permit else { return Ok(()) };
                    let ev = d.out.pop_front().flatten();
                    let end = ev.is_none();
                    permit.send(Ok(ev));
                    if end {
                        return Ok(());
                    }
                }
                _ = tick.tick() => writer.status(acked, false).await?,
                _ = tokio::time::sleep(ask_in) => {
                    last_ask = Instant::now();
                    writer.status(acked, true).await?;
                }
                frame = reader.frame(), if d.out.is_empty() => {
                    let f = frame?;
                    last_data = Instant::now();
                    match f.tag {
                        b'd' => {
                            let msg = pgoutput::parse_stream(f.body.freeze()).map_err(|why| {
                                Error::other(format!("{}: replication stream: {why}", reader.shown()))
                            })?;
                            if let Some(reply) = d.handle(msg)? {
                                writer.status(acked, reply).await?;
                            }
                        }
                        b'E' => return Err(server_error(reader.shown(), &f.body)),
                        b'c' => {
                            return Err(Error::new(
                                ErrorKind::Transient,
                                format!("{}: the server ended the replication stream", reader.shown()),
                            ))
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    .await;
    writer.close().await;
    if let Err(e) = outcome {
        let _ = tx.send(Err(e)).await;
    }
}

/// Turns pgoutput messages into whole transactions of changes.
struct Decoder {
    slot: String,
    tables: Vec<TableShape>,
    /// Relation OID to the streamed table it is (`None`: not streamed).
    relations: HashMap<u32, Option<usize>>,
    in_txn: bool,
    txn_changes: usize,
    piece: Vec<Change>,
    piece_bytes: usize,
    /// Events ready for the channel; `None` ends the stream.
    out: VecDeque<Option<StreamEvent>>,
    until: Option<u64>,
    /// The end of the last transaction (or quiet point) passed on.
    last: u64,
    finished: bool,
}

impl Decoder {
    fn position(&self, lsn: u64) -> Position {
        PgPosition {
            slot: self.slot.clone(),
            lsn,
        }
        .to_position()
    }

    /// Act on one stream message; returns `Some(reply)` when a status update is due.
    fn handle(&mut self, msg: StreamMessage) -> Result<Option<bool>> {
        match msg {
            StreamMessage::Keepalive { end, reply } => {
                if !self.in_txn && !self.finished && end > self.last {
                    self.last = end;
                    self.out
                        .push_back(Some(StreamEvent::Advanced(self.position(end))));
                    self.check_until(end);
                }
                Ok(reply.then_some(false))
            }
            StreamMessage::XLogData { start, data, .. } => {
                let m = pgoutput::parse(data, false).map_err(|why| {
                    Error::other(format!(
                        "replication stream at {}: {why}",
                        pgoutput::format_lsn(start)
                    ))
                })?;
                self.message(m, start)?;
                Ok(None)
            }
        }
    }

    fn check_until(&mut self, end: u64) {
        if self.until.is_some_and(|u| end >= u) && !self.finished {
            self.finished = true;
            self.out.push_back(None);
        }
    }

    fn message(&mut self, m: Message, at: u64) -> Result<()> {
        match m {
            Message::Begin { .. } => {
                self.in_txn = true;
                self.txn_changes = 0;
            }
            Message::Commit {
                end_lsn, commit_ts, ..
            } => {
                self.flush_piece();
                let end = self.position(end_lsn);
                self.out.push_back(Some(if self.txn_changes > 0 {
                    StreamEvent::Commit {
                        end,
                        commit_micros: Some(commit_ts + crate::encode::PG_EPOCH_MICROS),
                    }
                } else {
                    StreamEvent::Advanced(end)
                }));
                self.in_txn = false;
                self.txn_changes = 0;
                self.last = self.last.max(end_lsn);
                self.check_until(end_lsn);
            }
            Message::Relation(rel) => self.relation(rel, at)?,
            Message::Insert { rel, new } => {
                if let Some(t) = self.table(rel, at)? {
                    let (after, _) = self.tables[t].convert(&new, at)?;
                    self.push(Change {
                        table: t,
                        kind: ChangeKind::Insert,
                        before: None,
                        after: Some(after),
                        unchanged: Vec::new(),
                    });
                }
            }
            Message::Update { rel, old, new, .. } => {
                if let Some(t) = self.table(rel, at)? {
                    let shape = &self.tables[t];
                    let (after, unchanged) = shape.convert(&new, at)?;
                    let before = match old {
                        Some(old) => shape.convert(&old, at)?.0,
                        None => {
                            // The key did not change: the new row names the old one.
                            if let Some(&k) = shape.key.iter().find(|k| unchanged.contains(k)) {
                                return Err(Error::data(format!(
                                    "table `{}`, column `{}` (WAL {}): an update left a TOASTed key value out; set REPLICA IDENTITY FULL on the table",
                                    shape.shown,
                                    shape.columns[k].name,
                                    pgoutput::format_lsn(at)
                                )));
                            }
                            after.clone()
                        }
                    };
                    self.push(Change {
                        table: t,
                        kind: ChangeKind::Update,
                        before: Some(before),
                        after: Some(after),
                        unchanged,
                    });
                }
            }
            Message::Delete { rel, old, .. } => {
                if let Some(t) = self.table(rel, at)? {
                    let (before, _) = self.tables[t].convert(&old, at)?;
                    self.push(Change {
                        table: t,
                        kind: ChangeKind::Delete,
                        before: Some(before),
                        after: None,
                        unchanged: Vec::new(),
                    });
                }
            }
            Message::Truncate { rels } => {
                for rel in rels {
                    if let Some(t) = self.table(rel, at)? {
                        self.push(Change {
                            table: t,
                            kind: ChangeKind::Truncate,
                            before: None,
                            after: None,
                            unchanged: Vec::new(),
                        });
                    }
                }
            }
            Message::StreamStart { .. }
            | Message::StreamStop
            | Message::StreamCommit { .. }
            | Message::StreamAbort { .. } => {
                return Err(Error::other(
                    "the server streamed an in-progress transaction, which ferry did not ask for",
                ))
            }
            Message::Other(_) => {}
        }
        Ok(())
    }

    fn relation(&mut self, rel: Relation, at: u64) -> Result<()> {
        // Relation messages carry no WAL position of their own: name the last one passed.
        let at = if at == 0 { self.last } else { at };
        let namespace = if rel.namespace.is_empty() {
            "pg_catalog"
        } else {
            rel.namespace.as_str()
        };
        let t = self
            .tables
            .iter()
            .position(|t| t.schema == namespace && t.name == rel.name);
        if let Some(t) = t {
            if let Some(change) = self.tables[t].differs(&rel) {
                return Err(Error::new(
                    ErrorKind::Schema,
                    format!(
                        "table `{}` changed on the source after the copy ({change}; WAL {}): replication cannot carry schema changes and stopped before the first change in the new shape; copy again with `ferry migrate --if-exists drop --replicate`",
                        self.tables[t].shown,
                        pgoutput::format_lsn(at)
                    ),
                ));
            }
        }
        self.relations.insert(rel.id, t);
        Ok(())
    }

    fn table(&self, rel: u32, at: u64) -> Result<Option<usize>> {
        self.relations.get(&rel).copied().ok_or_else(|| {
            Error::other(format!(
                "replication stream at {}: a change to relation {rel} came before its description",
                pgoutput::format_lsn(at)
            ))
        })
    }

    fn push(&mut self, change: Change) {
        self.piece_bytes += change.byte_size();
        self.piece.push(change);
        self.txn_changes += 1;
        if self.piece.len() >= PIECE_CHANGES || self.piece_bytes >= PIECE_BYTES {
            self.flush_piece();
        }
    }

    fn flush_piece(&mut self) {
        if !self.piece.is_empty() {
            self.out
                .push_back(Some(StreamEvent::Changes(std::mem::take(&mut self.piece))));
            self.piece_bytes = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_text_as_the_copys_text_cast_prints_it() {
        assert_eq!(
            inet_text(&[2, 24, 0, 4, 192, 168, 0, 1]).as_deref(),
            Ok("192.168.0.1/24")
        );
        assert_eq!(
            inet_text(&[2, 32, 0, 4, 10, 0, 0, 1]).as_deref(),
            Ok("10.0.0.1/32")
        );
        assert_eq!(
            inet_text(&[2, 32, 1, 4, 10, 0, 0, 1]).as_deref(),
            Ok("10.0.0.1/32")
        );
        let mut v6 = vec![3, 128, 0, 16];
        v6.extend_from_slice(&[0; 15]);
        v6.push(1);
        assert_eq!(inet_text(&v6).as_deref(), Ok("::1/128"));
    }

    #[test]
    fn money_scales() {
        assert_eq!(scaled_decimal(-1234, 2), "-12.34");
        assert_eq!(scaled_decimal(5, 2), "0.05");
        assert_eq!(scaled_decimal(7, 0), "7");
    }
}
