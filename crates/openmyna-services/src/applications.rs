//! Card applications: the municipality issues a 交付申請書 (its 申請書ID), the resident applies
//! through a channel with it (or municipal staff take the application on site, identity
//! checked, PINs chosen), the municipality reviews, manufactures, and hands the card over at
//! the window — the resident setting the PINs — or mails it (本人限定受取郵便) when identity was
//! verified at intake, for the applicant to receive with the envelope's code.
//!
//! The rules (the state machine, the photo and identity-document checks, the 申請書ID) are in
//! `openmyna-applications`; the phases of making a card in [`crate::issuance`]. A manufactured
//! card waits in [`Services::card_dir`] until it is handed over or received, then is forgotten.

use base64::Engine;
use openmyna_applications::{
    Channel, FormId, Status, Step, check_identity_document, check_photo, transition,
};
use openmyna_card::KeyId;
use openmyna_cardio::CardFile;
use openmyna_core::{Actor, IntoRefusal, Refusal};
use openmyna_store::card_applications::{
    ApplicationCount, ApplicationRecord, NewApplication, StatusChange,
};

use crate::issuance::{self, CheckedPins, Manufactured, Pins};
use crate::{Result, ServiceError, Services};

const PIN_CONTEXT: &str = "card-application-pins";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// An application as its applicant submits it (not on site).
pub struct Application<'a> {
    /// The 申請書ID from the 交付申請書 (23 digits; hyphens and spaces ignored).
    pub form_id: &'a str,
    /// smartphone, pc, photo_booth or mail.
    pub channel: &'a str,
    /// For notices (required for smartphone and PC applications).
    pub email: Option<&'a str>,
    /// The face photo, base64 of a JPEG or PNG.
    pub photo_base64: &'a str,
}

/// An application taken on site by municipal staff (出張申請受付).
pub struct OnSite<'a> {
    pub resident_id: i64,
    /// The document staff checked: one of the accepted identity documents.
    pub identity_document: &'a str,
    /// The face photo, base64 of a JPEG or PNG.
    pub photo_base64: &'a str,
    /// The PINs the applicant chose (kept sealed until the card is made, then forgotten).
    pub pins: Pins<'a>,
}

/// A municipality's decision on an application.
pub enum Decision<'a> {
    Accept,
    /// With the reason the applicant sees.
    Reject(Option<&'a str>),
}

impl<'a> Decision<'a> {
    /// `accept` or `reject` (with its reason).
    pub fn parse(decision: &str, reason: Option<&'a str>) -> Result<Self> {
        match decision {
            "accept" => Ok(Decision::Accept),
            "reject" => Ok(Decision::Reject(reason)),
            _ => Err(
                Refusal::invalid("review.decision", "decision is accept or reject")
                    .with_field("decision")
                    .into(),
            ),
        }
    }
}

/// An application after manufacture: the one-time delivery code is returned once, to the
/// municipality, when the card is mailed.
pub struct Manufacture {
    pub application: ApplicationRecord,
    pub delivery_code: Option<String>,
}

/// A card handed over or received: the card file's bytes (the chip), never kept afterwards.
pub struct Delivery {
    pub application: ApplicationRecord,
    pub card: Vec<u8>,
}

/// The municipality code (5 digits, without the check digit) of a municipality organisation.
pub async fn own_municipality(s: &Services, org_id: i64) -> Result<String> {
    let code = s
        .store
        .auth()
        .organisation(org_id)
        .await?
        .and_then(|o| o.code)
        .ok_or_else(|| {
            Refusal::forbidden(
                "organisation.no_code",
                "this municipality organisation has no municipality code",
            )
        })?;
    Ok(code.chars().take(5).collect())
}

fn not_found(id: i64) -> ServiceError {
    Refusal::not_found("application.not_found", format!("no application {id}")).into()
}

/// An application by id.
pub async fn load(s: &Services, id: i64) -> Result<ApplicationRecord> {
    s.store
        .applications()
        .application(id)
        .await?
        .ok_or_else(|| not_found(id))
}

