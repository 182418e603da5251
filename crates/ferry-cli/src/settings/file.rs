//! The `--config` file: one TOML file for what the migration is (`[tables]`, `[types]`,
//! `[columns]`, read by the engine) and how runs of it behave (`from`, `to`, `jobs` ...,
//! read here). A flag on the command line wins over the file.
//!
//! ```toml
//! from = "sqlite:app.db"
//! to = "secret://ferry/shop"
//! jobs = 8
//! chunk-rows = 500000          # `chunk_rows` works too
//! mysql-load = "insert"
//! verify = "content"
//! json = "reports/migrate.json"
//!
//! [tables]
//! exclude = ["sessions"]
//! ```

use ferry_engine::Config;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// How a run behaves, from the config file. Every key is a flag's name (`-` or `_`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RunFile {
    /// `--from`.
    pub from: Option<String>,
    /// `--to`.
    pub to: Option<String>,
    /// `--schema`.
    pub schema: Option<String>,
    /// `--jobs`.
    pub jobs: Option<usize>,
    /// `--batch-rows`.
    pub batch_rows: Option<usize>,
    /// `--batch-bytes`.
    pub batch_bytes: Option<usize>,
    /// `--chunk-rows`.
    pub chunk_rows: Option<u64>,
    /// `--mysql-load`: auto, infile or insert.
    pub mysql_load: Option<String>,
    /// `ferry migrate --verify`: counts, content or none; `ferry verify` compares content
    /// when it is `content`.
    pub verify: Option<String>,
    /// `ferry verify --content`.
    pub content: Option<bool>,
    /// `--show-values`.
    pub show_values: Option<bool>,
    /// `--if-exists`: fail, drop or truncate.
    pub if_exists: Option<String>,
    /// `--on-error`: stop or reject.
    pub on_error: Option<String>,
    /// `--allow-rejects`.
    pub allow_rejects: Option<bool>,
    /// `--reject-dir`.
    pub reject_dir: Option<PathBuf>,
    /// `--resume`.
    pub resume: Option<bool>,
    /// `--replicate`.
    pub replicate: Option<bool>,
    /// `--set-replica-identity`.
    pub set_replica_identity: Option<bool>,
    /// `--iam-auth`.
    pub iam_auth: Option<bool>,
    /// `--json`: the report's path.
    pub json: Option<PathBuf>,
    /// `--junit`.
    pub junit: Option<PathBuf>,
    /// `--summary-md`.
    pub summary_md: Option<PathBuf>,
}

/// The run keys a file may hold, in the spelling of the flags.
pub const RUN_KEYS: &[&str] = &[
    "from",
    "to",
    "schema",
    "jobs",
    "batch-rows",
    "batch-bytes",
    "chunk-rows",
    "mysql-load",
    "verify",
    "content",
    "show-values",
    "if-exists",
    "on-error",
    "allow-rejects",
    "reject-dir",
    "resume",
    "replicate",
    "set-replica-identity",
    "iam-auth",
    "json",
    "junit",
    "summary-md",
];

/// A config file read once: its run settings and the engine's part.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// How runs behave.
    pub run: RunFile,
    /// What the migration is.
    pub migration: Config,
    /// Whether group or others may read it (a password in `from`/`to` is then exposed).
    pub others_can_read: bool,
}

/// Read `path`: an unknown top-level key is an error naming it (and the nearest known one).
pub fn read(path: &Path) -> anyhow::Result<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read config `{}`: {e}", path.display()))?;
    let others_can_read = others_can_read(path);
    parse(&text, path).map(|(run, migration)| ConfigFile {
        path: path.to_path_buf(),
        run,
        migration,
        others_can_read,
    })
}

/// Split a file's text into run settings and the engine's config.
pub fn parse(text: &str, path: &Path) -> anyhow::Result<(RunFile, Config)> {
    let shown = path.display();
    let table: toml::Table =
        toml::from_str(text).map_err(|e| anyhow::anyhow!("config `{shown}`: {}", e.message()))?;
    let mut engine = toml::Table::new();
    let mut run = toml::Table::new();
    for (key, value) in table {
        let spelled = key.replace('_', "-");
        if Config::KEYS.contains(&key.as_str()) {
            engine.insert(key, value);
        } else if RUN_KEYS.contains(&spelled.as_str()) {
            if run.contains_key(&spelled) {
                anyhow::bail!("config `{shown}`: `{key}` is given twice (as `-` and `_`)");
            }
            run.insert(spelled, value);
        } else {
            let known: Vec<&str> = Config::KEYS.iter().chain(RUN_KEYS).copied().collect();
            let nearest = known
                .iter()
                .min_by_key(|k| ferry_core::url_check::edit_distance(&spelled, k))
                .copied()
                .unwrap_or_default();
            anyhow::bail!(
                "config `{shown}`: unknown key `{}`; did you mean `{nearest}`? (known keys: {})",
                key.escape_debug(),
                known.join(", ")
            );
        }
    }
    // One key at a time first, so a wrong value's error names its key.
    for (key, value) in &run {
        let mut one = toml::Table::new();
        one.insert(key.clone(), value.clone());
        toml::Value::Table(one)
            .try_into::<RunFile>()
            .map_err(|e| anyhow::anyhow!("config `{shown}`: `{key}`: {}", e.message()))?;
    }
    let run: RunFile = toml::Value::Table(run)
        .try_into()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("config `{shown}`: {}", e.message()))?;
    let migration = Config::from_table(engine, path)?;
    Ok((run, migration))
}

#[cfg(unix)]
fn others_can_read(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

#[cfg(not(unix))]
fn others_can_read(_path: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_keys_and_migration_keys_share_one_file() {
        let (run, config) = parse(
            "from = 'sqlite:app.db'\nto = 'postgres://h/d'\njobs = 3\nchunk_rows = 10\n\
             mysql-load = 'insert'\n[tables]\nexclude = ['sessions']\n",
            Path::new("ferry.toml"),
        )
        .expect("parses");
        assert_eq!(run.from.as_deref(), Some("sqlite:app.db"));
        assert_eq!(run.to.as_deref(), Some("postgres://h/d"));
        assert_eq!(run.jobs, Some(3));
        assert_eq!(run.chunk_rows, Some(10));
        assert_eq!(run.mysql_load.as_deref(), Some("insert"));
        assert_eq!(config.tables.exclude, vec!["sessions".to_string()]);
    }

    #[test]
    fn an_unknown_key_is_named() {
        let err = parse("jbos = 4\n", Path::new("ferry.toml")).expect_err("unknown");
        let text = err.to_string();
        assert!(
            text.starts_with("config `ferry.toml`: unknown key `jbos`; did you mean `jobs`?"),
            "{text}"
        );
        // A known key with the wrong type names the key too.
        let err = parse("jobs = 'many'\n", Path::new("ferry.toml")).expect_err("type");
        assert!(err.to_string().contains("jobs"), "{err}");
        // Inside an engine table the engine names it.
        let err = parse("[tables]\ninclud = ['a']\n", Path::new("ferry.toml")).expect_err("bad");
        assert!(err.to_string().contains("includ"), "{err}");
        let err = parse("jobs = 1\njobs-x = 2\n", Path::new("f.toml")).expect_err("bad");
        assert!(err.to_string().contains("`jobs-x`"), "{err}");
    }
}
