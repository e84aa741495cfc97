//! Eligibility checks as the reader and the reception ask them: the domain's use cases
//! (`openmyna-eligibility`), counted by outcome for the metrics.

use chrono::NaiveDate;
use openmyna_core::Actor;
use openmyna_eligibility::record::InsuredKey;
use openmyna_eligibility::{AuthMethod, CardProof, EligibilityError, EligibilityResult};

use crate::{Result, Services};

/// What a check's outcome is called in the metrics.
fn outcome(r: &std::result::Result<EligibilityResult, EligibilityError>) -> &str {
    match r {
        Ok(v) => &v.validity_name,
        Err(EligibilityError::Refusal(r)) => r.code(),
        Err(EligibilityError::Jpki(openmyna_jpki::JpkiError::Refusal(r))) => r.code(),
        Err(_) => "error",
    }
}

/// The check with the card (資格確認): the card's proof, then the verdict.
pub async fn verify(
    s: &Services,
    actor: &Actor,
    proof: &CardProof<'_>,
    method: AuthMethod,
    date_of_service: Option<NaiveDate>,
) -> Result<EligibilityResult> {
    let r = s
        .eligibility()
        .verify(actor, proof, method, date_of_service)
        .await;
    s.counters.eligibility("card", outcome(&r));
    Ok(r?)
}

/// The check without the card (記号・番号・枝番 and birth date).
pub async fn query(
    s: &Services,
    actor: &Actor,
    key: &InsuredKey,
    birth_date: NaiveDate,
    date_of_service: Option<NaiveDate>,
) -> Result<EligibilityResult> {
    let r = s
        .eligibility()
        .query(actor, key, birth_date, date_of_service)
        .await;
    s.counters.eligibility("query", outcome(&r));
    Ok(r?)
}

/// A reader's report that a card's user-authentication PIN locked there (the third wrong PIN,
/// or a card locked before). The card itself is what locks; the report tells the system, so
/// that the lock-out is counted (`openmyna_card_events_total{event="pin_locked"}`) and is in
/// the card's audited history before the holder reaches the municipality's window. The reader
/// sends the card's authentication certificate (readable without the PIN); it must be one this
/// CA issued for a card. Reported again before a reset, it is recorded once: `false`.
pub async fn report_pin_lock(s: &Services, actor: &Actor, certificate: &[u8]) -> Result<bool> {
    use openmyna_core::{Refusal, Role};
    actor.require(&[Role::MedicalInstitution])?;
    let unknown = || {
        Refusal::invalid(
            "certificate.unknown",
            "this is not an authentication certificate this CA issued for a card",
        )
        .with_field("certificate")
    };
    let cert = openmyna_jpki::profile::parse_certificate(certificate).map_err(|_| unknown())?;
    let serial =
        openmyna_jpki::Serial::from_der_bytes(cert.tbs_certificate.serial_number.as_bytes())
            .map_err(|_| unknown())?;
    let record = s
        .jpki
        .certificate(&serial.to_hex())
        .await
        .map_err(|_| unknown())?;
    if record.root != openmyna_jpki::RootKind::Auth || record.der != certificate {
        return Err(unknown().into());
    }
    let card = match &record.card_ref {
        Some(c) => s.store.cards().card(c).await?,
        None => None,
    }
    .ok_or_else(unknown)?;
    if s.store
        .cards()
        .last_card_event(&card.serial)
        .await?
        .as_deref()
        == Some("pin_locked")
    {
        return Ok(false);
    }
    s.store
        .cards()
        .record_card_event(
            &card.serial,
            card.resident_id,
            &s.clock.now(),
            "pin_locked",
            &actor.org_name,
            "user-authentication PIN locked at a card reader (reported by the reader)",
        )
        .await?;
    tracing::info!(card = %card.serial, "a reader reported a locked PIN");
    Ok(true)
}
