//! Capped, jittered exponential backoff for reconnecting feeds: many control rooms restarting
//! together must not hammer a recovering Redis in lockstep.

use std::time::Duration;

pub struct Backoff {
    first: Duration,
    cap: Duration,
    next: Duration,
    rng: fastrand::Rng,
}

impl Backoff {
    pub fn new(first: Duration, cap: Duration) -> Backoff {
        Backoff {
            first,
            cap,
            next: first,
            rng: fastrand::Rng::new(),
        }
    }

    pub fn reset(&mut self) {
        self.next = self.first;
    }

    /// The next wait: the current step ±50 %, never above the cap; the step then doubles.
    pub fn next_wait(&mut self) -> Duration {
        let base = self.next.as_secs_f64();
        let jittered = base * (0.5 + self.rng.f64());
        self.next = (self.next * 2).min(self.cap);
        Duration::from_secs_f64(jittered).min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_and_never_passes_the_cap() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(5));
        let waits: Vec<Duration> = (0..12).map(|_| b.next_wait()).collect();
        assert!(
            waits[0] >= Duration::from_millis(250) && waits[0] <= Duration::from_millis(750),
            "{waits:?}"
        );
        assert!(
            waits.iter().all(|w| *w <= Duration::from_secs(5)),
            "{waits:?}"
        );
        assert!(
            waits[8..].iter().all(|w| *w >= Duration::from_millis(2500)),
            "{waits:?}"
        );
        b.reset();
        assert!(b.next_wait() <= Duration::from_millis(750));
    }
}
