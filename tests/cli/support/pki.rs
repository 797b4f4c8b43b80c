//! A throwaway certificate authority for TLS tests, made with the `openssl` command at test time:
//! a CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and a second CA
//! that trusts none of them (for "wrong CA" cases). Nothing is reused across tests.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct TestPki {
    dir: tempfile::TempDir,
}

impl TestPki {
    pub fn new() -> TestPki {
        let pki = TestPki {
            dir: tempfile::tempdir().expect("a temporary directory for the test CA"),
        };
        pki.self_signed("ca", "anteater test CA");
        pki.self_signed("other-ca", "some other CA");
        pki.issued("server", "127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost");
        pki.issued("client", "anteater test client", "extendedKeyUsage=clientAuth");
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn ca(&self) -> PathBuf {
        self.path("ca.crt")
    }
    pub fn other_ca(&self) -> PathBuf {
        self.path("other-ca.crt")
    }
    pub fn server_cert(&self) -> PathBuf {
        self.path("server.crt")
    }
    pub fn server_key(&self) -> PathBuf {
        self.path("server.key")
    }
    pub fn client_cert(&self) -> PathBuf {
        self.path("client.crt")
    }
    pub fn client_key(&self) -> PathBuf {
        self.path("client.key")
    }

    fn self_signed(&self, name: &str, subject: &str) {
        openssl(
            self.dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN={subject}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.crt"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
    }

    fn issued(&self, name: &str, subject: &str, extension: &str) {
        openssl(
            self.dir.path(),
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={subject}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        std::fs::write(self.path(&format!("{name}.ext")), format!("{extension}\n")).unwrap();
        openssl(
            self.dir.path(),
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &format!("{name}.crt"),
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (.ci/run installs it)");
    assert!(
        output.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}
