//! How long a status list token lives, and how the re-signer keeps every published token
//! servable until it is replaced.
//!
//! A token is written once with a fixed `Cache-Control: max-age`; a cache (CloudFront, or a
//! relying party's HTTP cache) that fetches it at any moment may keep it that long. So the
//! token in place must always have at least `max-age` of validity left. The re-signer runs every
//! `interval` seconds, and a pass may reach a list up to `slack` late ([`RESIGN_SLACK`] by
//! default); it re-signs a list whose remaining validity is under [`Freshness::margin`] =
//! `max-age + interval + slack`,
//! so until the next pass every fetch still gets `max-age` or more. A fresh token has its whole
//! validity left, so `max-age` is at most `validity - margin`: [`Freshness::max_age`] is
//! `min(ttl, validity - 2 * interval - slack)`, and a lifetime whose `max-age` would fall under
//! [`MIN_MAX_AGE`] cannot be kept fresh and is refused ([`Freshness::check`]).

use std::fmt;

/// How long a list's tokens live: `ttl` (how long relying parties may cache) and the lifetime
/// `exp - iat`, with `ttl <= validity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetime {
    pub ttl: u64,
    pub validity: i64,
}

/// The default slack: the longest a re-signing pass may take to reach a list (the re-signer's
/// timeout), plus the schedule's delivery delay. Part of every margin.
pub const RESIGN_SLACK: i64 = 300;

/// The shortest `Cache-Control: max-age` a token is published with; a lifetime that leaves less
/// is refused.
pub const MIN_MAX_AGE: i64 = 60;

/// The re-signing cadence the lifetimes are checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Freshness {
    /// Seconds between two scheduled re-signing passes.
    pub interval: i64,
    /// How late a pass may reach a list (see [`RESIGN_SLACK`]).
    pub slack: i64,
}

/// Why a lifetime cannot be kept fresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TooShort {
    pub validity: i64,
    pub minimum: i64,
    pub interval: i64,
}

impl fmt::Display for TooShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "must be at least {} seconds: tokens are re-signed every {} seconds and each must stay servable \
             for at least {MIN_MAX_AGE} seconds between two passes",
            self.minimum, self.interval
        )
    }
}

impl Freshness {
    /// The margin a token of cache lifetime `max_age` is re-signed within.
    pub fn margin(&self, max_age: u64) -> i64 {
        i64::try_from(max_age).unwrap_or(i64::MAX / 4) + self.interval + self.slack
    }

    /// The `Cache-Control: max-age` of a token of `lifetime`: its `ttl`, cut so that a fresh
    /// token stays outside the re-signing margin for a whole interval. 0 (no caching) for a
    /// lifetime too short to keep fresh (one stored before [`Freshness::check`] refused it).
    pub fn max_age(&self, lifetime: Lifetime) -> u64 {
        let room = lifetime.validity - 2 * self.interval - self.slack;
        lifetime.ttl.min(u64::try_from(room).unwrap_or(0))
    }

    /// The shortest validity this cadence keeps fresh.
    pub fn min_validity(&self) -> i64 {
        2 * self.interval + self.slack + MIN_MAX_AGE
    }

    /// Whether tokens of `validity` can be kept fresh at this cadence.
    pub fn check(&self, validity: i64) -> Result<(), TooShort> {
        if validity >= self.min_validity() {
            Ok(())
        } else {
            Err(TooShort {
                validity,
                minimum: self.min_validity(),
                interval: self.interval,
            })
        }
    }

    /// Whether a pass at `now` re-signs a list whose token in place expires at `published_exp`
    /// (0: none) with cache lifetime `in_place_max_age`, when its current lifetime is `current`.
    /// The margin covers the longer of the two cache lifetimes: the one in place (what caches
    /// may hold now) and the current one (so a lengthened configuration is applied early).
    pub fn due(&self, published_exp: i64, in_place_max_age: u64, current: Lifetime, now: i64) -> bool {
        let max_age = in_place_max_age.max(self.max_age(current));
        published_exp - now < self.margin(max_age)
    }
}

/// GOV.UK's token ttl (12 h): how long relying parties may cache.
pub const DEFAULT_TTL: u64 = 43_200;
/// Token lifetime: twice the ttl, so a cached token never outlives its `exp`.
pub const DEFAULT_VALIDITY: i64 = 86_400;

#[cfg(test)]
mod tests {
    use super::*;

