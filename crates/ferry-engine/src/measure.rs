//! Text key columns for a MySQL target, sized from the data.
//!
//! MySQL cannot index a `text` column whole: a primary key, unique key or index on one needs
//! either a `varchar(n)` column or an index prefix (which makes a unique key compare only the
//! first characters). When the source declares plain text (SQLite `TEXT`, PostgreSQL
//! `text`), the planner measures the longest value each such column stores and gives it
//! `varchar(n)`, `n` rounded up to a multiple of 16, when that fits the longest key InnoDB
//! allows (3,072 bytes: 768 utf8mb4 characters, shared by the parts of a multi-column key).
//! A column whose values are longer stays text with a prefix, and a warning names it.

use crate::config::Config;
use ferry_core::{DataType, Dialect, Result, Schema, Source};
use ferry_schema::target::mysql::{
    columns_needing_length, key_char_limit, DEFAULT_KEY_VARCHAR, MAX_KEY_BYTES,
};
use ferry_schema::{apply_overrides, Overrides, Warning};

/// The type overrides to translate `schema` with: the config's, plus a measured
/// `varchar(n)` for every text key column of a MySQL target that the config's `[columns]`
/// does not set. Returns them with a warning per measured column.
pub(crate) async fn key_overrides(
    source: &dyn Source,
    schema: &Schema,
    target: Dialect,
    config: &Config,
) -> Result<(Overrides, Vec<Warning>)> {
    let mut overrides = config.overrides();
    let mut warnings = Vec::new();
    // A MySQL source keeps its own declared types (and prefixes) on a MySQL target.
    if target != Dialect::Mysql || source.dialect() == Dialect::Mysql {
        return Ok((overrides, warnings));
    }
    let typed = apply_overrides(schema, &overrides);
    for (table, typed_table) in schema.tables.iter().zip(&typed.tables) {
        let display = table.display_name();
        let key = |column: &str| format!("{display}.{column}");
        let set_by_user = |column: &str| {
            overrides.columns.contains_key(&key(column))
                || overrides
                    .columns
                    .contains_key(&format!("{}.{column}", table.name))
        };
        let columns: Vec<String> = columns_needing_length(typed_table)
            .into_iter()
            .filter(|c| {
                typed_table
                    .column(c)
                    .is_some_and(|c| c.data_type == DataType::Text)
                    && !set_by_user(c)
            })
            .collect();
        if columns.is_empty() {
            continue;
        }
        let lengths = source.max_char_lengths(table, &columns).await?;
        for (column, longest) in columns.iter().zip(lengths) {
            let limit = key_char_limit(typed_table, column).unwrap_or(DEFAULT_KEY_VARCHAR);
            let (sized, message) = match size(longest, limit) {
                Some(n) => (
                    Some(n),
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
            };
            if let Some(n) = sized {
                overrides
                    .columns
                    .insert(key(column), format!("varchar({n})"));
            }
            warnings.push(Warning {
                table: Some(display.clone()),
                column: Some(column.clone()),
                message,
            });
        }
    }
    Ok((overrides, warnings))
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
