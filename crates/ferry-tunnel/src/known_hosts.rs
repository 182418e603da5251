//! OpenSSH `known_hosts` files: which key a host is known by, and the line that records a
//! newly accepted one.
//!
//! Lines are `[@marker] PATTERNS KEYTYPE BASE64 [comment]`. PATTERNS is a comma-separated
//! list of host names, `[host]:port` for a port other than 22, wildcards (`*`, `?`),
//! negations (`!pattern`), or one hashed name (`|1|BASE64-SALT|BASE64-HMAC-SHA1`, as
//! `HashKnownHosts yes` writes). `@revoked` keys are refused; `@cert-authority` lines name
//! CAs for host certificates, which ferry does not use, and are skipped.

use data_encoding::BASE64;

/// What a known_hosts file says about one host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyStatus {
    /// A line for this host holds exactly this key.
    Known,
    /// No line for this host holds a key of this type.
    Unknown,
    /// A line for this host holds another key of the same type (1-based line number).
    Changed {
        /// The line with the other key.
        line: usize,
    },
    /// The key is marked `@revoked` (1-based line number).
    Revoked {
        /// The `@revoked` line.
        line: usize,
    },
}

/// The name a host is recorded under: `host` on port 22, else `[host]:port`.
pub fn host_entry_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// The key type a wire-format public key blob names (its first SSH string), if readable.
pub fn blob_key_type(blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(blob.get(4..4 + len)?).ok()
}

/// Look up the key `blob` (SSH wire format) for `host`:`port` in known_hosts `text`.
/// A revoked key wins over everything; an exact match wins over a changed key elsewhere
/// (a host may be listed on several lines).
pub fn check(text: &str, host: &str, port: u16, blob: &[u8]) -> HostKeyStatus {
    let name = host_entry_name(host, port);
    let key_type = blob_key_type(blob).unwrap_or("");
    let mut known = false;
    let mut changed = None;
    for (i, line) in text.lines().enumerate() {
        let Some(entry) = Entry::parse(line) else {
            continue;
        };
        match entry.marker {
            Some(Marker::Revoked) => {
                if entry.blob == blob {
                    return HostKeyStatus::Revoked { line: i + 1 };
                }
                continue;
            }
            Some(Marker::CertAuthority) => continue,
            None => {}
        }
        if !patterns_match(entry.patterns, &name) {
            continue;
        }
        if entry.blob == blob {
            known = true;
        } else if entry.key_type == key_type && changed.is_none() {
            changed = Some(i + 1);
        }
    }
    match (known, changed) {
        (true, _) => HostKeyStatus::Known,
        (false, Some(line)) => HostKeyStatus::Changed { line },
        (false, None) => HostKeyStatus::Unknown,
    }
}

/// The known_hosts line recording `blob` for `host`:`port` (no trailing newline).
pub fn entry_line(host: &str, port: u16, blob: &[u8]) -> String {
    format!(
        "{} {} {}",
        host_entry_name(host, port),
        blob_key_type(blob).unwrap_or("ssh-unknown"),
        BASE64.encode(blob)
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Revoked,
    CertAuthority,
}

struct Entry<'a> {
    marker: Option<Marker>,
    patterns: &'a str,
    key_type: &'a str,
    blob: Vec<u8>,
}

impl<'a> Entry<'a> {
    fn parse(line: &'a str) -> Option<Entry<'a>> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let mut fields = line.split_ascii_whitespace();
        let mut first = fields.next()?;
        let marker = match first {
            "@revoked" => Some(Marker::Revoked),
            "@cert-authority" => Some(Marker::CertAuthority),
            m if m.starts_with('@') => return None,
            _ => None,
        };
        if marker.is_some() {
            first = fields.next()?;
        }
        let key_type = fields.next()?;
        let blob = BASE64.decode(fields.next()?.as_bytes()).ok()?;
        Some(Entry {
            marker,
            patterns: first,
            key_type,
            blob,
        })
    }
}

/// OpenSSH's rule: the name matches when some pattern matches it and no negated one does.
fn patterns_match(patterns: &str, name: &str) -> bool {
    let mut matched = false;
    for pattern in patterns.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if pattern_matches(negated, name) {
                return false;
            }
        } else if pattern_matches(pattern, name) {
            matched = true;
        }
    }
    matched
}

fn pattern_matches(pattern: &str, name: &str) -> bool {
    if let Some(hashed) = pattern.strip_prefix("|1|") {
        return hashed_matches(hashed, name);
    }
    wildcard(
        pattern.to_ascii_lowercase().as_bytes(),
        name.to_ascii_lowercase().as_bytes(),
    )
}

/// `SALT|HASH` (both base64): HMAC-SHA1 keyed with the salt, over the name.
fn hashed_matches(hashed: &str, name: &str) -> bool {
    let Some((salt, hash)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (
        BASE64.decode(salt.as_bytes()),
        BASE64.decode(hash.as_bytes()),
    ) else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &salt);
    ring::hmac::verify(&key, name.as_bytes(), &hash).is_ok()
}

