//! `GET /t/{id}`: the published Status List Token, JWT or CWT by `Accept` (JWT when absent or
//! `*/*`; 406 for anything we cannot serve). Unknown lists are 404 and expired tokens 410.
//! `?time=<unix>` answers from the stored versions: the token with `iat <= time <= exp`, or 404.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::token::{CWT_MEDIA_TYPE, JWT_MEDIA_TYPE, TokenFormat};
use crate::http::ApiError;
use crate::publisher::PublishError;
use crate::publisher::{CurrentToken, PublishedTokens};
use crate::wiring::TokensApi;

/// The 404 of a token that is not published (or a malformed id).
pub const NOT_FOUND: &str = "Status List not found for endpoint uri";

/// MATTR's media type for the mDoc token.
pub const MATTR_CWT_MEDIA_TYPE: &str = "application/cwt";

/// How to label a CWT for an `Accept` header: `application/cwt` when it ranks that type above
/// `application/statuslist+cwt` (by q-value, RFC 9110 §12.5.1), else the spec's type.
pub fn cwt_label(accept: Option<&str>) -> &'static str {
    let q_of = |wanted: &str| {
        media_ranges(accept.unwrap_or_default())
            .filter(|(media, _)| media == wanted)
            .map(|(_, q)| q)
            .reduce(f32::max)
    };
    match (q_of(MATTR_CWT_MEDIA_TYPE), q_of(CWT_MEDIA_TYPE)) {
        (Some(mattr), spec) if mattr > 0.0 && mattr > spec.unwrap_or(0.0) => MATTR_CWT_MEDIA_TYPE,
        _ => CWT_MEDIA_TYPE,
    }
}

/// The media ranges of an `Accept` header, lower-cased, each with its q-value (1 when absent).
fn media_ranges(accept: &str) -> impl Iterator<Item = (String, f32)> + '_ {
    accept.split(',').map(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.trim().parse::<f32>().ok()))
            .next()
            .unwrap_or(1.0);
        (media, q)
    })
}

/// The format an `Accept` header asks for, by q-value (RFC 9110 §12.5.1); `None` if neither.
pub fn negotiate(accept: Option<&str>) -> Option<TokenFormat> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(TokenFormat::Jwt);
    };
    let mut best: Option<(f32, u8, TokenFormat)> = None;
    for (media, q) in media_ranges(accept) {
        if q <= 0.0 {
            continue;
        }
        // Specific types beat wildcards at equal q.
        let (specificity, format) = match media.as_str() {
            m if m == JWT_MEDIA_TYPE => (2, TokenFormat::Jwt),
            m if m == CWT_MEDIA_TYPE => (2, TokenFormat::Cwt),
            "application/*" | "*/*" => (1, TokenFormat::Jwt),
            _ => continue,
        };
        if best.is_none_or(|(bq, bs, _)| q > bq || (q == bq && specificity > bs)) {
            best = Some((q, specificity, format));
        }
    }
    best.map(|(_, _, f)| f)
}

fn read_failed(e: PublishError) -> ApiError {
    match e {
        PublishError::Objects(e) => e.into(),
        e => {
            tracing::warn!(error = %e, "token read failed");
            ApiError::internal("Unable to read the status list")
        }
    }
}

pub async fn get(
    State(api): State<TokensApi>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found(NOT_FOUND);
    if !crate::issuer::allocator::is_list_id(&id) {
        return Err(not_found());
    }
    let time_param = crate::http::query_params(query.as_deref(), &["time"])
        .map_err(|e| ApiError::bad_request(format!("{} {}", e.param, e.msg)))?
        .remove("time");
    let time = match time_param.as_deref() {
        None => None,
        Some(t) => Some(t.parse::<i64>().ok().filter(|t| *t >= 0).ok_or_else(|| {
            ApiError::bad_request("time must be a Unix timestamp in seconds (a non-negative integer)")
        })?),
    };
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = negotiate(accept).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            format!("Acceptable types are {JWT_MEDIA_TYPE} and {CWT_MEDIA_TYPE}"),
        )
    })?;
    serve(&api.tokens, &id, format, time).await
}

/// The stored token of `id` in `format` (at `time`, if given) with its headers: 404 when there is
/// none, 410 when the current one has expired.
pub async fn serve(
    tokens: &PublishedTokens,
    id: &str,
    format: TokenFormat,
    time: Option<i64>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found(NOT_FOUND);
    let object = match time {
        Some(time) => tokens
            .token_at(id, format, time)
            .await
            .map_err(read_failed)?
            .ok_or_else(|| ApiError::not_found("No Status List token was valid at the requested time"))?,
        None => match tokens.current(id, format, crate::clock::now()).await? {
            CurrentToken::Live(object) => object,
            CurrentToken::Expired => {
                return Err(ApiError::new(StatusCode::GONE, "GONE", "Status List token has expired"));
            }
            CurrentToken::Missing => return Err(not_found()),
        },
    };
    let cache = object.cache_control.unwrap_or_else(|| "no-cache".into());
    Ok((
        [
            (header::CONTENT_TYPE, format.media_type().to_string()),
            (header::CACHE_CONTROL, cache),
            (header::VARY, "Accept".into()),
        ],
        Body::from(object.body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cwt_is_labelled_as_accept_prefers() {
        assert_eq!(cwt_label(None), CWT_MEDIA_TYPE);
        assert_eq!(cwt_label(Some("*/*")), CWT_MEDIA_TYPE);
        assert_eq!(cwt_label(Some("application/json")), CWT_MEDIA_TYPE);
        assert_eq!(cwt_label(Some("application/cwt")), MATTR_CWT_MEDIA_TYPE);
        assert_eq!(cwt_label(Some("Application/CWT; charset=x")), MATTR_CWT_MEDIA_TYPE);
        assert_eq!(
            cwt_label(Some("application/statuslist+cwt, application/cwt")),
            CWT_MEDIA_TYPE
        );
        assert_eq!(
            cwt_label(Some("application/statuslist+cwt;q=0.5, application/cwt")),
            MATTR_CWT_MEDIA_TYPE
        );
        assert_eq!(cwt_label(Some("application/cwt;q=0")), CWT_MEDIA_TYPE);
    }

    #[test]
    fn accept_negotiation() {
        use TokenFormat::*;
        assert_eq!(negotiate(None), Some(Jwt));
        assert_eq!(negotiate(Some("")), Some(Jwt));
        assert_eq!(negotiate(Some("*/*")), Some(Jwt));
        assert_eq!(negotiate(Some("application/statuslist+jwt")), Some(Jwt));
        assert_eq!(negotiate(Some("application/statuslist+cwt")), Some(Cwt));
        assert_eq!(
            negotiate(Some("application/statuslist+jwt;q=0.5, application/statuslist+cwt")),
            Some(Cwt)
        );
        assert_eq!(negotiate(Some("*/*;q=0.1, application/statuslist+cwt")), Some(Cwt));
        assert_eq!(negotiate(Some("application/STATUSLIST+CWT")), Some(Cwt));
        assert_eq!(negotiate(Some("text/html")), None);
        assert_eq!(negotiate(Some("application/statuslist+cwt;q=0")), None);
        assert_eq!(negotiate(Some("application/json")), None);
    }
}
