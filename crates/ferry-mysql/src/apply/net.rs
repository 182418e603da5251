//! The net effect of a run of changes to one keyed table, so a MySQL target applies a
//! group of source transactions with a few multi-row statements instead of one round trip
//! per row.
//!
//! Within one target transaction the changes of different rows of a table commute once
//! foreign-key checks are off (the applier's session turns them off: the source enforced
//! its keys). What each touched key needs is only: whether the row must exist before the
//! group (its first change was an update or delete) and what it holds after (the last
//! image, or nothing). Applying that as "delete every key that must exist, checking the
//! count; insert every final row" gives the same table, and keeps every unique index valid
//! at each step: after the deletes the table is a subset of both its start and its end.
//!
//! A sequence the target could not have applied row by row (an insert of a key that
//! already holds a row, an update of one deleted earlier in the group) is not planned: the
//! caller applies such a run row by row, which reports the divergence exactly.

use ferry_core::{Change, ChangeKind, Result, Value};
use std::collections::HashMap;

/// A key's values as rendered for the target (`None` for NULL).
pub(crate) type KeyBytes = Vec<Option<Vec<u8>>>;

/// What the group does to one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyEffect {
    /// The key's rendered values.
    pub key: KeyBytes,
    /// The row must exist before the group (its first change was an update or delete).
    pub must_exist: bool,
    /// The change whose after-image is the row's final state; `None` when it ends deleted.
    pub last: Option<usize>,
}

/// The net effect of a run of changes, keys in first-touched order.
#[derive(Debug, Default)]
pub(crate) struct NetEffect {
    pub keys: Vec<KeyEffect>,
    index: HashMap<KeyBytes, usize>,
}

impl NetEffect {
    /// Plan `changes` (all of one table, none a truncate); `key_of` renders a row's key.
    /// `Ok(None)` when the run must go row by row: a key with a NULL, or a sequence that
    /// only a diverged target (or a replayed stream) would produce.
    pub fn plan(
        changes: &[&Change],
        mut key_of: impl FnMut(&[Value]) -> Result<KeyBytes>,
    ) -> Result<Option<NetEffect>> {
        let mut net = NetEffect::default();
        for (i, c) in changes.iter().enumerate() {
            let before = c.before.as_deref().or(c.after.as_deref());
            let ok = match c.kind {
                ChangeKind::Insert => {
                    let Some(after) = c.after.as_deref() else {
                        return Ok(None);
                    };
                    net.set(key_of(after)?, false, Some(i))
                }
                ChangeKind::Update => {
                    let (Some(before), Some(after)) = (before, c.after.as_deref()) else {
                        return Ok(None);
                    };
                    let old = key_of(before)?;
                    let new = key_of(after)?;
                    if old == new {
                        net.set(old, true, Some(i))
                    } else {
                        net.set(old, true, None) && net.set(new, false, Some(i))
                    }
                }
                ChangeKind::Delete => {
                    let Some(before) = before else {
                        return Ok(None);
                    };
                    net.set(key_of(before)?, true, None)
                }
                ChangeKind::Truncate => false,
            };
            if !ok {
                return Ok(None);
            }
        }
        Ok(Some(net))
    }

    /// Record that a change leaves `key` holding `last` (`None`: deleted). `existing` says
    /// the change needs the row to be there (update, delete) or absent (insert). False when
    /// that contradicts what the group did to the key before, or the key has a NULL.
    fn set(&mut self, key: KeyBytes, existing: bool, last: Option<usize>) -> bool {
        if key.iter().any(Option::is_none) {
            return false;
        }
        match self.index.get(&key) {
            Some(&at) => {
                let effect = &mut self.keys[at];
                // The row is there now exactly when the group's last change left an image.
                if effect.last.is_some() != existing {
                    return false;
                }
                effect.last = last;
            }
            None => {
                self.index.insert(key.clone(), self.keys.len());
                self.keys.push(KeyEffect {
                    key,
                    must_exist: existing,
                    last,
                });
            }
        }
        true
    }

    /// Keys whose row must exist before the group: deleted first, and counted.
    pub fn deletes(&self) -> impl Iterator<Item = &KeyBytes> {
        self.keys.iter().filter(|k| k.must_exist).map(|k| &k.key)
    }

    /// The changes whose after-images are the final rows, in first-touched key order.
    pub fn inserts(&self) -> impl Iterator<Item = usize> + '_ {
        self.keys.iter().filter_map(|k| k.last)
    }
}