/// An application of the caller's municipality (another municipality's is "not found").
async fn load_own(s: &Services, org_id: i64, id: i64) -> Result<ApplicationRecord> {
    let own = own_municipality(s, org_id).await?;
    let a = load(s, id).await?;
    if !a.municipality_code.starts_with(&own) {
        return Err(not_found(id));
    }
    Ok(a)
}

fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn decode_photo(b64: &str) -> Result<Vec<u8>> {
    B64.decode(b64.trim()).map_err(|_| {
        Refusal::invalid(
            "photo.base64",
            "photo must be the base64 of a JPEG or PNG file",
        )
        .with_field("photo")
        .into()
    })
}

fn with_field<E: Into<ServiceError>>(field: &'static str) -> impl FnOnce(E) -> ServiceError {
    move |e| e.into().with_field(field)
}

/// Issues a 交付申請書 to an active resident (mailed; its QR code carries the 申請書ID).
pub async fn issue_form(s: &Services, resident_id: i64) -> Result<FormId> {
    s.active_resident(resident_id).await?;
    new_form(s, resident_id).await
}

async fn new_form(s: &Services, resident_id: i64) -> Result<FormId> {
    let mut digits = [0u8; 22];
    s.entropy.fill(&mut digits);
    let form = FormId::from_body(&digits);
    s.store
        .applications()
        .insert_application_form(form.as_str(), resident_id, &s.clock.now())
        .await?;
    Ok(form)
}

/// An application from the resident (or a photo booth, or the mail-processing centre for
/// paper forms). A rejected application is submitted again the same way.
pub async fn apply(s: &Services, req: &Application<'_>) -> Result<ApplicationRecord> {
    let channel = Channel::parse(req.channel)
        .filter(|c| *c != Channel::OnSite)
        .ok_or_else(|| {
            Refusal::invalid(
                "channel.unknown",
                "channel must be smartphone, pc, photo_booth or mail",
            )
            .with_field("channel")
        })?;
    let form = FormId::parse(req.form_id).map_err(with_field("form_id"))?;
    let resident_id = s
        .store
        .applications()
        .application_form(form.as_str())
        .await?
        .ok_or_else(|| {
            Refusal::invalid(
                "form_id.unknown",
                "no 交付申請書 was issued with this application ID",
            )
            .with_field("form_id")
        })?;
    let email = match (channel.needs_email(), req.email.map(str::trim)) {
        (true, Some(e))
            if e.contains('@') && e.len() <= 254 && !e.contains(char::is_whitespace) =>
        {
            Some(e)
        }
        (true, _) => {
            return Err(Refusal::invalid(
                "email.invalid",
                "an e-mail address is required for online applications",
            )
            .with_field("email")
            .into());
        }
        (false, _) => None,
    };
    let photo = decode_photo(req.photo_base64)?;
    let info = check_photo(&photo).map_err(with_field("photo"))?;
    let resident = s.active_resident(resident_id).await?;
    let new = NewApplication {
        form_id: form.as_str(),
        resident_id,
        municipality_code: resident.basic4.address.municipality_code.as_str(),
        channel,
        email,
        photo: &photo,
        photo_mime: info.mime,
        photo_width: i64::from(info.width),
        photo_height: i64::from(info.height),
        identity_document: None,
        pins_sealed: None,
        at: s.clock.now(),
        actor: channel.as_str(),
    };
    let id = match s
        .store
        .applications()
        .application_by_form(form.as_str())
        .await?
    {
        None => s.store.applications().insert_application(&new).await?,
        Some(a) => {
            transition(a.status, Step::Resubmit).map_err(|_| {
                Refusal::refused(
                    "application.exists",
                    format!(
                        "an application with this ID is already {}",
                        a.status.as_str()
                    ),
                )
            })?;
            if !s
                .store
                .applications()
                .resubmit_application(a.id, &new)
                .await?
            {
                return Err(concurrent());
            }
            a.id
        }
    };
    load(s, id).await
}

