//! The OpenAPI document is generated from the code; this snapshot makes every change to the
//! public API visible in review. After an intended change, refresh it with
//! `UPDATE_SNAPSHOTS=1 cargo test -p openmyna-http --test openapi_snapshot`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

#[test]
fn openapi_document_matches_snapshot() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let current = openmyna_http::openapi()
        .to_pretty_json()
        .expect("the document serialises")
        + "\n";
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::write(path, &current).expect("writing the snapshot");
        return;
    }
    let stored = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        stored == current,
        "docs/openapi.json is out of date with the code; review the API change and run \
         UPDATE_SNAPSHOTS=1 cargo test -p openmyna-http --test openapi_snapshot"
    );
}

#[test]
fn every_authenticated_operation_documents_its_errors() {
    let doc = openmyna_http::openapi();
    for (path, item) in doc.paths.paths.iter() {
        if !path.starts_with("/api/") {
            continue;
        }
        let ops = [&item.get, &item.post, &item.delete, &item.put, &item.patch];
        // Public operations without input (e.g. the roots) may have no error to document.
        for op in ops
            .into_iter()
            .flatten()
            .filter(|op| op.security.is_some() || op.request_body.is_some())
        {
            let codes: Vec<&String> = op.responses.responses.keys().collect();
            assert!(
                codes.iter().any(|c| c.starts_with('4')),
                "{path} documents no error response"
            );
        }
    }
}

#[test]
fn every_reference_resolves() {
    fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let doc: serde_json::Value =
        serde_json::from_str(&openmyna_http::openapi().to_json().unwrap()).unwrap();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let (kind, name) = r
            .strip_prefix("#/components/")
            .and_then(|rest| rest.split_once('/'))
            .filter(|(kind, _)| matches!(*kind, "schemas" | "responses"))
            .unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(
            doc["components"][kind].get(name).is_some(),
            "{r} is referenced but not defined"
        );
    }
}
