//! The mDoc endpoints in process: their routes from the endpoint table, on states built from the
//! in-memory adapters, called through the router as a client calls them. The wire is checked
//! byte for byte where the LocalStack suite (`tests/mdoc.rs`) fixes it: status codes, MATTR's
//! bodies, `details`, and the analytic events around each operation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use tower::Service;

use crate::domain::tenant::Credential;
use crate::domain::tenant::{Role, new_token, token_hash};
use crate::mdoc::{ListViews, MdocService};
use crate::ports::{AnalyticEvent, Analytics, StoreError, TenantStore};
use crate::testing::{MemLists, MemObjects, tenant_trust};
use crate::wiring::{MdocApi, MdocListsApi};

const CONFIGURATIONS: &str = "/v2/credentials/mobile/status-lists/configurations";
const UNKNOWN: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

/// Tenants' credentials by token hash.
#[derive(Default)]
struct Tenants(Mutex<HashMap<String, Credential>>);

#[async_trait]
impl TenantStore for Tenants {
    async fn put_credential(&self, token_hash: &str, credential: &Credential) -> Result<(), StoreError> {
        self.0.lock().unwrap().insert(token_hash.into(), credential.clone());
        Ok(())
    }
    async fn credential(&self, token_hash: &str) -> Result<Option<Credential>, StoreError> {
        Ok(self.0.lock().unwrap().get(token_hash).cloned())
    }
    async fn delete_credential(&self, token_hash: &str) -> Result<bool, StoreError> {
        Ok(self.0.lock().unwrap().remove(token_hash).is_some())
    }
}

/// Every analytic event emitted, in order.
#[derive(Default)]
struct Recorded(Mutex<Vec<AnalyticEvent>>);

#[async_trait]
impl Analytics for Recorded {
    async fn emit(&self, event: &AnalyticEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Recorded {
    /// The (type, data) of the events of request `rid`.
    fn of(&self, rid: &str) -> Vec<(String, Value)> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|e| e.request_id == rid)
            .map(|e| (e.kind.clone(), e.data.clone()))
            .collect()
    }
}

struct Api {
    router: Router,
    token: String,
    analytics: Arc<Recorded>,
}

/// The mDoc endpoints of the table on in-memory state; tenant `tenant` (trusted: an active IACA
/// and a signer) holds `token`.
async fn api() -> Api {
    use crate::routes::endpoints as e;
    let lists = Arc::new(MemLists::default());
    let trust = tenant_trust(crate::clock::now()).await;
    let mdoc = Arc::new(MdocService::new(
        lists.clone(),
        lists,
        trust.store.clone(),
        None,
        "https://status.example".into(),
        1024,
        crate::domain::lifetime::Freshness {
            interval: 3600,
            slack: 300,
        },
    ));
    let tenants = Arc::new(Tenants::default());
    let token = new_token();
    let credential = Credential {
        tenant_id: "tenant".into(),
        role: Role::Issuer,
        created_at: 0,
        label: "test".into(),
    };
    tenants.put_credential(&token_hash(&token), &credential).await.unwrap();
    let analytics = Arc::new(Recorded::default());
    let state = MdocApi {
        mdoc: mdoc.clone(),
        tenants: tenants.clone(),
        analytics: analytics.clone(),
        max_body_bytes: 16 * 1024,
    };
    let views = MdocListsApi {
        mdoc,
        views: ListViews {
            objects: Arc::new(MemObjects::default()),
        },
        tenants,
        analytics: analytics.clone(),
    };
    let router = e::CONFIGURATION_CREATE
        .routes(state.clone())
        .merge(e::CONFIGURATION_GET.routes(state.clone()))
        .merge(e::CONFIGURATION_DELETE.routes(state.clone()))
        .merge(e::MDOC_REGISTER.routes(state.clone()))
        .merge(e::MDOC_STATUS_GET.routes(state.clone()))
        .merge(e::MDOC_STATUS_SET.routes(state.clone()))
        .merge(e::MDOC_DELETE.routes(state))
        .merge(e::STATUS_LIST_LIST.routes(views.clone()))
        .merge(e::STATUS_LIST_GET.routes(views));
    Api {
        router: crate::routes::finish(router),
        token,
        analytics,
    }
}

/// An answer: its status and body bytes.
struct Answer {
    status: u16,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// The body is exactly `expected`, as the API serialises it.
    fn is(&self, status: u16, expected: Value) {
        assert_eq!(
            (self.status, String::from_utf8_lossy(&self.bytes).into_owned()),
            (status, serde_json::to_string(&expected).unwrap())
        );
    }
}

impl Api {
    /// `method path` with the tenant's token (unless `token` is false) and request id `rid`.
    async fn call(&self, rid: &str, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.send(rid, method, path, body, true).await
    }

