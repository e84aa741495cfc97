//! The citizen portal (マイナポータル): a card login opens a session; the citizen sees their
//! own data, their insurance and 利用登録, their medical history and medical-expense notices,
//! the consents they gave (and withdraws them), their access log with its chain checked and
//! its head signed, their public-money account, and their phones' certificates. The 24-hour
//! hotline suspends and releases a phone's certificates.
//!
//! The rules (sessions, the account, the phone request, the notices' layout) are in
//! `openmyna-portal`; the card login is the eligibility service's challenge and
//! authentication, with the portal as the challenge's holder.

use chrono::Datelike;
use openmyna_core::{Actor, Refusal, RefusalKind, Timestamp};
use openmyna_eligibility::challenge::Challenge;
use openmyna_eligibility::medical::MedicalData;
use openmyna_eligibility::{
    CardProof, EligibilityStore, MedicalKind, PORTAL_HOLDER, RecordView, Registration,
    RegistrationChannel,
};
use openmyna_fourinfo::Consent;
use openmyna_jpki::{Action, JpkiError, Lookup, NotCurrent, Reason, RootKind, Serial, cms};
use openmyna_portal::account::AccountInput;
use openmyna_portal::expenses::{NoticeHeader, NoticeLine, facility_kind_ja};
use openmyna_portal::pairing::{self, Pairing, PairingCode, PairingState};
pub use openmyna_portal::phone::PhoneState;
use openmyna_portal::phone::{PhoneRequest, REQUEST_MAX_AGE_MINUTES};
use openmyna_portal::session::{Ended, MAX_HOURS, Session};
use openmyna_registry::{Resident, ResidentId};
use openmyna_store::access_log::{AccessEntry, ChainCheck};
use openmyna_store::crypto::sha256_hex;
use openmyna_store::eligibility::FacilityConsent;
use openmyna_store::portal::{AccountChange, NewPhone, Phone};

use crate::{Result, ServiceError, Services};

/// A handoff link lives this long.
pub const HANDOFF_SECONDS: i64 = 120;

/// A citizen with a live session.
#[derive(Clone)]
pub struct Citizen {
    pub resident_id: i64,
    /// The authentication certificate that opened the session.
    pub auth_serial: String,
    token_hash: String,
}

/// A session opened: the token for the cookie, and when it ends at the latest.
pub struct Opened {
    pub token: String,
    pub name: String,
    pub expires_at: Timestamp,
}

/// The citizen of a session token, if the session is live (and marks it used).
pub async fn citizen(s: &Services, token: &str) -> Result<Citizen> {
    let token_hash = sha256_hex(token.as_bytes());
    let session = s
        .store
        .portal()
        .portal_session(&token_hash)
        .await?
        .ok_or_else(|| {
            Refusal::unauthenticated("session.unknown", "this session is not known; log in again")
        })?;
    let now = s.clock.now();
    if let Err(why) = session.check(now) {
        let m = match why {
            Ended::LoggedOut => "you logged out of this session",
            Ended::Idle => "the session ended after 30 minutes without use",
            Ended::TooOld => "the session ended 8 hours after the login",
        };
        return Err(Refusal::unauthenticated("session.ended", format!("{m}; log in again")).into());
    }
    if session.needs_touch(now) {
        s.store
            .portal()
            .touch_portal_session(&token_hash, &now)
            .await?;
    }
    Ok(Citizen {
        resident_id: session.resident_id,
        auth_serial: session.auth_serial,
        token_hash,
    })
}

/// Opens a session for `resident_id` (after a card login or a handoff); returns its token.
async fn open_session(s: &Services, resident_id: i64, auth_serial: &str) -> Result<String> {
    let now = s.clock.now();
    let mut token = [0u8; 32];
    s.entropy.fill(&mut token);
    let token: String = token.iter().map(|b| format!("{b:02x}")).collect();
    s.store
        .portal()
        .create_portal_session(
            &sha256_hex(token.as_bytes()),
            &Session {
                resident_id,
                auth_serial: auth_serial.to_owned(),
                created_at: now,
                last_seen: now,
                ended_at: None,
            },
        )
        .await?;
    Ok(token)
}

/// A login challenge: the card signs its bytes with the authentication key (after the PIN).
pub fn challenge(s: &Services) -> Result<Challenge> {
    Ok(s.eligibility().portal_challenge()?)
}

