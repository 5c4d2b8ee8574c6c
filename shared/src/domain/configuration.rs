//! A status list configuration of the mDoc API (one per docType per tenant): its request body,
//! validated field by field so that every problem is reported at once, the way the API's
//! `details` array lists them.

use serde::Serialize;
use serde_json::Value;

use crate::domain::duration::Duration;
use crate::domain::lifetime::Freshness;

/// Longest docType accepted, in characters.
pub const MAX_DOC_TYPE_CHARS: usize = 1024;

/// One invalid field: the API's `details` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub location: &'static str,
    pub param: String,
    pub msg: String,
    pub value: Value,
}

impl FieldError {
    pub fn body(param: &str, msg: impl Into<String>, value: Value) -> Self {
        FieldError {
            location: "body",
            param: param.into(),
            msg: msg.into(),
            value,
        }
    }
}

/// What a configuration sets: its docType (fixed after creation) and token lifetimes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigurationInput {
    pub doc_type: String,
    pub time_to_live: Duration,
    pub expiry: Duration,
    /// `statusBits`: 1 (valid/invalid, the current format) or 2 (also suspended, the legacy
    /// format); `None` when the body leaves it out. Fixed after creation.
    pub bits: Option<u8>,
}

fn duration(body: &serde_json::Map<String, Value>, param: &str, errors: &mut Vec<FieldError>) -> Option<Duration> {
    match body.get(param) {
        None | Some(Value::Null) => {
            errors.push(FieldError::body(param, "is required", Value::Null));
            None
        }
        Some(v) => match Duration::from_json(v) {
            Ok(d) => Some(d),
            Err(e) => {
                errors.push(FieldError::body(param, format!("must be a Duration: {e}"), v.clone()));
                None
            }
        },
    }
}

/// A body's object and the details entries of its unknown fields.
pub type Fields<'a> = (&'a serde_json::Map<String, Value>, Vec<FieldError>);

/// A body that must be a JSON object with only `known` fields: the object, and one details entry
/// per unknown field (so they are reported with the other problems); `Err` if it is no object.
pub fn object_fields<'a>(body: &'a Value, known: &[&str]) -> Result<Fields<'a>, Vec<FieldError>> {
    let Some(map) = body.as_object() else {
        return Err(vec![FieldError::body("body", "must be a JSON object", body.clone())]);
    };
    let unknown = map
        .iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| FieldError::body(k, "is not a known field", v.clone()))
        .collect();
    Ok((map, unknown))
}

/// The `docType` field: a string of 1 to [`MAX_DOC_TYPE_CHARS`] characters. `Ok(None)` when it
/// is absent and not `required`.
pub fn doc_type(value: Option<&Value>, required: bool) -> Result<Option<String>, FieldError> {
    match value {
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= MAX_DOC_TYPE_CHARS => Ok(Some(s.clone())),
        Some(Value::String(s)) if s.is_empty() => Err(FieldError::body(
            "docType",
            "must not be empty",
            Value::String(s.clone()),
        )),
        Some(Value::String(s)) => Err(FieldError::body(
            "docType",
            format!("must be at most {MAX_DOC_TYPE_CHARS} characters"),
            Value::String(s.clone()),
        )),
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(FieldError::body("docType", "is required", Value::Null)),
        Some(other) => Err(FieldError::body("docType", "must be a string", other.clone())),
    }
}

/// Reads a create (`require_doc_type`) or update body. Unknown fields are refused; an update may
/// repeat the configuration's docType but not change it (the caller compares). The expiry must be
/// one the re-signer keeps fresh at its cadence (`freshness`).
pub fn parse(
    body: &Value,
    require_doc_type: bool,
    freshness: &Freshness,
) -> Result<ConfigurationInput, Vec<FieldError>> {
    let (map, mut errors) = object_fields(body, &["docType", "timeToLiveDuration", "expiryDuration", "statusBits"])?;
    let doc_type = match doc_type(map.get("docType"), require_doc_type) {
        Ok(d) => Some(d.unwrap_or_default()),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let bits = match map.get("statusBits") {
        None | Some(Value::Null) => None,
        Some(v) if v.as_u64() == Some(1) || v.as_u64() == Some(2) => v.as_u64().map(|b| b as u8),
        Some(v) => {
            errors.push(FieldError::body("statusBits", "must be 1 or 2", v.clone()));
            None
        }
    };
    let ttl = duration(map, "timeToLiveDuration", &mut errors);
    let expiry = duration(map, "expiryDuration", &mut errors);
    if let (Some(t), Some(e)) = (ttl, expiry)
        && t.as_seconds() > e.as_seconds()
    {
        errors.push(FieldError::body(
            "timeToLiveDuration",
            "must not exceed expiryDuration",
            serde_json::to_value(t).unwrap_or(Value::Null),
        ));
    }
    if let Some(e) = expiry
        && let Err(too_short) = freshness.check(i64::try_from(e.as_seconds()).unwrap_or(i64::MAX))
    {
        errors.push(FieldError::body(
            "expiryDuration",
            too_short.to_string(),
            serde_json::to_value(e).unwrap_or(Value::Null),
        ));
    }
    match (doc_type, ttl, expiry) {
        (Some(doc_type), Some(time_to_live), Some(expiry)) if errors.is_empty() => Ok(ConfigurationInput {
            doc_type,
            time_to_live,
            expiry,
            bits,
        }),
        _ => Err(errors),
    }
}

/// A status list configuration: how the lists of one docType of one tenant are published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Configuration {
    pub id: String,
    pub tenant_id: String,
    pub doc_type: String,
    pub time_to_live: crate::domain::duration::Duration,
    pub expiry: crate::domain::duration::Duration,
    /// Bits per entry of its lists: 1 (valid/invalid) or 2 (also suspended).
    pub bits: u8,
    pub created_at: i64,
}

