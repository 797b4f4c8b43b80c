//! VirusTotal enrichment (API v3): indicators found during the walk are looked up after it, as
//! one batch, through a rate limiter, a verdict cache and single-flight claims shared by every
//! job through Redis.

pub mod breaker;
pub mod cache;
pub mod cache_file;
pub mod claims;
pub mod client;
pub mod gate;
pub mod limiter;
pub mod lookup;
pub mod redis_conn;
pub mod verdict;