/// A card login: the certificate must be one this CA issued, valid and neither revoked nor
/// suspended, and the signature over the portal's challenge right.
pub async fn login(s: &Services, proof: &CardProof<'_>) -> Result<Opened> {
    let record = s
        .eligibility()
        .authenticate_for(PORTAL_HOLDER, proof)
        .await?;
    let resident = s.registry().get(ResidentId(record.resident_id)).await?;
    let token = open_session(s, record.resident_id, &record.serial).await?;
    Ok(Opened {
        token,
        name: resident.basic4.name.name.clone(),
        expires_at: s.clock.now() + chrono::Duration::hours(MAX_HOURS),
    })
}

/// Ends the citizen's session.
pub async fn logout(s: &Services, c: &Citizen) -> Result<()> {
    s.store
        .portal()
        .end_portal_session(&c.token_hash, &s.clock.now())
        .await?;
    Ok(())
}

/// Ends the session of a token, if there is one (the page's logout needs no live session).
pub async fn end_session(s: &Services, token: &str) -> Result<()> {
    let hash = sha256_hex(token.as_bytes());
    s.store
        .portal()
        .end_portal_session(&hash, &s.clock.now())
        .await?;
    Ok(())
}

/// A one-time login link's token for a browser (the card read elsewhere: `openmyna portal
/// login`, or a phone), and when it expires.
pub async fn handoff(s: &Services, c: &Citizen) -> Result<(String, Timestamp)> {
    let token = open_session(s, c.resident_id, &c.auth_serial).await?;
    Ok((
        token,
        s.clock.now() + chrono::Duration::seconds(HANDOFF_SECONDS),
    ))
}

/// Redeems a handoff token: ends its session and opens a fresh one for the browser. Only the
/// request that ends the handoff session gets the new one.
pub async fn redeem_handoff(s: &Services, token: &str) -> Result<String> {
    let bad = |why: &str| {
        ServiceError::from(Refusal::unauthenticated(
            "handoff.invalid",
            format!("{why}; log in again"),
        ))
    };
    let used = "this login link has been used already (a link logs in one browser, once)";
    let hash = sha256_hex(token.as_bytes());
    let session = s
        .store
        .portal()
        .portal_session(&hash)
        .await?
        .ok_or_else(|| bad("this login link is not known here"))?;
    let now = s.clock.now();
    if session.ended_at.is_some() {
        return Err(bad(used));
    }
    if now - session.created_at > chrono::Duration::seconds(HANDOFF_SECONDS) {
        return Err(bad(
            "this login link has expired (a link works for two minutes after it was made)",
        ));
    }
    if !s.store.portal().end_portal_session(&hash, &now).await? {
        return Err(bad(used));
    }
    open_session(s, session.resident_id, &session.auth_serial).await
}

/// A browser pairing started: the secret for the browser's cookie, and the code to show.
pub struct PairingStarted {
    pub secret: String,
    pub code: PairingCode,
    pub expires_at: Timestamp,
}

/// A browser's pairing, as its login page shows it.
pub enum BrowserPairing {
    /// Waiting for the card holder's approval: show the code until it expires.
    Waiting {
        code: PairingCode,
        expires_at: Timestamp,
    },
    /// Approved: the browser's own session is open.
    LoggedIn(Opened),
    /// The browser logged in with it already.
    Used,
    /// Not approved in time.
    Expired,
    /// No such pairing (never started here, or swept a day after it expired).
    Unknown,
}

/// A pairing approved: which browser, and when it asked.
pub struct PairingApproved {
    pub browser: String,
    pub requested_at: Timestamp,
}

/// The code a pairing secret shows: derived from the secret, so that the browser's cookie
/// holds one value and the code is never stored (only its hash, to look it up).
fn code_of(secret: &str) -> PairingCode {
    let h = sha256_hex(format!("openmyna portal pairing code\0{secret}").as_bytes());
    let mut bytes = [0u8; 5];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(h.get(2 * i..2 * i + 2).unwrap_or("00"), 16).unwrap_or(0);
    }
    PairingCode::from_random(bytes)
}

fn code_hash(code: &PairingCode) -> String {
    sha256_hex(code.as_str().as_bytes())
}

