//! [`MemoryBudget`]: the bytes of batches in flight, shared by every reader of a run.
//!
//! A reader acquires a [`BudgetPermit`] for a batch before it sends it (see
//! [`crate::read_loop`]); the permit travels inside the [`crate::Batch`] and gives its bytes
//! back when the batch is dropped, that is once the sink has written it. So the rows held
//! between all readers and all writers of a run stay under one ceiling, however many tables
//! and chunk lanes are busy at once.
//!
//! A batch bigger than the whole budget still goes through: it waits until the budget is
//! entirely free and then takes all of it, so a small budget slows a run down but never
//! stops it.

use crate::error::{Error, ErrorKind, Result};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// A byte budget shared by every reader of a run. Cloning it shares the same budget.
#[derive(Debug, Clone)]
pub struct MemoryBudget {
    bytes: Arc<Semaphore>,
    total: u32,
}

/// Bytes of one batch held against a [`MemoryBudget`]; they return to the budget when the
/// last clone of the permit (and so the batch carrying it) is dropped.
#[derive(Debug, Clone)]
pub struct BudgetPermit {
    /// The budget's bytes this permit holds; `None` for a reader's overdraft (see
    /// [`MemoryBudget::acquire_for`]).
    _held: Option<Arc<OwnedSemaphorePermit>>,
    /// The reader's lane token while the batch is in flight.
    _lane: Option<Arc<()>>,
    bytes: u32,
}

impl BudgetPermit {
    /// Bytes this permit holds.
    pub fn bytes(&self) -> usize {
        self.bytes as usize
    }
}

impl MemoryBudget {
    /// A budget of `bytes` (at least 1, at most 4 GiB).
    pub fn new(bytes: usize) -> MemoryBudget {
        let total = u32::try_from(bytes).unwrap_or(u32::MAX).max(1);
        MemoryBudget {
            bytes: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// The budget's size in bytes.
    pub fn total(&self) -> usize {
        self.total as usize
    }

    /// Bytes not held by any permit right now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }

    /// What a request for `bytes` takes: at least one byte, at most the whole budget (so a
    /// batch bigger than the budget waits for all of it instead of waiting forever).
    fn share(&self, bytes: usize) -> u32 {
        u32::try_from(bytes)
            .unwrap_or(u32::MAX)
            .clamp(1, self.total)
    }

    /// Wait until `bytes` are free and hold them.
    pub async fn acquire(&self, bytes: usize) -> Result<BudgetPermit> {
        let share = self.share(bytes);
        let held = Arc::clone(&self.bytes)
            .acquire_many_owned(share)
            .await
            .map_err(|_| Error::new(ErrorKind::Cancelled, "the run's memory budget was closed"))?;
        Ok(BudgetPermit {
            _held: Some(Arc::new(held)),
            _lane: None,
            bytes: share,
        })
    }

    /// [`acquire`](Self::acquire) for one reader, whose batches in flight `lane` counts (a
    /// clone rides in each permit). A reader with nothing in flight never waits: when the
    /// budget is used up it goes over by this one batch. Without that, a lane whose writer
    /// waits on the target (MariaDB's bulk insert into an empty table locks the table for
    /// the first chunk's transaction) holds its batches and the budget, and the lane that
    /// holds the table lock waits for budget: both wait until the server's lock timeout.
    /// Memory stays within the budget plus one batch per reader.
    pub async fn acquire_for(&self, bytes: usize, lane: &Arc<()>) -> Result<BudgetPermit> {
        let mut permit = if Arc::strong_count(lane) == 1 {
            match Arc::clone(&self.bytes).try_acquire_many_owned(self.share(bytes)) {
                Ok(held) => BudgetPermit {
                    _held: Some(Arc::new(held)),
                    _lane: None,
                    bytes: self.share(bytes),
                },
                Err(TryAcquireError::NoPermits) => BudgetPermit {
                    _held: None,
                    _lane: None,
                    bytes: self.share(bytes),
                },
                Err(TryAcquireError::Closed) => {
                    return Err(Error::new(
                        ErrorKind::Cancelled,
                        "the run's memory budget was closed",
                    ))
                }
            }
        } else {
            self.acquire(bytes).await?
        };
        permit._lane = Some(Arc::clone(lane));
        Ok(permit)
    }

    /// [`acquire_for`](Self::acquire_for) from a blocking thread (the SQLite reader).
    pub fn acquire_for_blocking(&self, bytes: usize, lane: &Arc<()>) -> Result<BudgetPermit> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::other("a memory budget is acquired inside the tokio runtime only")
        })?;
        handle.block_on(self.acquire_for(bytes, lane))
    }

    /// [`MemoryBudget::acquire`] for a reader on a blocking thread (inside the runtime's
    /// `spawn_blocking`); it must not be called from an async task.
    pub fn acquire_blocking(&self, bytes: usize) -> Result<BudgetPermit> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::other("a memory budget is acquired inside the tokio runtime only")
        })?;
        handle.block_on(self.acquire(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn permits_return_their_bytes_on_drop() {
        let budget = MemoryBudget::new(100);
        let a = budget.acquire(60).await.expect("ok");
        assert_eq!(budget.available(), 40);
        let a2 = a.clone();
        drop(a);
        assert_eq!(budget.available(), 40, "a clone still holds the bytes");
        drop(a2);
        assert_eq!(budget.available(), 100);
    }

    #[tokio::test]
    async fn a_request_bigger_than_the_budget_takes_all_of_it() {
        let budget = MemoryBudget::new(100);
        let small = budget.acquire(30).await.expect("ok");
        let waiter = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.acquire(1_000).await.map(|p| p.bytes()) })
        };
        tokio::task::yield_now().await;
        assert!(
            !waiter.is_finished(),
            "waits while another permit holds bytes"
        );
        drop(small);
        assert_eq!(waiter.await.expect("ok").expect("ok"), 100);
        assert_eq!(budget.available(), 100);
    }

    #[tokio::test]
    async fn a_reader_with_nothing_in_flight_never_waits() {
        let budget = MemoryBudget::new(100);
        // Another lane's stalled writer holds the whole budget.
        let stalled = budget.acquire(100).await.expect("ok");
        let lane = Arc::new(());
        let first = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            budget.acquire_for(40, &lane),
        )
        .await
        .expect("a reader with nothing in flight does not wait")
        .expect("ok");
        assert_eq!(
            budget.available(),
            0,
            "an overdraft takes nothing from the budget"
        );
        // With a batch in flight the same reader waits like any other.
        let second = {
            let (budget, lane) = (budget.clone(), Arc::clone(&lane));
            tokio::spawn(async move { budget.acquire_for(40, &lane).await.map(|p| p.bytes()) })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            !second.is_finished(),
            "waits while its own batch is in flight"
        );
        drop(first);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            !second.is_finished(),
            "its own batch written, the budget is still used up"
        );
        drop(stalled);
        assert_eq!(second.await.expect("ok").expect("ok"), 40);
        assert_eq!(budget.available(), 100);
        assert_eq!(
            Arc::strong_count(&lane),
            1,
            "permits give the lane token back"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blocking_readers_wait_for_the_budget() {
        let budget = MemoryBudget::new(10);
        let held = budget.acquire(10).await.expect("ok");
        let reader = {
            let budget = budget.clone();
            tokio::task::spawn_blocking(move || budget.acquire_blocking(5).map(|p| p.bytes()))
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!reader.is_finished());
        drop(held);
        assert_eq!(reader.await.expect("ok").expect("ok"), 5);
    }
}
