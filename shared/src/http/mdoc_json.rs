//! The mDoc management API's wire forms, read and written here and nowhere else: path ids,
//! pagination (`limit`, the opaque `cursor`), request bodies into the services' typed inputs, and
//! the JSON of their answers. Refusals are MATTR's validation error (400, `details` naming each
//! field).

use serde_json::{Value, json};

use super::ApiError;
use crate::domain::configuration::Configuration;
use crate::domain::configuration::{self, ConfigurationInput, FieldError, object_fields};
use crate::domain::iaca::{self, IacaRequest};
use crate::domain::lifetime::Freshness;
use crate::domain::mdoc_status::MdocStatus;
use crate::domain::page::Page;
use crate::mdoc::iaca::IacaView;
use crate::mdoc::signers::{NewSigner, SignerView};
use crate::mdoc::{Registration, StatusListView};

/// `limit` of the listing endpoints: default and bounds.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

// ------------------------------------------------------------------------------- path ids

/// A path id (a configuration's, a status list's or an mDoc's), lower-cased, if it is a
/// hyphenated UUID.
pub fn path_uuid(value: &str) -> Option<String> {
    match uuid::Uuid::try_parse(value) {
        Ok(id) if id.hyphenated().to_string() == value.to_ascii_lowercase() => Some(id.hyphenated().to_string()),
        _ => None,
    }
}

/// A path id that must be a UUID; anything else is MATTR's 400: "Invalid id parameter format" for
/// the path parameter `id`, whatever the route calls it.
pub fn uuid_param(value: &str) -> Result<String, ApiError> {
    path_uuid(value).ok_or_else(|| {
        ApiError::validation(vec![FieldError {
            location: "path",
            param: "id".into(),
            msg: "Invalid id parameter format".into(),
            value: Value::String(value.into()),
        }])
    })
}

// ----------------------------------------------------------------------------- pagination

/// Pagination of the listing endpoints: `limit` (1 to 1000, default 100) and the opaque `cursor`
/// of a previous page's `nextCursor`.
#[derive(Clone, Debug, Default)]
pub struct PageQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

impl PageQuery {
    /// From the raw query string; `limit` or `cursor` given twice is a 400.
    pub fn from_raw(raw: Option<&str>) -> Result<PageQuery, ApiError> {
        let mut params = super::query_params(raw, &["limit", "cursor"]).map_err(|e| ApiError::validation(vec![e]))?;
        Ok(PageQuery {
            limit: params.remove("limit"),
            cursor: params.remove("cursor"),
        })
    }

    /// The limit and the id to continue after.
    pub fn parse(&self) -> Result<(usize, Option<String>), ApiError> {
        use base64::Engine;
        let mut errors = Vec::new();
        let query = |param: &str, msg: &str, value: &str| FieldError {
            location: "query",
            param: param.into(),
            msg: msg.into(),
            value: Value::String(value.into()),
        };
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    errors.push(query("limit", "must be an integer from 1 to 1000", v));
                    DEFAULT_LIMIT
                }
            },
        };
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => {
                let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(c)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| s.strip_prefix("after:").map(str::to_owned))
                    .filter(|id| uuid::Uuid::try_parse(id).is_ok());
                if decoded.is_none() {
                    errors.push(query("cursor", "is not a cursor this API returned", c));
                }
                decoded
            }
        };
        if errors.is_empty() {
            Ok((limit, after))
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

/// The opaque cursor continuing after `id`.
pub fn cursor_after(id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("after:{id}"))
}

/// A page as the API shows it: `{"data": [...], "nextCursor"?}`.
pub fn page_json<T>(page: &Page<T>, item: impl Fn(&T) -> Value) -> Value {
    let mut json = json!({ "data": page.items.iter().map(item).collect::<Vec<_>>() });
    if let Some(after) = &page.next_after {
        json["nextCursor"] = Value::String(cursor_after(after));
    }
    json
}

// ---------------------------------------------------------------------------------- bodies

/// The body of a configuration's create (`create`, where the docType is required) or update.
pub fn configuration_input(body: &Value, create: bool, freshness: &Freshness) -> Result<ConfigurationInput, ApiError> {
    configuration::parse(body, create, freshness).map_err(ApiError::validation)
}

/// The body of a registration: `{"docType": "..."}`.
pub fn doc_type_of(body: &Value) -> Result<String, ApiError> {
    let (map, mut errors) = object_fields(body, &["docType"]).map_err(ApiError::validation)?;
    match configuration::doc_type(map.get("docType"), true) {
        Ok(Some(d)) if errors.is_empty() => Ok(d),
        Ok(_) => Err(ApiError::validation(errors)),
        Err(e) => {
            errors.push(e);
            Err(ApiError::validation(errors))
        }
    }
}