/// Starts a browser pairing (the login page's 「このブラウザでログイン」): a secret for the
/// browser and the code it shows for [`pairing::TTL_SECONDS`].
pub async fn start_pairing(s: &Services, user_agent: Option<&str>) -> Result<PairingStarted> {
    let now = s.clock.now();
    let p = Pairing {
        browser: pairing::browser_description(user_agent),
        created_at: now,
        approved_by: None,
        redeemed_at: None,
    };
    // A code is 40 bits: a clash with another pairing is rare, and drawn again.
    for _ in 0..4 {
        let mut secret = [0u8; 32];
        s.entropy.fill(&mut secret);
        let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let code = code_of(&secret);
        let stored = s
            .store
            .portal()
            .create_pairing(&sha256_hex(secret.as_bytes()), &code_hash(&code), &p)
            .await?;
        if stored {
            return Ok(PairingStarted {
                secret,
                code,
                expires_at: p.expires_at(),
            });
        }
    }
    Err(ServiceError::internal(
        "portal",
        "no free pairing code after four draws",
    ))
}

/// Where the browser holding `secret` stands; once approved, takes the pairing (once) and
/// opens the browser's session.
pub async fn browser_pairing(s: &Services, secret: &str) -> Result<BrowserPairing> {
    let hash = sha256_hex(secret.as_bytes());
    let Some(p) = s.store.portal().pairing_by_secret(&hash).await? else {
        return Ok(BrowserPairing::Unknown);
    };
    let now = s.clock.now();
    Ok(match p.state(now) {
        PairingState::Waiting { expires_at } => BrowserPairing::Waiting {
            code: code_of(secret),
            expires_at,
        },
        PairingState::Approved {
            resident_id,
            auth_serial,
        } => {
            if !s.store.portal().redeem_pairing(&hash, &now).await? {
                return Ok(BrowserPairing::Used);
            }
            let resident = s.registry().get(ResidentId(resident_id)).await?;
            BrowserPairing::LoggedIn(Opened {
                token: open_session(s, resident_id, &auth_serial).await?,
                name: resident.basic4.name.name.clone(),
                expires_at: now + chrono::Duration::hours(MAX_HOURS),
            })
        }
        PairingState::Used => BrowserPairing::Used,
        PairingState::Expired => BrowserPairing::Expired,
    })
}

/// What the approval page shows about a code before the card holder approves it: the browser
/// that shows it and when it asked, if the code still waits (none otherwise).
pub async fn waiting_pairing(s: &Services, code: &str) -> Result<Option<PairingApproved>> {
    let Ok(code) = PairingCode::parse(code) else {
        return Ok(None);
    };
    let Some(p) = s.store.portal().pairing_by_code(&code_hash(&code)).await? else {
        return Ok(None);
    };
    Ok(match p.state(s.clock.now()) {
        PairingState::Waiting { .. } => Some(PairingApproved {
            browser: p.browser,
            requested_at: p.created_at,
        }),
        _ => None,
    })
}

/// The card holder approves the code a browser shows: that browser logs in as them (with the
/// authentication certificate of their own session).
pub async fn approve_pairing(s: &Services, c: &Citizen, code: &str) -> Result<PairingApproved> {
    let code = PairingCode::parse(code)?;
    let hash = code_hash(&code);
    let p = s
        .store
        .portal()
        .pairing_by_code(&hash)
        .await?
        .ok_or_else(|| {
            Refusal::not_found(
                "pairing.unknown",
                "no browser shows this login code; check it, or show a new one in the browser",
            )
            .with_field("code")
        })?;
    let now = s.clock.now();
    let used = || {
        ServiceError::from(Refusal::refused(
            "pairing.used",
            "this login code was approved already; show a new one in the browser",
        ))
    };
    match p.state(now) {
        PairingState::Waiting { .. } => {
            if !s
                .store
                .portal()
                .approve_pairing(&hash, c.resident_id, &c.auth_serial, &now)
                .await?
            {
                return Err(used());
            }
            Ok(PairingApproved {
                browser: p.browser,
                requested_at: p.created_at,
            })
        }
        PairingState::Approved { .. } | PairingState::Used => Err(used()),
        PairingState::Expired => Err(Refusal::refused(
            "pairing.expired",
            "this login code has expired (a code lives 5 minutes); show a new one in the browser",
        )
        .into()),
    }
}

