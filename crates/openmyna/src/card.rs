//! Card issuance and the municipality's card operations: the composition of the registry, the
//! CA, the card engine and the card file.

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use openmyna_card::personalize::{
    self, BlankCard, Certificates, ChosenPins, DataSigner, Holder as CardHolder,
};
use openmyna_card::{CardState, PinId};
use openmyna_cardio::{CardFile, CardIoError};
use openmyna_core::{Clock, Entropy};
use openmyna_jpki::service::CardCertificates;
use openmyna_jpki::{Jpki, RootKind};
use openmyna_registry::{Registry, ResidentId, ResidentStatus};
use openmyna_store::Store;
use openmyna_store::cards::CardRecord;

use crate::app::AppError;

impl From<CardIoError> for AppError {
    fn from(e: CardIoError) -> Self {
        AppError::Invalid(e.to_string())
    }
}

impl From<openmyna_card::CardError> for AppError {
    fn from(e: openmyna_card::CardError) -> Self {
        AppError::Invalid(e.to_string())
    }
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

fn random_serial(entropy: &dyn Entropy) -> String {
    let mut b = [0u8; 13];
    entropy.fill(&mut b);
    b.iter()
        .enumerate()
        .map(|(i, x)| {
            if i < 2 {
                char::from(b'A' + x % 26)
            } else {
                char::from(b'0' + x % 10)
            }
        })
        .collect()
}

/// The key that signs card data (入力補助AP, 券面AP), created on first use and kept sealed in
/// the database.
pub async fn data_signer(store: &Store) -> Result<DataSigner, AppError> {
    let pkcs8 = store
        .card_data_signer(|| {
            DataSigner::generate()
                .map(|(_, pkcs8)| pkcs8)
                .map_err(|e| e.to_string())
        })
        .await?;
    Ok(DataSigner::from_pkcs8(&pkcs8)?)
}

/// Issues a card: keys generated on the card, certificates from the CA, the resident's data
/// and the chosen PINs written, the card file created, the issuance recorded.
pub async fn issue(
    store: &Store,
    jpki: &Jpki<Store>,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    req: &IssueRequest<'_>,
) -> Result<IssuedCard, AppError> {
    if req.out.exists() {
        return Err(AppError::Invalid(format!(
            "{} exists; a card file is never overwritten",
            req.out.display()
        )));
    }
    let registry = Registry::new(store, clock, entropy);
    let resident = registry
        .get(
            ResidentId::parse(&req.resident_id.to_string())
                .map_err(|e| AppError::Invalid(e.to_string()))?,
        )
        .await
        .map_err(|e| AppError::Invalid(e.to_string()))?;
    if resident.status != ResidentStatus::Active {
        return Err(AppError::Invalid(format!(
            "the resident's record is closed ({})",
            resident.status
        )));
    }
    let b = &resident.basic4;
    let today = clock.today();
    let with_signing =
        openmyna_core::age_on(b.birth_date, today) >= openmyna_jpki::ca::MIN_SIGNING_AGE;
    match (with_signing, req.sign_password) {
        (true, None) => {
            return Err(AppError::Invalid(
                "a signing password is required (the resident is 15 or older)".into(),
            ));
        }
        (false, Some(_)) => {
            return Err(AppError::Invalid(
                "no signing certificate is issued under 15: omit the signing password".into(),
            ));
        }
        _ => {}
    }
    let assist = req.assist_pin.unwrap_or(req.auth_pin);
    let sign_upper = req.sign_password.map(str::to_ascii_uppercase);
    // Check every PIN before anything is generated or certified.
    PinId::Auth
        .check(req.auth_pin.as_bytes())
        .map_err(openmyna_card::CardError::from)?;
    PinId::Assist
        .check(assist.as_bytes())
        .map_err(openmyna_card::CardError::from)?;
    if let Some(s) = &sign_upper {
        PinId::Sign
            .check(s.as_bytes())
            .map_err(openmyna_card::CardError::from)?;
    }
    let expiry = req
        .card_expiry
        .unwrap_or_else(|| openmyna_http::routes::jpki::default_card_expiry(b.birth_date, today));
    if expiry <= today {
        return Err(AppError::Invalid(
            "the card expiry must be in the future".into(),
        ));
    }

    let serial = random_serial(entropy);
    let mut salt = vec![0u8; 16];
    entropy.fill(&mut salt);
    let BlankCard {
        mut state,
        auth_spki,
        sign_spki,
    } = personalize::blank_card(&serial, salt, with_signing)?;
    let holder = openmyna_http::routes::jpki::holder_of(b);
    let issued = jpki
        .issue_card(
            resident.id.0,
            &holder,
            sign_spki.as_deref(),
            &auth_spki,
            expiry,
            Some(serial.clone()),
        )
        .await?;
    let auth_ca = jpki.root_certificate(RootKind::Auth)?;
    let sign_ca = jpki.root_certificate(RootKind::Sign)?;
    let result = personalise(
        store,
        &mut state,
        &resident,
        &issued,
        &auth_ca,
        &sign_ca,
        expiry,
        entropy,
        assist,
        req,
        sign_upper.as_deref(),
    )
    .await
    .and_then(|()| CardFile::create(req.out, &state).map_err(AppError::from));
    let record = CardRecord {
        serial: serial.clone(),
        resident_id: resident.id.0,
        issued_at: clock.now(),
        expiry: expiry.to_string(),
        auth_serial: issued.authentication.serial.clone(),
        sign_serial: issued.signing.as_ref().map(|c| c.serial.clone()),
        status: "active".into(),
        status_at: None,
    };
    let result = match result {
        Ok(file) => match store.insert_card(&record, req.actor).await {
            Ok(()) => Ok(()),
            Err(e) => {
                // Not recorded: the card is not handed out.
                let _ = std::fs::remove_file(file.path());
                Err(AppError::from(e))
            }
        },
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        // The certificates certify keys on a card that was never handed out.
        for c in issued.signing.iter().chain([&issued.authentication]) {
            if let Err(re) = jpki
                .change_status(
                    &c.serial,
                    openmyna_jpki::Action::Revoke(openmyna_jpki::Reason::CessationOfOperation),
                )
                .await
            {
                tracing::error!(serial = %c.serial, error = %re, "could not revoke the certificate of an unissued card");
            }
        }
        return Err(e);
    }
    // 再交付: the resident's earlier cards are replaced, their certificates revoked.
    for old in store.cards_of_resident(resident.id.0).await? {
        if old.serial != serial && (old.status == "active" || old.status == "lost") {
            openmyna_http::routes::cards::apply_card_event(
                store,
                jpki,
                &clock.now(),
                &old.serial,
                openmyna_applications::CardEvent::Replace,
                req.actor,
            )
            .await
            .map_err(|e| {
                AppError::Invalid(format!("replacing card {}: {}", old.serial, e.message))
            })?;
        }
    }
    tracing::info!(card = %serial, resident = resident.id.0, "card issued");
    Ok(IssuedCard {
        serial,
        resident_id: resident.id.0,
        expiry: expiry.to_string(),
        auth_certificate: record.auth_serial,
        sign_certificate: record.sign_serial,
        card_file: req.out.display().to_string(),
    })
}

#[allow(clippy::too_many_arguments)]
async fn personalise(
    store: &Store,
    state: &mut CardState,
    resident: &openmyna_registry::Resident,
    issued: &CardCertificates,
    auth_ca: &[u8],
    sign_ca: &[u8],
    expiry: NaiveDate,
    entropy: &dyn Entropy,
    assist: &str,
    req: &IssueRequest<'_>,
    sign_upper: Option<&str>,
) -> Result<(), AppError> {
    personalize::install_certificates(
        state,
        &Certificates {
            auth: &issued.authentication.der,
            auth_ca,
            sign: issued.signing.as_ref().map(|c| c.der.as_slice()),
            sign_ca,
        },
    )?;
    let b = &resident.basic4;
    let signer = data_signer(store).await?;
    let mut code = [0u8; 2];
    entropy.fill(&mut code);
    let security_code = format!("{:04}", u16::from_be_bytes(code) % 10_000);
    let (_, city) = openmyna_jpki::ca::split_address(&b.address.text);
    let face = openmyna_card::image::synthetic_face(resident.id.0 as u64);
    personalize::install_holder(
        state,
        &CardHolder {
            my_number: resident.my_number.expose(),
            name: &b.name.name,
            address: &b.address.text,
            birth: &b.birth_date.format("%Y%m%d").to_string(),
            sex: char::from(b'0' + b.sex.code()),
            expiry: &format!(
                "{:04}{:02}{:02}",
                expiry.year(),
                expiry.month(),
                expiry.day()
            ),
            security_code: &security_code,
            municipality: &city,
            face_png: &face,
        },
        &signer,
    )?;
    personalize::set_pins(
        state,
        &ChosenPins {
            auth: req.auth_pin,
            sign: sign_upper,
            assist,
        },
    )?;
    state.resident_id = Some(resident.id.0);
    Ok(())
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
) -> Result<u8, AppError> {
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
