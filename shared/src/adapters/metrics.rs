//! CloudWatch metrics in the Embedded Metric Format: one JSON line on stdout, which Lambda's log
//! pipeline turns into metrics (no `PutMetricData` call, so no extra right and no extra latency).

use serde_json::{Map, Value, json};

/// The namespace when `METRICS_NAMESPACE` is not set (the template sets `StatusList/<stack>`).
pub const DEFAULT_NAMESPACE: &str = "StatusList";

/// The namespace the functions report to.
pub fn namespace() -> String {
    std::env::var("METRICS_NAMESPACE")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.into())
}

/// One EMF document: `metrics` as (name, unit, value), without dimensions, at `timestamp_ms`.
pub fn emf_line(namespace: &str, timestamp_ms: i64, metrics: &[(&str, &str, i64)]) -> String {
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[]],
                "Metrics": metrics.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, _, value) in metrics {
        doc.insert((*name).into(), Value::from(*value));
    }
    Value::Object(doc).to_string()
}

/// What a re-signing pass reports: `ListsNotResigned` (lists due that it failed to re-sign) and,
/// when it left any token in place, `OldestTokenValidity` (seconds), the token freshness the
/// template's alarm watches.
pub fn resign_pass_line(namespace: &str, now: i64, report: &crate::pipeline::ResignPass) -> String {
    // Lists due that this pass could not queue, or deferred to the next pass by the signing rate.
    let not_resigned = report.lists.failed + report.lists.deferred;
    let mut metrics = vec![("ListsNotResigned", "Count", not_resigned as i64)];
    if let Some(oldest) = report.lists.oldest_validity {
        metrics.push(("OldestTokenValidity", "Seconds", oldest));
    }
    emf_line(namespace, now * 1000, &metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_is_one_emf_document_with_its_freshness() {
        let mut pass = crate::pipeline::ResignPass::default();
        pass.lists.failed = 2;
        pass.lists.oldest_validity = Some(1_234);
        let line = resign_pass_line("StatusList/prod", 1_700_000_000, &pass);
        assert!(!line.contains('\n'), "one log line");
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_000i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "StatusList/prod",
                        "Dimensions": [[]],
                        "Metrics": [
                            {"Name": "ListsNotResigned", "Unit": "Count"},
                            {"Name": "OldestTokenValidity", "Unit": "Seconds"}
                        ]
                    }]
                },
                "ListsNotResigned": 2,
                "OldestTokenValidity": 1_234
            })
        );
        // Every list re-signed: no freshness figure (the alarm treats the gap as healthy).
        pass.lists.oldest_validity = None;
        let doc: Value = serde_json::from_str(&resign_pass_line("n", 1, &pass)).unwrap();
        assert!(doc.get("OldestTokenValidity").is_none());
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().len(),
            1
        );
    }
}