fn concurrent() -> ServiceError {
    Refusal::refused(
        "application.concurrent",
        "the application changed meanwhile; try again",
    )
    .into()
}

/// Takes an application on site, identity verified by the staff of `actor`'s municipality;
/// the card will be mailed with the PINs chosen here. The campaigns' on-site sessions take
/// the residents of `only_municipality` only.
pub async fn take_on_site(
    s: &Services,
    actor: &Actor,
    req: &OnSite<'_>,
    only_municipality: Option<&str>,
) -> Result<ApplicationRecord> {
    check_identity_document(req.identity_document).map_err(with_field("identity_document"))?;
    let photo = decode_photo(req.photo_base64)?;
    let info = check_photo(&photo).map_err(with_field("photo"))?;
    let resident = s.active_resident(req.resident_id).await?;
    if let Some(m) = only_municipality
        && !resident
            .basic4
            .address
            .municipality_code
            .as_str()
            .starts_with(m)
    {
        return Err(Refusal::refused(
            "session.other_municipality",
            "this resident lives in another municipality; they apply there",
        )
        .into());
    }
    let pins = issuance::check_pins(
        issuance::with_signing(&resident, s.clock.today()),
        &req.pins,
    )?;
    let sealed = s.store.keys().seal(
        PIN_CONTEXT,
        serde_json::json!({"auth": pins.auth, "sign": pins.sign, "assist": pins.assist, "juki": pins.juki})
            .to_string()
            .as_bytes(),
    )?;
    let form = new_form(s, req.resident_id).await?;
    let id = s
        .store
        .applications()
        .insert_application(&NewApplication {
            form_id: form.as_str(),
            resident_id: req.resident_id,
            municipality_code: resident.basic4.address.municipality_code.as_str(),
            channel: Channel::OnSite,
            email: None,
            photo: &photo,
            photo_mime: info.mime,
            photo_width: i64::from(info.width),
            photo_height: i64::from(info.height),
            identity_document: Some(req.identity_document),
            pins_sealed: Some(&sealed),
            at: s.clock.now(),
            actor: &actor.org_name,
        })
        .await?;
    load(s, id).await
}

/// The status of an application, for the applicant, who proves it is theirs with the
/// 申請書ID (anything else is "not found").
pub async fn for_applicant(s: &Services, id: i64, form_id: &str) -> Result<ApplicationRecord> {
    let a = load(s, id).await?;
    if !same_secret(&a.form_id, &form_id.replace(['-', ' '], "")) {
        return Err(not_found(id));
    }
    Ok(a)
}

/// The applications of the caller's municipality, optionally with one status.
pub async fn list(
    s: &Services,
    org_id: i64,
    status: Option<&str>,
) -> Result<Vec<ApplicationRecord>> {
    let own = own_municipality(s, org_id).await?;
    // An unknown status matches nothing, as a filter would.
    let status = match status {
        Some(text) => match Status::parse(text) {
            Some(st) => Some(st),
            None => return Ok(Vec::new()),
        },
        None => None,
    };
    Ok(s.store
        .applications()
        .list(None, status)
        .await?
        .into_iter()
        .filter(|a| a.municipality_code.starts_with(&own))
        .collect())
}

/// Counts per municipality, channel and status.
pub async fn stats(s: &Services) -> Result<Vec<ApplicationCount>> {
    Ok(s.store.applications().application_counts().await?)
}

/// One step of the state machine, written only if the application is still as read.
async fn step(
    s: &Services,
    a: &ApplicationRecord,
    step: Step,
    actor: &str,
    detail: &str,
    change: &StatusChange<'_>,
) -> Result<Status> {
    let to = transition(a.status, step)?;
    if !s
        .store
        .applications()
        .set_application_status(a.id, a.status, to, &s.clock.now(), actor, detail, change)
        .await?
    {
        return Err(concurrent());
    }
    Ok(to)
}

