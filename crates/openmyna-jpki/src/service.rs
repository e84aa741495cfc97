//! The CA's use cases over a [`JpkiStore`]: initialising the roots, issuing card
//! certificates, revoking, suspending and releasing them, publishing CRLs, and answering OCSP
//! with a response cache that a status change invalidates at once.

use openmyna_core::Refusal;
use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{Duration, NaiveDate};
use openmyna_core::{Clock, Entropy, Timestamp};
use serde::Serialize;

use crate::JpkiError;
use crate::ca::{Holder, RootCa};
use crate::crl::{Action, CrlScope, CrlSpec, CrlWriter, Reason, Status, entry_der, transition};
use crate::key::KeyKind;
use crate::ocsp::{self, Answer, IssuerHashes, OcspRefusal};
use crate::profile::{Endpoints, RootKind};
use crate::serial::Serial;

/// A root as stored: keys in PKCS#8 (the store seals them at rest).
#[derive(Clone)]
pub struct StoredRoot {
    pub kind: RootKind,
    pub key_kind: KeyKind,
    pub key_pkcs8: Vec<u8>,
    pub cert_der: Vec<u8>,
    pub responder_pkcs8: Vec<u8>,
    pub responder_cert_der: Vec<u8>,
}

/// A card certificate as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct CertRecord {
    pub serial: String,
    pub root: RootKind,
    pub resident_id: i64,
    pub card_ref: Option<String>,
    pub partition: i64,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    pub status: CertState,
    /// When it was held or revoked.
    pub status_at: Option<Timestamp>,
    pub reason: Option<Reason>,
    pub issued_at: Timestamp,
    #[serde(skip)]
    pub der: Vec<u8>,
}

/// Why a certificate a client presented is not a current one of ours
/// ([`Jpki::current_certificate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotCurrent {
    /// No record with the serial (or the lookup failed).
    Unknown,
    /// A record exists, but it is not the DER presented.
    Differs,
    /// Issued by the other root.
    WrongRoot,
    /// Suspended (certificateHold).
    Held,
    Revoked,
    /// Outside its notBefore..=notAfter.
    NotValidNow,
}

/// Where [`Jpki::current_certificate`] reads the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// [`Jpki::certificate_now`]: cached, at most [`RECORD_CACHE_TTL`] old, cleared by every
    /// change through this service.
    Cached,
    /// [`Jpki::certificate`]: the store, every time.
    Store,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertState {
    Good,
    Held,
    Revoked,
}

impl CertState {
    pub fn as_str(self) -> &'static str {
        match self {
            CertState::Good => "good",
            CertState::Held => "held",
            CertState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "good" => Some(CertState::Good),
            "held" => Some(CertState::Held),
            "revoked" => Some(CertState::Revoked),
            _ => None,
        }
    }
}

impl CertRecord {
    pub fn status(&self) -> Status {
        match (self.status, self.status_at, self.reason) {
            (CertState::Held, Some(since), _) => Status::Held { since },
            (CertState::Revoked, Some(at), Some(reason)) => Status::Revoked { at, reason },
            (CertState::Revoked, Some(at), None) => Status::Revoked {
                at,
                reason: Reason::Unspecified,
            },
            _ => Status::Good,
        }
    }
}

/// A status change to store atomically: the certificate row (if still in `from`), the
/// revoked-entries table (insert/replace, or delete on release) and the status log.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub serial: String,
    pub root: RootKind,
    pub partition: i64,
    pub from: CertState,
    pub to: CertState,
    pub at: Timestamp,
    pub reason: Option<Reason>,
    /// The CRL entry while revoked or held; `None` on release.
    pub entry_der: Option<Vec<u8>>,
    pub recorded_at: Timestamp,
}

/// One row of the status log, for delta CRLs.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub seq: i64,
    pub serial: String,
    pub state: CertState,
    pub at: Timestamp,
    pub reason: Option<Reason>,
}

/// What a CRL of a root (or of one partition) is to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RevokedTotals {
    /// Revoked and held entries.
    pub entries: i64,
    /// Their total DER length.
    pub bytes: i64,
    /// The status-log position they reflect.
    pub snapshot_seq: i64,
}

/// A page of revoked entries, in the stable order of [`JpkiStore::revoked_page`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedPage {
    /// The cursor to continue after.
    pub last: i64,
    pub entries: u64,
    /// The entries' DER, concatenated.
    pub der: Vec<u8>,
}

/// A published CRL.
#[derive(Debug, Clone, Serialize)]
pub struct CrlMeta {
    pub root: RootKind,
    pub number: i64,
    /// `full`, `delta` or `partition`
    pub scope: String,
    pub partition: Option<i64>,
    pub base_number: Option<i64>,
    /// The status-log position the CRL reflects.
    pub snapshot_seq: i64,
    pub this_update: Timestamp,
    pub next_update: Timestamp,
    pub entries: i64,
    pub bytes: i64,
    #[serde(skip)]
    pub file: String,
}

