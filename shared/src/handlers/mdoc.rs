//! The mDoc management API's endpoints (`/v2/credentials/mobile/...`). Each is a thin adapter:
//! path, query and body in, one [`MdocService`](crate::mdoc::MdocService) call between its
//! analytic events (see [`crate::http::mdoc::observe`]).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::now;
use crate::app::App;
use crate::http::body;
use crate::http::mdoc::{Reply, RequestId, observe};
use crate::mdoc::events::Operation as Op;
use crate::mdoc::{PageQuery, Principal};

pub async fn create_configuration(
    State(app): State<Arc<App>>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    req: Body,
) -> Response {
    observe(&app, Op::ConfigurationCreate, Some(&p), &rid, json!({}), async {
        let body = body::json(&headers, req, app.config.max_body_bytes).await?;
        let c = app.mdoc.create_configuration(&p, &body, now()).await?;
        Ok(Reply::Json(StatusCode::CREATED, c))
    })
    .await
}

pub async fn list_configurations(
    State(app): State<Arc<App>>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Response {
    let start = json!({ "query": query });
    observe(&app, Op::ConfigurationRetrieveList, Some(&p), &rid, start, async {
        let q = PageQuery::from_raw(query.as_deref())?;
        Ok(Reply::Json(StatusCode::OK, app.mdoc.list_configurations(&p, &q).await?))
    })
    .await
}

pub async fn get_configuration(
    State(app): State<Arc<App>>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    observe(
        &app,
        Op::ConfigurationRetrieve,
        Some(&p),
        &rid,
        json!({ "id": id }),
        async { Ok(Reply::Json(StatusCode::OK, app.mdoc.get_configuration(&p, &id).await?)) },
    )
    .await
}

pub async fn update_configuration(
    State(app): State<Arc<App>>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    req: Body,
) -> Response {
    observe(
        &app,
        Op::ConfigurationUpdate,
        Some(&p),
        &rid,
        json!({ "id": id }),
        async {
            let body = body::json(&headers, req, app.config.max_body_bytes).await?;
            Ok(Reply::Json(
                StatusCode::OK,
                app.mdoc.update_configuration(&p, &id, &body).await?,
            ))
        },
    )
    .await
}

pub async fn delete_configuration(
    State(app): State<Arc<App>>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    observe(
        &app,
        Op::ConfigurationDelete,
        Some(&p),
        &rid,
        json!({ "id": id }),
        async {
            app.mdoc.delete_configuration(&p, &id).await?;
            Ok(Reply::Empty {
                data: json!({ "id": id }),
            })
        },
    )
    .await
}

pub async fn list_status_lists(
    State(app): State<Arc<App>>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Response {
    let start = json!({ "query": query });
    observe(&app, Op::StatusListRetrieveList, Some(&p), &rid, start, async {
        let q = PageQuery::from_raw(query.as_deref())?;
        let page = app.mdoc.list_status_lists(&p, &q).await?;
        let ids: Vec<_> = page["data"]
            .as_array()
            .map(|d| d.iter().map(|l| l["id"].clone()).collect())
            .unwrap_or_default();
        Ok(Reply::Raw(
            (StatusCode::OK, axum::Json(page)).into_response(),
            json!({ "ids": ids }),
        ))
    })
    .await
}

pub async fn get_status_list(
    State(app): State<Arc<App>>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    observe(
        &app,
        Op::StatusListRetrieve,
        Some(&p),
        &rid,
        json!({ "id": id }),
        async {
            let list = app.mdoc.get_status_list(&p, &id).await?;
            Ok(Reply::Raw(
                (StatusCode::OK, axum::Json(list)).into_response(),
                json!({ "id": id }),
            ))
        },
    )
    .await
}

/// Public: the list's current CWT (`application/statuslist+cwt`); 404 unknown, 410 expired.
pub async fn status_list_token(State(app): State<Arc<App>>, rid: RequestId, Path(id): Path<String>) -> Response {
    observe(
        &app,
        Op::StatusListTokenRetrieve,
        None,
        &rid,
        json!({ "id": id }),
        async {
            let id = crate::mdoc::uuid_param("statusListId", &id)?;
            let response = super::token::serve(&app, &id, crate::domain::token::TokenFormat::Cwt, None).await?;
            Ok(Reply::Raw(response, json!({ "id": id })))
        },
    )
    .await
}

/// Public: the distribution document of the mDoc lists, `{"status_lists": [token URLs]}`.
pub async fn distribution(State(app): State<Arc<App>>, rid: RequestId) -> Response {
    observe(&app, Op::StatusListDistribution, None, &rid, json!({}), async {
        let doc = super::distribution::document(&app, crate::publisher::ListKind::Mdoc).await?;
        let count = doc.status_lists.len();
        let cache = format!("public, max-age={}", crate::publisher::AGGREGATION_MAX_AGE);
        Ok(Reply::Raw(
            ([(header::CACHE_CONTROL, cache)], axum::Json(doc)).into_response(),
            json!({ "count": count }),
        ))
    })
    .await
}

pub async fn register(
    State(app): State<Arc<App>>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    req: Body,
) -> Response {
    observe(&app, Op::StatusCreate, Some(&p), &rid, json!({}), async {
        let body = body::json(&headers, req, app.config.max_body_bytes).await?;
        let r = app.mdoc.register(&p, &body, now()).await?;
        Ok(Reply::Json(StatusCode::CREATED, json!(r)))
    })
    .await
}

pub async fn get_status(
    State(app): State<Arc<App>>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    observe(
        &app,
        Op::StatusRetrieve,
        Some(&p),
        &rid,
        json!({ "credentialId": id }),
        async {
            let status = app.mdoc.status(&p, &id).await?;
            Ok(Reply::Json(StatusCode::OK, json!({ "status": status })))
        },
    )
    .await
}

pub async fn set_status(
    State(app): State<Arc<App>>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    req: Body,
) -> Response {
    observe(
        &app,
        Op::StatusSet,
        Some(&p),
        &rid,
        json!({ "credentialId": id }),
        async {
            let body = body::json(&headers, req, app.config.max_body_bytes).await?;
            let status = app.mdoc.set_status(&p, &id, &body, now()).await?;
            Ok(Reply::Json(StatusCode::OK, json!({ "status": status })))
        },
    )
    .await
}

pub async fn delete(
    State(app): State<Arc<App>>,
    rid: RequestId,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    observe(
        &app,
        Op::CredentialDelete,
        Some(&p),
        &rid,
        json!({ "credentialId": id }),
        async {
            app.mdoc.delete(&p, &id).await?;
            Ok(Reply::Empty {
                data: json!({ "credentialId": id }),
            })
        },
    )
    .await
}
