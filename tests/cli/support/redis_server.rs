//! A real `redis-server` for one test: its own free loopback port, no persistence, its working
//! directory in a temporary directory; killed and reaped on drop.
//!
//! One copy for two crates: the integration tests (`tests/cli/support/`) and the library's unit
//! tests (`src/lib.rs` includes it, with `pki.rs`, as `test_support`).

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::pki::TestPki;

/// How long a fresh server may take to answer `PING`.
const STARTUP: Duration = Duration::from_secs(5);
/// Fresh ports tried when the chosen one was taken between choosing and binding.
const PORT_ATTEMPTS: usize = 5;

pub struct RedisServer {
    child: Child,
    port: u16,
    /// The TLS port, when the server was started with one.
    tls_port: Option<u16>,
    _dir: tempfile::TempDir,
}

/// How a test wants its server: extra `redis-server` arguments, and what the readiness probe
/// must send first when the default user needs a password.
#[derive(Default, Clone)]
pub struct ServerOptions {
    /// Extra arguments; `{dir}` is replaced by the server's own temporary directory.
    pub args: Vec<String>,
    /// `requirepass` of the default user (the probe sends `AUTH` with it).
    pub password: Option<String>,
    /// Also listen for TLS, with these files (server certificate, key, CA for client certificates).
    pub tls: Option<ServerTls>,
    /// A Redis Cluster node (the cluster bus uses port + 10000).
    pub cluster: bool,
}

#[derive(Clone)]
pub struct ServerTls {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
    pub ca: std::path::PathBuf,
    /// Ask clients for a certificate signed by `ca` (mutual TLS).
    pub require_client_certificates: bool,
}

impl RedisServer {
    /// Starts a server and waits until it answers; panics with the reason when it cannot.
    pub fn start() -> RedisServer {
        Self::start_with(&ServerOptions::default())
    }

    /// Starts a server configured by `options`; the plain port always answers the probe.
    pub fn start_with(options: &ServerOptions) -> RedisServer {
        let mut last_log = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = if options.cluster {
                free_cluster_port()
            } else {
                free_port()
            };
            let tls_port = options.tls.as_ref().map(|_| free_port());
            let dir = tempfile::tempdir().expect("a temporary directory for redis-server");
            // redis-server reports its directory canonicalized; compare like with like.
            let dir_path = dir.path().canonicalize().expect("canonical temporary directory");
            let log_path = dir_path.join("redis.log");
            let log = File::create(&log_path).expect("redis-server log file");
            let mut command = Command::new("redis-server");
            command
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
                .args(["--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(&dir_path);
            for arg in &options.args {
                command.arg(arg.replace("{dir}", &dir_path.to_string_lossy()));
            }
            if let Some(password) = &options.password {
                command.args(["--requirepass", password]);
            }
            if let (Some(tls), Some(tls_port)) = (&options.tls, tls_port) {
                command
                    .args(["--tls-port", &tls_port.to_string()])
                    .arg("--tls-cert-file")
                    .arg(&tls.cert)
                    .arg("--tls-key-file")
                    .arg(&tls.key)
                    .arg("--tls-ca-cert-file")
                    .arg(&tls.ca)
                    .args([
                        "--tls-auth-clients",
                        if tls.require_client_certificates {
                            "yes"
                        } else {
                            "no"
                        },
                    ]);
            }
            if options.cluster {
                command
                    .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
                    .arg("--cluster-config-file")
                    .arg(dir_path.join("nodes.conf"));
            }
            let spawned = command
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log handle"))
                .stderr(log)
                .spawn();
            let child = match spawned {
                Ok(child) => child,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    panic!("redis-server not found: .ci/run installs it (apt-get install redis-server)")
                }
                Err(e) => panic!("cannot start redis-server: {e}"),
            };
            let mut server = RedisServer {
                child,
                port,
                tls_port,
                _dir: dir,
            };
            match server.wait_until_ready(&dir_path, options.password.as_deref()) {
                Ready::Yes => return server,
                Ready::Exited => {
                    last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    if last_log.contains("Address already in use") {
                        continue; // someone took the port meanwhile: try another
                    }
                    panic!("redis-server on port {port} exited at startup:\n{last_log}");
                }
                Ready::TimedOut => {
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    panic!(
                        "redis-server on port {port} did not answer PING within {} s:\n{log}",
                        STARTUP.as_secs()
                    );
                }
            }
        }
        panic!("redis-server found no free port in {PORT_ATTEMPTS} attempts:\n{last_log}");
    }

