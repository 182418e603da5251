//! What a statement in the binlog (a QUERY event) means for replication: a transaction
//! boundary, a TRUNCATE to apply, DDL that changes a replicated table (which stops
//! replication), a new table (reported), or nothing that concerns the streamed tables.

/// The statement's meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// `BEGIN` / `START TRANSACTION`.
    Begin,
    /// `COMMIT` (ends a transaction of non-transactional tables).
    Commit,
    /// `TRUNCATE` of these streamed tables (indexes into the stream's table list).
    Truncate(Vec<usize>),
    /// DDL or a statement-logged change that touches these streamed tables: replication
    /// cannot carry it.
    Touches(Vec<usize>),
    /// `CREATE TABLE` of a table in the replicated database that the copy did not move.
    NewTable(String),
    /// Anything that concerns no streamed table.
    Other,
}

/// A name in the statement, with the database it was qualified with.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Name {
    db: Option<String>,
    name: String,
}

/// Tokens: words and identifiers (unquoted), `.`, `,`, `(`, `)`; strings and comments are
/// dropped, the body of an executable comment (`/*!40000 ... */`) is kept.
fn tokens(sql: &str) -> Vec<(String, bool)> {
    let b: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            if b.get(i + 2) == Some(&'!') {
                i += 3;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            } else {
                i += 2;
                while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
        } else if c == '*' && b.get(i + 1) == Some(&'/') {
            i += 2;
        } else if c == '#' || (c == '-' && b.get(i + 1) == Some(&'-')) {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '`' {
            let mut s = String::new();
            i += 1;
            while i < b.len() {
                if b[i] == '`' {
                    if b.get(i + 1) == Some(&'`') {
                        s.push('`');
                        i += 2;
                        continue;
                    }
                    break;
                }
                s.push(b[i]);
                i += 1;
            }
            i += 1;
            out.push((s, true));
        } else if c == '\'' || c == '"' {
            i += 1;
            while i < b.len() {
                if b[i] == '\\' {
                    i += 2;
                    continue;
                }
                if b[i] == c {
                    if b.get(i + 1) == Some(&c) {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            out.push(("'".into(), false));
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let mut s = String::new();
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '$') {
                s.push(b[i]);
                i += 1;
            }
            out.push((s, false));
        } else {
            out.push((c.to_string(), false));
            i += 1;
        }
    }
    out
}

/// Classify `sql`, run with default database `default_db`, for a stream of `tables` (names)
/// in database `db`.
pub fn classify(sql: &str, default_db: &str, db: &str, tables: &[String]) -> Statement {
    let p = Parsed {
        toks: tokens(sql),
        default_db,
        db,
        tables,
    };
    match p.word(0).as_str() {
        "BEGIN" | "XA" => Statement::Begin,
        "START" if p.word(1) == "TRANSACTION" => Statement::Begin,
        "COMMIT" => Statement::Commit,
        "TRUNCATE" => {
            let h = p.hits(p.list_at(p.skip_words(1, &["TABLE"])));
            if h.is_empty() {
                Statement::Other
            } else {
                Statement::Truncate(h)
            }
        }
        "ALTER" => {
            let i = p.skip_words(1, &["ONLINE", "OFFLINE", "IGNORE"]);
            if p.word(i) != "TABLE" {
                return Statement::Other;
            }
            p.touches(p.list_at(p.skip_words(i + 1, &["IF", "EXISTS"])))
        }
        "DROP" => p.drop(),
        "RENAME" if matches!(p.word(1).as_str(), "TABLE" | "TABLES") => p.rename(),
        "CREATE" => p.create(),
        // A change logged as a statement (binlog_format other than ROW for this session).
        "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "LOAD" => {
            let names: Vec<Name> = (0..p.toks.len())
                .filter_map(|i| p.name_at(i).map(|(n, _)| n))
                .collect();
            p.touches(names)
        }
        _ => Statement::Other,
    }
}

/// A tokenized statement and the stream it is classified for.
struct Parsed<'a> {
    toks: Vec<(String, bool)>,
    default_db: &'a str,
    db: &'a str,
    tables: &'a [String],
}

