//! The mDoc management API's endpoints (`/v2/credentials/mobile/...`). Each is a thin adapter:
//! path, query and body in, one [`MdocService`](crate::mdoc::MdocService) call between its
//! analytic events (see [`crate::http::mdoc::observe`]).

use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::now;
use crate::http::body;
use crate::http::mdoc::{Reply, RequestId, observe};
use crate::mdoc::events::Operation as Op;
use crate::mdoc::{PageQuery, Principal};
use crate::wiring::{IacaApi, MdocApi, MdocListsApi, MdocPublicApi, SignerApi};

pub async fn create_configuration(
    State(api): State<MdocApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    req: Body,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::ConfigurationCreate,
        Some(&p),
        &rid,
        json!({}),
        async {
            let body = body::json(&headers, req, api.max_body_bytes).await?;
            let c = api.mdoc.create_configuration(&p, &body, now()).await?;
            Ok(Reply::Json(StatusCode::CREATED, c))
        },
    )
    .await
}

pub async fn list_configurations(
    State(api): State<MdocApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Response {
    let start = json!({ "query": query });
    observe(
        api.analytics.as_ref(),
        Op::ConfigurationRetrieveList,
        Some(&p),
        &rid,
        start,
        async {
            let q = PageQuery::from_raw(query.as_deref())?;
            Ok(Reply::Json(StatusCode::OK, api.mdoc.list_configurations(&p, &q).await?))
        },
    )
    .await
}

pub async fn get_configuration(
    State(api): State<MdocApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::ConfigurationRetrieve,
        Some(&p),
        &rid,
        json!({ "id": id }),
        async { Ok(Reply::Json(StatusCode::OK, api.mdoc.get_configuration(&p, &id).await?)) },
    )
    .await
}

pub async fn update_configuration(
    State(api): State<MdocApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    req: Body,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::ConfigurationUpdate,
        Some(&p),
        &rid,
        json!({ "id": id }),
        async {
            let body = body::json(&headers, req, api.max_body_bytes).await?;
            Ok(Reply::Json(
                StatusCode::OK,
                api.mdoc.update_configuration(&p, &id, &body).await?,
            ))
        },
    )
    .await
}

pub async fn delete_configuration(
    State(api): State<MdocApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::ConfigurationDelete,
        Some(&p),
        &rid,
        json!({ "id": id }),
        async {
            api.mdoc.delete_configuration(&p, &id).await?;
            Ok(Reply::Empty {
                data: json!({ "id": id }),
            })
        },
    )
    .await
}

pub async fn list_status_lists(
    State(api): State<MdocListsApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Response {
    let start = json!({ "query": query });
    observe(
        api.analytics.as_ref(),
        Op::StatusListRetrieveList,
        Some(&p),
        &rid,
        start,
        async {
            let q = PageQuery::from_raw(query.as_deref())?;
            let page = api.mdoc.list_status_lists(&api.views, &p, &q).await?;
            let ids: Vec<_> = page["data"]
                .as_array()
                .map(|d| d.iter().map(|l| l["id"].clone()).collect())
                .unwrap_or_default();
            Ok(Reply::Raw(
                (StatusCode::OK, axum::Json(page)).into_response(),
                json!({ "ids": ids }),
            ))
        },
    )
    .await
}

pub async fn get_status_list(
    State(api): State<MdocListsApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::StatusListRetrieve,
        Some(&p),
        &rid,
        json!({ "id": id }),
        async {
            let list = api.mdoc.get_status_list(&api.views, &p, &id).await?;
            Ok(Reply::Raw(
                (StatusCode::OK, axum::Json(list)).into_response(),
                json!({ "id": id }),
            ))
        },
    )
    .await
}

/// Public: the list's current CWT; 404 unknown (a malformed id included), 410 expired. Labelled
/// `application/statuslist+cwt` (the spec's type), or `application/cwt` (MATTR's) when `Accept`
/// prefers it; any other `Accept` still gets the token.
pub async fn status_list_token(
    State(api): State<MdocPublicApi>,
    rid: RequestId,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::StatusListTokenRetrieve,
        None,
        &rid,
        json!({ "id": id }),
        async {
            let id =
                crate::mdoc::path_uuid(&id).ok_or_else(|| crate::http::ApiError::not_found(super::token::NOT_FOUND))?;
            let mut response =
                super::token::serve(&api.tokens, &id, crate::domain::token::TokenFormat::Cwt, None).await?;
            let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
            let media_type = super::token::cwt_label(accept);
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(media_type));
            Ok(Reply::Raw(response, json!({ "id": id })))
        },
    )
    .await
}

/// Public: the distribution document of the mDoc lists, `{"status_lists": [token URLs]}`.
pub async fn distribution(State(api): State<MdocPublicApi>, rid: RequestId) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::StatusListDistribution,
        None,
        &rid,
        json!({}),
        async {
            let doc = super::distribution::document(&api.tokens, crate::publisher::ListKind::Mdoc).await?;
            let count = doc.status_lists.len();
            let cache = format!("public, max-age={}", crate::publisher::AGGREGATION_MAX_AGE);
            Ok(Reply::Raw(
                ([(header::CACHE_CONTROL, cache)], axum::Json(doc)).into_response(),
                json!({ "count": count }),
            ))
        },
    )
    .await
}

