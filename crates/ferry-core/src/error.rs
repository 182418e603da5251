//! Error kinds shared by every crate, so the engine treats SQLite, MySQL and PostgreSQL alike.

use std::fmt;

/// What went wrong, in the terms the engine acts on (retry, stop, report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A server could not be reached (refused, unknown host, timed out).
    Connect,
    /// The server refused the credentials.
    Auth,
    /// The user lacks a privilege on an object; the error's [`Error::fix`] is the statement
    /// (a GRANT, an ALTER ... OWNER, a server setting) that gives it.
    Permission,
    /// A database, file, table or column that was named does not exist.
    NotFound,
    /// The user's input (URL, flag, config file) is invalid.
    Config,
    /// A schema object cannot be created or translated.
    Schema,
    /// A row holds a value the target cannot store; the message names table, column and key.
    Data,
    /// The target already holds what we were asked to create.
    AlreadyExists,
    /// A failure that may succeed when tried again (lost connection, deadlock, throttling).
    Transient,
    /// The run was cancelled (another table failed, or the user interrupted).
    Cancelled,
    /// Any other error from a server or the file system.
    Other,
}

impl ErrorKind {
    /// Whether the engine may retry the operation that failed with this kind.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Transient)
    }
}

/// A ferry error: a kind, a message that names the object involved (never a password and
/// never a whole row of user data), and the underlying cause.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    fix: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            fix: None,
            source: None,
        }
    }

    /// A missing privilege: `missing` says which privilege on which object (`CREATE on
    /// schema public`), `fix` is the statement that grants it, written by the driver that
    /// knows the dialect (`GRANT CREATE ON SCHEMA public TO app;`). `server` is what the
    /// server said. The message carries all three, so every layer that prints it shows the
    /// fix; [`Error::fix`] gives the statement alone (for `--check`'s list).
    pub fn permission(
        server: impl fmt::Display,
        missing: impl fmt::Display,
        fix: impl Into<String>,
    ) -> Self {
        let fix = fix.into();
        Error {
            kind: ErrorKind::Permission,
            message: format!("{server}: the user lacks {missing}; fix: {fix}"),
            fix: Some(fix),
            source: None,
        }
    }

    /// A [`ErrorKind::Permission`] error whose statement names the user as `<user>` (the
    /// server's message did not say), with `user` (quoted for its dialect) put in.
    pub fn naming_user(self, user: &str) -> Self {
        self.renaming_grantee("<user>", user)
    }

    /// A [`ErrorKind::Permission`] error whose statement grants to `to` instead of `from`
    /// (MySQL names the user by the host it connected from, a GRANT needs the account).
    pub fn renaming_grantee(mut self, from: &str, to: &str) -> Self {
        if self.kind == ErrorKind::Permission && !from.is_empty() {
            if let Some(fix) = &self.fix {
                let renamed = fix.replace(from, to);
                self.message = self.message.replace(fix.as_str(), &renamed);
                self.fix = Some(renamed);
            }
        }
        self
    }

    /// Attach the statement (or setting) that fixes this error, e.g. to a configuration
    /// error the server's settings cause; the message ends with it, as for
    /// [`Error::permission`].
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        let fix = fix.into();
        self.message = format!("{}; fix: {fix}", self.message);
        self.fix = Some(fix);
        self
    }

    /// The statement that fixes a [`ErrorKind::Permission`] error, when the driver knew it.
    pub fn fix(&self) -> Option<&str> {
        self.fix.as_deref()
    }

    /// Attach the underlying cause.
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Shorthand for a configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    /// Shorthand for a bad-row error.
    pub fn data(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Data, message)
    }

    /// Shorthand for a schema error.
    pub fn schema(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Schema, message)
    }

    /// Shorthand for "some other failure".
    pub fn other(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Other, message)
    }

    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without the cause chain.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefix the message with more context, keeping kind and cause.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The whole message with its cause chain, on one line.
    pub fn full_message(&self) -> String {
        let mut out = self.message.clone();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = self
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static));
        while let Some(err) = cause {
            let text = err.to_string();
            if !text.is_empty() && !out.contains(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            cause = err.source();
        }
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::TimedOut => ErrorKind::Transient,
            _ => ErrorKind::Other,
        };
        Error::new(kind, err.to_string()).with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_message_walks_the_cause_chain_once() {
        let io = std::io::Error::other("disk on fire");
        let err = Error::other("writing reject file").with_source(io);
        assert_eq!(err.full_message(), "writing reject file: disk on fire");
        let err = err.context("table `users`");
        assert_eq!(err.to_string(), "table `users`: writing reject file");
        assert_eq!(err.kind(), ErrorKind::Other);
    }

    #[test]
    fn a_permission_error_carries_its_fix_through_context() {
        let err = Error::permission(
            "permission denied for schema public",
            "CREATE on schema public",
            "GRANT CREATE ON SCHEMA public TO app;",
        )
        .context("creating `t`");
        assert_eq!(err.kind(), ErrorKind::Permission);
        assert_eq!(err.fix(), Some("GRANT CREATE ON SCHEMA public TO app;"));
        let renamed = Error::permission("denied", "INSERT", "GRANT INSERT ON `d`.* TO 'a'@'h';")
            .renaming_grantee("'a'@'h'", "'a'@'%'");
        assert_eq!(renamed.fix(), Some("GRANT INSERT ON `d`.* TO 'a'@'%';"));
        assert!(renamed
            .to_string()
            .ends_with("fix: GRANT INSERT ON `d`.* TO 'a'@'%';"));
        assert_eq!(
            err.to_string(),
            "creating `t`: permission denied for schema public: the user lacks CREATE on \
             schema public; fix: GRANT CREATE ON SCHEMA public TO app;"
        );
    }
}
