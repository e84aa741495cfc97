//! The CA's use cases that the HTTP API, the console and the CLI share: the registry as the
//! CA sees it (the holder, the card's default expiry), certificates issued for a card's public
//! keys, status changes by municipalities and the operator, CRL publication on demand, the
//! roots and the published CRL files.

use chrono::{Datelike, NaiveDate};
use openmyna_core::{Actor, Refusal};
use openmyna_jpki::service::CardCertificates;
use openmyna_jpki::{Action, CertRecord, CrlMeta, Holder, KeyKind, Reason, RootKind};
use openmyna_registry::{BasicFour, ResidentId, ResidentStatus};

use crate::{Result, ServiceError, Services};

/// The certificate holder for a resident's basic four information (the signing certificate's
/// subject alternative name carries it; the authentication certificate carries none).
pub fn holder_of(b: &BasicFour) -> Holder {
    Holder {
        name: b.name.name.clone(),
        birth_date: b.birth_date,
        sex_code: b.sex.code(),
        address: b.address.text.clone(),
        municipality_code: b.address.municipality_code.as_str().to_owned(),
    }
}

/// The default card expiry: the 10th birthday after issuance (5th under 18).
pub fn default_card_expiry(birth: NaiveDate, issued: NaiveDate) -> NaiveDate {
    let years = if openmyna_core::age_on(birth, issued) < 18 {
        5
    } else {
        10
    };
    let first = openmyna_jpki::validity::birthday_in(birth, issued.year());
    let first_year = if first > issued {
        issued.year()
    } else {
        issued.year() + 1
    };
    openmyna_jpki::validity::birthday_in(birth, first_year + years - 1)
}

/// Certificates for a card whose keys were generated elsewhere (a card vendor, a test
/// harness): what to certify.
pub struct CardKeys<'a> {
    pub resident_id: i64,
    /// The card's signing public key (DER SPKI); none for residents under 15.
    pub sign_spki: Option<&'a [u8]>,
    /// The card's authentication public key (DER SPKI).
    pub auth_spki: &'a [u8],
    /// Last day the card is valid (YYYY-MM-DD); default [`default_card_expiry`].
    pub card_expiry: Option<&'a str>,
    /// The card this is for (its manufacturing number, say); control characters dropped, at
    /// most 64 characters kept.
    pub card_ref: Option<&'a str>,
}

/// Issues a card's certificates from the resident's record (active only) and the card's
/// public keys.
pub async fn issue_card(
    s: &Services,
    actor: &Actor,
    keys: &CardKeys<'_>,
) -> Result<CardCertificates> {
    let resident = s
        .registry()
        .get(ResidentId::parse(&keys.resident_id.to_string())?)
        .await?;
    if resident.status != ResidentStatus::Active {
        return Err(Refusal::refused(
            "resident.not_active",
            format!("the resident's record is closed ({})", resident.status),
        )
        .into());
    }
    let b = &resident.basic4;
    let expiry = match keys.card_expiry {
        Some(e) => NaiveDate::parse_from_str(e, "%Y-%m-%d").map_err(|_| {
            Refusal::invalid(
                "card_expiry.format",
                "card_expiry must be a date YYYY-MM-DD",
            )
            .with_field("card_expiry")
        })?,
        None => default_card_expiry(b.birth_date, s.clock.today()),
    };
    let card_ref = keys
        .card_ref
        .map(|r| r.chars().filter(|c| !c.is_control()).take(64).collect());
    let issued = s
        .jpki
        .issue_card(
            resident.id.0,
            &holder_of(b),
            keys.sign_spki,
            keys.auth_spki,
            expiry,
            card_ref,
        )
        .await?;
    tracing::info!(
        resident = resident.id.0,
        org = actor.org_id,
        "card certificates issued"
    );
    Ok(issued)
}

/// A change of a certificate's status asked for by a municipality or the operator.
#[derive(Debug, Clone, Copy)]
pub enum StatusChange<'a> {
    /// Final; with an RFC 5280 reason, by name or code.
    Revoke(&'a str),
    /// 一時利用停止 (certificateHold).
    Hold,
    /// The suspension lifted.
    Release,
}

impl<'a> StatusChange<'a> {
    /// `revoke` (with its reason, `unspecified` when none), `hold` or `release`.
    pub fn parse(action: &str, reason: Option<&'a str>) -> Result<Self> {
        match action {
            "revoke" => Ok(StatusChange::Revoke(reason.unwrap_or("unspecified"))),
            "hold" => Ok(StatusChange::Hold),
            "release" => Ok(StatusChange::Release),
            _ => Err(
                Refusal::invalid("action.unknown", "the action is revoke, hold or release")
                    .with_field("action")
                    .into(),
            ),
        }
    }
}

