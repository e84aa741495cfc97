//! The platform's use cases: a check, a re-check, the relying party's records.

use der::{Decode, Encode};
use openmyna_core::{Actor, Clock, Entropy, Refusal, Role, Timestamp};
use openmyna_jpki::relying::{self, Revocation};
use openmyna_jpki::{Jpki, JpkiError, JpkiStore, RootKind, Serial, cms, key, profile};
use x509_cert::Certificate;

use crate::model::codes;
use crate::{
    Basic4, CertificateSummary, CertificateType, Check, CheckResult, Device, Expect,
    MAX_DOCUMENT_BYTES, PlatformError, RETENTION_YEARS, RevocationMethod, RevocationSource, Step,
    StepName, Submission, parse_purpose,
};

/// The category of the access-log entries the platform writes.
pub const ACCESS_CATEGORY: &str = "jpki.verification";

/// A check about to be stored, with what the record keeps beside the answer.
#[derive(Debug, Clone)]
pub struct NewCheck {
    /// `id` is assigned by the store.
    pub check: Check,
    /// The holder, when the certificate is one this CA issued.
    pub resident_id: Option<i64>,
    /// The certificate presented (DER): a re-check checks it again.
    pub certificate_der: Vec<u8>,
    /// The entry for the holder's access log (written with the check, in one transaction).
    pub access_detail: String,
}

/// A check as stored.
#[derive(Debug, Clone)]
pub struct StoredCheck {
    pub check: Check,
    pub resident_id: Option<i64>,
    pub certificate_der: Vec<u8>,
}

/// What the platform needs from storage.
pub trait PlatformStore: Send + Sync {
    /// Stores a check and, when it has a holder, the access-log entry (category
    /// [`ACCESS_CATEGORY`], the check's purpose, `access_detail`) in one transaction; returns
    /// the check's id.
    fn insert_check(
        &self,
        c: &NewCheck,
        actor: &Actor,
    ) -> impl Future<Output = Result<i64, PlatformError>> + Send;
    fn check(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<StoredCheck>, PlatformError>> + Send;
    /// A relying party's checks, newest first.
    fn checks_of(
        &self,
        relying_party: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Check>, PlatformError>> + Send;
    /// Deletes the checks kept until before `now`; returns how many.
    fn sweep_checks(
        &self,
        now: &Timestamp,
    ) -> impl Future<Output = Result<u64, PlatformError>> + Send;
}

pub struct Platform<'a, S, J> {
    store: &'a S,
    jpki: &'a Jpki<J>,
    clock: &'a dyn Clock,
    entropy: &'a dyn Entropy,
}

/// What the signature step found, and what was signed.
struct Signed {
    step: Step,
    signing_time: Option<Timestamp>,
    signed_sha256: String,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn ja_type(kind: CertificateType) -> &'static str {
    match kind {
        CertificateType::Signing => "署名用電子証明書",
        CertificateType::Authentication => "利用者証明用電子証明書",
        CertificateType::Other => "JPKI 以外の証明書",
    }
}

fn device_label(d: Device) -> &'static str {
    match d {
        Device::Card => "card",
        Device::Smartphone => "smartphone",
        Device::Unknown => "unknown device",
    }
}

fn time_of(t: &x509_cert::time::Time) -> Result<Timestamp, PlatformError> {
    Ok(openmyna_jpki::time_to_timestamp(t)?)
}

impl<'a, S: PlatformStore, J: JpkiStore> Platform<'a, S, J> {
    pub fn new(
        store: &'a S,
        jpki: &'a Jpki<J>,
        clock: &'a dyn Clock,
        entropy: &'a dyn Entropy,
    ) -> Self {
        Platform {
            store,
            jpki,
            clock,
            entropy,
        }
    }

    fn require_relying_party(actor: &Actor) -> Result<(), PlatformError> {
        if actor.role != Role::RelyingParty {
            return Err(PlatformError::Refusal(Refusal::forbidden(
                "role.forbidden",
                "the verification platform serves relying parties (署名検証者) only",
            )));
        }
        Ok(())
    }

