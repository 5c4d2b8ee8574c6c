//! HTTP plumbing written once: body limits ([`body`]), the error type that maps to the wire
//! formats ([`error`]), the mDoc API's request plumbing ([`mdoc`]), and query parameters. The
//! endpoint table and the routers built from it are [`crate::routes`].

pub mod body;
pub mod error;
pub mod mdoc;
pub mod mdoc_json;

pub use error::ApiError;

/// The query parameters named in `known`, each at most once (others are ignored). A repeated one
/// is refused, naming it: which of the values was meant cannot be known.
pub fn query_params(
    raw: Option<&str>,
    known: &[&str],
) -> Result<std::collections::HashMap<String, String>, error::FieldError> {
    let mut out = std::collections::HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if !known.contains(&k.as_ref()) {
            continue;
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(error::FieldError {
                location: "query",
                param: k.to_string(),
                msg: "must be given at most once".into(),
                value: serde_json::Value::String(v.to_string()),
            });
        }
    }
    Ok(out)
}

/// The error body family of a path: MATTR's under the mDoc API's prefix, GOV.UK's elsewhere.
pub fn family_of(path: &str) -> error::Family {
    if path.starts_with("/v2/") {
        error::Family::Mattr
    } else {
        error::Family::GovUk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_given_once() {
        let p = query_params(Some("time=5&x=1&x=2"), &["time"]).unwrap();
        assert_eq!(p.get("time").map(String::as_str), Some("5"));
        assert_eq!(p.len(), 1);
        let e = query_params(Some("time=5&time=6"), &["time"]).unwrap_err();
        assert_eq!((e.param.as_str(), e.location), ("time", "query"));
        assert!(query_params(None, &["time"]).unwrap().is_empty());
        let p = query_params(Some("cursor=a%2Bb"), &["cursor"]).unwrap();
        assert_eq!(p["cursor"], "a+b");
    }

    #[test]
    fn the_error_family_follows_the_path() {
        assert_eq!(family_of("/v2/credentials/mobile/x"), error::Family::Mattr);
        assert_eq!(family_of("/issue"), error::Family::GovUk);
        assert_eq!(family_of("/t/ABC"), error::Family::GovUk);
    }
}
