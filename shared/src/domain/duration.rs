//! The mDoc management API's Duration object: `{years?, months?, weeks?, days?, hours?, minutes?,
//! seconds?}`, every field a non-negative integer. It sets a status list configuration's token
//! `ttl` (`timeToLiveDuration`) and lifetime (`expiryDuration`).
//!
//! Calendar units are fixed lengths: a year is 365 days and a month 30 days. A token's lifetime is
//! a number of seconds after `iat`, so it cannot follow the calendar, and fixed lengths make the
//! `ttl <= expiry` rule a plain comparison.

use serde::{Deserialize, Serialize};

/// Longest accepted duration: ten years. Longer token lifetimes would outlive any signing key.
pub const MAX_SECONDS: u64 = 10 * 365 * 86_400;

const UNITS: [(&str, u64); 7] = [
    ("years", 365 * 86_400),
    ("months", 30 * 86_400),
    ("weeks", 7 * 86_400),
    ("days", 86_400),
    ("hours", 3_600),
    ("minutes", 60),
    ("seconds", 1),
];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Duration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub years: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub months: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weeks: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
}

/// Why a value is not a Duration; the message is what the API reports as `msg`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("must be a Duration object with years, months, weeks, days, hours, minutes or seconds")]
    NotAnObject,
    #[error("{0} is not a Duration field")]
    UnknownField(String),
    #[error("{0} must be a non-negative integer")]
    NotANumber(String),
    #[error("must be longer than zero seconds")]
    Zero,
    #[error("must not exceed ten years")]
    TooLong,
}

impl Duration {
    /// Reads and validates a JSON value. Strict: unknown fields, fractions, negatives, strings
    /// and an all-zero duration are refused.
    pub fn from_json(value: &serde_json::Value) -> Result<Duration, DurationError> {
        let map = value.as_object().ok_or(DurationError::NotAnObject)?;
        let mut d = Duration::default();
        for (key, v) in map {
            let n = v.as_u64().ok_or_else(|| DurationError::NotANumber(key.clone()))?;
            let slot = match key.as_str() {
                "years" => &mut d.years,
                "months" => &mut d.months,
                "weeks" => &mut d.weeks,
                "days" => &mut d.days,
                "hours" => &mut d.hours,
                "minutes" => &mut d.minutes,
                "seconds" => &mut d.seconds,
                other => return Err(DurationError::UnknownField(other.to_string())),
            };
            *slot = Some(n);
        }
        match d.checked_seconds() {
            None => Err(DurationError::TooLong),
            Some(0) => Err(DurationError::Zero),
            Some(s) if s > MAX_SECONDS => Err(DurationError::TooLong),
            Some(_) => Ok(d),
        }
    }

    fn fields(&self) -> [Option<u64>; 7] {
        [
            self.years,
            self.months,
            self.weeks,
            self.days,
            self.hours,
            self.minutes,
            self.seconds,
        ]
    }

    fn checked_seconds(&self) -> Option<u64> {
        self.fields().iter().zip(UNITS).try_fold(0u64, |acc, (v, (_, unit))| {
            acc.checked_add(v.unwrap_or(0).checked_mul(unit)?)
        })
    }

    /// The length in seconds (valid durations never overflow).
    pub fn as_seconds(&self) -> u64 {
        self.checked_seconds().unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_add_up_with_fixed_calendar_units() {
        let d = Duration::from_json(&json!({"weeks": 1, "days": 2, "hours": 3, "minutes": 4, "seconds": 5})).unwrap();
        assert_eq!(d.as_seconds(), 9 * 86_400 + 3 * 3_600 + 4 * 60 + 5);
        assert_eq!(
            Duration::from_json(&json!({"years": 1})).unwrap().as_seconds(),
            365 * 86_400
        );
        assert_eq!(
            Duration::from_json(&json!({"months": 2})).unwrap().as_seconds(),
            60 * 86_400
        );
        assert_eq!(
            Duration::from_json(&json!({"days": 1, "hours": 0}))
                .unwrap()
                .as_seconds(),
            86_400
        );
    }

    #[test]
    fn bad_durations_are_refused_with_a_reason() {
        use DurationError::*;
        let cases = [
            (json!("1d"), NotAnObject),
            (json!(86400), NotAnObject),
            (json!(null), NotAnObject),
            (json!({}), Zero),
            (json!({"days": 0}), Zero),
            (json!({"days": -1}), NotANumber("days".into())),
            (json!({"days": 1.5}), NotANumber("days".into())),
            (json!({"days": "1"}), NotANumber("days".into())),
            (json!({"fortnights": 1}), UnknownField("fortnights".into())),
            (json!({"years": 11}), TooLong),
            (json!({"seconds": u64::MAX}), TooLong),
            (json!({"years": u64::MAX}), TooLong),
        ];
        for (value, expected) in cases {
            assert_eq!(Duration::from_json(&value), Err(expected), "{value}");
        }
    }

    #[test]
    fn serialises_only_the_fields_given() {
        let d = Duration::from_json(&json!({"days": 1, "hours": 12})).unwrap();
        assert_eq!(serde_json::to_value(d).unwrap(), json!({"days": 1, "hours": 12}));
    }
}
