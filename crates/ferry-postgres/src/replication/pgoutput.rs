//! The messages of PostgreSQL's `pgoutput` plugin (logical replication protocol, versions 1
//! and 2), parsed from the payload of one XLogData message. Pure: no I/O.
//!
//! Layout per the PostgreSQL documentation, "Logical Replication Message Formats": a type
//! byte, then big-endian fields; tuples are a column count and per column `n` (NULL), `u`
//! (an unchanged TOASTed value the server did not send), `t` (text) or `b` (binary,
//! the type's send format), the latter two with a length word.

use bytes::{Buf, Bytes};

/// One column of a tuple.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// A TOASTed value that did not change and was not sent: the target keeps its own.
    Unchanged,
    /// The value in the type's text output form.
    Text(Bytes),
    /// The value in the type's binary send form.
    Binary(Bytes),
}

/// A relation's columns as the publication sends them.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// The table's OID.
    pub id: u32,
    /// Schema name (empty for `pg_catalog`).
    pub namespace: String,
    /// Table name.
    pub name: String,
    /// `relreplident`: `d` default (primary key), `n` nothing, `f` full, `i` index.
    pub replica_identity: u8,
    /// Published columns, in table order.
    pub columns: Vec<RelColumn>,
}

/// One column of a [`Relation`].
#[derive(Debug, Clone, PartialEq)]
pub struct RelColumn {
    /// Part of the replica identity (the key the old tuple carries).
    pub key: bool,
    /// Column name.
    pub name: String,
    /// Type OID.
    pub type_oid: u32,
    /// Type modifier (`-1` for none).
    pub typmod: i32,
}

/// One pgoutput message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A transaction starts; its changes and a Commit follow.
    Begin {
        /// LSN of the commit record.
        final_lsn: u64,
        /// Commit time, microseconds since 2000-01-01.
        commit_ts: i64,
        /// Transaction id.
        xid: u32,
    },
    /// The transaction committed.
    Commit {
        /// LSN of the commit record.
        commit_lsn: u64,
        /// LSN just past the commit record: where a resume starts.
        end_lsn: u64,
        /// Commit time, microseconds since 2000-01-01.
        commit_ts: i64,
    },
    /// A table's shape, sent before its first change and after it changes.
    Relation(Relation),
    /// A new row.
    Insert {
        /// Table OID.
        rel: u32,
        /// The row.
        new: Vec<Cell>,
    },
    /// A changed row.
    Update {
        /// Table OID.
        rel: u32,
        /// The old row: its replica identity columns (`key_only`) or the whole row; absent
        /// when the key did not change under the default identity.
        old: Option<Vec<Cell>>,
        /// Whether `old` holds only the key columns (others are NULL there).
        key_only: bool,
        /// The new row.
        new: Vec<Cell>,
    },
    /// A removed row.
    Delete {
        /// Table OID.
        rel: u32,
        /// The old row (key columns, or the whole row).
        old: Vec<Cell>,
        /// Whether `old` holds only the key columns.
        key_only: bool,
    },
    /// Tables emptied.
    Truncate {
        /// Table OIDs.
        rels: Vec<u32>,
    },
    /// A streamed (in-progress) transaction's block of changes starts (protocol 2).
    StreamStart {
        /// Transaction id (top level).
        xid: u32,
        /// The transaction's first block: nothing of it was streamed before.
        first: bool,
    },
    /// The block of a streamed transaction ends.
    StreamStop,
    /// A streamed transaction committed.
    StreamCommit {
        /// Transaction id.
        xid: u32,
        /// LSN just past the commit record.
        end_lsn: u64,
        /// Commit time, microseconds since 2000-01-01.
        commit_ts: i64,
    },
    /// A streamed transaction (or a subtransaction of it) aborted.
    StreamAbort {
        /// Top-level transaction id.
        xid: u32,
        /// The aborted (sub)transaction; equal to `xid` for the whole transaction.
        subxid: u32,
    },
    /// Something replication does not act on (origin, type, logical message).
    Other(u8),
}

/// Why a message could not be parsed.
pub type ParseError = String;

struct Cursor(Bytes);

