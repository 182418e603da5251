//! Text key columns for a MySQL target, sized for the key ([`MySqlPlanner`]).
//!
//! MySQL cannot index a `text` column whole: a primary or unique key on one needs either a
//! `varchar(n)` column or an index prefix (which makes a unique key compare only the first
//! characters). When the source declares plain text (SQLite `TEXT`, PostgreSQL `text`,
//! `citext`), the planner measures the longest value each such column stores. When it fits
//! the longest key InnoDB allows (3,072 bytes: 768 utf8mb4 characters, shared by the parts
//! of a multi-column key), the column becomes `varchar(n)` with `n` that whole share, not
//! the longest value seen: a column sized from today's data (an `email` key from six test
//! users becoming varchar(16)) would refuse the app's next, longer value, and nothing
//! longer than the share could be keyed whole anyway. A column whose values are already
//! longer stays text with a prefix, and a warning names it.

use async_trait::async_trait;
use ferry_core::{DataType, Dialect, Result, Schema, SizedColumn, Source, Table, TargetPlanner};
use ferry_schema::target::mysql::{
    columns_needing_length, key_char_limit, DEFAULT_KEY_VARCHAR, MAX_KEY_BYTES,
};

/// A MySQL target's planning: text key columns sized from the source's data.
#[derive(Debug, Clone, Copy, Default)]
pub struct MySqlPlanner;

#[async_trait]
impl TargetPlanner for MySqlPlanner {
    async fn size_key_columns(
        &self,
        source: &dyn Source,
        schema: &Schema,
        typed: &Schema,
        set_by_user: &(dyn for<'t, 'c> Fn(&'t Table, &'c str) -> bool + Send + Sync),
    ) -> Result<Vec<SizedColumn>> {
        let mut out = Vec::new();
        // A MySQL source keeps its own declared types (and prefixes) on a MySQL target.
        if source.dialect() == Dialect::Mysql {
            return Ok(out);
        }
        for (table, typed_table) in schema.tables.iter().zip(&typed.tables) {
            let columns: Vec<String> = columns_needing_length(typed_table)
                .into_iter()
                .filter(|c| {
                    typed_table
                        .column(c)
                        .is_some_and(|c| c.data_type == DataType::Text)
                        && !set_by_user(table, c)
                })
                .collect();
            if columns.is_empty() {
                continue;
            }
            let lengths = source.max_char_lengths(table, &columns).await?;
            for (column, longest) in columns.iter().zip(lengths) {
                let limit = key_char_limit(typed_table, column).unwrap_or(DEFAULT_KEY_VARCHAR);
                let (data_type, message) = sized(longest, limit);
                out.push(SizedColumn {
                    table: table.display_name(),
                    column: column.clone(),
                    data_type,
                    message,
                });
            }
        }
        Ok(out)
    }
}

/// The type for a key column whose longest value has `longest` characters and whose key
/// holds `limit`, and the warning that says so.
fn sized(longest: Option<u64>, limit: u32) -> (Option<String>, String) {
    match size(longest, limit) {
        Some(n) => (
            Some(format!("varchar({n})")),
            format!(
                "a MySQL key needs this text column whole: varchar({n}), the most its key holds whole in utf8mb4 ({}); longer values will be refused",
                match longest {
                    Some(l) => format!("its longest stored value has {l} characters"),
                    None => "it holds no value yet".to_string(),
                }
            ),
        ),
        None => (
            None,
            format!(
                "its longest stored value ({} characters) is longer than the {limit} characters a MySQL key can hold whole ({MAX_KEY_BYTES} bytes in utf8mb4), so it stays text and its indexes cover the first {limit} characters only (a unique key then compares only those)",
                longest.unwrap_or(0)
            ),
        ),
    }
}

/// The `varchar` length for a key column whose longest value has `longest` characters, when
/// a key of `limit` characters holds it whole: the whole `limit`, so that later values up to
/// what the key can hold still fit.
fn size(longest: Option<u64>, limit: u32) -> Option<u32> {
    match longest {
        Some(l) if l > u64::from(limit) => None,
        _ => Some(limit),
    }
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn a_key_column_gets_its_whole_share_of_the_key() {
        assert_eq!(size(Some(0), 768), Some(768));
        assert_eq!(size(Some(6), 768), Some(768));
        assert_eq!(size(Some(768), 768), Some(768));
        assert_eq!(size(Some(769), 768), None);
        // Two parts share the key: 384 characters each; five parts: 153.
        assert_eq!(size(Some(380), 384), Some(384));
        assert_eq!(size(Some(150), 153), Some(153));
        assert_eq!(size(Some(154), 153), None);
        assert_eq!(size(None, 768), Some(768));
        assert_eq!(size(None, 153), Some(153));
    }
}
