//! A real `redis-server` for one test: its own free loopback port, no persistence, its working
//! directory in a temporary directory; killed and reaped on drop.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a fresh server may take to answer `PING`.
const STARTUP: Duration = Duration::from_secs(5);
/// Fresh ports tried when the chosen one was taken between choosing and binding.
const PORT_ATTEMPTS: usize = 5;

pub struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server and waits until it answers; panics with the reason when it cannot.
    pub fn start() -> RedisServer {
        let mut last_log = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            let dir = tempfile::tempdir().expect("a temporary directory for redis-server");
            // redis-server reports its directory canonicalized; compare like with like.
            let dir_path = dir.path().canonicalize().expect("canonical temporary directory");
            let log_path = dir_path.join("redis.log");
            let log = File::create(&log_path).expect("redis-server log file");
            let spawned = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
                .args(["--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(&dir_path)
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
                _dir: dir,
            };
            match server.wait_until_ready(&dir_path) {
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

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Polls until the server on our port answers `PING` and is ours (its `dir` is our temporary
    /// directory: a server of another test that grabbed the port must not pass for ours).
    fn wait_until_ready(&mut self, dir: &Path) -> Ready {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ready::Exited;
            }
            if answers(addr, b"PING\r\n", "+PONG")
                && answers(addr, b"CONFIG GET dir\r\n", &dir.to_string_lossy())
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
