//! Making a card, in two phases as at the municipality: **manufacture** (keys generated on the
//! card, the 券面 data and the 入力補助AP data written and signed) and **activation** (the
//! resident's PINs set and both certificates issued onto the card), then **recording** it
//! (which replaces the resident's earlier cards). `openmyna card issue` runs all three; the
//! application workflow runs them at review, handover or mailing.

use chrono::{Datelike, NaiveDate};
use openmyna_applications::{CardDates, CardEvent, CardStatus, card_transition};
use openmyna_card::personalize::{
    self, BlankCard, Certificates, ChosenPins, DataSigner, Holder as CardHolder,
};
use openmyna_card::{CardState, PinId};
use openmyna_cardface::{Face, Printed};
use openmyna_core::{Clock, Entropy};
use openmyna_jpki::service::CardCertificates;
use openmyna_jpki::{Action, Jpki, Reason, RootKind};
use openmyna_registry::{Registry, Resident, ResidentId, ResidentStatus};
use openmyna_store::Store;
use openmyna_store::cards::CardRecord;

use openmyna_core::Refusal;

use crate::{Result, ServiceError};

fn invalid(code: &'static str, m: impl Into<String>) -> ServiceError {
    Refusal::invalid(code, m.into()).into()
}

fn conflict(code: &'static str, m: impl Into<String>) -> ServiceError {
    Refusal::refused(code, m.into()).into()
}

/// The PINs a resident chooses.
#[derive(Debug, Clone, Copy)]
pub struct Pins<'a> {
    pub auth: &'a str,
    /// Required from 15 years of age, refused below.
    pub sign: Option<&'a str>,
    /// Defaults to the authentication PIN.
    pub assist: Option<&'a str>,
    /// 住民基本台帳用; defaults to the authentication PIN.
    pub juki: Option<&'a str>,
}

/// The checked PINs (the signing password upper-cased).
pub struct CheckedPins {
    pub auth: String,
    pub sign: Option<String>,
    pub assist: String,
    pub juki: String,
}

/// Checks the PINs against the rules and the holder's age, before anything is generated.
pub fn check_pins(with_signing: bool, p: &Pins<'_>) -> Result<CheckedPins> {
    match (with_signing, p.sign) {
        (true, None) => {
            return Err(invalid(
                "pin.sign_required",
                "a signing password is required (the resident is 15 or older)",
            ));
        }
        (false, Some(_)) => {
            return Err(invalid(
                "pin.sign_under_15",
                "no signing certificate is issued under 15: omit the signing password",
            ));
        }
        _ => {}
    }
    let assist = p.assist.unwrap_or(p.auth).to_owned();
    let juki = p.juki.unwrap_or(p.auth).to_owned();
    let sign = p.sign.map(str::to_ascii_uppercase);
    PinId::Auth
        .check(p.auth.as_bytes())
        .map_err(openmyna_card::CardError::from)?;
    PinId::Assist
        .check(assist.as_bytes())
        .map_err(openmyna_card::CardError::from)?;
    if let Some(s) = &sign {
        PinId::Sign
            .check(s.as_bytes())
            .map_err(openmyna_card::CardError::from)?;
    }
    Ok(CheckedPins {
        auth: p.auth.to_owned(),
        sign,
        assist,
        juki,
    })
}

