//! The public-money account (公金受取口座).

use axum::extract::State;
use openmyna_portal::account::{Account, AccountInput};
use openmyna_services::portal::{self};
use openmyna_store::portal::AccountChange;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::json::ApiJson;
use crate::state::AppState;

use super::Citizen;

#[derive(Serialize, ToSchema)]
pub struct AccountView {
    pub account: Account,
    /// The institution's name from the directory of financial institutions (全銀協の金融機関
    /// コード), e.g. みずほ, ゆうちょ.
    pub bank_name: Option<String>,
    /// The branch's name from the same directory.
    pub branch_name: Option<String>,
    pub registered_at: String,
    pub channel: String,
}

/// The citizen's public-money account (公金受取口座), if registered.
#[utoipa::path(get, path = "/api/v1/portal/public-money-account", tag = "portal",
    responses((status = 200, body = AccountView), (status = 404, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
pub async fn account(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<AccountView>, ApiError> {
    let a = portal::account(&s, &c).await?.ok_or_else(|| {
        ApiError::not_found(
            "account.not_registered",
            "no public-money account is registered",
        )
    })?;
    Ok(axum::Json(AccountView::of(a)))
}

impl AccountView {
    fn of(a: portal::RegisteredAccount) -> AccountView {
        AccountView {
            bank_name: a.account.bank_name().map(str::to_owned),
            branch_name: a.account.branch_name().map(str::to_owned),
            account: a.account,
            registered_at: a.registered_at.to_rfc3339(),
            channel: a.channel,
        }
    }
}

/// Register the public-money account (replacing an earlier one): bank code 4 digits and
/// branch 3, both listed in the directory of financial institutions (全銀協; an unlisted one is
/// `bank_code.unknown` / `branch_code.unknown`), ordinary/current/postal_ordinary, account
/// number 7, the holder's kana name the citizen's own.
#[utoipa::path(put, path = "/api/v1/portal/public-money-account", tag = "portal",
    request_body = AccountInput,
    responses((status = 200, body = AccountView), (status = 422, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
pub async fn set_account(
    State(s): State<AppState>,
    c: Citizen,
    ApiJson(req): ApiJson<AccountInput>,
) -> Result<axum::Json<AccountView>, ApiError> {
    Ok(axum::Json(AccountView::of(
        portal::set_account(&s, &c, &req).await?,
    )))
}

/// Every change of the public-money account.
#[utoipa::path(get, path = "/api/v1/portal/public-money-account/history", tag = "portal",
    responses((status = 200, body = Vec<Object>), (status = 401, body = ErrorBody)))]
pub async fn account_history(
    State(s): State<AppState>,
    c: Citizen,
) -> Result<axum::Json<Vec<AccountChange>>, ApiError> {
    Ok(axum::Json(portal::account_history(&s, &c).await?))
}
