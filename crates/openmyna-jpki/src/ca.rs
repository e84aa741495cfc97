//! A JPKI root with its delegated OCSP responder, and issuance of card certificates.

use chrono::{Datelike, Duration, NaiveDate};
use der::Encode;
use openmyna_core::Refusal;
use openmyna_core::{Entropy, Timestamp, age_on};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::name::Name;

use crate::key::{KeyKind, SigningKey, key_id_sha1};
use crate::profile::{
    CertSpec, Endpoints, RootKind, card_extensions, name, other_name, parse_certificate,
    responder_certificate, root_certificate, root_name, sign_certificate,
};
use crate::serial::Serial;
use crate::validity::card_certificate_not_after;
use crate::{JpkiError, oid};

/// How long a responder certificate lives; it is renewed when less than a quarter remains.
pub const RESPONDER_VALIDITY_DAYS: i64 = 365;

/// The delegated OCSP responder of a root.
pub struct Responder {
    pub key: SigningKey,
    pub cert_der: Vec<u8>,
    /// SHA-1 of the responder's public key: its `byKey` responder id.
    pub key_id: [u8; 20],
    pub not_after: Timestamp,
}

/// A root CA: its key, certificate, and responder.
pub struct RootCa {
    pub kind: RootKind,
    pub key: SigningKey,
    pub cert_der: Vec<u8>,
    pub name: Name,
    pub ski: [u8; 20],
    pub responder: Responder,
}

impl std::fmt::Debug for RootCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootCa")
            .field("kind", &self.kind)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The validity of a root certificate (notBefore, notAfter).
fn root_validity(cert_der: &[u8]) -> Result<(Timestamp, Timestamp), JpkiError> {
    let c = parse_certificate(cert_der)?;
    Ok((
        crate::time_to_timestamp(&c.tbs_certificate.validity.not_before)?,
        crate::time_to_timestamp(&c.tbs_certificate.validity.not_after)?,
    ))
}

/// A responder certificate for a year (five minutes back for clock skew), always within its
/// root's validity: a validator refuses a responder certificate that outlives or precedes the
/// root that signed it.
fn new_responder(
    kind: RootKind,
    root_key: &SigningKey,
    root_cert: &[u8],
    now: &Timestamp,
    entropy: &dyn Entropy,
) -> Result<Responder, JpkiError> {
    let key = SigningKey::generate(KeyKind::EcP256)?;
    let (root_from, root_until) = root_validity(root_cert)?;
    let not_before = (*now - Duration::minutes(5)).max(root_from);
    let not_after = (*now + Duration::days(RESPONDER_VALIDITY_DAYS)).min(root_until);
    let cert_der = responder_certificate(
        kind,
        root_key,
        &key,
        Serial::generate(entropy),
        &not_before,
        &not_after,
    )?;
    Ok(Responder {
        key_id: key_id_sha1(&key.spki()?),
        key,
        cert_der,
        not_after,
    })
}

/// Who a card certificate is for: the registry's basic four information.
#[derive(Debug, Clone)]
pub struct Holder {
    pub name: String,
    pub birth_date: NaiveDate,
    /// JIS X 0303: 1 男, 2 女, 9 適用不能.
    pub sex_code: u8,
    pub address: String,
    pub municipality_code: String,
}

/// A certificate just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub serial: Serial,
    pub der: Vec<u8>,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    pub partition: i64,
}

/// The youngest age at which a signing certificate is issued.
pub const MIN_SIGNING_AGE: u32 = 15;

impl RootCa {
    /// Creates a root: a new key of `key_kind`, a self-signed ten-year certificate, and its
    /// responder.
    pub fn create(
        kind: RootKind,
        key_kind: KeyKind,
        now: &Timestamp,
        entropy: &dyn Entropy,
    ) -> Result<RootCa, JpkiError> {
        let key = SigningKey::generate(key_kind)?;
        let cert_der = root_certificate(kind, &key, Serial::generate(entropy), now)?;
        let responder = new_responder(kind, &key, &cert_der, now, entropy)?;
        Ok(RootCa {
            kind,
            ski: key_id_sha1(&key.spki()?),
            name: root_name(kind)?,
            key,
            cert_der,
            responder,
        })
    }

