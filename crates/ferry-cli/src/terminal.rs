//! Writing for people: a [`Channel`] (stdout or stderr) that survives a closed pipe, and
//! [`clean`], which escapes what a source name could use to drive the terminal.

use std::borrow::Cow;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// `text` with every control character (and every Unicode direction override) escaped as
/// Rust writes it (`\n`, `\u{1b}`): a source name can neither send a terminal escape
/// sequence nor start a line of its own.
pub fn clean(text: &str) -> Cow<'_, str> {
    let escaped = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Where a command's text goes. Writing to a closed pipe (`ferry ... | head -1`) is not an
/// error: the rest of the text is dropped quietly and the run ends with its own exit code.
/// Any other write failure (a full disk under `> app.env`) is reported once and makes the
/// run exit 2 (see [`write_failed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Standard output: what the command produces.
    Stdout,
    /// Standard error: logs, or a summary that must stay out of stdout's env lines or JSON.
    Stderr,
}

static WRITE_FAILED: AtomicBool = AtomicBool::new(false);

/// Whether writing a command's output failed for another reason than a closed pipe.
pub fn write_failed() -> bool {
    WRITE_FAILED.load(Ordering::SeqCst)
}

impl Channel {
    /// Write one line, control characters escaped (see [`clean`]).
    pub fn line(self, text: &str) {
        self.text(&format!("{}\n", clean(text)));
    }

    /// Write `text` as it is (env lines, JSON, SQL).
    pub fn text(self, text: &str) {
        let written = match self {
            Channel::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes()).and_then(|()| out.flush())
            }
            Channel::Stderr => std::io::stderr().lock().write_all(text.as_bytes()),
        };
        if let Err(e) = written {
            if e.kind() != std::io::ErrorKind::BrokenPipe
                && !WRITE_FAILED.swap(true, Ordering::SeqCst)
            {
                let _ = writeln!(std::io::stderr(), "ferry: cannot write the output: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_direction_overrides_are_escaped() {
        assert!(matches!(clean("plain name é"), Cow::Borrowed(_)));
        assert_eq!(
            clean("a\u{1b}[2J\nFORGED\r\t\u{7f}\u{202e}z"),
            "a\\u{1b}[2J\\nFORGED\\r\\t\\u{7f}\\u{202e}z"
        );
    }
}
