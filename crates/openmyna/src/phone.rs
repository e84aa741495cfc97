//! A virtual smartphone holding smartphone certificates (スマホ用電子証明書): its own
//! authentication and signing keys (RSA-2048, generated on the phone), unlocked by the
//! phone's passcode or a biometric match, and the certificates the CA issued for them. The
//! phone is a JSON file (mode 0600), written atomically.

use std::path::{Path, PathBuf};

use base64::Engine;
use openmyna_card::keys::{LoadedKey, generate};
use openmyna_card::layout::KeyId;
use openmyna_card::state::PrivateKey;
use openmyna_cardio::client::Certificate;
use openmyna_cardio::{JpkiClient, Transport};
use openmyna_core::{Entropy, Timestamp};
use openmyna_jpki::cms;
use openmyna_portal::phone::{PhoneRequest, REQUEST_KIND, TOKEN_LABEL};
use serde::{Deserialize, Serialize};

use crate::app::AppError;

fn invalid(m: impl Into<String>) -> AppError {
    AppError::Invalid(m.into())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The phone's state.
#[derive(Clone, Serialize, Deserialize)]
pub struct Phone {
    pub format: u32,
    pub device_id: String,
    pub model: String,
    pub token_label: String,
    passcode_salt: String,
    passcode_hash: String,
    /// Whether a biometric match may unlock the keys instead of the passcode.
    pub biometric: bool,
    auth_key: PrivateKey,
    sign_key: PrivateKey,
    /// DER, base64, once issued.
    pub auth_certificate: Option<String>,
    pub sign_certificate: Option<String>,
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phone")
            .field("device_id", &self.device_id)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

fn passcode_hash(salt: &str, passcode: &str) -> String {
    hex(&openmyna_jpki::key::sha256(
        format!("{salt}:{passcode}").as_bytes(),
    ))
}

/// How the holder unlocks the phone's keys.
pub enum Unlock<'a> {
    Passcode(&'a str),
    /// A biometric match (the phone's sensor said yes).
    Biometric,
}

impl Phone {
    /// A new phone with fresh keys; `passcode` is 6 to 16 digits.
    pub fn create(
        model: &str,
        passcode: &str,
        biometric: bool,
        entropy: &dyn Entropy,
    ) -> Result<Phone, AppError> {
        if !(6..=16).contains(&passcode.len()) || !passcode.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("the phone's passcode is 6 to 16 digits"));
        }
        let mut id = [0u8; 16];
        entropy.fill(&mut id);
        let mut salt = [0u8; 16];
        entropy.fill(&mut salt);
        let salt = hex(&salt);
        let (auth_key, _) = generate().map_err(|e| invalid(e.to_string()))?;
        let (sign_key, _) = generate().map_err(|e| invalid(e.to_string()))?;
        Ok(Phone {
            format: 1,
            device_id: hex(&id),
            model: model.to_owned(),
            token_label: TOKEN_LABEL.to_owned(),
            passcode_hash: passcode_hash(&salt, passcode),
            passcode_salt: salt,
            biometric,
            auth_key,
            sign_key,
            auth_certificate: None,
            sign_certificate: None,
        })
    }

    /// The request the holder signs with the card.
    pub fn request(&self) -> Result<PhoneRequest, AppError> {
        let e = base64::engine::general_purpose::STANDARD;
        Ok(PhoneRequest {
            kind: REQUEST_KIND.into(),
            device_id: self.device_id.clone(),
            model: self.model.clone(),
            auth_public_key: e.encode(
                self.auth_key
                    .public_spki()
                    .map_err(|e| invalid(e.to_string()))?,
            ),
            sign_public_key: e.encode(
                self.sign_key
                    .public_spki()
                    .map_err(|e| invalid(e.to_string()))?,
            ),
        })
    }

    /// Stores the certificates the portal returned.
    pub fn install(&mut self, auth_certificate: &str, sign_certificate: &str) {
        self.auth_certificate = Some(auth_certificate.to_owned());
        self.sign_certificate = Some(sign_certificate.to_owned());
    }

    fn key(&self, which: KeyId, how: Unlock<'_>) -> Result<LoadedKey, AppError> {
        match how {
            Unlock::Passcode(p) if passcode_hash(&self.passcode_salt, p) == self.passcode_hash => {}
            Unlock::Biometric if self.biometric => {}
            Unlock::Biometric => {
                return Err(invalid("biometric unlock is not set up on this phone"));
            }
            Unlock::Passcode(_) => return Err(invalid("wrong passcode")),
        }
        let key = match which {
            KeyId::Sign => &self.sign_key,
            // A phone has the two JPKI keys only.
            _ => &self.auth_key,
        };
        LoadedKey::load(key).map_err(|e| invalid(e.to_string()))
    }

    /// Signs `data` with the authentication key (SHA-256, PKCS#1 v1.5), as a card would.
    pub fn sign_auth(&self, how: Unlock<'_>, data: &[u8]) -> Result<Vec<u8>, AppError> {
        self.key(KeyId::Auth, how)?
            .sign_sha256(data)
            .map_err(|_| invalid("signing failed"))
    }

    /// The authentication certificate (DER), once issued.
    pub fn auth_certificate_der(&self) -> Result<Vec<u8>, AppError> {
        let c = self
            .auth_certificate
            .as_deref()
            .ok_or_else(|| invalid("the phone has no certificates yet"))?;
        base64::engine::general_purpose::STANDARD
            .decode(c)
            .map_err(|_| invalid("the phone's certificate is damaged"))
    }

    pub fn load(path: &Path) -> Result<Phone, AppError> {
        let b = std::fs::read(path)
            .map_err(|e| AppError::io(format!("reading {}", path.display()), e))?;
        serde_json::from_slice(&b)
            .map_err(|e| invalid(format!("{} is not a phone: {e}", path.display())))
    }

    /// Writes the phone atomically (a 0600 temp file renamed into place).
    pub fn save(&self, path: &Path) -> Result<(), AppError> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| invalid(e.to_string()))?;
        let tmp: PathBuf = path.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        openmyna_store::crypto::write_secret_file(&tmp, &json)
            .map_err(|e| AppError::io(format!("writing {}", tmp.display()), e))?;
        std::fs::rename(&tmp, path)
            .map_err(|e| AppError::io(format!("writing {}", path.display()), e))
    }
}

/// Signs the phone's request with the card's signing key (after the signing password): the
/// CMS SignedData the portal expects.
pub fn sign_request<T: Transport>(
    card: &mut JpkiClient<T>,
    password: &str,
    request: &PhoneRequest,
    now: &Timestamp,
) -> Result<Vec<u8>, AppError> {
    card.verify(openmyna_card::PinId::Sign, password)?;
    let cert = card.read_certificate(Certificate::Sign)?;
    let signed = cms::build(&request.to_bytes(), &cert, now, |hash| {
        card.sign_hash(KeyId::Sign, password, hash)
    })?;
    Ok(signed?)
}
