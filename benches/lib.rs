//! Shared pieces of ferry's benchmarks: a deterministic SQLite database generator.

use rusqlite::{params, Connection};
use std::path::Path;

/// A small deterministic pseudo-random generator (xorshift), so every run builds the same
/// database without a dependency.
pub struct Rng(u64);

impl Rng {
    /// A generator with a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

const WORDS: &[&str] = &[
    "ferry",
    "harbour",
    "tide",
    "dock",
    "crane",
    "ship",
    "wave",
    "anchor",
    "cargo",
    "pier",
    "sail",
    "naïve",
    "Zürich",
    "Ålesund",
    "東京",
    "Москва",
    "🚢",
];

fn sentence(rng: &mut Rng, words: u64) -> String {
    (0..words)
        .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Build the benchmark database: `users` (rows/5), `posts` (rows/8), `comments` (rows),
/// `likes` (rows, composite key) with text, numbers, booleans, ISO dates and foreign keys.
/// Returns the total row count.
pub fn generate_sqlite(path: &Path, rows: u64) -> rusqlite::Result<u64> {
    let _ = std::fs::remove_file(path);
    let mut c = Connection::open(path)?;
    c.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
         CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(64) NOT NULL UNIQUE, email VARCHAR(255) NOT NULL,
             is_active BOOLEAN NOT NULL DEFAULT 1, score REAL, created_at DATETIME NOT NULL);
         CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), title VARCHAR(255) NOT NULL,
             body TEXT NOT NULL, views INTEGER NOT NULL DEFAULT 0, created_at DATETIME NOT NULL);
         CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts(id),
             user_id INTEGER NOT NULL REFERENCES users(id), body TEXT NOT NULL, created_at DATETIME NOT NULL);
         CREATE TABLE likes (user_id INTEGER NOT NULL REFERENCES users(id), post_id INTEGER NOT NULL REFERENCES posts(id),
             created_at DATETIME NOT NULL, PRIMARY KEY (user_id, post_id));
         CREATE INDEX comments_post_idx ON comments(post_id);",
    )?;
    let mut rng = Rng::new(20_261_122);
    let users = (rows / 5).max(1);
    let posts = (rows / 8).max(1);
    let date = |rng: &mut Rng| {
        format!(
            "20{:02}-{:02}-{:02} {:02}:{:02}:{:02}",
            15 + rng.below(10),
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(24),
            rng.below(60),
            rng.below(60)
        )
    };
    let tx = c.transaction()?;
    {
        let mut s = tx.prepare("INSERT INTO users VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        for i in 1..=users {
            let score = if i % 4 == 0 {
                None
            } else {
                Some(rng.below(1_000_000) as f64 / 7.0)
            };
            s.execute(params![
                i as i64,
                format!("user{i}"),
                format!("user{i}@example.com"),
                i % 3 != 0,
                score,
                date(&mut rng)
            ])?;
        }
        let mut s = tx.prepare("INSERT INTO posts VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        for i in 1..=posts {
            let words = 20 + rng.below(200);
            s.execute(params![
                i as i64,
                (1 + rng.below(users)) as i64,
                sentence(&mut rng, 6),
                sentence(&mut rng, words),
                rng.below(10_000) as i64,
                date(&mut rng)
            ])?;
        }
        let mut s = tx.prepare("INSERT INTO comments VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for i in 1..=rows {
            let words = 3 + rng.below(25);
            s.execute(params![
                i as i64,
                (1 + rng.below(posts)) as i64,
                (1 + rng.below(users)) as i64,
                sentence(&mut rng, words),
                date(&mut rng)
            ])?;
        }
        let mut s = tx.prepare("INSERT OR IGNORE INTO likes VALUES (?1, ?2, ?3)")?;
        for i in 0..rows {
            s.execute(params![
                (1 + i % users) as i64,
                (1 + rng.below(posts)) as i64,
                date(&mut rng)
            ])?;
        }
    }
    tx.commit()?;
    let likes: i64 = c.query_row("SELECT count(*) FROM likes", [], |r| r.get(0))?;
    Ok(users + posts + rows + likes as u64)
}
