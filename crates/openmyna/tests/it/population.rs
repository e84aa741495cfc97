//! Bulk loading of the synthetic population, on SQLite and on PostgreSQL.

use crate::common::{Backend, spawn_app};
use openmyna::demo;
use openmyna_core::{Clock, Role};
use serde_json::json;

async fn bulk_population_loads_and_is_idempotent(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut progress = Vec::new();
    // More than one statement chunk (1,000 rows) so that multi-row inserts are exercised.
    let report = demo::populate(&app.store, 2_345, 42, true, app.clock.as_ref(), |n| {
        progress.push(n)
    })
    .await
    .unwrap();
    assert_eq!((report.inserted, report.skipped), (2_345, 0));
    assert_eq!(progress.last(), Some(&2_345));
    let c = app.store.counts().await.unwrap();
    assert_eq!(
        (c.residents, c.active_residents, c.events),
        (2_345, 2_345, 2_345)
    );
    let history: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM resident_history")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(history, 2_345);

    // The same seed again: every row is already present and is skipped.
    let again = demo::populate(&app.store, 2_345, 42, true, app.clock.as_ref(), |_| {})
        .await
        .unwrap();
    assert_eq!((again.inserted, again.skipped), (0, 2_345));

    // A generated resident is served like any other, My Number included for the municipality.
    let expected = openmyna_population::Generator::new(42, app.clock.now())
        .next()
        .unwrap();
    let (s, r) = app
        .post(
            "/api/v1/registry/residents/search",
            Some(Role::Municipality),
            &json!({"my_number": expected.my_number.expose()}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["id"], expected.id.0);
    assert_eq!(r["name"], expected.basic4.name.name.as_str());
    assert_eq!(r["address"]["text"], expected.basic4.address.text.as_str());
    app.finish().await;
}

on_both_backends!(bulk_population_loads_and_is_idempotent);
