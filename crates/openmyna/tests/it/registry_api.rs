//! The resident registry over HTTP, on SQLite and on PostgreSQL.

use crate::common::{Backend, TestApp, spawn_app};
use openmyna_core::Role;
use serde_json::{Value, json};

fn taro() -> Value {
    json!({
        "name": "山田 太郎",
        "name_kana": "ヤマダ タロウ",
        "birth_date": "1990-05-01",
        "sex": 1,
        "address": {
            "municipality_code": "131016",
            "postal_code": "100-0013",
            "text": "東京都千代田区霞が関一丁目1番1号"
        }
    })
}

/// Everything a bad request must leave untouched.
async fn snapshot(app: &TestApp) -> (i64, i64, i64) {
    let c = app.store.counts().await.unwrap();
    let history: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM resident_history")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    (c.residents, c.events, history)
}

async fn register_read_change_address(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, r) = app
        .post(
            "/api/v1/registry/residents",
            Some(Role::Municipality),
            &taro(),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    let id = r["id"].as_i64().unwrap();
    let my_number = r["my_number"].as_str().unwrap().to_owned();
    assert!(openmyna_ids::MyNumber::parse(&my_number).is_ok());
    assert_eq!(r["name"], "山田\u{3000}太郎");
    assert_eq!(r["address"]["municipality_code"], "131016");
    assert_eq!(r["version"], 1);

    // Read back, as the municipality (with My Number) and as the operator (without).
    let (status, r) = app
        .get(
            &format!("/api/v1/registry/residents/{id}"),
            Some(Role::Municipality),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(r["my_number"], my_number.as_str());
    assert!(r["resident_code"].is_string());
    let (status, r) = app
        .get(
            &format!("/api/v1/registry/residents/{id}"),
            Some(Role::Operator),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        r.get("my_number").is_none(),
        "operator must not see the My Number: {r}"
    );
    assert!(r.get("resident_code").is_none());
    assert!(!r.to_string().contains(&my_number));

    // Lookup by My Number (body, not URL).
    let (status, r) = app
        .post(
            "/api/v1/registry/residents/search",
            Some(Role::Municipality),
            &json!({"my_number": my_number}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(r["id"], id);

    // Move to Osaka.
    app.clock.advance(chrono::Duration::days(10));
    let (status, r) = app
        .post(
            &format!("/api/v1/registry/residents/{id}/address"),
            Some(Role::Municipality),
            &json!({
                "address": {"municipality_code": "27100", "text": "大阪府大阪市北区梅田一丁目1番"},
                "reason": "転出"
            }),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["address"]["municipality_code"], "271004");
    assert_eq!(r["version"], 2);

    // History has both entries, with before and after.
    let (status, h) = app
        .get(
            &format!("/api/v1/registry/residents/{id}/history"),
            Some(Role::Municipality),
        )
        .await;
    assert_eq!(status, 200);
    let h = h.as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["kind"], "registered");
    assert_eq!(h[1]["kind"], "address_changed");
    assert_eq!(h[1]["before"]["municipality_code"], "131016");
    assert_eq!(h[1]["after"]["municipality_code"], "271004");
    assert_eq!(h[1]["effective_date"], "2026-04-11");
    assert_eq!(h[1]["reason"], "転出");

    // The event feed shows the change, without personal data.
    let (status, ev) = app
        .get("/api/v1/registry/events?after=0", Some(Role::Operator))
        .await;
    assert_eq!(status, 200);
    let events = ev["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["kind"], "address_changed");
    assert_eq!(events[1]["resident_id"], id);
    assert_eq!(events[1]["payload"]["changed"], json!(["address"]));
    assert!(
        !ev.to_string().contains("大阪"),
        "events carry no personal data"
    );
    let next = ev["next_after"].as_i64().unwrap();
    let (_, ev) = app
        .get(
            &format!("/api/v1/registry/events?after={next}"),
            Some(Role::Operator),
        )
        .await;
    assert_eq!(ev["events"].as_array().unwrap().len(), 0);

    // Every read was recorded in the resident's access log.
    let log = app.store.access().access_log(id, 100).await.unwrap();
    let cats: Vec<&str> = log.iter().map(|e| e.category.as_str()).collect();
    assert!(cats.contains(&"registry.basic4+my_number"));
    assert!(cats.contains(&"registry.basic4"));
    assert!(cats.contains(&"registry.history"));
    assert!(log.iter().any(|e| e.purpose == "lookup by My Number"));

    // My Numbers are not stored in clear.
    let sealed: Vec<u8> =
        sqlx::query_scalar("SELECT my_number_sealed FROM residents WHERE id = $1")
            .bind(id)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert!(!sealed.windows(12).any(|w| w == my_number.as_bytes()));
    app.finish().await;
}

async fn name_change_correction_and_death(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, r) = app
        .post(
            "/api/v1/registry/residents",
            Some(Role::Municipality),
            &taro(),
        )
        .await;
    let id = r["id"].as_i64().unwrap();
    let base = format!("/api/v1/registry/residents/{id}");
    let (s, r) = app
        .post(
            &format!("{base}/name"),
            Some(Role::Municipality),
            &json!({"name": "佐藤 太郎", "name_kana": "サトウ タロウ", "reason": "婚姻"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["name_kana"], "サトウ\u{3000}タロウ");
    let (s, _) = app
        .post(
            &format!("{base}/correction"),
            Some(Role::Municipality),
            &json!({"sex": 2}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, r) = app
        .post(
            &format!("{base}/death"),
            Some(Role::Municipality),
            &json!({"date": "2026-03-30"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["status"], "deceased");
    // A closed record takes no more changes.
    let (s, r) = app
        .post(
            &format!("{base}/name"),
            Some(Role::Municipality),
            &json!({"name": "佐藤 次郎", "name_kana": "サトウ ジロウ"}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(r["error"]["code"], "resident.not_active");
    let (_, ev) = app
        .get("/api/v1/registry/events", Some(Role::Municipality))
        .await;
    let kinds: Vec<&str> = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["registered", "name_changed", "corrected", "died"]);
    assert_eq!(ev["events"][2]["payload"]["changed"], json!(["sex"]));
    app.finish().await;
}

async fn unauthorised_and_wrong_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, r) = app
        .post(
            "/api/v1/registry/residents",
            Some(Role::Municipality),
            &taro(),
        )
        .await;
    let id = r["id"].as_i64().unwrap();
    let before = snapshot(&app).await;

    // No token, a malformed header, an unknown token: 401.
    let (s, r) = app.post("/api/v1/registry/residents", None, &taro()).await;
    assert_eq!(s, 401);
    assert_eq!(r["error"]["code"], "auth.unauthenticated");
    let resp = app
        .client
        .get(format!("{}/api/v1/registry/residents/{id}", app.url))
        .header("Authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    let resp = app
        .client
        .get(format!("{}/api/v1/registry/residents/{id}", app.url))
        .bearer_auth("omn_notarealtoken")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);

    // Wrong roles: 403 naming the role needed.
    for role in [
        Role::Insurer,
        Role::MedicalInstitution,
        Role::RelyingParty,
        Role::Employer,
    ] {
        let (s, r) = app
            .get(&format!("/api/v1/registry/residents/{id}"), Some(role))
            .await;
        assert_eq!(s, 403, "{role}");
        assert_eq!(r["error"]["code"], "auth.role");
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap()
                .contains("municipality")
        );
    }
    let (s, _) = app
        .post("/api/v1/registry/residents", Some(Role::Operator), &taro())
        .await;
    assert_eq!(s, 403, "the operator does not register residents");
    let (s, _) = app
        .post(
            "/api/v1/registry/residents/search",
            Some(Role::Operator),
            &json!({"my_number": "123456789018"}),
        )
        .await;
    assert_eq!(s, 403, "only municipalities look up by My Number");
    let (s, _) = app
        .post(
            "/api/v1/admin/organisations",
            Some(Role::Municipality),
            &json!({"name": "x", "role": "operator"}),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(snapshot(&app).await, before);
    app.finish().await;
}

/// A server with one resident registered with a given My Number, and the registry's state.
async fn with_one_resident(backend: Backend) -> (TestApp, Value, (i64, i64, i64)) {
    let app = spawn_app(backend).await;
    let mut given = taro();
    given["my_number"] = json!("123456789018");
    let (s, _) = app
        .post(
            "/api/v1/registry/residents",
            Some(Role::Municipality),
            &given,
        )
        .await;
    assert_eq!(s, 201);
    let before = snapshot(&app).await;
    (app, given, before)
}

async fn bad_input_changes_nothing(backend: Backend) {
    let (app, given, before) = with_one_resident(backend).await;

    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            {
                let mut v = taro();
                v["my_number"] = json!("123456789017");
                v
            },
            422,
            "my_number.check_digit",
            "check digit is 7, expected 8",
        ),
        (
            {
                let mut v = taro();
                v["my_number"] = json!("1234567890180");
                v
            },
            422,
            "my_number.length",
            "must be 12 digits, got 13",
        ),
        (
            {
                let mut v = taro();
                v["sex"] = json!(3);
                v
            },
            422,
            "sex.unknown",
            "sex code 3 is unknown",
        ),
        (
            {
                let mut v = taro();
                v["birth_date"] = json!("1990-13-01");
                v
            },
            422,
            "birth_date.format",
            "YYYY-MM-DD",
        ),
        (
            {
                let mut v = taro();
                v["name_kana"] = json!("Yamada Taro");
                v
            },
            422,
            "name_kana.katakana",
            "kana",
        ),
        (
            {
                let mut v = taro();
                v["address"]["municipality_code"] = json!("131017");
                v
            },
            422,
            "municipality_code.check_digit",
            "check digit",
        ),
        (
            {
                let mut v = taro();
                v["address"]["postal_code"] = json!("12-34");
                v
            },
            422,
            "postal_code.format",
            "7 digits",
        ),
        (
            {
                let mut v = taro();
                v["nickname"] = json!("taro");
                v
            },
            422,
            "request.json_data",
            "unknown field",
        ),
        (
            {
                let mut v = taro();
                v["sex"] = json!("male");
                v
            },
            422,
            "request.json_data",
            "sex",
        ),
        (
            given.clone(),
            409,
            "my_number.duplicate",
            "already assigned",
        ),
    ];
    for (body, status, code, message) in cases {
        let (s, r) = app
            .post(
                "/api/v1/registry/residents",
                Some(Role::Municipality),
                &body,
            )
            .await;
        assert_eq!(s, status, "{code}: {r}");
        assert_eq!(r["error"]["code"], code, "{r}");
        assert!(
            r["error"]["message"].as_str().unwrap().contains(message),
            "{code}: {r}"
        );
    }
    assert_eq!(
        snapshot(&app).await,
        before,
        "bad input must change nothing"
    );
    app.finish().await;
}

/// Malformed JSON, a wrong content type, an oversized body: refused in the common error
/// shape, nothing changed.
async fn unreadable_requests_are_refused(backend: Backend) {
    let (app, _, before) = with_one_resident(backend).await;
    let resp = app
        .client
        .post(format!("{}/api/v1/registry/residents", app.url))
        .bearer_auth(app.token(Role::Municipality))
        .header("Content-Type", "application/json")
        .body("{\"name\": \"山田")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let r: Value = resp.json().await.unwrap();
    assert_eq!(r["error"]["code"], "request.json_syntax");
    let resp = app
        .client
        .post(format!("{}/api/v1/registry/residents", app.url))
        .bearer_auth(app.token(Role::Municipality))
        .body(taro().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415);
    let mut big = taro();
    big["name"] = json!("山".repeat(300_000));
    // A client of its own: the server may close the connection of a refused oversized body,
    // which must not disturb the shared client's pool.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/registry/residents", app.url))
        .bearer_auth(app.token(Role::Municipality))
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let r: Value = resp.json().await.unwrap();
    assert_eq!(r["error"]["code"], "request.too_large");
    assert_eq!(
        snapshot(&app).await,
        before,
        "bad input must change nothing"
    );
    app.finish().await;
}

/// Bad ids, unknown residents and routes.
async fn bad_ids_and_routes(backend: Backend) {
    let (app, _, before) = with_one_resident(backend).await;
    let (s, r) = app
        .get("/api/v1/registry/residents/abc", Some(Role::Municipality))
        .await;
    assert_eq!(s, 422);
    assert_eq!(r["error"]["code"], "resident_id.format");
    let (s, r) = app
        .get("/api/v1/registry/residents/12345", Some(Role::Municipality))
        .await;
    assert_eq!(s, 404);
    assert_eq!(r["error"]["code"], "resident.not_found");
    let (s, r) = app.get("/api/v1/no/such/route", None).await;
    assert_eq!(s, 404);
    assert_eq!(r["error"]["code"], "route.not_found");
    // A path or query parameter that cannot be read is the API's JSON error, as the
    // OpenAPI document says (schemathesis found axum's plain text here).
    for (method, path, role, code) in [
        (
            "DELETE",
            "/api/v1/admin/tokens/99999999999999999999",
            Role::Operator,
            "request.path",
        ),
        (
            "GET",
            "/api/v1/campaigns/dashboard?months=-1",
            Role::Employer,
            "request.query",
        ),
    ] {
        let resp = app
            .client
            .request(method.parse().unwrap(), format!("{}{path}", app.url))
            .bearer_auth(app.token(role))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{path}");
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{path}: {content_type}"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{path}");
    }
    // A root named in a body that does not exist is invalid input, not a missing resource.
    let (s, r) = app
        .post(
            "/api/v1/jpki/crls/publish",
            Some(Role::Operator),
            &json!({"root": "", "kind": "full"}),
        )
        .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (422, Some("root.unknown")),
        "{r}"
    );
    // A browser asking for HTML gets a page; a wrong method the JSON error body and Allow.
    let resp = app
        .client
        .get(format!("{}/no/such/page", app.url))
        .header("Accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("ページが見つかりません")
    );
    let resp = app
        .client
        .delete(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert!(resp.headers().contains_key("allow"), "{:?}", resp.headers());
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "route.method_not_allowed");

    assert_eq!(
        snapshot(&app).await,
        before,
        "bad input must change nothing"
    );
    app.finish().await;
}

async fn organisations_and_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let (s, org) = app
        .post(
            "/api/v1/admin/organisations",
            Some(Role::Operator),
            &json!({"name": "新宿区", "role": "municipality", "code": "13104"}),
        )
        .await;
    assert_eq!(s, 201, "{org}");
    assert_eq!(org["code"], "131041");
    let (s, r) = app
        .post(
            "/api/v1/admin/organisations",
            Some(Role::Operator),
            &json!({"name": "x", "role": "insurer", "code": "33120016"}),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(r["error"]["code"], "insurer_number.check_digit");
    let (s, t) = app
        .post(
            &format!("/api/v1/admin/organisations/{}/tokens", org["id"]),
            Some(Role::Operator),
            &json!({"label": "window"}),
        )
        .await;
    assert_eq!(s, 201);
    let token = t["token"].as_str().unwrap();
    let who = app
        .client
        .get(format!("{}/api/v1/whoami", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(who["org_name"], "新宿区");
    assert_eq!(who["role"], "municipality");
    // Tokens are stored hashed.
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1")
        .bind(token.to_owned())
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(stored, 0);
    let resp = app
        .client
        .delete(format!("{}/api/v1/admin/tokens/{}", app.url, t["id"]))
        .bearer_auth(app.token(Role::Operator))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let resp = app
        .client
        .get(format!("{}/api/v1/whoami", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401, "revoked token");
    app.finish().await;
}

async fn system_endpoints(backend: Backend) {
    let app = spawn_app(backend).await;
    let (s, r) = app.get("/healthz", None).await;
    assert_eq!((s, r["status"].as_str()), (200, Some("ok")));
    let (s, r) = app.get("/readyz", None).await;
    assert_eq!(s, 200);
    assert_eq!(r["database"], "ok");
    let (s, r) = app.get("/openapi.json", None).await;
    assert_eq!(s, 200);
    assert!(r["paths"]["/api/v1/registry/residents"]["post"].is_object());
    let (s, page) = app.get("/", None).await;
    assert_eq!(s, 200);
    let page = page.as_str().unwrap();
    assert!(page.contains("<!DOCTYPE html>") && page.contains("住民基本台帳"));
    let resp = app
        .client
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    assert!(text.contains(
        "openmyna_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
    ));
    assert!(text.contains("openmyna_residents{status=\"active\"} 0"));
    for family in [
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_cpu_seconds_total ",
        "openmyna_db_pool_connections{state=\"open\"}",
        "openmyna_ocsp_answers_total{status=\"good\"}",
        "# TYPE openmyna_eligibility_checks_total counter",
        "# TYPE openmyna_crl_age_seconds gauge",
    ] {
        assert!(text.contains(family), "{family} missing from /metrics");
    }
    // The API reference: Redoc from the binary, rendering /openapi.json.
    let (s, page) = app.get("/docs", None).await;
    assert_eq!(s, 200);
    let page = page.as_str().unwrap();
    assert!(
        page.contains("spec-url=\"/openapi.json\"") && page.contains("/docs/redoc.standalone.js")
    );
    let resp = app
        .client
        .get(format!("{}/docs/redoc.standalone.js", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.bytes().await.unwrap().len() > 500_000);
    app.finish().await;
}

on_both_backends!(
    register_read_change_address,
    name_change_correction_and_death,
    unauthorised_and_wrong_role,
    bad_input_changes_nothing,
    unreadable_requests_are_refused,
    bad_ids_and_routes,
    organisations_and_tokens,
    system_endpoints,
);
