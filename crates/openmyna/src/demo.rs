//! The demo installation: a synthetic population and one organisation of each role with a
//! token, so that a fresh `openmyna serve` can be explored at once.

use std::path::Path;
use std::time::{Duration, Instant};

use openmyna_core::{Actor, Clock, Role};
use openmyna_population::Generator;
use openmyna_store::Store;
use openmyna_store::auth::IssuedToken;
use serde::Serialize;

use crate::app::AppError;
use crate::config::Config;

/// Rows per transaction when loading a population.
pub const BATCH: usize = 25_000;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct PopulateReport {
    pub requested: u64,
    pub inserted: u64,
    pub skipped: u64,
    pub seconds: f64,
}

/// Loads `persons` generated residents in batches, calling `progress` with the number done.
/// Where the demo insurers exist, each resident also gets an enrollment record and, with
/// `medical`, a medication, treatment and check-up history.
pub async fn populate(
    store: &Store,
    persons: u64,
    seed: u64,
    medical: bool,
    clock: &dyn Clock,
    mut progress: impl FnMut(u64),
) -> Result<PopulateReport, AppError> {
    let start = Instant::now();
    let actor = Actor {
        org_id: 0,
        org_name: "openmyna demo generator".into(),
        role: Role::Operator,
        token_id: 0,
    };
    let mut generator = Generator::new(seed, clock.now());
    let insurance = DemoInsurance::find(store, seed, medical).await?;
    let mut done = 0u64;
    let mut report = PopulateReport {
        requested: persons,
        inserted: 0,
        skipped: 0,
        seconds: 0.0,
    };
    while done < persons {
        let n = (persons - done).min(BATCH as u64) as usize;
        let batch: Vec<_> = generator.by_ref().take(n).collect();
        let outcome = store
            .residents()
            .insert_residents_bulk(&batch, &actor)
            .await?;
        if let Some(ins) = &insurance {
            ins.load(store, &batch, done, clock).await?;
        }
        report.inserted += outcome.inserted;
        report.skipped += outcome.skipped;
        done += n as u64;
        progress(done);
    }
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Enrollment (and optionally medical) records for generated residents, from the demo
/// insurers (協会けんぽ under 75, the 後期高齢者 広域連合 from 75) when they exist.
pub struct DemoInsurance {
    insurers: openmyna_eligibility::synth::SynthInsurers,
    general_org: i64,
    late_org: i64,
    seed: u64,
    medical: bool,
}

impl DemoInsurance {
    /// The demo insurers, if this database has them.
    pub async fn find(store: &Store, seed: u64, medical: bool) -> Result<Option<Self>, AppError> {
        use openmyna_ids::InsurerNumber;
        let orgs = store.auth().organisations().await?;
        let find = |code: &str| {
            orgs.iter()
                .find(|o| o.role == Role::Insurer && o.code.as_deref() == Some(code))
                .map(|o| (o.id, o.name.clone()))
        };
        let (Some((general_org, general_name)), Some((late_org, late_name))) =
            (find("01130012"), find("39130018"))
        else {
            return Ok(None);
        };
        let number = |s: &str| {
            InsurerNumber::parse(s).map_err(|e| AppError::Invalid(format!("demo insurer: {e}")))
        };
        Ok(Some(DemoInsurance {
            insurers: openmyna_eligibility::synth::SynthInsurers {
                general: (number("01130012")?, general_name),
                late_elderly: (number("39130018")?, late_name),
            },
            general_org,
            late_org,
            seed,
            medical,
        }))
    }

    /// Records for `batch`, whose first resident is number `offset` of this seed.
    pub async fn load(
        &self,
        store: &Store,
        batch: &[openmyna_registry::NewResident],
        offset: u64,
        clock: &dyn Clock,
    ) -> Result<(), AppError> {
        use openmyna_eligibility::record::FiveItems;
        use openmyna_eligibility::synth;
        use openmyna_store::eligibility::BulkEnrollment;
        use rand::SeedableRng;
        let today = clock.today();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed ^ offset.rotate_left(17));
        let mut records = Vec::with_capacity(batch.len());
        let mut medical = Vec::new();
        for (i, n) in batch.iter().enumerate() {
            let b = &n.basic4;
            let person = FiveItems {
                name: b.name.name.clone(),
                name_kana: b.name.name_kana.clone(),
                birth_date: b.birth_date,
                sex: b.sex,
                address: b.address.text.clone(),
            };
            let symbol = b.address.municipality_code.as_str().to_owned();
            let sequence = self.seed * 1_000_000_000 + offset + i as u64 + 1;
            let Some(e) =
                synth::enrollment(&mut rng, &self.insurers, person, &symbol, sequence, today)
            else {
                continue;
            };
            let org = if e.key.insurer_number.law_code() == Some("39") {
                self.late_org
            } else {
                self.general_org
            };
            if self.medical {
                for m in synth::history(&mut rng, b.birth_date, today, 5) {
                    medical.push((n.id.0, org, m));
                }
            }
            records.push(BulkEnrollment {
                resident_id: n.id.0,
                insurer_org_id: org,
                enrollment: e,
            });
        }
        let now = clock.now();
        store
            .eligibility()
            .insert_enrollments_bulk(&records, &now, "openmyna demo generator")
            .await?;
        if !medical.is_empty() {
            store
                .eligibility()
                .insert_medical_bulk(&medical, &now)
                .await?;
        }
        Ok(())
    }
}

