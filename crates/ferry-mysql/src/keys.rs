//! Text key columns for a MySQL target, sized from the data ([`MySqlPlanner`]).
//!
//! MySQL cannot index a `text` column whole: a primary key, unique key or index on one needs
//! either a `varchar(n)` column or an index prefix (which makes a unique key compare only the
//! first characters). When the source declares plain text (SQLite `TEXT`, PostgreSQL
//! `text`), the planner measures the longest value each such column stores and gives it
//! `varchar(n)`, `n` rounded up to a multiple of 16, when that fits the longest key InnoDB
//! allows (3,072 bytes: 768 utf8mb4 characters, shared by the parts of a multi-column key).
//! A column whose values are longer stays text with a prefix, and a warning names it.

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
            match longest {
                Some(l) => format!(
                    "a MySQL key needs this text column whole: varchar({n}) from its longest stored value ({l} characters); longer values will be refused"
                ),
                None => format!(
                    "a MySQL key needs this text column whole and it holds no value to measure: varchar({n}); longer values will be refused"
                ),
            },
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
/// a key of `limit` characters holds it whole: rounded up to a multiple of 16 (at most
/// `limit`, at least 16); `DEFAULT_KEY_VARCHAR` (or `limit`) for a column with no value.
fn size(longest: Option<u64>, limit: u32) -> Option<u32> {
    let Some(longest) = longest else {
        return Some(DEFAULT_KEY_VARCHAR.min(limit));
    };
    if longest > u64::from(limit) {
        return None;
    }
    let rounded = longest.max(1).div_ceil(16) * 16;
    Some((rounded as u32).min(limit))
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn sizes_round_up_to_sixteen_within_the_key_limit() {
        assert_eq!(size(Some(0), 768), Some(16));
        assert_eq!(size(Some(1), 768), Some(16));
        assert_eq!(size(Some(16), 768), Some(16));
        assert_eq!(size(Some(37), 768), Some(48));
        assert_eq!(size(Some(300), 768), Some(304));
        assert_eq!(size(Some(760), 768), Some(768));
        assert_eq!(size(Some(768), 768), Some(768));
        assert_eq!(size(Some(769), 768), None);
        // Two parts share the key: 384 characters each; five parts: 153.
        assert_eq!(size(Some(380), 384), Some(384));
        assert_eq!(size(Some(150), 153), Some(153));
        assert_eq!(size(Some(154), 153), None);
        assert_eq!(size(None, 768), Some(255));
        assert_eq!(size(None, 153), Some(153));
    }
}
