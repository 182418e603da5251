//! The decoder of the replication stream: pgoutput messages in, whole source transactions
//! of neutral changes out, in pieces small enough to bound memory inside a large one.
//!
//! Protocol 2 streams a large transaction in blocks before it commits: its change messages
//! go to a [`Spill`] file of their own, and on its Stream Commit they are read back and
//! decoded like an ordinary transaction's, one piece at a time ([`Decoder::replay_step`]),
//! so the engine still sees whole transactions in commit order.

use super::pgoutput::{self, Cell, Message, Relation, StreamMessage};
use super::shape::TableShape;
use super::spill::{Replay, Spill};
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
    /// The top-level transaction whose stream block is open.
    block: Option<u32>,
    /// Streamed transactions not yet committed or aborted, by top-level xid.
    spills: HashMap<u32, Spill>,
    /// A committed streamed transaction being passed on: its messages and its end.
    replay: Option<(Replay, u64, i64)>,
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
            block: None,
            spills: HashMap::new(),
            replay: None,
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
                if !self.in_txn && self.block.is_none() && !self.finished && end > self.last {
                    self.last = end;
                    self.out
                        .push_back(Some(StreamEvent::Advanced(self.position(end))));
                    self.check_until(end);
                }
                Ok(reply.then_some(false))
            }
            StreamMessage::XLogData { start, data, .. } => {
                if let Some(top) = self.block {
                    if let Some(xid) = pgoutput::streamed_xid(&data) {
                        return self.spill(top, xid, start, data).map(|()| None);
                    }
                }
                let m = pgoutput::parse(data, self.block.is_some()).map_err(|why| {
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
            Message::StreamStart { xid, first } => self.stream_start(xid, first, at)?,
            Message::StreamStop => self.block = None,
            Message::StreamCommit {
                xid,
                end_lsn,
                commit_ts,
            } => self.stream_commit(xid, end_lsn, commit_ts, at)?,
            Message::StreamAbort { xid, subxid } => {
                if xid == subxid {
                    self.spills.remove(&xid);
                } else if let Some(s) = self.spills.get_mut(&xid) {
                    s.abort_subxact(subxid).map_err(|e| spill_error(xid, &e))?;
                }
            }
            Message::Other(_) => {}
        }
        Ok(())
    }

    /// A stream block of top-level transaction `xid` opens.
    fn stream_start(&mut self, xid: u32, first: bool, at: u64) -> Result<()> {
        if self.in_txn || self.replay.is_some() {
            return Err(Error::other(format!(
                "replication stream at {}: a streamed block began inside a transaction",
                pgoutput::format_lsn(at)
            )));
        }
        if first {
            let spill = Spill::new().map_err(|e| spill_error(xid, &e))?;
            self.spills.insert(xid, spill);
        } else if !self.spills.contains_key(&xid) {
            return Err(Error::other(format!(
                "replication stream at {}: transaction {xid} went on streaming, but its first block was not seen on this connection",
                pgoutput::format_lsn(at)
            )));
        }
        self.block = Some(xid);
        Ok(())
    }

    /// A message of the open stream block: kept for when the transaction commits.
    fn spill(&mut self, top: u32, xid: u32, at: u64, data: bytes::Bytes) -> Result<()> {
        let spill = self.spills.get_mut(&top).ok_or_else(|| {
            Error::other(format!(
                "replication stream at {}: a streamed change of transaction {top} outside its blocks",
                pgoutput::format_lsn(at)
            ))
        })?;
        match data.first() {
            Some(b'I' | b'U' | b'D' | b'T') => spill
                .append(top, xid, at, &data)
                .map_err(|e| spill_error(top, &e)),
            Some(b'R') => match pgoutput::parse(data, true) {
                Ok(Message::Relation(rel)) => {
                    spill.relation(rel);
                    Ok(())
                }
                Ok(_) => Ok(()),
                Err(why) => Err(Error::other(format!(
                    "replication stream at {}: {why}",
                    pgoutput::format_lsn(at)
                ))),
            },
            // Types and logical decoding messages: nothing replication acts on.
            _ => Ok(()),
        }
    }

    /// Streamed transaction `xid` committed: its relations now describe the tables, and its
    /// changes are passed on from the spill file ([`Decoder::replay_step`]).
    fn stream_commit(&mut self, xid: u32, end_lsn: u64, commit_ts: i64, at: u64) -> Result<()> {
        let Some(mut spill) = self.spills.remove(&xid) else {
            return Err(Error::other(format!(
                "replication stream at {}: transaction {xid} committed, but its streamed blocks were not seen on this connection",
                pgoutput::format_lsn(at)
            )));
        };
        self.in_txn = true;
        self.txn_changes = 0;
        for rel in std::mem::take(&mut spill.relations) {
            self.relation(rel, at)?;
        }
        let replay = spill.into_replay().map_err(|e| spill_error(xid, &e))?;
        self.replay = Some((replay, end_lsn, commit_ts));
        Ok(())
    }

    /// A committed streamed transaction is being passed on.
    pub(super) fn replaying(&self) -> bool {
        self.replay.is_some()
    }

    /// Pass on the next piece of the committed streamed transaction (and its commit after
    /// the last one).
    pub(super) fn replay_step(&mut self) -> Result<()> {
        let Some((mut replay, end_lsn, commit_ts)) = self.replay.take() else {
            return Ok(());
        };
        while self.out.is_empty() {
            let next = replay
                .next_message()
                .map_err(|e| Error::other(format!("reading a streamed transaction back: {e}")))?;
            let Some((at, data)) = next else {
                self.commit(end_lsn, commit_ts);
                return Ok(());
            };
            let m = pgoutput::parse(data, true).map_err(|why| {
                Error::other(format!(
                    "replication stream at {}: {why}",
                    pgoutput::format_lsn(at)
                ))
            })?;
            self.message(m, at)?;
        }
        self.replay = Some((replay, end_lsn, commit_ts));
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

fn spill_error(xid: u32, e: &std::io::Error) -> Error {
    Error::other(format!(
        "keeping streamed transaction {xid} in a temporary file ({}): {e}",
        std::env::temp_dir().display()
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bytes::{BufMut, Bytes, BytesMut};
    use ferry_core::Value;

    const REL: u32 = 42;

    fn decoder() -> Decoder {
        Decoder::new("s".into(), vec![TableShape::int_text("t")], None, 0)
    }

    fn relation(xid: Option<u32>) -> Bytes {
        relation_typed(xid, 25)
    }

    /// A relation message for `t` whose column `v` has type `v_type`.
    fn relation_typed(xid: Option<u32>, v_type: u32) -> Bytes {
        let mut r = BytesMut::new();
        r.put_u8(b'R');
        if let Some(x) = xid {
            r.put_u32(x);
        }
        r.put_u32(REL);
        r.put_slice(b"public\0t\0");
        r.put_u8(b'd');
        r.put_i16(2);
        r.put_u8(1);
        r.put_slice(b"id\0");
        r.put_u32(23);
        r.put_i32(-1);
        r.put_u8(0);
        r.put_slice(b"v\0");
        r.put_u32(v_type);
        r.put_i32(-1);
        r.freeze()
    }

    fn insert(xid: Option<u32>, id: i32) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(b'I');
        if let Some(x) = xid {
            b.put_u32(x);
        }
        b.put_u32(REL);
        b.put_u8(b'N');
        b.put_i16(2);
        b.put_u8(b'b');
        b.put_i32(4);
        b.put_i32(id);
        b.put_u8(b'b');
        b.put_i32(3);
        b.put_slice(b"abc");
        b.freeze()
    }

    fn start(xid: u32, first: bool) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(b'S');
        b.put_u32(xid);
        b.put_u8(u8::from(first));
        b.freeze()
    }

    fn abort(xid: u32, subxid: u32) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(b'A');
        b.put_u32(xid);
        b.put_u32(subxid);
        b.freeze()
    }

    fn stream_commit(xid: u32, end: u64) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(b'c');
        b.put_u32(xid);
        b.put_u8(0);
        b.put_u64(end - 8);
        b.put_u64(end);
        b.put_i64(0);
        b.freeze()
    }

    fn begin() -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(b'B');
        b.put_u64(0);
        b.put_i64(0);
        b.put_u32(1);
        b.freeze()
    }

    fn commit(end: u64) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(b'C');
        b.put_u8(0);
        b.put_u64(end - 8);
        b.put_u64(end);
        b.put_i64(0);
        b.freeze()
    }

    fn feed(d: &mut Decoder, at: u64, data: Bytes) -> Result<()> {
        d.handle(StreamMessage::XLogData {
            start: at,
            end: at,
            data,
        })
        .map(|_| ())
    }

    /// Everything the decoder has ready, streamed transactions read back piece by piece;
    /// also the most pieces of changes it held at once.
    fn drain(d: &mut Decoder) -> (Vec<StreamEvent>, usize) {
        let (mut events, mut most) = (Vec::new(), 0);
        loop {
            if d.out.is_empty() && d.replaying() {
                d.replay_step().unwrap();
            }
            let pieces = d
                .out
                .iter()
                .filter(|e| matches!(e, Some(StreamEvent::Changes(_))))
                .count();
            most = most.max(pieces);
            match d.out.pop_front() {
                Some(Some(ev)) => events.push(ev),
                Some(None) => panic!("the stream ended"),
                None => return (events, most),
            }
        }
    }

    /// The ids each transaction inserted, and its end LSN.
    fn transactions(events: &[StreamEvent]) -> Vec<(Vec<i32>, String)> {
        let mut out = Vec::new();
        let mut ids = Vec::new();
        for ev in events {
            match ev {
                StreamEvent::Changes(cs) => {
                    ids.extend(cs.iter().map(|c| match c.after.as_ref().map(|a| &a[0]) {
                        Some(Value::Int(i)) => *i as i32,
                        other => panic!("unexpected {other:?}"),
                    }))
                }
                StreamEvent::Commit { end, .. } => {
                    out.push((std::mem::take(&mut ids), end.0.clone()))
                }
                StreamEvent::Advanced(_) => assert!(ids.is_empty(), "moved inside a transaction"),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(ids.is_empty(), "changes without a commit");
        out
    }

    #[test]
    fn streamed_transactions_arrive_whole_in_commit_order_without_aborted_parts() {
        let mut d = decoder();
        // Transaction 100 streams a block: its relation, a change of its own and one of
        // subtransaction 101.
        feed(&mut d, 0x10, start(100, true)).unwrap();
        feed(&mut d, 0x10, relation(Some(100))).unwrap();
        feed(&mut d, 0x11, insert(Some(100), 1)).unwrap();
        feed(&mut d, 0x12, insert(Some(101), 2)).unwrap();
        feed(&mut d, 0x12, Bytes::from_static(b"E")).unwrap();
        // A keepalive between blocks may move the position past the open transaction's
        // start: its commit lies later, so a restart from there streams it again whole.
        d.handle(StreamMessage::Keepalive {
            end: 0x1a,
            reply: false,
        })
        .unwrap();
        // An ordinary transaction commits in between: it comes out first, whole.
        feed(&mut d, 0x20, begin()).unwrap();
        feed(&mut d, 0x20, relation(None)).unwrap();
        feed(&mut d, 0x21, insert(None, 50)).unwrap();
        feed(&mut d, 0x22, commit(0x28)).unwrap();
        let (first, _) = drain(&mut d);
        assert_eq!(transactions(&first), vec![(vec![50], "s:0/28".to_string())]);
        // 100's next block: 101 goes on, 102 starts and is rolled back.
        feed(&mut d, 0x30, start(100, false)).unwrap();
        // Inside a block a keepalive moves nothing.
        d.handle(StreamMessage::Keepalive {
            end: 0x30,
            reply: false,
        })
        .unwrap();
        assert!(d.out.is_empty());
        feed(&mut d, 0x31, insert(Some(101), 3)).unwrap();
        feed(&mut d, 0x32, insert(Some(102), 4)).unwrap();
        feed(&mut d, 0x33, insert(Some(102), 5)).unwrap();
        feed(&mut d, 0x33, Bytes::from_static(b"E")).unwrap();
        feed(&mut d, 0x34, abort(100, 102)).unwrap();
        // Transaction 200 streams and is rolled back entirely.
        feed(&mut d, 0x40, start(200, true)).unwrap();
        feed(&mut d, 0x41, insert(Some(200), 70)).unwrap();
        feed(&mut d, 0x41, Bytes::from_static(b"E")).unwrap();
        feed(&mut d, 0x42, abort(200, 200)).unwrap();
        feed(&mut d, 0x48, start(100, false)).unwrap();
        feed(&mut d, 0x49, insert(Some(100), 6)).unwrap();
        feed(&mut d, 0x49, Bytes::from_static(b"E")).unwrap();
        assert!(drain(&mut d).0.is_empty(), "nothing before a commit");
        feed(&mut d, 0x60, stream_commit(100, 0x68)).unwrap();
        let (second, _) = drain(&mut d);
        assert_eq!(
            transactions(&second),
            vec![(vec![1, 2, 3, 6], "s:0/68".to_string())]
        );
        assert!(d.spills.is_empty());
    }

    #[test]
    fn a_large_streamed_transaction_comes_back_one_piece_at_a_time() {
        let mut d = decoder();
        feed(&mut d, 1, start(7, true)).unwrap();
        feed(&mut d, 1, relation(Some(7))).unwrap();
        let n = PIECE_CHANGES as i32 * 5 + 17;
        for i in 0..n {
            feed(&mut d, 2, insert(Some(7), i)).unwrap();
        }
        feed(&mut d, 3, Bytes::from_static(b"E")).unwrap();
        assert!(d.out.is_empty());
        feed(&mut d, 4, stream_commit(7, 0x100)).unwrap();
        let (events, most) = drain(&mut d);
        assert_eq!(most, 1, "more than one piece of changes held at once");
        assert_eq!(events.len(), 7, "six pieces and the commit");
        let txns = transactions(&events);
        assert_eq!(txns.len(), 1);
        assert_eq!(txns[0].0, (0..n).collect::<Vec<_>>());
    }

    #[test]
    fn a_stream_whose_start_was_not_seen_is_an_error() {
        let mut d = decoder();
        let e = feed(&mut d, 5, start(9, false)).unwrap_err();
        assert!(e.to_string().contains("transaction 9"), "{e}");
        let mut d = decoder();
        let e = feed(&mut d, 5, stream_commit(9, 0x20)).unwrap_err();
        assert!(e.to_string().contains("transaction 9 committed"), "{e}");
    }

    #[test]
    fn a_streamed_schema_change_stops_at_its_commit_not_when_rolled_back() {
        let mut d = decoder();
        // Rolled back: the changed shape it described never mattered.
        feed(&mut d, 1, start(7, true)).unwrap();
        feed(&mut d, 1, relation_typed(Some(7), 23)).unwrap();
        feed(&mut d, 2, Bytes::from_static(b"E")).unwrap();
        feed(&mut d, 3, abort(7, 7)).unwrap();
        // Committed: replication stops, naming the table and the change.
        feed(&mut d, 4, start(8, true)).unwrap();
        feed(&mut d, 4, relation_typed(Some(8), 23)).unwrap();
        feed(&mut d, 5, Bytes::from_static(b"E")).unwrap();
        let e = feed(&mut d, 6, stream_commit(8, 0x20)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Schema);
        assert!(
            e.to_string().contains("`public.t`")
                && e.to_string().contains("column `v` changed type"),
            "{e}"
        );
    }
}