impl Configuration {
    pub fn lifetime(&self) -> crate::domain::lifetime::Lifetime {
        crate::domain::lifetime::Lifetime {
            ttl: self.time_to_live.as_seconds(),
            validity: self.expiry.as_seconds() as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(r: Result<ConfigurationInput, Vec<FieldError>>) -> Vec<String> {
        r.unwrap_err().into_iter().map(|e| e.param).collect()
    }

    const HOURLY: Freshness = Freshness {
        interval: 3600,
        slack: 300,
    };

    /// The deployed cadence: hourly passes.
    fn parse(body: &Value, require_doc_type: bool) -> Result<ConfigurationInput, Vec<FieldError>> {
        super::parse(body, require_doc_type, &HOURLY)
    }

    #[test]
    fn an_expiry_the_re_signer_cannot_keep_fresh_is_refused() {
        let e = parse(
            &json!({"docType": "d", "timeToLiveDuration": {"seconds": 1}, "expiryDuration": {"seconds": 1}}),
            true,
        )
        .unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].param, "expiryDuration");
        assert_eq!(e[0].value, json!({"seconds": 1}));
        assert!(
            e[0].msg
                .starts_with("must be at least 7560 seconds: tokens are re-signed every 3600 seconds"),
            "{}",
            e[0].msg
        );
        // Two hours and six minutes is the shortest at hourly passes; a faster cadence allows less.
        let shortest =
            json!({"docType": "d", "timeToLiveDuration": {"hours": 1}, "expiryDuration": {"hours": 2, "minutes": 6}});
        assert!(parse(&shortest, true).is_ok());
        let hour = json!({"docType": "d", "timeToLiveDuration": {"hours": 1}, "expiryDuration": {"hours": 1}});
        assert_eq!(params(parse(&hour, true)), ["expiryDuration"]);
        let fast = Freshness {
            interval: 20,
            slack: 300,
        };
        assert!(super::parse(&hour, true, &fast).is_ok());
    }

    #[test]
    fn a_valid_body() {
        let c = parse(
            &json!({"docType": "org.iso.18013.5.1.mDL", "timeToLiveDuration": {"days": 1}, "expiryDuration": {"days": 2}}),
            true,
        )
        .unwrap();
        assert_eq!(c.doc_type, "org.iso.18013.5.1.mDL");
        assert_eq!(c.bits, None);
        assert_eq!((c.time_to_live.as_seconds(), c.expiry.as_seconds()), (86_400, 172_800));
        // Equal ttl and expiry are allowed.
        assert!(
            parse(
                &json!({"docType": "d", "timeToLiveDuration": {"hours": 24}, "expiryDuration": {"days": 1}}),
                true
            )
            .is_ok()
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let r = parse(&json!({"docType": "", "timeToLiveDuration": "abc", "extra": 1}), true);
        assert_eq!(params(r), ["extra", "docType", "timeToLiveDuration", "expiryDuration"]);
        let r = parse(
            &json!({"docType": 7, "timeToLiveDuration": {"days": 3}, "expiryDuration": {"days": 2}}),
            true,
        );
        assert_eq!(params(r), ["docType", "timeToLiveDuration"]);
        let long = "x".repeat(MAX_DOC_TYPE_CHARS + 1);
        let r = parse(
            &json!({"docType": long, "timeToLiveDuration": {"days": 1}, "expiryDuration": {"days": 1}}),
            true,
        );
        assert_eq!(params(r), ["docType"]);
        assert_eq!(params(parse(&json!([1]), true)), ["body"]);
        let r = parse(
            &json!({"docType": "d", "timeToLiveDuration": {"days": 1}, "expiryDuration": {"days": 1}, "statusBits": 4}),
            true,
        );
        assert_eq!(params(r), ["statusBits"]);
        let two =
            json!({"docType": "d", "timeToLiveDuration": {"days": 1}, "expiryDuration": {"days": 1}, "statusBits": 2});
        assert_eq!(parse(&two, true).unwrap().bits, Some(2));
    }

    #[test]
    fn the_details_entry_shape() {
        let e = &parse(
            &json!({"docType": "d", "timeToLiveDuration": "abc", "expiryDuration": {"days": 1}}),
            true,
        )
        .unwrap_err()[0];
        let v = serde_json::to_value(e).unwrap();
        assert_eq!(v["location"], "body");
        assert_eq!(v["param"], "timeToLiveDuration");
        assert_eq!(v["value"], "abc");
        assert!(v["msg"].as_str().unwrap().starts_with("must be a Duration"));
    }

    #[test]
    fn an_update_may_omit_the_doc_type() {
        let c = parse(
            &json!({"timeToLiveDuration": {"days": 1}, "expiryDuration": {"days": 1}}),
            false,
        )
        .unwrap();
        assert_eq!(c.doc_type, "");
        assert_eq!(
            params(parse(&json!({"timeToLiveDuration": {"days": 1}}), false)),
            ["expiryDuration"]
        );
    }
}
