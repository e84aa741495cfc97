//! Organisations act in one role each; bearer tokens are bound to an organisation and a role.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 市区町村: keeps the resident registry, issues cards.
    Municipality,
    /// 保険者: registers enrollment records.
    Insurer,
    /// 医療機関・薬局: verifies eligibility.
    MedicalInstitution,
    /// 署名検証者 / platform operator: JPKI relying party, 4-info service.
    RelyingParty,
    /// 事業者: employer (campaigns, My Number intake).
    Employer,
    /// The operator of this openmyna installation (J-LIS / Digital Agency role).
    Operator,
}

pub const ALL_ROLES: [Role; 6] = [
    Role::Municipality,
    Role::Insurer,
    Role::MedicalInstitution,
    Role::RelyingParty,
    Role::Employer,
    Role::Operator,
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?}; roles are municipality, insurer, medical_institution, relying_party, employer, operator"
)]
pub struct RoleParseError(pub String);

impl Role {
    /// The role as a resident reads it.
    pub fn label_ja(self) -> &'static str {
        match self {
            Role::Municipality => "市区町村",
            Role::Insurer => "保険者",
            Role::MedicalInstitution => "医療機関・薬局",
            Role::RelyingParty => "民間事業者",
            Role::Employer => "勤務先",
            Role::Operator => "運営者",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Municipality => "municipality",
            Role::Insurer => "insurer",
            Role::MedicalInstitution => "medical_institution",
            Role::RelyingParty => "relying_party",
            Role::Employer => "employer",
            Role::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Result<Self, RoleParseError> {
        ALL_ROLES
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| RoleParseError(s.to_owned()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An organisation: a party with a role (a municipality, an insurer, a clinic, a relying
/// party, an employer, the operator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The organisation's own code where it has one: municipality code, insurer number,
    /// facility code, corporate number.
    pub code: Option<String>,
    pub created_at: crate::Timestamp,
}

/// Who is acting: an organisation in a role, authenticated by one of its tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub org_id: i64,
    pub org_name: String,
    pub role: Role,
    pub token_id: i64,
}

impl Actor {
    /// The actor used by command-line tools run by the installation's operator.
    pub fn local_operator() -> Self {
        Actor {
            org_id: 0,
            org_name: "local operator (CLI)".into(),
            role: Role::Operator,
            token_id: 0,
        }
    }

    /// The actor, if its role is one of `roles`; otherwise a refusal naming the roles that
    /// may (`auth.role`).
    pub fn require(&self, roles: &[Role]) -> Result<&Actor, crate::Refusal> {
        if roles.contains(&self.role) {
            return Ok(self);
        }
        let need: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(crate::Refusal::forbidden(
            "auth.role",
            format!(
                "this requires the role {}; your token's role is {}",
                need.join(" or "),
                self.role
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for r in ALL_ROLES {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(
            Role::parse("admin")
                .unwrap_err()
                .to_string()
                .contains("unknown role")
        );
    }
}
