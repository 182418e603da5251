//! [`Overrides`]: the config file's type choices, applied to a schema before translation.

use crate::rules;
use ferry_core::{DataType, Error, Result, Schema, Table};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// User overrides of the type rules, from the config file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// Declared source type (full, like `VARCHAR(64)`, or base, like `INTEGER`;
    /// case-insensitive) to a type name (`integer`, `text`, `numeric(12,2)`, ...).
    #[serde(default)]
    pub types: BTreeMap<String, String>,
    /// `table.column` to a type name; wins over `types`.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
}

impl Overrides {
    /// Check that every override names a known type; the error names the offending key.
    pub fn validate(&self) -> Result<()> {
        for (section, map) in [("types", &self.types), ("columns", &self.columns)] {
            for (key, value) in map {
                if rules::parse_type_name(value).is_none() {
                    return Err(Error::config(format!(
                        "config [{section}] \"{key}\" = \"{value}\": unknown type name"
                    )));
                }
            }
        }
        for key in self.columns.keys() {
            if !key.contains('.') {
                return Err(Error::config(format!(
                    "config [columns] \"{key}\": expected \"table.column\""
                )));
            }
        }
        Ok(())
    }

    fn for_column(&self, table: &Table, column: &ferry_core::Column) -> Option<DataType> {
        let full = format!("{}.{}", table.display_name(), column.name);
        let short = format!("{}.{}", table.name, column.name);
        if let Some(t) = self.columns.get(&full).or_else(|| self.columns.get(&short)) {
            return rules::parse_type_name(t);
        }
        let declared = rules::DeclaredType::parse(&column.source_type);
        self.types
            .iter()
            .find(|(k, _)| {
                k.eq_ignore_ascii_case(column.source_type.trim())
                    || k.eq_ignore_ascii_case(&declared.base)
            })
            .and_then(|(_, v)| rules::parse_type_name(v))
    }
}

/// Apply the config's type overrides to every column, returning the new schema.
pub fn apply_overrides(schema: &Schema, overrides: &Overrides) -> Schema {
    let mut out = schema.clone();
    for table in &mut out.tables {
        let snapshot = table.clone();
        for column in &mut table.columns {
            if let Some(t) = overrides.for_column(&snapshot, column) {
                column.data_type = t;
            }
        }
    }
    out
}
