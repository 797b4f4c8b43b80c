//! The run's Redis, shared by every enricher that keeps something there: VirusTotal's rate
//! limiter, verdict cache and claims, and `--validate`'s cache of answers. One connection per run
//! (issue 17): opened the first time an enricher asks for it, bounded by one connect timeout, and
//! remembered either way, so a frozen or unreachable server costs the run one timeout, not one per
//! enricher, and a failover is found out and reconnected to once.
//!
//! [`link`] opens and keeps the connection, [`retry`] is the one retry schedule, [`cache`] the
//! string cache both enrichers keep their answers in.

pub mod cache;
pub mod link;
pub mod retry;

use std::time::Duration;

use tokio::sync::OnceCell;

use link::{ConnError, Link, TlsFiles};

/// Bound on opening the run's connection (connecting, `PING`, and asking whether the server is a
/// cluster node). Each component bounds its own commands further.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The run's one Redis connection, not opened until an enricher asks for it (a run whose
/// enrichers find nothing to ask about never touches Redis).
///
/// The connection belongs to the async runtime it was opened on: the enrichers of a run share
/// one (see [`super::Shared`]) so that the second enricher finds the first one's connection
/// alive.
#[derive(Default)]
pub struct RunRedis {
    opened: OnceCell<Opened>,
}

/// The server the run connected to, and what became of it.
struct Opened {
    url: String,
    tls: TlsFiles,
    link: Result<Link, ConnError>,
}

impl RunRedis {
    /// The connection to `url`: opened on the first call, the same one (or the same failure)
    /// after that. Every enricher is given the same `--redis-url`; a caller that names another
    /// server gets a connection of its own.
    pub(crate) async fn link(&self, url: &str, tls: &TlsFiles) -> Result<Link, ConnError> {
        let opened = self
            .opened
            .get_or_init(|| async {
                Opened {
                    url: url.to_string(),
                    tls: tls.clone(),
                    link: Link::open(url, tls, CONNECT_TIMEOUT).await,
                }
            })
            .await;
        if opened.url != url || opened.tls != *tls {
            return Link::open(url, tls, CONNECT_TIMEOUT).await;
        }
        opened.link.clone()
    }
}

#[cfg(test)]
mod tests;