    /// Checks a signed document or a signature, records the check (確認記録, and the holder's
    /// access log) and returns it. A certificate or signature that fails a step gives a check
    /// whose result is refused; only input that cannot be read at all is an error.
    pub async fn verify(
        &self,
        actor: &Actor,
        submission: &Submission,
        purpose: &str,
        expect: Expect,
        method: RevocationMethod,
    ) -> Result<Check, PlatformError> {
        Self::require_relying_party(actor)?;
        let purpose = parse_purpose(purpose)?;
        let (cert_der, signed) = match submission {
            Submission::Document(der) => {
                if der.len() > MAX_DOCUMENT_BYTES {
                    return Err(PlatformError::invalid(
                        "platform.document",
                        format!("the document is larger than {MAX_DOCUMENT_BYTES} bytes"),
                    ));
                }
                let opened = cms::open(der)?;
                let step = match opened.fault {
                    None => Step::passed(
                        StepName::Signature,
                        "the document's signature verifies with the certificate's key and its content is unaltered",
                    ),
                    Some(f) => Step::failed(
                        StepName::Signature,
                        codes::SIGNATURE_DID_NOT_MATCH,
                        f.message(),
                    ),
                };
                let d = opened.document;
                (
                    d.signer_der,
                    Signed {
                        step,
                        signing_time: Some(d.signing_time),
                        signed_sha256: hex(&key::sha256(&d.content)),
                    },
                )
            }
            Submission::Signature {
                certificate,
                signature,
                digest,
            } => {
                let cert = parse_certificate(certificate)?;
                let spki = cert
                    .tbs_certificate
                    .subject_public_key_info
                    .to_der()
                    .map_err(JpkiError::from)?;
                let d =
                    aws_lc_rs::digest::Digest::import_less_safe(digest, &aws_lc_rs::digest::SHA256)
                        .map_err(|_| {
                            PlatformError::invalid("platform.digest", "not a SHA-256 digest")
                        })?;
                let step = match key::verify_digest(&spki, &d, signature) {
                    Ok(()) => Step::passed(
                        StepName::Signature,
                        "the signature over the SHA-256 digest verifies with the certificate's key",
                    ),
                    Err(_) => Step::failed(
                        StepName::Signature,
                        codes::SIGNATURE_DID_NOT_MATCH,
                        "the signature does not verify with the certificate's key over this digest",
                    ),
                };
                (
                    certificate.clone(),
                    Signed {
                        step,
                        signing_time: None,
                        signed_sha256: hex(digest),
                    },
                )
            }
        };
        self.run(
            actor,
            purpose,
            submission.kind(),
            expect,
            method,
            cert_der,
            signed,
            None,
        )
        .await
    }

    /// Checks an earlier check's certificate again now (type, issuer, validity, revocation;
    /// the signature as found then) and records the re-check: monitoring that a customer's
    /// certificate is still good.
    pub async fn recheck(
        &self,
        actor: &Actor,
        id: i64,
        method: RevocationMethod,
    ) -> Result<Check, PlatformError> {
        let stored = self.own(actor, id).await?;
        let c = stored.check;
        let mut step = c
            .steps
            .iter()
            .find(|s| s.step == StepName::Signature)
            .cloned()
            .ok_or_else(|| PlatformError::Storage(format!("check {id} has no signature step")))?;
        step.detail = format!(
            "as found by check {id} at {}: {}",
            c.checked_at.to_rfc3339(),
            step.detail
        );
        self.run(
            actor,
            c.purpose,
            if c.submitted == "document" {
                "document"
            } else {
                "signature"
            },
            c.expected,
            method,
            stored.certificate_der,
            Signed {
                step,
                signing_time: c.signing_time,
                signed_sha256: c.signed_sha256,
            },
            Some(id),
        )
        .await
    }

    async fn own(&self, actor: &Actor, id: i64) -> Result<StoredCheck, PlatformError> {
        Self::require_relying_party(actor)?;
        match self.store.check(id).await? {
            Some(s) if s.check.relying_party == actor.org_id => Ok(s),
            _ => Err(PlatformError::not_found(
                "platform.check_not_found",
                format!("no check {id} of this relying party"),
            )),
        }
    }

    /// One of the relying party's checks.
    pub async fn check(&self, actor: &Actor, id: i64) -> Result<Check, PlatformError> {
        Ok(self.own(actor, id).await?.check)
    }

    /// The relying party's checks, newest first (at most `limit`, 1..=1000).
    pub async fn checks(&self, actor: &Actor, limit: i64) -> Result<Vec<Check>, PlatformError> {
        Self::require_relying_party(actor)?;
        self.store
            .checks_of(actor.org_id, limit.clamp(1, 1000))
            .await
    }