/// Revokes, suspends or releases a certificate: visible in OCSP at once, in the next CRL.
pub async fn change_status(
    s: &Services,
    actor: &Actor,
    serial: &str,
    change: StatusChange<'_>,
) -> Result<CertRecord> {
    let action = match change {
        StatusChange::Revoke(reason) => Action::Revoke(Reason::parse(reason).ok_or_else(|| {
            Refusal::invalid(
                "reason.unknown",
                format!("{reason:?} is not an RFC 5280 revocation reason"),
            )
            .with_field("reason")
        })?),
        StatusChange::Hold => Action::Hold,
        StatusChange::Release => Action::Release,
    };
    let c = s.jpki.change_status(serial, action).await?;
    match action {
        Action::Revoke(reason) => {
            tracing::info!(serial = %c.serial, reason = reason.name(), org = actor.org_id, "certificate revoked");
        }
        Action::Hold => {
            tracing::info!(serial = %c.serial, org = actor.org_id, "certificate suspended");
        }
        Action::Release => {
            tracing::info!(serial = %c.serial, org = actor.org_id, "certificate suspension lifted");
        }
    }
    Ok(c)
}

/// A root by its name in URLs and requests (`sign`, `auth`).
pub fn root(name: &str) -> Result<RootKind> {
    RootKind::parse(name).ok_or_else(|| {
        Refusal::not_found(
            "root.unknown",
            format!("no root {name:?}; the roots are sign and auth"),
        )
        .into()
    })
}

/// Publishes CRLs now: `full` (the full CRL, every partition, and an empty delta) or `delta`,
/// for one root or both.
pub async fn publish(s: &Services, root_name: Option<&str>, kind: &str) -> Result<Vec<CrlMeta>> {
    let roots = match root_name {
        None => RootKind::ALL.to_vec(),
        // Named in the body: an unknown name is invalid input (422), not a missing resource.
        Some(r) => vec![RootKind::parse(r).ok_or_else(|| {
            Refusal::invalid(
                "root.unknown",
                format!("no root {r:?}; the roots are sign and auth"),
            )
            .with_field("root")
        })?],
    };
    let mut out = Vec::new();
    for root in roots {
        match kind {
            "full" => out.extend(s.jpki.publish_full(root).await?),
            "delta" => out.extend(s.jpki.publish_deltas(root).await?),
            other => {
                return Err(Refusal::invalid(
                    "kind.unknown",
                    format!("{other:?} is not a CRL kind; use full or delta"),
                )
                .with_field("kind")
                .into());
            }
        }
    }
    Ok(out)
}

/// Where a published CRL is served.
pub fn crl_url(s: &Services, m: &CrlMeta) -> String {
    let e = s.jpki.endpoints();
    match (m.scope.as_str(), m.partition) {
        ("delta", Some(p)) => e.partition_delta_crl(m.root, p),
        ("delta", None) => e.delta_crl(m.root),
        (_, Some(p)) => e.partition_crl(m.root, p),
        _ => e.full_crl(m.root),
    }
}

/// A root as relying parties need it: certificates (DER) and where its services are.
pub struct RootInfo {
    pub root: RootKind,
    pub key: KeyKind,
    pub certificate: Vec<u8>,
    pub responder_certificate: Vec<u8>,
    pub ocsp_url: String,
    pub full_crl_url: String,
    pub delta_crl_url: String,
}

/// Both roots and their responders.
pub fn roots(s: &Services) -> Result<Vec<RootInfo>> {
    let e = s.jpki.endpoints();
    RootKind::ALL
        .into_iter()
        .map(|r| {
            Ok(RootInfo {
                root: r,
                key: s.jpki.root_key_kind(r)?,
                certificate: s.jpki.root_certificate(r)?,
                responder_certificate: s.jpki.responder_certificate(r)?,
                ocsp_url: e.ocsp(r),
                full_crl_url: e.full_crl(r),
                delta_crl_url: e.delta_crl(r),
            })
        })
        .collect()
}

/// The latest published CRL named by its file (`full.crl`, `delta.crl`, `p<N>.crl`): its
/// record and its DER.
pub async fn crl_file(s: &Services, root_name: &str, file: &str) -> Result<(CrlMeta, Vec<u8>)> {
    let root = root(root_name)?;
    let no_such = || Refusal::not_found("crl.not_found", "no such CRL");
    let (scope, partition) = match file {
        "full.crl" => ("full", None),
        "delta.crl" => ("delta", None),
        f => {
            let stem = f.strip_prefix('p').and_then(|x| x.strip_suffix(".crl"));
            let (number, scope) = match stem.and_then(|x| x.strip_suffix("-delta")) {
                Some(n) => (n, "delta"),
                None => (stem.unwrap_or_default(), "partition"),
            };
            match number.parse::<i64>() {
                Ok(p) if p >= 0 => (scope, Some(p)),
                _ => return Err(no_such().into()),
            }
        }
    };
    let meta = match s.jpki.latest_crl(root, scope, partition).await? {
        Some(m) => m,
        None => {
            // Never published (a certificate issued by another process, or before this
            // version): a CRL named by a certificate is published on its first request.
            if let Some(p) = partition
                && p >= s.jpki.partition_count(root).await?
            {
                return Err(no_such().into());
            }
            s.jpki
                .ensure_published(root, partition.unwrap_or(0))
                .await?;
            s.jpki
                .latest_crl(root, scope, partition)
                .await?
                .ok_or_else(|| {
                    Refusal::not_found("crl.not_published", "that CRL has not been published yet")
                })?
        }
    };
    let der = tokio::fs::read(&meta.file)
        .await
        .map_err(|e| ServiceError::internal("reading a CRL file", e))?;
    Ok((meta, der))
}
