//! The SQLite and PostgreSQL migrations define the same schema: the same tables, the same
//! columns in each, and the same named indexes (types differ by backend and are not compared).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{Connection, Row};

use crate::common::{Backend, spawn_app};

/// Table → columns, and the named indexes as `table.index`.
type Schema = (BTreeMap<String, BTreeSet<String>>, BTreeSet<String>);

async fn strings(c: &mut sqlx::AnyConnection, sql: &str) -> Vec<(String, String)> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect()
}

async fn schema(url: &str, backend: Backend) -> Schema {
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    let (columns, indexes) = match backend {
        Backend::Sqlite => (
            strings(
                &mut c,
                "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
                 AND m.name <> '_sqlx_migrations'",
            )
            .await,
            strings(
                &mut c,
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' \
                 AND name NOT LIKE 'sqlite_autoindex_%' AND tbl_name <> '_sqlx_migrations'",
            )
            .await,
        ),
        Backend::Postgres => (
            strings(
                &mut c,
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
            )
            .await,
            // Indexes that back a primary key or unique constraint are SQLite's autoindexes.
            strings(
                &mut c,
                "SELECT i.tablename::text, i.indexname::text FROM pg_indexes i \
                 WHERE i.schemaname = 'public' AND i.tablename <> '_sqlx_migrations' \
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint k \
                                 WHERE k.conname = i.indexname AND k.contype IN ('p', 'u'))",
            )
            .await,
        ),
    };
    let _ = c.close().await;
    let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (t, col) in columns {
        tables.entry(t).or_default().insert(col);
    }
    let indexes = indexes
        .into_iter()
        .map(|(t, i)| format!("{t}.{i}"))
        .collect();
    (tables, indexes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(openmyna_test_pg),
    ignore = "no PostgreSQL: build with OPENMYNA_TEST_DATABASE_URL set to run it"
)]
async fn sqlite_and_postgres_migrations_define_the_same_schema() {
    if crate::common::postgres_url().is_none() {
        return;
    }
    let lite = spawn_app(Backend::Sqlite).await;
    let pg = spawn_app(Backend::Postgres).await;
    let (lite_tables, lite_indexes) = schema(&lite.config.database_url(), Backend::Sqlite).await;
    let (pg_tables, pg_indexes) = schema(&pg.config.database_url(), Backend::Postgres).await;
    assert!(lite_tables.len() > 20, "{lite_tables:?}");
    assert!(!lite_indexes.is_empty(), "no named index found");
    let names = |t: &BTreeMap<String, BTreeSet<String>>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&lite_tables), names(&pg_tables), "tables differ");
    for (table, cols) in &lite_tables {
        assert_eq!(
            Some(cols),
            pg_tables.get(table),
            "columns of {table} differ"
        );
    }
    assert_eq!(lite_indexes, pg_indexes, "indexes differ");
    lite.finish().await;
    pg.finish().await;
}
