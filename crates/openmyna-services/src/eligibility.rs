//! Eligibility checks as the reader and the reception ask them: the domain's use cases
//! (`openmyna-eligibility`), counted by outcome for the metrics.

use chrono::NaiveDate;
use openmyna_core::Actor;
use openmyna_eligibility::record::InsuredKey;
use openmyna_eligibility::{AuthMethod, CardProof, EligibilityError, EligibilityResult};

use crate::{Result, Services};

/// What a check's outcome is called in the metrics.
fn outcome(r: &std::result::Result<EligibilityResult, EligibilityError>) -> &str {
    match r {
        Ok(v) => &v.validity_name,
        Err(EligibilityError::Refusal(r)) => r.code(),
        Err(EligibilityError::Jpki(openmyna_jpki::JpkiError::Refusal(r))) => r.code(),
        Err(_) => "error",
    }
}

/// The check with the card (資格確認): the card's proof, then the verdict.
pub async fn verify(
    s: &Services,
    actor: &Actor,
    proof: &CardProof<'_>,
    method: AuthMethod,
    date_of_service: Option<NaiveDate>,
) -> Result<EligibilityResult> {
    let r = s
        .eligibility()
        .verify(actor, proof, method, date_of_service)
        .await;
    s.counters.eligibility("card", outcome(&r));
    Ok(r?)
}

/// The check without the card (記号・番号・枝番 and birth date).
pub async fn query(
    s: &Services,
    actor: &Actor,
    key: &InsuredKey,
    birth_date: NaiveDate,
    date_of_service: Option<NaiveDate>,
) -> Result<EligibilityResult> {
    let r = s
        .eligibility()
        .query(actor, key, birth_date, date_of_service)
        .await;
    s.counters.eligibility("query", outcome(&r));
    Ok(r?)
}
