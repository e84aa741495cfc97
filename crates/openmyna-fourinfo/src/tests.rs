//! The consent checks and the query, against in-memory storage (the registry's and the CA's
//! in-memory stores, and one for this service below): no database, a `ManualClock`, seeded
//! randomness, and a real CA issuing real certificates that real keys sign with.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration};
use openmyna_core::{
    Actor, IntoRefusal, ManualClock, Organisation, Refusal, Role, SeededEntropy, Timestamp,
};
use openmyna_jpki::memory::MemoryJpkiStore;
use openmyna_jpki::service::CardCertificates;
use openmyna_jpki::{Action, Holder, Jpki, JpkiConfig, KeyKind, Reason, SigningKey, cms};
use openmyna_registry::memory::MemoryRegistryStore;
use openmyna_registry::{
    AddressInput, HistoryEntry, NewResident, NewResidentInput, Registry, RegistryError,
    RegistryEvent, RegistryStore, Resident, ResidentChange, ResidentId,
};

use crate::{
    CONSENT_KIND, Consent, ConsentDocument, FourInfo, FourInfoError, FourInfoStore, HolderClaim,
    Item, NewConsent, Outcome, RelyingParty,
};

// ---- the service's storage in memory ----

#[derive(Default)]
struct Tables {
    organisations: HashMap<i64, Organisation>,
    relying_parties: HashMap<i64, BTreeSet<Item>>,
    consents: Vec<Consent>,
    documents: BTreeSet<String>,
    /// The access log: (resident, who, category, detail).
    disclosures: Vec<(i64, i64, String, String)>,
}

#[derive(Default)]
struct MemoryFourInfoStore {
    t: Mutex<Tables>,
    registry: MemoryRegistryStore,
}

impl MemoryFourInfoStore {
    fn t(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.t.lock().unwrap()
    }
}

impl FourInfoStore for MemoryFourInfoStore {
    async fn organisation(&self, org_id: i64) -> Result<Option<Organisation>, FourInfoError> {
        Ok(self.t().organisations.get(&org_id).cloned())
    }
    async fn relying_party(&self, org_id: i64) -> Result<Option<RelyingParty>, FourInfoError> {
        let t = self.t();
        Ok(t.relying_parties.get(&org_id).map(|items| RelyingParty {
            org_id,
            name: t.organisations[&org_id].name.clone(),
            items: items.clone(),
        }))
    }
    async fn set_relying_party(
        &self,
        org_id: i64,
        items: &BTreeSet<Item>,
        _at: &Timestamp,
    ) -> Result<(), FourInfoError> {
        self.t().relying_parties.insert(org_id, items.clone());
        Ok(())
    }
    async fn insert_consent(&self, c: &NewConsent) -> Result<Consent, FourInfoError> {
        let mut t = self.t();
        if !t.documents.insert(c.document_sha256.clone()) {
            return Err(FourInfoError::refused(
                "consent.reused",
                "already submitted",
            ));
        }
        for old in t.consents.iter_mut() {
            if old.rp_org_id == c.rp_org_id && old.customer_ref == c.customer_ref && old.live() {
                old.withdrawn_at = Some(c.created_at);
                old.withdrawn_reason = Some("replaced by a new consent".into());
            }
        }
        let consent = Consent {
            id: t.consents.len() as i64 + 1,
            rp_org_id: c.rp_org_id,
            resident_id: c.resident_id,
            customer_ref: c.customer_ref.clone(),
            items: c.items.clone(),
            purpose: c.purpose.clone(),
            sign_serial: c.sign_serial.clone(),
            consent_serial: c.sign_serial.clone(),
            created_at: c.created_at,
            withdrawn_at: None,
            withdrawn_reason: None,
        };
        t.consents.push(consent.clone());
        Ok(consent)
    }
    async fn consent(&self, id: i64) -> Result<Option<Consent>, FourInfoError> {
        Ok(self.t().consents.iter().find(|c| c.id == id).cloned())
    }
    async fn consents_of_rp(
        &self,
        rp_org_id: i64,
        live_only: bool,
    ) -> Result<Vec<Consent>, FourInfoError> {
        Ok(self
            .t()
            .consents
            .iter()
            .filter(|c| c.rp_org_id == rp_org_id && (c.live() || !live_only))
            .cloned()
            .collect())
    }
    async fn consents_of_resident(&self, resident_id: i64) -> Result<Vec<Consent>, FourInfoError> {
        Ok(self
            .t()
            .consents
            .iter()
            .filter(|c| c.resident_id == resident_id)
            .cloned()
            .collect())
    }
    async fn withdraw_consent(
        &self,
        id: i64,
        at: &Timestamp,
        reason: &str,
    ) -> Result<bool, FourInfoError> {
        let mut t = self.t();
        match t.consents.iter_mut().find(|c| c.id == id && c.live()) {
            Some(c) => {
                c.withdrawn_at = Some(*at);
                c.withdrawn_reason = Some(reason.to_owned());
                Ok(true)
            }
            None => Ok(false),
        }
    }
    async fn follow_serial(&self, id: i64, serial: &str) -> Result<(), FourInfoError> {
        if let Some(c) = self.t().consents.iter_mut().find(|c| c.id == id) {
            c.sign_serial = serial.to_owned();
        }
        Ok(())
    }
    async fn record_disclosure(
        &self,
        resident_id: i64,
        actor: &Actor,
        _at: &Timestamp,
        category: &str,
        _purpose: &str,
        detail: &str,
    ) -> Result<(), FourInfoError> {
        self.t().disclosures.push((
            resident_id,
            actor.org_id,
            category.to_owned(),
            detail.to_owned(),
        ));
        Ok(())
    }
}