/// The citizen's registry record (the basic four information, the My Number for masking).
pub async fn me(s: &Services, c: &Citizen) -> Result<Resident> {
    Ok(s.registry().get(ResidentId(c.resident_id)).await?)
}

/// The citizen's health insurance today.
pub struct Insurance {
    /// 利用登録 of the card, if made.
    pub registration: Option<Registration>,
    /// The records valid today (held ones excluded until the insurer corrects them).
    pub records: Vec<RecordView>,
}

/// The citizen's eligibility today and the card's 利用登録.
pub async fn insurance(s: &Services, c: &Citizen) -> Result<Insurance> {
    let today = s.clock.today();
    let records = s
        .eligibility()
        .visible_records(c.resident_id)
        .await?
        .into_iter()
        .filter(|r| r.enrollment.valid_on(today))
        .map(|r| RecordView::of(&r.enrollment, today))
        .collect();
    Ok(Insurance {
        registration: s.store.registration(c.resident_id).await?,
        records,
    })
}

/// 利用登録 from the portal: the card that opened the session becomes usable as a
/// health-insurance card (an earlier registration is kept).
pub async fn register_insurance(s: &Services, c: &Citizen) -> Result<Registration> {
    Ok(s.eligibility()
        .register(c.resident_id, &c.auth_serial, RegistrationChannel::Portal)
        .await?)
}

/// The citizen's own medication, treatment or check-up history of five years.
pub async fn medical(s: &Services, c: &Citizen, kind: &str) -> Result<Vec<MedicalData>> {
    let kind = MedicalKind::parse(kind)?;
    let since = s
        .clock
        .today()
        .checked_sub_months(chrono::Months::new(60))
        .unwrap_or(chrono::NaiveDate::MIN);
    Ok(s.store.medical(c.resident_id, kind, since).await?)
}

/// The consents the citizen gave: to relying parties (signed with the card) and at
/// facilities' readers (still open).
pub struct Consents {
    pub relying_parties: Vec<Consent>,
    pub facilities: Vec<FacilityConsent>,
}

pub async fn consents(s: &Services, c: &Citizen) -> Result<Consents> {
    Ok(Consents {
        relying_parties: s.fourinfo().consents_of_resident(c.resident_id).await?,
        facilities: s
            .store
            .eligibility()
            .facility_consents_of_resident(c.resident_id, &s.clock.now())
            .await?,
    })
}

/// Withdraws a consent the citizen gave to a relying party.
pub async fn withdraw_relying_party(s: &Services, c: &Citizen, id: i64) -> Result<()> {
    let svc = s.fourinfo();
    let consent = svc
        .consents_of_resident(c.resident_id)
        .await?
        .into_iter()
        .find(|x| x.id == id)
        .ok_or_else(|| Refusal::not_found("consent.not_found", "you have no such consent"))?;
    svc.withdraw(&consent, "withdrawn by the resident in the portal")
        .await?;
    Ok(())
}

/// Ends the open consents the citizen gave to one facility.
pub async fn withdraw_facility(s: &Services, c: &Citizen, org_id: i64) -> Result<()> {
    let n = s
        .store
        .eligibility()
        .withdraw_facility_consents(c.resident_id, org_id, &s.clock.now())
        .await?;
    if n == 0 {
        return Err(Refusal::not_found(
            "consent.not_found",
            "you have no open consent with this facility",
        )
        .into());
    }
    Ok(())
}

/// The head of a citizen's access-log chain, signed by this installation.
pub struct SignedHead {
    pub seq: i64,
    pub hash: String,
    pub at: Timestamp,
    /// ECDSA P-256 / SHA-256 signature (DER) over `statement`.
    pub signature: Vec<u8>,
    /// The exact bytes signed.
    pub statement: String,
    /// The log's public key (SPKI DER); the same for every resident.
    pub public_key: Vec<u8>,
}

/// The citizen's access log: entries newest first, the chain recomputed, its head signed.
pub struct AccessLog {
    pub entries: Vec<AccessEntry>,
    pub chain: ChainCheck,
    pub head: SignedHead,
}

const LOG_KEY_META: &str = "access_log.signer";
const LOG_KEY_CONTEXT: &str = "access-log-signer";

