//! The mDoc management API's endpoints (`/v2/credentials/mobile/...`). Each is a thin adapter:
//! path, query and body read into typed inputs ([`crate::http::mdoc_json`]), one call of
//! [`MdocService`](crate::mdoc::MdocService), [`IacaService`](crate::mdoc::iaca::IacaService) or
//! [`SignerService`](crate::mdoc::signers::SignerService), its answer written as JSON, all between
//! its analytic events (see [`crate::http::mdoc::observe`]). Errors reach the wire through
//! `From<MdocError> for ApiError`.

use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::clock::now;
use crate::http::body;
use crate::http::mdoc::{Reply, RequestId, observe};
use crate::http::mdoc_json::{
    PageQuery, active_of, certificate_pem_of, configuration_input, configuration_json, doc_type_of, iaca_json,
    iaca_request_of, new_signer_of, page_json, path_uuid, registration_json, signer_json, status_list_json, status_of,
    uuid_param,
};
use crate::mdoc::Principal;
use crate::mdoc::events::Operation as Op;
use crate::wiring::{IacaApi, MdocApi, MdocListsApi, MdocPublicApi, SignerApi};

#[cfg(test)]
#[path = "mdoc_tests.rs"]
mod tests;

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
            let input = configuration_input(&body, true, api.mdoc.freshness())?;
            let c = api.mdoc.create_configuration(&p, input, now()).await?;
            Ok(Reply::Json(StatusCode::CREATED, configuration_json(&c)))
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
            let (limit, after) = PageQuery::from_raw(query.as_deref())?.parse()?;
            let page = api.mdoc.list_configurations(&p, limit, after.as_deref()).await?;
            Ok(Reply::Json(StatusCode::OK, page_json(&page, configuration_json)))
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
        async {
            let c = api.mdoc.get_configuration(&p, &uuid_param(&id)?).await?;
            Ok(Reply::Json(StatusCode::OK, configuration_json(&c)))
        },
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
            let canonical = uuid_param(&id)?;
            let input = configuration_input(&body, false, api.mdoc.freshness())?;
            let c = api.mdoc.update_configuration(&p, &canonical, input).await?;
            Ok(Reply::Json(StatusCode::OK, configuration_json(&c)))
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
            api.mdoc.delete_configuration(&p, &uuid_param(&id)?).await?;
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
            let (limit, after) = PageQuery::from_raw(query.as_deref())?.parse()?;
            let page = api
                .mdoc
                .list_status_lists(&api.views, &p, limit, after.as_deref())
                .await?;
            let ids: Vec<_> = page.items.iter().map(|v| v.list.list_id.clone()).collect();
            Ok(Reply::Raw(
                (StatusCode::OK, axum::Json(page_json(&page, status_list_json))).into_response(),
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
            let list = api.mdoc.get_status_list(&api.views, &p, &uuid_param(&id)?).await?;
            Ok(Reply::Raw(
                (StatusCode::OK, axum::Json(status_list_json(&list))).into_response(),
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
            let id = path_uuid(&id).ok_or_else(|| crate::http::ApiError::not_found(super::token::NOT_FOUND))?;
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
            let doc = super::distribution::document(&api.tokens, crate::publisher::ListFamily::Mdoc).await?;
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
            let r = api.mdoc.register(&p, &doc_type_of(&body)?, now()).await?;
            Ok(Reply::Json(StatusCode::CREATED, registration_json(&r)))
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
            let status = api.mdoc.status(&p, &uuid_param(&id)?).await?;
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
            let to = status_of(&body)?;
            let status = api.mdoc.set_status(&p, &uuid_param(&id)?, to, now()).await?;
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
            api.mdoc.delete(&p, &uuid_param(&id)?).await?;
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
            let now = now();
            let created = api.iacas.create(&p, iaca_request_of(&body, now)?, now).await?;
            Ok(Reply::Json(StatusCode::CREATED, iaca_json(&created)))
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
            let (limit, after) = PageQuery::from_raw(query.as_deref())?.parse()?;
            let page = api.iacas.list(&p, limit, after.as_deref()).await?;
            Ok(Reply::Json(StatusCode::OK, page_json(&page, iaca_json)))
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
        async {
            let iaca = api.iacas.get(&p, &uuid_param(&id)?).await?;
            Ok(Reply::Json(StatusCode::OK, iaca_json(&iaca)))
        },
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
            // The IACA is looked up before its body is read: an unknown one is 404 whatever the
            // body says.
            let iaca = api.iacas.find(&p, &uuid_param(&id)?).await?;
            let active = active_of(&body)?;
            let updated = api.iacas.update(&p, iaca, active, now()).await?;
            Ok(Reply::Json(StatusCode::OK, iaca_json(&updated)))
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
            api.iacas.delete(&p, &uuid_param(&id)?).await?;
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
            let created = api.signers.create(&p, new_signer_of(&body)?, now()).await?;
            Ok(Reply::Json(StatusCode::CREATED, signer_json(&created)))
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
            let (limit, after) = PageQuery::from_raw(query.as_deref())?.parse()?;
            let page = api.signers.list(&p, limit, after.as_deref(), now()).await?;
            Ok(Reply::Json(StatusCode::OK, page_json(&page, signer_json)))
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
        async {
            let signer = api.signers.get(&p, &uuid_param(&id)?, now()).await?;
            Ok(Reply::Json(StatusCode::OK, signer_json(&signer)))
        },
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
            // The signer is looked up before its body is read: an unknown one is 404 whatever the
            // body says.
            let signer = api.signers.find(&p, &uuid_param(&id)?).await?;
            let pem = certificate_pem_of(&body)?;
            let updated = api.signers.update(&p, signer, &pem, now()).await?;
            Ok(Reply::Json(StatusCode::OK, signer_json(&updated)))
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
            api.signers.delete(&p, &uuid_param(&id)?).await?;
            Ok(Reply::Empty {
                data: json!({ "id": id }),
            })
        },
    )
    .await
}