    /// Starts a server that also listens for TLS with `pki`'s server certificate, trusting `pki`'s
    /// CA for client certificates (asked for only when `require_client_certificates`).
    pub fn start_tls(pki: &TestPki, require_client_certificates: bool) -> RedisServer {
        Self::start_with(&ServerOptions {
            tls: Some(ServerTls {
                cert: pki.server_cert(),
                key: pki.server_key(),
                ca: pki.ca(),
                require_client_certificates,
            }),
            ..ServerOptions::default()
        })
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's process id (to freeze it with SIGSTOP in a test, and resume it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `rediss://127.0.0.1:<tls port>` (the server must have been started with TLS).
    pub fn tls_url(&self) -> String {
        format!(
            "rediss://127.0.0.1:{}",
            self.tls_port.expect("a server started with TLS")
        )
    }

    /// Runs `redis-cli` against the plain port and returns its output.
    pub fn cli(&self, password: Option<&str>, args: &[&str]) -> String {
        let mut command = Command::new("redis-cli");
        command.args(["-h", "127.0.0.1", "-p", &self.port.to_string()]);
        if let Some(password) = password {
            command.args(["--no-auth-warning", "-a", password]);
        }
        let output = command.args(args).output().expect("redis-cli runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Polls until the server on our port answers `PING` and is ours (its `dir` is our temporary
    /// directory: a server of another test that grabbed the port must not pass for ours).
    fn wait_until_ready(&mut self, dir: &Path, password: Option<&str>) -> Ready {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ready::Exited;
            }
            let auth = password.map(|p| format!("AUTH {p}\r\n")).unwrap_or_default();
            if answers(addr, format!("{auth}PING\r\n").as_bytes(), "+PONG")
                && answers(
                    addr,
                    format!("{auth}CONFIG GET dir\r\n").as_bytes(),
                    &dir.to_string_lossy(),
                )
            {
                return Ready::Yes;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ready::TimedOut
    }
}

enum Ready {
    Yes,
    Exited,
    TimedOut,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago (the OS picks it; the listener is released at once).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// A free port whose cluster bus port (+10000) is free and valid too.
fn free_cluster_port() -> u16 {
    loop {
        let port = free_port();
        if port < 55000 && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
}

/// Three cluster nodes, every slot assigned (by `redis-cli --cluster create`), all agreeing.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start() -> RedisCluster {
        let options = ServerOptions {
            cluster: true,
            ..ServerOptions::default()
        };
        let nodes: Vec<RedisServer> = (0..3).map(|_| RedisServer::start_with(&options)).collect();
        let addresses: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port())).collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create runs");
        assert!(
            created.status.success(),
            "redis-cli --cluster create: {}{}",
            String::from_utf8_lossy(&created.stdout),
            String::from_utf8_lossy(&created.stderr)
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while !nodes
            .iter()
            .all(|n| n.cli(None, &["cluster", "info"]).contains("cluster_state:ok"))
        {
            assert!(
                Instant::now() < deadline,
                "the cluster never reached cluster_state:ok"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        RedisCluster { nodes }
    }

    /// The URL of one node: clients discover the others from it.
    pub fn seed_url(&self) -> String {
        self.nodes[0].url()
    }
}

/// Sends one inline command and tells whether the reply contains `expected`.
fn answers(addr: SocketAddr, command: &[u8], expected: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(command).is_err() {
        return false;
    }
    let mut reply = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => {
                reply.extend_from_slice(&buf[..n]);
                if String::from_utf8_lossy(&reply).contains(expected) {
                    return true;
                }
            }
        }
    }
}