/// Split `n` rows into statement sizes that are powers of two no larger than `cap`, largest
/// first, so a table needs at most a handful of prepared statements whatever the count.
pub(crate) fn chunk_sizes(mut n: usize, cap: usize) -> Vec<usize> {
    let top = if cap <= 1 {
        1
    } else {
        1 << (usize::BITS - 1 - cap.leading_zeros())
    };
    let mut out = Vec::new();
    while n > 0 {
        let mut size = top;
        while size > n {
            size /= 2;
        }
        out.push(size);
        n -= size;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(k: i64, v: &str) -> Vec<Value> {
        vec![Value::Int(k), Value::Text(v.into())]
    }
    fn ins(k: i64, v: &str) -> Change {
        Change::row(0, ChangeKind::Insert, None, Some(row(k, v)))
    }
    fn upd(k0: i64, k1: i64, v: &str) -> Change {
        Change::row(0, ChangeKind::Update, Some(row(k0, "?")), Some(row(k1, v)))
    }
    fn del(k: i64) -> Change {
        Change::row(0, ChangeKind::Delete, Some(row(k, "?")), None)
    }
    fn key(r: &[Value]) -> Result<KeyBytes> {
        Ok(vec![match &r[0] {
            Value::Int(k) => Some(k.to_string().into_bytes()),
            _ => None,
        }])
    }
    fn plan(changes: &[Change]) -> Option<Vec<(i64, bool, Option<usize>)>> {
        let refs: Vec<&Change> = changes.iter().collect();
        NetEffect::plan(&refs, key).unwrap().map(|n| {
            n.keys
                .iter()
                .map(|k| {
                    let id = String::from_utf8(k.key[0].clone().unwrap()).unwrap();
                    (id.parse().unwrap(), k.must_exist, k.last)
                })
                .collect()
        })
    }

    #[test]
    fn each_key_keeps_whether_it_existed_and_its_last_image() {
        let got = plan(&[
            ins(1, "a"),
            upd(2, 2, "b"),
            upd(1, 1, "c"),
            del(3),
            ins(3, "d"),
            upd(4, 5, "e"),
            ins(6, "f"),
            del(6),
        ]);
        assert_eq!(
            got,
            Some(vec![
                (1, false, Some(2)),
                (2, true, Some(1)),
                (3, true, Some(4)),
                (4, true, None),
                (5, false, Some(5)),
                (6, false, None),
            ])
        );
    }

    #[test]
    fn sequences_only_a_diverged_target_allows_go_row_by_row() {
        assert_eq!(plan(&[ins(1, "a"), ins(1, "b")]), None, "insert over a row");
        assert_eq!(
            plan(&[del(1), upd(1, 1, "b")]),
            None,
            "update of a deleted row"
        );
        assert_eq!(plan(&[del(1), del(1)]), None, "delete twice");
        assert_eq!(
            plan(&[ins(2, "a"), upd(1, 2, "b")]),
            None,
            "key moved onto a row"
        );
        assert!(
            plan(&[del(2), upd(1, 2, "b")]).is_some(),
            "key moved onto a freed key"
        );
    }

    #[test]
    fn the_deletes_and_final_rows_are_what_the_apply_runs() {
        let changes = [
            ins(1, "a"),
            upd(2, 3, "b"),
            del(4),
            ins(4, "c"),
            ins(5, "x"),
            del(5),
        ];
        let refs: Vec<&Change> = changes.iter().collect();
        let net = NetEffect::plan(&refs, key).unwrap().unwrap();
        let deleted: Vec<&KeyBytes> = net.deletes().collect();
        assert_eq!(
            deleted,
            vec![&vec![Some(b"2".to_vec())], &vec![Some(b"4".to_vec())]]
        );
        assert_eq!(net.inserts().collect::<Vec<_>>(), vec![0, 1, 3]);
    }

    #[test]
    fn chunk_sizes_are_powers_of_two_under_the_cap() {
        assert_eq!(chunk_sizes(0, 256), Vec::<usize>::new());
        assert_eq!(chunk_sizes(1, 256), vec![1]);
        assert_eq!(chunk_sizes(700, 256), vec![256, 256, 128, 32, 16, 8, 4]);
        assert_eq!(chunk_sizes(5, 3), vec![2, 2, 1]);
        assert_eq!(chunk_sizes(3, 0), vec![1, 1, 1]);
        for n in 0..600 {
            let s = chunk_sizes(n, 100);
            assert_eq!(s.iter().sum::<usize>(), n);
            assert!(s.iter().all(|&x| x.is_power_of_two() && x <= 100));
        }
    }
}
