//! The named objects a migration creates in its target, so that ferry can check, before
//! creating anything, that none of them is there already, record what it made, and drop
//! only that (never with `CASCADE`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of named object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObjectKind {
    /// A schema (PostgreSQL). ferry creates one only when it is missing and never drops one.
    Schema,
    /// A table.
    Table,
    /// An enum type (PostgreSQL).
    Type,
    /// A domain (PostgreSQL).
    Domain,
    /// A sequence.
    Sequence,
    /// A view, found in the target where ferry wanted to create something else.
    View,
    /// An index, found in the target where ferry wanted to create something else.
    Index,
    /// Anything else with the name, found in the target.
    Other,
}

impl ObjectKind {
    /// The word for the kind, as in `DROP TYPE`: `schema`, `table`, `type`, ...
    pub fn word(self) -> &'static str {
        match self {
            ObjectKind::Schema => "schema",
            ObjectKind::Table => "table",
            ObjectKind::Type => "type",
            ObjectKind::Domain => "domain",
            ObjectKind::Sequence => "sequence",
            ObjectKind::View => "view",
            ObjectKind::Index => "index",
            ObjectKind::Other => "object",
        }
    }

    /// The kind named by [`ObjectKind::word`].
    pub fn from_word(word: &str) -> Option<ObjectKind> {
        [
            ObjectKind::Schema,
            ObjectKind::Table,
            ObjectKind::Type,
            ObjectKind::Domain,
            ObjectKind::Sequence,
            ObjectKind::View,
            ObjectKind::Index,
            ObjectKind::Other,
        ]
        .into_iter()
        .find(|k| k.word() == word)
    }

    /// Whether `--if-exists drop` may drop an object of this kind that the plan creates
    /// (tables, types and domains; a schema is never dropped).
    pub fn droppable(self) -> bool {
        matches!(
            self,
            ObjectKind::Table | ObjectKind::Type | ObjectKind::Domain
        )
    }
}

/// One named object in a target database.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DbObject {
    /// Its kind.
    pub kind: ObjectKind,
    /// The schema it lives in (`None`: the session's default schema or database; for a
    /// [`ObjectKind::Schema`] always `None`).
    pub schema: Option<String>,
    /// Its name.
    pub name: String,
}

impl DbObject {
    /// An object of `kind` called `name` in `schema`.
    pub fn new(kind: ObjectKind, schema: Option<&str>, name: &str) -> Self {
        DbObject {
            kind,
            schema: schema.map(str::to_string),
            name: name.to_string(),
        }
    }

    /// `schema.name` or `name`.
    pub fn qualified_name(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }

    /// Whether `other` has the same name in the same schema, whatever its kind.
    pub fn same_name(&self, other: &DbObject) -> bool {
        self.schema == other.schema && self.name == other.name
    }
}

impl fmt::Display for DbObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.word(), self.qualified_name())
    }
}

/// `type a, table b`: a list of objects for a message.
pub fn list(objects: &[DbObject]) -> String {
    objects
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_words() {
        for k in [
            ObjectKind::Schema,
            ObjectKind::Table,
            ObjectKind::Type,
            ObjectKind::Domain,
            ObjectKind::Sequence,
            ObjectKind::View,
            ObjectKind::Index,
            ObjectKind::Other,
        ] {
            assert_eq!(ObjectKind::from_word(k.word()), Some(k));
        }
        assert_eq!(ObjectKind::from_word("cascade"), None);
    }

    #[test]
    fn objects_print_with_their_kind() {
        let t = DbObject::new(ObjectKind::Type, Some("app"), "mood");
        assert_eq!(t.to_string(), "type app.mood");
        let u = DbObject::new(ObjectKind::Table, None, "users");
        assert_eq!(list(&[t, u]), "type app.mood, table users");
        assert!(!ObjectKind::Schema.droppable());
        assert!(ObjectKind::Domain.droppable());
    }
}
