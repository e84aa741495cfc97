//! Storage of the OpenID Connect provider (`oidc_*`): clients, authorisation codes and access
//! tokens by their SHA-256, the ID-token signing keys sealed, and the client assertions' jti.

use openmyna_core::{Actor, Timestamp};

use crate::access_log::{NewAccess, append, is_fork};
use crate::{Result, StoreError, from_micros, to_micros};

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    pub client_id: String,
    pub org_id: i64,
    pub name: String,
    /// JSON array of strings.
    pub redirect_uris: String,
    /// The client's public JWK (JSON).
    pub jwk: String,
    pub created_at: Timestamp,
}

/// An authorisation code as stored.
#[derive(Debug, Clone)]
pub struct CodeRow {
    pub client_id: String,
    pub resident_id: i64,
    /// The authorisation request (JSON).
    pub request: String,
    /// The scopes the holder granted, space-separated.
    pub granted: String,
    pub auth_time: Timestamp,
    pub expires_at: Timestamp,
    pub token_hash: Option<String>,
}

/// What redeeming a code found.
#[derive(Debug, Clone)]
pub enum Redeemed {
    /// First use: the code is now used.
    Fresh(CodeRow),
    /// Used before: a replay.
    Replayed(CodeRow),
    Unknown,
}

/// An access token as stored.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub client_id: String,
    /// None for a client's own token (client_credentials).
    pub resident_id: Option<i64>,
    pub granted: String,
    pub expires_at: Timestamp,
    pub revoked: bool,
}

/// The access-log entry written with a new code (the holder's consent).
pub struct ConsentEntry<'a> {
    pub actor: &'a Actor,
    pub purpose: &'a str,
    pub detail: &'a str,
}

const KEY_CONTEXT: &str = "oidc_keys.private_key";

type TokenTuple = (String, Option<i64>, String, i64, Option<i64>);

type CodeTuple = (String, i64, String, String, i64, i64, Option<String>);

fn code_row(t: CodeTuple) -> Result<CodeRow> {
    Ok(CodeRow {
        client_id: t.0,
        resident_id: t.1,
        request: t.2,
        granted: t.3,
        auth_time: from_micros(t.4)?,
        expires_at: from_micros(t.5)?,
        token_hash: t.6,
    })
}

