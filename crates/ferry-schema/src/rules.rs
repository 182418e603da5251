//! Type rules as data: an ordered table per source dialect, first match wins, each with a
//! guard and a target. Rules are easy to review one by one, to test one by one, and to
//! override from the config file.

use ferry_core::DataType;

/// A declared type split into its parts: `varchar(64)` is base `VARCHAR`, args `[64]`;
/// `int(10) unsigned zerofill` is base `INT`, args `[10]`, modifiers `UNSIGNED ZEROFILL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredType {
    /// Upper-case base name with single spaces (`DOUBLE PRECISION`, `UNSIGNED BIG INT`).
    pub base: String,
    /// Numeric arguments inside the parentheses.
    pub args: Vec<u32>,
    /// Upper-case words after the parentheses.
    pub modifiers: String,
}

impl DeclaredType {
    /// Parse a declared type as a source writes it.
    pub fn parse(text: &str) -> DeclaredType {
        let upper = text.trim().to_ascii_uppercase();
        let (head, args, tail) = match upper.find('(') {
            Some(open) => {
                let close = upper[open..].find(')').map_or(upper.len(), |c| open + c);
                let args = upper[open + 1..close]
                    .split(',')
                    .filter_map(|a| a.trim().parse::<u32>().ok())
                    .collect();
                (&upper[..open], args, upper.get(close + 1..).unwrap_or(""))
            }
            None => (upper.as_str(), Vec::new(), ""),
        };
        let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut base = squash(head);
        let mut modifiers = squash(tail);
        // `INT UNSIGNED` written without parentheses: keep modifiers apart from the base.
        // Repeat until stable: `INT UNSIGNED ZEROFILL` carries two (MySQL 8 drops the width).
        let mut changed = true;
        while changed {
            changed = false;
            for m in ["UNSIGNED", "ZEROFILL", "SIGNED"] {
                if let Some(stripped) = base.strip_suffix(&format!(" {m}")) {
                    modifiers = format!("{m} {modifiers}").trim().to_string();
                    base = stripped.to_string();
                    changed = true;
                }
            }
        }
        DeclaredType {
            base,
            args,
            modifiers,
        }
    }

    /// Whether a modifier word (e.g. `UNSIGNED`) was given.
    pub fn has_modifier(&self, word: &str) -> bool {
        self.modifiers.split(' ').any(|m| m == word)
    }
}

/// Counts of the storage classes actually found in a column (SQLite keeps any value in any
/// column), used to choose a type for columns declared without one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoredClasses {
    /// INTEGER values.
    pub integer: u64,
    /// REAL values.
    pub real: u64,
    /// TEXT values.
    pub text: u64,
    /// BLOB values.
    pub blob: u64,
}

impl StoredClasses {
    /// The narrowest type that holds every stored value.
    pub fn infer(&self) -> DataType {
        match (
            self.integer > 0,
            self.real > 0,
            self.text > 0,
            self.blob > 0,
        ) {
            (_, _, _, true) => DataType::Bytes,
            (_, _, true, false) => DataType::Text,
            (_, true, false, false) => DataType::Float64,
            (true, false, false, false) => DataType::Int64,
            (false, false, false, false) => DataType::Text,
        }
    }
}

/// What is known about a column when its type is chosen.
#[derive(Debug, Clone)]
pub struct ColumnFacts {
    /// The declared type, parsed.
    pub declared: DeclaredType,
    /// SQLite: the column is the rowid alias (`INTEGER PRIMARY KEY`).
    pub rowid_alias: bool,
    /// The column generates its own values (AUTO_INCREMENT, identity, AUTOINCREMENT).
    pub auto_increment: bool,
    /// Storage classes found in the data, when they were looked at.
    pub stored: Option<StoredClasses>,
    /// MySQL `tinyint(1)`-style columns: whether every stored value is 0, 1 or NULL, when
    /// that was checked.
    pub only_zero_one: Option<bool>,
}