async fn log_key(s: &Services) -> Result<openmyna_jpki::SigningKey> {
    use openmyna_jpki::{KeyKind, SigningKey};
    let pkcs8 = s
        .store
        .cards()
        .sealed_secret(LOG_KEY_META, LOG_KEY_CONTEXT, || {
            SigningKey::generate(KeyKind::EcP256)
                .and_then(|k| k.to_pkcs8())
                .map_err(|e| e.to_string())
        })
        .await?;
    Ok(SigningKey::from_pkcs8(KeyKind::EcP256, &pkcs8)?)
}

/// Who saw the citizen's data, when and why, with the hash chain checked and its head signed.
pub async fn access_log(s: &Services, c: &Citizen) -> Result<AccessLog> {
    let (mut entries, chain) = s.store.access().verify_access_chain(c.resident_id).await?;
    entries.reverse();
    let key = log_key(s).await?;
    let at = s.clock.now();
    let statement = format!(
        "openmyna access-log head/1\nresident {}\nseq {}\nhash {}\nat {}\nintact {}",
        c.resident_id,
        chain.head_seq,
        chain.head_hash,
        at.to_rfc3339(),
        chain.intact
    );
    let head = SignedHead {
        seq: chain.head_seq,
        hash: chain.head_hash.clone(),
        at,
        signature: key.sign(statement.as_bytes())?,
        statement,
        public_key: key.spki_der()?,
    };
    Ok(AccessLog {
        entries,
        chain,
        head,
    })
}

pub use openmyna_store::portal::RegisteredAccount;

/// The citizen's public-money account (公金受取口座), if registered.
pub async fn account(s: &Services, c: &Citizen) -> Result<Option<RegisteredAccount>> {
    Ok(s.store.portal().public_money_account(c.resident_id).await?)
}

/// Registers the public-money account from the portal, replacing an earlier one, when the
/// form has no problem (the holder's kana name must be the citizen's own); otherwise every
/// problem at once, one per field in the form's order, and nothing is stored. The portal page
/// shows them all beside their fields.
pub async fn submit_account(
    s: &Services,
    c: &Citizen,
    input: &AccountInput,
) -> Result<std::result::Result<RegisteredAccount, Vec<openmyna_core::Refusal>>> {
    let r = s.registry().get(ResidentId(c.resident_id)).await?;
    let account = match input.check(&r.basic4.name.name_kana) {
        Ok(a) => a,
        Err(problems) => return Ok(Err(problems)),
    };
    let now = s.clock.now();
    s.store
        .portal()
        .set_public_money_account(c.resident_id, &account, "portal", &now)
        .await?;
    tracing::info!(
        bank = account.bank_code.as_str(),
        "public-money account registered"
    );
    Ok(Ok(RegisteredAccount {
        account,
        registered_at: now,
        channel: "portal".into(),
    }))
}

/// [`submit_account`] for the JSON API: the first problem is the refusal.
pub async fn set_account(
    s: &Services,
    c: &Citizen,
    input: &AccountInput,
) -> Result<RegisteredAccount> {
    match submit_account(s, c, input).await? {
        Ok(registered) => Ok(registered),
        Err(problems) => Err(problems
            .into_iter()
            .next()
            .unwrap_or_else(|| {
                openmyna_core::Refusal::invalid("account.invalid", "the account is not valid")
            })
            .into()),
    }
}

/// Every change of the citizen's public-money account.
pub async fn account_history(s: &Services, c: &Citizen) -> Result<Vec<AccountChange>> {
    Ok(s.store
        .portal()
        .public_money_account_history(c.resident_id)
        .await?)
}

/// A phone certified: its record and both certificates (DER).
pub struct PhoneIssued {
    pub phone: Phone,
    pub auth_certificate: Vec<u8>,
    pub sign_certificate: Vec<u8>,
}

