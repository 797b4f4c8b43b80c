//! Real services the integration tests talk to: a `redis-server` on a free loopback port and a
//! faithful mock of the VirusTotal v3 API served over HTTP on loopback.

pub mod compress;
pub mod dumps;
pub mod git_repo;
// Shared with the library's unit tests (`src/lib.rs`), which alone use the client certificate.
pub mod every_mode;
#[allow(dead_code)]
pub mod pki;
pub mod provider_mock;
pub mod redis_server;
pub mod scripted_http;
pub mod seeded;
pub mod vt_mock;
