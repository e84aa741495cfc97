//! Card-uptake campaigns and employer My Number intake, end to end on both backends:
//! dashboards equal the counts of the raw answers and withhold small groups; an employee
//! reads only their own answer; a campaign ends with its award; an on-site session takes
//! applicants through to delivered cards; the ministry CSV follows its layout; a My Number is
//! refused on a wrong check digit, stored unreadably, read by HR only and every reading is in
//! the resident's access log; the enrollment export loads at the insurer; retention deletes.

use std::collections::HashMap;

use crate::common::{Backend, TestApp, spawn_app};
use openmyna_core::Role;
use serde_json::{Value, json};

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    app.as_token(token).get(path).await
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    app.as_token(token).post(path, &body).await
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    app.as_token(token).put(path, &body).await
}

async fn raw(app: &TestApp, path: &str, token: &str) -> (u16, String, String) {
    let r = app.as_token(token).get_raw(path).await;
    (r.status, r.content_type, r.body)
}

async fn post_csv(app: &TestApp, path: &str, token: &str, csv: String) -> (u16, Value) {
    app.as_token(token).post_csv(path, csv).await
}

fn code(v: &Value) -> Option<&str> {
    v["error"]["code"].as_str()
}

async fn division(app: &TestApp, admin: &str, name: &str, parent: Option<i64>) -> i64 {
    let (s, r) = post(
        app,
        "/api/v1/employers/divisions",
        admin,
        json!({"name": name, "parent_id": parent}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    r["id"].as_i64().unwrap()
}

async fn employee(app: &TestApp, admin: &str, no: &str, div: Option<i64>) {
    let (s, r) = post(
        app,
        "/api/v1/employers/employees",
        admin,
        json!({"employee_no": no, "name": format!("社員 {no}"), "division_id": div,
               "hired_on": "2025-01-06"}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
}

async fn member(app: &TestApp, admin: &str, body: Value) -> String {
    let (s, r) = post(app, "/api/v1/employers/members", admin, body).await;
    assert_eq!(s, 201, "{r}");
    r["token"].as_str().unwrap().to_owned()
}

fn advance_to(app: &TestApp, rfc3339: &str) {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap();
    app.clock.set(t);
}

/// (holds, registered) per employee number, as each person answered.
type Truth = HashMap<String, (bool, bool)>;

fn expected(truth: &Truth, members: &[&str]) -> (u64, u64) {
    let mut h = 0;
    let mut r = 0;
    for m in members {
        if let Some((a, b)) = truth.get(*m) {
            h += u64::from(*a);
            r += u64::from(*b);
        }
    }
    (h, r)
}

/// The demo company (industry I) with 営業本部 (東日本 6, 西日本 5), 管理本部 8 and 研究室 3,
/// and everyone's answer in: 東日本 and 研究室 answer for themselves (registered without a
/// card is refused); HR imports the others by CSV (bad rows named; a row for someone who
/// answered themselves is compared with HR's own imports only; the same file again changes
/// nothing).
struct Answered {
    app: TestApp,
    admin: String,
    hr: String,
    sales: i64,
    east: i64,
    west: i64,
    admin_div: i64,
    lab: i64,
    /// (division, employee numbers) of 東日本, 西日本, 管理本部 and 研究室, in that order.
    groups: Vec<(i64, Vec<String>)>,
    truth: Truth,
    /// The tokens of those who answered for themselves, by employee number.
    tokens: HashMap<String, String>,
}

async fn answered_company(backend: Backend) -> Answered {
    let app = spawn_app(backend).await;
    let admin = app.token(Role::Employer).to_owned();
    let (s, p) = put(
        &app,
        "/api/v1/employers/profile",
        &admin,
        json!({"kind": "company", "industry": "I"}),
    )
    .await;
    assert_eq!(
        (s, p["industry_name"].as_str()),
        (200, Some("卸売業，小売業")),
        "{p}"
    );

    // 営業本部 (東日本 6, 西日本 5), 管理本部 8, 研究室 3.
    let sales = division(&app, &admin, "営業本部", None).await;
    let east = division(&app, &admin, "東日本営業部", Some(sales)).await;
    let west = division(&app, &admin, "西日本営業部", Some(sales)).await;
    let admin_div = division(&app, &admin, "管理本部", None).await;
    let lab = division(&app, &admin, "研究室", None).await;
    let (s, r) = post(
        &app,
        "/api/v1/employers/divisions",
        &admin,
        json!({"name": "営業本部"}),
    )
    .await;
    assert_eq!((s, code(&r)), (409, Some("division.duplicate")));
    let mut groups: Vec<(i64, Vec<String>)> = Vec::new();
    for (div, prefix, n) in [
        (east, "E", 6),
        (west, "W", 5),
        (admin_div, "A", 8),
        (lab, "L", 3),
    ] {
        let mut nos = Vec::new();
        for k in 1..=n {
            let no = format!("{prefix}{k:03}");
            employee(&app, &admin, &no, Some(div)).await;
            nos.push(no);
        }
        groups.push((div, nos));
    }

    // Employees answer for themselves (east and lab); HR imports the others by CSV.
    let mut truth: Truth = HashMap::new();
    let mut tokens: HashMap<String, String> = HashMap::new();
    for (i, no) in groups[0].1.iter().chain(groups[3].1.iter()).enumerate() {
        let t = member(&app, &admin, json!({"kind": "employee", "employee_no": no})).await;
        let ans = (i % 3 != 2, i % 3 == 0);
        let (s, r) = put(
            &app,
            "/api/v1/campaigns/my-answer",
            &t,
            json!({"holds_card": ans.0, "insurance_registered": ans.1}),
        )
        .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["latest"]["holds_card"], ans.0);
        truth.insert(no.clone(), ans);
        tokens.insert(no.clone(), t);
    }
    let e1 = &tokens["E001"];
    let (s, r) = put(
        &app,
        "/api/v1/campaigns/my-answer",
        e1,
        json!({"holds_card": false, "insurance_registered": true}),
    )
    .await;
    assert_eq!(
        (s, code(&r)),
        (422, Some("insurance_registered.without_card"))
    );
    let hr = member(&app, &admin, json!({"kind": "hr", "name": "人事部 佐藤"})).await;
    let mut csv = String::from("employee_no,holds_card,insurance_registered,as_of\n");
    for (k, no) in groups[1].1.iter().chain(groups[2].1.iter()).enumerate() {
        // Half of them held the card already in February; the rest answer as of today.
        let ans = (k % 4 != 3, k % 2 == 0);
        let as_of = if k % 2 == 0 { "2026-02-15" } else { "" };
        csv.push_str(&format!("{no},{},{},{as_of}\n", ans.0 as u8, ans.1 as u8));
        truth.insert(no.clone(), ans);
    }
    csv.push_str("Z999,1,1,\nA001,maybe,0,\n");
    let (s, r) = post_csv(&app, "/api/v1/campaigns/answers/csv", &hr, csv.clone()).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["accepted"].as_u64(), r["rejected"].as_u64()),
        (Some(13), Some(2)),
        "{r}"
    );
    let rows = r["rows"].as_array().unwrap();
    let bad = rows.iter().find(|x| x["row"] == 15).unwrap();
    assert_eq!(bad["code"], "employee_no.unknown");
    assert_eq!(
        rows.iter().find(|x| x["row"] == 16).unwrap()["field"],
        "holds_card"
    );
    // HR importing an answer for someone who answered themselves learns nothing from the
    // reply: it is compared with HR's own imports only.
    let own = truth["E002"];
    let probe = format!(
        "employee_no,holds_card,insurance_registered\nE002,{},{}\n",
        u8::from(own.0),
        u8::from(own.1)
    );
    let (_, pr) = post_csv(&app, "/api/v1/campaigns/answers/csv", &hr, probe).await;
    assert_eq!(pr["rows"][0]["status"], "accepted", "{pr}");
    // The same file again changes nothing.
    let (_, again) = post_csv(&app, "/api/v1/campaigns/answers/csv", &hr, csv).await;
    assert_eq!(
        (again["accepted"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(13))
    );
    Answered {
        app,
        admin,
        hr,
        sales,
        east,
        west,
        admin_div,
        lab,
        groups,
        truth,
        tokens,
    }
}

async fn the_dashboard_equals_the_raw_answers_and_withholds_small_groups(backend: Backend) {
    let Answered {
        app,
        hr,
        sales,
        east,
        west,
        admin_div,
        lab,
        groups,
        truth,
        ..
    } = answered_company(backend).await;
    // The dashboard equals the raw answers, per division subtree.
    let (s, d) = get(&app, "/api/v1/campaigns/dashboard", &hr).await;
    assert_eq!(s, 200, "{d}");
    let everyone: Vec<String> = truth.keys().cloned().collect();
    let all: Vec<&str> = everyone.iter().map(String::as_str).collect();
    let (h, r) = expected(&truth, &all);
    assert_eq!(d["total"]["employees"], 22);
    assert_eq!(d["total"]["holders"].as_u64(), Some(h));
    assert_eq!(d["total"]["registered"].as_u64(), Some(r));
    let by_id = |id: i64| {
        d["divisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()
            .clone()
    };
    let names = |g: usize| groups[g].1.iter().map(String::as_str).collect::<Vec<_>>();
    for (id, members) in [
        (east, names(0)),
        (west, names(1)),
        (sales, [names(0), names(1)].concat()),
    ] {
        let f = &by_id(id)["figures"];
        let (h, r) = expected(&truth, &members);
        assert_eq!(f["suppressed"], false, "{f}");
        assert_eq!(f["employees"].as_u64(), Some(members.len() as u64));
        assert_eq!(
            (f["holders"].as_u64(), f["registered"].as_u64()),
            (Some(h), Some(r))
        );
        let rate = (h as f64 * 1000.0 / members.len() as f64).round() / 10.0;
        assert_eq!(f["holding_rate"].as_f64(), Some(rate));
    }
    // 研究室 has 3 people: no figures; 管理本部 is withheld too, else total − 営業 − 管理 = 研究室.
    let lab_f = &by_id(lab)["figures"];
    assert_eq!(
        (lab_f["suppressed"].as_bool(), lab_f["employees"].as_u64()),
        (Some(true), Some(3))
    );
    assert!(
        lab_f["holders"].is_null() && lab_f["holding_rate"].is_null(),
        "{lab_f}"
    );
    assert_eq!(by_id(admin_div)["figures"]["suppressed"], true);
    assert_eq!(d["ranking"].as_array().unwrap().len(), 1);
    assert_eq!(d["ranking"][0]["division_id"], sales);
    // Change over time: in February only the imported early answers counted.
    let (_, feb) = get(&app, "/api/v1/campaigns/dashboard?as_of=2026-02-28", &hr).await;
    let early: Vec<&str> = groups[1]
        .1
        .iter()
        .chain(groups[2].1.iter())
        .enumerate()
        .filter(|(k, _)| k % 2 == 0)
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(
        feb["total"]["holders"].as_u64(),
        Some(expected(&truth, &early).0)
    );
    let series = d["series"].as_array().unwrap();
    assert_eq!(series.last().unwrap()["date"], "2026-04-01");
    assert!(series.iter().any(|p| p["date"] == "2026-02-28"));
    app.finish().await;
}

async fn nobody_reads_another_persons_answer(backend: Backend) {
    let Answered {
        app, hr, tokens, ..
    } = answered_company(backend).await;
    let e1 = &tokens["E001"];
    // Nobody reads another person's answer: there is no such read, and the roles hold.
    let (s, r) = get(&app, "/api/v1/campaigns/my-answer", &hr).await;
    assert_eq!((s, code(&r)), (403, Some("employer.employee_only")));
    let (s, r) = get(&app, "/api/v1/employers/employees", e1).await;
    assert_eq!((s, code(&r)), (403, Some("employer.staff_only")));
    let (s, mine) = get(&app, "/api/v1/campaigns/my-answer", e1).await;
    assert_eq!(s, 200);
    assert_eq!(mine["history"].as_array().unwrap().len(), 1);
    let (s, d_emp) = get(&app, "/api/v1/campaigns/dashboard", e1).await;
    assert_eq!(s, 200, "employees see the aggregates too");
    assert!(
        !d_emp.to_string().contains("E00"),
        "no individual in the dashboard"
    );
    let (s, r) = get(&app, "/api/v1/campaigns/dashboard?as_of=2026-03-31", e1).await;
    assert_eq!((s, code(&r)), (403, Some("as_of.staff_only")));
    app.finish().await;
}

async fn charts_never_draw_a_withheld_group_as_zero(backend: Backend) {
    let Answered { app, hr, .. } = answered_company(backend).await;
    // Charts.
    for path in [
        "/api/v1/campaigns/dashboard/divisions.svg",
        "/api/v1/campaigns/dashboard/trend.svg",
    ] {
        let (s, ctype, body) = raw(&app, path, &hr).await;
        assert_eq!((s, ctype.as_str()), (200, "image/svg+xml"), "{body}");
        assert!(body.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(body.contains("営業本部"), "{body}");
        assert!(
            body.contains("fewer than 5") || body.contains("研究室: 2025-04-30 withheld"),
            "withheld, never drawn as zero: {body}"
        );
    }
    app.finish().await;
}

async fn a_campaign_ends_with_its_measures_and_the_award(backend: Backend) {
    let Answered {
        app,
        admin,
        hr,
        groups,
        mut truth,
        ..
    } = answered_company(backend).await;
    // A campaign through April, its measures, and the award at the end.
    let (s, c) = post(
        &app,
        "/api/v1/campaigns",
        &admin,
        json!({"name": "マイナキャンペーン", "starts_on": "2026-04-01", "ends_on": "2026-04-30",
               "target_rate": 90}),
    )
    .await;
    assert_eq!((s, c["phase"].as_str()), (201, Some("running")), "{c}");
    let cid = c["id"].as_i64().unwrap();
    for (kind, on) in [
        ("poster", "2026-04-02"),
        ("paid_leave", "2026-04-03"),
        ("radio", "2026-04-10"),
    ] {
        let (s, m) = post(
            &app,
            &format!("/api/v1/campaigns/{cid}/measures"),
            &admin,
            json!({"kind": kind, "on": on, "note": "全社"}),
        )
        .await;
        assert_eq!(s, 201, "{m}");
    }
    let (s, m) = post(
        &app,
        &format!("/api/v1/campaigns/{cid}/measures"),
        &admin,
        json!({"kind": "tv", "on": "2026-04-02"}),
    )
    .await;
    assert_eq!((s, code(&m)), (422, Some("measure.unknown")));
    let (s, m) = post(
        &app,
        &format!("/api/v1/campaigns/{cid}/measures"),
        &hr,
        json!({"kind": "poster", "on": "2026-04-02"}),
    )
    .await;
    assert_eq!((s, code(&m)), (403, Some("employer.admin_only")));
    // Mid-April everyone in 西日本 answers yes.
    advance_to(&app, "2026-04-15T10:00:00+09:00");
    let mut csv = String::from("employee_no,holds_card,insurance_registered\n");
    for no in &groups[1].1 {
        csv.push_str(&format!("{no},1,1\n"));
        truth.insert(no.clone(), (true, true));
    }
    let (s, _) = post_csv(&app, "/api/v1/campaigns/answers/csv", &hr, csv).await;
    assert_eq!(s, 200);
    advance_to(&app, "2026-05-07T10:00:00+09:00");
    let (s, c) = get(&app, &format!("/api/v1/campaigns/{cid}"), &admin).await;
    assert_eq!((s, c["phase"].as_str()), (200, Some("ended")), "{c}");
    assert_eq!(c["measures"].as_array().unwrap().len(), 3);
    let all: Vec<&str> = truth.keys().map(String::as_str).collect();
    let (h, _) = expected(&truth, &all);
    let rate = (h as f64 * 1000.0 / 22.0).round() / 10.0;
    assert_eq!(c["latest"]["holding_rate"].as_f64(), Some(rate));
    assert_eq!(c["target_met"].as_bool(), Some(rate >= 90.0));
    assert_eq!(c["award"]["divisions"][0]["name"], "営業本部", "{c}");
    assert!(c["change"].as_f64().unwrap() > 0.0);
    let (s, ctype, _) = raw(&app, &format!("/api/v1/campaigns/{cid}/trend.svg"), &admin).await;
    assert_eq!((s, ctype.as_str()), (200, "image/svg+xml"));
    app.finish().await;
}

fn photo() -> String {
    crate::common::fixtures::photo(600, 800)
}

async fn create_org(app: &TestApp, name: &str, code: &str) -> String {
    let (s, o) = app
        .post(
            "/api/v1/admin/organisations",
            Some(Role::Operator),
            &json!({"name": name, "role": "employer", "code": code}),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    let id = o["id"].as_i64().unwrap();
    let (s, t) = app
        .post(
            &format!("/api/v1/admin/organisations/{id}/tokens"),
            Some(Role::Operator),
            &json!({"label": "test"}),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    t["token"].as_str().unwrap().to_owned()
}

/// The ministry, an association under it (a ministry has no parent), and two member companies
/// of six employees each: the demo company (industry I, three of them with a card) and a
/// lodging company (industry M, nobody with a card).
struct Members {
    app: TestApp,
    company: String,
    city: String,
    ministry: String,
    assoc: String,
    other: String,
}

async fn member_organisations(backend: Backend) -> Members {
    let app = spawn_app(backend).await;
    let company = app.token(Role::Employer).to_owned();
    let city = app.token(Role::Municipality).to_owned();
    // The ministry, an association under it, the demo company and a small-rate member.
    let ministry = create_org(&app, "経済産業省", "4000012090001").await;
    let assoc = create_org(&app, "日本卸売協会", "3010405000005").await;
    let other = create_org(&app, "宿泊サービス株式会社", "6123456789013").await;
    let set = |t: &str, body: Value| {
        let t = t.to_owned();
        let app = &app;
        async move {
            let (s, r) = put(app, "/api/v1/employers/profile", &t, body).await;
            assert_eq!(s, 200, "{r}");
        }
    };
    set(&ministry, json!({"kind": "ministry"})).await;
    set(
        &assoc,
        json!({"kind": "association", "parent_corporate_number": "4000012090001"}),
    )
    .await;
    set(
        &company,
        json!({"kind": "company", "industry": "I", "parent_corporate_number": "3010405000005"}),
    )
    .await;
    set(
        &other,
        json!({"kind": "company", "industry": "M", "parent_corporate_number": "3010405000005"}),
    )
    .await;
    let (s, r) = put(
        &app,
        "/api/v1/employers/profile",
        &ministry,
        json!({"kind": "ministry", "parent_corporate_number": "3010405000005"}),
    )
    .await;
    assert_eq!((s, code(&r)), (422, Some("parent.ministry")));
    // Six employees at each company; the other one's all without cards.
    for (t, prefix) in [(&company, "C"), (&other, "H")] {
        let d = division(&app, t, "本社", None).await;
        let mut csv = String::from("employee_no,holds_card,insurance_registered\n");
        for k in 1..=6 {
            let no = format!("{prefix}{k}");
            employee(&app, t, &no, Some(d)).await;
            csv.push_str(&format!("{no},{},0\n", u8::from(prefix == "C" && k <= 3)));
        }
        let (s, r) = post_csv(&app, "/api/v1/campaigns/answers/csv", t, csv).await;
        assert_eq!((s, r["accepted"].as_u64()), (200, Some(6)), "{r}");
    }
    Members {
        app,
        company,
        city,
        ministry,
        assoc,
        other,
    }
}

/// The members, a campaign of the demo company, and an on-site session it requested at 千代田区,
/// held with two applicants: only the municipality schedules it, and it takes applicants only
/// once scheduled, on its days, verified by its staff.
struct Held {
    members: Members,
    sid: i64,
    /// (application id, 申請書ID) of the two applicants.
    taken: Vec<(i64, String)>,
}

async fn held_session(backend: Backend) -> Held {
    let Members {
        app,
        company,
        city,
        ministry,
        assoc,
        other,
    } = member_organisations(backend).await;
    let (s, c) = post(
        &app,
        "/api/v1/campaigns",
        &company,
        json!({"name": "取得促進", "starts_on": "2026-04-01", "ends_on": "2026-06-30", "target_rate": 80}),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    let cid = c["id"].as_i64().unwrap();
    post(
        &app,
        &format!("/api/v1/campaigns/{cid}/measures"),
        &company,
        json!({"kind": "on_site_session", "on": "2026-04-10", "reached": 2}),
    )
    .await;

    // The company requests a session; 千代田区 schedules it.
    let (s, sess) = post(
        &app,
        "/api/v1/campaigns/onsite-sessions",
        &company,
        json!({"municipality_code": "131016", "preferred_dates": ["2026-04-10", "2026-04-13"],
               "place": "本社 3F 大会議室", "expected_applicants": 40, "contact": "人事部",
               "campaign_id": cid}),
    )
    .await;
    assert_eq!(
        (s, sess["status"].as_str()),
        (201, Some("requested")),
        "{sess}"
    );
    let sid = sess["id"].as_i64().unwrap();
    let (_, list) = get(&app, "/api/v1/campaigns/onsite-sessions", &city).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let applicant = |resident: i64, employee_no: Option<&str>| {
        json!({"application": {"resident_id": resident, "identity_document": "driver_license",
                               "photo": photo(), "auth_pin": "1234", "sign_password": "onsite9"},
               "verified_by": "市民課 鈴木", "employee_no": employee_no})
    };
    let r1 = app.register_resident(true).await;
    let (s, r) = post(
        &app,
        &format!("/api/v1/campaigns/onsite-sessions/{sid}/applicants"),
        &city,
        applicant(r1, Some("C4")),
    )
    .await;
    assert_eq!((s, code(&r)), (409, Some("session.not_scheduled")), "{r}");
    let (s, r) = post(
        &app,
        &format!("/api/v1/campaigns/onsite-sessions/{sid}/schedule"),
        &company,
        json!({"dates": ["2026-04-10"], "hours": "10:00-16:00", "staff": ["市民課 鈴木"], "place": "本社"}),
    )
    .await;
    assert_eq!(s, 403, "only the municipality schedules: {r}");
    let (s, r) = post(
        &app,
        &format!("/api/v1/campaigns/onsite-sessions/{sid}/schedule"),
        &city,
        json!({"dates": ["2026-04-10", "2026-04-13"], "hours": "10:00-16:00",
               "staff": ["市民課 鈴木", "市民課 田中"], "place": "本社 3F 大会議室"}),
    )
    .await;
    assert_eq!((s, r["status"].as_str()), (200, Some("scheduled")), "{r}");
    let (s, r) = post(
        &app,
        &format!("/api/v1/campaigns/onsite-sessions/{sid}/applicants"),
        &city,
        applicant(r1, Some("C4")),
    )
    .await;
    assert_eq!((s, code(&r)), (409, Some("session.not_today")), "{r}");
    advance_to(&app, "2026-04-10T11:00:00+09:00");
    let mut bad = applicant(r1, Some("C4"));
    bad["verified_by"] = json!("誰か");
    let (s, r) = post(
        &app,
        &format!("/api/v1/campaigns/onsite-sessions/{sid}/applicants"),
        &city,
        bad,
    )
    .await;
    assert_eq!((s, code(&r)), (422, Some("verified_by.not_staff")));
    let mut taken = Vec::new();
    let r2 = app.register_resident(true).await;
    for (resident, no) in [(r1, "C4"), (r2, "C5")] {
        let (s, r) = post(
            &app,
            &format!("/api/v1/campaigns/onsite-sessions/{sid}/applicants"),
            &city,
            applicant(resident, Some(no)),
        )
        .await;
        assert_eq!(s, 201, "{r}");
        assert_eq!(r["application"]["channel"], "on_site");
        taken.push((
            r["application"]["id"].as_i64().unwrap(),
            r["application"]["form_id"].as_str().unwrap().to_owned(),
        ));
    }
    let (s, r) = post(
        &app,
        &format!("/api/v1/campaigns/onsite-sessions/{sid}/close"),
        &city,
        json!({}),
    )
    .await;
    assert_eq!(
        (s, r["status"].as_str(), r["applicants"].as_i64()),
        (200, Some("held"), Some(2))
    );
    Held {
        members: Members {
            app,
            company,
            city,
            ministry,
            assoc,
            other,
        },
        sid,
        taken,
    }
}

/// The session's applications reviewed and made, mailed, and received.
async fn deliver_the_cards(held: &Held) {
    let Members {
        app, company, city, ..
    } = &held.members;
    let sid = held.sid;
    // The municipality reviews and makes the cards; they go out by 本人限定受取郵便 and the
    // applicants receive them without a visit.
    for (id, form_id) in &held.taken {
        let (s, r) = post(
            app,
            &format!("/api/v1/card-applications/{id}/review"),
            city,
            json!({"decision": "accept"}),
        )
        .await;
        assert_eq!(s, 200, "{r}");
        let (s, r) = post(
            app,
            &format!("/api/v1/card-applications/{id}/manufacture"),
            city,
            json!({}),
        )
        .await;
        assert_eq!((s, r["status"].as_str()), (200, Some("mailed")), "{r}");
        let delivery = r["delivery_code"].as_str().unwrap().to_owned();
        let (_, mid) = get(
            app,
            &format!("/api/v1/campaigns/onsite-sessions/{sid}"),
            company,
        )
        .await;
        assert!(
            mid["applications"]["mailed"].as_i64().unwrap() >= 1,
            "{mid}"
        );
        let (s, r) = app
            .post(
                &format!("/api/v1/card-applications/{id}/receive"),
                None,
                &json!({"form_id": form_id, "delivery_code": delivery}),
            )
            .await;
        assert_eq!(
            (s, r["application"]["status"].as_str()),
            (200, Some("delivered")),
            "{r}"
        );
    }
}

async fn an_onsite_session_takes_applicants_through_to_delivered_cards(backend: Backend) {
    let held = held_session(backend).await;
    deliver_the_cards(&held).await;
    let Held { members, sid, .. } = held;
    let Members {
        app,
        company,
        other,
        ..
    } = members;
    let (s, v) = get(
        &app,
        &format!("/api/v1/campaigns/onsite-sessions/{sid}"),
        &company,
    )
    .await;
    assert_eq!((s, v["delivered"].as_i64()), (200, Some(2)), "{v}");
    assert_eq!(v["applications"]["delivered"], 2);
    // Another organisation does not see it.
    let (s, _) = get(
        &app,
        &format!("/api/v1/campaigns/onsite-sessions/{sid}"),
        &other,
    )
    .await;
    assert_eq!(s, 404);
    app.finish().await;
}

async fn an_association_sees_its_members_figures_and_a_ministry_does_not(backend: Backend) {
    let held = held_session(backend).await;
    deliver_the_cards(&held).await;
    let Members {
        app,
        ministry,
        assoc,
        ..
    } = held.members;
    // The association sees its members' figures; the ministry reads the report instead.
    let (s, r) = get(&app, "/api/v1/campaigns/member-organisations", &ministry).await;
    assert_eq!((s, code(&r)), (409, Some("employer.not_association")));
    let (s, m) = get(&app, "/api/v1/campaigns/member-organisations", &assoc).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["total"]["employees"], 12);
    assert_eq!(m["total"]["holders"], 3);
    app.finish().await;
}

async fn the_ministry_report_follows_its_documented_layout(backend: Backend) {
    let held = held_session(backend).await;
    deliver_the_cards(&held).await;
    let Members {
        app,
        company,
        ministry,
        ..
    } = held.members;
    // The ministry report: the documented layout, the session's results, the bottom third.
    let (s, r) = get(&app, "/api/v1/campaigns/ministry-report", &company).await;
    assert_eq!((s, code(&r)), (409, Some("employer.not_ministry")));
    let (s, ctype, csv) = raw(&app, "/api/v1/campaigns/ministry-report", &ministry).await;
    assert_eq!(
        (s, ctype.as_str()),
        (200, "text/csv; charset=utf-8"),
        "{csv}"
    );
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/campaigns.md"),
    )
    .unwrap();
    let documented = doc
        .lines()
        .skip_while(|l| !l.starts_with("| # | column"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.split('|')
                .nth(2)
                .unwrap()
                .trim()
                .trim_matches('`')
                .to_owned()
        })
        .collect::<Vec<_>>();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, documented);
    assert_eq!(header, openmyna_campaigns::ministry::CSV_COLUMNS);
    let rows: Vec<HashMap<String, String>> = reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect();
    let demo = rows
        .iter()
        .find(|r| r["corporate_number"] == "4011001098993")
        .unwrap();
    assert_eq!(demo["record_type"], "organisation");
    assert_eq!(demo["industry_code"], "I");
    assert_eq!(
        (demo["employees"].as_str(), demo["card_holders"].as_str()),
        ("6", "3")
    );
    assert_eq!(demo["holding_rate"], "50.0");
    assert_eq!(demo["on_site_session"], "1");
    assert_eq!(
        (
            demo["sessions_held"].as_str(),
            demo["session_applications"].as_str(),
            demo["session_cards_delivered"].as_str()
        ),
        ("1", "2", "2")
    );
    assert_eq!(demo["bottom_third"], "0");
    let lodging = rows
        .iter()
        .find(|r| r["record_type"] == "industry" && r["industry_code"] == "M")
        .unwrap();
    assert_eq!(
        (
            lodging["holding_rate"].as_str(),
            lodging["bottom_third"].as_str()
        ),
        ("0.0", "1")
    );
    let assoc_row = rows
        .iter()
        .find(|r| r["corporate_number"] == "3010405000005")
        .unwrap();
    assert_eq!(
        (assoc_row["kind"].as_str(), assoc_row["employees"].as_str()),
        ("association", "")
    );
    let total = rows.iter().find(|r| r["record_type"] == "total").unwrap();
    assert_eq!(total["employees"], "12");
    app.finish().await;
}

/// Where HR reads the employee's My Number, for health insurance.
const HR_READ: &str = "/api/v1/employers/intakes/S001/my-number?purpose=health_insurance";

/// An employee of the demo company (industry J; numbers kept 7 years after leaving) who is a
/// resident of the registry, and HR: the employee has submitted the My Number (a wrong check
/// digit is refused with the rule named and nothing stored; the number is never echoed; HR
/// cannot submit one).
struct Submitted {
    app: TestApp,
    admin: String,
    hr: String,
    /// The employee's member token.
    me: String,
    resident: i64,
    number: String,
    /// The employee's division.
    division: i64,
}

async fn submitted_my_number(backend: Backend) -> Submitted {
    let app = spawn_app(backend).await;
    let admin = app.token(Role::Employer).to_owned();
    let (s, r) = put(
        &app,
        "/api/v1/employers/profile",
        &admin,
        json!({"kind": "company", "industry": "J", "retention_years": 7,
               "insurer_number": "01130012", "insurer_name": "全国健康保険協会 東京支部",
               "insurer_symbol": "5100"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    // The employee is a resident of the registry.
    let (s, res) = app
        .post(
            "/api/v1/registry/residents",
            Some(Role::Municipality),
            &json!({"name": "佐藤 花子", "name_kana": "サトウ ハナコ", "birth_date": "1992-03-04",
                    "sex": 2, "address": {"municipality_code": "131016", "postal_code": "1000013",
                    "text": "東京都千代田区霞が関一丁目1番1号"}}),
        )
        .await;
    assert_eq!(s, 201, "{res}");
    let resident = res["id"].as_i64().unwrap();
    let number = res["my_number"].as_str().unwrap().to_owned();
    let d = division(&app, &admin, "総務部", None).await;
    employee(&app, &admin, "S001", Some(d)).await;
    let me = member(
        &app,
        &admin,
        json!({"kind": "employee", "employee_no": "S001"}),
    )
    .await;
    let hr = member(&app, &admin, json!({"kind": "hr", "name": "人事部 田中"})).await;
    let form = |n: &str| {
        json!({"my_number": n, "name": "佐藤 花子", "name_kana": "サトウ ハナコ",
               "birth_date": "1992-03-04", "sex": "2",
               "address": "東京都千代田区霞が関一丁目1番1号", "postal_code": "1000013"})
    };
    // A wrong check digit is refused with the rule named, and nothing is stored.
    let last = number.chars().last().unwrap().to_digit(10).unwrap();
    let wrong = format!("{}{}", &number[..11], (last + 1) % 10);
    let (s, r) = put(&app, "/api/v1/employers/me/my-number", &me, form(&wrong)).await;
    assert_eq!((s, code(&r)), (422, Some("my_number.check_digit")), "{r}");
    assert_eq!(r["error"]["field"], "my_number");
    assert!(
        !r.to_string().contains(&wrong[..11]),
        "the number is not echoed"
    );
    let (_, own) = get(&app, "/api/v1/employers/me/my-number", &me).await;
    assert_eq!(own["status"]["status"], "none");
    let (s, r) = put(&app, "/api/v1/employers/me/my-number", &me, form(&number)).await;
    assert_eq!(
        (s, r["status"]["status"].as_str()),
        (201, Some("submitted")),
        "{r}"
    );
    assert!(r.get("linked_to_registry").is_none(), "no registry oracle");
    assert!(!r.to_string().contains(&number));
    let (s, r) = put(&app, "/api/v1/employers/me/my-number", &hr, form(&number)).await;
    assert_eq!((s, code(&r)), (403, Some("employer.employee_only")));
    Submitted {
        app,
        admin,
        hr,
        me,
        resident,
        number,
        division: d,
    }
}

async fn a_my_number_is_refused_on_a_wrong_check_digit_and_stored_sealed(backend: Backend) {
    let Submitted { app, number, .. } = submitted_my_number(backend).await;
    // Stored sealed: the number is not in the database.
    let sealed: Vec<Vec<u8>> = sqlx::query_scalar("SELECT form_sealed FROM my_number_intakes")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert_eq!(sealed.len(), 1);
    assert!(!sealed[0].windows(12).any(|w| w == number.as_bytes()));
    if backend == Backend::Sqlite {
        let mut found = false;
        let mut files = 0;
        for entry in std::fs::read_dir(&app.config.data_dir).unwrap() {
            let p = entry.unwrap().path();
            if p.to_string_lossy().contains(".db") {
                files += 1;
                let bytes = std::fs::read(&p).unwrap();
                found |= bytes.windows(12).any(|w| w == number.as_bytes());
                assert!(
                    !bytes.windows(11).any(|w| w == &number.as_bytes()[..11]),
                    "{p:?}"
                );
            }
        }
        assert!(files >= 1, "the database file was read");
        assert!(!found);
    }
    app.finish().await;
}

/// The submitted number read by HR for health insurance after the identity check (refused
/// before the check; a check by the card must cover the identity too; refused to anyone but HR
/// and for an unknown purpose); `before` is the length of the resident's access log just before
/// that reading.
struct Read {
    submitted: Submitted,
    before: usize,
}

async fn read_by_hr(backend: Backend) -> Read {
    let Submitted {
        app,
        admin,
        hr,
        me,
        resident,
        number,
        division,
    } = submitted_my_number(backend).await;
    // Only HR reads it, for a stated purpose, after the identity check.
    let (s, r) = get(&app, HR_READ, &hr).await;
    assert_eq!((s, code(&r)), (409, Some("intake.unchecked")));
    let (s, r) = post(
        &app,
        "/api/v1/employers/intakes/S001/identity-check",
        &hr,
        json!({"number_check": "my_number_card", "identity_check": "photo_id", "documents": ["passport"]}),
    )
    .await;
    assert_eq!((s, code(&r)), (422, Some("identity_check.card_both")));
    let (s, r) = post(
        &app,
        "/api/v1/employers/intakes/S001/identity-check",
        &hr,
        json!({"number_check": "resident_record", "identity_check": "photo_id", "documents": ["driver_license"]}),
    )
    .await;
    assert_eq!((s, r["status"].as_str()), (200, Some("checked")), "{r}");
    assert_eq!(
        r["identity"]["checked_by"],
        "人事部 田中 (デモ商事株式会社)"
    );
    for t in [&admin, &me] {
        let (s, r) = get(&app, HR_READ, t).await;
        assert_eq!((s, code(&r)), (403, Some("employer.hr_only")), "{r}");
    }
    let (s, r) = get(
        &app,
        "/api/v1/employers/intakes/S001/my-number?purpose=marketing",
        &hr,
    )
    .await;
    assert_eq!((s, code(&r)), (422, Some("purpose.unknown")));
    let before = app
        .store
        .access()
        .access_log(resident, 100)
        .await
        .unwrap()
        .len();
    let (s, r) = get(&app, HR_READ, &hr).await;
    assert_eq!(
        (s, r["my_number"].as_str()),
        (200, Some(number.as_str())),
        "{r}"
    );
    Read {
        submitted: Submitted {
            app,
            admin,
            hr,
            me,
            resident,
            number,
            division,
        },
        before,
    }
}

async fn only_hr_reads_the_number_for_a_stated_purpose_after_the_identity_check(backend: Backend) {
    let Read { submitted, .. } = read_by_hr(backend).await;
    let Submitted {
        app, hr, number, ..
    } = submitted;
    let (s, list) = get(&app, "/api/v1/employers/intakes", &hr).await;
    assert_eq!(s, 200);
    assert!(
        !list.to_string().contains(&number),
        "lists never show the number"
    );
    app.finish().await;
}

/// The export feeds the insurer's upload as it is.
async fn export_to_the_insurer(app: &TestApp, hr: &str) {
    let resp = app
        .client
        .post(format!("{}/api/v1/employers/intakes/export", app.url))
        .bearer_auth(hr)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with("my_number,insurer_number,"), "{csv}");
    let (s, loaded) = app
        .client
        .post(format!("{}/api/v1/insurance/records/csv", app.url))
        .bearer_auth(app.token(Role::Insurer))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    let loaded: Value = loaded.json().await.unwrap();
    assert_eq!(s, 200, "{loaded}");
    assert_eq!(loaded["created"], 1, "{loaded}");
    let (_, held) = app
        .get("/api/v1/insurance/records?status=held", Some(Role::Insurer))
        .await;
    assert_eq!(
        held.as_array().unwrap().len(),
        0,
        "the 5 items match: {held}"
    );
}

async fn the_export_loads_at_the_insurer_and_every_reading_is_logged(backend: Backend) {
    let Read { submitted, before } = read_by_hr(backend).await;
    let Submitted {
        app,
        hr,
        me,
        resident,
        ..
    } = submitted;
    export_to_the_insurer(&app, &hr).await;
    // Every reading and the export are in the resident's access log and the handling record.
    let log = app.store.access().access_log(resident, 100).await.unwrap();
    let ours: Vec<_> = log
        .iter()
        .filter(|e| e.category == "employer.my_number")
        .collect();
    assert_eq!(log.len() - before, 2, "one read, one export");
    assert_eq!(ours.len(), 2);
    assert!(ours.iter().all(
        |e| e.actor_name == "デモ商事株式会社" && e.purpose == "健康保険・厚生年金保険届出事務"
    ));
    assert!(
        ours.iter()
            .any(|e| e.detail.starts_with("exported by 人事部 田中"))
    );
    let (_, own) = get(&app, "/api/v1/employers/me/my-number", &me).await;
    let actions: Vec<&str> = own["handling"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["submitted", "checked", "read", "exported"]);
    app.finish().await;
}

async fn retention_deletes_the_number_seven_years_after_leaving(backend: Backend) {
    let Read { submitted, .. } = read_by_hr(backend).await;
    let Submitted {
        app,
        admin,
        hr,
        division: d,
        ..
    } = submitted;
    export_to_the_insurer(&app, &hr).await;
    // Retention: 7 years after leaving the number is deleted, and the record says so.
    let (s, _) = post(
        &app,
        "/api/v1/employers/employees",
        &admin,
        json!({"employee_no": "S001", "name": "社員 S001", "division_id": d,
               "hired_on": "2025-01-06", "left_on": "2026-04-30"}),
    )
    .await;
    assert_eq!(s, 200);
    advance_to(&app, "2033-04-29T09:00:00+09:00");
    let (s, r) = post(&app, "/api/v1/employers/intakes/purge", &admin, json!({})).await;
    assert_eq!((s, code(&r)), (403, Some("employer.hr_only")));
    let (_, p) = post(&app, "/api/v1/employers/intakes/purge", &hr, json!({})).await;
    assert_eq!(p["deleted"].as_array().unwrap().len(), 0, "not yet: {p}");
    advance_to(&app, "2033-04-30T09:00:00+09:00");
    let (_, p) = post(&app, "/api/v1/employers/intakes/purge", &hr, json!({})).await;
    assert_eq!(p["deleted"], json!(["S001"]));
    let (s, r) = get(&app, HR_READ, &hr).await;
    assert_eq!((s, code(&r)), (404, Some("intake.none")));
    let (_, list) = get(&app, "/api/v1/employers/intakes", &hr).await;
    assert_eq!(list[0]["status"], "deleted");
    let gone: Vec<Option<Vec<u8>>> =
        sqlx::query_scalar("SELECT form_sealed FROM my_number_intakes")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    assert_eq!(gone, vec![None]);
    app.finish().await;
}

/// Logs in to the campaign pages with `token`: the status, the session cookie if one was
/// set, and the page (the login page again on a refusal).
async fn page_login(app: &TestApp, token: &str) -> (u16, Option<String>, String) {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = browser
        .post(format!("{}/campaigns/login", app.url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let cookie = r
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    (status, cookie, r.text().await.unwrap())
}

async fn page(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let r = app
        .client
        .get(format!("{}{path}", app.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The company's staff see its dashboard as a page (a browser session, not a bearer token):
/// the figures per division as the API has them, withheld groups said in words, the charts
/// embedded, the campaigns; an employee's, another role's or an unknown token opens nothing.
async fn the_campaign_page_shows_a_company_its_dashboard(backend: Backend) {
    let Answered {
        app,
        admin,
        hr,
        tokens,
        ..
    } = answered_company(backend).await;
    let (s, d) = get(&app, "/api/v1/campaigns/dashboard", &hr).await;
    assert_eq!(s, 200);
    let (s, cookie, _) = page_login(&app, &hr).await;
    assert_eq!(s, 303);
    let cookie = cookie.expect("a session cookie");
    assert!(cookie.starts_with("omn_campaigns="));
    assert!(
        !cookie.contains(&hr),
        "the cookie holds a session, not the token"
    );
    let (s, html) = page(&app, "/campaigns", &cookie).await;
    assert_eq!(s, 200, "{html}");
    for name in [
        "営業本部",
        "東日本営業部",
        "西日本営業部",
        "管理本部",
        "研究室",
    ] {
        assert!(html.contains(name), "{name} listed");
    }
    let sales_rate = d["divisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "営業本部")
        .unwrap()["figures"]["holding_rate"]
        .as_f64()
        .unwrap();
    assert!(
        html.contains(&format!("{sales_rate:.1}%")),
        "the API's rate on the page"
    );
    assert_eq!(
        html.matches("非公表").count(),
        2,
        "研究室 and 管理本部 withheld, in words"
    );
    assert!(html.contains("id=\"bars\"><img src=\"data:image/svg+xml;base64,"));
    assert!(html.contains("id=\"trend\"><img src=\"data:image/svg+xml;base64,"));
    // Another day, chosen on the page.
    let (s, feb) = page(&app, "/campaigns?as_of=2026-02-28", &cookie).await;
    assert_eq!(s, 200);
    assert!(feb.contains("2026-02-28 現在"), "{feb}");
    // The organisation's own token opens it too; the session is not the console's.
    let (s, own, _) = page_login(&app, &admin).await;
    assert_eq!(s, 303);
    let own = own.unwrap();
    let console_cookie = own.replace("omn_campaigns=", "omn_console=");
    let (_, console) = page(&app, "/console", &console_cookie).await;
    assert!(
        console.contains("id=\"login\""),
        "a campaign session opens no console"
    );
    // An employee's own token, the operator's, an unknown one: nothing opens.
    let (s, emp_cookie, _) = page_login(&app, &tokens["E001"]).await;
    assert_eq!(s, 303, "an employer token opens a session…");
    let (s, html) = page(&app, "/campaigns", &emp_cookie.unwrap()).await;
    assert_eq!(s, 403, "…but an employee sees no page");
    assert!(html.contains("answers for its own person"), "{html}");
    let (s, c, html) = page_login(&app, app.token(Role::Operator)).await;
    assert_eq!((s, c), (403, None));
    assert!(html.contains("運営者"), "{html}");
    let (s, c, _) = page_login(&app, "omn_not-a-token").await;
    assert_eq!((s, c), (401, None));
    // Logout ends the session.
    let r = app
        .client
        .post(format!("{}/campaigns/logout", app.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().is_redirection());
    let (_, html) = page(&app, "/campaigns", &cookie).await;
    assert!(html.contains("id=\"login\""), "logged out");
    app.finish().await;
}

/// An association's page lists its members' figures; a ministry's offers its report.
async fn the_campaign_page_shows_an_association_its_members_and_a_ministry_its_report(
    backend: Backend,
) {
    let Members {
        app,
        assoc,
        ministry,
        ..
    } = member_organisations(backend).await;
    let (_, cookie, _) = page_login(&app, &assoc).await;
    let (s, html) = page(&app, "/campaigns", &cookie.unwrap()).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("会員企業ごとの取得率"));
    assert!(html.contains("宿泊サービス株式会社"), "{html}");
    assert!(
        html.contains("25.0%"),
        "3 of 12 members' employees hold a card: {html}"
    );
    let (_, cookie, _) = page_login(&app, &ministry).await;
    let cookie = cookie.unwrap();
    let (s, html) = page(&app, "/campaigns", &cookie).await;
    assert_eq!(s, 200);
    assert!(html.contains("href=\"/campaigns/ministry-report.csv\""));
    let r = app
        .client
        .get(format!("{}/campaigns/ministry-report.csv", app.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, ctype, csv) = raw(&app, "/api/v1/campaigns/ministry-report", &ministry).await;
    assert_eq!(r.headers()["content-type"].to_str().unwrap(), ctype);
    assert_eq!(r.text().await.unwrap(), csv, "the same report as the API's");
    app.finish().await;
}

on_both_backends!(
    the_dashboard_equals_the_raw_answers_and_withholds_small_groups,
    nobody_reads_another_persons_answer,
    charts_never_draw_a_withheld_group_as_zero,
    a_campaign_ends_with_its_measures_and_the_award,
    an_onsite_session_takes_applicants_through_to_delivered_cards,
    an_association_sees_its_members_figures_and_a_ministry_does_not,
    the_ministry_report_follows_its_documented_layout,
    a_my_number_is_refused_on_a_wrong_check_digit_and_stored_sealed,
    only_hr_reads_the_number_for_a_stated_purpose_after_the_identity_check,
    the_export_loads_at_the_insurer_and_every_reading_is_logged,
    retention_deletes_the_number_seven_years_after_leaving,
    the_campaign_page_shows_a_company_its_dashboard,
    the_campaign_page_shows_an_association_its_members_and_a_ministry_its_report
);
