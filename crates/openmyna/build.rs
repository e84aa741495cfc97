//! Tells the integration tests whether a PostgreSQL server was configured
//! (`OPENMYNA_TEST_DATABASE_URL`): without one, the PostgreSQL variant of each scenario is
//! compiled as ignored, so that the test summary counts it as ignored, never as passed.

fn main() {
    println!("cargo::rerun-if-env-changed=OPENMYNA_TEST_DATABASE_URL");
    println!("cargo::rustc-check-cfg=cfg(openmyna_test_pg)");
    if std::env::var("OPENMYNA_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        println!("cargo::rustc-cfg=openmyna_test_pg");
    }
}
