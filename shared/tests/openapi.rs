//! `openapi.yaml` documents exactly the routes the service serves: every path and method of
//! `shared::routes::ROUTES`, named by its function (`operationId`), with a bearer requirement exactly
//! on the tenant routes and a declared parameter for every path variable. Response shapes are
//! checked against the running service by Schemathesis (`make test`, tests/api-fuzz).

use std::collections::BTreeSet;

use serde_yaml::Value;
use shared::routes::ROUTES;

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Resolves a local `$ref`.
fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => r.trim_start_matches("#/").split('/').fold(spec, |node, key| &node[key]),
        None => v,
    }
}

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

#[test]
fn every_route_and_only_the_routes_are_documented() {
    let spec = spec();
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        let path = path.as_str().unwrap();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let function = op["operationId"].as_str().expect("operationId").to_string();
            let security = op["security"].as_sequence().expect("explicit security");
            let bearer = security.iter().any(|s| s.get("bearerAuth").is_some());
            documented.insert((function, method.to_uppercase(), path.to_string(), bearer));

            // Every path variable is declared (on the operation or the path item).
            let mut declared = BTreeSet::new();
            for params in [item.get("parameters"), op.get("parameters")].into_iter().flatten() {
                for p in params.as_sequence().unwrap() {
                    let p = resolve(&spec, p);
                    if p["in"] == "path" {
                        declared.insert(p["name"].as_str().unwrap().to_string());
                    }
                }
            }
            let variables: BTreeSet<String> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .map(str::to_owned)
                .collect();
            assert_eq!(declared, variables, "{method} {path}");

            // Every response is described, and errors name the family's body.
            let responses = op["responses"].as_mapping().unwrap();
            assert!(
                responses.keys().any(|k| k.as_str().unwrap().starts_with('2')),
                "{method} {path}"
            );
            for (status, response) in responses {
                let status = status.as_str().unwrap();
                if status.starts_with('4') || status.starts_with('5') {
                    let r = response["$ref"].as_str().unwrap_or_default();
                    let want = if path.starts_with("/v2/") {
                        "MattrError"
                    } else {
                        "GovUkError"
                    };
                    assert!(r.ends_with(want), "{method} {path} {status}: {r}");
                }
            }
        }
    }
    let served: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| {
            (
                r.function.to_string(),
                r.method.to_string(),
                r.path.to_string(),
                r.tenant,
            )
        })
        .collect();
    assert_eq!(
        documented, served,
        "openapi.yaml (left) differs from shared::routes::ROUTES (right)"
    );
}

#[test]
fn every_tenant_route_answers_401_and_public_ones_do_not() {
    let spec = spec();
    for route in ROUTES.iter() {
        let op = &spec["paths"][route.path][route.method.to_lowercase().as_str()];
        let has_401 = op["responses"].get("401").is_some();
        if route.tenant {
            assert!(has_401, "{} {}", route.method, route.path);
        } else if route.path.starts_with("/v2/") {
            assert!(!has_401, "{} {}", route.method, route.path);
        }
    }
}
