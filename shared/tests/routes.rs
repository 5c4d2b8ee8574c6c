//! Local and production routing come from one source: every route in `template.yaml` has a
//! handler in `ROUTES` and vice versa, and every function directory is declared in the template.

use std::collections::BTreeSet;

use serde_yaml::Value;
use shared::routes::ROUTES;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn functions(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(name, r)| (name.as_str().unwrap().to_string(), r))
        .collect()
}

#[test]
fn template_routes_equal_the_route_table() {
    let t = template();
    let mut declared = BTreeSet::new();
    for (_, f) in functions(&t) {
        let code = f["Properties"]["CodeUri"].as_str().expect("CodeUri");
        let function = code.strip_prefix("functions/").expect("CodeUri is functions/<name>");
        if function == shared::routes::CATCH_ALL_FUNCTION {
            continue; // API Gateway's catch-all routes, not API routes
        }
        if let Some(events) = f["Properties"]["Events"].as_mapping() {
            for (_, e) in events.iter().filter(|(_, e)| e["Type"] == "Api") {
                let p = &e["Properties"];
                declared.insert((
                    function.to_string(),
                    p["Method"].as_str().unwrap().to_uppercase(),
                    p["Path"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    let handled: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| (r.function.to_string(), r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(
        declared, handled,
        "template.yaml routes (left) differ from shared::routes::ROUTES (right)"
    );
}

#[test]
fn every_function_crate_is_in_the_template_and_is_built_by_make_build() {
    let t = template();
    let mut in_template = BTreeSet::new();
    for (name, f) in functions(&t) {
        // `sam build` copies the bootstrap `make build` built (infra/sam/Makefile).
        assert_eq!(f["Metadata"]["BuildMethod"], "makefile", "{name}");
        assert_eq!(f["Metadata"]["ContextPath"], "infra/sam", "{name}");
        in_template.insert(
            f["Properties"]["CodeUri"]
                .as_str()
                .unwrap()
                .trim_start_matches("functions/")
                .to_string(),
        );
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        in_template, on_disk,
        "functions/ directories and template functions differ"
    );
}

#[test]
fn every_function_has_a_sample_event_for_its_route() {
    for route in ROUTES.iter() {
        let path = format!("{}/../events/{}.json", env!("CARGO_MANIFEST_DIR"), route.function);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {path}"));
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(event["httpMethod"], route.method, "{path}");
        assert_eq!(event["resource"], route.path, "{path}");
        // lambda_http accepts it as an API Gateway REST event.
        let request = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(request.method().as_str(), route.method);
    }
}

/// Each HTTP function's `main` names its endpoint of the table (`functions/mdoc-status-set` serves
/// `endpoints::MDOC_STATUS_SET`), so the binding is visible there and the binary links only it.
#[test]
fn every_http_function_main_serves_its_own_endpoint() {
    for route in ROUTES.iter() {
        let path = format!(
            "{}/../functions/{}/src/main.rs",
            env!("CARGO_MANIFEST_DIR"),
            route.function
        );
        let main = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {path}"));
        let endpoint = format!("endpoints::{}", route.function.to_uppercase().replace('-', "_"));
        assert!(main.contains(&endpoint), "{path} does not serve {endpoint}");
        assert_eq!(main.matches("endpoints::").count(), 1, "{path} serves one endpoint");
    }
}