/// The body of a status change: `{"status": "valid" | "suspended" | "invalid"}`.
pub fn status_of(body: &Value) -> Result<MdocStatus, ApiError> {
    let (map, mut errors) = object_fields(body, &["status"]).map_err(ApiError::validation)?;
    let value = map.get("status").cloned().unwrap_or(Value::Null);
    match serde_json::from_value::<MdocStatus>(value.clone()) {
        Ok(s) if errors.is_empty() => Ok(s),
        Ok(_) => Err(ApiError::validation(errors)),
        Err(_) => {
            errors.push(FieldError::body(
                "status",
                "must be one of valid, suspended, invalid",
                value,
            ));
            Err(ApiError::validation(errors))
        }
    }
}

/// The body of an IACA's create: a managed IACA's subject, or an unmanaged one's certificate.
pub fn iaca_request_of(body: &Value, now: i64) -> Result<IacaRequest, ApiError> {
    iaca::parse_request(body, now).map_err(ApiError::validation)
}

/// The body of an IACA's update: `{"active": true | false}`.
pub fn active_of(body: &Value) -> Result<bool, ApiError> {
    let (map, mut errors) = object_fields(body, &["active"]).map_err(ApiError::validation)?;
    let active = match map.get("active") {
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            errors.push(FieldError::body("active", "must be a boolean", other.clone()));
            None
        }
        None => {
            errors.push(FieldError::body("active", "is required", Value::Null));
            None
        }
    };
    active
        .filter(|_| errors.is_empty())
        .ok_or_else(|| ApiError::validation(errors))
}

/// The body of a signer's create: `{"iacaId": "<uuid>"}`.
pub fn new_signer_of(body: &Value) -> Result<NewSigner, ApiError> {
    let (map, mut errors) = object_fields(body, &["iacaId"]).map_err(ApiError::validation)?;
    let value = map.get("iacaId").cloned().unwrap_or(Value::Null);
    let request = match &value {
        Value::String(s) => path_uuid(s).map(|iaca_id| NewSigner {
            iaca_id,
            given: s.clone(),
        }),
        _ => None,
    };
    let Some(request) = request else {
        errors.push(FieldError::body(
            "iacaId",
            "must be the id (a UUID) of one of your IACAs",
            value,
        ));
        return Err(ApiError::validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(request)
}

/// The body of a signer's update: `{"certificatePem": "..."}`.
pub fn certificate_pem_of(body: &Value) -> Result<String, ApiError> {
    let (map, mut errors) = object_fields(body, &["certificatePem"]).map_err(ApiError::validation)?;
    let pem = match map.get("certificatePem") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(other) => {
            errors.push(FieldError::body(
                "certificatePem",
                "must be a PEM-encoded X.509 certificate",
                other.clone(),
            ));
            None
        }
        None => {
            errors.push(FieldError::body("certificatePem", "is required", Value::Null));
            None
        }
    };
    pem.filter(|_| errors.is_empty())
        .ok_or_else(|| ApiError::validation(errors))
}

// ------------------------------------------------------------------------------- answers

/// A configuration as the API shows it.
pub fn configuration_json(c: &Configuration) -> Value {
    json!({
        "id": c.id,
        "docType": c.doc_type,
        "timeToLiveDuration": c.time_to_live,
        "expiryDuration": c.expiry,
        "statusBits": c.bits,
    })
}

/// A registered mDoc as the API shows it.
pub fn registration_json(r: &Registration) -> Value {
    json!({
        "credentialId": r.credential_id,
        "docType": r.doc_type,
        "statusListConfigurationId": r.status_list_configuration_id,
        "statusListId": r.status_list_id,
        "idx": r.idx,
        "uri": r.uri,
        "status": r.status,
    })
}

/// A status list as the API shows it, with its token (base64url, `null` before the first).
pub fn status_list_json(v: &StatusListView) -> Value {
    use base64::Engine;
    json!({
        "id": v.list.list_id,
        // The IACA under which the token in place was signed (null before the first).
        "iacaId": v.list.published_iaca_id,
        "statusListConfigurationId": v.list.owner.as_ref().map(|o| o.configuration_id.clone()),
        "listSize": v.list.size,
        "uri": v.uri,
        "list": v.token.as_ref().map(|t| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t)),
    })
}

/// An IACA as the API shows it.
pub fn iaca_json(v: &IacaView) -> Value {
    let i = &v.iaca;
    json!({
        "id": i.id,
        "active": v.active,
        "isManaged": i.key_id.is_some(),
        "certificatePem": i.certificate_pem,
        "certificateData": i.certificate_data,
        "certificateFingerprint": i.fingerprint,
    })
}

