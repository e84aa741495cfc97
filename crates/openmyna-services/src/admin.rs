//! Organisations and their API tokens: the code an organisation is registered with, checked
//! against its role; tokens issued with an optional expiry.

use openmyna_core::{Clock, Refusal, Role};
use openmyna_store::Store;
use openmyna_store::auth::{IssuedToken, Organisation, TokenInfo};

use crate::Result;

/// Validates an organisation's code against its role and returns it normalised: a
/// municipality's 地方公共団体コード, an insurer's 保険者番号, a facility's 医療機関コード, a
/// relying party's or employer's 法人番号 (the operator's is free text). `None` for no code.
pub fn validate_org_code(role: Role, code: Option<&str>) -> Result<Option<String>, Refusal> {
    use openmyna_ids::{CorporateNumber, FacilityCode, InsurerNumber, MunicipalityCode};
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let err =
        |e: openmyna_ids::IdError| Refusal::invalid(e.code(), e.to_string()).with_field("code");
    let normalised = match role {
        Role::Municipality => MunicipalityCode::parse(code)
            .map_err(err)?
            .as_str()
            .to_owned(),
        Role::Insurer => InsurerNumber::parse(code).map_err(err)?.as_str().to_owned(),
        Role::MedicalInstitution => FacilityCode::parse(code).map_err(err)?.as_str().to_owned(),
        Role::RelyingParty | Role::Employer => CorporateNumber::parse(code)
            .map_err(err)?
            .as_str()
            .to_owned(),
        Role::Operator => code.to_owned(),
    };
    Ok(Some(normalised))
}

/// Registers an organisation (the operator, through the API or the command line): a known
/// role, a name of 1–200 printable characters, the code its role takes.
pub async fn create_organisation(
    store: &Store,
    clock: &dyn Clock,
    role: &str,
    name: &str,
    code: Option<&str>,
) -> Result<Organisation> {
    let role = Role::parse(role.trim())
        .map_err(|e| Refusal::invalid("role.unknown", e.to_string()).with_field("role"))?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Refusal::invalid(
            "name.length",
            "organisation name must have 1 to 200 printable characters",
        )
        .with_field("name")
        .into());
    }
    let code = validate_org_code(role, code)?;
    Ok(store
        .auth()
        .create_organisation(name, role, code.as_deref(), &clock.now())
        .await?)
}

/// Issues an API token for an organisation, optionally expiring at an RFC 3339 time in the
/// future; only its hash is kept.
pub async fn create_token(
    store: &Store,
    clock: &dyn Clock,
    org_id: i64,
    label: &str,
    expires_at: Option<&str>,
) -> Result<IssuedToken> {
    let now = clock.now();
    let expires = match expires_at {
        None => None,
        Some(e) => {
            let t = chrono::DateTime::parse_from_rfc3339(e).map_err(|_| {
                Refusal::invalid(
                    "expires_at.format",
                    "expires_at must be an RFC 3339 time with offset",
                )
                .with_field("expires_at")
            })?;
            if t <= now {
                return Err(
                    Refusal::invalid("expires_at.past", "expires_at is not in the future")
                        .with_field("expires_at")
                        .into(),
                );
            }
            Some(t)
        }
    };
    Ok(store
        .auth()
        .create_token(org_id, label, &now, expires.as_ref())
        .await?)
}

/// Revokes an API token (at once: its bearer and every page session opened with it stop
/// working).
pub async fn revoke_token(store: &Store, clock: &dyn Clock, token_id: i64) -> Result<()> {
    if store.auth().revoke_token(token_id, &clock.now()).await? {
        Ok(())
    } else {
        Err(Refusal::not_found(
            "token.not_found",
            format!("no active token with id {token_id}"),
        )
        .into())
    }
}

/// Every organisation with its tokens (newest first), for the operator's console.
pub async fn directory(store: &Store) -> Result<Vec<(Organisation, Vec<TokenInfo>)>> {
    let mut tokens: std::collections::HashMap<i64, Vec<TokenInfo>> = Default::default();
    for t in store.auth().tokens().await? {
        tokens.entry(t.org_id).or_default().push(t);
    }
    Ok(store
        .auth()
        .organisations()
        .await?
        .into_iter()
        .map(|o| {
            let mine = tokens.remove(&o.id).unwrap_or_default();
            (o, mine)
        })
        .collect())
}

/// Parses an expiry day from a form (`YYYY-MM-DD`, empty for none) into the RFC 3339 time
/// [`create_token`] takes: the end of that day in Japan time.
pub fn expiry_of_day(day: &str) -> Result<Option<String>, Refusal> {
    let day = day.trim();
    if day.is_empty() {
        return Ok(None);
    }
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
        Refusal::invalid("expires_at.format", "the expiry day must be YYYY-MM-DD")
            .with_field("expires_at")
    })?;
    Ok(Some(format!("{d}T23:59:59+09:00")))
}

/// The installation's operator organisation (created with `name` when there is none) and a
/// new token for it.
pub async fn operator_token(
    store: &Store,
    clock: &dyn Clock,
    name: &str,
) -> Result<(Organisation, IssuedToken)> {
    let now = clock.now();
    let existing = (store.auth().organisations().await?)
        .into_iter()
        .find(|o| o.role == Role::Operator);
    let org = match existing {
        Some(o) => o,
        None => create_organisation(store, clock, Role::Operator.as_str(), name, None).await?,
    };
    let t = store
        .auth()
        .create_token(org.id, "operator", &now, None)
        .await?;
    Ok((org, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_role() {
        assert_eq!(validate_org_code(Role::Insurer, Some("  ")), Ok(None));
        assert_eq!(
            validate_org_code(Role::Operator, Some(" ops ")),
            Ok(Some("ops".into()))
        );
        let r = validate_org_code(Role::Municipality, Some("1310")).unwrap_err();
        assert_eq!(r.field(), Some("code"));
        assert_eq!(r.kind(), openmyna_core::RefusalKind::Invalid);
    }

    #[test]
    fn an_expiry_day_ends_in_japan_time() {
        assert_eq!(expiry_of_day(" "), Ok(None));
        assert_eq!(
            expiry_of_day("2027-03-31"),
            Ok(Some("2027-03-31T23:59:59+09:00".into()))
        );
        assert_eq!(
            expiry_of_day("31/03/2027").unwrap_err().code(),
            "expires_at.format"
        );
    }
}
