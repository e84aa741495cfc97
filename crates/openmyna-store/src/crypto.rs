//! Protection of personal identifiers at rest.
//!
//! The installation has one 256-bit master key: from configuration (`storage.master_key`, hex)
//! or generated at first start into `<data_dir>/master.key` with mode 0600. From it, HKDF-SHA-256
//! derives two independent keys:
//! - a sealing key (AES-256-GCM, random 96-bit nonce per value; stored as nonce ‖ ciphertext ‖
//!   tag) for values that must be read back, such as My Numbers;
//! - a blind-index key (HMAC-SHA-256, truncated to 128 bits, hex) so that uniqueness and lookup
//!   by My Number work without the number being stored in clear.
//!
//! Losing the master key makes sealed values unreadable: back it up with the database.

use std::fs;
use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{hkdf, hmac, rand as lc_rand};

use crate::{Result, StoreError};

pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn from_hex(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.len() != 64 || !s.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(StoreError::Crypto(
                "master key must be 64 hexadecimal characters (256 bits)".into(),
            ));
        }
        let mut k = [0u8; 32];
        for (i, byte) in k.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
                .map_err(|_| StoreError::Crypto("master key is not hexadecimal".into()))?;
        }
        Ok(MasterKey(k))
    }

    pub fn generate() -> Result<Self> {
        let mut k = [0u8; 32];
        lc_rand::fill(&mut k).map_err(|_| StoreError::Crypto("no randomness".into()))?;
        Ok(MasterKey(k))
    }

    /// Reads the key file, or creates it (mode 0600) if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        match fs::read_to_string(path) {
            Ok(s) => Self::from_hex(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate()?;
                write_secret_file(path, key.to_hex().as_bytes())
                    .map_err(|e| StoreError::Crypto(format!("writing {}: {e}", path.display())))?;
                Ok(key)
            }
            Err(e) => Err(StoreError::Crypto(format!(
                "reading {}: {e}",
                path.display()
            ))),
        }
    }

    fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Writes a file readable only by its owner, durably (fsync of file and directory).
pub fn write_secret_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents)?;
    f.sync_all()?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// The working keys derived from the master key.
pub struct DataKeys {
    seal: LessSafeKey,
    index: hmac::Key,
    challenge: [u8; 32],
}

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKeys(<redacted>)")
    }
}

impl DataKeys {
    pub fn derive(master: &MasterKey) -> Result<Self> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"openmyna data keys v1").extract(&master.0);
        let expand = |label: &'static [u8]| -> Result<[u8; 32]> {
            let info = [label];
            let okm = prk
                .expand(&info, Len(32))
                .map_err(|_| StoreError::Crypto("HKDF expand".into()))?;
            let mut out = [0u8; 32];
            okm.fill(&mut out)
                .map_err(|_| StoreError::Crypto("HKDF fill".into()))?;
            Ok(out)
        };
        let seal_key = expand(b"seal")?;
        let index_key = expand(b"blind-index")?;
        let challenge = expand(b"challenges")?;
        let unbound = UnboundKey::new(&AES_256_GCM, &seal_key)
            .map_err(|_| StoreError::Crypto("AES key".into()))?;
        Ok(DataKeys {
            seal: LessSafeKey::new(unbound),
            index: hmac::Key::new(hmac::HMAC_SHA256, &index_key),
            challenge,
        })
    }

    /// The key that authenticates the reader's and the portal's challenges, the same on every
    /// server of an installation (derived from its master key).
    pub fn challenge_key(&self) -> [u8; 32] {
        self.challenge
    }

    /// Keys for tests and throwaway databases.
    pub fn ephemeral() -> Result<Self> {
        Self::derive(&MasterKey::generate()?)
    }

    /// Seals `plain`, binding it to `context` (e.g. the column name) as associated data.
    pub fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        lc_rand::fill(&mut nonce).map_err(|_| StoreError::Crypto("no randomness".into()))?;
        let mut buf = plain.to_vec();
        self.seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| StoreError::Crypto("seal".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(StoreError::Corrupt("sealed value too short".into()));
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| StoreError::Corrupt("nonce".into()))?;
        let mut buf = ct.to_vec();
        let plain = self
            .seal
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| {
                StoreError::Corrupt(
                    "a sealed value does not open: wrong master key or altered data".into(),
                )
            })?;
        Ok(plain.to_vec())
    }

    /// The blind index of `value` within `context`.
    pub fn blind_index(&self, context: &str, value: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.index);
        ctx.update(context.as_bytes());
        ctx.update(&[0]);
        ctx.update(value.as_bytes());
        ctx.sign()
            .as_ref()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// SHA-256 of `data`, hex; used for API token hashes.
pub fn sha256_hex(data: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_tamper_detection() {
        let k = DataKeys::ephemeral().unwrap();
        let s = k.seal("my_number", b"123456789018").unwrap();
        assert_eq!(k.open("my_number", &s).unwrap(), b"123456789018");
        assert!(k.open("other", &s).is_err());
        let mut t = s.clone();
        t[20] ^= 1;
        assert!(k.open("my_number", &t).is_err());
        assert!(!s.windows(12).any(|w| w == b"123456789018"));
    }

    #[test]
    fn blind_index_is_keyed_and_stable() {
        let m = MasterKey::from_hex(&"ab".repeat(32)).unwrap();
        let a = DataKeys::derive(&m).unwrap();
        let b = DataKeys::derive(&m).unwrap();
        assert_eq!(
            a.blind_index("mn", "123456789018"),
            b.blind_index("mn", "123456789018")
        );
        let c = DataKeys::ephemeral().unwrap();
        assert_ne!(
            a.blind_index("mn", "123456789018"),
            c.blind_index("mn", "123456789018")
        );
        assert!(MasterKey::from_hex("xyz").is_err());
    }

    #[test]
    fn key_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("omk-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("master.key");
        let _ = fs::remove_file(&p);
        let k1 = MasterKey::load_or_create(&p).unwrap();
        let k2 = MasterKey::load_or_create(&p).unwrap();
        assert_eq!(k1.0, k2.0);
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