/// Reviews an application of the caller's municipality: accept, or reject with a reason of
/// 1–200 characters (PINs chosen at an on-site intake are then forgotten).
pub async fn review(
    s: &Services,
    actor: &Actor,
    id: i64,
    decision: Decision<'_>,
) -> Result<ApplicationRecord> {
    let a = load_own(s, actor.org_id, id).await?;
    match decision {
        Decision::Accept => {
            step(
                s,
                &a,
                Step::Accept,
                &actor.org_name,
                "accepted",
                &StatusChange::default(),
            )
            .await?;
        }
        Decision::Reject(reason) => {
            let reason = reason
                .map(str::trim)
                .filter(|r| !r.is_empty() && r.chars().count() <= 200)
                .ok_or_else(|| {
                    Refusal::invalid(
                        "review.reason",
                        "a rejection needs a reason of 1-200 characters",
                    )
                    .with_field("reason")
                })?;
            step(
                s,
                &a,
                Step::Reject,
                &actor.org_name,
                reason,
                &StatusChange {
                    reason: Some(reason),
                    forget_pins: true,
                    ..Default::default()
                },
            )
            .await?;
        }
    }
    load(s, id).await
}

fn card_path(s: &Services, id: i64) -> std::path::PathBuf {
    s.card_dir.join(format!("application-{id}.json"))
}

fn file_error(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal("applications", e)
}

fn ensure_card_dir(s: &Services) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    use std::os::unix::fs::PermissionsExt;
    if !s.card_dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&s.card_dir)
            .map_err(file_error)?;
    }
    std::fs::set_permissions(&s.card_dir, std::fs::Permissions::from_mode(0o700))
        .map_err(file_error)
}

fn manufactured_from(state: openmyna_card::CardState) -> Result<Manufactured> {
    let key = |k: KeyId| -> Result<Option<Vec<u8>>> {
        Ok(state.keys.get(&k).map(|p| p.public_spki()).transpose()?)
    };
    let auth_spki =
        key(KeyId::Auth)?.ok_or_else(|| file_error("the card has no authentication key"))?;
    let sign_spki = key(KeyId::Sign)?;
    let expiry =
        chrono::NaiveDate::parse_from_str(&state.expiry, "%Y-%m-%d").map_err(file_error)?;
    Ok(Manufactured {
        serial: state.serial.clone(),
        state,
        expiry,
        auth_spki,
        sign_spki,
    })
}

/// Activates the card waiting for application `a`, writes it, records it; on failure the
/// certificates are revoked again.
async fn activate_pending(
    s: &Services,
    a: &ApplicationRecord,
    pins: &CheckedPins,
    actor: &str,
) -> Result<Manufactured> {
    let file = CardFile::open(card_path(s, a.id)).map_err(file_error)?;
    let mut card = manufactured_from(file.load().map_err(file_error)?)?;
    let resident = s.active_resident(a.resident_id).await?;
    let issued = issuance::activate(&s.jpki, &resident, &mut card, pins).await?;
    let recorded = match file.save(&card.state) {
        Ok(()) => {
            issuance::record(&s.store, &s.jpki, s.clock.as_ref(), &card, &issued, actor).await
        }
        Err(e) => Err(e.into()),
    };
    if let Err(e) = recorded {
        issuance::revoke_unissued(&s.jpki, &issued).await;
        return Err(e);
    }
    Ok(card)
}

fn remove_waiting_card(path: &std::path::Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::error!(error = %e, "could not remove a card file after a failed manufacture");
    }
}

