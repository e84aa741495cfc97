//! Cards: issued at the window (all phases at once, to a card file), renewed, given a new
//! signing certificate, a PIN reset by the municipality (the card present), and the card
//! events of its life (loss, found, return, abroad) with their effect on both certificates.

use std::path::Path;

use chrono::NaiveDate;
use openmyna_applications::{CardDates, CardEvent, CertificateEffect, card_transition};
use openmyna_card::PinId;
use openmyna_cardio::{CardFile, CardIoError};
use openmyna_core::{Clock, Entropy, Refusal};
use openmyna_jpki::{Action, CertState, Jpki};
use openmyna_store::Store;
use openmyna_store::cards::CardRecord;

use crate::{Result, issuance};

/// Applies a card event: the status change (with its audit record) and its effect on both
/// certificates. Certificates already revoked stay as they are.
pub async fn apply_card_event(
    store: &Store,
    jpki: &openmyna_jpki::Jpki<Store>,
    now: &openmyna_core::Timestamp,
    serial: &str,
    event: CardEvent,
    actor: &str,
) -> Result<CardRecord> {
    let card = store
        .cards()
        .card(serial)
        .await?
        .ok_or_else(|| Refusal::not_found("card.not_found", format!("no card {serial}")))?;
    let from = card.status;
    let (to, effect) = card_transition(from, event)?;
    // Claim the status first, so that of two requests only one changes the certificates.
    let detail = format!("{event:?}: {} → {}", from.as_str(), to.as_str());
    let action_name = format!("{event:?}").to_lowercase();
    if !store
        .cards()
        .set_card_status(serial, from, to, now, &action_name, actor, &detail)
        .await?
    {
        return Err(Refusal::refused(
            "card.concurrent",
            "the card's status changed meanwhile; try again",
        )
        .into());
    }
    for cert_serial in card.sign_serial.iter().chain([&card.auth_serial]) {
        let cert = jpki.certificate(cert_serial).await?;
        let action = match effect {
            CertificateEffect::Keep => continue,
            _ if cert.status == CertState::Revoked => continue,
            CertificateEffect::Hold if cert.status == CertState::Held => continue,
            CertificateEffect::Release if cert.status != CertState::Held => continue,
            CertificateEffect::Hold => Action::Hold,
            CertificateEffect::Release => Action::Release,
            CertificateEffect::Revoke(reason) => Action::Revoke(reason),
        };
        if let Err(e) = jpki.change_status(cert_serial, action).await {
            // Put the status back: the certificates did not follow.
            if let Err(back) = store
                .cards()
                .set_card_status(
                    serial,
                    to,
                    from,
                    now,
                    "reverted",
                    actor,
                    &format!("{detail} failed"),
                )
                .await
            {
                tracing::error!(card = serial, error = %back, "could not put a card's status back after its certificates did not follow");
            }
            return Err(e.into());
        }
    }
    Ok(store
        .cards()
        .card(serial)
        .await?
        .ok_or_else(|| Refusal::not_found("card.not_found", format!("no card {serial}")))?)
}

