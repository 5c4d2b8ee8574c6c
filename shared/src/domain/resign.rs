//! Spreading re-signing over time, and knowing when a list no longer needs it.
//!
//! A scheduled pass does not sign: it queues one job per due list, each delivered after its own
//! delay, so the lists are signed one after another at no more than a configured rate of KMS
//! `Sign` calls (the ECC quota is account-wide) and each token gets its own `iat` (no lockstep
//! expiry across lists). The delays are spaced evenly, most urgent list first, within the pass's
//! slack (the time a pass may take to reach a list, part of every re-signing margin, see
//! [`crate::domain::lifetime`]). Lists that do not fit in that window at that rate wait for the
//! next pass; the pass reports them, and they count against the freshness alarm.
//!
//! A list is *retired* once it is closed for allocation and every entry's `statusExpiry` has
//! passed: no credential points at it any more, so its token is left to expire.

/// KMS `Sign` calls per list re-signed: its JWT and its CWT.
pub const SIGNS_PER_LIST: u64 = 2;

/// The longest delivery delay a queue offers (SQS: 15 minutes).
pub const MAX_DELAY: u64 = 900;

/// Status horizons are kept at day granularity, so a list's horizon moves at most once a day
/// (one conditional write), however many credentials are issued into it.
pub const HORIZON_STEP: i64 = 86_400;

/// How long after its horizon a closed list is still re-signed. An issuance can land in a list
/// only while the allocator's cached view still shows it open (seconds after it closes), and any
/// entry placed raises the horizon beyond the time it was placed; this leaves a day for clocks
/// and caches.
pub const HORIZON_GRACE: i64 = 86_400;

/// The horizon recorded for an entry expiring at `status_expiry`: rounded up to the next step.
/// `None` for an entry without expiry (0: mDocs), which keeps its list re-signed while it exists.
pub fn horizon_for(status_expiry: i64) -> Option<i64> {
    (status_expiry > 0).then(|| status_expiry.div_euclid(HORIZON_STEP) * HORIZON_STEP + HORIZON_STEP)
}

/// Whether a list is past needing fresh tokens at `now`: closed, and past its horizon (with
/// the grace). A list with no recorded horizon (an mDoc list, or one from before horizons were
/// recorded) never is.
pub fn retired(open: bool, status_horizon: Option<i64>, now: i64) -> bool {
    !open && status_horizon.is_some_and(|h| h + HORIZON_GRACE < now)
}

/// A list a pass found due, with the `exp` of its token in place (0: none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub list_id: String,
    pub published_exp: i64,
}

/// The jobs of one pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    /// (list, delay in seconds), in delivery order.
    pub jobs: Vec<(Due, u64)>,
    /// Due lists beyond what the window holds at the rate: left for the next pass.
    pub deferred: Vec<Due>,
}

/// Spaces `due` lists over `window` seconds (capped at [`MAX_DELAY`]) so that at most
/// `sign_rate` KMS `Sign` calls a second are made: list `i` is delayed by
/// `i * SIGNS_PER_LIST / sign_rate` seconds. The lists whose tokens expire first (none at all
/// first) go first. A rate of 0 is treated as 1.
pub fn schedule(mut due: Vec<Due>, sign_rate: u64, window: u64) -> Schedule {
    let rate = sign_rate.max(1);
    let window = window.clamp(1, MAX_DELAY);
    due.sort_by(|a, b| (a.published_exp, &a.list_id).cmp(&(b.published_exp, &b.list_id)));
    // i * SIGNS_PER_LIST / rate < window  <=>  i < window * rate / SIGNS_PER_LIST
    let capacity = usize::try_from((window * rate).div_ceil(SIGNS_PER_LIST)).unwrap_or(usize::MAX);
    let deferred = if due.len() > capacity {
        due.split_off(capacity)
    } else {
        Vec::new()
    };
    let jobs = due
        .into_iter()
        .enumerate()
        .map(|(i, d)| (d, i as u64 * SIGNS_PER_LIST / rate))
        .collect();
    Schedule { jobs, deferred }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(n: usize) -> Vec<Due> {
        (0..n)
            .map(|i| Due {
                list_id: format!("L{i:05}"),
                published_exp: 10_000 - i as i64,
            })
            .collect()
    }

    #[test]
    fn jobs_are_spaced_to_the_rate_most_urgent_first() {
        let s = schedule(due(10), 4, 300);
        // 2 signs a list at 4 a second: two lists a second.
        let delays: Vec<u64> = s.jobs.iter().map(|(_, d)| *d).collect();
        assert_eq!(delays, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
        // The list expiring first (L00009, exp 9_991) goes first.
        assert_eq!(s.jobs[0].0.list_id, "L00009");
        assert_eq!(s.jobs[9].0.list_id, "L00000");
        assert!(s.deferred.is_empty());
        // Never more than `rate` signs in any second.
        for second in 0..5 {
            let signs = delays.iter().filter(|d| **d == second).count() as u64 * SIGNS_PER_LIST;
            assert!(signs <= 4, "{signs} signs in second {second}");
        }
    }

    #[test]
    fn what_the_window_cannot_hold_waits_for_the_next_pass() {
        // 300 s at 10 signs a second: 1,500 lists.
        let s = schedule(due(2_000), 10, 300);
        assert_eq!(s.jobs.len(), 1_500);
        assert_eq!(s.deferred.len(), 500);
        assert!(s.jobs.iter().all(|(_, d)| *d < 300));
        // The deferred are the ones expiring last.
        let last_job = s.jobs.iter().map(|(d, _)| d.list_id.clone()).max().unwrap();
        assert!(s.deferred.iter().all(|d| d.list_id < last_job));
        // The queue's longest delay caps the window.
        let s = schedule(due(100_000), 100, 3_600);
        assert_eq!(s.jobs.len(), 45_000);
        assert!(s.jobs.iter().all(|(_, d)| *d < MAX_DELAY));
    }

    #[test]
    fn never_published_lists_go_first_and_a_zero_rate_still_moves() {
        let mut d = due(3);
        d.push(Due {
            list_id: "NEW".into(),
            published_exp: 0,
        });
        let s = schedule(d, 0, 300);
        assert_eq!((s.jobs[0].0.list_id.as_str(), s.jobs[0].1), ("NEW", 0));
        assert_eq!(s.jobs[1].1, 2);
        assert_eq!(schedule(Vec::new(), 5, 300), Schedule::default());
    }

    #[test]
    fn horizons_round_up_to_the_day_and_retire_closed_lists_only() {
        assert_eq!(horizon_for(0), None);
        assert_eq!(horizon_for(1), Some(HORIZON_STEP));
        assert_eq!(horizon_for(HORIZON_STEP - 1), Some(HORIZON_STEP));
        assert_eq!(horizon_for(HORIZON_STEP), Some(2 * HORIZON_STEP));
        let h = Some(1_000_000);
        let after = 1_000_000 + HORIZON_GRACE + 1;
        assert!(retired(false, h, after));
        assert!(!retired(false, h, after - 1), "within the grace");
        assert!(!retired(true, h, after), "an open list is always kept fresh");
        assert!(!retired(false, None, i64::MAX / 2), "no horizon: kept");
    }
}