    /// Deletes the checks whose retention ended.
    pub async fn sweep(&self) -> Result<u64, PlatformError> {
        self.store.sweep_checks(&self.clock.now()).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        actor: &Actor,
        purpose: String,
        submitted: &str,
        expect: Expect,
        method: RevocationMethod,
        cert_der: Vec<u8>,
        signed: Signed,
        recheck_of: Option<i64>,
    ) -> Result<Check, PlatformError> {
        let now = self.clock.now();
        let cert = parse_certificate(&cert_der)?;
        let tbs = &cert.tbs_certificate;
        let roots = [
            (RootKind::Sign, self.root(RootKind::Sign)?),
            (RootKind::Auth, self.root(RootKind::Auth)?),
        ];
        let root = roots
            .iter()
            .find(|(_, r)| r.tbs_certificate.subject == tbs.issuer);
        let serial_hex = Serial::from_der_bytes(tbs.serial_number.as_bytes())
            .map(|s| s.to_hex())
            .unwrap_or_else(|_| hex(tbs.serial_number.as_bytes()));
        let record = match root {
            Some(_) => match self.jpki.certificate(&serial_hex).await {
                Ok(r) => Some(r),
                Err(JpkiError::Refusal(_)) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let device = match &record {
            Some(r)
                if r.card_ref
                    .as_deref()
                    .is_some_and(|c| c.starts_with("phone:")) =>
            {
                Device::Smartphone
            }
            Some(_) => Device::Card,
            None => Device::Unknown,
        };
        let kind = match root.map(|(k, _)| *k) {
            Some(RootKind::Sign) => CertificateType::Signing,
            Some(RootKind::Auth) => CertificateType::Authentication,
            None => CertificateType::Other,
        };
        let mut steps = Vec::with_capacity(5);

        // 1. The kind of certificate, against what the purpose requires.
        steps.push(match (kind, expect) {
            (CertificateType::Signing, Expect::Signing)
            | (CertificateType::Authentication, Expect::Authentication) => Step::passed(
                StepName::CertificateType,
                format!("{} ({})", ja_type(kind), device_label(device)),
            ),
            (CertificateType::Other, _) => Step::failed(
                StepName::CertificateType,
                codes::UNSUPPORTED_CERTIFICATE,
                format!("not a JPKI certificate of this installation (issuer {})", tbs.issuer),
            ),
            (_, Expect::Signing) => Step::failed(
                StepName::CertificateType,
                codes::UNSUPPORTED_CERTIFICATE,
                "an authentication certificate (利用者証明用) where the purpose requires a signing certificate (署名用電子証明書)",
            ),
            (_, Expect::Authentication) => Step::failed(
                StepName::CertificateType,
                codes::UNSUPPORTED_CERTIFICATE,
                "a signing certificate (署名用) where the purpose requires an authentication certificate (利用者証明用電子証明書)",
            ),
        });

        // 2. The issuer: the root's signature on the certificate, and this CA's record of it.
        let issuer_step = match root {
            None => Step::failed(
                StepName::Issuer,
                codes::UNTRUSTED_ISSUER,
                format!("{} is not a JPKI root of this installation", tbs.issuer),
            ),
            Some((k, r)) => {
                let root_spki = r
                    .tbs_certificate
                    .subject_public_key_info
                    .to_der()
                    .map_err(JpkiError::from)?;
                let tbs_der = tbs.to_der().map_err(JpkiError::from)?;
                if key::verify(&root_spki, &tbs_der, cert.signature.raw_bytes()).is_err() {
                    Step::failed(
                        StepName::Issuer,
                        codes::UNTRUSTED_ISSUER,
                        "the certificate's signature does not verify with the root's key (forged, or from another installation)",
                    )
                } else {
                    match &record {
                        Some(rec) if rec.der == cert_der => Step::passed(
                            StepName::Issuer,
                            format!(
                                "issued by the {} root ({}), serial {serial_hex}, issued {}",
                                k.as_str(),
                                r.tbs_certificate.subject,
                                rec.issued_at.to_rfc3339()
                            ),
                        ),
                        Some(_) => Step::failed(
                            StepName::Issuer,
                            codes::UNKNOWN_CERTIFICATE,
                            format!("serial {serial_hex} was issued as another certificate"),
                        ),
                        None => Step::failed(
                            StepName::Issuer,
                            codes::UNKNOWN_CERTIFICATE,
                            format!("this CA has no record of serial {serial_hex}"),
                        ),
                    }
                }
            }
        };
        let ours = issuer_step.outcome == crate::Outcome::Passed;
        steps.push(issuer_step);

        // 3. Validity at the time of the check.
        let not_before = time_of(&tbs.validity.not_before)?;
        let not_after = time_of(&tbs.validity.not_after)?;
        steps.push(if now < not_before {
            Step::failed(
                StepName::Validity,
                codes::CERTIFICATE_NOT_YET_VALID,
                format!("valid from {}", not_before.to_rfc3339()),
            )
        } else if now > not_after {
            Step::failed(
                StepName::Validity,
                codes::CERTIFICATE_HAS_EXPIRED,
                format!("expired at {}", not_after.to_rfc3339()),
            )
        } else {
            Step::passed(
                StepName::Validity,
                format!(
                    "valid {} to {}",
                    not_before.to_rfc3339(),
                    not_after.to_rfc3339()
                ),
            )
        });

        // 4. The signature.
        steps.push(signed.step);

        // 5. Revocation, for certificates of ours.
        let mut revocation = None;
        match (root, &record) {
            (Some((k, r)), Some(rec)) if ours => {
                let (step, source) = match method {
                    RevocationMethod::Ocsp => self.by_ocsp(*k, &cert, r).await,
                    RevocationMethod::Crl => self.by_crl(*k, rec.partition, &cert, r).await,
                };
                steps.push(step);
                revocation = source;
            }
            _ => steps.push(Step::skipped(
                StepName::Revocation,
                "not a certificate of this CA: no revocation status to ask",
            )),
        }

        let error = Check::first_failure(&steps).and_then(|s| s.code.clone());
        let result = if error.is_none() {
            CheckResult::Verified
        } else {
            CheckResult::Refused
        };
        let basic4 = match (result, kind) {
            (CheckResult::Verified, CertificateType::Signing) => {
                relying::certified_basic4(&cert).map(Basic4::from)
            }
            _ => None,
        };
        let mut check = Check {
            id: 0,
            relying_party: actor.org_id,
            purpose,
            submitted: submitted.to_owned(),
            expected: expect,
            result,
            error,
            steps,
            certificate: CertificateSummary {
                serial: serial_hex,
                kind,
                device,
                issuer: tbs.issuer.to_string(),
                not_before,
                not_after,
            },
            revocation,
            basic4,
            signing_time: signed.signing_time,
            signed_sha256: signed.signed_sha256,
            checked_at: now,
            recheck_of,
            keep_until: profile::add_years(&now, RETENTION_YEARS),
        };
        let access_detail = format!(
            "{}による本人確認 ({}、{}): {}",
            actor.org_name,
            ja_type(kind),
            method.as_str(),
            match &check.error {
                None => "確認できました".to_owned(),
                Some(code) => format!("確認できませんでした ({code})"),
            }
        );
        let id = self
            .store
            .insert_check(
                &NewCheck {
                    check: check.clone(),
                    resident_id: record.as_ref().filter(|_| ours).map(|r| r.resident_id),
                    certificate_der: cert_der,
                    access_detail,
                },
                actor,
            )
            .await?;
        check.id = id;
        tracing::info!(
            check = id,
            relying_party = actor.org_id,
            result = ?check.result,
            error = check.error.as_deref().unwrap_or(""),
            "platform check recorded"
        );
        Ok(check)
    }

    fn root(&self, kind: RootKind) -> Result<Certificate, PlatformError> {
        Ok(profile::parse_certificate(
            &self.jpki.root_certificate(kind)?,
        )?)
    }

    /// Asks the root's OCSP responder (in process: the very answer `POST /ocsp/{root}` gives),
    /// with a nonce, and checks the answer's signature.
    async fn by_ocsp(
        &self,
        kind: RootKind,
        cert: &Certificate,
        root: &Certificate,
    ) -> (Step, Option<RevocationSource>) {
        let mut nonce = [0u8; 16];
        self.entropy.fill(&mut nonce);
        let url = self.jpki.endpoints().ocsp(kind);
        let request = match relying::ocsp_request(cert, root, Some(&nonce)) {
            Ok(r) => r,
            Err(e) => return (unknown(format!("no OCSP request could be made: {e}")), None),
        };
        let answer = self.jpki.ocsp(kind, &request).await;
        match relying::read_ocsp_response(&answer, cert, root, Some(&nonce)) {
            Ok(r) => {
                let source = RevocationSource {
                    method: RevocationMethod::Ocsp,
                    status: String::new(),
                    url: url.clone(),
                    as_of: r.produced_at,
                    next_update: r.next_update,
                    crl_number: None,
                    delta_url: None,
                    delta_number: None,
                    since: None,
                    reason: None,
                };
                status_step(
                    r.status,
                    source,
                    format!("OCSP {url}, produced {}", r.produced_at.to_rfc3339()),
                )
            }
            Err(e) => (
                unknown(format!("the OCSP answer from {url} is unusable: {e}")),
                None,
            ),
        }
    }

    /// Reads the certificate's partition CRL and its delta as last published, signatures
    /// checked with the root's key.
    async fn by_crl(
        &self,
        kind: RootKind,
        partition: i64,
        cert: &Certificate,
        root: &Certificate,
    ) -> (Step, Option<RevocationSource>) {
        match self.crl_reading(kind, partition, cert, root).await {
            Ok((status, source)) => {
                let detail = format!(
                    "CRL {} (number {}, issued {}){}",
                    source.url,
                    source.crl_number.unwrap_or_default(),
                    source.as_of.to_rfc3339(),
                    match (&source.delta_url, source.delta_number) {
                        (Some(u), Some(n)) => format!(" with delta {u} (number {n})"),
                        _ => String::new(),
                    }
                );
                status_step(status, source, detail)
            }
            Err(e) => (unknown(format!("the CRLs could not be read: {e}")), None),
        }
    }

    async fn crl_reading(
        &self,
        kind: RootKind,
        partition: i64,
        cert: &Certificate,
        root: &Certificate,
    ) -> Result<(Revocation, RevocationSource), PlatformError> {
        let root_spki = root
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(JpkiError::from)?;
        let serial = cert.tbs_certificate.serial_number.as_bytes();
        let base_meta = self
            .jpki
            .latest_crl(kind, "partition", Some(partition))
            .await?
            .ok_or_else(|| {
                PlatformError::Storage(format!("partition {partition} has no CRL published yet"))
            })?;
        let read = |file: &str| -> Result<relying::CrlReading, PlatformError> {
            let f = std::fs::File::open(file)
                .map_err(|e| PlatformError::Storage(format!("CRL file: {e}")))?;
            Ok(relying::read_crl(
                std::io::BufReader::new(f),
                &root_spki,
                serial,
            )?)
        };
        let base = read(&base_meta.file)?;
        let delta_meta = self
            .jpki
            .latest_crl(kind, "delta", Some(partition))
            .await?
            .filter(|d| d.base_number == Some(base_meta.number));
        let delta = match &delta_meta {
            Some(d) => Some(read(&d.file)?),
            None => None,
        };
        let endpoints = self.jpki.endpoints();
        let newest = delta.as_ref().unwrap_or(&base);
        Ok((
            relying::combine(&base, delta.as_ref()),
            RevocationSource {
                method: RevocationMethod::Crl,
                status: String::new(),
                url: endpoints.partition_crl(kind, partition),
                as_of: newest.this_update,
                next_update: newest.next_update,
                crl_number: base.number,
                delta_url: delta
                    .as_ref()
                    .map(|_| endpoints.partition_delta_crl(kind, partition)),
                delta_number: delta.as_ref().and_then(|d| d.number),
                since: None,
                reason: None,
            },
        ))
    }
}

fn unknown(detail: String) -> Step {
    Step::failed(
        StepName::Revocation,
        codes::REVOCATION_STATUS_UNKNOWN,
        detail,
    )
}

/// The revocation step and its source for a status.
fn status_step(
    status: Revocation,
    mut source: RevocationSource,
    detail: String,
) -> (Step, Option<RevocationSource>) {
    let step = match status {
        Revocation::Good => {
            source.status = "good".into();
            Step::passed(StepName::Revocation, format!("good: {detail}"))
        }
        Revocation::Held { since } => {
            source.status = "suspended".into();
            source.since = Some(since);
            Step::failed(
                StepName::Revocation,
                codes::CERTIFICATE_IS_SUSPENDED,
                format!(
                    "suspended (一時停止) since {}: {detail}",
                    since.to_rfc3339()
                ),
            )
        }
        Revocation::Revoked { at, reason } => {
            source.status = "revoked".into();
            source.since = Some(at);
            source.reason = Some(reason.name().to_owned());
            Step::failed(
                StepName::Revocation,
                codes::CERTIFICATE_HAS_BEEN_REVOKED,
                format!(
                    "revoked ({}) at {}: {detail}",
                    reason.name(),
                    at.to_rfc3339()
                ),
            )
        }
        Revocation::Unknown => {
            source.status = "unknown".into();
            Step::failed(
                StepName::Revocation,
                codes::REVOCATION_STATUS_UNKNOWN,
                format!("the responder does not know the certificate: {detail}"),
            )
        }
    };
    (step, Some(source))
}

fn parse_certificate(der_bytes: &[u8]) -> Result<Certificate, PlatformError> {
    Certificate::from_der(der_bytes).map_err(|_| {
        PlatformError::invalid(
            "platform.certificate",
            "certificate: not a DER X.509 certificate",
        )
    })
}