impl RegistryStore for MemoryFourInfoStore {
    async fn insert_resident(
        &self,
        new: &NewResident,
        history: &HistoryEntry,
        event: &RegistryEvent,
    ) -> Result<(), RegistryError> {
        self.registry.insert_resident(new, history, event).await
    }
    async fn resident(&self, id: ResidentId) -> Result<Option<Resident>, RegistryError> {
        self.registry.resident(id).await
    }
    async fn resident_by_my_number(
        &self,
        n: &openmyna_ids::MyNumber,
    ) -> Result<Option<Resident>, RegistryError> {
        self.registry.resident_by_my_number(n).await
    }
    async fn apply_change(&self, change: &ResidentChange) -> Result<(), RegistryError> {
        self.registry.apply_change(change).await
    }
    async fn history(&self, id: ResidentId) -> Result<Vec<HistoryEntry>, RegistryError> {
        self.registry.history(id).await
    }
}

// ---- the kit ----

/// Every store here is ready at once: a future is polled to its end without a runtime.
fn block<F: Future>(f: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

const BANK: i64 = 10;
const OTHER_BANK: i64 = 11;
const CLINIC: i64 = 12;

struct Kit {
    store: MemoryFourInfoStore,
    jpki: Jpki<MemoryJpkiStore>,
    clock: Arc<ManualClock>,
    entropy: Arc<SeededEntropy>,
    _crls: tempfile::TempDir,
}

/// A card holder: the resident, the card's signing and authentication keys, and their
/// certificates.
struct Card {
    resident: Resident,
    key: SigningKey,
    auth_key: SigningKey,
    certs: CardCertificates,
}

impl Card {
    fn sign_serial(&self) -> String {
        self.certs.signing.as_ref().unwrap().serial.clone()
    }
}

fn org(id: i64, name: &str, role: Role, at: Timestamp) -> Organisation {
    Organisation {
        id,
        name: name.into(),
        role,
        code: None,
        created_at: at,
    }
}

fn actor(org_id: i64) -> Actor {
    Actor {
        org_id,
        org_name: format!("org {org_id}"),
        role: Role::RelyingParty,
        token_id: org_id,
    }
}

fn kit() -> Kit {
    let start = DateTime::parse_from_rfc3339("2026-06-01T10:00:00+09:00").unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let entropy = Arc::new(SeededEntropy::new(7));
    let crls = tempfile::tempdir().unwrap();
    let mut config = JpkiConfig::new("http://ca.test", crls.path());
    config.root_key = KeyKind::EcP384;
    let jpki = block(Jpki::open(
        MemoryJpkiStore::new(),
        clock.clone(),
        entropy.clone(),
        config,
    ))
    .unwrap();
    let store = MemoryFourInfoStore::default();
    {
        let mut t = store.t();
        for o in [
            org(BANK, "みらい銀行", Role::RelyingParty, start),
            org(OTHER_BANK, "ほし銀行", Role::RelyingParty, start),
            org(CLINIC, "やまと診療所", Role::MedicalInstitution, start),
        ] {
            t.organisations.insert(o.id, o);
        }
    }
    let k = Kit {
        store,
        jpki,
        clock,
        entropy,
        _crls: crls,
    };
    block(
        k.svc()
            .register_relying_party(BANK, &[Item::Name, Item::Address]),
    )
    .unwrap();
    block(k.svc().register_relying_party(OTHER_BANK, &Item::ALL)).unwrap();
    k
}

impl Kit {
    fn svc(&self) -> FourInfo<'_, MemoryFourInfoStore, MemoryJpkiStore> {
        FourInfo::new(
            &self.store,
            &self.jpki,
            self.clock.as_ref(),
            self.entropy.as_ref(),
        )
    }

    fn registry(&self) -> Registry<'_, MemoryFourInfoStore> {
        Registry::new(&self.store, self.clock.as_ref(), self.entropy.as_ref())
    }

    fn now(&self) -> Timestamp {
        openmyna_core::Clock::now(self.clock.as_ref())
    }

    /// A resident with a card: a signing and an authentication certificate.
    fn card(&self, name: &str) -> Card {
        let input = NewResidentInput {
            name: name.into(),
            name_kana: "ヤマダ タロウ".into(),
            birth_date: "1980-02-17".into(),
            sex: 1,
            address: AddressInput {
                municipality_code: "13101".into(),
                postal_code: Some("1000013".into()),
                text: "東京都千代田区霞が関一丁目1番1号".into(),
            },
            my_number: None,
        };
        let resident = block(self.registry().register(&input, &Actor::local_operator())).unwrap();
        let (key, auth_key, certs) = self.issue(&resident);
        Card {
            resident,
            key,
            auth_key,
            certs,
        }
    }

    fn issue(&self, resident: &Resident) -> (SigningKey, SigningKey, CardCertificates) {
        let key = SigningKey::generate(KeyKind::EcP256).unwrap();
        let auth = SigningKey::generate(KeyKind::EcP256).unwrap();
        let b = &resident.basic4;
        let holder = Holder {
            name: b.name.name.clone(),
            birth_date: b.birth_date,
            sex_code: b.sex.code(),
            address: b.address.text.clone(),
            municipality_code: b.address.municipality_code.as_str().to_owned(),
        };
        let expiry = self.now().date_naive() + Duration::days(3650);
        let certs = block(self.jpki.issue_card(
            resident.id.0,
            &holder,
            Some(&key.spki_der().unwrap()),
            &auth.spki_der().unwrap(),
            expiry,
            None,
        ))
        .unwrap();
        (key, auth, certs)
    }

    fn revoke(&self, serial: &str) {
        block(
            self.jpki
                .change_status(serial, Action::Revoke(Reason::AffiliationChanged)),
        )
        .unwrap();
    }

    fn disclosures(&self) -> Vec<(i64, i64, String, String)> {
        self.store.t().disclosures.clone()
    }
}