impl Parsed<'_> {
    /// Token `i` upper-cased when it is an unquoted word, else empty.
    fn word(&self, i: usize) -> String {
        self.toks
            .get(i)
            .filter(|(_, quoted)| !quoted)
            .map(|(t, _)| t.to_ascii_uppercase())
            .unwrap_or_default()
    }

    fn token(&self, i: usize) -> Option<&str> {
        self.toks.get(i).map(|t| t.0.as_str())
    }

    /// A qualified or plain name starting at token `i`, and the index after it.
    fn name_at(&self, i: usize) -> Option<(Name, usize)> {
        let (first, _) = self.toks.get(i)?;
        if self.token(i + 1) == Some(".") {
            let (second, _) = self.toks.get(i + 2)?;
            let name = Name {
                db: Some(first.clone()),
                name: second.clone(),
            };
            return Some((name, i + 3));
        }
        let name = Name {
            db: None,
            name: first.clone(),
        };
        Some((name, i + 1))
    }

    /// The streamed table `n` names, if it names one.
    fn streamed(&self, n: &Name) -> Option<usize> {
        if n.db.as_deref().unwrap_or(self.default_db) != self.db {
            return None;
        }
        self.tables
            .iter()
            .position(|t| t.eq_ignore_ascii_case(&n.name))
    }

    /// Names in a comma-separated list starting at `i` (DROP TABLE a, b; TRUNCATE t).
    fn list_at(&self, mut i: usize) -> Vec<Name> {
        let mut names = Vec::new();
        while let Some((n, next)) = self.name_at(i) {
            names.push(n);
            if self.token(next) != Some(",") {
                break;
            }
            i = next + 1;
        }
        names
    }

    fn hits(&self, names: Vec<Name>) -> Vec<usize> {
        let mut v: Vec<usize> = names.iter().filter_map(|n| self.streamed(n)).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn touches(&self, names: Vec<Name>) -> Statement {
        let h = self.hits(names);
        if h.is_empty() {
            Statement::Other
        } else {
            Statement::Touches(h)
        }
    }

    fn skip_words(&self, mut i: usize, words: &[&str]) -> usize {
        while words.contains(&self.word(i).as_str()) {
            i += 1;
        }
        i
    }

    /// `... ON table` of CREATE/DROP INDEX.
    fn on_table(&self) -> Statement {
        match (0..self.toks.len()).find(|&i| self.word(i) == "ON") {
            Some(i) => match self.name_at(i + 1) {
                Some((n, _)) => self.touches(vec![n]),
                None => Statement::Other,
            },
            None => Statement::Other,
        }
    }

    fn drop(&self) -> Statement {
        let i = self.skip_words(1, &["TEMPORARY"]);
        match self.word(i).as_str() {
            "TABLE" | "TABLES" => {
                self.touches(self.list_at(self.skip_words(i + 1, &["IF", "EXISTS"])))
            }
            "INDEX" => self.on_table(),
            "DATABASE" | "SCHEMA" => {
                let names = self.list_at(self.skip_words(i + 1, &["IF", "EXISTS"]));
                if names.iter().any(|n| n.name == self.db) && !self.tables.is_empty() {
                    Statement::Touches((0..self.tables.len()).collect())
                } else {
                    Statement::Other
                }
            }
            _ => Statement::Other,
        }
    }

    /// RENAME TABLE a TO b, c TO d: both sides count.
    fn rename(&self) -> Statement {
        let mut names = Vec::new();
        let mut i = 2;
        while let Some((n, next)) = self.name_at(i) {
            names.push(n);
            i = match self.token(next).map(str::to_ascii_uppercase) {
                Some(t) if t == "TO" || t == "," => next + 1,
                _ => break,
            };
        }
        self.touches(names)
    }

    fn create(&self) -> Statement {
        let i = self.skip_words(1, &["OR", "REPLACE", "TEMPORARY"]);
        match self.word(i).as_str() {
            "TABLE" => match self.name_at(self.skip_words(i + 1, &["IF", "NOT", "EXISTS"])) {
                Some((n, _)) if self.streamed(&n).is_some() => self.touches(vec![n]),
                Some((n, _)) if n.db.as_deref().unwrap_or(self.default_db) == self.db => {
                    Statement::NewTable(n.name)
                }
                _ => Statement::Other,
            },
            "UNIQUE" | "FULLTEXT" | "SPATIAL" | "INDEX" => self.on_table(),
            _ => Statement::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(sql: &str) -> Statement {
        classify(sql, "app", "app", &["orders".into(), "order items".into()])
    }

    #[test]
    fn ddl_on_streamed_tables_is_found() {
        assert_eq!(
            c("ALTER TABLE orders ADD COLUMN x int"),
            Statement::Touches(vec![0])
        );
        assert_eq!(
            c("alter table `app`.`order items` drop x"),
            Statement::Touches(vec![1])
        );
        assert_eq!(
            c("DROP TABLE IF EXISTS `other`, orders /* generated by server */"),
            Statement::Touches(vec![0])
        );
        assert_eq!(
            c("RENAME TABLE other TO `orders`"),
            Statement::Touches(vec![0])
        );
        assert_eq!(
            c("CREATE INDEX i ON orders (x)"),
            Statement::Touches(vec![0])
        );
        assert_eq!(
            c("/*!40000 ALTER TABLE `orders` DISABLE KEYS */"),
            Statement::Touches(vec![0])
        );
        assert_eq!(c("DROP DATABASE app"), Statement::Touches(vec![0, 1]));
    }

    #[test]
    fn other_databases_tables_and_strings_do_not_count() {
        assert_eq!(c("ALTER TABLE other.orders ADD x int"), Statement::Other);
        assert_eq!(
            c("ALTER TABLE other ADD x int COMMENT 'orders'"),
            Statement::Other
        );
        assert_eq!(
            classify(
                "ALTER TABLE orders ADD x int",
                "shop",
                "app",
                &["orders".into()]
            ),
            Statement::Other
        );
        assert_eq!(
            c("CREATE TABLE fresh (id int)"),
            Statement::NewTable("fresh".into())
        );
        assert_eq!(c("GRANT SELECT ON app.orders TO x"), Statement::Other);
    }

    #[test]
    fn boundaries_and_truncate() {
        assert_eq!(c("BEGIN"), Statement::Begin);
        assert_eq!(c("COMMIT"), Statement::Commit);
        assert_eq!(c("TRUNCATE TABLE `orders`"), Statement::Truncate(vec![0]));
        assert_eq!(c("truncate other"), Statement::Other);
        assert_eq!(
            c("INSERT INTO orders VALUES (1)"),
            Statement::Touches(vec![0])
        );
    }
}
