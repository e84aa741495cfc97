//! Card applications (マイナンバーカード交付申請) and the card's life at the municipality.
//!
//! - [`FormId`]: the 23-digit 申請書ID printed (and QR-coded) on the 交付申請書 mailed to
//!   each resident; the smartphone, PC, photo-booth and mail channels start from it.
//! - [`check_photo`]: the face photo's basic rules (format, size, dimensions).
//! - [`Status`] and [`transition`]: submitted → accepted | rejected → manufactured → (handed
//!   over at the window | mailed → received); a rejected application is resubmitted.
//! - [`CardDates`]: the card's validity (10 years from the birthday after issuance, 5 under
//!   18) and the renewal windows.

use chrono::{Datelike, Months, NaiveDate};
use openmyna_core::{IntoRefusal, Refusal};
use serde::{Deserialize, Serialize};

/// Everything that can go wrong with an application.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplicationError {
    /// The input breaks a rule, or the rules refuse it now (`code` names the rule).
    #[error(transparent)]
    Refusal(#[from] Refusal),
}

impl IntoRefusal for ApplicationError {
    fn into_refusal(self) -> Result<Refusal, Self> {
        match self {
            ApplicationError::Refusal(r) => Ok(r),
        }
    }
}

impl ApplicationError {
    /// The stable code of the rule.
    pub fn code(&self) -> &str {
        match self {
            ApplicationError::Refusal(r) => r.code(),
        }
    }
}

fn invalid(code: &'static str, message: impl Into<String>) -> ApplicationError {
    ApplicationError::Refusal(Refusal::invalid(code, message))
}

fn refused(code: &'static str, message: impl Into<String>) -> ApplicationError {
    ApplicationError::Refusal(Refusal::refused(code, message))
}

/// The 申請書ID: 23 digits, the last a check digit (weights 2,1 from the right over the
/// other 22, as Luhn).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FormId(String);

fn luhn_digit(body: &[u8]) -> u32 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

