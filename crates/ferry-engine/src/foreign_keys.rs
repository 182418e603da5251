//! The foreign-key scheduler: each key added as soon as its table and the table it
//! references are complete, so most of them overlap the load of the remaining tables.
//!
//! Adding takes a short lock on both tables, so adds run one at a time (no lock cycles);
//! each is added without checking existing rows, then checked, several at once. A check
//! that fails leaves the constraint in place for new rows and comes back as a warning naming
//! the constraint.

use crate::progress::StepRecorder;
use ferry_core::{Sink, Step};
use ferry_schema::{ForeignKeyDdl, Translation};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// A foreign key waiting for its tables.
struct PendingKey {
    /// The child table's name (target).
    child: String,
    /// The referenced table's name (target).
    parent: String,
    /// Its number in the child's list.
    n: u32,
    /// The child's display name, which the key's steps are recorded under.
    child_display: String,
    ddl: ForeignKeyDdl,
}

/// The tables seen complete so far and the keys still waiting.
struct Waiting {
    pending: Vec<PendingKey>,
    complete: HashSet<String>,
    /// Complete tables some of whose rows were rejected.
    lossy: HashSet<String>,
    running: Vec<JoinHandle<Option<String>>>,
}

/// Adds and checks foreign keys as their tables complete (see the module documentation).
pub struct ForeignKeyScheduler {
    waiting: Mutex<Waiting>,
    add_lock: Arc<tokio::sync::Mutex<()>>,
    checks: Arc<Semaphore>,
    steps: StepRecorder,
}

impl ForeignKeyScheduler {
    /// The foreign keys of every table created by this run (not `kept`) that an earlier run
    /// did not add and check already; checks run up to half of `jobs` at once.
    pub(crate) fn new(
        t: &Translation,
        kept: &HashSet<String>,
        jobs: usize,
        steps: StepRecorder,
    ) -> Self {
        let pending = t
            .tables
            .iter()
            .filter(|p| !kept.contains(&p.target.display_name()))
            .flat_map(|p| {
                p.ddl
                    .foreign_keys
                    .iter()
                    .enumerate()
                    .map(|(i, fk)| PendingKey {
                        child: p.target.name.clone(),
                        parent: fk.ref_table.clone(),
                        n: i as u32,
                        child_display: p.target.display_name(),
                        ddl: fk.clone(),
                    })
            })
            .filter(|k| {
                !steps
                    .prior
                    .done(&k.child_display, Step::ForeignKeyChecked(k.n))
            })
            .collect();
        ForeignKeyScheduler {
            waiting: Mutex::new(Waiting {
                pending,
                complete: HashSet::new(),
                lossy: HashSet::new(),
                running: Vec::new(),
            }),
            add_lock: Arc::new(tokio::sync::Mutex::new(())),
            checks: Arc::new(Semaphore::new(jobs.div_ceil(2).max(1))),
            steps,
        }
    }

    /// `table` is loaded and indexed (with `rejected` of its rows left out): start every
    /// foreign key that now has both ends.
    pub fn table_complete(&self, table: &str, rejected: u64, sink: &Arc<dyn Sink>) {
        let Ok(mut w) = self.waiting.lock() else {
            return;
        };
        w.complete.insert(table.to_string());
        if rejected > 0 {
            w.lossy.insert(table.to_string());
        }
        let (ready, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut w.pending)
            .into_iter()
            .partition(|k| w.complete.contains(&k.child) && w.complete.contains(&k.parent));
        w.pending = rest;
        for mut key in ready {
            // A key the source enforced holds for rows that all arrived: checking it again
            // matters only when rows of the referenced table were rejected.
            if key.ddl.trusted && !w.lossy.contains(&key.parent) {
                key.ddl.validate = None;
            }
            let task = self.add_and_check(key, Arc::clone(sink));
            w.running.push(tokio::spawn(task));
        }
    }

    /// Add `key` (one add at a time), then check it; returns a warning when either fails.
    fn add_and_check(
        &self,
        key: PendingKey,
        sink: Arc<dyn Sink>,
    ) -> impl std::future::Future<Output = Option<String>> + Send + 'static {
        let (add_lock, checks, steps) = (
            Arc::clone(&self.add_lock),
            Arc::clone(&self.checks),
            self.steps.clone(),
        );
        async move {
            let (table, fk) = (&key.child_display, &key.ddl);
            {
                let _one_at_a_time = add_lock.lock().await;
                let add = std::slice::from_ref(&fk.add);
                if let Err(e) = steps
                    .run(sink.as_ref(), table, Step::ForeignKey(key.n), add)
                    .await
                {
                    return Some(format!(
                        "foreign key {} could not be added: {}",
                        fk.name,
                        e.full_message()
                    ));
                }
            }
            let checked = Step::ForeignKeyChecked(key.n);
            let Some(sql) = &fk.validate else {
                return steps
                    .run(sink.as_ref(), table, checked, &[])
                    .await
                    .err()
                    .map(|e| e.full_message());
            };
            let _permit = checks.acquire().await;
            let check = std::slice::from_ref(sql);
            steps.run(sink.as_ref(), table, checked, check).await.err().map(|e| {
                format!(
                    "foreign key {} is not valid for existing rows ({}); the constraint stays, enforced for new rows only",
                    fk.name,
                    e.message()
                )
            })
        }
    }

    /// Wait for every started foreign key; returns the warnings. Keys whose tables did not
    /// complete are not added (the run has failed then), and each is named in a warning.
    pub async fn finish(&self) -> Vec<String> {
        let (running, left) = match self.waiting.lock() {
            Ok(mut w) => (
                std::mem::take(&mut w.running),
                std::mem::take(&mut w.pending),
            ),
            Err(_) => (Vec::new(), Vec::new()),
        };
        let mut warnings: Vec<String> = left
            .iter()
            .map(|k| {
                format!(
                    "foreign key {} ({} -> {}) not added: a table it joins is incomplete",
                    k.ddl.name, k.child, k.parent
                )
            })
            .collect();
        warnings.extend(
            futures::future::join_all(running)
                .await
                .into_iter()
                .filter_map(|r| {
                    r.unwrap_or_else(|e| Some(format!("foreign key task failed: {e}")))
                }),
        );
        warnings
    }
}