/// A card event recorded by the municipality (or, for a loss report, the 24-hour centre),
/// with the note of who reported it and how: the event's own preconditions first, then the
/// note (1–200 characters), then [`apply_card_event`].
///
/// - `Found` becomes `FoundAbroad` for a holder whose record was removed (emigrated).
/// - `GoOverseas` (海外継続利用) comes before the 国外転出 is recorded: the holder must be active.
/// - `ComeBack` comes after the return (転入) is recorded: the holder must be active again.
pub async fn record_event(
    s: &crate::Services,
    serial: &str,
    requested: CardEvent,
    org_name: &str,
    note: &str,
) -> Result<CardRecord> {
    let active = |resident_id: i64| s.active_resident(resident_id);
    let event = match requested {
        CardEvent::Found => match s.store.cards().card(serial).await? {
            Some(c) => {
                let r = openmyna_registry::Registry::new(
                    &s.store,
                    s.clock.as_ref(),
                    s.entropy.as_ref(),
                )
                .get(openmyna_registry::ResidentId(c.resident_id))
                .await?;
                if r.status == openmyna_registry::ResidentStatus::Removed {
                    CardEvent::FoundAbroad
                } else {
                    CardEvent::Found
                }
            }
            None => CardEvent::Found,
        },
        CardEvent::GoOverseas => {
            if let Some(card) = s.store.cards().card(serial).await? {
                active(card.resident_id).await.map_err(|_| {
                    Refusal::refused(
                        "resident.not_active",
                        "the 海外継続利用 procedure comes before the 国外転出 is recorded",
                    )
                })?;
            }
            CardEvent::GoOverseas
        }
        CardEvent::ComeBack => {
            let card =
                s.store.cards().card(serial).await?.ok_or_else(|| {
                    Refusal::not_found("card.not_found", format!("no card {serial}"))
                })?;
            active(card.resident_id).await.map_err(|_| {
                Refusal::refused(
                    "resident.not_returned",
                    "record the return in the registry (転入) first",
                )
            })?;
            CardEvent::ComeBack
        }
        other => other,
    };
    let note = note.trim();
    if note.is_empty() || note.chars().count() > 200 {
        return Err(
            Refusal::invalid("note.length", "note must be 1-200 characters")
                .with_field("note")
                .into(),
        );
    }
    let who = format!("{org_name} ({note})");
    apply_card_event(&s.store, &s.jpki, &s.clock.now(), serial, event, &who).await
}

/// What the resident chooses at the window.
pub struct IssueRequest<'a> {
    pub resident_id: i64,
    pub out: &'a Path,
    pub auth_pin: &'a str,
    /// Required from 15 years of age, refused below.
    pub sign_password: Option<&'a str>,
    /// Defaults to the authentication PIN, as most residents choose.
    pub assist_pin: Option<&'a str>,
    /// 住民基本台帳用 PIN; defaults to the authentication PIN.
    pub juki_pin: Option<&'a str>,
    pub card_expiry: Option<NaiveDate>,
    /// Who issues (recorded in the card's audit trail).
    pub actor: &'a str,
}

/// What was issued; never the PINs or the My Number.
#[derive(Debug, serde::Serialize)]
pub struct IssuedCard {
    pub serial: String,
    pub resident_id: i64,
    pub expiry: String,
    pub auth_certificate: String,
    pub sign_certificate: Option<String>,
    pub card_file: String,
}

/// Issues a card: keys generated on the card, certificates from the CA, the resident's data
/// and the chosen PINs written, the card file created, the issuance recorded (earlier cards
/// of the resident are replaced).
pub async fn issue(
    store: &Store,
    jpki: &Jpki<Store>,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    req: &IssueRequest<'_>,
) -> Result<IssuedCard> {
    if req.out.exists() {
        return Err(Refusal::refused(
            "card_file.exists",
            format!(
                "{} exists; a card file is never overwritten",
                req.out.display()
            ),
        )
        .into());
    }
    let resident = issuance::active_resident(store, clock, entropy, req.resident_id).await?;
    // Check every PIN before anything is generated or certified.
    let pins = issuance::check_pins(
        issuance::with_signing(&resident, clock.today()),
        &issuance::Pins {
            auth: req.auth_pin,
            sign: req.sign_password,
            assist: req.assist_pin,
            juki: req.juki_pin,
        },
    )?;
    let mut card = issuance::manufacture(store, clock, entropy, &resident, req.card_expiry).await?;
    let issued = issuance::activate(jpki, &resident, &mut card, &pins).await?;
    if let Err(e) = CardFile::create(req.out, &card.state) {
        issuance::revoke_unissued(jpki, &issued).await;
        return Err(e.into());
    }
    let record = match issuance::record(store, jpki, clock, &card, &issued, req.actor).await {
        Ok(r) => r,
        Err(e) => {
            // Not recorded: the card is not handed out.
            if let Err(rm) = std::fs::remove_file(req.out) {
                tracing::error!(file = %req.out.display(), error = %rm, "could not remove the card file of an unrecorded card");
            }
            issuance::revoke_unissued(jpki, &issued).await;
            return Err(e);
        }
    };
    Ok(IssuedCard {
        serial: record.serial,
        resident_id: resident.id.0,
        expiry: record.expiry,
        auth_certificate: record.auth_serial,
        sign_certificate: record.sign_serial,
        card_file: req.out.display().to_string(),
    })
}

