//! [`PgChanges`]: the committed changes of the replicated tables, read from a logical
//! replication slot with `pgoutput` (binary values), as whole source transactions of
//! neutral values decoded by the copy's own binary decoder.
//!
//! A task owns the replication connection: it reads and decodes messages into a bounded
//! channel (a full channel stops the reading, so memory stays bounded inside a large
//! transaction), and it sends standby status updates — the flushed position it reports is
//! only ever one the engine acknowledged after the target committed it, so the slot keeps
//! every change the target does not have yet. A streamed transaction (protocol 2) that
//! committed is read back from its spill file one piece per turn of the loop, between which
//! status updates still go out.

use super::decoder::Decoder;
use super::pgoutput;
use super::shape::TableShape;
use super::wire::{server_error, ReplConnection, ReplReader, ReplWriter};
use super::PgPosition;
use ferry_core::{ChangeStream, ConnUrl, Error, ErrorKind, Position, Result, StreamEvent, Table};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How often the server hears from ferry even when nothing was acknowledged (well inside
/// the default `wal_sender_timeout` of 60 s).
const STATUS_EVERY: Duration = Duration::from_secs(10);

/// Test-only: the `logical_decoding_work_mem` the replication session sets, so modest
/// transactions are streamed while in progress (the server is shared: no ALTER SYSTEM).
pub const WORK_MEM_ENV: &str = "FERRY_TEST_LOGICAL_DECODING_WORK_MEM";

/// The pgoutput protocol to ask for: from PostgreSQL 14 on, version 2 with in-progress
/// transactions streamed (so the server does not hold a large one back, spilled on its own
/// disk, until it commits); version 1 before.
fn protocol_options(server_major: u32) -> &'static str {
    if server_major >= 14 {
        "proto_version '2', streaming 'on'"
    } else {
        "proto_version '1'"
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
        if let Ok(mem) = std::env::var(WORK_MEM_ENV) {
            // Tests only: a small limit makes the server stream modest transactions.
            conn.simple_query(&format!(
                "SET logical_decoding_work_mem = {}",
                ferry_schema::quote::pg_literal(&mem)
            ))
            .await
            .map_err(|e| e.context(format!("{WORK_MEM_ENV}={mem}")))?;
        }
        let slot = from.slot.clone();
        let sql = format!(
            "START_REPLICATION SLOT {} LOGICAL {} ({}, publication_names {}, binary 'true')",
            ferry_schema::quote::pg_ident(&slot),
            pgoutput::format_lsn(from.lsn),
            protocol_options(conn.server_major),
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
        let decoder = Decoder::new(slot, shapes, until, from.lsn);
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
            if d.out.is_empty() && d.replaying() {
                // A committed streamed transaction: its next piece from the spill file.
                d.replay_step()?;
            }
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

#[cfg(test)]
mod tests {
    use super::protocol_options;

    #[test]
    fn streaming_is_asked_for_from_postgresql_14() {
        assert_eq!(protocol_options(13), "proto_version '1'");
        assert_eq!(protocol_options(14), "proto_version '2', streaming 'on'");
        assert_eq!(protocol_options(15), "proto_version '2', streaming 'on'");
    }
}
