//! The OCSP responder's HTTP surface through the real server: answers, headers, the body
//! limit, the fallbacks for other methods and paths, and the per-route metrics (which count
//! without allocating per request once a route has been seen).

use crate::common::{Backend, TestApp, spawn_app};

async fn post(app: &TestApp, path: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.url))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_responders_http_surface_and_its_metrics() {
    let app = spawn_app(Backend::Sqlite).await;
    let url = |p: &str| format!("{}{p}", app.url);
    // A request that is not an OCSP request: a malformedRequest response (RFC 6960 §4.2.1).
    let resp = post(
        &app,
        "/ocsp/auth",
        "application/ocsp-request",
        vec![0x30, 0x00],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/ocsp-response"
    );
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=60")
    );
    assert_eq!(
        resp.bytes().await.unwrap().as_ref(),
        [0x30, 0x03, 0x0a, 0x01, 0x01]
    );
    // Another content type: malformedRequest too.
    let resp = post(&app, "/ocsp/sign", "text/plain", b"x".to_vec()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.bytes().await.unwrap().as_ref(),
        [0x30, 0x03, 0x0a, 0x01, 0x01]
    );
    // More than the responder takes: 413, as before.
    let resp = post(
        &app,
        "/ocsp/auth",
        "application/ocsp-request",
        vec![0u8; 64 * 1024],
    )
    .await;
    assert_eq!(resp.status(), 413);
    // The application's fallbacks: an unknown path under /ocsp/ and a wrong method.
    let (s, body) = app.get("/ocsp", None).await;
    assert_eq!(s, 404, "{body}");
    let resp = app
        .client
        .put(url("/ocsp/auth"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    let resp = post(
        &app,
        "/ocsp/auth/extra/segments",
        "text/plain",
        b"x".to_vec(),
    )
    .await;
    assert_eq!(resp.status(), 405);
    // GET with a base64 request that is not one.
    let resp = app.client.get(url("/ocsp/auth/MAA=")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.bytes().await.unwrap().as_ref(),
        [0x30, 0x03, 0x0a, 0x01, 0x01]
    );
    // Counted in /metrics under the route template, like every other route.
    let text = String::from_utf8(app.get_bytes("/metrics").await).unwrap();
    assert!(
        text.contains(
            "openmyna_http_requests_total{method=\"POST\",route=\"/ocsp/{root}\",status=\"200\"} 2"
        ),
        "{text}"
    );
    assert!(text.contains(
        "openmyna_http_requests_total{method=\"GET\",route=\"/ocsp/{root}/{*request}\",status=\"200\"} 1"
    ));
    assert!(text.contains("openmyna_ocsp_answers_total"));
}