/// Writes new keys and files onto the card (renewal, signing re-issue) if it is still as it
/// was read; the PIN counters are kept as they are now.
fn write_back(
    card: &CardFile,
    read: &openmyna_card::CardState,
    new: &openmyna_card::CardState,
) -> Result<(), CardIoError> {
    card.update(|s| {
        if s.generation != read.generation {
            return Err(CardIoError::Invalid(
                "the card changed meanwhile; try again".into(),
            ));
        }
        let pins = s.pins.clone();
        *s = new.clone();
        s.pins = pins;
        s.generation = read.generation + 1;
        Ok(())
    })
}

/// Certificate renewal at the window with the card present (audited): new keys on the card,
/// new certificates, the old ones revoked.
pub async fn renew(
    store: &Store,
    jpki: &Jpki<Store>,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    card: &CardFile,
    actor: &str,
) -> Result<CardRecord> {
    let state = card.load()?;
    let renewal = issuance::renew(store, jpki, clock, entropy, &state).await?;
    if let Err(e) = write_back(card, &state, &renewal.state) {
        issuance::revoke_unissued(jpki, &renewal.issued).await;
        return Err(e.into());
    }
    issuance::complete_renewal(store, jpki, clock, &renewal, actor).await
}

/// A new signing key and certificate on a card (after emigration with the card kept, or after
/// the return), with the card present.
pub async fn reissue_signing(
    store: &Store,
    jpki: &Jpki<Store>,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    card: &CardFile,
    actor: &str,
) -> Result<CardRecord> {
    let state = card.load()?;
    let r = issuance::reissue_signing(store, jpki, clock, entropy, &state).await?;
    if let Err(e) = write_back(card, &state, &r.state) {
        issuance::revoke_unhanded(jpki, &r.new.serial).await;
        return Err(e.into());
    }
    issuance::complete_signing_reissue(store, jpki, clock, &r, actor).await
}

/// The municipality's reset of a PIN on a card (after identity checks at the window):
/// counter restored and, optionally, a new value. Audited.
pub async fn unlock(
    store: &Store,
    clock: &dyn Clock,
    card: &CardFile,
    pin: PinId,
    new_value: Option<&str>,
    actor: &str,
) -> Result<u8> {
    let new_value = new_value.map(|v| {
        if pin == PinId::Sign {
            v.to_ascii_uppercase()
        } else {
            v.to_owned()
        }
    });
    let (serial, resident, before) = card.update(|state| {
        let before = state.pin(pin).map(|p| p.tries_left).unwrap_or(0);
        state.reset_pin(pin, new_value.as_deref().map(str::as_bytes))?;
        Ok((state.serial.clone(), state.resident_id.unwrap_or(0), before))
    })?;
    store
        .cards()
        .record_card_event(
            &serial,
            resident,
            &clock.now(),
            "pin_reset",
            actor,
            &format!(
                "{} reset ({} tries left before){}",
                pin.as_str(),
                before,
                if new_value.is_some() {
                    ", new value set"
                } else {
                    ""
                }
            ),
        )
        .await?;
    tracing::info!(card = %serial, pin = pin.as_str(), "PIN reset by the municipality");
    Ok(pin.max_tries())
}

/// A card's dates of validity and renewal: from the holder's birth date and the issue date,
/// then the card's recorded expiry and its authentication certificate's, each renewable from
/// three months before.
pub async fn dates(s: &crate::Services, c: &CardRecord) -> Result<CardDates> {
    let resident = s
        .registry()
        .get(openmyna_registry::ResidentId(c.resident_id))
        .await?;
    let mut dates = CardDates::new(resident.basic4.birth_date, c.issued_at.date_naive());
    let three_months_before =
        |d: NaiveDate| d.checked_sub_months(chrono::Months::new(3)).unwrap_or(d);
    if let Ok(d) = NaiveDate::parse_from_str(&c.expiry, "%Y-%m-%d") {
        dates.card_expiry = d;
        dates.card_renewal_from = three_months_before(d);
    }
    if let Ok(cert) = s.jpki.certificate(&c.auth_serial).await {
        let d = cert.not_after.date_naive();
        dates.certificates_expiry = d;
        dates.certificates_renewal_from = three_months_before(d);
    }
    Ok(dates)
}