    async fn send(&self, rid: &str, method: &str, path: &str, body: Option<Value>, token: bool) -> Answer {
        let mut request = Request::builder().method(method).uri(path).header("x-request-id", rid);
        if token {
            request = request.header("authorization", format!("Bearer {}", self.token));
        }
        let request = match body {
            Some(b) => request
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().call(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        Answer {
            status,
            bytes: bytes.to_vec(),
        }
    }

    async fn configuration(&self, doc_type: &str, bits: u8) -> String {
        let body = json!({"docType": doc_type, "timeToLiveDuration": {"hours": 1}, "expiryDuration": {"days": 1}, "statusBits": bits});
        let created = self.call("setup", "POST", CONFIGURATIONS, Some(body)).await;
        assert_eq!(created.status, 201, "{:?}", created.json());
        created.json()["id"].as_str().unwrap().to_string()
    }

    async fn register(&self, doc_type: &str) -> Value {
        let r = self
            .call(
                "setup",
                "POST",
                "/v2/credentials/mobile/credentials",
                Some(json!({ "docType": doc_type })),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.json());
        r.json()
    }
}

fn status_path(credential_id: &str) -> String {
    format!("/v2/credentials/mobile/{credential_id}/status")
}

#[tokio::test]
async fn a_validation_error_lists_every_field_in_mattrs_body_and_its_fail_event() {
    let api = api().await;
    let bad = json!({"docType": "", "timeToLiveDuration": "abc", "colour": "blue"});
    let got = api.call("bad", "POST", CONFIGURATIONS, Some(bad)).await;
    assert_eq!(got.status, 400);
    let body = got.json();
    assert_eq!(
        (&body["code"], &body["message"]),
        (&json!("BadRequest"), &json!("Validation Error"))
    );
    let details = body["details"].as_array().unwrap();
    let params: Vec<_> = details.iter().map(|d| d["param"].as_str().unwrap()).collect();
    assert_eq!(params, ["colour", "docType", "timeToLiveDuration", "expiryDuration"]);
    assert_eq!(
        details[0],
        json!({"location": "body", "param": "colour", "msg": "is not a known field", "value": "blue"})
    );
    assert_eq!(
        details[1],
        json!({"location": "body", "param": "docType", "msg": "must not be empty", "value": ""})
    );
    assert!(details[2]["msg"].as_str().unwrap().starts_with("must be a Duration"));
    assert_eq!(details[2]["value"], "abc");
    assert_eq!(
        details[3],
        json!({"location": "body", "param": "expiryDuration", "msg": "is required", "value": null})
    );
    let events = api.analytics.of("bad");
    assert_eq!(
        events,
        [
            (
                "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_CREATE_START".to_string(),
                json!({})
            ),
            (
                "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_CREATE_FAIL".to_string(),
                json!({"status": 400, "message": "Validation Error", "details": details})
            ),
        ]
    );

    // A malformed path id is named as the path's `id`, whatever the route calls it; it is read
    // after the body.
    let got = api
        .call("path", "POST", &status_path("123"), Some(json!({"status": "valid"})))
        .await;
    got.is(
        400,
        json!({"code": "BadRequest", "message": "Validation Error",
               "details": [{"location": "path", "param": "id", "msg": "Invalid id parameter format", "value": "123"}]}),
    );
    let got = api
        .call("both", "POST", &status_path("123"), Some(json!({"status": "revoked"})))
        .await;
    assert_eq!(got.json()["details"][0]["param"], "status");
}

#[tokio::test]
async fn an_unknown_mdoc_is_404_mdoc_not_found() {
    let api = api().await;
    for (method, path) in [
        ("GET", status_path(UNKNOWN)),
        ("DELETE", format!("/v2/credentials/mobile/{UNKNOWN}")),
    ] {
        let got = api.call("unknown", method, &path, None).await;
        got.is(404, json!({"code": "NotFound", "message": "mDoc not found"}));
    }
    let events = api.analytics.of("unknown");
    assert_eq!(events.len(), 4);
    assert_eq!(
        events[0],
        (
            "MOBILE_CREDENTIAL_STATUS_RETRIEVE_START".into(),
            json!({"credentialId": UNKNOWN})
        )
    );
    assert_eq!(
        events[1],
        (
            "MOBILE_CREDENTIAL_STATUS_RETRIEVE_FAIL".into(),
            json!({"status": 404, "message": "mDoc not found", "details": []})
        )
    );
    assert_eq!(events[3].0, "USER_CREDENTIAL_DELETE_FAIL");
    // Without a bearer token: 401 in the same family, before any event.
    let got = api.send("anonymous", "GET", &status_path(UNKNOWN), None, false).await;
    assert_eq!((got.status, &got.json()["code"]), (401, &json!("Unauthorized")));
    assert!(api.analytics.of("anonymous").is_empty());
}

#[tokio::test]
async fn a_duplicate_doc_type_is_409() {
    let api = api().await;
    let body = json!({"docType": "d", "timeToLiveDuration": {"days": 1}, "expiryDuration": {"days": 2}});
    let created = api.call("create", "POST", CONFIGURATIONS, Some(body.clone())).await;
    let id = created.json()["id"].as_str().unwrap().to_string();
    created.is(
        201,
        json!({"id": id, "docType": "d", "timeToLiveDuration": {"days": 1}, "expiryDuration": {"days": 2}, "statusBits": 1}),
    );
    assert_eq!(
        api.analytics.of("create")[1].1,
        created.json(),
        "SUCCESS carries the answer"
    );
    let again = api.call("again", "POST", CONFIGURATIONS, Some(body)).await;
    again.is(
        409,
        json!({"code": "Conflict", "message": "A status list configuration for docType \"d\" already exists"}),
    );
    let got = api.call("get", "GET", &format!("{CONFIGURATIONS}/{id}"), None).await;
    assert_eq!((got.status, &got.bytes), (200, &created.bytes));
    let got = api
        .call("get", "GET", &format!("{CONFIGURATIONS}/{UNKNOWN}"), None)
        .await;
    got.is(
        404,
        json!({"code": "NotFound", "message": "Status list configuration not found"}),
    );
}

#[tokio::test]
async fn a_configuration_in_use_is_400_and_a_registration_shows_where_its_status_is() {
    let api = api().await;
    let id = api.configuration("d", 2).await;
    let r = api.register("d").await;
    let list_id = r["statusListId"].as_str().unwrap();
    let keys: Vec<_> = r.as_object().unwrap().keys().cloned().collect();
    let mut expected = [
        "credentialId",
        "docType",
        "statusListConfigurationId",
        "statusListId",
        "idx",
        "uri",
        "status",
    ];
    expected.sort();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    assert_eq!(
        (&r["docType"], &r["statusListConfigurationId"], &r["status"]),
        (&json!("d"), &json!(id), &json!("valid"))
    );
    assert_eq!(
        r["uri"],
        format!("https://status.example/v2/credentials/mobile/status-lists/{list_id}/token")
    );
    let refused = api
        .call("delete", "DELETE", &format!("{CONFIGURATIONS}/{id}"), None)
        .await;
    refused.is(
        400,
        json!({"code": "BadRequest", "message": "Status list configuration is in use by at least one status list"}),
    );
    assert_eq!(
        api.analytics.of("delete"),
        [
            (
                "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_DELETE_START".to_string(),
                json!({"id": id})
            ),
            (
                "MOBILE_CREDENTIAL_STATUS_LIST_CONFIGURATION_DELETE_FAIL".to_string(),
                json!({"status": 400, "message": "Status list configuration is in use by at least one status list", "details": []})
            ),
        ]
    );
    // The tenant's status list, as its views show it before its first token.
    let view = json!({
        "id": list_id,
        "iacaId": null,
        "statusListConfigurationId": id,
        "listSize": 1024,
        "uri": r["uri"],
        "list": null,
    });
    let lists = "/v2/credentials/mobile/status-lists";
    api.call("list", "GET", &format!("{lists}/{list_id}"), None)
        .await
        .is(200, view.clone());
    api.call("lists", "GET", lists, None)
        .await
        .is(200, json!({"data": [view]}));
    assert_eq!(api.analytics.of("lists")[1].1, json!({"ids": [list_id]}));
    let got = api.call("limit", "GET", &format!("{lists}?limit=0"), None).await;
    assert_eq!(
        (got.status, &got.json()["details"][0]["location"]),
        (400, &json!("query"))
    );
}

#[tokio::test]
async fn a_status_set_is_201_with_the_status_it_set() {
    let api = api().await;
    api.configuration("d", 2).await;
    let r = api.register("d").await;
    let id = r["credentialId"].as_str().unwrap();
    let path = status_path(id);
    let set = api
        .call("set", "POST", &path, Some(json!({"status": "suspended"})))
        .await;
    set.is(201, json!({"status": "suspended"}));
    assert_eq!(
        api.analytics.of("set"),
        [
            (
                "MOBILE_CREDENTIAL_STATUS_SET_START".to_string(),
                json!({"credentialId": id})
            ),
            (
                "MOBILE_CREDENTIAL_STATUS_SET_SUCCESS".to_string(),
                json!({"status": "suspended"})
            ),
        ]
    );
    api.call("get", "GET", &path, None)
        .await
        .is(200, json!({"status": "suspended"}));
    api.call("invalid", "POST", &path, Some(json!({"status": "invalid"})))
        .await
        .is(201, json!({"status": "invalid"}));
    let refused = api.call("final", "POST", &path, Some(json!({"status": "valid"}))).await;
    refused.is(
        400,
        json!({"code": "BadRequest", "message": "Validation Error", "details": [{
            "location": "body",
            "param": "status",
            "msg": "the credential is invalid, which is final: its status cannot change",
            "value": "valid",
        }]}),
    );
    // Deleted: 204 without a body; its status is gone, its index is not reused.
    let deleted = api
        .call("delete", "DELETE", &format!("/v2/credentials/mobile/{id}"), None)
        .await;
    assert_eq!((deleted.status, deleted.bytes.len()), (204, 0));
    assert_eq!(
        api.analytics.of("delete")[1],
        (
            "USER_CREDENTIAL_DELETE_SUCCESS".to_string(),
            json!({"credentialId": id})
        )
    );
    assert_eq!(api.call("gone", "GET", &path, None).await.status, 404);
}