/// Storage the CA needs. Implemented by `openmyna-store`.
pub trait JpkiStore: Send + Sync {
    fn load_roots(&self) -> impl Future<Output = Result<Vec<StoredRoot>, JpkiError>> + Send;
    fn save_root(&self, root: &StoredRoot) -> impl Future<Output = Result<(), JpkiError>> + Send;
    /// The CA's public URL as last recorded (`None` before `ca init`).
    fn public_url(&self) -> impl Future<Output = Result<Option<String>, JpkiError>> + Send;
    /// Records the CA's public URL (who, when, why), keeping the earlier ones.
    fn record_public_url(
        &self,
        url: &str,
        at: &Timestamp,
        actor: &str,
        reason: &str,
    ) -> impl Future<Output = Result<(), JpkiError>> + Send;
    /// Reserves the next issuance sequence number of a root (1, 2, …).
    fn next_issuance(&self, root: RootKind) -> impl Future<Output = Result<i64, JpkiError>> + Send;
    /// Reserves the next CRL number of a root (shared by all its CRLs, so monotonic in each).
    fn next_crl_number(
        &self,
        root: RootKind,
    ) -> impl Future<Output = Result<i64, JpkiError>> + Send;
    fn insert_certificates(
        &self,
        records: &[CertRecord],
    ) -> impl Future<Output = Result<(), JpkiError>> + Send;
    fn certificate(
        &self,
        serial: &str,
    ) -> impl Future<Output = Result<Option<CertRecord>, JpkiError>> + Send;
    fn certificates_of_resident(
        &self,
        resident_id: i64,
    ) -> impl Future<Output = Result<Vec<CertRecord>, JpkiError>> + Send;
    /// Applies a change if the certificate is still in `change.from`; `false` if it was not.
    fn apply_status(
        &self,
        change: &StatusChange,
    ) -> impl Future<Output = Result<bool, JpkiError>> + Send;
    /// Number and total DER length of the revoked entries of a root (or one partition), and
    /// the status-log position they reflect.
    fn revoked_totals(
        &self,
        root: RootKind,
        partition: Option<i64>,
    ) -> impl Future<Output = Result<RevokedTotals, JpkiError>> + Send;
    /// The next `limit` revoked entries after the `after` cursor, in a stable order, as one
    /// concatenation of their DER: (last cursor, number of entries, bytes). `None` at the end.
    fn revoked_page(
        &self,
        root: RootKind,
        partition: Option<i64>,
        after: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Option<RevokedPage>, JpkiError>> + Send;
    /// The status log after `after_seq` (for delta CRLs), of one partition or all.
    fn status_log_after(
        &self,
        root: RootKind,
        after_seq: i64,
        partition: Option<i64>,
    ) -> impl Future<Output = Result<Vec<LogEntry>, JpkiError>> + Send;
    /// How many certificates a root has issued (its partitions follow from this).
    fn issued_count(&self, root: RootKind) -> impl Future<Output = Result<i64, JpkiError>> + Send;
    fn record_crl(&self, meta: &CrlMeta) -> impl Future<Output = Result<(), JpkiError>> + Send;
    fn latest_crl(
        &self,
        root: RootKind,
        scope: &str,
        partition: Option<i64>,
    ) -> impl Future<Output = Result<Option<CrlMeta>, JpkiError>> + Send;
    fn crl_history(
        &self,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<CrlMeta>, JpkiError>> + Send;
    /// The latest CRL of every root, scope and partition.
    fn latest_crls(&self) -> impl Future<Output = Result<Vec<CrlMeta>, JpkiError>> + Send;
}

/// Settings of the CA.
#[derive(Debug, Clone)]
pub struct JpkiConfig {
    /// Base URL written into certificates (CRL distribution points, AIA OCSP). It is CA
    /// state: recorded at `ca init` and used by every process from then on; see
    /// [`JpkiConfig::public_url_configured`].
    pub public_url: String,
    /// Whether `public_url` was configured explicitly. A configured URL that differs from
    /// the CA's recorded one is refused (change it with [`Jpki::change_public_url`]); a
    /// derived one (from a listening address) yields to the recorded URL.
    pub public_url_configured: bool,
    /// Key kind of new roots: RSA-2048 today, ECDSA P-384 for the next-generation profile.
    pub root_key: KeyKind,
    /// Certificates per CRL partition.
    pub partition_size: i64,
    /// Where CRL files are written.
    pub crl_dir: PathBuf,
    /// How long an OCSP response is valid (its nextUpdate) and cached (half of it).
    pub ocsp_validity: Duration,
    /// How long a CRL is valid (nextUpdate − thisUpdate).
    pub crl_validity: Duration,
    /// How long a delta CRL is valid: the delta schedule's period, so that a validator
    /// fetches the next delta when it is published.
    pub delta_validity: Duration,
}

impl JpkiConfig {
    pub fn new(public_url: &str, crl_dir: &Path) -> Self {
        JpkiConfig {
            public_url: public_url.to_owned(),
            public_url_configured: false,
            root_key: KeyKind::Rsa2048,
            partition_size: 1_000_000,
            crl_dir: crl_dir.to_owned(),
            ocsp_validity: Duration::hours(1),
            crl_validity: Duration::hours(25),
            delta_validity: Duration::hours(1),
        }
    }
}

struct Loaded {
    ca: RootCa,
    hashes: IssuerHashes,
    template: ocsp::ResponderTemplate,
}

/// (root, serial) → the responses for each CertID form a client used.
type OcspCache = HashMap<(RootKind, Vec<u8>), Vec<(Vec<u8>, CachedResponse)>>;

struct CachedResponse {
    der: Arc<Vec<u8>>,
    refresh_at: Timestamp,
    answer: Answer,
}

/// OCSP answers given since the start, by status (certificates answered, and requests
/// refused), for the metrics.
#[derive(Debug, Default)]
pub struct OcspCounts {
    good: std::sync::atomic::AtomicU64,
    revoked: std::sync::atomic::AtomicU64,
    unknown: std::sync::atomic::AtomicU64,
    malformed: std::sync::atomic::AtomicU64,
    internal_error: std::sync::atomic::AtomicU64,
}

impl OcspCounts {
    fn answered(&self, a: Answer) {
        use std::sync::atomic::Ordering::Relaxed;
        match a {
            Answer::Good => self.good.fetch_add(1, Relaxed),
            Answer::Revoked { .. } => self.revoked.fetch_add(1, Relaxed),
            Answer::Unknown => self.unknown.fetch_add(1, Relaxed),
        };
    }

    /// (status, count): good, revoked, unknown, malformed, internal_error.
    pub fn snapshot(&self) -> [(&'static str, u64); 5] {
        use std::sync::atomic::Ordering::Relaxed;
        [
            ("good", self.good.load(Relaxed)),
            ("revoked", self.revoked.load(Relaxed)),
            ("unknown", self.unknown.load(Relaxed)),
            ("malformed", self.malformed.load(Relaxed)),
            ("internal_error", self.internal_error.load(Relaxed)),
        ]
    }
}

/// How long a certificate record read for a relying check ([`Jpki::certificate_now`]) is
/// kept: the bound on how late a status change made by another process is seen.
pub const RECORD_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Upper bound on cached OCSP responses; the cache is cleared when it is reached.
const OCSP_CACHE_MAX: usize = 2_000_000;
/// Revoked entries fetched per page while streaming a CRL.
const CRL_PAGE: i64 = 50_000;

/// What issuing a card's certificates produced.
#[derive(Debug, Clone)]
pub struct CardCertificates {
    pub signing: Option<CertRecord>,
    pub authentication: CertRecord,
}

/// The CA service. Cheap to share behind an `Arc`.
pub struct Jpki<S> {
    store: S,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    config: JpkiConfig,
    endpoints: Endpoints,
    roots: RwLock<HashMap<RootKind, Arc<Loaded>>>,
    /// Pre-signed single-certificate responses without nonce, by (root, serial), then by the
    /// exact CertID the client sent (hash algorithm and hashes differ between clients).
    ocsp_cache: Mutex<OcspCache>,
    /// Each serial's current answer, so that requests the response cache cannot serve (with
    /// a nonce, or several certificates) only need a signature, not a database read.
    status_cache: Mutex<HashMap<(RootKind, Vec<u8>), Answer>>,
    /// Certificate records read for relying checks (eligibility), dropped with the status
    /// cache on every status change.
    record_cache: Mutex<HashMap<String, (std::sync::Arc<CertRecord>, std::time::Instant)>>,
    /// Bumped by every status change: an answer read before a change is not cached after it.
    epoch: std::sync::atomic::AtomicU64,
    /// Per root, the status-log position this process's caches have followed (changes by
    /// other processes are found after it).
    followed: Mutex<HashMap<RootKind, i64>>,
    ocsp_counts: OcspCounts,
}

fn lock_err() -> JpkiError {
    JpkiError::Inconsistent("a lock was poisoned".into())
}

impl<S: JpkiStore> Jpki<S> {
    /// Loads the roots, creating any that do not exist yet (`ca init`), and renews responder
    /// certificates that are due.
    pub async fn open(
        store: S,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        config: JpkiConfig,
    ) -> Result<Self, JpkiError> {
        let url = Self::settle_public_url(&store, clock.as_ref(), &config).await?;
        let endpoints = Endpoints::new(&url);
        let svc = Jpki {
            store,
            clock,
            entropy,
            config,
            endpoints,
            roots: RwLock::new(HashMap::new()),
            ocsp_cache: Mutex::new(HashMap::new()),
            status_cache: Mutex::new(HashMap::new()),
            record_cache: Mutex::new(HashMap::new()),
            epoch: std::sync::atomic::AtomicU64::new(0),
            followed: Mutex::new(HashMap::new()),
            ocsp_counts: OcspCounts::default(),
        };
        svc.init().await?;
        Ok(svc)
    }

    /// The CA's public URL: recorded at the first opening (`ca init`); afterwards the
    /// recorded URL, whatever the process derives from its own address, and a configured URL
    /// that disagrees is refused.
    async fn settle_public_url(
        store: &S,
        clock: &dyn Clock,
        config: &JpkiConfig,
    ) -> Result<String, JpkiError> {
        let wanted = config.public_url.trim_end_matches('/').to_owned();
        match store.public_url().await? {
            None => {
                store
                    .record_public_url(&wanted, &clock.now(), "ca init", "first opening of the CA")
                    .await?;
                Ok(wanted)
            }
            Some(recorded) if recorded == wanted || !config.public_url_configured => Ok(recorded),
            Some(recorded) => Err(Refusal::refused(
                "ca.public_url_mismatch",
                format!(
                    "the configuration names {wanted} as the public URL, but the CA's public URL \
                     is {recorded} (fixed at ca init and written into every certificate and CRL); \
                     configure {recorded}, or change the CA's URL with \
                     `openmyna ca set-url {wanted} --reason …` (recorded)"
                ),
            )
            .with_field("server.public_url")
            .into()),
        }
    }

    /// Changes the CA's public URL (an audited CA operation): certificates and CRLs made
    /// from now on name the new URL; the running servers use it after their next start.
    pub async fn change_public_url(
        store: &S,
        clock: &dyn Clock,
        url: &str,
        actor: &str,
        reason: &str,
    ) -> Result<(), JpkiError> {
        let url = url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(' ') {
            return Err(Refusal::invalid(
                "ca.public_url",
                format!("{url:?} is not an http(s) URL"),
            )
            .with_field("url")
            .into());
        }
        if reason.trim().is_empty() {
            return Err(Refusal::invalid("ca.reason", "say why the URL changes")
                .with_field("reason")
                .into());
        }
        store
            .record_public_url(url, &clock.now(), actor, reason.trim())
            .await
    }

    async fn init(&self) -> Result<(), JpkiError> {
        let now = self.clock.now();
        let stored = self.store.load_roots().await?;
        let mut loaded = HashMap::new();
        for kind in RootKind::ALL {
            let mut ca = match stored.iter().find(|r| r.kind == kind) {
                Some(r) => RootCa::load(
                    kind,
                    r.key_kind,
                    &r.key_pkcs8,
                    r.cert_der.clone(),
                    &r.responder_pkcs8,
                    r.responder_cert_der.clone(),
                )?,
                None => {
                    let ca =
                        RootCa::create(kind, self.config.root_key, &now, self.entropy.as_ref())?;
                    self.store.save_root(&stored_root(&ca)?).await?;
                    ca
                }
            };
            if ca.renew_responder_if_due(&now, self.entropy.as_ref())? {
                self.store.save_root(&stored_root(&ca)?).await?;
            }
            let hashes = IssuerHashes::of(&ca)?;
            let template = ocsp::ResponderTemplate::new(&ca)?;
            loaded.insert(
                kind,
                Arc::new(Loaded {
                    ca,
                    hashes,
                    template,
                }),
            );
        }
        *self.roots.write().map_err(|_| lock_err())? = loaded;
        std::fs::create_dir_all(&self.config.crl_dir)?;
        for kind in RootKind::ALL {
            let position = self.store.revoked_totals(kind, None).await?.snapshot_seq;
            self.followed
                .lock()
                .map_err(|_| lock_err())?
                .insert(kind, position);
        }
        Ok(())
    }

    /// Drops the cached answers of certificates whose status another process changed (the
    /// `openmyna ca revoke` command, a second server on the same database): the status log is
    /// read after the last position followed. Changes made through this process are dropped
    /// from its caches at once anyway; the server calls this every half second for the rest.
    /// Returns how many changes it found.
    pub async fn follow_changes(&self) -> Result<usize, JpkiError> {
        let mut found = 0;
        for root in RootKind::ALL {
            let after = self
                .followed
                .lock()
                .map_err(|_| lock_err())?
                .get(&root)
                .copied()
                .unwrap_or(0);
            let log = self.store.status_log_after(root, after, None).await?;
            let Some(last) = log.iter().map(|e| e.seq).max() else {
                continue;
            };
            for e in &log {
                self.invalidate(&e.serial);
            }
            found += log.len();
            let mut followed = self.followed.lock().map_err(|_| lock_err())?;
            let position = followed.entry(root).or_insert(0);
            *position = (*position).max(last);
        }
        Ok(found)
    }

    fn root(&self, kind: RootKind) -> Result<Arc<Loaded>, JpkiError> {
        self.roots
            .read()
            .map_err(|_| lock_err())?
            .get(&kind)
            .cloned()
            .ok_or_else(|| JpkiError::Inconsistent(format!("root {} not loaded", kind.as_str())))
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The root certificate (DER).
    pub fn root_certificate(&self, kind: RootKind) -> Result<Vec<u8>, JpkiError> {
        Ok(self.root(kind)?.ca.cert_der.clone())
    }

    /// A municipality's document-signing certificate for the key `spki_der`, from the signing
    /// root, valid for a year (see [`profile::document_signer_certificate`]).
    pub fn issue_document_signer(
        &self,
        spki_der: &[u8],
        municipality: &str,
        office: &str,
    ) -> Result<Vec<u8>, JpkiError> {
        let root = self.root(RootKind::Sign)?;
        let now = self.clock.now();
        crate::profile::document_signer_certificate(
            &root.ca.key,
            spki_der,
            municipality,
            office,
            Serial::generate(self.entropy.as_ref()),
            &(now - chrono::Duration::minutes(5)),
            &(now + chrono::Duration::days(365)),
        )
    }

    /// The responder certificate (DER).
    pub fn responder_certificate(&self, kind: RootKind) -> Result<Vec<u8>, JpkiError> {
        Ok(self.root(kind)?.ca.responder.cert_der.clone())
    }

    pub fn root_key_kind(&self, kind: RootKind) -> Result<KeyKind, JpkiError> {
        Ok(self.root(kind)?.ca.key.kind())
    }

    /// Issues a card's certificates: the signing certificate (unless `sign_spki` is `None`,
    /// or the holder is under 15 — then it is refused) and the authentication certificate.
    pub async fn issue_card(
        &self,
        resident_id: i64,
        holder: &Holder,
        sign_spki: Option<&[u8]>,
        auth_spki: &[u8],
        card_expiry: NaiveDate,
        card_ref: Option<String>,
    ) -> Result<CardCertificates, JpkiError> {
        let now = self.clock.now();
        let sign_root = self.root(RootKind::Sign)?;
        let auth_root = self.root(RootKind::Auth)?;
        let ent = self.entropy.as_ref();
        let mut records = Vec::new();
        let signing = match sign_spki {
            Some(spki) => {
                let seq = self.store.next_issuance(RootKind::Sign).await?;
                let partition = (seq - 1) / self.config.partition_size.max(1);
                let issued = sign_root.ca.issue_signing(
                    holder,
                    spki,
                    &now,
                    card_expiry,
                    partition,
                    seq,
                    &self.endpoints,
                    ent,
                )?;
                Some(record(RootKind::Sign, resident_id, &card_ref, issued, &now))
            }
            None => None,
        };
        let seq = self.store.next_issuance(RootKind::Auth).await?;
        let partition = (seq - 1) / self.config.partition_size.max(1);
        let issued = auth_root.ca.issue_authentication(
            holder,
            auth_spki,
            &now,
            card_expiry,
            partition,
            &self.endpoints,
            ent,
        )?;
        let authentication = record(RootKind::Auth, resident_id, &card_ref, issued, &now);
        records.extend(signing.clone());
        records.push(authentication.clone());
        self.store.insert_certificates(&records).await?;
        // The two certificates are of two roots: each names its own partition's CRL.
        for r in &records {
            self.publish_first_crl(r).await;
        }
        Ok(CardCertificates {
            signing,
            authentication,
        })
    }

    /// The first certificate of a partition brings its CRL into existence, so that the CRL
    /// distribution point it names answers at once. A failure here does not undo the
    /// issuance: it is logged, and the CRL is published on its first request or at the next
    /// schedule.
    async fn publish_first_crl(&self, rec: &CertRecord) {
        if let Err(e) = self.ensure_published(rec.root, rec.partition).await {
            tracing::warn!(
                error = %e,
                root = rec.root.as_str(),
                partition = rec.partition,
                "publishing the CRL of a new partition failed; it is published on request"
            );
        }
    }

    /// Issues a signing certificate alone, for a card that keeps its authentication
    /// certificate (re-issue after emigration or return). Refused under 15.
    pub async fn issue_signing(
        &self,
        resident_id: i64,
        holder: &Holder,
        sign_spki: &[u8],
        card_expiry: NaiveDate,
        card_ref: Option<String>,
    ) -> Result<CertRecord, JpkiError> {
        let now = self.clock.now();
        let sign_root = self.root(RootKind::Sign)?;
        let seq = self.store.next_issuance(RootKind::Sign).await?;
        let partition = (seq - 1) / self.config.partition_size.max(1);
        let issued = sign_root.ca.issue_signing(
            holder,
            sign_spki,
            &now,
            card_expiry,
            partition,
            seq,
            &self.endpoints,
            self.entropy.as_ref(),
        )?;
        let rec = record(RootKind::Sign, resident_id, &card_ref, issued, &now);
        self.store
            .insert_certificates(std::slice::from_ref(&rec))
            .await?;
        self.publish_first_crl(&rec).await;
        Ok(rec)
    }

    pub async fn certificate(&self, serial: &str) -> Result<CertRecord, JpkiError> {
        let s = Serial::parse_hex(serial)?;
        self.store.certificate(&s.to_hex()).await?.ok_or_else(|| {
            JpkiError::Refusal(Refusal::not_found(
                "certificate.not_found",
                format!("no certificate with serial {}", s.to_hex()),
            ))
        })
    }

    /// A certificate's record with its current status: from a cache that every status change
    /// through this service clears at once (so a revocation or suspension made through the
    /// server is refused in the very next check), and whose entries live at most
    /// [`RECORD_CACHE_TTL`] (so one made by another process — `openmyna ca revoke` — is
    /// refused within that time).
    pub async fn certificate_now(
        &self,
        serial: &str,
    ) -> Result<std::sync::Arc<CertRecord>, JpkiError> {
        let s = Serial::parse_hex(serial)?.to_hex();
        if let Some((r, at)) = self
            .record_cache
            .lock()
            .ok()
            .and_then(|c| c.get(&s).cloned())
            && at.elapsed() < RECORD_CACHE_TTL
        {
            return Ok(r);
        }
        let epoch = self.epoch();
        let r = std::sync::Arc::new(self.certificate(&s).await?);
        // The epoch is compared under the lock that `invalidate` takes after bumping it, so
        // a record read before a change is never cached after it.
        if let Ok(mut c) = self.record_cache.lock()
            && self.epoch() == epoch
        {
            if c.len() >= OCSP_CACHE_MAX {
                c.clear();
            }
            c.insert(s, (r.clone(), std::time::Instant::now()));
        }
        Ok(r)
    }

    /// Whether a certificate a client presents is a current one of ours, for every party that
    /// accepts one (the reader's authentication, the portal's login and phone requests, the
    /// 4-information consents): known to this CA (and, when given, the very DER presented),
    /// from `root`, good, and within its validity at `now` — checked in that order. Each caller
    /// words the refusal for its own protocol from the [`NotCurrent`] reason.
    pub async fn current_certificate(
        &self,
        serial: &Serial,
        presented_der: Option<&[u8]>,
        root: RootKind,
        now: &Timestamp,
        lookup: Lookup,
    ) -> Result<Arc<CertRecord>, NotCurrent> {
        let hex = serial.to_hex();
        let record = match lookup {
            Lookup::Cached => self.certificate_now(&hex).await,
            Lookup::Store => self.certificate(&hex).await.map(Arc::new),
        }
        .map_err(|_| NotCurrent::Unknown)?;
        if presented_der.is_some_and(|d| d != record.der.as_slice()) {
            return Err(NotCurrent::Differs);
        }
        if record.root != root {
            return Err(NotCurrent::WrongRoot);
        }
        match record.status {
            CertState::Good => {}
            CertState::Held => return Err(NotCurrent::Held),
            CertState::Revoked => return Err(NotCurrent::Revoked),
        }
        if *now < record.not_before || *now > record.not_after {
            return Err(NotCurrent::NotValidNow);
        }
        Ok(record)
    }

    pub async fn certificates_of_resident(
        &self,
        resident_id: i64,
    ) -> Result<Vec<CertRecord>, JpkiError> {
        self.store.certificates_of_resident(resident_id).await
    }

    /// Revokes, suspends (hold) or releases a certificate. The change is stored before this
    /// returns, and the next OCSP answer reflects it.
    pub async fn change_status(
        &self,
        serial: &str,
        action: Action,
    ) -> Result<CertRecord, JpkiError> {
        let cert = self.certificate(serial).await?;
        let now = self.clock.now();
        let next = transition(cert.status(), action, now)?;
        let serial_v = Serial::parse_hex(&cert.serial)?;
        let (to, at, reason, entry) = match next {
            Status::Good => (CertState::Good, now, None, None),
            Status::Held { since } => (
                CertState::Held,
                since,
                Some(Reason::CertificateHold),
                Some(entry_der(&serial_v, &since, Reason::CertificateHold)?),
            ),
            Status::Revoked { at, reason } => (
                CertState::Revoked,
                at,
                Some(reason),
                Some(entry_der(&serial_v, &at, reason)?),
            ),
        };
        let change = StatusChange {
            serial: cert.serial.clone(),
            root: cert.root,
            partition: cert.partition,
            from: cert.status,
            to,
            at,
            reason,
            entry_der: entry,
            recorded_at: now,
        };
        if !self.store.apply_status(&change).await? {
            return Err(JpkiError::Refusal(Refusal::refused(
                "certificate.conflict",
                "the certificate's status changed meanwhile; read it again",
            )));
        }
        self.invalidate(&cert.serial);
        self.certificate(&cert.serial).await
    }

    /// Revokes the resident's certificates that are still good or held: the signing
    /// certificates, and also the authentication certificates when `include_auth`.
    pub async fn revoke_for_resident(
        &self,
        resident_id: i64,
        include_auth: bool,
        reason: Reason,
    ) -> Result<Vec<String>, JpkiError> {
        let mut revoked = Vec::new();
        for c in self.store.certificates_of_resident(resident_id).await? {
            let wanted = c.root == RootKind::Sign || include_auth;
            if wanted && c.status != CertState::Revoked {
                self.change_status(&c.serial, Action::Revoke(reason))
                    .await?;
                revoked.push(c.serial);
            }
        }
        Ok(revoked)
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn invalidate(&self, serial_hex: &str) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let (Ok(s), Ok(mut cache)) = (Serial::parse_hex(serial_hex), self.ocsp_cache.lock()) {
            for root in RootKind::ALL {
                cache.remove(&(root, s.as_bytes().to_vec()));
            }
        }
        if let (Ok(s), Ok(mut cache)) = (Serial::parse_hex(serial_hex), self.status_cache.lock()) {
            for root in RootKind::ALL {
                cache.remove(&(root, s.as_bytes().to_vec()));
            }
        }
        if let (Ok(s), Ok(mut cache)) = (Serial::parse_hex(serial_hex), self.record_cache.lock()) {
            cache.remove(&s.to_hex());
        }
    }

    /// Answers an OCSP request (DER) sent to the responder of `root`. Always returns a DER
    /// OCSPResponse: `malformedRequest` for bad input, `internalError` if the store fails.
    pub async fn ocsp(&self, root: RootKind, request: &[u8]) -> Vec<u8> {
        use std::sync::atomic::Ordering::Relaxed;
        match self.ocsp_inner(root, request).await {
            Ok(der) => der,
            Err(OcspFailure::Malformed(reason)) => {
                self.ocsp_counts.malformed.fetch_add(1, Relaxed);
                tracing::debug!(%reason, "malformed OCSP request");
                ocsp::malformed_request()
            }
            Err(OcspFailure::Internal(e)) => {
                self.ocsp_counts.internal_error.fetch_add(1, Relaxed);
                tracing::error!(error = %e, "OCSP internal error");
                ocsp::internal_error()
            }
        }
    }

    /// The OCSP answers given since the start, by status.
    pub fn ocsp_counts(&self) -> &OcspCounts {
        &self.ocsp_counts
    }

    async fn ocsp_inner(&self, root: RootKind, request: &[u8]) -> Result<Vec<u8>, OcspFailure> {
        let parsed = ocsp::parse_request(request).map_err(OcspFailure::Malformed)?;
        let now = self.clock.now();
        let epoch = self.epoch();
        // RFC 5019 fast path: one certificate, no nonce — a cached, pre-signed response.
        let cache_key = match (&parsed.nonce, &parsed.certs[..]) {
            (None, [cert]) => Some(((root, cert.serial_bytes().to_vec()), cert.der())),
            _ => None,
        };
        if let (Some((k, id_der)), Ok(cache)) = (&cache_key, self.ocsp_cache.lock()) {
            let hit = cache.get(k).and_then(|v| {
                v.iter()
                    .find(|(d, c)| d.as_slice() == *id_der && c.refresh_at > now)
                    .map(|(_, c)| (c.der.clone(), c.answer))
            });
            if let Some((der, answer)) = hit {
                self.ocsp_counts.answered(answer);
                return Ok(der.as_ref().clone());
            }
        }
        let loaded = self.root(root).map_err(OcspFailure::Internal)?;
        let mut answers = Vec::with_capacity(parsed.certs.len());
        for cert in &parsed.certs {
            let answer = if !loaded.hashes.matches(cert) {
                Answer::Unknown
            } else {
                match cert.serial() {
                    None => Answer::Unknown,
                    Some(serial) => self
                        .status(root, &serial)
                        .await
                        .map_err(OcspFailure::Internal)?,
                }
            };
            self.ocsp_counts.answered(answer);
            answers.push((cert.der(), answer));
        }
        let single = match answers.as_slice() {
            [(_, a)] => Some(*a),
            _ => None,
        };
        let der = ocsp::sign_response(
            &loaded.ca,
            &loaded.template,
            &now,
            self.config.ocsp_validity,
            &answers,
            parsed.nonce.as_deref(),
        )
        .map_err(OcspFailure::Internal)?;
        if let (Some((k, id_der)), Some(answer), Ok(mut cache)) =
            (cache_key, single, self.ocsp_cache.lock())
        {
            if self.epoch() != epoch {
                // A status changed while this response was made: do not keep it.
                return Ok(der);
            }
            if cache.len() >= OCSP_CACHE_MAX {
                cache.clear();
            }
            let entry = cache.entry(k).or_default();
            entry.retain(|(d, _)| d.as_slice() != id_der);
            entry.push((
                id_der.to_vec(),
                CachedResponse {
                    der: Arc::new(der.clone()),
                    refresh_at: now + self.config.ocsp_validity / 2,
                    answer,
                },
            ));
        }
        Ok(der)
    }

    /// The OCSP answer for one serial of `root`, from the status cache or the store.
    async fn status(&self, root: RootKind, serial: &Serial) -> Result<Answer, JpkiError> {
        let key = (root, serial.as_bytes().to_vec());
        let epoch = self.epoch();
        if let Some(a) = self
            .status_cache
            .lock()
            .ok()
            .and_then(|c| c.get(&key).copied())
        {
            return Ok(a);
        }
        let answer = match self.store.certificate(&serial.to_hex()).await? {
            Some(c) if c.root == root => match c.status() {
                Status::Good => Answer::Good,
                Status::Held { since } => Answer::Revoked {
                    at: since,
                    reason: Reason::CertificateHold,
                },
                Status::Revoked { at, reason } => Answer::Revoked { at, reason },
            },
            _ => Answer::Unknown,
        };
        // Unknown serials are not cached: a certificate may be issued with that serial later.
        if answer != Answer::Unknown
            && let Ok(mut c) = self.status_cache.lock()
            && self.epoch() == epoch
        {
            if c.len() >= OCSP_CACHE_MAX {
                c.clear();
            }
            c.insert(key, answer);
        }
        Ok(answer)
    }

    /// How many partitions `root` has (those with at least one certificate).
    pub async fn partition_count(&self, root: RootKind) -> Result<i64, JpkiError> {
        let issued = self.store.issued_count(root).await?;
        let size = self.config.partition_size.max(1);
        Ok((issued + size - 1) / size)
    }

    fn partition_scope(&self, root: RootKind, p: i64) -> CrlScope {
        CrlScope::Partition {
            url: self.endpoints.partition_crl(root, p),
            delta_url: self.endpoints.partition_delta_crl(root, p),
        }
    }

    /// Publishes a full CRL, one CRL per partition with its (then empty) delta, and a (then
    /// empty) delta of the full CRL for `root`.
    pub async fn publish_full(&self, root: RootKind) -> Result<Vec<CrlMeta>, JpkiError> {
        let mut out = Vec::new();
        let full = self
            .write_crl(
                root,
                None,
                CrlScope::Full {
                    delta_url: self.endpoints.delta_crl(root),
                },
            )
            .await?;
        out.push(full.clone());
        for p in 0..self.partition_count(root).await? {
            out.extend(self.publish_partition(root, p).await?);
        }
        out.push(self.publish_delta_against(root, &full, None).await?);
        Ok(out)
    }

    /// Publishes one partition's complete CRL and its (then empty) delta.
    pub async fn publish_partition(
        &self,
        root: RootKind,
        p: i64,
    ) -> Result<Vec<CrlMeta>, JpkiError> {
        let crl = self
            .write_crl(root, Some(p), self.partition_scope(root, p))
            .await?;
        let delta = self.publish_delta_against(root, &crl, Some(p)).await?;
        Ok(vec![crl, delta])
    }

    /// Makes sure the CRLs a certificate of `partition` names exist: a partition's CRL (and
    /// its delta) is published, empty, when its first certificate is issued, and the full CRL
    /// when the root has none. Returns what was published.
    pub async fn ensure_published(
        &self,
        root: RootKind,
        partition: i64,
    ) -> Result<Vec<CrlMeta>, JpkiError> {
        if self.store.latest_crl(root, "full", None).await?.is_none() {
            return self.publish_full(root).await;
        }
        if self
            .store
            .latest_crl(root, "partition", Some(partition))
            .await?
            .is_none()
        {
            return self.publish_partition(root, partition).await;
        }
        Ok(Vec::new())
    }

    /// Publishes the delta CRLs of `root`: one against the latest full CRL and one per
    /// partition against its latest complete CRL (what is missing is published first).
    pub async fn publish_deltas(&self, root: RootKind) -> Result<Vec<CrlMeta>, JpkiError> {
        let mut out = Vec::new();
        let full = match self.store.latest_crl(root, "full", None).await? {
            Some(base) => base,
            None => return self.publish_full(root).await,
        };
        out.push(self.publish_delta_against(root, &full, None).await?);
        for p in 0..self.partition_count(root).await? {
            match self.store.latest_crl(root, "partition", Some(p)).await? {
                Some(base) => out.push(self.publish_delta_against(root, &base, Some(p)).await?),
                None => out.extend(self.publish_partition(root, p).await?),
            }
        }
        Ok(out)
    }

    /// Publishes the delta CRL of the latest full CRL (a full CRL is published first if
    /// there is none). [`Jpki::publish_deltas`] also publishes the partitions' deltas.
    pub async fn publish_delta(&self, root: RootKind) -> Result<CrlMeta, JpkiError> {
        match self.store.latest_crl(root, "full", None).await? {
            Some(base) => self.publish_delta_against(root, &base, None).await,
            None => self
                .publish_full(root)
                .await?
                .pop()
                .ok_or_else(|| JpkiError::Inconsistent("no CRL published".into())),
        }
    }

    async fn publish_delta_against(
        &self,
        root: RootKind,
        base: &CrlMeta,
        partition: Option<i64>,
    ) -> Result<CrlMeta, JpkiError> {
        let log = self
            .store
            .status_log_after(root, base.snapshot_seq, partition)
            .await?;
        // The latest state of each serial changed since the base.
        let mut latest: Vec<LogEntry> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for e in log {
            match index.get(&e.serial) {
                Some(&i) => {
                    *latest.get_mut(i).ok_or_else(|| {
                        JpkiError::Inconsistent("the status log index is out of step".into())
                    })? = e;
                }
                None => {
                    index.insert(e.serial.clone(), latest.len());
                    latest.push(e);
                }
            }
        }
        let snapshot = latest
            .iter()
            .map(|e| e.seq)
            .max()
            .unwrap_or(base.snapshot_seq);
        let mut entries = Vec::with_capacity(latest.len());
        for e in &latest {
            let serial = Serial::parse_hex(&e.serial)?;
            let reason = match e.state {
                CertState::Good => Reason::RemoveFromCrl,
                CertState::Held => Reason::CertificateHold,
                CertState::Revoked => e.reason.unwrap_or(Reason::Unspecified),
            };
            entries.push(entry_der(&serial, &e.at, reason)?);
        }
        let number = self.store.next_crl_number(root).await?;
        let base_number = u64::try_from(base.number).unwrap_or(0);
        self.write_file_crl(
            root,
            partition,
            CrlScope::Delta {
                base: base_number,
                partition_url: partition.map(|p| self.endpoints.partition_crl(root, p)),
            },
            number,
            snapshot,
            entries.len() as i64,
            entries.iter().map(|e| e.len() as i64).sum(),
            EntrySource::Memory(entries),
        )
        .await
    }

    async fn write_crl(
        &self,
        root: RootKind,
        partition: Option<i64>,
        scope: CrlScope,
    ) -> Result<CrlMeta, JpkiError> {
        // A revocation landing between the totals and the last page changes what the CRL
        // holds; the writer notices (the totals no longer match) and the CRL is made again.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let RevokedTotals {
                entries: count,
                bytes,
                snapshot_seq: snapshot,
            } = self.store.revoked_totals(root, partition).await?;
            let number = self.store.next_crl_number(root).await?;
            match self
                .write_file_crl(
                    root,
                    partition,
                    scope.clone(),
                    number,
                    snapshot,
                    count,
                    bytes,
                    EntrySource::Store,
                )
                .await
            {
                Err(JpkiError::Inconsistent(_)) if attempt < 5 => continue,
                other => return other,
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_file_crl(
        &self,
        root: RootKind,
        partition: Option<i64>,
        scope: CrlScope,
        number: i64,
        snapshot: i64,
        count: i64,
        bytes: i64,
        source: EntrySource,
    ) -> Result<CrlMeta, JpkiError> {
        let loaded = self.root(root)?;
        let now = self.clock.now();
        let spec = CrlSpec {
            scope: scope.clone(),
            number: u64::try_from(number).unwrap_or(0),
            this_update: now,
            next_update: now
                + match scope {
                    CrlScope::Delta { .. } => self.config.delta_validity,
                    _ => self.config.crl_validity,
                },
        };
        let scope_name = match scope {
            CrlScope::Full { .. } => "full",
            CrlScope::Delta { .. } => "delta",
            CrlScope::Partition { .. } => "partition",
        };
        let file_name = match partition {
            Some(p) => format!("{}-p{}-{}-{}.crl", root.as_str(), p, scope_name, number),
            None => format!("{}-{}-{}.crl", root.as_str(), scope_name, number),
        };
        let final_path = self.config.crl_dir.join(&file_name);
        let tmp_path = self.config.crl_dir.join(format!(".{file_name}.tmp"));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp_path)?;
        let buffered = BufferedFile::new(file);
        let mut writer = CrlWriter::begin(
            buffered,
            &loaded.ca,
            &spec,
            u64::try_from(count).unwrap_or(0),
            u64::try_from(bytes).unwrap_or(0),
        )?;
        match source {
            EntrySource::Memory(entries) => {
                for e in entries {
                    writer.entry(&e)?;
                }
            }
            EntrySource::Store => {
                let mut after = i64::MIN;
                loop {
                    let Some(page) = self
                        .store
                        .revoked_page(root, partition, after, CRL_PAGE)
                        .await?
                    else {
                        break;
                    };
                    after = page.last;
                    writer.entries(&page.der, page.entries)?;
                }
            }
        }
        let (file, stats) = writer.finish()?;
        let file = file.into_inner()?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp_path, &final_path)?;
        if let Ok(dir) = std::fs::File::open(&self.config.crl_dir) {
            let _ = dir.sync_all();
        }
        let meta = CrlMeta {
            root,
            number,
            scope: scope_name.into(),
            partition,
            base_number: match scope {
                CrlScope::Delta { base, .. } => i64::try_from(base).ok(),
                _ => None,
            },
            snapshot_seq: snapshot,
            this_update: spec.this_update,
            next_update: spec.next_update,
            entries: i64::try_from(stats.entries).unwrap_or(i64::MAX),
            bytes: i64::try_from(stats.bytes).unwrap_or(i64::MAX),
            file: final_path.to_string_lossy().into_owned(),
        };
        self.store.record_crl(&meta).await?;
        Ok(meta)
    }

    /// The latest CRL of a kind, if any has been published.
    pub async fn latest_crl(
        &self,
        root: RootKind,
        scope: &str,
        partition: Option<i64>,
    ) -> Result<Option<CrlMeta>, JpkiError> {
        self.store.latest_crl(root, scope, partition).await
    }

    pub async fn crl_history(&self, limit: i64) -> Result<Vec<CrlMeta>, JpkiError> {
        self.store.crl_history(limit).await
    }

    /// The latest CRL of every root, scope and partition.
    pub async fn latest_crls(&self) -> Result<Vec<CrlMeta>, JpkiError> {
        self.store.latest_crls().await
    }
}

enum EntrySource {
    Memory(Vec<Vec<u8>>),
    Store,
}

enum OcspFailure {
    Malformed(OcspRefusal),
    Internal(JpkiError),
}

fn record(
    root: RootKind,
    resident_id: i64,
    card_ref: &Option<String>,
    issued: crate::ca::Issued,
    now: &Timestamp,
) -> CertRecord {
    CertRecord {
        serial: issued.serial.to_hex(),
        root,
        resident_id,
        card_ref: card_ref.clone(),
        partition: issued.partition,
        not_before: issued.not_before,
        not_after: issued.not_after,
        status: CertState::Good,
        status_at: None,
        reason: None,
        issued_at: *now,
        der: issued.der,
    }
}

pub fn stored_root(ca: &RootCa) -> Result<StoredRoot, JpkiError> {
    Ok(StoredRoot {
        kind: ca.kind,
        key_kind: ca.key.kind(),
        key_pkcs8: ca.key.to_pkcs8()?,
        cert_der: ca.cert_der.clone(),
        responder_pkcs8: ca.responder.key.to_pkcs8()?,
        responder_cert_der: ca.responder.cert_der.clone(),
    })
}

/// A buffered file that can also read and seek (the CRL writer rewrites its header).
pub struct BufferedFile {
    inner: std::io::BufWriter<std::fs::File>,
}

impl BufferedFile {
    fn new(f: std::fs::File) -> Self {
        BufferedFile {
            inner: std::io::BufWriter::with_capacity(1 << 20, f),
        }
    }

    fn into_inner(self) -> Result<std::fs::File, JpkiError> {
        self.inner
            .into_inner()
            .map_err(|e| JpkiError::Io(e.into_error()))
    }
}

impl Write for BufferedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl std::io::Seek for BufferedFile {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl std::io::Read for BufferedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.flush()?;
        self.inner.get_mut().read(buf)
    }
}