    /// Rebuilds a root from stored keys (PKCS#8) and certificates.
    pub fn load(
        kind: RootKind,
        key_kind: KeyKind,
        key_pkcs8: &[u8],
        cert_der: Vec<u8>,
        responder_pkcs8: &[u8],
        responder_cert_der: Vec<u8>,
    ) -> Result<RootCa, JpkiError> {
        let key = SigningKey::from_pkcs8(key_kind, key_pkcs8)?;
        let rkey = SigningKey::from_pkcs8(KeyKind::EcP256, responder_pkcs8)?;
        let rcert = parse_certificate(&responder_cert_der)?;
        let not_after = crate::time_to_timestamp(&rcert.tbs_certificate.validity.not_after)?;
        Ok(RootCa {
            kind,
            ski: key_id_sha1(&key.spki()?),
            name: root_name(kind)?,
            key,
            cert_der,
            responder: Responder {
                key_id: key_id_sha1(&rkey.spki()?),
                key: rkey,
                cert_der: responder_cert_der,
                not_after,
            },
        })
    }

    /// Issues a fresh responder certificate if the current one has less than a quarter of
    /// its life left (or, near the root's end, of what the root has left). Returns whether
    /// it did.
    pub fn renew_responder_if_due(
        &mut self,
        now: &Timestamp,
        entropy: &dyn Entropy,
    ) -> Result<bool, JpkiError> {
        if self.responder.not_after - *now > Duration::days(RESPONDER_VALIDITY_DAYS / 4) {
            return Ok(false);
        }
        self.responder = new_responder(self.kind, &self.key, &self.cert_der, now, entropy)?;
        Ok(true)
    }

    /// The root's public key info.
    pub fn spki(&self) -> Result<SubjectPublicKeyInfoOwned, JpkiError> {
        self.key.spki()
    }

    /// DER of the root's subject name (for OCSP CertID name hashes).
    pub fn name_der(&self) -> Result<Vec<u8>, JpkiError> {
        Ok(self.name.to_der()?)
    }

    /// 署名用電子証明書: subject `C=JP, L=<prefecture>, L=<city>, CN=<request time><sequence>
    /// <window>`, SAN otherNames with the four information, key usage digitalSignature +
    /// nonRepudiation. Refused for holders under 15.
    #[allow(clippy::too_many_arguments)]
    pub fn issue_signing(
        &self,
        holder: &Holder,
        subject_spki_der: &[u8],
        issued_at: &Timestamp,
        card_expiry: NaiveDate,
        partition: i64,
        sequence: i64,
        endpoints: &Endpoints,
        entropy: &dyn Entropy,
    ) -> Result<Issued, JpkiError> {
        self.expect_kind(RootKind::Sign)?;
        let age = age_on(holder.birth_date, issued_at.date_naive());
        if age < MIN_SIGNING_AGE {
            return Err(JpkiError::Refusal(Refusal::refused(
                "holder.under_15",
                format!(
                    "a signing certificate is not issued to residents under {MIN_SIGNING_AGE} (the holder is {age})"
                ),
            )));
        }
        let spki = parse_spki(subject_spki_der)?;
        let (pref, city) = split_address(&holder.address);
        let cn = format!(
            "{}{:05}{}",
            issued_at.format("%Y%m%d%H%M%S"),
            sequence.rem_euclid(100_000),
            holder.municipality_code
        );
        let subject = name(&[
            (oid::AT_COUNTRY, "JP"),
            (oid::AT_LOCALITY, &pref),
            (oid::AT_LOCALITY, &city),
            (oid::AT_COMMON_NAME, &cn),
        ])?;
        let san = signing_san(holder)?;
        self.issue(
            subject,
            spki,
            holder,
            issued_at,
            card_expiry,
            partition,
            endpoints,
            entropy,
            Some(san),
        )
    }

