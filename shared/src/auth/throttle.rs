//! Sign-in throttling: after [`MAX_FAILURES`] failures within [`WINDOW_SECONDS`] the email is
//! locked for [`LOCKOUT_SECONDS`]. Kept per email whether or not an account exists, so the
//! lockout itself reveals nothing about which emails are registered.

use serde::{Deserialize, Serialize};

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW_SECONDS: i64 = 15 * 60;
pub const LOCKOUT_SECONDS: i64 = 15 * 60;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleState {
    pub failures: u32,
    pub window_start: i64,
    pub locked_until: Option<i64>,
}

impl ThrottleState {
    /// Seconds until sign-in is allowed again, if locked now.
    pub fn locked_for(&self, now: i64) -> Option<u64> {
        self.locked_until.filter(|until| *until > now).map(|until| (until - now) as u64)
    }

    /// Records a failure; returns true when this failure starts a lockout.
    pub fn record_failure(&mut self, now: i64) -> bool {
        if now - self.window_start > WINDOW_SECONDS || self.locked_until.is_some_and(|u| u <= now) {
            *self = ThrottleState { failures: 0, window_start: now, locked_until: None };
        }
        self.failures += 1;
        if self.failures >= MAX_FAILURES {
            self.locked_until = Some(now + LOCKOUT_SECONDS);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_and_unlocks_after_the_lockout() {
        let mut s = ThrottleState::default();
        let t0 = 1_000_000;
        for i in 0..MAX_FAILURES - 1 {
            assert!(!s.record_failure(t0 + i as i64));
            assert_eq!(s.locked_for(t0 + i as i64), None);
        }
        assert!(s.record_failure(t0 + 10));
        assert_eq!(s.locked_for(t0 + 10), Some(LOCKOUT_SECONDS as u64));
        assert_eq!(s.locked_for(t0 + 10 + LOCKOUT_SECONDS), None);
        assert!(!s.record_failure(t0 + 10 + LOCKOUT_SECONDS), "a new window starts after the lockout");
        assert_eq!(s.failures, 1);
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_lock() {
        let mut s = ThrottleState::default();
        for i in 0..10 {
            assert!(!s.record_failure(1_000_000 + i * (WINDOW_SECONDS + 1)));
        }
        assert!(s.locked_until.is_none());
    }
}
