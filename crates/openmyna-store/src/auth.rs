//! Organisations and their bearer tokens. A token is shown once when created; only its
//! SHA-256 hash is stored, so a copy of the database does not let anyone act as an organisation.

use openmyna_core::{Actor, Role, Timestamp};
use serde::Serialize;

use crate::crypto::sha256_hex;
use crate::{Result, StoreError, from_micros, to_micros};

/// Prefix of every openmyna API token, so that leaked tokens are easy to recognise.
pub const TOKEN_PREFIX: &str = "omn_";

pub use openmyna_core::Organisation;

/// A freshly created token: the secret is in `token` and is not stored anywhere.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    pub id: i64,
    pub org_id: i64,
    pub role: Role,
    pub label: String,
    pub token: String,
}

/// An API token as listed (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub org_id: i64,
    pub label: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    org_id: i64,
    label: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: i64,
    name: String,
    role: String,
    code: Option<String>,
    created_at: i64,
}

impl OrgRow {
    fn into_org(self) -> Result<Organisation> {
        Ok(Organisation {
            id: self.id,
            role: Role::parse(&self.role).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            name: self.name,
            code: self.code,
            created_at: from_micros(self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ActorRow {
    token_id: i64,
    org_id: i64,
    name: String,
    role: String,
    expires_at: Option<i64>,
}

/// The character of the low 5 bits of `v` in the base32 alphabet `a`–`z`, `2`–`7`.
fn base32_char(v: u32) -> char {
    let v = (v & 31) as u8;
    char::from(if v < 26 { b'a' + v } else { b'2' + (v - 26) })
}

pub(crate) fn generate_secret() -> Result<String> {
    let mut raw = [0u8; 32];
    aws_lc_rs::rand::fill(&mut raw).map_err(|_| StoreError::Crypto("no randomness".into()))?;
    // 32 random bytes as 52 base32 characters (5 bits each; the last character carries 1 bit).
    let mut out = String::from(TOKEN_PREFIX);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in raw {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(base32_char(acc >> bits));
        }
    }
    if bits > 0 {
        out.push(base32_char(acc << (5 - bits)));
    }
    Ok(out)
}

impl crate::Auth<'_> {
    pub async fn create_organisation(
        self,
        name: &str,
        role: Role,
        code: Option<&str>,
        now: &Timestamp,
    ) -> Result<Organisation> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(StoreError::Conflict(
                "organisation name must have 1 to 200 characters".into(),
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO organisations (name, role, code, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(name.to_owned())
        .bind(role.as_str())
        .bind(code.map(str::to_owned))
        .bind(to_micros(now))
        .fetch_one(self.pool())
        .await?;
        Ok(Organisation {
            id,
            name: name.to_owned(),
            role,
            code: code.map(str::to_owned),
            created_at: *now,
        })
    }

    /// An organisation (organisations do not change once created, so they are cached).
    pub async fn organisation(self, id: i64) -> Result<Option<Organisation>> {
        if let Some(o) = self.cache.organisations.get(&id) {
            return Ok(Some(o));
        }
        let row: Option<OrgRow> = sqlx::query_as(
            "SELECT id, name, role, code, created_at FROM organisations WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let org = row.map(OrgRow::into_org).transpose()?;
        if let Some(o) = &org {
            self.cache.organisations.put(id, o.clone());
        }
        Ok(org)
    }

    pub async fn organisations(self) -> Result<Vec<Organisation>> {
        let rows: Vec<OrgRow> = sqlx::query_as(
            "SELECT id, name, role, code, created_at FROM organisations ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(OrgRow::into_org).collect()
    }

    /// Creates a token for an organisation. The returned secret is the only copy.
    pub async fn create_token(
        self,
        org_id: i64,
        label: &str,
        now: &Timestamp,
        expires_at: Option<&Timestamp>,
    ) -> Result<IssuedToken> {
        let org = self
            .auth()
            .organisation(org_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no organisation with id {org_id}")))?;
        let token = generate_secret()?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (org_id, label, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(org_id)
        .bind(label.trim().to_owned())
        .bind(sha256_hex(token.as_bytes()))
        .bind(to_micros(now))
        .bind(expires_at.map(to_micros))
        .fetch_one(self.pool())
        .await?;
        Ok(IssuedToken {
            id,
            org_id,
            role: org.role,
            label: label.trim().to_owned(),
            token,
        })
    }

    /// The actor behind a bearer token, if the token is known, not revoked and not expired.
    pub async fn authenticate(self, token: &str, now: &Timestamp) -> Result<Option<Actor>> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let hash = sha256_hex(token.as_bytes());
        if let Some((actor, expires_at, at)) = self.cache.tokens.get(&hash)
            && at.elapsed() < crate::cache::TOKEN_TTL
        {
            if expires_at.is_some_and(|e| e <= to_micros(now)) {
                return Ok(None);
            }
            return Ok(Some(actor));
        }
        let row: Option<ActorRow> = sqlx::query_as(
            "SELECT t.id AS token_id, o.id AS org_id, o.name, o.role, t.expires_at \
             FROM api_tokens t JOIN organisations o ON o.id = t.org_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        )
        .bind(hash.clone())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let actor = Actor {
            org_id: row.org_id,
            org_name: row.name,
            role: Role::parse(&row.role).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            token_id: row.token_id,
        };
        self.cache.tokens.put(
            hash,
            (actor.clone(), row.expires_at, std::time::Instant::now()),
        );
        if row.expires_at.is_some_and(|e| e <= to_micros(now)) {
            return Ok(None);
        }
        Ok(Some(actor))
    }

    /// Every token, newest first within each organisation (ids and labels, never secrets).
    pub async fn tokens(self) -> Result<Vec<TokenInfo>> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, org_id, label, created_at, expires_at, revoked_at FROM api_tokens \
             ORDER BY org_id, id DESC",
        )
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(TokenInfo {
                    id: r.id,
                    org_id: r.org_id,
                    label: r.label,
                    created_at: from_micros(r.created_at)?,
                    expires_at: r.expires_at.map(from_micros).transpose()?,
                    revoked_at: r.revoked_at.map(from_micros).transpose()?,
                })
            })
            .collect()
    }

    pub async fn revoke_token(self, token_id: i64, now: &Timestamp) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(token_id)
        .execute(self.pool())
        .await?;
        self.cache
            .tokens
            .retain(|_, (a, _, _)| a.token_id != token_id);
        Ok(r.rows_affected() == 1)
    }
}

/// Operator console sessions (see migration 0013).
impl crate::Auth<'_> {
    /// Opens a console session for the API token `api_token_id` until `expires_at`; returns
    /// the session secret for the cookie (only its hash is stored).
    pub async fn open_console_session(
        self,
        api_token_id: i64,
        now: &Timestamp,
        expires_at: &Timestamp,
    ) -> Result<String> {
        let secret = generate_secret()?;
        sqlx::query(
            "INSERT INTO console_sessions (token_hash, api_token_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(sha256_hex(secret.as_bytes()))
        .bind(api_token_id)
        .bind(to_micros(now))
        .bind(to_micros(expires_at))
        .execute(self.pool())
        .await?;
        Ok(secret)
    }

    /// The actor of a live console session: not ended, not expired, and its API token neither
    /// revoked nor expired.
    pub async fn console_actor(self, secret: &str, now: &Timestamp) -> Result<Option<Actor>> {
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 128 {
            return Ok(None);
        }
        let now = to_micros(now);
        let row: Option<ActorRow> = sqlx::query_as(
            "SELECT t.id AS token_id, o.id AS org_id, o.name, o.role, t.expires_at \
             FROM console_sessions c JOIN api_tokens t ON t.id = c.api_token_id \
             JOIN organisations o ON o.id = t.org_id \
             WHERE c.token_hash = $1 AND c.ended_at IS NULL AND c.expires_at > $2 \
             AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)",
        )
        .bind(sha256_hex(secret.as_bytes()))
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(Actor {
                org_id: row.org_id,
                org_name: row.name,
                role: Role::parse(&row.role).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                token_id: row.token_id,
            })
        })
        .transpose()
    }

    /// Ends a console session (logout). `false` if it was not live.
    pub async fn end_console_session(self, secret: &str, now: &Timestamp) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE console_sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(sha256_hex(secret.as_bytes()))
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_and_distinct() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 52);
        assert!(
            a[4..]
                .chars()
                .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c))
        );
    }
}
