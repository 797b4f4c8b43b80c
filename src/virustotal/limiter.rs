//! Placeholder: being written (rate limiter shared through Redis).