    const HOURLY: Freshness = Freshness {
        interval: 3600,
        slack: RESIGN_SLACK,
    };

    fn lifetime(ttl: u64, validity: i64) -> Lifetime {
        Lifetime { ttl, validity }
    }

    #[test]
    fn max_age_is_the_ttl_when_the_validity_leaves_room() {
        // GOV.UK's defaults: 12 h ttl, 24 h validity.
        assert_eq!(HOURLY.max_age(lifetime(43_200, 86_400)), 43_200);
        // MATTR's example: 1 day ttl, 2 days expiry.
        assert_eq!(HOURLY.max_age(lifetime(86_400, 172_800)), 86_400);
        // ttl == expiry: cut to leave two passes and the slack.
        assert_eq!(HOURLY.max_age(lifetime(86_400, 86_400)), 86_400 - 7_200 - 300);
        // Too short to keep fresh: no caching.
        assert_eq!(HOURLY.max_age(lifetime(1, 1)), 0);
        assert_eq!(HOURLY.max_age(lifetime(3_600, 7_000)), 0);
    }

    #[test]
    fn lifetimes_under_two_passes_are_refused() {
        assert_eq!(HOURLY.min_validity(), 7_560);
        assert!(HOURLY.check(7_560).is_ok());
        let refused = HOURLY.check(7_559).unwrap_err();
        assert_eq!(refused.minimum, 7_560);
        assert!(
            refused.to_string().starts_with("must be at least 7560 seconds"),
            "{refused}"
        );
        assert!(
            Freshness {
                interval: 20,
                slack: 300
            }
            .check(3_600)
            .is_ok()
        );
    }

    /// Every second of a simulated week, across configuration changes (shortened, lengthened,
    /// ttl equal to expiry), passes running late by up to the slack: the token in place always
    /// has at least its own max-age left, so no cache ever holds it past `exp`.
    #[test]
    fn a_token_in_place_always_outlives_its_max_age() {
        let f = Freshness {
            interval: 600,
            slack: RESIGN_SLACK,
        };
        let lifetimes = [
            lifetime(3_600, 7_200),
            lifetime(600, 2_000),
            lifetime(7_200, 7_200),
            lifetime(60, 86_400),
            lifetime(3_000, 3_000),
        ];
        // How late each pass reaches the list: always on time, always the slack late, and
        // varying (on time after a late pass makes the longest gap, interval + slack).
        let schedules: [fn(i64) -> i64; 3] = [|_| 0, |_| RESIGN_SLACK, |k| (k * 7_919) % (RESIGN_SLACK + 1)];
        for late in schedules {
            // (exp, max_age) of the token in place.
            let publish = |now: i64, l: Lifetime| (now + l.validity, f.max_age(l));
            let mut current = lifetimes[0];
            let mut in_place = publish(0, current);
            let mut pass = 0;
            let mut changes = lifetimes.iter().cycle().skip(1);
            for t in 0..7 * 86_400 {
                if t % 20_000 == 0 && t > 0 {
                    current = *changes.next().unwrap();
                }
                if t == pass * f.interval + late(pass) {
                    if f.due(in_place.0, in_place.1, current, t) {
                        in_place = publish(t, current);
                    }
                    pass += 1;
                }
                let (exp, max_age) = in_place;
                assert!(
                    exp - t >= max_age as i64,
                    "t={t}: {} s left, max-age {max_age}",
                    exp - t
                );
            }
            assert!(pass > 1000);
        }
    }

    #[test]
    fn shortening_or_lengthening_applies_at_the_next_due_pass() {
        // In place: 1 day max-age, 2 days validity, published at 0.
        let (exp, max_age) = (172_800, 86_400);
        // Shortened to 1 h / 3 h: the token in place still bounds the margin (caches may hold it
        // for a day), so it is re-signed a day and a pass before it expires, not earlier.
        let short = lifetime(3_600, 10_800);
        assert!(!HOURLY.due(exp, max_age, short, 0));
        assert!(!HOURLY.due(exp, max_age, short, exp - HOURLY.margin(max_age)));
        assert!(HOURLY.due(exp, max_age, short, exp - HOURLY.margin(max_age) + 1));
        // Lengthened to 3 days / 6 days: re-signed as soon as the longer max-age needs it.
        let long = lifetime(259_200, 518_400);
        assert!(HOURLY.due(exp, max_age, long, 0));
        // Never published: due at once.
        assert!(HOURLY.due(0, 0, short, 1_000_000));
    }
}