impl FormId {
    pub fn parse(s: &str) -> Result<FormId, ApplicationError> {
        let s: String = s.chars().filter(|c| *c != '-' && *c != ' ').collect();
        let format_error = || {
            invalid(
                "form_id.format",
                "the application ID (申請書ID) has 23 digits",
            )
        };
        if s.len() != 23 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format_error());
        }
        let Some((&check, body)) = s.as_bytes().split_last() else {
            return Err(format_error());
        };
        let expected = luhn_digit(body);
        let got = u32::from(check - b'0');
        if got != expected {
            return Err(invalid(
                "form_id.check_digit",
                format!("the application ID's check digit is {got}, expected {expected}"),
            ));
        }
        Ok(FormId(s))
    }

    /// A new ID from 22 random digits.
    pub fn from_body(digits: &[u8; 22]) -> FormId {
        let body: String = digits.iter().map(|d| char::from(b'0' + d % 10)).collect();
        let c = luhn_digit(body.as_bytes());
        FormId(format!("{body}{c}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How the application arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// スマートフォン (QR code of the form, e-mail, photo).
    Smartphone,
    /// パソコン (application ID, e-mail, photo).
    Pc,
    /// 証明写真機.
    PhotoBooth,
    /// 郵便 (the paper form with a photo).
    Mail,
    /// 出張申請受付: municipal staff take the application and verify identity on site.
    OnSite,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Smartphone,
        Channel::Pc,
        Channel::PhotoBooth,
        Channel::Mail,
        Channel::OnSite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Smartphone => "smartphone",
            Channel::Pc => "pc",
            Channel::PhotoBooth => "photo_booth",
            Channel::Mail => "mail",
            Channel::OnSite => "on_site",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Online channels give an e-mail address for notices.
    pub fn needs_email(self) -> bool {
        matches!(self, Channel::Smartphone | Channel::Pc)
    }
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Submitted,
    /// Refused with a reason; the resident submits again.
    Rejected,
    Accepted,
    /// The card exists (keys generated on it); a 交付通知書 was sent, or (identity verified
    /// at intake) it is on its way by 本人限定受取郵便.
    Manufactured,
    /// Being handed over at the window (claimed by one request; back to manufactured if the
    /// handover fails).
    Activating,
    Mailed,
    /// Handed over (at the window or received by mail): the card is in use.
    Delivered,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Rejected => "rejected",
            Status::Accepted => "accepted",
            Status::Manufactured => "manufactured",
            Status::Activating => "activating",
            Status::Mailed => "mailed",
            Status::Delivered => "delivered",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Submitted,
            Status::Rejected,
            Status::Accepted,
            Status::Manufactured,
            Status::Activating,
            Status::Mailed,
            Status::Delivered,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// The steps of the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Accept,
    Reject,
    Resubmit,
    Manufacture {
        identity_verified_at_intake: bool,
    },
    /// A handover starts: one request claims the card.
    Claim,
    /// A handover failed: the card waits again.
    Release,
    HandOver,
    Receive,
}

/// The state machine: the status after `step`, or why not.
pub fn transition(from: Status, step: Step) -> Result<Status, ApplicationError> {
    use Status::*;
    let to = match (from, step) {
        (Submitted, Step::Accept) => Accepted,
        (Submitted, Step::Reject) => Rejected,
        (Rejected, Step::Resubmit) => Submitted,
        (Accepted, Step::Manufacture { .. }) => Manufactured,
        // Made again (the registry changed before the handover).
        (Manufactured, Step::Manufacture { .. }) => Manufactured,
        (Manufactured, Step::Claim) => Activating,
        (Activating, Step::Release) => Manufactured,
        (Activating, Step::HandOver) => Delivered,
        (Manufactured, Step::HandOver) => {
            return Err(refused(
                "application.not_claimed",
                "a handover first claims the card",
            ));
        }
        (Manufactured, Step::Receive) => {
            return Err(refused(
                "application.not_mailed",
                "this card is handed over at the window, not mailed",
            ));
        }
        (Mailed, Step::Receive) => Delivered,
        (Mailed, Step::HandOver | Step::Claim) => {
            return Err(refused(
                "application.mailed",
                "this card was mailed to the applicant (identity verified at intake)",
            ));
        }
        (from, step) => {
            return Err(refused(
                "application.status",
                format!("cannot {step:?} an application that is {}", from.as_str()),
            ));
        }
    };
    // Identity verified at intake: the card goes out by mail at once.
    if let Step::Manufacture {
        identity_verified_at_intake: true,
    } = step
    {
        return Ok(Mailed);
    }
    Ok(to)
}

/// The documents accepted to verify identity at handover or intake.
pub const IDENTITY_DOCUMENTS: [&str; 6] = [
    "my_number_notice_and_driver_license",
    "driver_license",
    "passport",
    "residence_card",
    "disability_certificate",
    "health_insurance_and_pension_book",
];

pub fn check_identity_document(doc: &str) -> Result<(), ApplicationError> {
    if IDENTITY_DOCUMENTS.contains(&doc) {
        Ok(())
    } else {
        Err(invalid(
            "identity_document.unknown",
            format!(
                "{doc:?} is not an accepted identity document; use one of {IDENTITY_DOCUMENTS:?}"
            ),
        ))
    }
}

/// A face photo that passed the basic rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoInfo {
    /// image/jpeg or image/png.
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
}

pub const PHOTO_MIN_BYTES: usize = 20 * 1024;
pub const PHOTO_MAX_BYTES: usize = 7 * 1024 * 1024;
pub const PHOTO_MIN_SIDE: u32 = 480;
pub const PHOTO_MAX_SIDE: u32 = 6000;

/// The basic rules of the application photo: JPEG or PNG, 20 KiB to 7 MiB, each side 480 to
/// 6000 pixels, portrait (taller than wide).
pub fn check_photo(data: &[u8]) -> Result<PhotoInfo, ApplicationError> {
    if data.is_empty() {
        return Err(invalid("photo.missing", "a face photo is required"));
    }
    let (mime, (width, height)) = if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        (
            "image/png",
            png_size(data).ok_or_else(|| invalid("photo.format", "the PNG is damaged"))?,
        )
    } else if data.starts_with(&[0xFF, 0xD8]) {
        (
            "image/jpeg",
            jpeg_size(data).ok_or_else(|| invalid("photo.format", "the JPEG is damaged"))?,
        )
    } else {
        return Err(invalid(
            "photo.format",
            "the photo must be a JPEG or PNG image",
        ));
    };
    if data.len() < PHOTO_MIN_BYTES {
        return Err(invalid(
            "photo.too_small",
            format!(
                "the photo file is {} bytes; at least {PHOTO_MIN_BYTES} are needed",
                data.len()
            ),
        ));
    }
    if data.len() > PHOTO_MAX_BYTES {
        return Err(invalid(
            "photo.too_large",
            format!(
                "the photo file is {} bytes; at most {PHOTO_MAX_BYTES} are accepted",
                data.len()
            ),
        ));
    }
    for (side, v) in [("width", width), ("height", height)] {
        if v < PHOTO_MIN_SIDE {
            return Err(invalid(
                "photo.too_small",
                format!("the photo's {side} is {v} pixels; at least {PHOTO_MIN_SIDE} are needed"),
            ));
        }
        if v > PHOTO_MAX_SIDE {
            return Err(invalid(
                "photo.too_large",
                format!("the photo's {side} is {v} pixels; at most {PHOTO_MAX_SIDE}"),
            ));
        }
    }
    if height < width {
        return Err(invalid(
            "photo.orientation",
            "the photo must be portrait (taller than wide)",
        ));
    }
    Ok(PhotoInfo {
        mime,
        width,
        height,
        bytes: data.len(),
    })
}

