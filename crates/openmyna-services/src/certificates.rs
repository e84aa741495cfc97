//! Certificates at the convenience store (コンビニ交付): the multi-copy machine reads the card,
//! the resident enters the authentication PIN, the card signs the 証明書交付センター's
//! challenge; the centre checks the authentication certificate (the state OCSP answers from:
//! revoked, suspended or expired is refused) and asks the municipality's certificate server,
//! which issues the document as a PDF signed by the municipality (PAdES) with a verification
//! code anyone can check.
//!
//! Refused: outside the service hours (06:30–23:00 JST, not 29 December–3 January), a
//! municipality not taking part, a resident under 15, a certificate that is not good, a
//! person on the document under 支援措置, a 印鑑登録証明書 without a registration. Every
//! document issued is in the access log of each person on it, before it is handed out.

use aws_lc_rs::digest;
use chrono::{Datelike, NaiveDate, Timelike};
use openmyna_core::{Actor, Refusal};
use openmyna_eligibility::CardProof;
use openmyna_jpki::{KeyKind, SigningKey};
use openmyna_pdf::{A4, Document, MM, Page, PdfError, SignatureInfo};
use openmyna_registry::{Resident, ResidentId};
use openmyna_store::konbini::{IssuedRecord, KonbiniMunicipality};

use crate::{Result, ServiceError, Services};

/// The certificates the machine issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateKind {
    /// 住民票の写し.
    Juminhyo,
    /// 住民票記載事項証明書.
    KisaiJiko,
    /// 印鑑登録証明書.
    Inkan,
}

impl CertificateKind {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "juminhyo" => Ok(CertificateKind::Juminhyo),
            "kisai_jiko" => Ok(CertificateKind::KisaiJiko),
            "inkan" => Ok(CertificateKind::Inkan),
            other => Err(Refusal::invalid(
                "kind.unknown",
                format!("{other:?} is not a certificate the machine issues: juminhyo, kisai_jiko or inkan"),
            )
            .with_field("kind")
            .into()),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            CertificateKind::Juminhyo => "juminhyo",
            CertificateKind::KisaiJiko => "kisai_jiko",
            CertificateKind::Inkan => "inkan",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CertificateKind::Juminhyo => "住民票の写し",
            CertificateKind::KisaiJiko => "住民票記載事項証明書",
            CertificateKind::Inkan => "印鑑登録証明書",
        }
    }

    fn fee(self, m: &KonbiniMunicipality) -> i64 {
        match self {
            CertificateKind::Juminhyo => m.fee_juminhyo,
            CertificateKind::KisaiJiko => m.fee_kisai_jiko,
            CertificateKind::Inkan => m.fee_inkan,
        }
    }
}

/// What the resident chose to have printed (住民票の写し; the others print fixed items).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// The whole household (世帯全員), not the applicant alone.
    pub household: bool,
    /// 続柄 (and the head's name).
    pub relationship: bool,
    /// 本籍・筆頭者.
    pub honseki: bool,
    /// 個人番号: printed only for the resident's own use (番号法).
    pub my_number: bool,
}

/// A certificate issued: the signed PDF, its verification code and the fee.
#[derive(Clone)]
pub struct IssuedDocument {
    pub pdf: Vec<u8>,
    pub code: String,
    pub fee_yen: i64,
    pub kind: CertificateKind,
}

impl std::fmt::Debug for IssuedDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuedDocument({}, {})", self.kind.code(), self.code)
    }
}

/// The machines' hours: 06:30–23:00 Japan time (minutes after midnight).
pub const OPENS: i64 = 6 * 60 + 30;
pub const CLOSES: i64 = 23 * 60;

/// The minute of the day in Japan time, or `None` from 29 December to 3 January.
fn service_minute(now: &openmyna_core::Timestamp) -> Option<i64> {
    let jst = now.with_timezone(&openmyna_core::jst());
    let (m, d) = (jst.month(), jst.day());
    if (m == 12 && d >= 29) || (m == 1 && d <= 3) {
        return None;
    }
    Some(i64::from(jst.hour() * 60 + jst.minute()))
}