impl crate::Oidc<'_> {
    pub async fn insert_client(&self, c: &ClientRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO oidc_clients (client_id, org_id, name, redirect_uris, jwk, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&c.client_id)
        .bind(c.org_id)
        .bind(&c.name)
        .bind(&c.redirect_uris)
        .bind(&c.jwk)
        .bind(to_micros(&c.created_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn clients_where(&self, clause: &str, bind: ClientKey<'_>) -> Result<Vec<ClientRow>> {
        let sql = format!(
            "SELECT client_id, org_id, name, redirect_uris, jwk, created_at FROM oidc_clients \
             WHERE {clause} ORDER BY created_at, client_id"
        );
        let q = sqlx::query_as::<_, (String, i64, String, String, String, i64)>(
            sqlx::AssertSqlSafe(sql),
        );
        let q = match bind {
            ClientKey::Id(id) => q.bind(id.to_owned()),
            ClientKey::Org(org) => q.bind(org),
        };
        q.fetch_all(self.pool())
            .await?
            .into_iter()
            .map(|r| {
                Ok(ClientRow {
                    client_id: r.0,
                    org_id: r.1,
                    name: r.2,
                    redirect_uris: r.3,
                    jwk: r.4,
                    created_at: from_micros(r.5)?,
                })
            })
            .collect()
    }

    pub async fn client(&self, client_id: &str) -> Result<Option<ClientRow>> {
        Ok(self
            .clients_where("client_id = $1", ClientKey::Id(client_id))
            .await?
            .pop())
    }

    pub async fn clients_of(&self, org_id: i64) -> Result<Vec<ClientRow>> {
        self.clients_where("org_id = $1", ClientKey::Org(org_id))
            .await
    }

    /// Stores a code and the holder's consent in their access log, in one transaction.
    pub async fn insert_code(
        &self,
        code_hash: &str,
        c: &CodeRow,
        entry: &ConsentEntry<'_>,
    ) -> Result<()> {
        let mut attempt = 0;
        loop {
            let r = async {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO oidc_codes (code_hash, client_id, resident_id, request, granted, \
                     auth_time, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(code_hash)
                .bind(&c.client_id)
                .bind(c.resident_id)
                .bind(&c.request)
                .bind(&c.granted)
                .bind(to_micros(&c.auth_time))
                .bind(to_micros(&c.expires_at))
                .execute(&mut *tx)
                .await?;
                append(
                    &mut tx,
                    self.backend(),
                    &[NewAccess {
                        resident_id: c.resident_id,
                        actor: entry.actor,
                        at: &c.auth_time,
                        category: "oidc.login",
                        purpose: entry.purpose,
                        detail: entry.detail,
                    }],
                )
                .await?;
                tx.commit().await?;
                Ok::<(), StoreError>(())
            }
            .await;
            match r {
                Err(e) if is_fork(&e) && attempt < 5 => attempt += 1,
                other => return other,
            }
        }
    }

    /// Marks a code used, once: the first call gets it, every later one learns of the replay.
    pub async fn redeem_code(&self, code_hash: &str, now: &Timestamp) -> Result<Redeemed> {
        let fresh = sqlx::query(
            "UPDATE oidc_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(code_hash)
        .execute(self.pool())
        .await?
        .rows_affected()
            == 1;
        let row: Option<CodeTuple> = sqlx::query_as(
            "SELECT client_id, resident_id, request, granted, auth_time, expires_at, token_hash \
             FROM oidc_codes WHERE code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(self.pool())
        .await?;
        Ok(match (row, fresh) {
            (None, _) => Redeemed::Unknown,
            (Some(r), true) => Redeemed::Fresh(code_row(r)?),
            (Some(r), false) => Redeemed::Replayed(code_row(r)?),
        })
    }

    /// Stores an access token issued for a code (or, without one, a client's own token).
    pub async fn insert_token(
        &self,
        token_hash: &str,
        code_hash: Option<&str>,
        t: &TokenRow,
    ) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO oidc_tokens (token_hash, client_id, resident_id, granted, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(&t.client_id)
        .bind(t.resident_id)
        .bind(&t.granted)
        .bind(to_micros(&t.expires_at))
        .execute(&mut *tx)
        .await?;
        if let Some(code_hash) = code_hash {
            sqlx::query("UPDATE oidc_codes SET token_hash = $1 WHERE code_hash = $2")
                .bind(token_hash)
                .bind(code_hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn token(&self, token_hash: &str) -> Result<Option<TokenRow>> {
        let row: Option<TokenTuple> = sqlx::query_as(
            "SELECT client_id, resident_id, granted, expires_at, revoked_at FROM oidc_tokens \
             WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(TokenRow {
                client_id: r.0,
                resident_id: r.1,
                granted: r.2,
                expires_at: from_micros(r.3)?,
                revoked: r.4.is_some(),
            })
        })
        .transpose()
    }

    pub async fn revoke_token(&self, token_hash: &str, now: &Timestamp) -> Result<()> {
        sqlx::query(
            "UPDATE oidc_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        )
        .bind(to_micros(now))
        .bind(token_hash)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Remembers a client assertion's jti until it expires; `false` if it was seen before.
    pub async fn record_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: &Timestamp,
    ) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO oidc_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(client_id)
        .bind(jti)
        .bind(to_micros(expires_at))
        .execute(self.pool())
        .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if crate::unique_violation(&e).is_some() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The signing keys created at or after `since`, newest first: (kid, PKCS#8, created).
    pub async fn keys_since(&self, since: &Timestamp) -> Result<Vec<(String, Vec<u8>, Timestamp)>> {
        let rows: Vec<(String, Vec<u8>, i64)> = sqlx::query_as(
            "SELECT kid, private_key, created_at FROM oidc_keys WHERE created_at >= $1 \
             ORDER BY created_at DESC, kid",
        )
        .bind(to_micros(since))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(kid, sealed, at)| {
                Ok((
                    kid,
                    self.keys().open(KEY_CONTEXT, &sealed)?,
                    from_micros(at)?,
                ))
            })
            .collect()
    }

    pub async fn insert_key(&self, kid: &str, pkcs8: &[u8], at: &Timestamp) -> Result<()> {
        let sealed = self.keys().seal(KEY_CONTEXT, pkcs8)?;
        sqlx::query("INSERT INTO oidc_keys (kid, private_key, created_at) VALUES ($1, $2, $3)")
            .bind(kid)
            .bind(sealed)
            .bind(to_micros(at))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets codes, tokens and assertions that expired before `before`.
    pub async fn purge(&self, before: &Timestamp) -> Result<u64> {
        let mut n = 0;
        for table in [
            "oidc_assertions",
            "oidc_tokens",
            "oidc_codes",
            "oidc_sign_transactions",
        ] {
            let sql = format!("DELETE FROM {table} WHERE expires_at < $1");
            n += sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(to_micros(before))
                .execute(self.pool())
                .await?
                .rows_affected();
        }
        Ok(n)
    }
}

/// A signing transaction.
#[derive(Debug, Clone)]
pub struct SignTransaction {
    pub id: String,
    pub client_id: String,
    /// The SHA-256 to sign.
    pub digest: Vec<u8>,
    pub description: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Once signed: who, the signature, the signing certificate, when.
    pub signed: Option<Signed>,
}

#[derive(Debug, Clone)]
pub struct Signed {
    pub resident_id: i64,
    pub signature: Vec<u8>,
    pub certificate: Vec<u8>,
    pub at: Timestamp,
}

type SignTuple = (
    String,
    String,
    Vec<u8>,
    String,
    i64,
    i64,
    Option<i64>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<i64>,
);

impl crate::Oidc<'_> {
    pub async fn insert_sign_transaction(&self, t: &SignTransaction) -> Result<()> {
        sqlx::query(
            "INSERT INTO oidc_sign_transactions (id, client_id, digest, description, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&t.id)
        .bind(&t.client_id)
        .bind(&t.digest)
        .bind(&t.description)
        .bind(to_micros(&t.created_at))
        .bind(to_micros(&t.expires_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn sign_transaction(&self, id: &str) -> Result<Option<SignTransaction>> {
        let row: Option<SignTuple> = sqlx::query_as(
            "SELECT id, client_id, digest, description, created_at, expires_at, resident_id, \
             signature, certificate, signed_at FROM oidc_sign_transactions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            let signed = match (r.6, r.7, r.8, r.9) {
                (Some(resident_id), Some(signature), Some(certificate), Some(at)) => Some(Signed {
                    resident_id,
                    signature,
                    certificate,
                    at: from_micros(at)?,
                }),
                _ => None,
            };
            Ok(SignTransaction {
                id: r.0,
                client_id: r.1,
                digest: r.2,
                description: r.3,
                created_at: from_micros(r.4)?,
                expires_at: from_micros(r.5)?,
                signed,
            })
        })
        .transpose()
    }

    /// Records the holder's signature, once; `false` if the transaction was signed already.
    pub async fn record_signature(&self, id: &str, s: &Signed) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE oidc_sign_transactions SET resident_id = $1, signature = $2, \
             certificate = $3, signed_at = $4 WHERE id = $5 AND signed_at IS NULL",
        )
        .bind(s.resident_id)
        .bind(&s.signature)
        .bind(&s.certificate)
        .bind(to_micros(&s.at))
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected()
            == 1)
    }
}

enum ClientKey<'a> {
    Id(&'a str),
    Org(i64),
}
