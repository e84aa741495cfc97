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
    assert_eq!(changed.len(), 4);
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

crate::on_both_backends!(
    a_household_of_three_with_its_relationships_and_domicile,
    household_rules_and_bad_input_change_nothing,
);