#[derive(Debug, Serialize)]
pub struct DemoToken {
    pub organisation: String,
    pub role: Role,
    pub code: Option<String>,
    pub token: String,
}

/// The demo organisations: (name, role, code).
const DEMO_ORGS: &[(&str, Role, Option<&str>)] = &[
    ("openmyna operator (demo)", Role::Operator, None),
    ("千代田区", Role::Municipality, Some("131016")),
    ("大阪市", Role::Municipality, Some("271004")),
    ("全国健康保険協会 東京支部", Role::Insurer, Some("01130012")),
    (
        "東京都後期高齢者医療広域連合",
        Role::Insurer,
        Some("39130018"),
    ),
    (
        "openmyna 内科クリニック",
        Role::MedicalInstitution,
        Some("1311234569"),
    ),
    (
        "デモ銀行株式会社",
        Role::RelyingParty,
        Some("7123456789012"),
    ),
    ("デモ商事株式会社", Role::Employer, Some("4011001098993")),
];

/// Creates one organisation of each role with a token; returns the tokens.
pub async fn create_demo_organisations(
    store: &Store,
    clock: &dyn Clock,
) -> Result<Vec<DemoToken>, AppError> {
    let now = clock.now();
    let mut out = Vec::new();
    for (name, role, code) in DEMO_ORGS {
        let org = store
            .auth()
            .create_organisation(name, *role, *code, &now)
            .await?;
        if *role == Role::RelyingParty {
            // The demo platform operator may receive all four items.
            use openmyna_fourinfo::{FourInfoStore, Item};
            store
                .set_relying_party(org.id, &Item::ALL.into_iter().collect(), &now)
                .await
                .map_err(|e| AppError::Invalid(e.to_string()))?;
        }
        let t: IssuedToken = store
            .auth()
            .create_token(org.id, "demo", &now, None)
            .await?;
        out.push(DemoToken {
            organisation: org.name,
            role: *role,
            code: org.code,
            token: t.token,
        });
    }
    Ok(out)
}

/// Writes the demo tokens to `path` (mode 0600), replacing an older file.
pub fn write_tokens(path: &Path, tokens: &[DemoToken]) -> Result<(), AppError> {
    let json = serde_json::to_string_pretty(tokens)
        .map_err(|e| AppError::Invalid(format!("serialising tokens: {e}")))?;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(AppError::io(format!("replacing {}", path.display()), e)),
    }
    openmyna_store::crypto::write_secret_file(path, json.as_bytes())
        .map_err(|e| AppError::io(format!("writing {}", path.display()), e))
}

/// On the first start with an empty database: demo organisations with tokens (written to
/// `<data_dir>/demo-tokens.json`) and `demo.persons` residents.
pub async fn seed_if_empty(
    config: &Config,
    store: &Store,
    clock: &dyn Clock,
) -> Result<(), AppError> {
    if store.meta("demo_seeded").await?.is_some() || store.counts().await?.residents > 0 {
        return Ok(());
    }
    if config.demo.persons == 0 {
        return Ok(());
    }
    let tokens = create_demo_organisations(store, clock).await?;
    let path = config.data_dir.join("demo-tokens.json");
    write_tokens(&path, &tokens)?;
    tracing::info!(path = %path.display(), "demo organisations created; their tokens are in this file");
    seed_campaign(store, clock).await?;
    tracing::info!(persons = config.demo.persons, "seeding the demo population");
    let mut last = Instant::now();
    let report = populate(
        store,
        config.demo.persons,
        config.demo.seed,
        true,
        clock,
        |done| {
            if last.elapsed() > Duration::from_secs(5) {
                tracing::info!(done, "seeding");
                last = Instant::now();
            }
        },
    )
    .await?;
    store
        .set_meta("demo_seeded", &clock.now().to_rfc3339())
        .await?;
    tracing::info!(
        inserted = report.inserted,
        seconds = format!("{:.1}", report.seconds),
        "demo population ready"
    );
    Ok(())
}

