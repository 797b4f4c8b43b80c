//! What the enrichers of one run share: one async runtime and, on it, the run's Redis
//! connection. A Redis connection lives on the runtime that opened it (its driver is a task
//! there), so enrichers that each started and dropped their own runtime could not share one:
//! the second would find the first one's connection dead and open another.

use std::future::Future;
use std::sync::OnceLock;

use anyhow::Context;
use tokio::runtime::Runtime;

use super::redis::RunRedis;

/// The run's runtime (started on first use) and Redis connection (opened on first use).
#[derive(Default)]
pub struct Shared {
    runtime: OnceLock<Runtime>,
    redis: RunRedis,
}

impl Shared {
    pub fn new() -> Shared {
        Shared::default()
    }

    /// Runs `future` to completion on the run's runtime: two worker threads for the tasks the
    /// HTTP and Redis clients start (connections, TLS), as `--validate` had on its own; the
    /// enricher's own future runs on the calling thread.
    pub fn block_on<F: Future>(&self, future: F) -> anyhow::Result<F::Output> {
        let runtime = match self.runtime.get() {
            Some(runtime) => runtime,
            None => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .context("starting the enrichers' network client")?;
                self.runtime.get_or_init(|| runtime)
            }
        };
        Ok(runtime.block_on(future))
    }

    /// The run's Redis connection.
    pub fn redis(&self) -> &RunRedis {
        &self.redis
    }
}

impl Drop for Shared {
    /// A lookup still blocked in the system resolver is not waited for: the run is over.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