/// The service hours: 06:30–23:00 Japan time, not from 29 December to 3 January.
pub fn open_at(now: &openmyna_core::Timestamp) -> bool {
    service_minute(now).is_some_and(|m| (OPENS..CLOSES).contains(&m))
}

/// A municipality's own hours (within the machines').
fn municipality_open(m: &KonbiniMunicipality, now: &openmyna_core::Timestamp) -> bool {
    service_minute(now).is_some_and(|t| (m.opens_minute..m.closes_minute).contains(&t))
}

fn refused(code: &'static str, m: impl Into<String>) -> ServiceError {
    Refusal::refused(code, m.into()).into()
}

/// The verification code: 16 characters without look-alikes, in groups of four.
fn verification_code(s: &Services) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut raw = [0u8; 16];
    s.entropy.fill(&mut raw);
    let chars: Vec<char> = raw
        .iter()
        .map(|b| {
            char::from(
                *ALPHABET
                    .get(usize::from(*b) % ALPHABET.len())
                    .unwrap_or(&b'A'),
            )
        })
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Normalises a code as typed (spaces, lower case, missing dashes).
pub fn normalise_code(code: &str) -> String {
    let plain: String = code
        .chars()
        // Full-width forms as a Japanese input method types them (Ａ → A, １ → 1).
        .map(|c| match u32::from(c) {
            u @ 0xFF01..=0xFF5E => char::from_u32(u - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    plain
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The municipality's signer: its key and certificate, made on first use (the key sealed in
/// the store, the certificate from the CA's signing root).
async fn signer(s: &Services, m: &KonbiniMunicipality) -> Result<(SigningKey, Vec<u8>)> {
    let stored = match s.store.konbini().signer(&m.municipality_code).await? {
        Some(x) => x,
        None => {
            let key = SigningKey::generate(KeyKind::Rsa2048)?;
            let cert = s.jpki.issue_document_signer(
                &key.spki_der()?,
                &m.name,
                &format!("{}長", m.name),
            )?;
            s.store
                .konbini()
                .insert_signer(
                    &m.municipality_code,
                    &key.to_pkcs8()?,
                    &cert,
                    &s.clock.now(),
                )
                .await?
        }
    };
    Ok((
        SigningKey::from_pkcs8(KeyKind::Rsa2048, &stored.0)?,
        stored.1,
    ))
}

/// One person on a 住民票.
#[derive(Clone)]
struct Person {
    resident: Resident,
    relationship: Option<String>,
    former: Option<openmyna_registry::household::FormerName>,
    /// 本籍・筆頭者, when printed.
    domicile: Option<openmyna_registry::household::Domicile>,
}

/// The persons one page of a 住民票の写し holds.
const MAX_PERSONS: usize = 6;

fn era_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

fn sex_label(r: &Resident) -> &'static str {
    match r.basic4.sex.code() {
        1 => "男",
        2 => "女",
        _ => "",
    }
}

fn name_line(p: &Person) -> String {
    match &p.former {
        Some(f) => format!("{}（{}）", p.resident.basic4.name.name, f.kyuushi),
        None => p.resident.basic4.name.name.clone(),
    }
}

struct Layout<'a> {
    kind: CertificateKind,
    municipality: &'a KonbiniMunicipality,
    code: &'a str,
    today: NaiveDate,
    verify_url: String,
}

fn header(page: &mut Page, l: &Layout<'_>) -> f32 {
    let (w, h) = A4;
    page.text_centred(w / 2.0, h - 25.0 * MM, 20.0, l.kind.label());
    page.text_right(w - 20.0 * MM, h - 35.0 * MM, 9.0, "コンビニ交付");
    h - 45.0 * MM
}

fn footer(page: &mut Page, l: &Layout<'_>, statement: &str) {
    let (w, _) = A4;
    let x = 20.0 * MM;
    page.line(x, 70.0 * MM, w - x, 70.0 * MM, 0.6);
    page.text(x, 62.0 * MM, 10.5, statement);
    page.text(x, 54.0 * MM, 10.5, &era_date(l.today));
    page.text_right(
        w - x,
        46.0 * MM,
        12.0,
        &format!("{}長", l.municipality.name),
    );
    page.text(x, 30.0 * MM, 9.0, &format!("照合番号 {}", l.code));
    page.text(
        x,
        25.0 * MM,
        8.0,
        &format!(
            "この証明書の真正性は {} で照合番号を入力して確認できます。",
            l.verify_url
        ),
    );
    page.text(
        x,
        20.0 * MM,
        8.0,
        "この文書には市区町村の電子署名（PAdES）が付されています。改ざんされると署名の検証に失敗します。",
    );
}

fn juminhyo(people: &[Person], head: Option<&Person>, o: &Options, l: &Layout<'_>) -> Page {
    let mut page = Page::new();
    let x = 20.0 * MM;
    let mut y = header(&mut page, l);
    if let Some(p) = people.first() {
        page.text(
            x,
            y,
            10.5,
            &format!("住所　{}", p.resident.basic4.address.text),
        );
        y -= 7.0 * MM;
    }
    if let Some(h) = head {
        page.text(
            x,
            y,
            10.5,
            &format!("世帯主　{}", h.resident.basic4.name.name),
        );
        y -= 7.0 * MM;
    }
    for (i, p) in people.iter().enumerate() {
        let (w, _) = A4;
        page.line(x, y + 4.0 * MM, w - x, y + 4.0 * MM, 0.4);
        page.text(
            x,
            y - 2.0 * MM,
            10.5,
            &format!("{}　氏名　{}", i + 1, name_line(p)),
        );
        page.text(
            x + 8.0 * MM,
            y - 8.0 * MM,
            10.0,
            &format!(
                "生年月日　{}　性別　{}{}",
                era_date(p.resident.basic4.birth_date),
                sex_label(&p.resident),
                match (&p.relationship, o.relationship) {
                    (Some(r), true) => format!("　続柄　{r}"),
                    _ => String::new(),
                }
            ),
        );
        page.text(
            x + 8.0 * MM,
            y - 14.0 * MM,
            10.0,
            &format!(
                "住民となった年月日　{}{}",
                era_date(p.resident.registered_at.date_naive()),
                if o.my_number {
                    format!("　個人番号　{}", p.resident.my_number.expose())
                } else {
                    String::new()
                }
            ),
        );
        y -= 22.0 * MM;
        if o.honseki {
            let line = match &p.domicile {
                Some(d) => format!("本籍　{}　筆頭者　{}", d.honseki, d.hittosha),
                None => "本籍　（記録なし）".to_owned(),
            };
            page.text(x + 8.0 * MM, y + 2.0 * MM, 10.0, &line);
            y -= 6.0 * MM;
        }
    }
    footer(
        &mut page,
        l,
        "この写しは、住民票の原本と相違ないことを証明する。",
    );
    page
}

/// 氏名, 生年月日・性別 and 住所 of one person, from `y` down.
fn person_lines(page: &mut Page, p: &Person, x: f32, y: f32) {
    page.text(x, y, 10.5, &format!("氏名　{}", name_line(p)));
    page.text(
        x,
        y - 8.0 * MM,
        10.5,
        &format!(
            "生年月日　{}　性別　{}",
            era_date(p.resident.basic4.birth_date),
            sex_label(&p.resident)
        ),
    );
    page.text(
        x,
        y - 16.0 * MM,
        10.5,
        &format!("住所　{}", p.resident.basic4.address.text),
    );
}

fn kisai_jiko(p: &Person, l: &Layout<'_>) -> Page {
    let mut page = Page::new();
    let x = 20.0 * MM;
    let y = header(&mut page, l);
    person_lines(&mut page, p, x, y);
    footer(
        &mut page,
        l,
        "上記のとおり住民票に記載されていることを証明する。",
    );
    page
}

fn inkan_page(
    p: &Person,
    number: &str,
    impression: &openmyna_cardface::photo::Grey,
    l: &Layout<'_>,
) -> Result<Page> {
    let mut page = Page::new();
    let x = 20.0 * MM;
    let y = header(&mut page, l);
    person_lines(&mut page, p, x, y);
    page.text(x, y - 24.0 * MM, 10.5, &format!("印鑑登録番号　{number}"));
    // The impression in a 30 mm box, its aspect kept.
    let side = 30.0 * MM;
    let bx = x;
    let by = y - 30.0 * MM - side;
    page.rect(bx, by, side, side, 0.6);
    page.text(bx, by + side + 2.0 * MM, 9.0, "印影");
    let (iw, ih) = (impression.width as f32, impression.height as f32);
    let scale = (side - 4.0) / iw.max(ih).max(1.0);
    let (dw, dh) = (iw * scale, ih * scale);
    page.grey_image(
        impression.width,
        impression.height,
        &impression.pixels,
        (bx + (side - dw) / 2.0, by + (side - dh) / 2.0, dw, dh),
    )
    .map_err(|e| Refusal::invalid("inkan.image", e.to_string()))?;
    footer(
        &mut page,
        l,
        "この写しは、登録されている印影と相違ないことを証明する。",
    );
    Ok(page)
}

/// The multi-copy machine's request: the card's proof over the centre's challenge (the
/// authentication key, after the PIN), the certificate wanted and what to print on it.
pub async fn issue_at_machine(
    s: &Services,
    actor: &Actor,
    proof: &CardProof<'_>,
    kind: CertificateKind,
    options: Options,
) -> Result<IssuedDocument> {
    let now = s.clock.now();
    if !open_at(&now) {
        return Err(refused(
            "konbini.closed",
            "certificates are issued from 6:30 to 23:00, except from 29 December to 3 January",
        ));
    }
    // The centre checks the authentication certificate (the state OCSP answers from), over a
    // challenge it was given itself (a proof made at the machine opens nothing else).
    let record = s.eligibility().authenticate(actor, proof).await?;
    let applicant = s.active_resident(record.resident_id).await?;
    let age = openmyna_core::age_on(applicant.basic4.birth_date, s.clock.today());
    if age < 15 {
        return Err(refused(
            "konbini.age",
            "certificates are issued at the convenience store from 15; ask at the municipality's window",
        ));
    }
    let code_of_municipality = applicant
        .basic4
        .address
        .municipality_code
        .as_str()
        .to_owned();
    let Some(municipality) = s
        .store
        .konbini()
        .municipality(&code_of_municipality)
        .await?
    else {
        return Err(refused(
            "konbini.not_participating",
            "the resident's municipality does not issue certificates at convenience stores",
        ));
    };
    if !municipality_open(&municipality, &now) {
        return Err(refused(
            "konbini.closed",
            format!(
                "{} issues certificates from {:02}:{:02} to {:02}:{:02}",
                municipality.name,
                municipality.opens_minute / 60,
                municipality.opens_minute % 60,
                municipality.closes_minute / 60,
                municipality.closes_minute % 60
            ),
        ));
    }
    // Who is on the document: the persons printed, and the head of the household for the
    // 世帯主 line (printed with 続柄 on a 住民票の写し).
    let households = s.store.households();
    let membership = households.membership(record.resident_id).await?;
    let active = |r: &Resident| r.status == openmyna_registry::ResidentStatus::Active;
    let mut people: Vec<Person> = Vec::new();
    let mut head: Option<Person> = None;
    let members = match &membership {
        Some(m) => households.members(m.household_id).await?,
        None => None,
    };
    match (&members, kind, options.household) {
        (Some((head_id, members)), CertificateKind::Juminhyo, true) => {
            for member in members {
                let resident = s.registry().get(ResidentId(member.resident_id)).await?;
                if !active(&resident) {
                    continue;
                }
                let p = Person {
                    former: households.former_name(member.resident_id).await?,
                    domicile: None,
                    resident,
                    relationship: Some(member.relationship.clone()),
                };
                if member.resident_id == *head_id {
                    head = Some(p.clone());
                }
                people.push(p);
            }
        }
        _ => {
            people.push(Person {
                former: households.former_name(record.resident_id).await?,
                domicile: None,
                resident: applicant.clone(),
                relationship: membership.as_ref().map(|m| m.relationship.clone()),
            });
            if let Some((head_id, _)) = &members {
                let r = s.registry().get(ResidentId(*head_id)).await?;
                // A head whose record is closed is printed as no one.
                if active(&r) {
                    head = Some(Person {
                        resident: r,
                        relationship: None,
                        former: None,
                        domicile: None,
                    });
                }
            }
        }
    }
    if kind == CertificateKind::Juminhyo && options.honseki {
        for p in &mut people {
            p.domicile = households.domicile(p.resident.id.0).await?;
        }
    }
    if people.len() > MAX_PERSONS {
        return Err(refused(
            "konbini.household_size",
            format!(
                "a household of {} is more than one page holds ({MAX_PERSONS}): ask at the municipality's window",
                people.len()
            ),
        ));
    }
    let head_printed = kind == CertificateKind::Juminhyo && options.relationship;
    let head = head.filter(|_| head_printed);
    // Everyone whose data the document shows.
    let mut shown: Vec<&Resident> = people.iter().map(|p| &p.resident).collect();
    if let Some(h) = &head
        && !shown.iter().any(|r| r.id == h.resident.id)
    {
        shown.push(&h.resident);
    }
    for r in &shown {
        if s.store.konbini().support_measure(r.id.0).await?.is_some() {
            return Err(refused(
                "konbini.support_measure",
                "a person on this certificate is under 支援措置: the certificate is issued at the municipality's window only",
            ));
        }
    }
    let code = verification_code(s);
    let l = Layout {
        kind,
        municipality: &municipality,
        code: &code,
        today: s.clock.today(),
        verify_url: format!("{}/certificates/verify", s.jpki.endpoints().base()),
    };
    let page = match kind {
        CertificateKind::Juminhyo => juminhyo(&people, head.as_ref(), &options, &l),
        CertificateKind::KisaiJiko => match people.first() {
            Some(p) => kisai_jiko(p, &l),
            None => return Err(refused("konbini.nobody", "nobody to certify")),
        },
        CertificateKind::Inkan => {
            let Some(reg) = households.inkan(record.resident_id).await? else {
                return Err(refused(
                    "inkan.none",
                    "the resident has no seal registered; register one at the municipality's window",
                ));
            };
            let impression = openmyna_cardface::photo::decode(&reg.image)
                .map_err(|e| Refusal::invalid("inkan.image", e.to_string()))?;
            match people.first() {
                Some(p) => inkan_page(p, &reg.number, &impression, &l)?,
                None => return Err(refused("konbini.nobody", "nobody to certify")),
            }
        }
    };
    let mut doc = Document::new(kind.label(), &municipality.name);
    doc.push(page);
    let (key, cert) = signer(s, &municipality).await?;
    let root = s.jpki.root_certificate(openmyna_jpki::RootKind::Sign)?;
    let jst = now.with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap_or(now.timezone()));
    let info = SignatureInfo {
        name: format!("{}長", municipality.name),
        reason: kind.label().to_owned(),
        location: municipality.name.clone(),
        time: jst.format("D:%Y%m%d%H%M%S+09'00'").to_string(),
    };
    let pdf = doc
        .sign(&info, |hash| -> std::result::Result<Vec<u8>, PdfError> {
            openmyna_jpki::cms::build_pades(hash, &cert, &[&root], |attrs| key.sign(attrs))
                .map_err(|e| PdfError::Layout(e.to_string()))?
                .map_err(|e| PdfError::Layout(e.to_string()))
        })
        .map_err(|e| Refusal::invalid("document.layout", e.to_string()))?;
    let sha: String = digest::digest(&digest::SHA256, &pdf)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let fee = kind.fee(&municipality);
    s.store
        .konbini()
        .insert_issued(&IssuedRecord {
            code: code.clone(),
            kind: kind.code().to_owned(),
            resident_id: record.resident_id,
            municipality_code: municipality.municipality_code.clone(),
            pdf_sha256: sha,
            fee_yen: fee,
            issued_at: now,
            channel: "konbini".into(),
        })
        .await?;
    for r in shown {
        s.store
            .access()
            .record_access(
                r.id.0,
                actor,
                &now,
                "certificate.konbini",
                &format!("{}の交付（コンビニ交付）", kind.label()),
                &format!(
                    "{} issued at a multi-copy machine, code {code}",
                    kind.label()
                ),
            )
            .await?;
    }
    Ok(IssuedDocument {
        pdf,
        code,
        fee_yen: fee,
        kind,
    })
}

/// What the verification page shows for a code: the kind, the municipality, when, and the
/// SHA-256 of the PDF issued (nothing personal).
pub async fn verify_code(s: &Services, code: &str) -> Result<(IssuedRecord, String)> {
    let code = normalise_code(code);
    let Some(r) = s.store.konbini().issued(&code).await? else {
        return Err(Refusal::not_found(
            "certificate.unknown",
            "no certificate was issued with this code: the printed certificate may be altered or not genuine",
        )
        .into());
    };
    let name = s
        .store
        .konbini()
        .municipality(&r.municipality_code)
        .await?
        .map(|m| m.name)
        .unwrap_or_else(|| r.municipality_code.clone());
    Ok((r, name))
}

/// A municipality takes part (or changes its fees).
pub async fn set_municipality(s: &Services, m: &KonbiniMunicipality) -> Result<()> {
    if openmyna_ids::MunicipalityCode::parse(&m.municipality_code).is_err() {
        return Err(Refusal::invalid(
            "municipality_code.format",
            "a municipality code is the 6-digit 全国地方公共団体コード with its check digit",
        )
        .with_field("municipality_code")
        .into());
    }
    if !(OPENS <= m.opens_minute && m.opens_minute < m.closes_minute && m.closes_minute <= CLOSES) {
        return Err(Refusal::invalid(
            "hours.range",
            "a municipality's hours lie within the machines' 06:30–23:00, opening before closing",
        )
        .with_field("opens")
        .into());
    }
    for fee in [m.fee_juminhyo, m.fee_kisai_jiko, m.fee_inkan] {
        if !(0..=10_000).contains(&fee) {
            return Err(Refusal::invalid("fee.range", "a fee is 0 to 10,000 yen").into());
        }
    }
    if m.name.trim().is_empty() || m.name.chars().count() > 50 {
        return Err(Refusal::invalid(
            "name.length",
            "the municipality's name has 1 to 50 characters",
        )
        .into());
    }
    s.store
        .konbini()
        .set_municipality(m, &s.clock.now())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_hours() {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
        assert!(open_at(&at("2026-12-04T06:30:00+09:00")));
        assert!(open_at(&at("2026-12-04T22:59:00+09:00")));
        assert!(!open_at(&at("2026-12-04T23:00:00+09:00")));
        assert!(!open_at(&at("2026-12-04T06:29:00+09:00")));
        assert!(!open_at(&at("2026-12-29T12:00:00+09:00")));
        assert!(!open_at(&at("2027-01-03T12:00:00+09:00")));
        assert!(open_at(&at("2027-01-04T12:00:00+09:00")));
        // 21:30 UTC is 06:30 the next day in Japan.
        assert!(open_at(&at("2026-12-03T21:30:00+00:00")));
    }

    #[test]
    fn codes_are_normalised_as_typed() {
        assert_eq!(
            normalise_code(" abcd efgh-2345 6789"),
            "ABCD-EFGH-2345-6789"
        );
    }
}