fn document(card: &Card, rp: i64, customer_ref: &str, items: &[Item]) -> ConsentDocument {
    ConsentDocument {
        kind: CONSENT_KIND.into(),
        relying_party: rp,
        customer_ref: customer_ref.into(),
        items: items.to_vec(),
        purpose: "口座の住所変更の確認".into(),
        holder: HolderClaim {
            name: card.resident.basic4.name.name.clone(),
            birth_date: card.resident.basic4.birth_date.to_string(),
        },
    }
}

/// The document signed with `key` under `cert_der`, at `at`.
fn signed_with(key: &SigningKey, cert_der: &[u8], doc: &ConsentDocument, at: Timestamp) -> Vec<u8> {
    cms::build(&doc.to_bytes(), cert_der, &at, |h| {
        key.sign_digest(
            &aws_lc_rs::digest::Digest::import_less_safe(h, &aws_lc_rs::digest::SHA256).unwrap(),
        )
    })
    .unwrap()
    .unwrap()
}

fn signed(k: &Kit, card: &Card, doc: &ConsentDocument) -> Vec<u8> {
    signed_with(
        &card.key,
        &card.certs.signing.as_ref().unwrap().der,
        doc,
        k.now(),
    )
}

/// The refusal a use case answered (whichever crate's error carries it).
fn refusal<T: std::fmt::Debug>(r: Result<T, FourInfoError>) -> Refusal {
    match r
        .map(|v| format!("{v:?}"))
        .map_err(IntoRefusal::into_refusal)
    {
        Err(Ok(f)) => f,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

// ---- the consent checks ----

#[test]
fn a_consent_signed_with_the_holders_signing_certificate_is_kept_and_logged() {
    let k = kit();
    let card = k.card("山田 太郎");
    let doc = document(&card, BANK, "acct-1", &[Item::Address]);
    let c = block(
        k.svc()
            .submit_consent(&actor(BANK), &signed(&k, &card, &doc)),
    )
    .unwrap();
    assert_eq!(c.resident_id, card.resident.id.0);
    assert_eq!(c.sign_serial, card.sign_serial());
    assert_eq!(c.items, BTreeSet::from([Item::Address]));
    let log = k.disclosures();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, card.resident.id.0);
    assert_eq!(log[0].1, BANK);
    assert_eq!(log[0].2, "jpki.latest_basic4.consent");
}

#[test]
fn a_consent_is_for_the_relying_party_it_names_and_the_items_it_may_receive() {
    let k = kit();
    let card = k.card("山田 太郎");
    let to_other = document(&card, OTHER_BANK, "acct-1", &[Item::Name]);
    let r = refusal(block(
        k.svc()
            .submit_consent(&actor(BANK), &signed(&k, &card, &to_other)),
    ));
    assert_eq!(r.code(), "consent.relying_party");
    let too_much = document(&card, BANK, "acct-1", &[Item::Name, Item::Sex]);
    let r = refusal(block(
        k.svc()
            .submit_consent(&actor(BANK), &signed(&k, &card, &too_much)),
    ));
    assert_eq!(r.code(), "consent.items");
    assert!(r.message().contains("sex"), "{}", r.message());
    // A clinic is not a relying party, and cannot be registered as one.
    let r = refusal(block(k.svc().register_relying_party(CLINIC, &[Item::Name])));
    assert_eq!(r.code(), "relying_party.role");
    let r = refusal(block(k.svc().submit_consent(&actor(CLINIC), b"x")));
    assert_eq!(r.code(), "relying_party.not_registered");
    assert!(k.store.t().consents.is_empty());
    assert!(k.disclosures().is_empty());
}

#[test]
fn only_a_current_signing_certificate_of_this_ca_signs_a_consent() {
    let k = kit();
    let card = k.card("山田 太郎");
    let doc = document(&card, BANK, "acct-1", &[Item::Name]);
    // The authentication certificate (利用者証明用) does not sign documents.
    let auth = signed_with(
        &card.auth_key,
        &card.certs.authentication.der,
        &doc,
        k.now(),
    );
    let r = refusal(block(k.svc().submit_consent(&actor(BANK), &auth)));
    assert_eq!(r.code(), "consent.certificate");
    // A certificate made by anyone else, with the same subject, is not ours.
    let stranger = SigningKey::generate(KeyKind::EcP256).unwrap();
    let forged = openmyna_jpki::profile::root_certificate(
        openmyna_jpki::RootKind::Sign,
        &stranger,
        openmyna_jpki::Serial::generate(&SeededEntropy::new(9)),
        &k.now(),
    )
    .unwrap();
    let r = refusal(block(k.svc().submit_consent(
        &actor(BANK),
        &signed_with(&stranger, &forged, &doc, k.now()),
    )));
    assert_eq!(r.code(), "consent.certificate");
    // Suspended, then revoked.
    let serial = card.sign_serial();
    block(k.jpki.change_status(&serial, Action::Hold)).unwrap();
    let r = refusal(block(
        k.svc()
            .submit_consent(&actor(BANK), &signed(&k, &card, &doc)),
    ));
    assert!(r.message().contains("suspended"), "{}", r.message());
    k.revoke(&serial);
    let r = refusal(block(
        k.svc()
            .submit_consent(&actor(BANK), &signed(&k, &card, &doc)),
    ));
    assert!(r.message().contains("revoked"), "{}", r.message());
    assert!(k.store.t().consents.is_empty());
}

#[test]
fn the_declared_customer_must_be_the_cards_holder() {
    let k = kit();
    let card = k.card("山田 太郎");
    let mut doc = document(&card, BANK, "acct-1", &[Item::Name]);
    // Spaces do not matter; a different name or birth date does.
    doc.holder.name = "山田太郎".into();
    block(
        k.svc()
            .submit_consent(&actor(BANK), &signed(&k, &card, &doc)),
    )
    .unwrap();
    doc.customer_ref = "acct-2".into();
    doc.holder.birth_date = "1980-02-18".into();
    let r = refusal(block(
        k.svc()
            .submit_consent(&actor(BANK), &signed(&k, &card, &doc)),
    ));
    assert_eq!(r.code(), "consent.holder_mismatch");
}

#[test]
fn a_signature_is_used_once_and_not_after_thirty_days() {
    let k = kit();
    let card = k.card("山田 太郎");
    let doc = document(&card, BANK, "acct-1", &[Item::Name]);
    let first = signed(&k, &card, &doc);
    let c1 = block(k.svc().submit_consent(&actor(BANK), &first)).unwrap();
    let r = refusal(block(k.svc().submit_consent(&actor(BANK), &first)));
    assert_eq!(r.code(), "consent.reused");
    // A new signature for the same customer replaces the live consent.
    k.clock.advance(Duration::minutes(1));
    let c2 = block(
        k.svc()
            .submit_consent(&actor(BANK), &signed(&k, &card, &doc)),
    )
    .unwrap();
    let live = block(k.svc().consents(&actor(BANK), false)).unwrap();
    assert_eq!(live.iter().map(|c| c.id).collect::<Vec<_>>(), [c2.id]);
    let all = block(k.svc().consents(&actor(BANK), true)).unwrap();
    let old = all.iter().find(|c| c.id == c1.id).unwrap();
    assert_eq!(
        old.withdrawn_reason.as_deref(),
        Some("replaced by a new consent")
    );
    // Signed 31 days ago: stale. Signed ten minutes ahead: a clock to fix, refused.
    let mut doc = doc;
    doc.customer_ref = "acct-9".into();
    let card_der = &card.certs.signing.as_ref().unwrap().der;
    let old = signed_with(&card.key, card_der, &doc, k.now() - Duration::days(31));
    assert_eq!(
        refusal(block(k.svc().submit_consent(&actor(BANK), &old))).code(),
        "consent.stale"
    );
    let ahead = signed_with(&card.key, card_der, &doc, k.now() + Duration::minutes(10));
    assert_eq!(
        refusal(block(k.svc().submit_consent(&actor(BANK), &ahead))).code(),
        "consent.signing_time"
    );
}

// ---- the query ----

#[test]
fn a_query_tells_what_happened_and_discloses_only_consented_registered_items() {
    let k = kit();
    let card = k.card("山田 太郎");
    // The customer consents to name and address; the bank is registered for those two.
    let doc = document(&card, BANK, "acct-1", &[Item::Name, Item::Address]);
    let c = block(
        k.svc()
            .submit_consent(&actor(BANK), &signed(&k, &card, &doc)),
    )
    .unwrap();
    let ask = || block(k.svc().query(&actor(BANK), c.id, "定期確認"));
    assert!(matches!(ask().unwrap(), Outcome::Unchanged { .. }));
    // The customer moves: the municipality revokes the signing certificate.
    let moved = block(k.registry().change_address(
        card.resident.id,
        &AddressInput {
            municipality_code: "13104".into(),
            postal_code: Some("1600022".into()),
            text: "東京都新宿区新宿三丁目1番1号".into(),
        },
        Some("2026-06-01"),
        None,
        &Actor::local_operator(),
    ))
    .unwrap();
    k.revoke(&card.sign_serial());
    assert!(matches!(
        ask().unwrap(),
        Outcome::NoNewCertificate { ref revoked_serial, .. } if *revoked_serial == card.sign_serial()
    ));
    // A new signing certificate: the answer is the latest name and address, not more.
    k.clock.advance(Duration::hours(1));
    let (_, _, renewed) = k.issue(&moved);
    let new_serial = renewed.signing.as_ref().unwrap().serial.clone();
    let Outcome::Changed {
        new_sign_serial,
        latest,
        ..
    } = ask().unwrap()
    else {
        panic!("expected a change");
    };
    assert_eq!(new_sign_serial, new_serial);
    assert_eq!(
        latest.address.as_deref(),
        Some("東京都新宿区新宿三丁目1番1号")
    );
    assert!(latest.name.is_some());
    assert_eq!((latest.birth_date, latest.sex), (None, None));
    // Every answer was logged in the customer's access log, with what it disclosed.
    let log: Vec<String> = k
        .disclosures()
        .into_iter()
        .filter(|d| d.2 == crate::ACCESS_CATEGORY)
        .map(|d| d.3)
        .collect();
    assert_eq!(log.len(), 3);
    assert!(log[2].contains("disclosed name,address"), "{}", log[2]);
    // Following the new certificate: the next answer is unchanged.
    block(k.svc().follow(&actor(BANK), c.id, &new_serial)).unwrap();
    assert!(matches!(ask().unwrap(), Outcome::Unchanged { .. }));
}

#[test]
fn follow_takes_only_a_newer_valid_signing_certificate_of_the_same_person() {
    let k = kit();
    let card = k.card("山田 太郎");
    let other = k.card("佐藤 花子");
    let doc = document(&card, BANK, "acct-1", &[Item::Name]);
    let c = block(
        k.svc()
            .submit_consent(&actor(BANK), &signed(&k, &card, &doc)),
    )
    .unwrap();
    let follow = |serial: &str| block(k.svc().follow(&actor(BANK), c.id, serial));
    assert_eq!(
        refusal(follow(&other.sign_serial())).code(),
        "follow.serial"
    );
    assert_eq!(
        refusal(follow(&card.certs.authentication.serial)).code(),
        "follow.serial"
    );
    assert_eq!(refusal(follow(&card.sign_serial())).code(), "follow.serial");
    assert_eq!(refusal(follow("00ff")).code(), "follow.serial");
    // Another bank cannot see or follow this consent.
    let r = refusal(block(k.svc().follow(&actor(OTHER_BANK), c.id, "00ff")));
    assert_eq!(r.code(), "consent.not_found");
}

#[test]
fn death_removal_expiry_and_withdrawal_answer_as_such() {
    let k = kit();
    let card = k.card("山田 太郎");
    let doc = document(&card, BANK, "acct-1", &[Item::Name]);
    let c = block(
        k.svc()
            .submit_consent(&actor(BANK), &signed(&k, &card, &doc)),
    )
    .unwrap();
    let ask = || block(k.svc().query(&actor(BANK), c.id, "定期確認"));
    // Past the certificate's notAfter without a revocation: expired.
    let saved = k.now();
    k.clock
        .set(card.certs.signing.as_ref().unwrap().not_after + Duration::days(1));
    assert!(matches!(ask().unwrap(), Outcome::Expired { .. }));
    k.clock.set(saved);
    block(k.registry().record_death(
        card.resident.id,
        "2026-06-01",
        None,
        &Actor::local_operator(),
    ))
    .unwrap();
    assert_eq!(
        ask().unwrap(),
        Outcome::Deceased {
            date: Some("2026-06-01".into())
        }
    );
    // Withdrawn: no answer at all, and nothing logged for the refused query.
    let logged = k.disclosures().len();
    block(k.svc().withdraw_as_rp(&actor(BANK), c.id, "解約")).unwrap();
    assert_eq!(refusal(ask()).code(), "consent.withdrawn");
    assert_eq!(k.disclosures().len(), logged);
    let again = block(k.svc().withdraw_as_rp(&actor(BANK), c.id, "解約"));
    assert_eq!(refusal(again).code(), "consent.withdrawn");
}
