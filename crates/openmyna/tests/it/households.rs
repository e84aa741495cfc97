//! 世帯, 続柄 and 本籍 over HTTP, on SQLite and on PostgreSQL: a household of three, its
//! reading in each member's access log, 世帯分離, the rules a household keeps, and bad input
//! that changes nothing.

use crate::common::{Backend, TestApp, spawn_app};
use openmyna_core::Role;
use serde_json::{Value, json};

/// Household rows, history and events: what a refused request must leave as it was.
async fn snapshot(app: &TestApp) -> (i64, i64, i64) {
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(app.store.pool())
            .await
            .unwrap()
    };
    (
        count("SELECT COUNT(*) FROM household_members").await,
        count("SELECT COUNT(*) FROM resident_history").await,
        count("SELECT COUNT(*) FROM events").await,
    )
}

async fn a_household_of_three_with_its_relationships_and_domicile(backend: Backend) {
    let app = spawn_app(backend).await;
    let muni = app.as_role(Role::Municipality);
    let (head, wife, child) = (
        app.register_resident(true).await,
        app.register_resident(true).await,
        app.register_resident(false).await,
    );
    let (s, h) = muni
        .post(
            "/api/v1/registry/households",
            &json!({"head_resident_id": head, "effective_date": "2020-04-01"}),
        )
        .await;
    assert_eq!(s, 201, "{h}");
    let id = h["household_id"].as_i64().unwrap();
    for (resident, rel) in [(wife, "妻"), (child, "子")] {
        let (s, r) = muni
            .post(
                &format!("/api/v1/registry/households/{id}/members"),
                &json!({"resident_id": resident, "relationship": rel}),
            )
            .await;
        assert_eq!((s, r["household_id"].as_i64()), (200, Some(id)), "{r}");
    }
    // The household: the head first, each with the 続柄 the 住民票 prints.
    let (s, v) = app
        .as_role(Role::Operator)
        .get(&format!("/api/v1/registry/households/{id}"))
        .await;
    assert_eq!(s, 200, "{v}");
    let members: Vec<(i64, &str)> = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["resident_id"].as_i64().unwrap(),
                m["relationship"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(members, [(head, "世帯主"), (wife, "妻"), (child, "子")]);
    assert_eq!(v["members"][0]["since"], "2020-04-01");
    // Reading it is in each member's access log; the history has the change.
    for r in [head, wife, child] {
        let log = app.store.access().access_log(r, 10).await.unwrap();
        assert!(
            log.iter().any(|e| e.category == "registry.household"),
            "{log:?}"
        );
    }
    let (s, hist) = muni
        .get(&format!("/api/v1/registry/residents/{child}/history"))
        .await;
    assert_eq!(s, 200, "{hist}");
    assert!(hist.to_string().contains("household_changed"), "{hist}");
    let (s, m) = muni
        .get(&format!("/api/v1/registry/residents/{wife}/household"))
        .await;
    assert_eq!((s, m["relationship"].as_str()), (200, Some("妻")), "{m}");

    // 本籍・筆頭者: recorded, read by the municipality only.
    let (s, d) = muni
        .put(
            &format!("/api/v1/registry/residents/{head}/domicile"),
            &json!({"honseki": "東京都千代田区千代田一番", "hittosha": "山田 太郎"}),
        )
        .await;
    assert_eq!(
        (s, d["hittosha"].as_str()),
        (200, Some("山田\u{3000}太郎")),
        "{d}"
    );
    let (s, d) = muni
        .get(&format!("/api/v1/registry/residents/{head}/domicile"))
        .await;
    assert_eq!(
        (s, d["honseki"].as_str()),
        (200, Some("東京都千代田区千代田一番"))
    );
    let (s, _) = app
        .as_role(Role::Operator)
        .get(&format!("/api/v1/registry/residents/{head}/domicile"))
        .await;
    assert_eq!(s, 403);
    let log = app.store.access().access_log(head, 20).await.unwrap();
    assert!(log.iter().any(|e| e.category == "registry.domicile"));

    // 世帯主変更: the wife heads the household; the others' 続柄 restated. Every member must
    // be named once, and the new head must be a member.
    let head_path = format!("/api/v1/registry/households/{id}/head");
    let (s, r) = muni
        .post(
            &head_path,
            &json!({"resident_id": wife, "relationships": [
            {"resident_id": head, "relationship": "夫"}]}),
        )
        .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (422, Some("relationships.members")),
        "{r}"
    );
    let (s, r) = muni
        .post(&head_path, &json!({"resident_id": wife, "relationships": [
            {"resident_id": head, "relationship": "夫"}, {"resident_id": child, "relationship": "子"}]}))
        .await;
    assert_eq!(s, 200, "{r}");
    let (_, v) = muni.get(&format!("/api/v1/registry/households/{id}")).await;
    let members: Vec<(i64, &str)> = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["resident_id"].as_i64().unwrap(),
                m["relationship"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(members[0], (wife, "世帯主"), "{v}");
    assert!(members.contains(&(head, "夫")), "{v}");
    // And back, so that the rest of the test reads as before.
    let (s, r) = muni
        .post(&head_path, &json!({"resident_id": head, "relationships": [
            {"resident_id": wife, "relationship": "妻"}, {"resident_id": child, "relationship": "子"}]}))
        .await;
    assert_eq!(s, 200, "{r}");
    // 世帯分離: the child founds a household and leaves the first.
    let (s, h2) = muni
        .post(
            "/api/v1/registry/households",
            &json!({"head_resident_id": child, "reason": "世帯分離"}),
        )
        .await;
    assert_eq!(s, 201, "{h2}");
    assert_ne!(h2["household_id"].as_i64(), Some(id));
    let (_, v) = muni.get(&format!("/api/v1/registry/households/{id}")).await;
    assert_eq!(v["members"].as_array().unwrap().len(), 2, "{v}");
    // A registry event for each change, none touching the four information (no certificate is
    // revoked for a household change).
    let changed: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM events WHERE kind = 'household_changed'")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    // Founding, two joins, two head changes of three members each, the child's 世帯分離.
    assert_eq!(changed.len(), 10);
    assert!(
        changed.iter().all(|p| p.contains(r#""changed":[]"#)),
        "{changed:?}"
    );
    app.finish().await;
}

async fn household_rules_and_bad_input_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let muni = app.as_role(Role::Municipality);
    let (head, other) = (
        app.register_resident(true).await,
        app.register_resident(true).await,
    );
    let (_, h) = muni
        .post(
            "/api/v1/registry/households",
            &json!({"head_resident_id": head}),
        )
        .await;
    let id = h["household_id"].as_i64().unwrap();
    let (s, _) = muni
        .post(
            &format!("/api/v1/registry/households/{id}/members"),
            &json!({"resident_id": other, "relationship": "同居人"}),
        )
        .await;
    assert_eq!(s, 200);
    let before = snapshot(&app).await;
    let members = format!("/api/v1/registry/households/{id}/members");
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            members.as_str(),
            json!({"resident_id": other, "relationship": "娘"}),
            422,
            "relationship.unknown",
        ),
        (
            members.as_str(),
            json!({"resident_id": other, "relationship": "世帯主"}),
            422,
            "relationship.head",
        ),
        (
            members.as_str(),
            json!({"resident_id": head, "relationship": "妻"}),
            409,
            "household.head",
        ),
        (
            members.as_str(),
            json!({"resident_id": other, "relationship": "子", "effective_date": "2999-01-01"}),
            422,
            "effective_date.future",
        ),
        (
            members.as_str(),
            json!({"resident_id": other, "relationship": "子", "effective_date": "soon"}),
            422,
            "effective_date.format",
        ),
        (
            "/api/v1/registry/households/999999/members",
            json!({"resident_id": other, "relationship": "子"}),
            404,
            "household.not_found",
        ),
        (
            "/api/v1/registry/households",
            json!({"head_resident_id": head}),
            409,
            "household.head",
        ),
        (
            "/api/v1/registry/households",
            json!({"head_resident_id": 12345}),
            404,
            "resident.not_found",
        ),
    ];
    for (path, body, status, code) in cases {
        let (s, r) = muni.post(path, &body).await;
        assert_eq!(
            (s, r["error"]["code"].as_str()),
            (status, Some(code)),
            "{path} {body}: {r}"
        );
    }
    let (s, r) = muni
        .put(
            &format!("/api/v1/registry/residents/{head}/domicile"),
            &json!({"honseki": "", "hittosha": "山田"}),
        )
        .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (422, Some("honseki.empty"))
    );
    // Only municipalities change households.
    let (s, _) = app
        .as_role(Role::Operator)
        .post(
            "/api/v1/registry/households",
            &json!({"head_resident_id": other}),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(snapshot(&app).await, before, "nothing changed");
    app.finish().await;
}

