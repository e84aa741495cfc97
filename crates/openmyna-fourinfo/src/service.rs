//! The service: relying parties, consents, queries.

use std::collections::BTreeSet;

use der::Encode;
use openmyna_core::{Actor, Clock, Entropy, Organisation, Role, Timestamp};
use openmyna_jpki::{
    CertState, Jpki, JpkiStore, Lookup, NotCurrent, RootKind, Serial, cms, key, profile,
};
use openmyna_registry::{Registry, RegistryStore, ResidentId, ResidentStatus};

use crate::{Consent, ConsentDocument, FourInfoError, Item, LatestItems, Outcome, RelyingParty};

/// A consent about to be stored.
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub rp_org_id: i64,
    pub resident_id: i64,
    pub customer_ref: String,
    pub items: BTreeSet<Item>,
    pub purpose: String,
    pub sign_serial: String,
    pub created_at: Timestamp,
    pub document: Vec<u8>,
    /// Hex SHA-256 of the document: a signed document is accepted once.
    pub document_sha256: String,
}

/// What the service needs from storage.
pub trait FourInfoStore: Send + Sync {
    /// The organisation's name and role, if it exists.
    fn organisation(
        &self,
        org_id: i64,
    ) -> impl Future<Output = Result<Option<Organisation>, FourInfoError>> + Send;
    fn relying_party(
        &self,
        org_id: i64,
    ) -> impl Future<Output = Result<Option<RelyingParty>, FourInfoError>> + Send;
    fn set_relying_party(
        &self,
        org_id: i64,
        items: &BTreeSet<Item>,
        at: &Timestamp,
    ) -> impl Future<Output = Result<(), FourInfoError>> + Send;
    /// Stores a consent; a live consent of the same relying party for the same customer_ref
    /// is withdrawn ("replaced") in the same transaction.
    fn insert_consent(
        &self,
        c: &NewConsent,
    ) -> impl Future<Output = Result<Consent, FourInfoError>> + Send;
    fn consent(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<Consent>, FourInfoError>> + Send;
    fn consents_of_rp(
        &self,
        rp_org_id: i64,
        live_only: bool,
    ) -> impl Future<Output = Result<Vec<Consent>, FourInfoError>> + Send;
    fn consents_of_resident(
        &self,
        resident_id: i64,
    ) -> impl Future<Output = Result<Vec<Consent>, FourInfoError>> + Send;
    /// Marks a live consent withdrawn; false if it was not live.
    fn withdraw_consent(
        &self,
        id: i64,
        at: &Timestamp,
        reason: &str,
    ) -> impl Future<Output = Result<bool, FourInfoError>> + Send;
    /// The consent follows a new signing certificate from now on.
    fn follow_serial(
        &self,
        id: i64,
        serial: &str,
    ) -> impl Future<Output = Result<(), FourInfoError>> + Send;
    /// Records a disclosure in the resident's access log.
    fn record_disclosure(
        &self,
        resident_id: i64,
        actor: &Actor,
        at: &Timestamp,
        category: &str,
        purpose: &str,
        detail: &str,
    ) -> impl Future<Output = Result<(), FourInfoError>> + Send;
}

/// The category of the access-log entries this service writes.
pub const ACCESS_CATEGORY: &str = "jpki.latest_basic4";

pub struct FourInfo<'a, S, J> {
    store: &'a S,
    jpki: &'a Jpki<J>,
    clock: &'a dyn Clock,
    entropy: &'a dyn Entropy,
}

