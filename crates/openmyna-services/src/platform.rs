//! The verification platform (署名検証者): a relying party's signed document or signature
//! checked step by step, re-checked later, and the 確認記録 listed. The rules are
//! `openmyna_platform`'s; this module takes what the ways in decoded and hands it over.

use openmyna_core::Actor;
use openmyna_platform::{Check, Expect, RevocationMethod, Submission};

use crate::{Result, Services};

/// A check as asked for.
pub struct VerifyRequest<'a> {
    pub submission: Submission,
    pub purpose: &'a str,
    pub expect: Expect,
    pub revocation: RevocationMethod,
}

/// Checks and records (確認記録, the holder's access log) before answering.
pub async fn verify(s: &Services, actor: &Actor, req: &VerifyRequest<'_>) -> Result<Check> {
    let check = s
        .platform()
        .verify(
            actor,
            &req.submission,
            req.purpose,
            req.expect,
            req.revocation,
        )
        .await?;
    s.counters
        .platform_check(check.error.as_deref().unwrap_or("verified"));
    Ok(check)
}

/// Checks an earlier check's certificate again, now.
pub async fn recheck(
    s: &Services,
    actor: &Actor,
    id: i64,
    revocation: RevocationMethod,
) -> Result<Check> {
    let check = s.platform().recheck(actor, id, revocation).await?;
    s.counters
        .platform_check(check.error.as_deref().unwrap_or("verified"));
    Ok(check)
}

pub async fn check(s: &Services, actor: &Actor, id: i64) -> Result<Check> {
    Ok(s.platform().check(actor, id).await?)
}

pub async fn checks(s: &Services, actor: &Actor, limit: i64) -> Result<Vec<Check>> {
    Ok(s.platform().checks(actor, limit).await?)
}