/// The PINs chosen at an on-site intake, opened and checked again against the card (the
/// applicant may have turned 15 since the intake).
async fn intake_pins(s: &Services, id: i64, with_signing: bool) -> Result<CheckedPins> {
    let sealed = s
        .store
        .applications()
        .application_pins(id)
        .await?
        .ok_or_else(|| {
            Refusal::refused(
                "application.pins",
                "the PINs chosen at intake are no longer held",
            )
        })?;
    let pins: serde_json::Value =
        serde_json::from_slice(&s.store.keys().open(PIN_CONTEXT, &sealed)?).map_err(file_error)?;
    let text = |k: &str| pins.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let (auth, sign, assist, juki) = (text("auth"), text("sign"), text("assist"), text("juki"));
    issuance::check_pins(
        with_signing,
        &Pins {
            auth: auth.as_deref().unwrap_or_default(),
            sign: sign.as_deref(),
            assist: assist.as_deref(),
            juki: juki.as_deref(),
        },
    )
}

/// Manufactures the card of an accepted application: keys generated on the card and its data
/// written. Then a 交付通知書 goes to the applicant — or, when identity was verified at intake,
/// the card is activated with the PINs chosen there and mailed, with a one-time delivery code.
pub async fn manufacture(s: &Services, actor: &Actor, id: i64) -> Result<Manufacture> {
    let a = load_own(s, actor.org_id, id).await?;
    let verified = a.identity_document.is_some();
    transition(
        a.status,
        Step::Manufacture {
            identity_verified_at_intake: verified,
        },
    )?;
    let resident = s.active_resident(a.resident_id).await?;
    let card = issuance::manufacture(
        &s.store,
        s.clock.as_ref(),
        s.entropy.as_ref(),
        &resident,
        None,
    )
    .await?;
    ensure_card_dir(s)?;
    let path = card_path(s, id);
    // A card left by an earlier attempt that failed before the status changed has no
    // certificates or PINs; it is replaced.
    if path.exists() {
        std::fs::remove_file(&path).map_err(file_error)?;
    }
    CardFile::create(&path, &card.state).map_err(file_error)?;
    let today = s.clock.today();
    if !verified {
        let deadline = today
            .checked_add_months(chrono::Months::new(3))
            .unwrap_or(today);
        let notice = serde_json::json!({
            "kind": "交付通知書",
            "card_serial": card.serial,
            "come_to": format!("the card window of municipality {}", a.municipality_code),
            "by": deadline.to_string(),
            "bring": ["this notice", "an identity document (driver_license, passport, residence_card, …)", "the notification card (通知カード) if you have one"],
        });
        step(
            s,
            &a,
            Step::Manufacture {
                identity_verified_at_intake: false,
            },
            &actor.org_name,
            "manufactured; 交付通知書 sent",
            &StatusChange {
                card_serial: Some(&card.serial),
                notice: Some(&notice.to_string()),
                ..Default::default()
            },
        )
        .await?;
        return Ok(Manufacture {
            application: load(s, id).await?,
            delivery_code: None,
        });
    }
    let activated = match intake_pins(s, id, card.sign_spki.is_some()).await {
        Ok(pins) => activate_pending(s, &a, &pins, &actor.org_name).await,
        Err(e) => Err(e),
    };
    let card = activated.inspect_err(|_| remove_waiting_card(&path))?;
    let notice = serde_json::json!({"kind": "本人限定受取郵便", "card_serial": card.serial, "mailed_on": today.to_string()});
    let mut raw = [0u8; 10];
    s.entropy.fill(&mut raw);
    let code: String = raw.iter().map(|b| format!("{:02}", b % 100)).collect();
    let code_hash = openmyna_store::crypto::sha256_hex(code.as_bytes());
    step(
        s,
        &a,
        Step::Manufacture {
            identity_verified_at_intake: true,
        },
        &actor.org_name,
        "manufactured, activated with the PINs chosen at intake, mailed",
        &StatusChange {
            card_serial: Some(&card.serial),
            notice: Some(&notice.to_string()),
            forget_pins: true,
            delivery_code_sha256: Some(&code_hash),
            ..Default::default()
        },
    )
    .await?;
    Ok(Manufacture {
        application: load(s, id).await?,
        delivery_code: Some(code),
    })
}