fn sha256_hex(b: &[u8]) -> String {
    openmyna_jpki::key::sha256(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

impl<'a, S, J> FourInfo<'a, S, J>
where
    S: FourInfoStore + RegistryStore,
    J: JpkiStore,
{
    pub fn new(
        store: &'a S,
        jpki: &'a Jpki<J>,
        clock: &'a dyn Clock,
        entropy: &'a dyn Entropy,
    ) -> Self {
        FourInfo {
            store,
            jpki,
            clock,
            entropy,
        }
    }

    /// Registers (or re-registers) an organisation of role relying_party with the items it may
    /// receive.
    pub async fn register_relying_party(
        &self,
        org_id: i64,
        items: &[Item],
    ) -> Result<RelyingParty, FourInfoError> {
        let set = Item::set(items)?;
        let Organisation { name, role, .. } =
            self.store.organisation(org_id).await?.ok_or_else(|| {
                FourInfoError::not_found("consent.not_found", format!("no organisation {org_id}"))
            })?;
        if role != Role::RelyingParty {
            return Err(FourInfoError::refused(
                "relying_party.role",
                format!("organisation {org_id} ({name}) is not a relying party"),
            ));
        }
        self.store
            .set_relying_party(org_id, &set, &self.clock.now())
            .await?;
        Ok(RelyingParty {
            org_id,
            name,
            items: set,
        })
    }

    pub async fn relying_party(&self, actor: &Actor) -> Result<RelyingParty, FourInfoError> {
        self.store
            .relying_party(actor.org_id)
            .await?
            .ok_or_else(|| {
                FourInfoError::refused(
                    "relying_party.not_registered",
                    "this organisation is not registered for the 4-information service",
                )
            })
    }

    /// Checks a signed consent — signature, the signer's certificate chaining to the signing
    /// root, its status now, the document, the holder — and stores it.
    pub async fn submit_consent(
        &self,
        actor: &Actor,
        signed: &[u8],
    ) -> Result<Consent, FourInfoError> {
        let rp = self.relying_party(actor).await?;
        let now = self.clock.now();
        let v = cms::verify(signed)?;
        // The signer's certificate must be one of ours, from the signing root.
        let root = profile::parse_certificate(&self.jpki.root_certificate(RootKind::Sign)?)?;
        let cert = &v.signer;
        let refused_cert = |m: &str| FourInfoError::refused("consent.certificate", m.to_owned());
        if cert.tbs_certificate.issuer != root.tbs_certificate.subject {
            return Err(refused_cert(
                "the document is not signed with a JPKI signing certificate (署名用電子証明書)",
            ));
        }
        key::verify(
            &root
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(openmyna_jpki::JpkiError::from)?,
            &cert
                .tbs_certificate
                .to_der()
                .map_err(openmyna_jpki::JpkiError::from)?,
            cert.signature.raw_bytes(),
        )
        .map_err(|_| refused_cert("the signing certificate was not issued by the signing root"))?;
        let sn = Serial::from_der_bytes(cert.tbs_certificate.serial_number.as_bytes())?;
        let serial = sn.to_hex();
        // The DER is compared below, after the signing time, as it always was.
        let record = self
            .jpki
            .current_certificate(&sn, None, RootKind::Sign, &now, Lookup::Store)
            .await
            .map_err(|e| {
                refused_cert(match e {
                    NotCurrent::Unknown | NotCurrent::Differs => {
                        "the signing certificate is unknown to this CA"
                    }
                    NotCurrent::WrongRoot => "not a signing certificate",
                    NotCurrent::Held => "the signing certificate is suspended",
                    NotCurrent::Revoked => "the signing certificate is revoked",
                    NotCurrent::NotValidNow => "the signing certificate is not valid now",
                })
            })?;
        crate::model::check_signing_time(v.signing_time, now)?;
        if record.der != v.signer_der {
            return Err(refused_cert(
                "the signing certificate differs from the one issued",
            ));
        }
        let doc = ConsentDocument::parse(&v.content)?;
        let items = doc.items_for(&rp)?;
        let registry = Registry::new(self.store, self.clock, self.entropy);
        let resident = registry.get(ResidentId(record.resident_id)).await?;
        let b = &resident.basic4;
        doc.check_holder(&b.name.name, b.birth_date)?;
        let consent = self
            .store
            .insert_consent(&NewConsent {
                rp_org_id: actor.org_id,
                resident_id: record.resident_id,
                customer_ref: doc.customer_ref.clone(),
                items: items.clone(),
                purpose: doc.purpose.clone(),
                sign_serial: serial,
                created_at: now,
                document: signed.to_vec(),
                document_sha256: sha256_hex(signed),
            })
            .await?;
        self.store
            .record_disclosure(
                record.resident_id,
                actor,
                &now,
                "jpki.latest_basic4.consent",
                &doc.purpose,
                &format!("consent {} accepted for {}", consent.id, Item::join(&items)),
            )
            .await?;
        Ok(consent)
    }

    async fn own_consent(&self, actor: &Actor, id: i64) -> Result<Consent, FourInfoError> {
        match self.store.consent(id).await? {
            Some(c) if c.rp_org_id == actor.org_id => Ok(c),
            _ => Err(FourInfoError::not_found(
                "consent.not_found",
                format!("no consent {id}"),
            )),
        }
    }

    /// The relying party's consents (live ones only unless `all`).
    pub async fn consents(&self, actor: &Actor, all: bool) -> Result<Vec<Consent>, FourInfoError> {
        self.relying_party(actor).await?;
        self.store.consents_of_rp(actor.org_id, !all).await
    }

    /// A resident's consents (for the portal).
    pub async fn consents_of_resident(
        &self,
        resident_id: i64,
    ) -> Result<Vec<Consent>, FourInfoError> {
        self.store.consents_of_resident(resident_id).await
    }

    /// Withdraws a consent (the relying party on the customer's request, or the resident).
    pub async fn withdraw(&self, consent: &Consent, reason: &str) -> Result<(), FourInfoError> {
        if !self
            .store
            .withdraw_consent(consent.id, &self.clock.now(), reason)
            .await?
        {
            return Err(FourInfoError::refused(
                "consent.withdrawn",
                format!("consent {} is already withdrawn", consent.id),
            ));
        }
        Ok(())
    }

    pub async fn withdraw_as_rp(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
    ) -> Result<Consent, FourInfoError> {
        let c = self.own_consent(actor, id).await?;
        self.withdraw(&c, reason).await?;
        self.own_consent(actor, id).await
    }

    /// The query: what happened to the customer's signing certificate and, if a new one was
    /// issued, the latest consented items. Every answer is recorded in the resident's access
    /// log before it is returned.
    pub async fn query(
        &self,
        actor: &Actor,
        id: i64,
        purpose: &str,
    ) -> Result<Outcome, FourInfoError> {
        let rp = self.relying_party(actor).await?;
        let consent = self.own_consent(actor, id).await?;
        if !consent.live() {
            return Err(FourInfoError::refused(
                "consent.withdrawn",
                "no live consent: it was withdrawn",
            ));
        }
        let registry = Registry::new(self.store, self.clock, self.entropy);
        let resident = registry.get(ResidentId(consent.resident_id)).await?;
        let date = resident.status_date.map(|d| d.to_string());
        let outcome = match resident.status {
            ResidentStatus::Deceased => Outcome::Deceased { date },
            ResidentStatus::Removed => Outcome::Removed { date },
            ResidentStatus::Active => {
                let cert = self.jpki.certificate(&consent.sign_serial).await?;
                if cert.status != CertState::Revoked && self.clock.now() > cert.not_after {
                    Outcome::Expired {
                        sign_serial: cert.serial,
                        expired_at: cert.not_after.to_rfc3339(),
                    }
                } else if cert.status != CertState::Revoked {
                    Outcome::Unchanged {
                        sign_serial: cert.serial,
                    }
                } else {
                    let revoked_at = cert.status_at.map(|t| t.to_rfc3339()).unwrap_or_default();
                    let newer = self
                        .jpki
                        .certificates_of_resident(consent.resident_id)
                        .await?
                        .into_iter()
                        .filter(|c| {
                            c.root == RootKind::Sign
                                && c.status == CertState::Good
                                && c.serial != cert.serial
                                && c.issued_at >= cert.issued_at
                        })
                        .max_by_key(|c| c.issued_at);
                    match newer {
                        None => Outcome::NoNewCertificate {
                            revoked_serial: cert.serial,
                            revoked_at,
                        },
                        Some(n) => {
                            let items: BTreeSet<Item> =
                                consent.items.intersection(&rp.items).copied().collect();
                            let b = &resident.basic4;
                            let mut latest = LatestItems::default();
                            for i in &items {
                                match i {
                                    Item::Name => {
                                        latest.name = Some(b.name.name.clone());
                                        latest.name_kana = Some(b.name.name_kana.clone());
                                    }
                                    Item::Address => latest.address = Some(b.address.text.clone()),
                                    Item::BirthDate => {
                                        latest.birth_date = Some(b.birth_date.to_string())
                                    }
                                    Item::Sex => latest.sex = Some(b.sex.code()),
                                }
                            }
                            Outcome::Changed {
                                revoked_serial: cert.serial,
                                revoked_at,
                                new_sign_serial: n.serial,
                                latest,
                            }
                        }
                    }
                }
            }
        };
        let detail = match &outcome {
            Outcome::Changed {
                latest,
                new_sign_serial,
                ..
            } => format!(
                "consent {id}: changed; disclosed {}; new signing certificate {new_sign_serial}",
                disclosed(latest)
            ),
            o => format!("consent {id}: {}", o.kind()),
        };
        self.store
            .record_disclosure(
                consent.resident_id,
                actor,
                &self.clock.now(),
                ACCESS_CATEGORY,
                purpose,
                &detail,
            )
            .await?;
        Ok(outcome)
    }

    /// The relying party received a `changed` answer and follows the new signing
    /// certificate from now on. Only a newer, valid signing certificate of the same person.
    pub async fn follow(
        &self,
        actor: &Actor,
        id: i64,
        serial: &str,
    ) -> Result<Consent, FourInfoError> {
        let consent = self.own_consent(actor, id).await?;
        if !consent.live() {
            return Err(FourInfoError::refused(
                "consent.withdrawn",
                "no live consent: it was withdrawn",
            ));
        }
        let current = self.jpki.certificate(&consent.sign_serial).await?;
        let next = self.jpki.certificate(serial).await.map_err(|_| {
            FourInfoError::invalid("follow.serial", format!("no certificate {serial}"))
        })?;
        if next.resident_id != consent.resident_id
            || next.root != RootKind::Sign
            || next.status != CertState::Good
            || next.serial == current.serial
            || next.issued_at < current.issued_at
        {
            return Err(FourInfoError::refused(
                "follow.serial",
                "follow only the newer, valid signing certificate a changed answer named",
            ));
        }
        self.store.follow_serial(consent.id, &next.serial).await?;
        self.own_consent(actor, id).await
    }
}

fn disclosed(l: &LatestItems) -> String {
    let mut v = Vec::new();
    if l.name.is_some() {
        v.push("name");
    }
    if l.address.is_some() {
        v.push("address");
    }
    if l.birth_date.is_some() {
        v.push("birth_date");
    }
    if l.sex.is_some() {
        v.push("sex");
    }
    v.join(",")
}