/// The demo company's campaign: divisions, 120 employees with answers given over the last
/// three months, and a running campaign with its measures — so that the dashboard, the charts
/// and the campaign page have something to show.
pub async fn seed_campaign(store: &Store, clock: &dyn Clock) -> Result<(), AppError> {
    use openmyna_store::campaigns::{NewEmployee, NewReport, Profile};
    let now = clock.now();
    let today = clock.today();
    let Some(org) = store
        .auth()
        .organisations()
        .await?
        .into_iter()
        .find(|o| o.role == Role::Employer)
    else {
        return Ok(());
    };
    store
        .employers()
        .set_employer_profile(
            &Profile {
                org_id: org.id,
                kind: "company".into(),
                parent_org_id: None,
                industry: Some("I".into()),
                retention_years: 7,
                insurer_number: Some("01130012".into()),
                insurer_name: Some("全国健康保険協会 東京支部".into()),
                insurer_symbol: Some("5100".into()),
            },
            &now,
        )
        .await?;
    let mut leaves = Vec::new();
    for (top, children) in [
        ("営業本部", &["東日本営業部", "西日本営業部"][..]),
        ("管理本部", &["人事部", "経理部"][..]),
        ("研究開発本部", &[][..]),
    ] {
        let id = store
            .employers()
            .create_division(org.id, None, top, &now)
            .await?;
        if children.is_empty() {
            leaves.push(id);
        }
        for c in children {
            leaves.push(
                store
                    .employers()
                    .create_division(org.id, Some(id), c, &now)
                    .await?,
            );
        }
    }
    let start = today - chrono::Duration::days(90);
    let hired = start - chrono::Duration::days(400);
    let mut reports = Vec::new();
    let mut ids = Vec::new();
    for k in 0..120u32 {
        let Some(&division) = leaves.get((k as usize * 7) % leaves.len().max(1)) else {
            continue;
        };
        let no = format!("D{:04}", k + 1);
        let name = format!("デモ社員 {:03}", k + 1);
        let (id, _) = store
            .employers()
            .upsert_employee(
                &NewEmployee {
                    org_id: org.id,
                    employee_no: &no,
                    name: &name,
                    division_id: Some(division),
                    hired_on: hired,
                    left_on: None,
                },
                &now,
            )
            .await?;
        ids.push((k, id, division));
    }
    for (k, id, division) in &ids {
        // Each division moves at its own pace; some people answer twice as they get the card.
        let pace = (*division as u32 % 4) + 2;
        let first = start + chrono::Duration::days(i64::from((k * 13) % 60));
        let holds = k % pace != 0;
        reports.push(NewReport {
            org_id: org.id,
            employee_id: *id,
            on: first,
            holds_card: holds && k % 3 != 0,
            insurance_registered: holds && k % 3 != 0 && k % 2 == 0,
            source: "hr_import",
        });
        if holds && k % 3 == 0 {
            reports.push(NewReport {
                org_id: org.id,
                employee_id: *id,
                on: first + chrono::Duration::days(25),
                holds_card: true,
                insurance_registered: k % 2 == 0,
                source: "self",
            });
        }
    }
    reports.retain(|r| r.on <= today);
    store.employers().add_reports(&reports, &now).await?;
    let campaign = store
        .employers()
        .create_campaign(
            org.id,
            "マイナキャンペーン",
            start + chrono::Duration::days(30),
            today + chrono::Duration::days(30),
            80,
            &now,
        )
        .await?;
    for (kind, day, note) in [
        ("poster", 31, "全拠点にポスター掲示"),
        ("video", 35, "社長メッセージ動画をイントラに掲載"),
        ("paid_leave", 40, "カード受取に2時間までの有給"),
        ("on_site_session", 55, "本社で出張申請受付（千代田区）"),
    ] {
        let on = start + chrono::Duration::days(day);
        if on <= today {
            store
                .employers()
                .add_measure(campaign, kind, on, note, None, &now)
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_codes_are_valid() {
        for (_, role, code) in DEMO_ORGS {
            assert!(
                openmyna_services::admin::validate_org_code(*role, *code).is_ok(),
                "{code:?}"
            );
        }
    }
}
