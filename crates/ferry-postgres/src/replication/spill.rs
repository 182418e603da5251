//! Streamed in-progress transactions (pgoutput protocol 2) kept on disk until they end.
//!
//! With `streaming 'on'` the server sends a transaction larger than its
//! `logical_decoding_work_mem` in blocks before it commits, interleaved with other, ordinary
//! transactions that commit in the meantime. The engine applies whole source transactions in
//! commit order, so a streamed one cannot be applied as it arrives: its change messages are
//! written, as the server sent them, to a file of its own (one per top-level transaction) and
//! read back in pieces when its Stream Commit arrives. Memory stays bounded by a piece, never
//! by the transaction; the file is unlinked as soon as it is made, so nothing is left behind
//! even when ferry is killed (the server streams the transaction again on the next start,
//! since its commit lies after the confirmed position).
//!
//! A Stream Abort of a subtransaction drops what that subtransaction (and those nested in
//! it) wrote: everything from its first message on, since a subtransaction's changes and
//! those of its children come after its first one and before its abort. That is how
//! PostgreSQL's own apply worker does it.

use super::pgoutput::Relation;
use bytes::Bytes;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// A record's header: the message's WAL position and its length.
const HEADER: u64 = 12;

/// One streamed transaction's change messages so far.
pub(super) struct Spill {
    file: BufWriter<File>,
    /// Bytes written (the file's logical length).
    len: u64,
    /// Where each subtransaction's first message starts.
    subxacts: HashMap<u32, u64>,
    /// The relation messages sent for it (small: one per table, the last one kept).
    pub(super) relations: Vec<Relation>,
    /// Change messages held.
    pub(super) messages: u64,
}

fn new_file() -> std::io::Result<File> {
    use std::hash::{BuildHasher, Hasher};
    let dir = std::env::temp_dir();
    loop {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let path = dir.join(format!("ferry-pgstream-{:016x}", h.finish()));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => {
                // Unlinked at once: the open file stays usable and vanishes with it.
                std::fs::remove_file(&path)?;
                return Ok(f);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

impl Spill {
    /// An empty spill file in the temporary directory.
    pub(super) fn new() -> std::io::Result<Spill> {
        Ok(Spill {
            file: BufWriter::with_capacity(1 << 16, new_file()?),
            len: 0,
            subxacts: HashMap::new(),
            relations: Vec::new(),
            messages: 0,
        })
    }

    /// Keep a change message of (sub)transaction `xid` of top-level transaction `top`.
    pub(super) fn append(
        &mut self,
        top: u32,
        xid: u32,
        at: u64,
        data: &[u8],
    ) -> std::io::Result<()> {
        if xid != top {
            self.subxacts.entry(xid).or_insert(self.len);
        }
        let len = u32::try_from(data.len())
            .map_err(|_| std::io::Error::other("a replication message over 4 GiB"))?;
        self.file.write_all(&at.to_be_bytes())?;
        self.file.write_all(&len.to_be_bytes())?;
        self.file.write_all(data)?;
        self.len += HEADER + u64::from(len);
        self.messages += 1;
        Ok(())
    }

    /// Keep a relation message (replacing an earlier one of the same relation).
    pub(super) fn relation(&mut self, rel: Relation) {
        self.relations.retain(|r| r.id != rel.id);
        self.relations.push(rel);
    }

    /// Subtransaction `xid` aborted: drop its messages and those of every subtransaction
    /// that began after it (its children).
    pub(super) fn abort_subxact(&mut self, xid: u32) -> std::io::Result<()> {
        let Some(&from) = self.subxacts.get(&xid) else {
            // It sent nothing (or nothing of a replicated table).
            return Ok(());
        };
        self.file.flush()?;
        let f = self.file.get_mut();
        f.set_len(from)?;
        f.seek(SeekFrom::Start(from))?;
        self.subxacts.retain(|_, at| *at < from);
        self.len = from;
        Ok(())
    }

    /// The messages kept, to read back from the first.
    pub(super) fn into_replay(self) -> std::io::Result<Replay> {
        let mut f = self.file.into_inner().map_err(|e| e.into_error())?;
        f.seek(SeekFrom::Start(0))?;
        Ok(Replay {
            reader: BufReader::with_capacity(1 << 16, f),
            left: self.len,
        })
    }
}

/// A committed streamed transaction's change messages, read back in order.
pub(super) struct Replay {
    reader: BufReader<File>,
    left: u64,
}

impl Replay {
    /// The next message and the WAL position it was sent at; `None` after the last.
    pub(super) fn next_message(&mut self) -> std::io::Result<Option<(u64, Bytes)>> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut head = [0u8; HEADER as usize];
        self.reader.read_exact(&mut head)?;
        let at = u64::from_be_bytes(head[..8].try_into().unwrap_or_default());
        let len = u32::from_be_bytes(head[8..].try_into().unwrap_or_default());
        let mut data = vec![0u8; len as usize];
        self.reader.read_exact(&mut data)?;
        self.left = self.left.saturating_sub(HEADER + u64::from(len));
        Ok(Some((at, Bytes::from(data))))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn all(s: Spill) -> Vec<(u64, Vec<u8>)> {
        let mut r = s.into_replay().unwrap();
        let mut out = Vec::new();
        while let Some((at, b)) = r.next_message().unwrap() {
            out.push((at, b.to_vec()));
        }
        out
    }

    #[test]
    fn messages_come_back_in_order() {
        let mut s = Spill::new().unwrap();
        s.append(7, 7, 10, b"I-one").unwrap();
        s.append(7, 7, 20, b"").unwrap();
        s.append(7, 7, 30, b"I-three").unwrap();
        assert_eq!(
            all(s),
            vec![
                (10, b"I-one".to_vec()),
                (20, vec![]),
                (30, b"I-three".to_vec())
            ]
        );
    }

    #[test]
    fn a_subtransaction_abort_drops_it_and_its_children_only() {
        let mut s = Spill::new().unwrap();
        s.append(7, 7, 1, b"top-1").unwrap();
        // SAVEPOINT a (8) ... RELEASE a: kept.
        s.append(7, 8, 2, b"sub8-1").unwrap();
        s.append(7, 8, 3, b"sub8-2").unwrap();
        // SAVEPOINT b (10), SAVEPOINT c (11), ROLLBACK TO c.
        s.append(7, 10, 4, b"sub10-1").unwrap();
        s.append(7, 11, 5, b"sub11-1").unwrap();
        s.abort_subxact(11).unwrap();
        // A subtransaction that sent nothing: no change.
        s.abort_subxact(42).unwrap();
        // b goes on, then ROLLBACK TO b: b and c (inside it) are gone.
        s.append(7, 10, 6, b"sub10-2").unwrap();
        s.append(7, 12, 7, b"sub12-1").unwrap();
        s.abort_subxact(10).unwrap();
        s.append(7, 7, 8, b"top-2").unwrap();
        s.append(7, 13, 9, b"sub13-1").unwrap();
        assert_eq!(
            all(s),
            vec![
                (1, b"top-1".to_vec()),
                (2, b"sub8-1".to_vec()),
                (3, b"sub8-2".to_vec()),
                (8, b"top-2".to_vec()),
                (9, b"sub13-1".to_vec()),
            ]
        );
    }

    #[test]
    fn the_file_is_unlinked_at_once() {
        use std::os::unix::io::AsRawFd;
        let s = Spill::new().unwrap();
        let fd = s.file.get_ref().as_raw_fd();
        let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        let shown = target.to_string_lossy();
        assert!(
            shown.contains("ferry-pgstream-") && shown.ends_with("(deleted)"),
            "{shown}"
        );
    }
}
