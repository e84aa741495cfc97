//! Slow-client protection on the listener: a request whose headers or body never finish does
//! not hold its connection; other clients are served meanwhile.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Backend, real_now, spawn_app_configured};

/// Reads until the server closes the connection; returns what it sent. Bounded, so that a
/// server that never closes fails the test instead of hanging it.
async fn read_until_closed(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(out),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn unfinished_headers_and_bodies_do_not_hold_connections() {
    let app = spawn_app_configured(Backend::Sqlite, real_now(), |c| {
        c.server.header_timeout_secs = 1;
        c.server.body_timeout_secs = 1;
    })
    .await;
    let addr = app.url.trim_start_matches("http://").to_owned();
    // Headers never finished.
    let mut headers = TcpStream::connect(&addr).await.unwrap();
    headers
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // A body that stops after 10 of 100 bytes.
    let mut body = TcpStream::connect(&addr).await.unwrap();
    body.write_all(
        b"POST /ocsp/sign HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\n\
          Content-Length: 100\r\n\r\n0123456789",
    )
    .await
    .unwrap();
    // Meanwhile another client is served.
    let (s, _) = app.get("/healthz", None).await;
    assert_eq!(s, 200);
    assert!(
        read_until_closed(&mut headers).await.is_some(),
        "the connection with unfinished headers was not closed"
    );
    let answer = read_until_closed(&mut body)
        .await
        .expect("the connection with a stalled body was not closed");
    // The stalled request fails (whatever the status), it is never answered as a success.
    let text = String::from_utf8_lossy(&answer);
    assert!(!text.starts_with("HTTP/1.1 200"), "{text}");
    app.finish().await;
}
