//! Files that hold row data (reject files, the JSON report): created readable by their owner
//! only (0600), never through a symlink, and never over a file ferry did not write.
//!
//! A file is written whole under a hidden temporary name made with `O_CREAT | O_EXCL` (which
//! never follows a symlink), synced, then renamed over its final name (a rename replaces a
//! symlink there instead of following it). Before that, whatever holds the final name must be
//! a regular file that the caller recognises as ferry's own.

use ferry_core::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Create `path` for writing, readable and writable by its owner only. Fails when anything
/// (a file, a symlink, even a dangling one) already has that name.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Refuse unless `path` is free or holds a regular file `is_ours` recognises as one ferry
/// wrote; `what` names the file in the error (`reject file`, `JSON report`).
pub fn check_replaceable(path: &Path, what: &str, is_ours: impl Fn(&Path) -> bool) -> Result<()> {
    let shown = path.display();
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::config(format!("cannot check {what} `{shown}`: {e}"))),
        Ok(m) if m.file_type().is_symlink() => Err(Error::config(format!(
            "{what} `{shown}` is a symbolic link; ferry does not write through links (remove it or choose another path)"
        ))),
        Ok(m) if !m.is_file() => Err(Error::config(format!(
            "{what} `{shown}` exists and is not a regular file"
        ))),
        Ok(_) if is_ours(path) => Ok(()),
        Ok(_) => Err(Error::config(format!(
            "{what} `{shown}` exists and is not one ferry wrote; move it away or choose another path"
        ))),
    }
}

/// Write `path` whole through `fill`, replacing what is there only if `is_ours` recognises
/// it (see [`check_replaceable`]). A crash leaves either the old file or the new one.
pub fn replace_private(
    path: &Path,
    what: &str,
    is_ours: impl Fn(&Path) -> bool,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    check_replaceable(path, what, is_ours)?;
    let tmp = temp_name(path);
    let shown = path.display();
    let io = |e: std::io::Error| Error::other(format!("cannot write {what} `{shown}`: {e}"));
    // A temporary file a crashed run left behind (same process id, so never a live one).
    remove_if_there(&tmp)?;
    let result = (|| {
        let mut out = BufWriter::new(create_private(&tmp)?);
        fill(&mut out)?;
        out.flush()?;
        out.get_ref().sync_all()?;
        drop(out);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

/// Remove `path` (a file or a symlink, never what a link points to) if it is there.
pub fn remove_if_there(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::other(format!(
            "cannot remove `{}`: {e}",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// `.<name>.<pid>.tmp` beside `path`.
fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// The first line of `path`, at most `limit` bytes of it; `None` when it cannot be read.
pub fn first_line(path: &Path, limit: u64) -> Option<Vec<u8>> {
    use std::io::{BufRead, BufReader, Read};
    let file = File::open(path).ok()?;
    let mut line = Vec::new();
    BufReader::new(file.take(limit))
        .read_until(b'\n', &mut line)
        .ok()?;
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ferry-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    #[cfg(unix)]
    #[test]
    fn written_private_never_through_a_link_never_over_a_stranger() {
        use std::os::unix::fs::PermissionsExt;
        let d = dir("private");
        let path = d.join("out.json");
        let fill = |w: &mut BufWriter<File>| w.write_all(b"{\"ferry\": 1}\n");
        replace_private(&path, "JSON report", |_| false, fill).expect("a new file");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Someone else's file: refused, untouched.
        let err = replace_private(&path, "JSON report", |_| false, fill).expect_err("a stranger");
        assert!(err.to_string().contains("not one ferry wrote"), "{err}");
        // Ours: replaced.
        replace_private(&path, "JSON report", |_| true, |w| w.write_all(b"2\n")).expect("ours");
        assert_eq!(std::fs::read(&path).expect("read"), b"2\n");
        // A link, even to a file ferry would call its own: refused, the target untouched.
        let victim = d.join("victim");
        std::fs::write(&victim, b"keep").expect("victim");
        let link = d.join("link.json");
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");
        let err = replace_private(&link, "JSON report", |_| true, fill).expect_err("a link");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read(&victim).expect("read"), b"keep");
        assert!(
            create_private(&link).is_err(),
            "create_new never follows a link"
        );
        assert_eq!(std::fs::read(&victim).expect("read"), b"keep");
        let _ = std::fs::remove_dir_all(&d);
    }
}