fn read_card(s: &Services, id: i64) -> Result<Vec<u8>> {
    std::fs::read(card_path(s, id)).map_err(file_error)
}

fn forget_card(s: &Services, id: i64) {
    if let Err(e) = std::fs::remove_file(card_path(s, id)) {
        tracing::error!(application = id, error = %e, "could not remove a delivered card file");
    }
    if let Err(e) = std::fs::File::open(&s.card_dir).and_then(|d| d.sync_all()) {
        tracing::warn!(error = %e, "could not sync the card directory");
    }
}

/// Hands the card over at the window: identity checked, the resident sets the PINs, both
/// certificates are issued onto the card, earlier cards of the resident are replaced. One
/// handover at a time: the card is claimed before anything is issued, and released again if
/// anything fails (a retry activates it anew).
pub async fn handover(
    s: &Services,
    actor: &Actor,
    id: i64,
    identity_document: &str,
    pins: &Pins<'_>,
) -> Result<Delivery> {
    let a = load_own(s, actor.org_id, id).await?;
    transition(a.status, Step::Claim)?;
    check_identity_document(identity_document).map_err(with_field("identity_document"))?;
    let file = CardFile::open(card_path(s, id)).map_err(file_error)?;
    let with_signing = file
        .load()
        .map_err(file_error)?
        .keys
        .contains_key(&KeyId::Sign);
    let pins = issuance::check_pins(with_signing, pins)?;
    step(
        s,
        &a,
        Step::Claim,
        &actor.org_name,
        "handover started",
        &StatusChange::default(),
    )
    .await?;
    let claimed = load(s, id).await?;
    let handed = async {
        activate_pending(s, &claimed, &pins, &actor.org_name).await?;
        let card = read_card(s, id)?;
        step(
            s,
            &claimed,
            Step::HandOver,
            &actor.org_name,
            &format!("handed over at the window; identity checked with {identity_document}"),
            &StatusChange::default(),
        )
        .await?;
        Ok::<_, ServiceError>(card)
    }
    .await;
    let card = match handed {
        Ok(card) => card,
        Err(e) => {
            let (code, e) = match e.into_refusal() {
                Ok(r) => (r.code().to_owned(), ServiceError::Refused(r)),
                Err(e) => ("internal".to_owned(), e),
            };
            if let Err(back) = step(
                s,
                &claimed,
                Step::Release,
                &actor.org_name,
                &format!("handover failed: {code}"),
                &StatusChange::default(),
            )
            .await
            {
                tracing::error!(application = id, error = %back, "could not release an application after a failed handover");
            }
            return Err(e);
        }
    };
    forget_card(s, id);
    Ok(Delivery {
        application: load(s, id).await?,
        card,
    })
}

/// The mailed card received by the applicant (本人限定受取郵便), who shows the 申請書ID given
/// at intake and the one-time code printed in the envelope.
pub async fn receive(
    s: &Services,
    id: i64,
    form_id: &str,
    delivery_code: &str,
) -> Result<Delivery> {
    let a = load(s, id).await?;
    let stored = s
        .store
        .applications()
        .application_delivery_code(id)
        .await?
        .unwrap_or_default();
    if !same_secret(&a.form_id, &form_id.replace(['-', ' '], ""))
        || !same_secret(
            &stored,
            &openmyna_store::crypto::sha256_hex(delivery_code.trim().as_bytes()),
        )
    {
        return Err(Refusal::not_found(
            "application.not_found",
            format!("no application {id} with this ID and delivery code"),
        )
        .into());
    }
    transition(a.status, Step::Receive)?;
    let card = read_card(s, id)?;
    step(
        s,
        &a,
        Step::Receive,
        "本人限定受取郵便",
        "received by the applicant",
        &StatusChange::default(),
    )
    .await?;
    forget_card(s, id);
    Ok(Delivery {
        application: load(s, id).await?,
        card,
    })
}
