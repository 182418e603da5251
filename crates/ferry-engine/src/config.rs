//! The TOML config file: what the migration is (which tables, which type overrides).
//! How a run behaves (jobs, batch size, report path) comes from flags instead.

use ferry_core::{Error, Result, Schema};
use ferry_schema::Overrides;
use serde::Deserialize;
use std::path::Path;

/// The config file.
///
/// ```toml
/// [tables]
/// include = ["users", "posts"]   # default: every table
/// exclude = ["sessions"]
///
/// [types]
/// INTEGER = "integer"            # declared source type -> target type
///
/// [columns]
/// "users.score" = "numeric(10,2)"
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which tables to move.
    #[serde(default)]
    pub tables: TableFilter,
    /// Type overrides by declared source type.
    #[serde(default)]
    pub types: std::collections::BTreeMap<String, String>,
    /// Type overrides by `table.column`.
    #[serde(default)]
    pub columns: std::collections::BTreeMap<String, String>,
}

/// Table selection.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableFilter {
    /// Only these tables (empty: all).
    #[serde(default)]
    pub include: Vec<String>,
    /// Never these tables.
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl Config {
    /// The top-level keys this struct reads; a file may hold others that the binary reads
    /// (how a run behaves), see [`Config::from_table`].
    pub const KEYS: &'static [&'static str] = &["tables", "types", "columns"];

    /// Read and validate a config file; errors name the file and the offending key.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read config `{}`: {e}", path.display())))?;
        let config: Config = toml::from_str(&text)
            .map_err(|e| Error::config(format!("config `{}`: {}", path.display(), e.message())))?;
        config.validated(path)
    }

    /// The config from a parsed file's top-level [`Config::KEYS`] (the binary takes the
    /// keys it knows out first); `path` names the file in errors.
    pub fn from_table(table: toml::Table, path: &Path) -> Result<Config> {
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    Error::config(format!("config `{}`: {}", path.display(), e.message()))
                })?;
        config.validated(path)
    }

    fn validated(self, path: &Path) -> Result<Config> {
        let config = self;
        config
            .overrides()
            .validate()
            .map_err(|e| e.context(format!("config `{}`", path.display())))?;
        Ok(config)
    }

    /// The type overrides for the translator.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            types: self.types.clone(),
            columns: self.columns.clone(),
        }
    }

    /// Keep only the selected tables; a name in `include` that the source lacks is an error.
    pub fn select(&self, schema: &mut Schema) -> Result<()> {
        for name in self.tables.include.iter().chain(&self.tables.exclude) {
            if schema.table(name).is_none() {
                return Err(Error::config(format!(
                    "config [tables] names `{name}`, which the source does not have"
                )));
            }
        }
        let wanted = |t: &ferry_core::Table| {
            let named =
                |list: &Vec<String>| list.iter().any(|n| *n == t.name || *n == t.display_name());
            (self.tables.include.is_empty() || named(&self.tables.include))
                && !named(&self.tables.exclude)
        };
        schema.tables.retain(wanted);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_keys() {
        let c: Config = toml::from_str(
            "[tables]\ninclude=['a']\n[types]\nINTEGER='integer'\n[columns]\n'a.b'='text'\n",
        )
        .expect("valid config");
        assert_eq!(c.tables.include, vec!["a".to_string()]);
        assert!(c.overrides().validate().is_ok());
        assert!(toml::from_str::<Config>("[tabels]\n").is_err());
        let bad: Config = toml::from_str("[types]\nINTEGER='integr'\n").expect("parses");
        assert!(bad
            .overrides()
            .validate()
            .expect_err("unknown type")
            .to_string()
            .contains("integr"));
    }
}
