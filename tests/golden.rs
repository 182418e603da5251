//! Golden DDL: what `ferry schema` prints for each source -> target path, kept in
//! `fixtures/expected/`. The tests (`tests/tests/fidelity.rs`, `sqlite_to_postgres.rs`)
//! only compare; `scripts/update-golden` (the `update-golden` binary) is the one thing that
//! writes the files, for a reviewer to check in `git diff`.

use crate::{ferry, fixture, repo_root, MyDb, PgDb, Run, TempDir};
use std::path::PathBuf;

/// A source dialect of the fidelity fixtures (`fixtures/fidelity/<name>.sql`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Src {
    /// SQLite.
    Sqlite,
    /// MySQL/MariaDB.
    Mysql,
    /// PostgreSQL.
    Postgres,
}

/// A target dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tgt {
    /// PostgreSQL.
    Postgres,
    /// MySQL/MariaDB.
    Mysql,
}

impl Src {
    /// Every source.
    pub const ALL: [Src; 3] = [Src::Sqlite, Src::Mysql, Src::Postgres];

    /// As in file names and `--to-dialect`.
    pub fn name(self) -> &'static str {
        match self {
            Src::Sqlite => "sqlite",
            Src::Mysql => "mysql",
            Src::Postgres => "postgres",
        }
    }
}

impl Tgt {
    /// Every target.
    pub const ALL: [Tgt; 2] = [Tgt::Postgres, Tgt::Mysql];

    /// As in file names and `--to-dialect`.
    pub fn name(self) -> &'static str {
        match self {
            Tgt::Postgres => "postgres",
            Tgt::Mysql => "mysql",
        }
    }
}

/// A source database loaded from its fidelity fixture, dropped with the value.
pub enum Source {
    /// The directory holding the file (removed with it), and the URL.
    Sqlite {
        /// Removed on drop.
        _dir: TempDir,
        /// `sqlite:PATH`.
        url: String,
    },
    /// On the infile MariaDB.
    Mysql(MyDb),
    /// On the test PostgreSQL.
    Postgres(PgDb),
}

impl Source {
    /// A fresh database holding `fixtures/fidelity/<src>.sql`.
    pub fn load(src: Src) -> Source {
        let sql = fixture(&format!("fidelity/{}.sql", src.name()));
        match src {
            Src::Sqlite => {
                let tmp = TempDir::new("fidelity_sqlite");
                let path = tmp.join("source.db");
                let c = rusqlite::Connection::open(&path).expect("sqlite");
                c.execute_batch(&sql).expect("sqlite fixture");
                let url = format!("sqlite:{}", path.display());
                Source::Sqlite { _dir: tmp, url }
            }
            Src::Mysql => {
                let db = MyDb::new("fidelity_src");
                db.exec(&sql);
                Source::Mysql(db)
            }
            Src::Postgres => {
                let db = PgDb::new("fidelity_src");
                db.exec(&sql);
                Source::Postgres(db)
            }
        }
    }

    /// The URL ferry reads.
    pub fn url(&self) -> &str {
        match self {
            Source::Sqlite { url, .. } => url,
            Source::Mysql(db) => &db.url,
            Source::Postgres(db) => &db.url,
        }
    }
}

/// One golden file and how its text is made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Golden {
    /// `ferry schema` of a fidelity fixture, DDL then warnings.
    Fidelity(Src, Tgt),
    /// `ferry schema` of SQLite Chinook into PostgreSQL, DDL only.
    ChinookSqlitePostgres,
}

impl Golden {
    /// Every golden file.
    pub fn all() -> Vec<Golden> {
        let mut all: Vec<Golden> = Src::ALL
            .iter()
            .flat_map(|s| Tgt::ALL.iter().map(|t| Golden::Fidelity(*s, *t)))
            .collect();
        all.push(Golden::ChinookSqlitePostgres);
        all
    }

    /// Its file under `fixtures/expected/`.
    pub fn file(self) -> PathBuf {
        let name = match self {
            Golden::Fidelity(s, t) => format!("fidelity.{}.{}.sql", s.name(), t.name()),
            Golden::ChinookSqlitePostgres => "chinook_sqlite.postgres.sql".to_string(),
        };
        repo_root().join("fixtures/expected").join(name)
    }

    /// What `ferry schema` prints for it now, made from a freshly loaded source; panics
    /// naming the path when ferry fails.
    pub fn render(self) -> String {
        match self {
            Golden::Fidelity(s, t) => {
                let source = Source::load(s);
                let run = schema(source.url(), t);
                assert_eq!(run.code, 0, "{}: {}", self.describe(), run.all());
                format!("{}{}", run.stdout, run.stderr)
            }
            Golden::ChinookSqlitePostgres => {
                let url = format!(
                    "sqlite:{}",
                    repo_root()
                        .join("fixtures/chinook/Chinook_Sqlite.sqlite")
                        .display()
                );
                let run = schema(&url, Tgt::Postgres);
                assert_eq!(run.code, 0, "{}: {}", self.describe(), run.all());
                assert!(run.stderr.contains("no warnings"), "{}", run.stderr);
                run.stdout
            }
        }
    }

    /// `sqlite -> postgres` and the like.
    pub fn describe(self) -> String {
        match self {
            Golden::Fidelity(s, t) => format!("{} -> {}", s.name(), t.name()),
            Golden::ChinookSqlitePostgres => "Chinook sqlite -> postgres".to_string(),
        }
    }

    /// Compare what ferry prints now with the file; never writes. Panics with the new
    /// text when they differ or the file is missing.
    pub fn assert_matches(self) {
        let got = self.render();
        let file = self.file();
        let want = std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!("{}: {e} (scripts/update-golden writes it)", file.display())
        });
        assert!(
            got == want,
            "{}: `ferry schema` output differs from {}; if the change is intended, run scripts/update-golden and review the diff\n--- got\n{got}",
            self.describe(),
            file.display()
        );
    }
}

fn schema(url: &str, tgt: Tgt) -> Run {
    ferry(&["schema", "--from", url, "--to-dialect", tgt.name()])
}
