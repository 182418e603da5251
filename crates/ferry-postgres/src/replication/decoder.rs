//! The decoder of the replication stream: pgoutput messages in, whole source transactions
//! of neutral changes out, in pieces small enough to bound memory inside a large one.

use super::pgoutput::{self, Cell, Message, Relation, StreamMessage};
use super::shape::TableShape;
use super::PgPosition;
use ferry_core::{Change, ChangeKind, Error, ErrorKind, Position, Result, StreamEvent};
use std::collections::{HashMap, VecDeque};

/// Changes per `StreamEvent::Changes` piece, and their bytes: what bounds memory inside a
/// large source transaction.
const PIECE_CHANGES: usize = 2_000;
const PIECE_BYTES: usize = 8 << 20;

/// Turns pgoutput messages into whole transactions of changes.
pub(super) struct Decoder {
    slot: String,
    tables: Vec<TableShape>,
    /// Relation OID to the streamed table it is (`None`: not streamed).
    relations: HashMap<u32, Option<usize>>,
    pub(super) in_txn: bool,
    txn_changes: usize,
    piece: Vec<Change>,
    piece_bytes: usize,
    /// Events ready for the channel; `None` ends the stream.
    pub(super) out: VecDeque<Option<StreamEvent>>,
    pub(super) until: Option<u64>,
    /// The end of the last transaction (or quiet point) passed on.
    last: u64,
    finished: bool,
}

impl Decoder {
    pub(super) fn new(
        slot: String,
        tables: Vec<TableShape>,
        until: Option<u64>,
        from: u64,
    ) -> Self {
        Decoder {
            slot,
            tables,
            relations: HashMap::new(),
            in_txn: false,
            txn_changes: 0,
            piece: Vec::new(),
            piece_bytes: 0,
            out: VecDeque::new(),
            until,
            last: from,
            finished: false,
        }
    }

    fn position(&self, lsn: u64) -> Position {
        PgPosition {
            slot: self.slot.clone(),
            lsn,
        }
        .to_position()
    }

    /// Act on one stream message; returns `Some(reply)` when a status update is due.
    pub(super) fn handle(&mut self, msg: StreamMessage) -> Result<Option<bool>> {
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
            } => self.commit(end_lsn, commit_ts),
            Message::Relation(rel) => self.relation(rel, at)?,
            Message::Insert { rel, new } => {
                if let Some(t) = self.table(rel, at)? {
                    let (after, _) = self.tables[t].convert(&new, at)?;
                    self.push(Change::row(t, ChangeKind::Insert, None, Some(after)));
                }
            }
            Message::Update { rel, old, new, .. } => {
                if let Some(t) = self.table(rel, at)? {
                    let change = self.update(t, old.as_deref(), &new, at)?;
                    self.push(change);
                }
            }
            Message::Delete { rel, old, .. } => {
                if let Some(t) = self.table(rel, at)? {
                    let (before, _) = self.tables[t].convert(&old, at)?;
                    self.push(Change::row(t, ChangeKind::Delete, Some(before), None));
                }
            }
            Message::Truncate { rels } => {
                for rel in rels {
                    if let Some(t) = self.table(rel, at)? {
                        self.push(Change::row(t, ChangeKind::Truncate, None, None));
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

    /// The end of a source transaction: its changes are complete; one without changes to
    /// the streamed tables only moves the position.
    fn commit(&mut self, end_lsn: u64, commit_ts: i64) {
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

    /// An update of table `t`; without an old row the key did not change, and the new row
    /// names the old one (unless its key value was a TOASTed value left out).
    fn update(&self, t: usize, old: Option<&[Cell]>, new: &[Cell], at: u64) -> Result<Change> {
        let shape = &self.tables[t];
        let (after, unchanged) = shape.convert(new, at)?;
        let before = match old {
            Some(old) => shape.convert(old, at)?.0,
            None => {
                if let Some(k) = shape.unchanged_key(&unchanged) {
                    return Err(Error::data(format!(
                        "table `{}`, column `{k}` (WAL {}): an update left a TOASTed key value out; set REPLICA IDENTITY FULL on the table",
                        shape.shown,
                        pgoutput::format_lsn(at)
                    )));
                }
                after.clone()
            }
        };
        let mut change = Change::row(t, ChangeKind::Update, Some(before), Some(after));
        change.unchanged = unchanged;
        Ok(change)
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