impl Cursor {
    fn need(&self, n: usize) -> Result<(), ParseError> {
        if self.0.remaining() < n {
            Err(format!(
                "pgoutput message truncated ({} bytes left, {n} needed)",
                self.0.remaining()
            ))
        } else {
            Ok(())
        }
    }
    fn u8(&mut self) -> Result<u8, ParseError> {
        self.need(1)?;
        Ok(self.0.get_u8())
    }
    fn i16(&mut self) -> Result<i16, ParseError> {
        self.need(2)?;
        Ok(self.0.get_i16())
    }
    fn i32(&mut self) -> Result<i32, ParseError> {
        self.need(4)?;
        Ok(self.0.get_i32())
    }
    fn u32(&mut self) -> Result<u32, ParseError> {
        self.need(4)?;
        Ok(self.0.get_u32())
    }
    fn u64(&mut self) -> Result<u64, ParseError> {
        self.need(8)?;
        Ok(self.0.get_u64())
    }
    fn i64(&mut self) -> Result<i64, ParseError> {
        self.need(8)?;
        Ok(self.0.get_i64())
    }
    fn string(&mut self) -> Result<String, ParseError> {
        let end = self
            .0
            .iter()
            .position(|b| *b == 0)
            .ok_or("pgoutput string without its terminator")?;
        let s = String::from_utf8_lossy(&self.0[..end]).into_owned();
        self.0.advance(end + 1);
        Ok(s)
    }
    fn bytes(&mut self, n: usize) -> Result<Bytes, ParseError> {
        self.need(n)?;
        Ok(self.0.split_to(n))
    }

    fn tuple(&mut self) -> Result<Vec<Cell>, ParseError> {
        let n = self.i16()?;
        let mut cells = Vec::with_capacity(n.max(0) as usize);
        for _ in 0..n {
            cells.push(match self.u8()? {
                b'n' => Cell::Null,
                b'u' => Cell::Unchanged,
                kind @ (b't' | b'b') => {
                    let len = usize::try_from(self.i32()?).map_err(|_| "negative length")?;
                    let v = self.bytes(len)?;
                    if kind == b't' {
                        Cell::Text(v)
                    } else {
                        Cell::Binary(v)
                    }
                }
                k => return Err(format!("unknown tuple column kind {k}")),
            });
        }
        Ok(cells)
    }
}

impl Cursor {
    /// The body of a Relation message.
    fn relation(&mut self) -> Result<Relation, ParseError> {
        let id = self.u32()?;
        let namespace = self.string()?;
        let name = self.string()?;
        let replica_identity = self.u8()?;
        let n = self.i16()?;
        let mut columns = Vec::with_capacity(n.max(0) as usize);
        for _ in 0..n {
            columns.push(RelColumn {
                key: self.u8()? & 1 == 1,
                name: self.string()?,
                type_oid: self.u32()?,
                typmod: self.i32()?,
            });
        }
        Ok(Relation {
            id,
            namespace,
            name,
            replica_identity,
            columns,
        })
    }

    /// The body of an Update message: the old row (key or whole) when sent, then the new.
    fn update(&mut self) -> Result<Message, ParseError> {
        let rel = self.u32()?;
        let (mut old, mut key_only) = (None, false);
        let mut kind = self.u8()?;
        if kind == b'K' || kind == b'O' {
            key_only = kind == b'K';
            old = Some(self.tuple()?);
            kind = self.u8()?;
        }
        if kind != b'N' {
            return Err(format!("update without its new tuple (`{}`)", kind as char));
        }
        Ok(Message::Update {
            rel,
            old,
            key_only,
            new: self.tuple()?,
        })
    }

    /// The body of a Truncate message.
    fn truncate(&mut self) -> Result<Message, ParseError> {
        let n = self.i32()?;
        self.u8()?;
        let mut rels = Vec::with_capacity(n.max(0) as usize);
        for _ in 0..n {
            rels.push(self.u32()?);
        }
        Ok(Message::Truncate { rels })
    }
}

