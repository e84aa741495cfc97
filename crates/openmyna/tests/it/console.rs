//! The operator console's session on both backends: the cookie holds a session secret, never
//! the operator's API token; the session ends at logout and when the token is revoked; other
//! roles' tokens open no session.

use crate::common::{Backend, TestApp, spawn_app};
use openmyna_core::{Clock, Role};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Logs in with `token`: the response and the cookie's value.
async fn login(app: &TestApp, token: &str) -> (u16, Option<String>, String) {
    let r = client()
        .post(format!("{}/console/login", app.url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let set_cookie = r
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, set_cookie, r.text().await.unwrap())
}

/// Whether the console page answers as logged in with this cookie value.
async fn logged_in(app: &TestApp, cookie: &str) -> bool {
    let body = client()
        .get(format!("{}/console", app.url))
        .header("Cookie", format!("omn_console={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    body.contains(r#"action="/console/logout""#) && !body.contains(r#"name="token""#)
}

fn secret_of(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("omn_console=")
        .to_owned()
}

async fn console_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.token(Role::Operator).to_owned();

    let (status, set_cookie, _) = login(&app, &token).await;
    assert_eq!(status, 303);
    let set_cookie = set_cookie.expect("a session cookie");
    assert!(
        !set_cookie.contains(&token),
        "the cookie never holds the API token"
    );
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=28800",
    ] {
        assert!(set_cookie.contains(attribute), "{attribute}: {set_cookie}");
    }
    let secret = secret_of(&set_cookie);
    assert!(logged_in(&app, &secret).await);
    // The API token itself is not a console session.
    assert!(!logged_in(&app, &token).await);

    // Logout ends the session on the server, not only in the browser.
    let r = client()
        .post(format!("{}/console/logout", app.url))
        .header("Cookie", format!("omn_console={secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        !logged_in(&app, &secret).await,
        "a copied cookie dies with the logout"
    );

    // Revoking the API token ends the sessions opened with it.
    let (_, set_cookie, _) = login(&app, &token).await;
    let second = secret_of(&set_cookie.unwrap());
    assert!(logged_in(&app, &second).await);
    let now = app.clock.now();
    let actor = app
        .store
        .auth()
        .authenticate(&token, &now)
        .await
        .unwrap()
        .unwrap();
    assert!(
        app.store
            .auth()
            .revoke_token(actor.token_id, &now)
            .await
            .unwrap()
    );
    assert!(
        !logged_in(&app, &second).await,
        "the revoked token's session ends"
    );

    // Other roles' tokens open nothing.
    let clinic = app.token(Role::MedicalInstitution).to_owned();
    let (status, set_cookie, body) = login(&app, &clinic).await;
    assert_eq!(status, 403, "{body}");
    assert!(set_cookie.is_none());
    app.finish().await;
}

/// The login pages, asked for over plain HTTP under a LAN address, say that the login cookie
/// cannot stick there (and not on this machine, nor behind a TLS proxy).
async fn login_pages_say_when_the_cookie_cannot_stick(backend: Backend) {
    let app = spawn_app(backend).await;
    for page in ["/console", "/portal"] {
        let get = |host: &str, proto: Option<&str>| {
            let mut r = client()
                .get(format!("{}{page}", app.url))
                .header("Host", host);
            if let Some(p) = proto {
                r = r.header("X-Forwarded-Proto", p);
            }
            r.send()
        };
        let lan = get("192.168.10.5:8080", None).await.unwrap();
        assert_eq!(lan.status(), 200);
        let body = lan.text().await.unwrap();
        assert!(
            body.contains("id=\"cookie-warning\"") && body.contains("http://192.168.10.5:8080"),
            "{page}: {body}"
        );
        let here = get("127.0.0.1:8080", None)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!here.contains("cookie-warning"), "{page} on this machine");
        let proxied = get("myna.example.jp", Some("https")).await.unwrap();
        let proxied = proxied.text().await.unwrap();
        assert!(!proxied.contains("cookie-warning"), "{page} behind TLS");
    }
    app.finish().await;
}

/// Posts a console form with the session `secret`: the status and the page.
async fn form(app: &TestApp, secret: &str, path: &str, body: &str) -> (u16, String) {
    let r = client()
        .post(format!("{}{path}", app.url))
        .header("Cookie", format!("omn_console={secret}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The token shown once on the page that issued it.
fn shown_token(html: &str) -> Option<String> {
    let at = html.find("id=\"issued-token\" value=\"")? + "id=\"issued-token\" value=\"".len();
    let end = html[at..].find('"')?;
    Some(html[at..at + end].to_owned())
}

/// Organisations and tokens from the console page: a refused registration changes nothing;
/// a token is shown once, works as a bearer, and stops at once when revoked from the page.
async fn organisations_and_tokens_from_the_console(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, set_cookie, _) = login(&app, app.token(Role::Operator)).await;
    let secret = secret_of(&set_cookie.unwrap());
    let before = app.store.auth().organisations().await.unwrap().len();
    // A municipality code with a wrong check digit is refused, with the rule's message.
    let (s, html) = form(
        &app,
        &secret,
        "/console/organisations",
        "name=%E5%B7%9D%E5%B4%8E%E5%B8%82&role=municipality&code=141306",
    )
    .await;
    assert_eq!(s, 422, "{html}");
    assert!(html.contains("id=\"error\""), "{html}");
    assert_eq!(
        app.store.auth().organisations().await.unwrap().len(),
        before
    );
    // 川崎市 with its real code (check digit 5).
    let (s, _) = form(
        &app,
        &secret,
        "/console/organisations",
        "name=%E5%B7%9D%E5%B4%8E%E5%B8%82&role=municipality&code=141305",
    )
    .await;
    assert_eq!(s, 303);
    let orgs = app.store.auth().organisations().await.unwrap();
    let city = orgs
        .iter()
        .find(|o| o.name == "川崎市")
        .expect("registered");
    let (_, html) = {
        let r = client()
            .get(format!("{}/console?done=organisation", app.url))
            .header("Cookie", format!("omn_console={secret}"))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    assert!(html.contains(&format!("id=\"org-{}\"", city.id)), "listed");

    // A token with a bad expiry is refused; a good one is shown once and works.
    let path = format!("/console/organisations/{}/tokens", city.id);
    let (s, html) = form(&app, &secret, &path, "label=reception&expires_on=tomorrow").await;
    assert_eq!(s, 422, "{html}");
    assert!(shown_token(&html).is_none());
    let (s, html) = form(&app, &secret, &path, "label=reception&expires_on=").await;
    assert_eq!(s, 201, "{html}");
    let token = shown_token(&html).expect("the new token on the page");
    let (s, me) = app.as_token(&token).get("/api/v1/whoami").await;
    assert_eq!((s, me["org_name"].as_str()), (200, Some("川崎市")), "{me}");
    let page = client()
        .get(format!("{}/console", app.url))
        .header("Cookie", format!("omn_console={secret}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains(&token), "shown once, not on the next page");
    let id = app
        .store
        .auth()
        .authenticate(&token, &app.clock.now())
        .await
        .unwrap()
        .unwrap()
        .token_id;
    // Revoked from the page: the bearer stops at once; a second revocation is refused.
    let (s, _) = form(&app, &secret, &format!("/console/tokens/{id}/revoke"), "").await;
    assert_eq!(s, 303);
    let (s, _) = app.as_token(&token).get("/api/v1/whoami").await;
    assert_eq!(s, 401);
    let (s, html) = form(&app, &secret, &format!("/console/tokens/{id}/revoke"), "").await;
    assert_eq!(s, 404, "{html}");
    // Without a console session the forms do nothing.
    let (s, _) = form(&app, "nope", &path, "label=x").await;
    assert_eq!(s, 401);
    app.finish().await;
}

on_both_backends!(
    console_sessions,
    login_pages_say_when_the_cookie_cannot_stick,
    organisations_and_tokens_from_the_console
);
