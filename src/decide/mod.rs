//! Deciding: what the findings of a run mean for the gate. A baseline accepts findings a team
//! recorded before (`baseline`); the exit code is computed once, at the end, from what the run
//! counted (`outcome`).

pub mod baseline;
pub mod outcome;
