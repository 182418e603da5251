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
    let toks = tokens(sql);
    let word = |i: usize| -> String {
        toks.get(i)
            .filter(|(_, quoted)| !quoted)
            .map(|(t, _)| t.to_ascii_uppercase())
            .unwrap_or_default()
    };
    // A qualified or plain name starting at token `i`; returns it and the next index.
    let name_at = |i: usize| -> Option<(Name, usize)> {
        let (first, _) = toks.get(i)?;
        if toks.get(i + 1).map(|t| t.0.as_str()) == Some(".") {
            let (second, _) = toks.get(i + 2)?;
            return Some((
                Name {
                    db: Some(first.clone()),
                    name: second.clone(),
                },
                i + 3,
            ));
        }
        Some((
            Name {
                db: None,
                name: first.clone(),
            },
            i + 1,
        ))
    };
    let streamed = |n: &Name| -> Option<usize> {
        let in_db = n.db.as_deref().unwrap_or(default_db);
        if in_db != db {
            return None;
        }
        tables.iter().position(|t| t.eq_ignore_ascii_case(&n.name))
    };
    // Names in a comma-separated list starting at `i` (DROP TABLE a, b; TRUNCATE t).
    let list_at = |mut i: usize| -> Vec<Name> {
        let mut names = Vec::new();
        while let Some((n, next)) = name_at(i) {
            names.push(n);
            if toks.get(next).map(|t| t.0.as_str()) != Some(",") {
                break;
            }
            i = next + 1;
        }
        names
    };
    let hits = |names: Vec<Name>| -> Vec<usize> {
        let mut v: Vec<usize> = names.iter().filter_map(streamed).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let touches = |names: Vec<Name>| {
        let h = hits(names);
        if h.is_empty() {
            Statement::Other
        } else {
            Statement::Touches(h)
        }
    };
    let skip_words = |mut i: usize, words: &[&str]| {
        while words.contains(&word(i).as_str()) {
            i += 1;
        }
        i
    };
    match word(0).as_str() {
        "BEGIN" | "XA" => Statement::Begin,
        "START" if word(1) == "TRANSACTION" => Statement::Begin,
        "COMMIT" => Statement::Commit,
        "TRUNCATE" => {
            let i = skip_words(1, &["TABLE"]);
            let h = hits(list_at(i));
            if h.is_empty() {
                Statement::Other
            } else {
                Statement::Truncate(h)
            }
        }
        "ALTER" => {
            let i = skip_words(1, &["ONLINE", "OFFLINE", "IGNORE"]);
            if word(i) != "TABLE" {
                return Statement::Other;
            }
            touches(list_at(skip_words(i + 1, &["IF", "EXISTS"])))
        }
        "DROP" => {
            let i = skip_words(1, &["TEMPORARY"]);
            match word(i).as_str() {
                "TABLE" | "TABLES" => touches(list_at(skip_words(i + 1, &["IF", "EXISTS"]))),
                "INDEX" => on_table(&toks, &word, &name_at, &touches),
                "DATABASE" | "SCHEMA" => {
                    let names = list_at(skip_words(i + 1, &["IF", "EXISTS"]));
                    if names.iter().any(|n| n.name == db) && !tables.is_empty() {
                        Statement::Touches((0..tables.len()).collect())
                    } else {
                        Statement::Other
                    }
                }
                _ => Statement::Other,
            }
        }
        "RENAME" if matches!(word(1).as_str(), "TABLE" | "TABLES") => {
            // RENAME TABLE a TO b, c TO d: both sides count.
            let mut names = Vec::new();
            let mut i = 2;
            while let Some((n, next)) = name_at(i) {
                names.push(n);
                i = match toks.get(next).map(|t| t.0.to_ascii_uppercase()) {
                    Some(t) if t == "TO" || t == "," => next + 1,
                    _ => break,
                };
            }
            touches(names)
        }
        "CREATE" => {
            let i = skip_words(1, &["OR", "REPLACE", "TEMPORARY"]);
            match word(i).as_str() {
                "TABLE" => match name_at(skip_words(i + 1, &["IF", "NOT", "EXISTS"])) {
                    Some((n, _)) if streamed(&n).is_some() => touches(vec![n]),
                    Some((n, _)) if n.db.as_deref().unwrap_or(default_db) == db => {
                        Statement::NewTable(n.name)
                    }
                    _ => Statement::Other,
                },
                "UNIQUE" | "FULLTEXT" | "SPATIAL" | "INDEX" => {
                    on_table(&toks, &word, &name_at, &touches)
                }
                _ => Statement::Other,
            }
        }
        // A change logged as a statement (binlog_format other than ROW for this session).
        "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "LOAD" => {
            let names: Vec<Name> = (0..toks.len())
                .filter_map(|i| name_at(i).map(|(n, _)| n))
                .collect();
            touches(names)
        }
        _ => Statement::Other,
    }
}

/// `... ON table` of CREATE/DROP INDEX.
fn on_table(
    toks: &[(String, bool)],
    word: &dyn Fn(usize) -> String,
    name_at: &dyn Fn(usize) -> Option<(Name, usize)>,
    touches: &dyn Fn(Vec<Name>) -> Statement,
) -> Statement {
    match (0..toks.len()).find(|&i| word(i) == "ON") {
        Some(i) => match name_at(i + 1) {
            Some((n, _)) => touches(vec![n]),
            None => Statement::Other,
        },
        None => Statement::Other,
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