impl ColumnFacts {
    /// Facts for a declared type and nothing else.
    pub fn declared(text: &str) -> Self {
        ColumnFacts {
            declared: DeclaredType::parse(text),
            rowid_alias: false,
            auto_increment: false,
            stored: None,
            only_zero_one: None,
        }
    }
}

/// Which declared base names a rule applies to.
#[derive(Debug, Clone, Copy)]
pub enum Names {
    /// The base name is one of these.
    Exact(&'static [&'static str]),
    /// The base name contains one of these (SQLite's affinity rules).
    Contains(&'static [&'static str]),
    /// Any declared type.
    Any,
}

/// An extra condition a rule needs besides the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// No condition.
    Always,
    /// The column is SQLite's rowid alias.
    RowidAlias,
    /// At least this many arguments were given (`varchar(64)` has 1).
    Args(usize),
    /// No arguments were given.
    NoArgs,
    /// The first argument equals this (`tinyint(1)`, `bit(1)`).
    FirstArg(u32),
    /// The type is declared `UNSIGNED`.
    Unsigned,
    /// The stored data holds only 0, 1 and NULL.
    OnlyZeroOne,
}

/// What a matching rule maps the column to.
#[derive(Debug, Clone)]
pub enum Target {
    /// This exact type.
    Type(DataType),
    /// `VarChar(first argument)`.
    VarCharFromArg,
    /// `Char(first argument)`.
    CharFromArg,
    /// `Decimal(args)`.
    DecimalFromArgs,
    /// `Bit(first argument)`.
    BitFromArg,
    /// Look at the stored values ([`StoredClasses::infer`]).
    InferFromValues,
}

/// One row of a rule table.
#[derive(Debug, Clone)]
pub struct TypeRule {
    /// Declared names it applies to.
    pub names: Names,
    /// Extra condition.
    pub guard: Guard,
    /// The result.
    pub target: Target,
    /// A warning to report when this rule is used (the mapping may lose something).
    pub warning: Option<&'static str>,
}

/// The outcome of mapping one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// The column maps to this type; the optional text says what may be lost.
    Type(DataType, Option<&'static str>),
    /// The rule needs the stored values' classes; call again with `facts.stored` set.
    NeedsValues,
}

impl TypeRule {
    fn matches(&self, facts: &ColumnFacts) -> bool {
        let base = facts.declared.base.as_str();
        let name_ok = match self.names {
            Names::Exact(names) => names.contains(&base),
            Names::Contains(parts) => parts.iter().any(|p| base.contains(p)),
            Names::Any => true,
        };
        name_ok
            && match self.guard {
                Guard::Always => true,
                Guard::RowidAlias => facts.rowid_alias,
                Guard::Args(n) => facts.declared.args.len() >= n,
                Guard::NoArgs => facts.declared.args.is_empty(),
                Guard::FirstArg(v) => facts.declared.args.first() == Some(&v),
                Guard::Unsigned => facts.declared.has_modifier("UNSIGNED"),
                Guard::OnlyZeroOne => facts.only_zero_one == Some(true),
            }
    }
}

/// Apply an ordered rule table: the first rule that matches decides.
pub fn map_type(rules: &[TypeRule], facts: &ColumnFacts) -> Mapped {
    let Some(rule) = rules.iter().find(|r| r.matches(facts)) else {
        return Mapped::Type(
            DataType::Text,
            Some("no type rule matched; the column becomes text"),
        );
    };
    let args = &facts.declared.args;
    let ty = match &rule.target {
        Target::Type(t) => t.clone(),
        Target::VarCharFromArg => DataType::VarChar(args[0].max(1)),
        Target::CharFromArg => DataType::Char(args[0].max(1)),
        Target::BitFromArg => DataType::Bit(args.first().copied().unwrap_or(1).max(1)),
        Target::DecimalFromArgs => DataType::Decimal {
            precision: args.first().copied(),
            scale: args.get(1).copied().or(args.first().map(|_| 0)),
        },
        Target::InferFromValues => match facts.stored {
            Some(stored) => stored.infer(),
            None => return Mapped::NeedsValues,
        },
    };
    Mapped::Type(ty, rule.warning)
}