/// Certifies a phone: the request (CMS SignedData, DER) must be signed with the citizen's own
/// current signing certificate within 10 minutes. The phone gets an authentication and a
/// signing certificate for its own keys, valid as long as the card's signing certificate; if
/// the phone cannot be recorded, both are revoked again.
pub async fn apply_phone(s: &Services, c: &Citizen, request_der: &[u8]) -> Result<PhoneIssued> {
    let v = cms::verify(request_der).map_err(|e| {
        Refusal::invalid(
            "request.signature",
            format!("the request is not a valid signed document: {e}"),
        )
    })?;
    let serial = Serial::from_der_bytes(v.signer.tbs_certificate.serial_number.as_bytes())?;
    let now = s.clock.now();
    let signer = s
        .jpki
        .current_certificate(
            &serial,
            Some(&v.signer_der),
            RootKind::Sign,
            &now,
            Lookup::Cached,
        )
        .await
        .map_err(|e| {
            Refusal::refused(
                "request.certificate",
                match e {
                    NotCurrent::Unknown | NotCurrent::Differs => {
                        "the request is not signed with a signing certificate this CA issued"
                    }
                    NotCurrent::WrongRoot => {
                        "the request must be signed with the card's signing key (署名用電子証明書)"
                    }
                    NotCurrent::Held | NotCurrent::Revoked | NotCurrent::NotValidNow => {
                        "the signing certificate is revoked, suspended or not valid now"
                    }
                },
            )
        })?;
    if signer.resident_id != c.resident_id {
        return Err(Refusal::forbidden(
            "request.signer",
            "the request is signed by someone other than the logged-in citizen",
        )
        .into());
    }
    let age = now - v.signing_time;
    if age > chrono::Duration::minutes(REQUEST_MAX_AGE_MINUTES)
        || age < -chrono::Duration::minutes(5)
    {
        return Err(Refusal::refused(
            "request.stale",
            "the request was signed more than 10 minutes ago (or in the future); sign it again",
        )
        .into());
    }
    let (r, auth_spki, sign_spki) = PhoneRequest::parse(&v.content)?;
    let resident = s.registry().get(ResidentId(c.resident_id)).await?;
    let holder = crate::jpki::holder_of(&resident.basic4);
    let issued = s
        .jpki
        .issue_card(
            c.resident_id,
            &holder,
            Some(&sign_spki),
            &auth_spki,
            signer.not_after.date_naive(),
            Some(format!("phone:{}", r.device_id)),
        )
        .await?;
    let Some(sign) = issued.signing.as_ref() else {
        crate::issuance::revoke_unissued(&s.jpki, &issued).await;
        return Err(ServiceError::internal(
            "phone issuance",
            "no signing certificate was issued",
        ));
    };
    let recorded = s
        .store
        .portal()
        .insert_phone(&NewPhone {
            resident_id: c.resident_id,
            device_id: &r.device_id,
            model: r.model.trim(),
            auth_serial: &issued.authentication.serial,
            sign_serial: &sign.serial,
            at: &now,
            actor: "the holder, in the portal",
        })
        .await;
    match recorded {
        Ok(phone) => Ok(PhoneIssued {
            phone,
            auth_certificate: issued.authentication.der.clone(),
            sign_certificate: sign.der.clone(),
        }),
        Err(e) => {
            // The certificates are not handed out: revoke them.
            crate::issuance::revoke_unissued(&s.jpki, &issued).await;
            Err(e.into())
        }
    }
}

/// The citizen's phones and their states.
pub async fn phones(s: &Services, c: &Citizen) -> Result<Vec<Phone>> {
    Ok(s.store.portal().phones_of_resident(c.resident_id).await?)
}

fn note_of(n: &str) -> Result<String> {
    let n = n.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(
            Refusal::invalid("note.length", "note must be 1-200 characters")
                .with_field("note")
                .into(),
        );
    }
    Ok(n.to_owned())
}

/// Moves both certificates of a phone and then its state to `to`.
async fn move_phone(
    s: &Services,
    phone: &Phone,
    to: PhoneState,
    actor: &str,
    note: &str,
) -> Result<()> {
    let from = phone.status;
    if !from.may_become(to) {
        return Err(Refusal::refused(
            "phone.state",
            format!(
                "the phone is {}; it cannot become {}",
                from.as_str(),
                to.as_str()
            ),
        )
        .into());
    }
    let action = match to {
        PhoneState::Revoked => Action::Revoke(Reason::CessationOfOperation),
        PhoneState::Suspended => Action::Hold,
        PhoneState::Active => Action::Release,
    };
    // The certificates first: what the phone may do changes at once (OCSP included).
    for serial in [&phone.auth_serial, &phone.sign_serial] {
        match s.jpki.change_status(serial, action).await {
            Ok(_) => {}
            // Revoking a suspended certificate, or one already revoked, is fine.
            Err(JpkiError::Refusal(r))
                if to == PhoneState::Revoked && r.kind() == RefusalKind::Refused => {}
            Err(e) => return Err(e.into()),
        }
    }
    if !s
        .store
        .portal()
        .set_phone_status(phone.id, from, to, &s.clock.now(), actor, note)
        .await?
    {
        // Another request moved the phone meanwhile; its certificates are as both asked.
        tracing::warn!(
            phone = phone.id,
            "a phone's state changed during a status change"
        );
    }
    Ok(())
}