/// Parse one message. `in_stream`: inside a StreamStart/StreamStop block, where change
/// messages carry the transaction id first (protocol 2).
pub fn parse(data: Bytes, in_stream: bool) -> Result<Message, ParseError> {
    let mut c = Cursor(data);
    let tag = c.u8()?;
    let streamed_xid = |c: &mut Cursor| -> Result<(), ParseError> {
        if in_stream {
            c.u32()?;
        }
        Ok(())
    };
    Ok(match tag {
        b'B' => Message::Begin {
            final_lsn: c.u64()?,
            commit_ts: c.i64()?,
            xid: c.u32()?,
        },
        b'C' => {
            c.u8()?;
            Message::Commit {
                commit_lsn: c.u64()?,
                end_lsn: c.u64()?,
                commit_ts: c.i64()?,
            }
        }
        b'R' => {
            streamed_xid(&mut c)?;
            Message::Relation(c.relation()?)
        }
        b'I' => {
            streamed_xid(&mut c)?;
            let rel = c.u32()?;
            match c.u8()? {
                b'N' => Message::Insert {
                    rel,
                    new: c.tuple()?,
                },
                k => return Err(format!("insert without its new tuple (`{}`)", k as char)),
            }
        }
        b'U' => {
            streamed_xid(&mut c)?;
            c.update()?
        }
        b'D' => {
            streamed_xid(&mut c)?;
            let rel = c.u32()?;
            let kind = c.u8()?;
            if kind != b'K' && kind != b'O' {
                return Err(format!("delete without its old tuple (`{}`)", kind as char));
            }
            Message::Delete {
                rel,
                key_only: kind == b'K',
                old: c.tuple()?,
            }
        }
        b'T' => {
            streamed_xid(&mut c)?;
            c.truncate()?
        }
        b'S' => Message::StreamStart {
            xid: c.u32()?,
            first: c.u8()? == 1,
        },
        b'E' => Message::StreamStop,
        b'c' => {
            let xid = c.u32()?;
            c.u8()?;
            let _commit_lsn = c.u64()?;
            Message::StreamCommit {
                xid,
                end_lsn: c.u64()?,
                commit_ts: c.i64()?,
            }
        }
        b'A' => Message::StreamAbort {
            xid: c.u32()?,
            subxid: c.u32()?,
        },
        other => Message::Other(other),
    })
}

/// The (sub)transaction id a message inside a stream block starts with (protocol 2): for
/// relation, type, insert, update, delete, truncate and logical messages; `None` for the
/// others, or when the message is too short to hold one.
pub fn streamed_xid(data: &[u8]) -> Option<u32> {
    match data {
        [b'R' | b'Y' | b'I' | b'U' | b'D' | b'T' | b'M', a, b, c, d, ..] => {
            Some(u32::from_be_bytes([*a, *b, *c, *d]))
        }
        _ => None,
    }
}

/// A replication stream message (inside CopyData).
#[derive(Debug, Clone, PartialEq)]
pub enum StreamMessage {
    /// WAL data: one pgoutput message.
    XLogData {
        /// The LSN the data starts at.
        start: u64,
        /// The server's current end of WAL.
        end: u64,
        /// The pgoutput message.
        data: Bytes,
    },
    /// The server is alive; `end` is how far it has sent.
    Keepalive {
        /// The server's position: every transaction committed before it was sent.
        end: u64,
        /// The server wants a status update now.
        reply: bool,
    },
}

/// Parse the payload of one CopyData message of a replication stream.
pub fn parse_stream(data: Bytes) -> Result<StreamMessage, ParseError> {
    let mut c = Cursor(data);
    match c.u8()? {
        b'w' => {
            let start = c.u64()?;
            let end = c.u64()?;
            c.i64()?;
            Ok(StreamMessage::XLogData {
                start,
                end,
                data: c.0,
            })
        }
        b'k' => {
            let end = c.u64()?;
            c.i64()?;
            Ok(StreamMessage::Keepalive {
                end,
                reply: c.u8()? == 1,
            })
        }
        k => Err(format!("unknown replication message `{}`", k as char)),
    }
}

/// An LSN as PostgreSQL prints it (`16/B374D848`).
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)
}