fn png_size(d: &[u8]) -> Option<(u32, u32)> {
    if d.get(12..16)? != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(d.get(16..20)?.try_into().ok()?);
    let h = u32::from_be_bytes(d.get(20..24)?.try_into().ok()?);
    Some((w, h))
}

fn jpeg_size(d: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    loop {
        while *d.get(i)? == 0xFF && *d.get(i + 1)? == 0xFF {
            i += 1;
        }
        if *d.get(i)? != 0xFF {
            return None;
        }
        let marker = *d.get(i + 1)?;
        let len = usize::from(u16::from_be_bytes([*d.get(i + 2)?, *d.get(i + 3)?]));
        // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let h = u32::from(u16::from_be_bytes([*d.get(i + 5)?, *d.get(i + 6)?]));
            let w = u32::from(u16::from_be_bytes([*d.get(i + 7)?, *d.get(i + 8)?]));
            return Some((w, h));
        }
        if len < 2 {
            return None;
        }
        i = i.checked_add(2 + len)?;
    }
}

/// The dates of a card's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardDates {
    pub issued_on: NaiveDate,
    /// 有効期限: the 10th birthday after issuance (the 5th under 18).
    pub card_expiry: NaiveDate,
    /// The card can be renewed from 3 months before its expiry.
    pub card_renewal_from: NaiveDate,
    /// The certificates' validity: the 5th birthday after issuance, capped by the card's.
    pub certificates_expiry: NaiveDate,
    /// The certificates can be renewed from 3 months before they expire.
    pub certificates_renewal_from: NaiveDate,
}

