//! SQLite introspection and reader for ferry
