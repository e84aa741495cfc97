//! The CA's use cases against the in-memory store ([`crate::memory`]): status changes,
//! CRLs by scope and partition, read back with the streaming reader and checked against the
//! root's key. No database, a `ManualClock`, seeded randomness.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate};
use der::{Decode, Encode};
use openmyna_core::{ManualClock, SeededEntropy};

use crate::crl_reader::CrlReader;
use crate::memory::MemoryJpkiStore;
use crate::service::{CardCertificates, CertState, CrlMeta};
use crate::{Action, Holder, Jpki, JpkiConfig, JpkiError, KeyKind, Reason, RootKind, SigningKey};

fn block<F: Future>(f: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

struct Kit {
    jpki: Jpki<MemoryJpkiStore>,
    clock: Arc<ManualClock>,
    _crls: tempfile::TempDir,
}

fn kit(partition_size: i64) -> Kit {
    let start = DateTime::parse_from_rfc3339("2026-06-01T10:00:00+09:00").unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let crls = tempfile::tempdir().unwrap();
    let mut config = JpkiConfig::new("http://ca.test", crls.path());
    config.root_key = KeyKind::EcP384;
    config.partition_size = partition_size;
    let jpki = block(Jpki::open(
        MemoryJpkiStore::new(),
        clock.clone(),
        Arc::new(SeededEntropy::new(3)),
        config,
    ))
    .unwrap();
    Kit {
        jpki,
        clock,
        _crls: crls,
    }
}

impl Kit {
    fn issue(&self, resident_id: i64) -> CardCertificates {
        let key = |_| {
            SigningKey::generate(KeyKind::EcP256)
                .unwrap()
                .spki_der()
                .unwrap()
        };
        let holder = Holder {
            name: "山田\u{3000}太郎".into(),
            birth_date: NaiveDate::from_ymd_opt(1980, 2, 17).unwrap(),
            sex_code: 1,
            address: "東京都千代田区霞が関一丁目1番1号".into(),
            municipality_code: "131016".into(),
        };
        block(self.jpki.issue_card(
            resident_id,
            &holder,
            Some(&key(0)),
            &key(1),
            NaiveDate::from_ymd_opt(2035, 2, 17).unwrap(),
            None,
        ))
        .unwrap()
    }

    /// The serials (content octets, hex) a CRL lists, after checking its signature with the
    /// root's key.
    fn listed(&self, meta: &CrlMeta) -> Vec<String> {
        let root =
            x509_cert::Certificate::from_der(&self.jpki.root_certificate(meta.root).unwrap())
                .unwrap();
        let spki = root
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap();
        let mut r = CrlReader::open(std::fs::File::open(&meta.file).unwrap()).unwrap();
        let mut serials = Vec::new();
        while let Some(e) = r.next_entry().unwrap() {
            serials.push(e.serial.iter().map(|b| format!("{b:02x}")).collect());
        }
        let trailer = r.finish(&spki).unwrap();
        assert_eq!(trailer.entries as usize, serials.len());
        assert_eq!(Some(meta.number as u64), trailer.number);
        serials
    }
}

fn hex_octets(serial: &str) -> String {
    // A serial as its INTEGER content octets: a leading zero octet where the top bit is set.
    let s = serial.to_ascii_lowercase();
    match u8::from_str_radix(s.get(..2).unwrap_or("00"), 16) {
        Ok(b) if b >= 0x80 => format!("00{s}"),
        _ => s,
    }
}

fn refused_code(r: Result<impl std::fmt::Debug, JpkiError>) -> String {
    match r {
        Err(JpkiError::Refusal(f)) => f.code().to_owned(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_status_moves_only_along_the_revocation_state_machine() {
    let k = kit(1000);
    let sign = k.issue(1).signing.unwrap().serial;
    let j = &k.jpki;
    assert_eq!(
        block(j.change_status(&sign, Action::Hold)).unwrap().status,
        CertState::Held
    );
    refused_code(block(j.change_status(&sign, Action::Hold)));
    assert_eq!(
        block(j.change_status(&sign, Action::Release))
            .unwrap()
            .status,
        CertState::Good
    );
    k.clock.advance(Duration::minutes(5));
    let revoked = block(j.change_status(&sign, Action::Revoke(Reason::KeyCompromise))).unwrap();
    assert_eq!(revoked.status, CertState::Revoked);
    assert_eq!(revoked.reason, Some(Reason::KeyCompromise));
    // Revocation is final.
    refused_code(block(j.change_status(&sign, Action::Release)));
    refused_code(block(
        j.change_status(&sign, Action::Revoke(Reason::Superseded)),
    ));
    assert_eq!(
        block(j.certificate(&sign)).unwrap().reason,
        Some(Reason::KeyCompromise)
    );
}

#[test]
fn a_revocation_is_in_the_next_full_crl_and_delta_and_a_release_leaves_them() {
    let k = kit(1000);
    let a = k.issue(1).signing.unwrap().serial;
    let b = k.issue(2).signing.unwrap().serial;
    let j = &k.jpki;
    // The first certificate brought the root's CRLs into being, empty.
    let first = block(j.latest_crl(RootKind::Sign, "full", None))
        .unwrap()
        .unwrap();
    assert!(k.listed(&first).is_empty());
    block(j.change_status(&a, Action::Revoke(Reason::AffiliationChanged))).unwrap();
    block(j.change_status(&b, Action::Hold)).unwrap();
    let full = block(j.publish_full(RootKind::Sign)).unwrap();
    let full = full.iter().find(|m| m.scope == "full").unwrap();
    let mut listed = k.listed(full);
    listed.sort();
    let mut want = vec![hex_octets(&a), hex_octets(&b)];
    want.sort();
    assert_eq!(listed, want);
    assert!(full.number > first.number);
    // Released after the full CRL: the delta says so (removeFromCRL), the next full omits it.
    block(j.change_status(&b, Action::Release)).unwrap();
    let delta = block(j.publish_delta(RootKind::Sign)).unwrap();
    assert_eq!(k.listed(&delta), [hex_octets(&b)]);
    let again = block(j.publish_full(RootKind::Sign)).unwrap();
    let again = again.iter().find(|m| m.scope == "full").unwrap();
    assert_eq!(k.listed(again), [hex_octets(&a)]);
    // The authentication root is untouched.
    let auth = block(j.publish_full(RootKind::Auth)).unwrap();
    assert!(auth.iter().all(|m| m.entries == 0), "{auth:?}");
}

#[test]
fn each_partition_has_its_own_crl_from_its_first_certificate() {
    let k = kit(2);
    // Signing certificates 1 and 2 are partition 0, the third is partition 1.
    let serials: Vec<String> = (1..=3)
        .map(|r| k.issue(r).signing.unwrap().serial)
        .collect();
    let j = &k.jpki;
    assert_eq!(block(j.partition_count(RootKind::Sign)).unwrap(), 2);
    for p in [0, 1] {
        let crl = block(j.latest_crl(RootKind::Sign, "partition", Some(p)))
            .unwrap()
            .unwrap_or_else(|| panic!("partition {p} has no CRL"));
        assert!(k.listed(&crl).is_empty());
    }
    block(j.change_status(&serials[2], Action::Revoke(Reason::Unspecified))).unwrap();
    let published = block(j.publish_partition(RootKind::Sign, 1)).unwrap();
    assert_eq!(k.listed(&published[0]), [hex_octets(&serials[2])]);
    let published = block(j.publish_partition(RootKind::Sign, 0)).unwrap();
    assert!(k.listed(&published[0]).is_empty());
}