impl CardDates {
    pub fn new(birth: NaiveDate, issued_on: NaiveDate) -> CardDates {
        let years = if openmyna_core::age_on(birth, issued_on) < 18 {
            5
        } else {
            10
        };
        let first = openmyna_jpki::validity::birthday_in(birth, issued_on.year());
        let first_year = if first > issued_on {
            issued_on.year()
        } else {
            issued_on.year() + 1
        };
        let card_expiry = openmyna_jpki::validity::birthday_in(birth, first_year + years - 1);
        let certificates_expiry =
            openmyna_jpki::validity::fifth_birthday_after(birth, issued_on).min(card_expiry);
        let three_months_before = |d: NaiveDate| d.checked_sub_months(Months::new(3)).unwrap_or(d);
        CardDates {
            issued_on,
            card_expiry,
            card_renewal_from: three_months_before(card_expiry),
            certificates_expiry,
            certificates_renewal_from: three_months_before(certificates_expiry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn form_ids() {
        let id = FormId::from_body(&[1; 22]);
        assert_eq!(id.as_str().len(), 23);
        assert_eq!(FormId::parse(id.as_str()).unwrap(), id);
        let mut bad = id.as_str().to_owned();
        let last = bad.pop().unwrap();
        bad.push(if last == '9' {
            '0'
        } else {
            char::from(last as u8 + 1)
        });
        assert!(matches!(
            FormId::parse(&bad),
            Err(ApplicationError::Refusal(r)) if r.code() == "form_id.check_digit"
                && r.kind() == openmyna_core::RefusalKind::Invalid
        ));
        assert!(FormId::parse("123").is_err());
    }

    #[test]
    fn workflow() {
        use Status::*;
        assert_eq!(transition(Submitted, Step::Accept), Ok(Accepted));
        assert_eq!(transition(Submitted, Step::Reject), Ok(Rejected));
        assert_eq!(transition(Rejected, Step::Resubmit), Ok(Submitted));
        assert_eq!(
            transition(
                Accepted,
                Step::Manufacture {
                    identity_verified_at_intake: false
                }
            ),
            Ok(Manufactured)
        );
        assert_eq!(
            transition(
                Accepted,
                Step::Manufacture {
                    identity_verified_at_intake: true
                }
            ),
            Ok(Mailed)
        );
        assert_eq!(transition(Manufactured, Step::Claim), Ok(Activating));
        assert_eq!(transition(Activating, Step::HandOver), Ok(Delivered));
        assert_eq!(transition(Activating, Step::Release), Ok(Manufactured));
        assert!(
            transition(Activating, Step::Claim).is_err(),
            "one handover at a time"
        );
        assert_eq!(transition(Mailed, Step::Receive), Ok(Delivered));
        assert!(transition(Mailed, Step::HandOver).is_err());
        assert!(transition(Mailed, Step::Claim).is_err());
        assert!(transition(Manufactured, Step::Receive).is_err());
        assert!(transition(Submitted, Step::HandOver).is_err());
        assert!(transition(Delivered, Step::Accept).is_err());
        assert!(transition(Rejected, Step::Accept).is_err());
    }

    #[test]
    fn validity_and_renewal_dates() {
        // An adult: 10th birthday after issuance; certificates 5th.
        let a = CardDates::new(d("1985-06-15"), d("2026-11-21"));
        assert_eq!(a.card_expiry, d("2036-06-15"));
        assert_eq!(a.card_renewal_from, d("2036-03-15"));
        assert_eq!(a.certificates_expiry, d("2031-06-15"));
        assert_eq!(a.certificates_renewal_from, d("2031-03-15"));
        // A 10-year-old: 5th birthday after issuance for both.
        let c = CardDates::new(d("2016-01-10"), d("2026-11-21"));
        assert_eq!(c.card_expiry, d("2031-01-10"));
        assert_eq!(c.certificates_expiry, d("2031-01-10"));
        assert_eq!(c.card_renewal_from, d("2030-10-10"));
        // Issued on the birthday: the next one counts.
        let b = CardDates::new(d("1990-11-21"), d("2026-11-21"));
        assert_eq!(b.card_expiry, d("2036-11-21"));
    }

    #[test]
    fn photo_rules() {
        let png = |w: u32, h: u32, len: usize| {
            let mut v = Vec::new();
            v.extend_from_slice(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR");
            v.extend_from_slice(&w.to_be_bytes());
            v.extend_from_slice(&h.to_be_bytes());
            v.resize(len, 0);
            v
        };
        assert!(check_photo(&png(600, 800, 30_000)).is_ok());
        let code = |r: Result<PhotoInfo, ApplicationError>| match r {
            Err(e) => e.code().to_owned(),
            _ => "ok".to_owned(),
        };
        assert_eq!(code(check_photo(&[])), "photo.missing");
        assert_eq!(code(check_photo(b"GIF89a")), "photo.format");
        assert_eq!(code(check_photo(&png(600, 800, 1000))), "photo.too_small");
        assert_eq!(code(check_photo(&png(300, 400, 30_000))), "photo.too_small");
        assert_eq!(
            code(check_photo(&png(800, 600, 30_000))),
            "photo.orientation"
        );
        assert_eq!(
            code(check_photo(&png(600, 8000, 30_000))),
            "photo.too_large"
        );
        // A JPEG header with an SOF0 segment.
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8];
        j.extend_from_slice(&900u16.to_be_bytes());
        j.extend_from_slice(&700u16.to_be_bytes());
        j.resize(25_000, 0);
        assert_eq!(
            check_photo(&j).unwrap(),
            PhotoInfo {
                mime: "image/jpeg",
                width: 700,
                height: 900,
                bytes: 25_000
            }
        );
    }
}

/// A card's state at the municipality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    /// In use.
    Active,
    /// Reported lost (紛失): both certificates suspended at once.
    Lost,
    /// Given back (返納): both certificates revoked.
    Returned,
    /// A new card was issued (再交付): this one's certificates revoked.
    Replaced,
    /// Kept through emigration (海外継続利用): the authentication certificate continues; the
    /// signing certificate is re-issued for the holder abroad.
    Overseas,
    /// No longer valid: the holder died or left the registry (its certificates revoked).
    Void,
}

impl CardStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Active => "active",
            CardStatus::Lost => "lost",
            CardStatus::Returned => "returned",
            CardStatus::Replaced => "replaced",
            CardStatus::Overseas => "overseas",
            CardStatus::Void => "void",
        }
    }

    pub fn parse(s: &str) -> Option<CardStatus> {
        [
            CardStatus::Active,
            CardStatus::Lost,
            CardStatus::Returned,
            CardStatus::Replaced,
            CardStatus::Overseas,
            CardStatus::Void,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// What happens to a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardEvent {
    /// 紛失届 (also through the 24-hour call centre).
    Lost,
    /// Found again.
    Found,
    /// 返納.
    Return,
    /// A new card issued to the same person.
    Replace,
    /// 海外継続利用の手続 before emigrating.
    GoOverseas,
    /// Back in Japan (転入 and 記載事項変更): domestic use again.
    ComeBack,
    /// A card lost abroad was found.
    FoundAbroad,
    /// The holder died or left the registry.
    Void,
}

/// What a card event does to its certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateEffect {
    /// The certificates stay as they are.
    Keep,
    Hold,
    Release,
    /// Revoke (the reason: cessationOfOperation on return, superseded on replacement).
    Revoke(openmyna_jpki::Reason),
}

