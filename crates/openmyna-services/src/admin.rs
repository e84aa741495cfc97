//! Organisations: the code an organisation is registered with, checked against its role.

use openmyna_core::{Refusal, Role};

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
}