/// Parse an LSN printed as `16/B374D848`.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.trim().split_once('/')?;
    let hi = u64::from_str_radix(hi, 16).ok()?;
    let lo = u64::from_str_radix(lo, 16).ok()?;
    if hi > u64::from(u32::MAX) || lo > u64::from(u32::MAX) {
        return None;
    }
    Some(hi << 32 | lo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    #[test]
    fn lsn_round_trip() {
        assert_eq!(parse_lsn("16/B374D848"), Some(0x16_B374_D848));
        assert_eq!(format_lsn(0x16_B374_D848), "16/B374D848");
        assert_eq!(parse_lsn("0/0"), Some(0));
        assert_eq!(parse_lsn("x/1"), None);
        assert_eq!(parse_lsn("1"), None);
    }

    #[test]
    fn update_with_key_and_unchanged_toast() {
        let mut b = bytes::BytesMut::new();
        b.put_u8(b'U');
        b.put_u32(42);
        b.put_u8(b'K');
        b.put_i16(2);
        b.put_u8(b'b');
        b.put_i32(4);
        b.put_i32(7);
        b.put_u8(b'n');
        b.put_u8(b'N');
        b.put_i16(2);
        b.put_u8(b'b');
        b.put_i32(4);
        b.put_i32(8);
        b.put_u8(b'u');
        let m = parse(b.freeze(), false).expect("parses");
        assert_eq!(
            m,
            Message::Update {
                rel: 42,
                old: Some(vec![
                    Cell::Binary(Bytes::from_static(&[0, 0, 0, 7])),
                    Cell::Null
                ]),
                key_only: true,
                new: vec![
                    Cell::Binary(Bytes::from_static(&[0, 0, 0, 8])),
                    Cell::Unchanged
                ],
            }
        );
    }

    #[test]
    fn truncated_message_is_an_error() {
        assert!(parse(Bytes::from_static(&[b'I', 0, 0]), false).is_err());
        assert!(parse(Bytes::from_static(&[b'B', 0, 0, 0, 0]), false).is_err());
    }

    fn put_insert(b: &mut bytes::BytesMut, xid: Option<u32>, rel: u32, id: i32) {
        b.put_u8(b'I');
        if let Some(x) = xid {
            b.put_u32(x);
        }
        b.put_u32(rel);
        b.put_u8(b'N');
        b.put_i16(1);
        b.put_u8(b'b');
        b.put_i32(4);
        b.put_i32(id);
    }

    #[test]
    fn stream_control_messages() {
        let m = |bytes: &[u8]| parse(Bytes::copy_from_slice(bytes), false).expect("parses");
        assert_eq!(
            m(&[b'S', 0, 0, 2, 0, 1]),
            Message::StreamStart {
                xid: 512,
                first: true
            }
        );
        assert_eq!(
            m(&[b'S', 0, 0, 2, 0, 0]),
            Message::StreamStart {
                xid: 512,
                first: false
            }
        );
        assert_eq!(m(b"E"), Message::StreamStop);
        let mut b = bytes::BytesMut::new();
        b.put_u8(b'c');
        b.put_u32(512);
        b.put_u8(0);
        b.put_u64(0x10);
        b.put_u64(0x28);
        b.put_i64(-5);
        assert_eq!(
            m(&b),
            Message::StreamCommit {
                xid: 512,
                end_lsn: 0x28,
                commit_ts: -5
            }
        );
        assert_eq!(
            m(&[b'A', 0, 0, 2, 0, 0, 0, 2, 3]),
            Message::StreamAbort {
                xid: 512,
                subxid: 515
            }
        );
        // Cut short: an error, not a guess.
        assert!(parse(Bytes::from_static(&[b'S', 0, 0]), false).is_err());
        assert!(parse(Bytes::from_static(&[b'c', 0, 0, 0, 1, 0, 0]), false).is_err());
        assert!(parse(Bytes::from_static(&[b'A', 0, 0, 0, 1]), false).is_err());
    }

    #[test]
    fn streamed_changes_carry_their_xid_first() {
        let mut b = bytes::BytesMut::new();
        put_insert(&mut b, Some(515), 42, 9);
        let data = b.freeze();
        assert_eq!(streamed_xid(&data), Some(515));
        let want = Message::Insert {
            rel: 42,
            new: vec![Cell::Binary(Bytes::from_static(&[0, 0, 0, 9]))],
        };
        assert_eq!(parse(data.clone(), true).expect("parses"), want);
        // Read as if outside a stream the xid would be taken for the relation.
        assert_ne!(parse(data, false).ok(), Some(want));

        let mut r = bytes::BytesMut::new();
        r.put_u8(b'R');
        r.put_u32(512);
        r.put_u32(42);
        r.put_slice(b"public\0t\0");
        r.put_u8(b'd');
        r.put_i16(1);
        r.put_u8(1);
        r.put_slice(b"id\0");
        r.put_u32(23);
        r.put_i32(-1);
        let r = r.freeze();
        assert_eq!(streamed_xid(&r), Some(512));
        let Message::Relation(rel) = parse(r, true).expect("parses") else {
            panic!("not a relation")
        };
        assert_eq!((rel.id, rel.name.as_str(), rel.columns.len()), (42, "t", 1));

        let mut t = bytes::BytesMut::new();
        t.put_u8(b'T');
        t.put_u32(513);
        t.put_i32(1);
        t.put_u8(0);
        t.put_u32(42);
        let t = t.freeze();
        assert_eq!(streamed_xid(&t), Some(513));
        assert_eq!(
            parse(t, true).expect("parses"),
            Message::Truncate { rels: vec![42] }
        );
        // Messages without an xid, and one too short to hold it.
        assert_eq!(streamed_xid(b"E"), None);
        assert_eq!(streamed_xid(&[b'S', 0, 0, 0, 1, 1]), None);
        assert_eq!(streamed_xid(&[b'I', 0, 0]), None);
    }
}
