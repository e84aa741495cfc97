//! A client of the test server acting as one caller: a role's demo token, any token, or no
//! token at all. Answers are `(status, JSON)` for the scenarios that check the wire itself,
//! or typed with `openmyna-api` (`get_typed`).

use openmyna_api::error::ErrorBody;
use openmyna_core::Role;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::TestApp;

/// See the module documentation.
pub struct ApiClient<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

/// A response read whole: status, content type and body text.
pub struct Raw {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl TestApp {
    /// A client with the demo token of `role`.
    pub fn as_role(&self, role: Role) -> ApiClient<'_> {
        self.as_token(self.token(role))
    }

    /// A client with `token` (a member's token, a terminal's, a new organisation's).
    pub fn as_token(&self, token: &str) -> ApiClient<'_> {
        ApiClient {
            app: self,
            token: Some(token.to_owned()),
        }
    }

    /// A client without a token (the public endpoints, and the 401s).
    pub fn anonymous(&self) -> ApiClient<'_> {
        ApiClient {
            app: self,
            token: None,
        }
    }
}

fn json_of(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

impl ApiClient<'_> {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let rb = (self.app.client).request(method, format!("{}{path}", self.app.url));
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, json_of(resp.text().await.unwrap()))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &impl Serialize) -> (u16, Value) {
        let rb = self.request(reqwest::Method::POST, path).json(body);
        self.send(rb).await
    }

    pub async fn put(&self, path: &str, body: &impl Serialize) -> (u16, Value) {
        let rb = self.request(reqwest::Method::PUT, path).json(body);
        self.send(rb).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.request(reqwest::Method::DELETE, path)).await
    }

    /// POSTs a CSV file.
    pub async fn post_csv(&self, path: &str, csv: String) -> (u16, Value) {
        let rb = (self.request(reqwest::Method::POST, path))
            .header("content-type", "text/csv")
            .body(csv);
        self.send(rb).await
    }

    /// GETs a file (a chart, a CSV, a CRL) as text with its content type.
    pub async fn get_raw(&self, path: &str) -> Raw {
        let resp = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let content_type = (resp.headers().get("content-type"))
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Raw {
            status,
            content_type,
            body: resp.text().await.unwrap(),
        }
    }

    /// GETs a typed answer, or the error body with its status.
    pub async fn get_typed<T: DeserializeOwned>(&self, path: &str) -> Result<T, (u16, ErrorBody)> {
        let resp = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        if (200..300).contains(&status) {
            Ok(serde_json::from_slice(&bytes).unwrap())
        } else {
            Err((status, serde_json::from_slice(&bytes).unwrap()))
        }
    }
}
