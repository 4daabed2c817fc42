//! Strict host-key checking against an OpenSSH known_hosts file. Unknown and changed keys
//! are both refused; the refusal carries what the operator needs to check the key out of
//! band and the exact line to add. Patterns this does not understand (wildcards,
//! `@cert-authority`) match nothing, so they fail closed.

use russh::keys::{HashAlg, PublicKey};
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Known,
    Unknown,
    /// The host is listed with a different key of the same type: line numbers.
    Changed {
        lines: Vec<usize>,
    },
    /// The key is marked `@revoked`.
    Revoked {
        line: usize,
    },
}

/// How known_hosts names a host: bare on port 22, `[host]:port` otherwise.
pub fn host_entry(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// The known_hosts file could not be read (its path and why): no key is trusted then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {file}: {why}")]
pub struct Unreadable {
    pub file: String,
    pub why: String,
}

/// The keys known_hosts lists for the host, each with the line of the file it is on (counting
/// every line, comments and blank ones included, as an editor does).
pub fn listed(host: &str, port: u16, file: &Path) -> Result<Vec<(usize, PublicKey)>, Unreadable> {
    let found = russh::keys::known_hosts::known_host_keys_path(host, port, file).map_err(|e| {
        Unreadable {
            file: file.display().to_string(),
            why: e.to_string(),
        }
    })?;
    // russh numbers the lines it reads, skipping those that start with '#': its numbers are
    // mapped back to the file's own, so "differs from known_hosts:N" names the right line.
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let counted: Vec<usize> = text
        .split_inclusive('\n')
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#'))
        .map(|(i, _)| i + 1)
        .collect();
    Ok(found
        .into_iter()
        .map(|(n, k)| (counted.get(n - 1).copied().unwrap_or(n), k))
        .collect())
}

/// The host-key algorithms to ask the server for, those known_hosts holds for this host
/// first, as OpenSSH orders them: a host listed with only its ECDSA or RSA key is asked for
/// that key, not refused for offering ed25519 first.
pub fn preferred_algorithms(
    host: &str,
    port: u16,
    file: &Path,
    all: &[russh::keys::Algorithm],
) -> Vec<russh::keys::Algorithm> {
    use russh::keys::Algorithm;
    let known: Vec<Algorithm> = listed(host, port, file)
        .unwrap_or_default()
        .into_iter()
        .map(|(_, k)| k.algorithm())
        .collect();
    // RSA keys are one family whatever hash signs with them.
    let family = |a: &Algorithm| match a {
        Algorithm::Rsa { .. } => Algorithm::Rsa { hash: None },
        other => other.clone(),
    };
    let (mut first, rest): (Vec<_>, Vec<_>) = all
        .iter()
        .cloned()
        .partition(|a| known.iter().any(|k| family(k) == family(a)));
    first.extend(rest);
    first
}

pub fn check(host: &str, port: u16, key: &PublicKey, file: &Path) -> Result<Verdict, Unreadable> {
    if let Some(line) = revoked_line(key, file) {
        return Ok(Verdict::Revoked { line });
    }
    let listed = listed(host, port, file)?;
    // Any matching key is enough, as in OpenSSH; only then is a same-type key a change.
    if listed.iter().any(|(_, k)| k == key) {
        return Ok(Verdict::Known);
    }
    let changed: Vec<usize> = listed
        .iter()
        .filter(|(_, k)| k.algorithm() == key.algorithm())
        .map(|(line, _)| *line)
        .collect();
    Ok(if changed.is_empty() {
        Verdict::Unknown
    } else {
        Verdict::Changed { lines: changed }
    })
}

/// A revoked key is refused for every host, which is stricter than OpenSSH and never wrong.
fn revoked_line(key: &PublicKey, file: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(file).ok()?;
    let encoded = key.to_openssh().ok()?;
    let body = encoded.split_whitespace().nth(1)?;
    text.lines().enumerate().find_map(|(i, line)| {
        let mut parts = line.split_whitespace();
        (parts.next() == Some("@revoked") && parts.nth(2) == Some(body)).then_some(i + 1)
    })
}

pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// The line that would make this key known, for the operator to add once verified.
pub fn line_to_add(host: &str, port: u16, key: &PublicKey) -> String {
    let encoded = key.to_openssh().unwrap_or_default();
    let mut parts = encoded.split_whitespace();
    let (alg, body) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    format!("{} {alg} {body}", host_entry(host, port))
}

/// Why a host key was refused, in words, with the fingerprint and what to do.
pub fn refusal(
    verdict: &Verdict,
    host: &str,
    port: u16,
    key: &PublicKey,
    file: &Path,
) -> Option<String> {
    let who = host_entry(host, port);
    let fp = fingerprint(key);
    match verdict {
        Verdict::Known => None,
        Verdict::Unknown => Some(format!(
            "host key refused: {who} is not in {} (its {} key is {fp}). Verify that \
             fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then add \
             this line: {}",
            file.display(),
            key.algorithm(),
            line_to_add(host, port, key)
        )),
        Verdict::Changed { lines } => Some(format!(
            "HOST KEY CHANGED for {who}: it now offers {} key {fp}, which differs from \
             {}:{}. Someone may be intercepting this connection, or the host was rebuilt. \
             Nothing was sent. If the change is expected and verified, remove the old line.",
            key.algorithm(),
            file.display(),
            lines
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(",")
        )),
        Verdict::Revoked { line } => Some(format!(
            "host key refused: {who} offers key {fp}, which {}:{line} marks @revoked",
            file.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN8y+UM79/Wn+GyHpuEA6U5J5YGo0zt+qXQkYADE9TYJ";
    const B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILMu6mSoRZlawVJeGtpAi/0TuBMeot8rMd49rxuEsr0C";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    fn file(text: &str) -> (tempdir::Dir, PathBuf) {
        let d = tempdir::Dir::new();
        let p = d.0.join("known_hosts");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                let p = std::env::temp_dir().join(format!(
                    "chavion-kh-{}-{}",
                    std::process::id(),
                    fastrand::u64(..)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn known_unknown_changed_and_revoked() {
        let (_d, p) = file(&format!("[10.0.0.5]:2222 {A}\nother.host {B}\n"));
        assert_eq!(
            check("10.0.0.5", 2222, &key(A), &p).unwrap(),
            Verdict::Known
        );
        // The same host on another port is another entry.
        assert_eq!(
            check("10.0.0.5", 22, &key(A), &p).unwrap(),
            Verdict::Unknown
        );
        assert_eq!(
            check("10.0.0.5", 2222, &key(B), &p).unwrap(),
            Verdict::Changed { lines: vec![1] }
        );
        let (_d2, p2) = file(&format!("@revoked * {A}\n10.0.0.5 {A}\n"));
        assert_eq!(
            check("10.0.0.5", 22, &key(A), &p2).unwrap(),
            Verdict::Revoked { line: 1 }
        );
    }

    #[test]
    fn line_numbers_count_comments_and_blank_lines_like_an_editor() {
        let (_d, p) = file(&format!(
            "# managed by hand\n# another comment\n\nother.host {A}\n# h's key:\nh {B}\n"
        ));
        assert_eq!(
            check("h", 22, &key(A), &p).unwrap(),
            Verdict::Changed { lines: vec![6] },
            "line 6 holds h's key; line 2 is a comment"
        );
        assert_eq!(listed("other.host", 22, &p).unwrap()[0].0, 4);
    }

    #[test]
    fn the_algorithms_known_for_the_host_are_asked_for_first() {
        use russh::keys::{Algorithm, EcdsaCurve};
        const E: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=";
        let (_d, p) = file(&format!("h {E}\n"));
        let all = [
            Algorithm::Ed25519,
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256,
            },
            Algorithm::Rsa { hash: None },
        ];
        let order = preferred_algorithms("h", 22, &p, &all);
        assert_eq!(
            order[0],
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256
            }
        );
        assert_eq!(order.len(), 3, "the others are still offered, after it");
        assert_eq!(
            preferred_algorithms("unlisted", 22, &p, &all),
            all.to_vec(),
            "an unlisted host keeps the default order"
        );
    }

    #[test]
    fn any_matching_key_of_several_is_enough() {
        let (_d, p) = file(&format!("h {B}\nh {A}\n"));
        assert_eq!(check("h", 22, &key(A), &p).unwrap(), Verdict::Known);
    }

    #[test]
    fn a_missing_file_knows_nothing() {
        let p = PathBuf::from("/nonexistent/known_hosts");
        assert_eq!(check("h", 22, &key(A), &p).unwrap(), Verdict::Unknown);
    }

    #[test]
    fn the_refusal_gives_the_fingerprint_and_the_line() {
        let p = PathBuf::from("/k");
        let why = refusal(&Verdict::Unknown, "127.0.0.1", 2200, &key(A), &p).unwrap();
        assert!(why.contains(&fingerprint(&key(A))), "{why}");
        assert!(why.contains(&format!("[127.0.0.1]:2200 {A}")), "{why}");
        assert!(fingerprint(&key(A)).starts_with("SHA256:"));
        let changed = refusal(&Verdict::Changed { lines: vec![3] }, "h", 22, &key(A), &p).unwrap();
        assert!(changed.starts_with("HOST KEY CHANGED for h"), "{changed}");
        assert!(changed.contains("/k:3"), "{changed}");
    }
}