/// The citizen revokes a phone's certificates (before selling, exchanging or repairing it).
pub async fn revoke_phone(s: &Services, c: &Citizen, id: i64, note: &str) -> Result<Phone> {
    let note = note_of(note)?;
    let phone = s
        .store
        .portal()
        .phone(id)
        .await?
        .filter(|p| p.resident_id == c.resident_id)
        .ok_or_else(|| Refusal::not_found("phone.not_found", "you have no such phone"))?;
    move_phone(
        s,
        &phone,
        PhoneState::Revoked,
        "the holder, in the portal",
        &note,
    )
    .await?;
    Ok(s.store.portal().phone(id).await?.unwrap_or(phone))
}

/// The 24-hour hotline suspends a phone's certificates on a reported loss, or releases them
/// when it is found.
pub async fn hotline(
    s: &Services,
    actor: &Actor,
    id: i64,
    to: PhoneState,
    note: &str,
) -> Result<Phone> {
    let note = note_of(note)?;
    let phone = s
        .store
        .portal()
        .phone(id)
        .await?
        .ok_or_else(|| Refusal::not_found("phone.not_found", "no such phone"))?;
    let who = format!("{} (24-hour hotline)", actor.org_name);
    move_phone(s, &phone, to, &who, &note).await?;
    tracing::info!(
        phone = id,
        to = to.as_str(),
        org = actor.org_id,
        "hotline phone status"
    );
    Ok(s.store.portal().phone(id).await?.unwrap_or(phone))
}

/// 医療費通知情報 of one calendar year (this year or the five before), for the tax return's
/// medical-expense deduction.
pub async fn medical_expenses(
    s: &Services,
    c: &Citizen,
    year: i32,
) -> Result<(NoticeHeader, Vec<NoticeLine>)> {
    let today = s.clock.today();
    let (Some(first), Some(last)) = (
        chrono::NaiveDate::from_ymd_opt(year, 1, 1),
        chrono::NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return Err(Refusal::invalid("year.range", "no such year").into());
    };
    if year < today.year() - 5 || year > today.year() {
        return Err(Refusal::invalid(
            "year.range",
            "notices are kept for the last five years and this year",
        )
        .into());
    }
    let resident = s.registry().get(ResidentId(c.resident_id)).await?;
    let name = resident.basic4.name.name.clone();
    let records = s.eligibility().visible_records(c.resident_id).await?;
    let insurer = records
        .iter()
        .filter(|r| r.enrollment.qualification_date <= last)
        .filter(|r| r.enrollment.loss.as_ref().is_none_or(|l| l.date > first))
        .max_by_key(|r| r.enrollment.qualification_date);
    let header = NoticeHeader {
        year,
        insured_name: name.clone(),
        insurer_name: insurer
            .map(|r| r.enrollment.insurer_name.clone())
            .unwrap_or_default(),
        insurer_number: insurer
            .map(|r| r.enrollment.key.insurer_number.as_str().to_owned())
            .unwrap_or_default(),
        created_on: today.to_string(),
    };
    let mut lines: Vec<NoticeLine> = s
        .store
        .medical(c.resident_id, MedicalKind::Expense, first)
        .await?
        .into_iter()
        .filter_map(|d| match d {
            MedicalData::Expense(e) if e.month.year() == year => Some(e),
            _ => None,
        })
        .map(|e| NoticeLine {
            month: e.month.format("%Y-%m").to_string(),
            patient: name.clone(),
            facility: e.facility_name,
            facility_kind: facility_kind_ja(&e.facility_kind).to_owned(),
            days: e.days,
            total_cost_yen: e.total_cost_yen,
            paid_yen: e.paid_yen,
        })
        .collect();
    lines.sort_by(|a, b| (&a.month, &a.facility).cmp(&(&b.month, &b.facility)));
    Ok((header, lines))
}