/// The key that signs card data (入力補助AP, 券面AP), created on first use and kept sealed in
/// the database.
pub async fn data_signer(store: &Store) -> Result<DataSigner> {
    let pkcs8 = store
        .cards()
        .card_data_signer(|| {
            DataSigner::generate()
                .map(|(_, pkcs8)| pkcs8)
                .map_err(|e| e.to_string())
        })
        .await?;
    Ok(DataSigner::from_pkcs8(&pkcs8)?)
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

/// Whether a resident gets a signing key and certificate (15 and older on `day`).
pub fn with_signing(resident: &Resident, day: NaiveDate) -> bool {
    openmyna_core::age_on(resident.basic4.birth_date, day) >= openmyna_jpki::ca::MIN_SIGNING_AGE
}

/// An active resident's record.
pub async fn active_resident(
    store: &Store,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    resident_id: i64,
) -> Result<Resident> {
    let registry = Registry::new(store, clock, entropy);
    let resident = registry.get(ResidentId(resident_id)).await?;
    if resident.status != ResidentStatus::Active {
        return Err(conflict(
            "resident.not_active",
            format!("the resident's record is closed ({})", resident.status),
        ));
    }
    Ok(resident)
}

/// The My Number as printed on the back of the card: `1234 5678 9012`.
fn spaced(my_number: &str) -> String {
    let chars: Vec<char> = my_number.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A card fresh from manufacture: keys on it, its data written, no PINs, no certificates.
pub struct Manufactured {
    pub state: CardState,
    pub serial: String,
    pub expiry: NaiveDate,
    pub auth_spki: Vec<u8>,
    pub sign_spki: Option<Vec<u8>>,
}

/// Manufactures a card for `resident`: keys generated on the card (a signing key from 15),
/// the 入力補助AP and 券面AP data written and signed.
pub async fn manufacture(
    store: &Store,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    resident: &Resident,
    card_expiry: Option<NaiveDate>,
) -> Result<Manufactured> {
    let b = &resident.basic4;
    let today = clock.today();
    let expiry = card_expiry.unwrap_or_else(|| CardDates::new(b.birth_date, today).card_expiry);
    if expiry <= today {
        return Err(invalid(
            "card_expiry.past",
            "the card expiry must be in the future",
        ));
    }
    let serial = random_serial(entropy);
    let mut salt = vec![0u8; 16];
    entropy.fill(&mut salt);
    let BlankCard {
        mut state,
        auth_spki,
        sign_spki,
    } = personalize::blank_card(&serial, salt, with_signing(resident, today))?;
    let signer = data_signer(store).await?;
    let mut code = [0u8; 2];
    entropy.fill(&mut code);
    let security_code = format!("{:04}", u16::from_be_bytes(code) % 10_000);
    // The card prints the face of the resident's application photo; residents of the demo
    // population without one get one of the demo faces.
    let photo = store
        .applications()
        .latest_application_photo(resident.id.0)
        .await?;
    let face = match &photo {
        Some(p) => Face::Photo(p),
        None => Face::Jp2(openmyna_cardface::demo::face_for(resident.id.0 as u64)),
    };
    let birth = b.birth_date.format("%Y%m%d").to_string();
    let pictures = openmyna_cardface::pictures(
        face,
        &Printed {
            name: &b.name.name,
            address: &b.address.text,
            security_code: &security_code,
            my_number: &spaced(resident.my_number.expose()),
        },
    )
    .map_err(|e| invalid("card.pictures", e.to_string()))?;
    let municipality_code = b.address.municipality_code.as_str();
    personalize::install_holder(
        &mut state,
        &CardHolder {
            my_number: resident.my_number.expose(),
            name: &b.name.name,
            address: &b.address.text,
            birth: &birth,
            sex: char::from(b'0' + b.sex.code()),
            expiry: &format!(
                "{:04}{:02}{:02}",
                expiry.year(),
                expiry.month(),
                expiry.day()
            ),
            security_code: &security_code,
            municipality_code: municipality_code.get(0..5).unwrap_or(municipality_code),
            pictures: pictures.borrow(),
        },
        &signer,
    )?;
    state.resident_id = Some(resident.id.0);
    Ok(Manufactured {
        state,
        serial,
        expiry,
        auth_spki,
        sign_spki,
    })
}

/// Activates a manufactured card: the CA issues both certificates for the card's keys and
/// they are written onto it with the chosen PINs. The certificates exist from here on; if
/// the card is then not handed out, [`revoke_unissued`] them.
/// The public half (SPKI DER) of the card's 券面AP key, which signs a reader's challenge
/// without a PIN: recorded with the card, so that a reader that confirmed the holder by face
/// proves the card's presence with it.
fn presence_key(state: &CardState) -> Result<Vec<u8>> {
    let key = state
        .keys
        .get(&openmyna_card::layout::KeyId::Face)
        .ok_or_else(|| invalid("card.keys", "the card has no 券面AP key"))?;
    Ok(key.public_spki()?)
}

/// Whether the card's 入力補助AP data still says what the registry says.
fn card_matches_registry(state: &CardState, resident: &Resident) -> bool {
    use openmyna_card::ber;
    let Some(ef) = state.file(
        openmyna_card::AppletId::Assist,
        openmyna_card::layout::fid::ASSIST_BASIC4,
    ) else {
        return false;
    };
    let Some((outer, _)) = ber::parse(ef) else {
        return false;
    };
    let Some(kids) = ber::children(outer.value) else {
        return false;
    };
    let get = |tag: u32| kids.iter().find(|k| k.tag == tag).map(|k| k.value.to_vec());
    let b = &resident.basic4;
    get(0xDF22).as_deref() == Some(b.name.name.as_bytes())
        && get(0xDF23).as_deref() == Some(b.address.text.as_bytes())
        && get(0xDF24).as_deref() == Some(b.birth_date.format("%Y%m%d").to_string().as_bytes())
        && get(0xDF25).as_deref() == Some(&[b'0' + b.sex.code()][..])
}

/// The CA certifies the card's public keys, and the certificates (with the roots) are written
/// onto the card. If they cannot be written, the certificates are revoked again.
async fn certify(
    jpki: &Jpki<Store>,
    resident: &Resident,
    state: &mut CardState,
    auth_spki: &[u8],
    sign_spki: Option<&[u8]>,
    expiry: NaiveDate,
) -> Result<CardCertificates> {
    let issued = jpki
        .issue_card(
            resident.id.0,
            &crate::jpki::holder_of(&resident.basic4),
            sign_spki,
            auth_spki,
            expiry,
            Some(state.serial.clone()),
        )
        .await?;
    let auth_ca = jpki.root_certificate(RootKind::Auth)?;
    let sign_ca = jpki.root_certificate(RootKind::Sign)?;
    if let Err(e) = personalize::install_certificates(
        state,
        &Certificates {
            auth: &issued.authentication.der,
            auth_ca: &auth_ca,
            sign: issued.signing.as_ref().map(|c| c.der.as_slice()),
            sign_ca: &sign_ca,
        },
    ) {
        revoke_unissued(jpki, &issued).await;
        return Err(e.into());
    }
    Ok(issued)
}

pub async fn activate(
    jpki: &Jpki<Store>,
    resident: &Resident,
    card: &mut Manufactured,
    pins: &CheckedPins,
) -> Result<CardCertificates> {
    if !card_matches_registry(&card.state, resident) {
        return Err(conflict(
            "card.stale",
            "the resident's record changed after the card was made: manufacture it again",
        ));
    }
    let issued = certify(
        jpki,
        resident,
        &mut card.state,
        &card.auth_spki,
        card.sign_spki.as_deref(),
        card.expiry,
    )
    .await?;
    let pinned = personalize::set_pins(
        &mut card.state,
        &ChosenPins {
            auth: &pins.auth,
            sign: pins.sign.as_deref(),
            assist: &pins.assist,
            juki: &pins.juki,
        },
    );
    if let Err(e) = pinned {
        revoke_unissued(jpki, &issued).await;
        return Err(e.into());
    }
    Ok(issued)
}

/// Revokes the certificates of a card that was never handed out.
pub async fn revoke_unissued(jpki: &Jpki<Store>, issued: &CardCertificates) {
    for c in issued.signing.iter().chain([&issued.authentication]) {
        revoke_unhanded(jpki, &c.serial).await;
    }
}

/// The one path of compensating revocations: a certificate issued for a card that then did
/// not receive it is revoked (cessationOfOperation); a failure is logged as an error (the
/// certificate then needs an operator's `openmyna ca revoke`), never dropped.
pub async fn revoke_unhanded(jpki: &Jpki<Store>, serial: &str) {
    if let Err(e) = jpki
        .change_status(serial, Action::Revoke(Reason::CessationOfOperation))
        .await
    {
        tracing::error!(serial = %serial, error = %e, "could not revoke the certificate of a card that did not receive it");
    }
}

/// Records an activated card and replaces the resident's earlier cards (their certificates
/// revoked, superseded).
pub async fn record(
    store: &Store,
    jpki: &Jpki<Store>,
    clock: &dyn Clock,
    card: &Manufactured,
    issued: &CardCertificates,
    actor: &str,
) -> Result<CardRecord> {
    let resident_id = issued.authentication.resident_id;
    // Certificates of an earlier, failed activation of this card are superseded.
    let earlier = store.cards().card(&card.serial).await?;
    let record = CardRecord {
        serial: card.serial.clone(),
        resident_id,
        issued_at: clock.now(),
        expiry: card.expiry.to_string(),
        auth_serial: issued.authentication.serial.clone(),
        sign_serial: issued.signing.as_ref().map(|c| c.serial.clone()),
        status: CardStatus::Active,
        status_at: None,
        presence_key: Some(presence_key(&card.state)?),
    };
    store.cards().insert_card(&record, actor).await?;
    if let Some(e) = earlier {
        for serial in e.sign_serial.iter().chain([&e.auth_serial]) {
            if jpki.certificate(serial).await?.status != openmyna_jpki::CertState::Revoked {
                jpki.change_status(serial, Action::Revoke(Reason::Superseded))
                    .await?;
            }
        }
    }
    for old in store.cards().cards_of_resident(resident_id).await? {
        if old.serial != record.serial && card_transition(old.status, CardEvent::Replace).is_ok() {
            crate::cards::apply_card_event(
                store,
                jpki,
                &clock.now(),
                &old.serial,
                CardEvent::Replace,
                actor,
            )
            .await?;
        }
    }
    tracing::info!(card = %record.serial, resident = resident_id, "card issued");
    Ok(record)
}

/// A renewal prepared for a card: the card's new state (new keys and certificates) and the
/// certificates it replaces. Write `state` to the card, then [`complete_renewal`]; if the card
/// cannot be written, [`revoke_unissued`] the new certificates.
pub struct Renewal {
    pub state: CardState,
    pub issued: CardCertificates,
    pub old: CardRecord,
}

/// Certificate renewal (電子証明書の更新) at the window, with the card present: within the
/// renewal window (from 3 months before the certificates expire), new keys are generated on
/// the card and new certificates issued for them.
pub async fn renew(
    store: &Store,
    jpki: &Jpki<Store>,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    state: &CardState,
) -> Result<Renewal> {
    let card = store.cards().card(&state.serial).await?.ok_or_else(|| {
        ServiceError::from(Refusal::not_found(
            "card.not_found",
            format!("no card {} is recorded", state.serial),
        ))
    })?;
    if card.status != CardStatus::Active {
        return Err(conflict(
            "card.status",
            format!(
                "the card is {}; only an active card is renewed",
                card.status.as_str()
            ),
        ));
    }
    let resident = active_resident(store, clock, entropy, card.resident_id).await?;
    let today = clock.today();
    let current = jpki.certificate(&card.auth_serial).await?;
    let cert_expiry = current.not_after.date_naive();
    let window = cert_expiry
        .checked_sub_months(chrono::Months::new(3))
        .unwrap_or(cert_expiry);
    if today < window {
        return Err(conflict(
            "renewal.too_early",
            format!(
                "the certificates can be renewed from {window} (3 months before {cert_expiry})"
            ),
        ));
    }
    let card_expiry = NaiveDate::parse_from_str(&card.expiry, "%Y-%m-%d")
        .map_err(|e| ServiceError::internal("issuance", e))?;
    if today >= card_expiry {
        return Err(conflict(
            "card.expired",
            "the card itself has expired: apply for a new card",
        ));
    }
    let mut renewed = state.clone();
    let (auth_spki, sign_spki) = personalize::regenerate_keys(&mut renewed)?;
    let issued = certify(
        jpki,
        &resident,
        &mut renewed,
        &auth_spki,
        sign_spki.as_deref(),
        card_expiry,
    )
    .await?;
    Ok(Renewal {
        state: renewed,
        issued,
        old: card,
    })
}

/// After the renewed card is written: the card's record follows the new certificates and the
/// old ones are revoked (superseded).
pub async fn complete_renewal(
    store: &Store,
    jpki: &Jpki<Store>,
    clock: &dyn Clock,
    r: &Renewal,
    actor: &str,
) -> Result<CardRecord> {
    let sign_serial = r.issued.signing.as_ref().map(|c| c.serial.clone());
    store
        .cards()
        .set_card_certificates(
            &r.old.serial,
            Some(&r.issued.authentication.serial),
            sign_serial.as_deref(),
            &clock.now(),
            "renewed",
            actor,
            &format!(
                "new certificates: authentication {}, signing {}",
                r.issued.authentication.serial,
                sign_serial.as_deref().unwrap_or("none")
            ),
        )
        .await?;
    for old in r.old.sign_serial.iter().chain([&r.old.auth_serial]) {
        if jpki.certificate(old).await?.status != openmyna_jpki::CertState::Revoked {
            jpki.change_status(old, Action::Revoke(Reason::Superseded))
                .await?;
        }
    }
    store.cards().card(&r.old.serial).await?.ok_or_else(|| {
        ServiceError::from(Refusal::not_found(
            "card.not_found",
            "the renewed card vanished",
        ))
    })
}

/// The address written in the signing certificate of a holder living abroad (the card and
/// certificate carry no foreign address).
pub const OVERSEAS_ADDRESS: &str = "国外";

/// A signing certificate re-issued onto a card (after emigration with the card kept, or
/// after the return): write `state` to the card, then [`complete_signing_reissue`].
pub struct SigningReissue {
    pub state: CardState,
    pub new: openmyna_jpki::CertRecord,
    pub old_serial: Option<String>,
    pub card_serial: String,
}

/// A new signing key and certificate for a card: for an `overseas` card of a resident whose
/// record was removed on emigration, with the address abroad; for an active card of an active
/// resident, with the registry's address. The authentication certificate stays.
pub async fn reissue_signing(
    store: &Store,
    jpki: &Jpki<Store>,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    state: &CardState,
) -> Result<SigningReissue> {
    let card = store.cards().card(&state.serial).await?.ok_or_else(|| {
        ServiceError::from(Refusal::not_found(
            "card.not_found",
            format!("no card {} is recorded", state.serial),
        ))
    })?;
    let resident = Registry::new(store, clock, entropy)
        .get(ResidentId(card.resident_id))
        .await?;
    let mut holder = crate::jpki::holder_of(&resident.basic4);
    match (card.status, resident.status) {
        (CardStatus::Overseas, ResidentStatus::Removed) => {
            holder.address = OVERSEAS_ADDRESS.to_owned()
        }
        (CardStatus::Overseas, ResidentStatus::Active) => {
            return Err(conflict(
                "card.status",
                "the holder is back: record the card's domestic use first",
            ));
        }
        (CardStatus::Active, ResidentStatus::Active) => {}
        _ => {
            return Err(conflict(
                "card.status",
                "a signing certificate is re-issued only for an active or overseas card",
            ));
        }
    }
    let expiry = NaiveDate::parse_from_str(&card.expiry, "%Y-%m-%d")
        .map_err(|e| ServiceError::internal("issuance", e))?;
    if clock.today() >= expiry {
        return Err(conflict("card.expired", "the card has expired"));
    }
    let mut next = state.clone();
    let spki = personalize::regenerate_signing_key(&mut next)?;
    let new = jpki
        .issue_signing(
            resident.id.0,
            &holder,
            &spki,
            expiry,
            Some(card.serial.clone()),
        )
        .await?;
    if let Err(e) = personalize::install_signing_certificate(&mut next, &new.der) {
        revoke_unhanded(jpki, &new.serial).await;
        return Err(e.into());
    }
    Ok(SigningReissue {
        state: next,
        new,
        old_serial: card.sign_serial.clone(),
        card_serial: card.serial,
    })
}

/// After the card is written: the record follows the new signing certificate; the old one is
/// revoked (superseded) if it is not already.
pub async fn complete_signing_reissue(
    store: &Store,
    jpki: &Jpki<Store>,
    clock: &dyn Clock,
    r: &SigningReissue,
    actor: &str,
) -> Result<CardRecord> {
    store
        .cards()
        .set_card_certificates(
            &r.card_serial,
            None,
            Some(&r.new.serial),
            &clock.now(),
            "signing_reissued",
            actor,
            &format!("new signing certificate {}", r.new.serial),
        )
        .await?;
    if let Some(old) = &r.old_serial
        && jpki.certificate(old).await?.status != openmyna_jpki::CertState::Revoked
    {
        jpki.change_status(old, Action::Revoke(Reason::Superseded))
            .await?;
    }
    store.cards().card(&r.card_serial).await?.ok_or_else(|| {
        ServiceError::from(Refusal::not_found("card.not_found", "the card vanished"))
    })
}