/// A status list signer as the API shows it; `active` when it is the one signing the tenant's
/// lists now.
pub fn signer_json(v: &SignerView) -> Value {
    let s = &v.signer;
    let mut view = json!({
        "id": s.id,
        "iacaId": s.iaca_id,
        "active": v.active,
        "isManaged": s.managed,
    });
    if let Some(csr) = &s.csr_pem {
        view["csrPem"] = json!(csr);
    }
    if let Some(c) = &s.certificate {
        view["certificatePem"] = json!(c.pem);
        view["certificateData"] = json!({
            "notBefore": iaca::rfc3339(c.not_before),
            "notAfter": iaca::rfc3339(c.not_after),
        });
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(e: ApiError) -> Vec<(String, &'static str)> {
        e.details.into_iter().map(|d| (d.param, d.location)).collect()
    }

    #[test]
    fn pagination_queries() {
        let q = PageQuery::from_raw(None).unwrap().parse().unwrap();
        assert_eq!(q, (DEFAULT_LIMIT, None));
        let q = PageQuery::from_raw(Some("limit=1000&other=x"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(q, (1000, None));
        let id = uuid::Uuid::now_v7().to_string();
        let cursor = cursor_after(&id);
        assert!(!cursor.contains(&id), "opaque");
        let q = PageQuery::from_raw(Some(&format!("cursor={cursor}&limit=1")))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(q, (1, Some(id)));
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=1.5",
            "limit=",
            "cursor=x",
            "cursor=YWZ0ZXI6eA",
        ] {
            let e = PageQuery::from_raw(Some(bad)).unwrap().parse().unwrap_err();
            assert_eq!(e.status.as_u16(), 400, "{bad}");
            assert_eq!(params(e)[0].1, "query", "{bad}");
        }
        let e = PageQuery::from_raw(Some("limit=1&limit=2")).unwrap_err();
        assert_eq!(params(e), [("limit".to_string(), "query")]);
    }

    #[test]
    fn ids_are_canonical_uuids() {
        let id = uuid::Uuid::new_v4().to_string();
        assert_eq!(uuid_param(&id).unwrap(), id);
        for bad in [
            "",
            "x",
            "{00000000-0000-0000-0000-000000000000}",
            &id.to_uppercase(),
            &id.replace('-', ""),
        ] {
            if bad == id.to_uppercase() {
                // Upper case is the same UUID; it is accepted and read in canonical form.
                assert_eq!(uuid_param(bad).unwrap(), id);
                continue;
            }
            let e = uuid_param(bad).unwrap_err();
            assert_eq!(e.details[0].msg, "Invalid id parameter format", "{bad}");
            assert_eq!(params(e), [("id".to_string(), "path")], "{bad}");
        }
    }

    #[test]
    fn registration_and_status_bodies() {
        assert_eq!(doc_type_of(&json!({"docType": "d"})).unwrap(), "d");
        let e = doc_type_of(&json!({"docType": "", "x": 1})).unwrap_err();
        assert_eq!(params(e).len(), 2);
        assert!(doc_type_of(&json!({"docType": "x".repeat(1025)})).is_err());
        assert!(doc_type_of(&json!({"docType": 5})).is_err());
        assert!(doc_type_of(&json!("d")).is_err());
        assert_eq!(
            status_of(&json!({"status": "suspended"})).unwrap(),
            MdocStatus::Suspended
        );
        for bad in [
            json!({"status": "revoked"}),
            json!({}),
            json!({"status": "valid", "x": 1}),
            json!([1]),
        ] {
            assert_eq!(status_of(&bad).unwrap_err().status.as_u16(), 400, "{bad}");
        }
    }

    /// The bodies of the IACA and signer endpoints: every problem named, the id read canonical
    /// and kept as given (for the refusals that name it).
    #[test]
    fn iaca_and_signer_bodies() {
        assert!(active_of(&json!({"active": false})).is_ok_and(|a| !a));
        assert_eq!(
            params(active_of(&json!({"active": "yes", "x": 1})).unwrap_err()).len(),
            2
        );
        assert_eq!(
            params(active_of(&json!({})).unwrap_err()),
            [("active".to_string(), "body")]
        );
        let id = uuid::Uuid::new_v4().to_string();
        let upper = id.to_uppercase();
        let request = new_signer_of(&json!({"iacaId": upper})).unwrap();
        assert_eq!((request.iaca_id, request.given), (id.clone(), upper));
        assert_eq!(params(new_signer_of(&json!({"iacaId": "x"})).unwrap_err()).len(), 1);
        assert_eq!(
            params(new_signer_of(&json!({"iacaId": id, "y": 2})).unwrap_err()).len(),
            1
        );
        assert_eq!(certificate_pem_of(&json!({"certificatePem": "pem"})).unwrap(), "pem");
        assert!(certificate_pem_of(&json!({"certificatePem": " "})).is_err());
        assert!(certificate_pem_of(&json!({})).is_err());
    }
}
