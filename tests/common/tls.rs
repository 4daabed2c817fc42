//! Certificates for the TLS tests: a private CA made on the spot, never a real one.

use std::path::PathBuf;
use std::process::Command;

use super::Sandbox;

/// A private CA, and a server certificate it signed that expires in `days`, for the names
/// in `san` (`IP:127.0.0.1`, `DNS:localhost`, comma-separated): returns (CA certificate,
/// server certificate, server key). openssl makes them, in the sandbox.
pub fn private_ca(sb: &Sandbox, days: &str, san: &str) -> (PathBuf, PathBuf, PathBuf) {
    let p = |n: &str| sb.path(n);
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&sb.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "30",
        "-subj",
        "/CN=Test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        p("ext.cnf"),
        format!("basicConstraints=CA:FALSE\nsubjectAltName={san}\n"),
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        days,
        "-extfile",
        "ext.cnf",
        "-out",
        "server.pem",
    ]);
    (p("ca.pem"), p("server.pem"), p("server.key"))
}
