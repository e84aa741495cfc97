//! An in-memory [`JpkiStore`], for testing the use cases built on the CA without a database
//! (feature `memory`). It keeps the rules storage keeps: a status changes only from the state
//! the caller read, the status log numbers every change, revoked entries are kept per root
//! and partition, and serials are unique.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use openmyna_core::Timestamp;

use crate::JpkiError;
use crate::profile::RootKind;
use crate::service::{
    CertRecord, CertState, CrlMeta, JpkiStore, LogEntry, RevokedPage, RevokedTotals, StatusChange,
    StoredRoot,
};

#[derive(Default)]
struct Tables {
    roots: Vec<StoredRoot>,
    public_urls: Vec<String>,
    issued: HashMap<RootKind, i64>,
    crl_numbers: HashMap<RootKind, i64>,
    certificates: BTreeMap<String, CertRecord>,
    /// The status log: (root, partition, entry).
    log: Vec<(RootKind, i64, LogEntry)>,
    /// serial → (root, partition, seq, entry DER).
    revoked: HashMap<String, (RootKind, i64, i64, Vec<u8>)>,
    crls: Vec<CrlMeta>,
}

/// The CA's storage in memory.
#[derive(Default)]
pub struct MemoryJpkiStore(Mutex<Tables>);

impl MemoryJpkiStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn tables(&self) -> Result<MutexGuard<'_, Tables>, JpkiError> {
        self.0
            .lock()
            .map_err(|_| JpkiError::Storage("the in-memory store's lock was poisoned".into()))
    }
}

fn bump(map: &mut HashMap<RootKind, i64>, root: RootKind) -> i64 {
    let n = map.entry(root).or_insert(0);
    *n += 1;
    *n
}

fn in_scope(partition: Option<i64>, p: i64) -> bool {
    partition.is_none_or(|want| want == p)
}

impl JpkiStore for MemoryJpkiStore {
    async fn load_roots(&self) -> Result<Vec<StoredRoot>, JpkiError> {
        Ok(self.tables()?.roots.clone())
    }

    async fn save_root(&self, root: &StoredRoot) -> Result<(), JpkiError> {
        let mut t = self.tables()?;
        t.roots.retain(|r| r.kind != root.kind);
        t.roots.push(root.clone());
        Ok(())
    }

    async fn public_url(&self) -> Result<Option<String>, JpkiError> {
        Ok(self.tables()?.public_urls.last().cloned())
    }

    async fn record_public_url(
        &self,
        url: &str,
        _at: &Timestamp,
        _actor: &str,
        _reason: &str,
    ) -> Result<(), JpkiError> {
        self.tables()?.public_urls.push(url.to_owned());
        Ok(())
    }

    async fn next_issuance(&self, root: RootKind) -> Result<i64, JpkiError> {
        Ok(bump(&mut self.tables()?.issued, root))
    }

    async fn next_crl_number(&self, root: RootKind) -> Result<i64, JpkiError> {
        Ok(bump(&mut self.tables()?.crl_numbers, root))
    }

    async fn insert_certificates(&self, records: &[CertRecord]) -> Result<(), JpkiError> {
        let mut t = self.tables()?;
        if let Some(dup) = records
            .iter()
            .find(|r| t.certificates.contains_key(&r.serial))
        {
            return Err(JpkiError::Storage(format!(
                "serial {} is already recorded",
                dup.serial
            )));
        }
        for r in records {
            t.certificates.insert(r.serial.clone(), r.clone());
        }
        Ok(())
    }

    async fn certificate(&self, serial: &str) -> Result<Option<CertRecord>, JpkiError> {
        Ok(self.tables()?.certificates.get(serial).cloned())
    }

    async fn certificates_of_resident(
        &self,
        resident_id: i64,
    ) -> Result<Vec<CertRecord>, JpkiError> {
        let mut v: Vec<CertRecord> = self
            .tables()?
            .certificates
            .values()
            .filter(|c| c.resident_id == resident_id)
            .cloned()
            .collect();
        v.sort_by(|a, b| (a.issued_at, a.root.as_str()).cmp(&(b.issued_at, b.root.as_str())));
        Ok(v)
    }