/// Parse a type name as users write it in the config file (`integer`, `varchar(255)`,
/// `numeric(12,2)`, `timestamptz`, ...).
pub fn parse_type_name(text: &str) -> Option<DataType> {
    let d = DeclaredType::parse(text);
    let arg = |i: usize| d.args.get(i).copied();
    Some(match d.base.as_str() {
        "BOOLEAN" | "BOOL" => DataType::Bool,
        "SMALLINT" | "INT2" => DataType::Int16,
        "INTEGER" | "INT" | "INT4" => DataType::Int32,
        "BIGINT" | "INT8" => DataType::Int64,
        "REAL" | "FLOAT4" => DataType::Float32,
        "DOUBLE PRECISION" | "DOUBLE" | "FLOAT8" | "FLOAT" => DataType::Float64,
        "NUMERIC" | "DECIMAL" => DataType::Decimal {
            precision: arg(0),
            scale: arg(1).or(arg(0).map(|_| 0)),
        },
        "TEXT" => DataType::Text,
        "VARCHAR" | "CHARACTER VARYING" => match arg(0) {
            Some(n) => DataType::VarChar(n),
            None => DataType::Text,
        },
        "CHAR" | "CHARACTER" => DataType::Char(arg(0).unwrap_or(1)),
        "BYTEA" | "BLOB" | "BYTES" | "LONGBLOB" => DataType::Bytes,
        "DATE" => DataType::Date,
        "TIME" => DataType::Time,
        "TIMESTAMP" | "DATETIME" => DataType::Timestamp,
        "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => DataType::TimestampTz,
        "INTERVAL" => DataType::Interval,
        "UUID" => DataType::Uuid,
        "JSON" | "JSONB" => DataType::Json,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_split_into_parts() {
        let d = DeclaredType::parse("int(10) unsigned zerofill");
        assert_eq!((d.base.as_str(), d.args.as_slice()), ("INT", &[10][..]));
        assert!(d.has_modifier("UNSIGNED") && d.has_modifier("ZEROFILL"));
        let d = DeclaredType::parse("  double   precision ");
        assert_eq!(d.base, "DOUBLE PRECISION");
        let d = DeclaredType::parse("NUMERIC(10, 2)");
        assert_eq!(d.args, vec![10, 2]);
        let d = DeclaredType::parse("bigint unsigned");
        assert_eq!(d.base, "BIGINT");
        assert!(d.has_modifier("UNSIGNED"));
    }

    #[test]
    fn config_type_names_parse() {
        assert_eq!(parse_type_name("integer"), Some(DataType::Int32));
        assert_eq!(
            parse_type_name("varchar(255)"),
            Some(DataType::VarChar(255))
        );
        assert_eq!(
            parse_type_name("numeric(12,2)"),
            Some(DataType::Decimal {
                precision: Some(12),
                scale: Some(2)
            })
        );
        assert_eq!(parse_type_name("timestamptz"), Some(DataType::TimestampTz));
        assert_eq!(parse_type_name("double precision"), Some(DataType::Float64));
        assert_eq!(parse_type_name("geometry"), None);
    }

    #[test]
    fn inference_picks_the_narrowest_type() {
        let s = |integer, real, text, blob| StoredClasses {
            integer,
            real,
            text,
            blob,
        };
        assert_eq!(s(3, 0, 0, 0).infer(), DataType::Int64);
        assert_eq!(s(3, 1, 0, 0).infer(), DataType::Float64);
        assert_eq!(s(3, 1, 1, 0).infer(), DataType::Text);
        assert_eq!(s(0, 0, 1, 1).infer(), DataType::Bytes);
        assert_eq!(s(0, 0, 0, 0).infer(), DataType::Text);
    }
}