    /// 利用者証明用電子証明書: subject `C=JP, CN=<opaque>`, no personal information.
    #[allow(clippy::too_many_arguments)]
    pub fn issue_authentication(
        &self,
        holder: &Holder,
        subject_spki_der: &[u8],
        issued_at: &Timestamp,
        card_expiry: NaiveDate,
        partition: i64,
        endpoints: &Endpoints,
        entropy: &dyn Entropy,
    ) -> Result<Issued, JpkiError> {
        self.expect_kind(RootKind::Auth)?;
        let spki = parse_spki(subject_spki_der)?;
        let mut opaque = [0u8; 16];
        entropy.fill(&mut opaque);
        let cn: String = opaque.iter().map(|b| format!("{b:02X}")).collect();
        let subject = name(&[(oid::AT_COUNTRY, "JP"), (oid::AT_COMMON_NAME, &cn)])?;
        self.issue(
            subject,
            spki,
            holder,
            issued_at,
            card_expiry,
            partition,
            endpoints,
            entropy,
            None,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn issue(
        &self,
        subject: Name,
        spki: SubjectPublicKeyInfoOwned,
        holder: &Holder,
        issued_at: &Timestamp,
        card_expiry: NaiveDate,
        partition: i64,
        endpoints: &Endpoints,
        entropy: &dyn Entropy,
        san: Option<SubjectAltName>,
    ) -> Result<Issued, JpkiError> {
        let not_before = *issued_at;
        let not_after = card_certificate_not_after(holder.birth_date, issued_at, card_expiry);
        if not_after <= not_before {
            return Err(JpkiError::Refusal(Refusal::refused(
                "card.expired",
                "the card has expired; no certificate can be issued for it",
            )));
        }
        let serial = Serial::generate(entropy);
        let subject_ski = key_id_sha1(&spki);
        let extensions = card_extensions(
            self.kind,
            &self.ski,
            &subject_ski,
            endpoints,
            partition,
            san,
        )?;
        let der = sign_certificate(
            CertSpec {
                serial: serial.clone(),
                subject,
                spki,
                not_before,
                not_after,
                extensions,
            },
            &self.name,
            &self.key,
        )?;
        Ok(Issued {
            serial,
            der,
            not_before,
            not_after,
            partition,
        })
    }

    fn expect_kind(&self, kind: RootKind) -> Result<(), JpkiError> {
        if self.kind == kind {
            Ok(())
        } else {
            Err(JpkiError::Refusal(Refusal::invalid(
                "root.kind",
                format!(
                    "the {} root cannot issue this certificate",
                    self.kind.as_str()
                ),
            )))
        }
    }
}

fn parse_spki(der_bytes: &[u8]) -> Result<SubjectPublicKeyInfoOwned, JpkiError> {
    use der::Decode;
    let spki = SubjectPublicKeyInfoOwned::from_der(der_bytes).map_err(|e| {
        JpkiError::Refusal(Refusal::invalid(
            "public_key.der",
            format!("the public key is not a DER SubjectPublicKeyInfo: {e}"),
        ))
    })?;
    let ok = spki.algorithm.oid == oid::RSA_ENCRYPTION || spki.algorithm.oid == oid::EC_PUBLIC_KEY;
    if !ok {
        return Err(JpkiError::Refusal(Refusal::invalid(
            "public_key.algorithm",
            format!(
                "public key algorithm {} is not RSA or EC",
                spki.algorithm.oid
            ),
        )));
    }
    Ok(spki)
}

/// The signing certificate's SAN: otherNames 1.2.392.200149.8.5.5.x in the order a real card
/// shows them (.1 name, .4 birth date, .3 sex, .5 address, .2 name flags, .6 address flags).
pub fn signing_san(holder: &Holder) -> Result<SubjectAltName, JpkiError> {
    Ok(SubjectAltName(vec![
        other_name(oid::SAN_NAME, &holder.name)?,
        other_name(oid::SAN_BIRTH_DATE, &era_birth_date(holder.birth_date))?,
        other_name(oid::SAN_SEX, &holder.sex_code.to_string())?,
        other_name(oid::SAN_ADDRESS, &holder.address)?,
        other_name(oid::SAN_NAME_FLAGS, &substitute_flags(&holder.name))?,
        other_name(oid::SAN_ADDRESS_FLAGS, &substitute_flags(&holder.address))?,
    ]))
}

/// `EYYYYMMDD`: E is the era of the date (1 明治, 2 大正, 3 昭和, 4 平成, 5 令和; 0 unknown),
/// followed by the Gregorian date.
pub fn era_birth_date(d: NaiveDate) -> String {
    let era = openmyna_core::era::EraDate::of(d).map_or(0, |e| e.era.code());
    format!("{era}{:04}{:02}{:02}", d.year(), d.month(), d.day())
}

/// One flag per character: '1' where the character is outside the repertoire a card can
/// print (JIS X 0208) and a substitute character (代替文字) is used, else '0'. Approximated
/// by Unicode block: ASCII, JIS symbols, kana, full-width forms and the unified CJK block are
/// '0'; extension blocks, compatibility ideographs and everything else are '1'.
pub fn substitute_flags(s: &str) -> String {
    s.chars()
        .map(|c| {
            let printable = matches!(c,
                ' '..='~'
                | '\u{3000}'..='\u{30FF}'
                | '\u{4E00}'..='\u{9FA5}'
                | '\u{FF01}'..='\u{FF9F}'
                | '\u{2010}'..='\u{2312}'
                | '\u{00A7}' | '\u{00A8}' | '\u{00B0}' | '\u{00B1}' | '\u{00B4}' | '\u{00B6}'
                | '\u{00D7}' | '\u{00F7}'
                | '\u{0391}'..='\u{03C9}'
                | '\u{0401}'..='\u{0451}');
            if printable { '0' } else { '1' }
        })
        .collect()
}

/// Splits a registry address into prefecture and municipality (the subject's two L values):
/// `東京都千代田区霞が関…` → (`東京都`, `千代田区`), `北海道札幌市中央区…` → (`北海道`, `札幌市`),
/// `神奈川県足柄下郡箱根町…` → (`神奈川県`, `足柄下郡箱根町`).
pub fn split_address(address: &str) -> (String, String) {
    let chars: Vec<char> = address.chars().collect();
    let pref_len = if address.starts_with("北海道") {
        3
    } else if chars.get(3) == Some(&'県') {
        4
    } else if matches!(chars.get(2), Some('都' | '府' | '県')) {
        3
    } else {
        0
    };
    // `pref_len` is at most the length (北海道 is 3 characters).
    let (pref, rest) = chars
        .split_at_checked(pref_len)
        .unwrap_or((&[], chars.as_slice()));
    let pref: String = pref.iter().collect();
    let mut end = None;
    let mut in_county = false;
    for (i, c) in rest.iter().enumerate() {
        match c {
            '郡' => in_county = true,
            '市' | '区' if !in_county => {
                end = Some(i + 1);
                break;
            }
            '町' | '村' => {
                end = Some(i + 1);
                break;
            }
            _ => {}
        }
    }
    let city: String = rest.iter().take(end.unwrap_or(10)).collect();
    (
        if pref.is_empty() { "-".into() } else { pref },
        if city.is_empty() { "-".into() } else { city },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eras() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(era_birth_date(d("1990-05-01")), "419900501");
        assert_eq!(era_birth_date(d("1989-01-07")), "319890107");
        assert_eq!(era_birth_date(d("2019-05-01")), "520190501");
        assert_eq!(era_birth_date(d("1926-12-24")), "219261224");
        assert_eq!(era_birth_date(d("1900-01-01")), "119000101");
    }

    #[test]
    fn flags() {
        assert_eq!(substitute_flags("山田\u{3000}太郎"), "00000");
        // 𠮷 (U+20BB7) is outside JIS X 0208.
        assert_eq!(substitute_flags("𠮷田"), "10");
    }

    #[test]
    fn addresses() {
        let s = |a| split_address(a);
        assert_eq!(
            s("東京都千代田区霞が関一丁目1番1号"),
            ("東京都".into(), "千代田区".into())
        );
        assert_eq!(
            s("北海道札幌市中央区北一条西二丁目"),
            ("北海道".into(), "札幌市".into())
        );
        assert_eq!(
            s("神奈川県足柄下郡箱根町湯本"),
            ("神奈川県".into(), "足柄下郡箱根町".into())
        );
        assert_eq!(s("京都府京都市中京区"), ("京都府".into(), "京都市".into()));
        assert_eq!(
            s("大阪府大阪市北区梅田一丁目1番"),
            ("大阪府".into(), "大阪市".into())
        );
    }
}

#[cfg(test)]
mod issuance_tests {
    use super::*;
    use chrono::DateTime;
    use der::Decode;
    use openmyna_core::SeededEntropy;

    /// The responder's certificate never starts before its root nor ends after it, at the
    /// root's creation and at renewals near its end.
    #[test]
    fn responder_certificates_stay_within_the_root() {
        let e = SeededEntropy::new(3);
        let created = DateTime::parse_from_rfc3339("2026-04-01T09:00:00+09:00").unwrap();
        let mut ca = RootCa::create(RootKind::Auth, KeyKind::EcP256, &created, &e).unwrap();
        let (root_from, root_until) = root_validity(&ca.cert_der).unwrap();
        let within = |ca: &RootCa| {
            let (from, until) = root_validity(&ca.responder.cert_der).unwrap();
            assert!(from >= root_from && until <= root_until, "{from}..{until}");
        };
        within(&ca);
        for years in [5, 9, 10] {
            let later = root_until - Duration::days(365 * (10 - years) + 30);
            ca.renew_responder_if_due(&later, &e).unwrap();
            within(&ca);
        }
    }
    use x509_cert::Certificate;

    fn now() -> Timestamp {
        DateTime::parse_from_rfc3339("2026-04-01T10:00:00+09:00").unwrap()
    }

    fn holder(birth: &str) -> Holder {
        Holder {
            name: "山田\u{3000}太郎".into(),
            birth_date: NaiveDate::parse_from_str(birth, "%Y-%m-%d").unwrap(),
            sex_code: 1,
            address: "東京都千代田区霞が関一丁目1番1号".into(),
            municipality_code: "131016".into(),
        }
    }

    #[test]
    fn issues_verifiable_certificates() {
        let e = SeededEntropy::new(3);
        let sign = RootCa::create(RootKind::Sign, KeyKind::Rsa2048, &now(), &e).unwrap();
        let auth = RootCa::create(RootKind::Auth, KeyKind::Rsa2048, &now(), &e).unwrap();
        let card_key = SigningKey::generate(KeyKind::Rsa2048).unwrap();
        let ep = Endpoints::new("http://127.0.0.1:8080");
        let expiry = NaiveDate::from_ymd_opt(2036, 5, 1).unwrap();
        let s = sign
            .issue_signing(
                &holder("1990-05-01"),
                &card_key.spki_der().unwrap(),
                &now(),
                expiry,
                0,
                1,
                &ep,
                &e,
            )
            .unwrap();
        let a = auth
            .issue_authentication(
                &holder("1990-05-01"),
                &card_key.spki_der().unwrap(),
                &now(),
                expiry,
                3,
                &ep,
                &e,
            )
            .unwrap();
        for (issued, root) in [(&s, &sign), (&a, &auth)] {
            let cert = Certificate::from_der(&issued.der).unwrap();
            let tbs = der::Encode::to_der(&cert.tbs_certificate).unwrap();
            crate::key::verify(
                &root.key.spki_der().unwrap(),
                &tbs,
                cert.signature.raw_bytes(),
            )
            .unwrap();
            assert_eq!(
                cert.tbs_certificate.serial_number.as_bytes(),
                issued.serial.as_bytes()
            );
        }
        assert_eq!(s.not_after.to_rfc3339(), "2030-05-01T23:59:59+09:00");
        // The responder certificate chains to the root too.
        let r = Certificate::from_der(&sign.responder.cert_der).unwrap();
        let tbs = der::Encode::to_der(&r.tbs_certificate).unwrap();
        crate::key::verify(&sign.key.spki_der().unwrap(), &tbs, r.signature.raw_bytes()).unwrap();
    }

    #[test]
    fn no_signing_certificate_under_15() {
        let e = SeededEntropy::new(4);
        let sign = RootCa::create(RootKind::Sign, KeyKind::EcP384, &now(), &e).unwrap();
        let k = SigningKey::generate(KeyKind::EcP384).unwrap();
        let ep = Endpoints::new("http://x");
        let expiry = NaiveDate::from_ymd_opt(2031, 1, 1).unwrap();
        let err = sign
            .issue_signing(
                &holder("2012-04-02"),
                &k.spki_der().unwrap(),
                &now(),
                expiry,
                0,
                1,
                &ep,
                &e,
            )
            .unwrap_err();
        assert!(
            matches!(&err, JpkiError::Refusal(r) if r.code() == "holder.under_15"
                && r.kind() == openmyna_core::RefusalKind::Refused),
            "{err}"
        );
        assert!(
            sign.issue_signing(
                &holder("2011-04-01"),
                &k.spki_der().unwrap(),
                &now(),
                expiry,
                0,
                1,
                &ep,
                &e
            )
            .is_ok()
        );
        assert!(
            sign.issue_signing(
                &holder("1990-01-01"),
                b"not der",
                &now(),
                expiry,
                0,
                1,
                &ep,
                &e
            )
            .is_err()
        );
    }
}