pub async fn register(
    State(api): State<MdocApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    req: Body,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::StatusCreate,
        Some(&p),
        &rid,
        json!({}),
        async {
            let body = body::json(&headers, req, api.max_body_bytes).await?;
            let r = api.mdoc.register(&p, &body, now()).await?;
            Ok(Reply::Json(StatusCode::CREATED, json!(r)))
        },
    )
    .await
}

pub async fn get_status(
    State(api): State<MdocApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::StatusRetrieve,
        Some(&p),
        &rid,
        json!({ "credentialId": id }),
        async {
            let status = api.mdoc.status(&p, &id).await?;
            Ok(Reply::Json(StatusCode::OK, json!({ "status": status })))
        },
    )
    .await
}

pub async fn set_status(
    State(api): State<MdocApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    req: Body,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::StatusSet,
        Some(&p),
        &rid,
        json!({ "credentialId": id }),
        async {
            let body = body::json(&headers, req, api.max_body_bytes).await?;
            let status = api.mdoc.set_status(&p, &id, &body, now()).await?;
            Ok(Reply::Json(StatusCode::CREATED, json!({ "status": status })))
        },
    )
    .await
}

pub async fn delete(
    State(api): State<MdocApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::CredentialDelete,
        Some(&p),
        &rid,
        json!({ "credentialId": id }),
        async {
            api.mdoc.delete(&p, &id).await?;
            Ok(Reply::Empty {
                data: json!({ "credentialId": id }),
            })
        },
    )
    .await
}

// ------------------------------------------------------------------------------------- IACAs

pub async fn create_iaca(
    State(api): State<IacaApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    req: Body,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::IacaCreate,
        Some(&p),
        &rid,
        json!({}),
        async {
            let body = body::json(&headers, req, api.max_body_bytes).await?;
            Ok(Reply::Json(
                StatusCode::CREATED,
                api.iacas.create(&p, &body, now()).await?,
            ))
        },
    )
    .await
}

pub async fn list_iacas(
    State(api): State<IacaApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Response {
    let start = json!({ "query": query });
    observe(
        api.analytics.as_ref(),
        Op::IacaRetrieveList,
        Some(&p),
        &rid,
        start,
        async {
            let q = PageQuery::from_raw(query.as_deref())?;
            Ok(Reply::Json(StatusCode::OK, api.iacas.list(&p, &q).await?))
        },
    )
    .await
}

pub async fn get_iaca(
    State(api): State<IacaApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::IacaRetrieve,
        Some(&p),
        &rid,
        json!({ "id": id }),
        async { Ok(Reply::Json(StatusCode::OK, api.iacas.get(&p, &id).await?)) },
    )
    .await
}

pub async fn update_iaca(
    State(api): State<IacaApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    req: Body,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::IacaUpdate,
        Some(&p),
        &rid,
        json!({ "id": id }),
        async {
            let body = body::json(&headers, req, api.max_body_bytes).await?;
            Ok(Reply::Json(
                StatusCode::OK,
                api.iacas.update(&p, &id, &body, now()).await?,
            ))
        },
    )
    .await
}

pub async fn delete_iaca(
    State(api): State<IacaApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::IacaDelete,
        Some(&p),
        &rid,
        json!({ "id": id }),
        async {
            api.iacas.delete(&p, &id).await?;
            Ok(Reply::Empty {
                data: json!({ "id": id }),
            })
        },
    )
    .await
}

// ------------------------------------------------------------------------ status list signers

pub async fn create_signer(
    State(api): State<SignerApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    req: Body,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::SignerCreate,
        Some(&p),
        &rid,
        json!({}),
        async {
            let body = body::json(&headers, req, api.max_body_bytes).await?;
            Ok(Reply::Json(
                StatusCode::CREATED,
                api.signers.create(&p, &body, now()).await?,
            ))
        },
    )
    .await
}

pub async fn list_signers(
    State(api): State<SignerApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Response {
    let start = json!({ "query": query });
    observe(
        api.analytics.as_ref(),
        Op::SignerRetrieveList,
        Some(&p),
        &rid,
        start,
        async {
            let q = PageQuery::from_raw(query.as_deref())?;
            Ok(Reply::Json(StatusCode::OK, api.signers.list(&p, &q, now()).await?))
        },
    )
    .await
}

pub async fn get_signer(
    State(api): State<SignerApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::SignerRetrieve,
        Some(&p),
        &rid,
        json!({ "id": id }),
        async { Ok(Reply::Json(StatusCode::OK, api.signers.get(&p, &id, now()).await?)) },
    )
    .await
}

pub async fn update_signer(
    State(api): State<SignerApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    req: Body,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::SignerUpdate,
        Some(&p),
        &rid,
        json!({ "id": id }),
        async {
            let body = body::json(&headers, req, api.max_body_bytes).await?;
            Ok(Reply::Json(
                StatusCode::OK,
                api.signers.update(&p, &id, &body, now()).await?,
            ))
        },
    )
    .await
}

pub async fn delete_signer(
    State(api): State<SignerApi>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    observe(
        api.analytics.as_ref(),
        Op::SignerDelete,
        Some(&p),
        &rid,
        json!({ "id": id }),
        async {
            api.signers.delete(&p, &id).await?;
            Ok(Reply::Empty {
                data: json!({ "id": id }),
            })
        },
    )
    .await
}