/// A tiny PNG: the impression of a seal.
fn impression() -> String {
    crate::common::fixtures::b64(&crate::common::fixtures::seal_png())
}

/// 旧氏 is recorded beside the name and revokes the signing certificate like a change of
/// name; a seal is registered from 15, once, read with its impression by the municipality
/// only, and abolished; each change in the history.
async fn former_name_and_the_seal_registry(backend: Backend) {
    let app = spawn_app(backend).await;
    let muni = app.as_role(Role::Municipality);
    let adult = app.register_resident(true).await;
    let child = app.register_resident(false).await;
    let dir = tempfile::tempdir().unwrap();
    app.issue_card(adult, &dir.path().join("card.json"), Some("ABC123"))
        .await
        .unwrap();
    let sign_status = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT status FROM jpki_certificates WHERE resident_id = $1 AND root = 'sign'",
        )
        .bind(adult)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
    };
    assert_eq!(sign_status().await, "good");
    let path = format!("/api/v1/registry/residents/{adult}/former-name");
    let (s, r) = muni
        .put(&path, &json!({"kyuushi": "佐藤", "kyuushi_kana": "サトウ"}))
        .await;
    assert_eq!(
        (s, r["former_name"]["kyuushi"].as_str()),
        (200, Some("佐藤")),
        "{r}"
    );
    assert_eq!(
        sign_status().await,
        "revoked",
        "the name as printed changed"
    );
    let (s, r) = app.as_role(Role::Operator).get(&path).await;
    assert_eq!(
        (s, r["former_name"]["kyuushi_kana"].as_str()),
        (200, Some("サトウ"))
    );
    let (s, r) = muni
        .put(&path, &json!({"kyuushi": "佐藤", "kyuushi_kana": "さとう"}))
        .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (422, Some("kyuushi_kana.katakana"))
    );
    let (s, r) = muni.put(&path, &json!({})).await;
    assert_eq!((s, r["former_name"].is_null()), (200, true), "{r}");

    // The seal registry.
    let seal = format!("/api/v1/registry/residents/{adult}/inkan");
    let (s, r) = muni.post(&seal, &json!({"image": impression()})).await;
    assert_eq!(s, 201, "{r}");
    let number = r["number"].as_str().unwrap().to_owned();
    assert_eq!(number.len(), 10);
    let (s, r) = muni.post(&seal, &json!({"image": impression()})).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("inkan.registered"))
    );
    let (s, r) = muni
        .post(
            &format!("/api/v1/registry/residents/{child}/inkan"),
            &json!({"image": impression()}),
        )
        .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (422, Some("inkan.age")),
        "{r}"
    );
    let (s, r) = muni
        .post(
            &format!("/api/v1/registry/residents/{adult}/inkan"),
            &json!({"image": "R0lGODlh"}),
        )
        .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (422, Some("image.format")),
        "{r}"
    );
    let (s, r) = muni.get(&seal).await;
    assert_eq!((s, r["number"].as_str()), (200, Some(number.as_str())));
    assert_eq!(r["image"].as_str(), Some(impression().as_str()));
    assert_eq!(app.as_role(Role::Operator).get(&seal).await.0, 403);
    let log = app.store.access().access_log(adult, 20).await.unwrap();
    assert!(log.iter().any(|e| e.category == "registry.inkan"));
    let (s, _) = muni
        .post(
            &format!("{seal}/abolition"),
            &json!({"reason": "印鑑登録証の亡失"}),
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(muni.get(&seal).await.1["error"]["code"], "inkan.none");
    let (s, r) = muni.post(&format!("{seal}/abolition"), &json!({})).await;
    assert_eq!((s, r["error"]["code"].as_str()), (409, Some("inkan.none")));
    // A new registration after the abolition takes a new number.
    let (s, r) = muni.post(&seal, &json!({"image": impression()})).await;
    assert_eq!(s, 201);
    assert_ne!(r["number"].as_str(), Some(number.as_str()));
    let (_, hist) = muni
        .get(&format!("/api/v1/registry/residents/{adult}/history"))
        .await;
    let kinds = hist.to_string();
    for k in ["former_name_changed", "inkan_registered", "inkan_abolished"] {
        assert!(kinds.contains(k), "{k} in {hist}");
    }
    assert!(
        !kinds.contains(&impression()),
        "the impression is not in the history"
    );
    app.finish().await;
}

crate::on_both_backends!(
    former_name_and_the_seal_registry,
    a_household_of_three_with_its_relationships_and_domicile,
    household_rules_and_bad_input_change_nothing,
);
