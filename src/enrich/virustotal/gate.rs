//! The order in which requests get the rate budget (see [`Gate`]).

use std::collections::BTreeSet;
use std::sync::Mutex;

use tokio::sync::Notify;

/// Hands out the rate budget one request at a time, in a fixed order: continuations of
/// indicators already under way (uploads, analysis polls) before first requests for new ones,
/// then by place in the queue, so that an analysis never waits behind the whole queue.
#[derive(Default)]
pub struct Gate {
    state: Mutex<GateState>,
    changed: Notify,
}

#[derive(Default)]
struct GateState {
    busy: bool,
    next: u64,
    waiting: BTreeSet<(u64, u64)>,
}

/// A place in the gate's line; leaving the line (also by cancellation) lets the next one in.
pub struct Ticket<'a> {
    gate: &'a Gate,
    key: (u64, u64),
    admitted: bool,
}

impl Gate {
    /// Waits for the turn of a request of `rank` (lower first).
    pub async fn enter(&self, rank: u64) -> Ticket<'_> {
        let key = {
            let mut state = lock(&self.state);
            state.next += 1;
            let key = (rank, state.next);
            state.waiting.insert(key);
            key
        };
        let mut ticket = Ticket {
            gate: self,
            key,
            admitted: false,
        };
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut state = lock(&self.state);
                if !state.busy && state.waiting.first() == Some(&key) {
                    state.busy = true;
                    state.waiting.remove(&key);
                    ticket.admitted = true;
                    return ticket;
                }
            }
            changed.await;
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.gate.state);
        if self.admitted {
            state.busy = false;
        } else {
            state.waiting.remove(&self.key);
        }
        drop(state);
        self.gate.changed.notify_waiters();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_gate_lets_continuations_and_earlier_places_go_first() {
        let gate = Gate::default();
        let order = Mutex::new(Vec::new());
        let first = gate.enter(5).await;
        let waiter = |rank: u64| {
            let (gate, order) = (&gate, &order);
            async move {
                let _turn = gate.enter(rank).await;
                lock(order).push(rank);
                tokio::task::yield_now().await;
            }
        };
        // A waiter that gives up (cancelled) must not hold the line.
        let cancelled = tokio::time::timeout(Duration::from_millis(10), gate.enter(0)).await;
        assert!(cancelled.is_err());
        let all = async {
            tokio::join!(
                waiter(1 << 32 | 3),
                waiter(1 << 32 | 1),
                waiter(2),
                waiter(1 << 32 | 2)
            );
        };
        let release = async {
            tokio::task::yield_now().await;
            drop(first);
        };
        tokio::join!(all, release);
        assert_eq!(*lock(&order), vec![2, 1 << 32 | 1, 1 << 32 | 2, 1 << 32 | 3]);
    }
}