/// The card-life state machine: the new status and what to do to the certificates.
pub fn card_transition(
    from: CardStatus,
    event: CardEvent,
) -> Result<(CardStatus, CertificateEffect), ApplicationError> {
    use CardStatus::*;
    match (from, event) {
        (Active, CardEvent::Lost) => Ok((Lost, CertificateEffect::Hold)),
        (Lost, CardEvent::Found) => Ok((Active, CertificateEffect::Release)),
        (Active, CardEvent::GoOverseas) => Ok((Overseas, CertificateEffect::Keep)),
        (Overseas, CardEvent::ComeBack) => Ok((Active, CertificateEffect::Keep)),
        (Overseas, CardEvent::Lost) => Ok((Lost, CertificateEffect::Hold)),
        (Lost, CardEvent::FoundAbroad) => Ok((Overseas, CertificateEffect::Release)),
        (Active | Lost | Overseas, CardEvent::Void) => Ok((Void, CertificateEffect::Keep)),
        (Active | Lost | Overseas, CardEvent::Return) => Ok((
            Returned,
            CertificateEffect::Revoke(openmyna_jpki::Reason::CessationOfOperation),
        )),
        (Active | Lost | Overseas, CardEvent::Replace) => Ok((
            Replaced,
            CertificateEffect::Revoke(openmyna_jpki::Reason::Superseded),
        )),
        (Lost, CardEvent::Lost) => Err(refused(
            "card.already_lost",
            "the card is already reported lost",
        )),
        (Active, CardEvent::Found) => {
            Err(refused("card.not_lost", "the card was not reported lost"))
        }
        (from, event) => Err(refused(
            "card.status",
            format!("the card is {}: {event:?} is not possible", from.as_str()),
        )),
    }
}

#[cfg(test)]
mod card_life_tests {
    use super::*;

    #[test]
    fn lost_found_return_replace() {
        use CardStatus::*;
        assert_eq!(
            card_transition(Active, CardEvent::Lost).unwrap(),
            (Lost, CertificateEffect::Hold)
        );
        assert_eq!(
            card_transition(Lost, CardEvent::Found).unwrap(),
            (Active, CertificateEffect::Release)
        );
        assert!(matches!(
            card_transition(Lost, CardEvent::Replace).unwrap(),
            (Replaced, CertificateEffect::Revoke(_))
        ));
        assert!(matches!(
            card_transition(Active, CardEvent::Return).unwrap(),
            (Returned, CertificateEffect::Revoke(_))
        ));
        assert!(card_transition(Active, CardEvent::Found).is_err());
        assert!(card_transition(Returned, CardEvent::Found).is_err());
        assert!(card_transition(Replaced, CardEvent::Lost).is_err());
        assert!(card_transition(Lost, CardEvent::Lost).is_err());
        assert_eq!(
            card_transition(Active, CardEvent::GoOverseas).unwrap(),
            (Overseas, CertificateEffect::Keep)
        );
        assert_eq!(
            card_transition(Overseas, CardEvent::ComeBack).unwrap(),
            (Active, CertificateEffect::Keep)
        );
        assert!(card_transition(Active, CardEvent::ComeBack).is_err());
        assert!(card_transition(Lost, CardEvent::GoOverseas).is_err());
    }
}