/// `*` any run of characters, `?` one character.
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| wildcard(rest, &name[i..])),
        Some((b'?', rest)) => !name.is_empty() && wildcard(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && wildcard(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wire-format key blob of `key_type` with `body` as its key material.
    fn blob(key_type: &str, body: &[u8]) -> Vec<u8> {
        let mut out = (key_type.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(key_type.as_bytes());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn line(patterns: &str, b: &[u8]) -> String {
        format!(
            "{patterns} {} {} comment",
            blob_key_type(b).expect("type"),
            BASE64.encode(b)
        )
    }

    /// `|1|salt|hash` as `ssh-keygen -H` writes it.
    fn hashed(name: &str, salt: &[u8]) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, salt);
        let tag = ring::hmac::sign(&key, name.as_bytes());
        format!("|1|{}|{}", BASE64.encode(salt), BASE64.encode(tag.as_ref()))
    }

    #[test]
    fn plain_names_and_bracketed_ports() {
        let ed = blob("ssh-ed25519", b"key-one");
        let text = format!(
            "# comment\n\n{}\n{}\n",
            line("bastion.example,10.1.2.3", &ed),
            line("[jump.example]:2222", &ed)
        );
        assert_eq!(
            check(&text, "bastion.example", 22, &ed),
            HostKeyStatus::Known
        );
        assert_eq!(
            check(&text, "BASTION.example", 22, &ed),
            HostKeyStatus::Known
        );
        assert_eq!(check(&text, "10.1.2.3", 22, &ed), HostKeyStatus::Known);
        // Port 22 is recorded without brackets; any other port only in `[host]:port` form.
        assert_eq!(
            check(&text, "bastion.example", 2222, &ed),
            HostKeyStatus::Unknown
        );
        assert_eq!(
            check(&text, "jump.example", 2222, &ed),
            HostKeyStatus::Known
        );
        assert_eq!(
            check(&text, "jump.example", 22, &ed),
            HostKeyStatus::Unknown
        );
        assert_eq!(
            check(&text, "other.example", 22, &ed),
            HostKeyStatus::Unknown
        );
    }

    #[test]
    fn another_key_of_the_same_type_is_a_change() {
        let old = blob("ssh-ed25519", b"old");
        let new = blob("ssh-ed25519", b"new");
        let rsa = blob("ssh-rsa", b"rsa");
        let text = format!("{}\n{}\n", line("a.example", &rsa), line("a.example", &old));
        assert_eq!(
            check(&text, "a.example", 22, &new),
            HostKeyStatus::Changed { line: 2 }
        );
        // A key type the host was not known by is unknown, not changed.
        let ecdsa = blob("ecdsa-sha2-nistp256", b"ec");
        assert_eq!(
            check(&text, "a.example", 22, &ecdsa),
            HostKeyStatus::Unknown
        );
        // The host listed twice, once with the right key: known.
        let text = format!("{text}{}\n", line("a.example", &new));
        assert_eq!(check(&text, "a.example", 22, &new), HostKeyStatus::Known);
    }

    #[test]
    fn hashed_entries() {
        let ed = blob("ssh-ed25519", b"hashed-key");
        let text = format!(
            "{}\n{}\n",
            line(&hashed("bastion.example", b"0123456789abcdefghij"), &ed),
            line(&hashed("[127.0.0.1]:52222", b"salt-two-salt-two-xx"), &ed)
        );
        assert_eq!(
            check(&text, "bastion.example", 22, &ed),
            HostKeyStatus::Known
        );
        assert_eq!(check(&text, "127.0.0.1", 52222, &ed), HostKeyStatus::Known);
        assert_eq!(check(&text, "127.0.0.1", 22, &ed), HostKeyStatus::Unknown);
        assert_eq!(
            check(&text, "bastion.example2", 22, &ed),
            HostKeyStatus::Unknown
        );
        let other = blob("ssh-ed25519", b"another");
        assert_eq!(
            check(&text, "127.0.0.1", 52222, &other),
            HostKeyStatus::Changed { line: 2 }
        );
        // A damaged hash matches nothing.
        let text = line("|1|not base64|x", &ed);
        assert_eq!(
            check(&text, "bastion.example", 22, &ed),
            HostKeyStatus::Unknown
        );
    }

    #[test]
    fn wildcards_and_negations() {
        let ed = blob("ssh-ed25519", b"w");
        let text = line(
            "*.internal.example,!secret.internal.example,db?.example",
            &ed,
        );
        assert_eq!(
            check(&text, "a.internal.example", 22, &ed),
            HostKeyStatus::Known
        );
        assert_eq!(
            check(&text, "secret.internal.example", 22, &ed),
            HostKeyStatus::Unknown
        );
        assert_eq!(check(&text, "db1.example", 22, &ed), HostKeyStatus::Known);
        assert_eq!(
            check(&text, "db12.example", 22, &ed),
            HostKeyStatus::Unknown
        );
        assert_eq!(
            check(&text, "internal.example", 22, &ed),
            HostKeyStatus::Unknown
        );
    }

    #[test]
    fn markers_and_junk() {
        let ed = blob("ssh-ed25519", b"revoked");
        let good = blob("ssh-ed25519", b"good");
        let text = format!(
            "@revoked * {} {}\n@cert-authority *.example {}\n@bogus x {}\ngarbage\nhost ssh-ed25519 !!!\n{}\n",
            blob_key_type(&ed).expect("type"),
            BASE64.encode(&ed),
            line("", &good).trim(),
            line("h.example", &good),
            line("h.example", &ed),
        );
        assert_eq!(
            check(&text, "h.example", 22, &ed),
            HostKeyStatus::Revoked { line: 1 }
        );
        // The @cert-authority and @bogus lines name no plain host key.
        assert_eq!(
            check(&text, "h.example", 22, &good),
            HostKeyStatus::Changed { line: 6 }
        );
    }

    #[test]
    fn recorded_lines_read_back() {
        let ed = blob("ssh-ed25519", b"recorded");
        let l = entry_line("127.0.0.1", 52222, &ed);
        assert!(l.starts_with("[127.0.0.1]:52222 ssh-ed25519 "), "{l}");
        assert_eq!(check(&l, "127.0.0.1", 52222, &ed), HostKeyStatus::Known);
        let l = entry_line("bastion.example", 22, &ed);
        assert!(l.starts_with("bastion.example ssh-ed25519 "), "{l}");
        assert_eq!(check(&l, "bastion.example", 22, &ed), HostKeyStatus::Known);
    }
}