    async fn apply_status(&self, c: &StatusChange) -> Result<bool, JpkiError> {
        let mut t = self.tables()?;
        let Some(cert) = t.certificates.get_mut(&c.serial) else {
            return Ok(false);
        };
        if cert.status != c.from {
            return Ok(false);
        }
        cert.status = c.to;
        (cert.status_at, cert.reason) = match c.to {
            CertState::Good => (None, None),
            _ => (Some(c.at), c.reason),
        };
        let seq = t.log.len() as i64 + 1;
        t.log.push((
            c.root,
            c.partition,
            LogEntry {
                seq,
                serial: c.serial.clone(),
                state: c.to,
                at: c.at,
                reason: c.reason,
            },
        ));
        match &c.entry_der {
            Some(der) => {
                t.revoked
                    .insert(c.serial.clone(), (c.root, c.partition, seq, der.clone()));
            }
            None => {
                t.revoked.remove(&c.serial);
            }
        }
        Ok(true)
    }

    async fn revoked_totals(
        &self,
        root: RootKind,
        partition: Option<i64>,
    ) -> Result<RevokedTotals, JpkiError> {
        let t = self.tables()?;
        let mut totals = RevokedTotals {
            snapshot_seq: t
                .log
                .iter()
                .filter(|(r, _, _)| *r == root)
                .map(|(_, _, e)| e.seq)
                .max()
                .unwrap_or(0),
            ..RevokedTotals::default()
        };
        for (r, p, _, der) in t.revoked.values() {
            if *r == root && in_scope(partition, *p) {
                totals.entries += 1;
                totals.bytes += der.len() as i64;
            }
        }
        Ok(totals)
    }

    async fn revoked_page(
        &self,
        root: RootKind,
        partition: Option<i64>,
        after: i64,
        limit: i64,
    ) -> Result<Option<RevokedPage>, JpkiError> {
        let t = self.tables()?;
        let mut page: Vec<(i64, &Vec<u8>)> = t
            .revoked
            .values()
            .filter(|(r, p, seq, _)| *r == root && in_scope(partition, *p) && *seq > after)
            .map(|(_, _, seq, der)| (*seq, der))
            .collect();
        page.sort_by_key(|(seq, _)| *seq);
        page.truncate(usize::try_from(limit).unwrap_or(0));
        let Some(&(last, _)) = page.last() else {
            return Ok(None);
        };
        Ok(Some(RevokedPage {
            last,
            entries: page.len() as u64,
            der: page
                .iter()
                .flat_map(|(_, der)| der.iter().copied())
                .collect(),
        }))
    }

    async fn status_log_after(
        &self,
        root: RootKind,
        after_seq: i64,
        partition: Option<i64>,
    ) -> Result<Vec<LogEntry>, JpkiError> {
        Ok(self
            .tables()?
            .log
            .iter()
            .filter(|(r, p, e)| *r == root && e.seq > after_seq && in_scope(partition, *p))
            .map(|(_, _, e)| e.clone())
            .collect())
    }

    async fn issued_count(&self, root: RootKind) -> Result<i64, JpkiError> {
        Ok(self.tables()?.issued.get(&root).copied().unwrap_or(0))
    }

    async fn record_crl(&self, meta: &CrlMeta) -> Result<(), JpkiError> {
        self.tables()?.crls.push(meta.clone());
        Ok(())
    }

    async fn latest_crl(
        &self,
        root: RootKind,
        scope: &str,
        partition: Option<i64>,
    ) -> Result<Option<CrlMeta>, JpkiError> {
        Ok(self
            .tables()?
            .crls
            .iter()
            .filter(|m| m.root == root && m.scope == scope && m.partition == partition)
            .max_by_key(|m| m.number)
            .cloned())
    }

    async fn crl_history(&self, limit: i64) -> Result<Vec<CrlMeta>, JpkiError> {
        let t = self.tables()?;
        Ok(t.crls
            .iter()
            .rev()
            .take(usize::try_from(limit.clamp(1, 1000)).unwrap_or(1))
            .cloned()
            .collect())
    }

    async fn latest_crls(&self) -> Result<Vec<CrlMeta>, JpkiError> {
        let t = self.tables()?;
        let mut latest: BTreeMap<(&'static str, String, Option<i64>), &CrlMeta> = BTreeMap::new();
        for m in &t.crls {
            let key = (m.root.as_str(), m.scope.clone(), m.partition);
            if latest.get(&key).is_none_or(|l| l.number < m.number) {
                latest.insert(key, m);
            }
        }
        Ok(latest.into_values().cloned().collect())
    }
}
