//! Identifiers: names kept as written, quoted when needed, cut to the target's length limit
//! without two names colliding.

use std::collections::HashSet;

/// Hands out names within one namespace (tables of a schema, columns of a table, ...),
/// keeping each as written unless it is too long or already taken.
#[derive(Debug, Clone)]
pub struct Namer {
    max_bytes: usize,
    case_insensitive: bool,
    mysql: bool,
    /// MySQL table names: also bound by the length of the file name MySQL makes of them.
    file_names: bool,
    used: HashSet<String>,
}

/// Longest file name (in bytes, before the extension) a MySQL table name may become.
pub const MYSQL_FILE_NAME_MAX: usize = 240;

/// The length of the file name MySQL/MariaDB stores a table under: ASCII letters, digits
/// and `_` stay as they are, any other character becomes `@` and four hex digits at most.
pub fn mysql_file_name_len(name: &str) -> usize {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                1
            } else {
                5
            }
        })
        .sum()
}

impl Namer {
    /// A namer for names of at most `max_bytes` bytes. `case_insensitive` namespaces (MySQL
    /// column names) treat `Id` and `ID` as the same name.
    pub fn new(max_bytes: usize, case_insensitive: bool) -> Self {
        Namer {
            max_bytes,
            case_insensitive,
            mysql: false,
            file_names: false,
            used: HashSet::new(),
        }
    }

    /// The same namer for MySQL names, which cannot hold characters beyond the Basic
    /// Multilingual Plane nor end with a space ([`mysql_safe`]).
    pub fn mysql(mut self) -> Self {
        self.mysql = true;
        self
    }

    /// The same namer for MySQL table names: [`Namer::mysql`], and short enough as a file
    /// name ([`mysql_file_name_len`]; MariaDB refuses a longer one with "File name too long").
    pub fn mysql_tables(mut self) -> Self {
        self.mysql = true;
        self.file_names = true;
        self
    }

    fn fits(&self, name: &str) -> bool {
        name.len() <= self.max_bytes
            && (!self.file_names || mysql_file_name_len(name) <= MYSQL_FILE_NAME_MAX)
    }

    fn key(&self, name: &str) -> String {
        if self.case_insensitive {
            name.to_lowercase()
        } else {
            name.to_string()
        }
    }

    /// Reserve `name` as is (e.g. an existing name that must not be reused); returns whether
    /// it was free.
    pub fn reserve(&mut self, name: &str) -> bool {
        let key = self.key(name);
        self.used.insert(key)
    }

    /// A name for `wanted`: `wanted` itself when it fits and is free, else a cut version with
    /// a short hash of the full name, so distinct long names stay distinct and the same input
    /// always gives the same output.
    pub fn name(&mut self, wanted: &str) -> String {
        let safe;
        let wanted = if wanted.is_empty() {
            "_"
        } else if self.mysql {
            safe = mysql_safe(wanted);
            safe.as_str()
        } else {
            wanted
        };
        if self.fits(wanted) && self.reserve(wanted) {
            return wanted.to_string();
        }
        let hash = fnv1a(wanted.as_bytes());
        for attempt in 0u64.. {
            let suffix = format!("_{:04x}", (hash.wrapping_add(attempt)) & 0xffff);
            let mut cut = truncate_bytes(wanted, self.max_bytes - suffix.len());
            while !self.fits(&format!("{cut}{suffix}")) {
                let mut chars = cut.chars();
                chars.next_back();
                cut = chars.as_str();
            }
            let candidate = format!("{cut}{suffix}");
            if self.reserve(&candidate) {
                return candidate;
            }
        }
        unreachable!("u64 attempts exhausted")
    }
}

/// `name` as MySQL can hold it: a character beyond the Basic Multilingual Plane (an emoji,
/// say) and trailing white space (space, tab, CR, LF, VT, FF) each become `_`, since MySQL
/// refuses them in names, and a leading `#mysql50#` (MariaDB's prefix for names in the
/// pre-5.1 file encoding, which would name another table) loses its `#`.
pub fn mysql_safe(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if u32::from(c) > 0xFFFF { '_' } else { c })
        .collect();
    let space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c');
    let kept = out.trim_end_matches(space).len();
    let trailing = out[kept..].chars().count();
    out.truncate(kept);
    out.extend(std::iter::repeat_n('_', trailing));
    if out
        .get(..9)
        .is_some_and(|p| p.eq_ignore_ascii_case("#mysql50#"))
    {
        out.replace_range(..1, "_");
    }
    out
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// FNV-1a, a tiny stable hash for name suffixes (not for security).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A name for an index or constraint built from its table and columns, as PostgreSQL
/// would name it (`users_email_key`, `posts_user_id_idx`).
pub fn derived_name(table: &str, columns: &[String], suffix: &str) -> String {
    let mut name = table.to_string();
    for c in columns {
        name.push('_');
        name.push_str(c);
    }
    name.push('_');
    name.push_str(suffix);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_short_names_and_disambiguates_long_ones() {
        let mut n = Namer::new(63, false);
        assert_eq!(n.name("Invoice"), "Invoice");
        let long_a = format!("{}_alpha", "x".repeat(70));
        let long_b = format!("{}_beta", "x".repeat(70));
        let a = n.name(&long_a);
        let b = n.name(&long_b);
        assert!(a.len() <= 63 && b.len() <= 63);
        assert_ne!(a, b);
        assert_eq!(Namer::new(63, false).name(&long_a), a, "deterministic");
    }

    #[test]
    fn same_name_twice_gets_a_suffix() {
        let mut n = Namer::new(64, true);
        assert_eq!(n.name("Id"), "Id");
        let second = n.name("ID");
        assert_ne!(second.to_lowercase(), "id");
        assert!(second.starts_with("ID_"));
    }

    #[test]
    fn mysql_names_lose_what_mysql_refuses() {
        assert_eq!(mysql_safe("a😀b "), "a_b_");
        assert_eq!(mysql_safe("  "), "__");
        assert_eq!(mysql_safe("a\t\r\n\x0b\x0c"), "a_____");
        assert_eq!(mysql_safe("#MySQL50#canary"), "_MySQL50#canary");
        assert_eq!(mysql_safe("x\u{a0}\u{3000}"), "x\u{a0}\u{3000}");
        assert_eq!(mysql_safe("a`b\\"), "a`b\\");
        let mut n = Namer::new(64, true).mysql();
        assert_eq!(n.name("x😀"), "x_");
        assert_eq!(n.name(""), "_");
        assert!(n.name(&"😀".repeat(40)).len() <= 64);
    }

    #[test]
    fn mysql_table_names_fit_a_file_name() {
        let wanted = "'".repeat(60);
        let mut n = Namer::new(64, true).mysql_tables();
        let name = n.name(&wanted);
        assert!(mysql_file_name_len(&name) <= MYSQL_FILE_NAME_MAX, "{name}");
        assert!(name.starts_with("") && name.len() < 60, "{name}");
        assert_eq!(
            Namer::new(64, true).mysql_tables().name("plain_name"),
            "plain_name"
        );
        // Columns are no files: only the byte limit applies.
        assert_eq!(Namer::new(64, true).mysql().name(&wanted), wanted);
    }

    #[test]
    fn truncation_respects_utf8() {
        let s = "é".repeat(40);
        let cut = truncate_bytes(&s, 63);
        assert_eq!(cut.len(), 62);
        let mut n = Namer::new(63, false);
        let name = n.name(&s);
        assert!(name.len() <= 63);
    }
}
