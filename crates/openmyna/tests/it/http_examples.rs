//! The request examples in `examples/http/*.http` (the VS Code REST Client format, which the
//! JetBrains HTTP client reads too) run as written against a fresh server on both backends:
//! every request answers 2xx, or the status its `# expect: NNN` line names. So the examples an
//! integrator copies cannot drift from the API.
//!
//! The runner takes the subset the files use: file variables (`@name = value`; `base` and the
//! role tokens are replaced with the test server's), `### title` separators, `# @name` for a
//! request whose answer later requests read as `{{name.response.body.$.a.b}}`, headers up to
//! the first empty line, then the body.

use std::collections::HashMap;

use crate::common::{Backend, TestApp, spawn_app};
use serde_json::Value;

struct Request {
    title: String,
    name: Option<String>,
    expect: Option<u16>,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// The file's variables and requests.
fn parse(text: &str) -> (HashMap<String, String>, Vec<Request>) {
    let mut vars = HashMap::new();
    let mut requests = Vec::new();
    let mut chunks = text.split("\n###");
    for line in chunks.next().unwrap_or("").lines() {
        if let Some((k, v)) = line.strip_prefix('@').and_then(|l| l.split_once('=')) {
            vars.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    for chunk in chunks {
        let mut lines = chunk.lines();
        let title = lines.next().unwrap_or("").trim().to_owned();
        let (mut name, mut expect) = (None, None);
        let mut request_line = None;
        let mut headers = Vec::new();
        let mut body = Vec::new();
        let mut in_body = false;
        for line in lines {
            if in_body {
                body.push(line);
                continue;
            }
            let t = line.trim();
            if let Some(c) = t.strip_prefix('#').or_else(|| t.strip_prefix("//")) {
                let c = c.trim();
                if let Some(n) = c.strip_prefix("@name") {
                    name = Some(n.trim().to_owned());
                } else if let Some(e) = c.strip_prefix("expect:") {
                    expect = Some(e.trim().parse().expect("# expect: takes a status"));
                }
                continue;
            }
            match request_line {
                None if t.is_empty() => {}
                None => request_line = Some(t.to_owned()),
                Some(_) if t.is_empty() => in_body = true,
                Some(_) => {
                    let (k, v) = t.split_once(':').expect("a header line");
                    headers.push((k.trim().to_owned(), v.trim().to_owned()));
                }
            }
        }
        let request_line = request_line.unwrap_or_else(|| panic!("### {title}: no request"));
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("GET").to_owned();
        let url = parts.next().expect("a URL").to_owned();
        requests.push(Request {
            title,
            name,
            expect,
            method,
            url,
            headers,
            body: body.join("\n").trim().to_owned(),
        });
    }
    (vars, requests)
}

/// `{{var}}` and `{{request.response.body.$.path}}` replaced.
fn substitute(s: &str, vars: &HashMap<String, String>, answers: &HashMap<String, Value>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("a closing }}") + start;
        let key = rest[start + 2..end].trim();
        let value = match key.split_once(".response.body.$") {
            Some((req, path)) => {
                let mut v = answers
                    .get(req)
                    .unwrap_or_else(|| panic!("no answer named {req} yet"));
                for seg in path.split('.').filter(|s| !s.is_empty()) {
                    v = match seg.parse::<usize>() {
                        Ok(i) => &v[i],
                        Err(_) => &v[seg],
                    };
                }
                match v {
                    Value::String(s) => s.clone(),
                    Value::Null => panic!("{key} is not in the answer"),
                    other => other.to_string(),
                }
            }
            None => vars
                .get(key)
                .unwrap_or_else(|| panic!("no variable {key}"))
                .clone(),
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

async fn run_file(app: &TestApp, file: &str) -> usize {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/http")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let (mut vars, requests) = parse(&text);
    vars.insert("base".into(), app.url.clone());
    for role in openmyna_core::role::ALL_ROLES {
        if vars.contains_key(role.as_str()) {
            vars.insert(role.as_str().into(), app.token(role).to_owned());
        }
    }
    let mut answers = HashMap::new();
    for r in &requests {
        let url = substitute(&r.url, &vars, &answers);
        let method = reqwest::Method::from_bytes(r.method.as_bytes()).unwrap();
        let mut rb = app.client.request(method, &url);
        for (k, v) in &r.headers {
            rb = rb.header(k, substitute(v, &vars, &answers));
        }
        if !r.body.is_empty() {
            rb = rb.body(substitute(&r.body, &vars, &answers));
        }
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        match r.expect {
            Some(e) => assert_eq!(status, e, "{file} ### {}: {text}", r.title),
            None => assert!(
                (200..300).contains(&status),
                "{file} ### {}: {status} {text}",
                r.title
            ),
        }
        if let Some(n) = &r.name {
            answers.insert(
                n.clone(),
                serde_json::from_str(&text).unwrap_or(Value::Null),
            );
        }
    }
    requests.len()
}

async fn every_example_request_answers_as_written(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut files: Vec<String> = std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/http"),
    )
    .unwrap()
    .filter_map(|e| e.ok()?.file_name().into_string().ok())
    .filter(|n| n.ends_with(".http"))
    .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let mut total = 0;
    for f in &files {
        total += run_file(&app, f).await;
    }
    println!(
        "{total} example requests in {} files answered as written",
        files.len()
    );
    app.finish().await;
}

on_both_backends!(every_example_request_answers_as_written);
