//! The portal's pages: server-rendered HTML over the same use cases as the JSON API
//! (`openmyna_services::portal`): `/portal`, the browser handoff (`/portal/handoff/{token}`)
//! and logout. No script.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::Response;
use chrono::Datelike;
use openmyna_api::oqs::MedicalData;
use openmyna_core::{IntoRefusal, Refusal, RefusalKind, display_rfc3339, display_time};
use openmyna_portal::access_log::{category_label, consent_label, item_label};
use openmyna_portal::account;
use openmyna_services::ServiceError;
use openmyna_services::portal::{self as service, Citizen};

use crate::error::{ApiError, page_status};
use crate::pages::{render, see_other};
use crate::routes::portal::{self, Consents, Me};
use crate::state::AppState;

pub struct RecordRow {
    pub insurer: String,
    pub key: String,
    pub relationship: String,
    pub ratio: String,
    pub since: String,
}

pub struct ConsentRow {
    pub to: String,
    pub what: String,
    pub when: String,
    pub state: String,
    /// Where the withdraw button posts (none once withdrawn).
    pub withdraw: Option<String>,
}

/// The account form as entered, with the error to show beside its field.
#[derive(Default)]
pub struct AccountForm {
    pub bank_code: String,
    pub branch_code: String,
    pub account_type: String,
    pub holder_kana: String,
    /// Every problem of the form: (field, message in Japanese).
    pub errors: Vec<(String, String)>,
}

impl AccountForm {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

pub struct EntryRow {
    pub seq: i64,
    pub at: String,
    pub who: String,
    pub what: String,
    pub why: String,
}

pub struct PhoneRow {
    pub id: i64,
    pub model: String,
    pub state: String,
    pub issued: String,
    /// Where the revoke button posts (none once revoked).
    pub revoke: Option<String>,
}

#[derive(Template, Default)]
#[template(path = "portal.html")]
pub struct PortalPage {
    pub logged_in: bool,
    pub base_url: String,
    pub message: Option<String>,
    pub name: String,
    pub name_kana: String,
    pub birth_date: String,
    pub sex: String,
    pub address: String,
    pub my_number: String,
    pub registration: Option<String>,
    pub records: Vec<RecordRow>,
    pub years: Vec<i32>,
    pub consents: Vec<ConsentRow>,
    pub chain_intact: bool,
    pub broken_at: i64,
    pub head_short: String,
    pub entries: Vec<EntryRow>,
    pub account: Option<String>,
    pub account_form: AccountForm,
    pub notice: Option<String>,
    pub phones: Vec<PhoneRow>,
    /// The host this page was asked for under, when a browser cannot keep the login cookie
    /// there (plain HTTP from another machine).
    pub lan_host: Option<String>,
}

impl PortalPage {
    /// The error of the account form's `field`, if it is the one that failed.
    pub fn account_error(&self, field: &str) -> String {
        self.account_form
            .error_for(field)
            .unwrap_or_default()
            .to_owned()
    }

    /// Whether `t` is the account type entered.
    pub fn type_selected(&self, t: &str) -> bool {
        self.account_form.account_type == t
    }
}

fn login_page(s: &AppState, headers: &HeaderMap, message: Option<String>) -> PortalPage {
    PortalPage {
        logged_in: false,
        base_url: s.info.public_url.clone(),
        message,
        lan_host: crate::auth::cookie_cannot_stick(headers),
        ..Default::default()
    }
}

/// 負担割合 as the card shows it: "030" (thirty per cent) is 3割; none for 0.
fn co_payment_label(ratio: &str) -> String {
    match ratio.trim().parse::<u32>() {
        Ok(0) => "負担なし".into(),
        Ok(n) if n % 10 == 0 => format!("{}割", n / 10),
        Ok(n) => format!("{n}%"),
        Err(_) => ratio.to_owned(),
    }
}

/// The citizen of the request's session, or the login page to answer with.
pub(crate) async fn citizen_or_login(
    s: &AppState,
    parts: &Parts,
) -> Result<Result<Citizen, Response>, ApiError> {
    // The page itself answers 200 with the login form; a form posted without a live session
    // did nothing, and says so with 401.
    let status = if parts.method == axum::http::Method::GET {
        page_status(None)
    } else {
        page_status(Some(RefusalKind::Unauthenticated))
    };
    let Some(token) = portal::session_cookie(parts) else {
        return Ok(Err(render(&login_page(s, &parts.headers, None), status)?));
    };
    match service::citizen(s, &token)
        .await
        .map_err(IntoRefusal::into_refusal)
    {
        Ok(c) => Ok(Ok(c)),
        Err(Ok(r)) if r.kind() == RefusalKind::Unauthenticated => Ok(Err(render(
            &login_page(s, &parts.headers, Some(r.message().to_owned())),
            status,
        )?)),
        Err(Ok(r)) => Err(r.into()),
        Err(Err(e)) => Err(e.into()),
    }
}

/// `GET /portal`: the citizen's page, or how to log in.
pub async fn page(State(s): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    let c = match citizen_or_login(&s, &parts).await? {
        Ok(c) => c,
        Err(login) => return Ok(login),
    };
    render(&build(&s, &c).await?, page_status(None))
}

/// The logged-in citizen's page.
async fn build(s: &AppState, c: &Citizen) -> Result<PortalPage, ApiError> {
    let me = Me::of(&service::me(s, c).await?);
    let ins = service::insurance(s, c).await?;
    let consents = Consents::of(service::consents(s, c).await?);
    let log = service::access_log(s, c).await?;
    let account = service::account(s, c).await?.map(|a| {
        let type_ja = match a.account.account_type {
            openmyna_ids::AccountType::Ordinary => "普通",
            openmyna_ids::AccountType::Current => "当座",
            openmyna_ids::AccountType::Savings => "貯蓄",
            openmyna_ids::AccountType::PostalOrdinary => "通常貯金",
        };
        format!(
            "{} {} / {} {} / {} / {} ({})",
            a.account.bank_code.as_str(),
            a.account.bank_name().unwrap_or("（一覧にない金融機関）"),
            a.account.branch_code.as_str(),
            a.account.branch_name().unwrap_or("（一覧にない支店）"),
            type_ja,
            a.account.masked_number(),
            a.account.holder_kana
        )
    });
    let phones = service::phones(s, c).await?;
    let this_year = s.clock.today().year();
    let page = PortalPage {
        logged_in: true,
        lan_host: None,
        base_url: s.info.public_url.clone(),
        message: None,
        name: me.name,
        name_kana: me.name_kana,
        birth_date: me.birth_date,
        sex: match me.sex {
            1 => "男",
            2 => "女",
            _ => "適用不能",
        }
        .into(),
        address: me.address,
        my_number: me.my_number,
        registration: ins.registration.map(|r| {
            format!(
                "{}, {}",
                r.channel.label_ja(),
                display_time(&r.registered_at)
            )
        }),
        records: ins
            .records
            .into_iter()
            .map(|r| RecordRow {
                insurer: format!("{} ({})", r.insurer_name, r.insurer_number),
                key: format!("{} · {} · {}", r.symbol, r.number, r.branch),
                relationship: if r.relationship == "1" {
                    "本人"
                } else {
                    "家族"
                }
                .into(),
                ratio: co_payment_label(&r.co_payment_ratio),
                since: r.qualification_date.to_string(),
            })
            .collect(),
        years: (this_year - 2..=this_year).rev().collect(),
        consents: consents
            .relying_parties
            .into_iter()
            .map(|x| ConsentRow {
                to: format!("民間事業者 #{}", x.relying_party),
                what: format!(
                    "{} — {}",
                    x.items
                        .iter()
                        .map(|i| item_label(i))
                        .collect::<Vec<_>>()
                        .join("・"),
                    x.purpose
                ),
                when: display_rfc3339(&x.created_at),
                withdraw: (x.status == "live")
                    .then(|| format!("/portal/consents/relying-parties/{}/withdraw", x.id)),
                state: match x.status.as_str() {
                    "live" => "有効".to_owned(),
                    "withdrawn" => "撤回済み".to_owned(),
                    other => other.to_owned(),
                },
            })
            .chain(consents.facilities.into_iter().map(|f| ConsentRow {
                to: f.facility,
                what: consent_label(&f.category).to_owned(),
                when: display_rfc3339(&f.given_at),
                state: format!("{} まで閲覧可", display_rfc3339(&f.expires_at)),
                withdraw: Some(format!("/portal/consents/facilities/{}/withdraw", f.org_id)),
            }))
            .collect(),
        chain_intact: log.chain.intact,
        broken_at: log.chain.broken_at_seq.unwrap_or(0),
        head_short: log.chain.head_hash.chars().take(16).collect(),
        entries: log
            .entries
            .iter()
            .map(|e| EntryRow {
                seq: e.seq,
                at: display_time(&e.at),
                who: format!(
                    "{}（{}）",
                    e.actor_name,
                    openmyna_core::Role::parse(&e.actor_role)
                        .map_or(e.actor_role.as_str(), |r| r.label_ja())
                ),
                what: format!("{} — {}", category_label(&e.category), e.detail),
                why: e.purpose.clone(),
            })
            .collect(),
        account,
        account_form: AccountForm::default(),
        notice: None,
        phones: phones
            .into_iter()
            .map(|p| PhoneRow {
                id: p.id,
                revoke: (p.status != service::PhoneState::Revoked)
                    .then(|| format!("/portal/phones/{}/revoke", p.id)),
                model: p.model,
                state: p.status.as_str().to_owned(),
                issued: display_time(&p.created_at),
            })
            .collect(),
    };
    Ok(page)
}

#[derive(serde::Deserialize)]
pub struct AccountFormInput {
    pub bank_code: String,
    pub branch_code: String,
    pub account_type: String,
    pub account_number: String,
    pub holder_kana: String,
}

/// `POST /portal/account` (the page's form): registers the public-money account, or shows
/// the page again with the error beside the field (the account number is not echoed).
pub async fn account(
    State(s): State<AppState>,
    parts: Parts,
    axum::extract::Form(f): axum::extract::Form<AccountFormInput>,
) -> Result<Response, ApiError> {
    let c = match citizen_or_login(&s, &parts).await? {
        Ok(c) => c,
        Err(login) => return Ok(login),
    };
    let input = openmyna_portal::account::AccountInput {
        bank_code: f.bank_code.clone(),
        branch_code: f.branch_code.clone(),
        account_type: f.account_type.clone(),
        account_number: f.account_number,
        holder_kana: f.holder_kana.clone(),
    };
    // Every problem at once, beside its field, in Japanese; nothing is stored.
    let problems = match service::submit_account(&s, &c, &input).await? {
        Ok(_) => return Ok(see_other("/portal#account")),
        Err(problems) => problems,
    };
    let mut page = build(&s, &c).await?;
    page.account_form = AccountForm {
        bank_code: f.bank_code,
        branch_code: f.branch_code,
        account_type: f.account_type,
        holder_kana: f.holder_kana,
        errors: problems
            .iter()
            .map(|r| {
                let field = r.field().unwrap_or_default().to_owned();
                (field, account::message_ja(r.code()).to_owned())
            })
            .collect(),
    };
    render(&page, page_status(Some(RefusalKind::Invalid)))
}

/// After a form's action: back to `anchor` when it was done; a refusal shown at the top of
/// the page with its status (nothing changed); anything else is an error.
async fn after_form<T>(
    s: &AppState,
    c: &Citizen,
    result: Result<T, ServiceError>,
    anchor: &'static str,
) -> Result<Response, ApiError> {
    match result.map_err(IntoRefusal::into_refusal) {
        Ok(_) => Ok(see_other(anchor)),
        Err(Ok(r)) => refused_page(s, c, &r).await,
        Err(Err(e)) => Err(e.into()),
    }
}

/// The page again with a refusal at the top (nothing changed), answered with its status.
async fn refused_page(s: &AppState, c: &Citizen, r: &Refusal) -> Result<Response, ApiError> {
    let mut page = build(s, c).await?;
    page.notice = Some(r.message().to_owned());
    render(&page, page_status(Some(r.kind())))
}

/// `POST /portal/registration` (the page's button): 健康保険証の利用登録 through the portal.
pub async fn registration(State(s): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    let c = match citizen_or_login(&s, &parts).await? {
        Ok(c) => c,
        Err(login) => return Ok(login),
    };
    let result = service::register_insurance(&s, &c).await;
    after_form(&s, &c, result, "/portal#insurance").await
}

/// `POST /portal/consents/facilities/{org_id}/withdraw` (the page's button).
pub async fn withdraw_facility(
    State(s): State<AppState>,
    parts: Parts,
    Path(org_id): Path<i64>,
) -> Result<Response, ApiError> {
    let c = match citizen_or_login(&s, &parts).await? {
        Ok(c) => c,
        Err(login) => return Ok(login),
    };
    // Already withdrawn (a second click) or not this citizen's: said on the page.
    let result = service::withdraw_facility(&s, &c, org_id).await;
    after_form(&s, &c, result, "/portal#consents").await
}

/// `POST /portal/consents/relying-parties/{id}/withdraw` (the page's button).
pub async fn withdraw_rp(
    State(s): State<AppState>,
    parts: Parts,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let c = match citizen_or_login(&s, &parts).await? {
        Ok(c) => c,
        Err(login) => return Ok(login),
    };
    let result = service::withdraw_relying_party(&s, &c, id).await;
    after_form(&s, &c, result, "/portal#consents").await
}

/// The citizen's own history of one kind, as a page.
#[derive(Template)]
#[template(path = "portal_history.html")]
pub struct HistoryPage {
    pub kind: String,
    /// (kind, label, whether it is this page).
    pub kinds: Vec<(&'static str, &'static str, bool)>,
    pub title: &'static str,
    pub note: &'static str,
    pub headings: Vec<&'static str>,
    /// Newest first.
    pub rows: Vec<Vec<String>>,
    pub years: Vec<i32>,
}

/// The kinds of history the citizen can read, with their titles.
const HISTORY_KINDS: [(&str, &str); 4] = [
    ("medication", "薬剤情報 / Medication"),
    ("treatment", "診療情報 / Treatment"),
    ("checkup", "健診情報 / Check-ups"),
    ("expense", "医療費通知 / Medical expenses"),
];

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| "—".into())
}

/// The columns and the cells of one record.
fn history_row(d: &MedicalData) -> Vec<String> {
    match d {
        MedicalData::Medication(m) => vec![
            m.dispensed_on.to_string(),
            m.drug_name.clone(),
            format!("{}{}", m.quantity, m.unit),
            format!("{}日", m.days),
            m.facility_name.clone(),
        ],
        MedicalData::Treatment(t) => vec![
            t.treated_on.to_string(),
            t.procedure_name.clone(),
            t.setting.label_ja().to_owned(),
            if t.surgery { "手術" } else { "" }.to_owned(),
            t.facility_name.clone(),
        ],
        MedicalData::Checkup(c) => vec![
            c.examined_on.to_string(),
            format!("{} cm / {} kg / BMI {}", c.height_cm, c.weight_kg, c.bmi),
            opt(&c.waist_cm),
            format!("{}/{}", c.systolic_bp, c.diastolic_bp),
            opt(&c.hba1c),
            format!(
                "{} / {} / {}",
                opt(&c.ldl_mg_dl),
                opt(&c.hdl_mg_dl),
                opt(&c.triglycerides_mg_dl)
            ),
            c.facility_name.clone(),
        ],
        MedicalData::Expense(e) => vec![
            e.month.format("%Y-%m").to_string(),
            e.facility_name.clone(),
            format!("{}日", e.days),
            format!("{}円", e.total_cost_yen),
            format!("{}円", e.paid_yen),
        ],
    }
}

/// `GET /portal/history/{kind}`: the citizen's medication, treatment, check-up or medical
/// expense history of the last five years, newest first.
pub async fn history(
    State(s): State<AppState>,
    parts: Parts,
    Path(kind): Path<String>,
) -> Result<Response, ApiError> {
    let c = match citizen_or_login(&s, &parts).await? {
        Ok(c) => c,
        Err(login) => return Ok(login),
    };
    let mut records = service::medical(&s, &c, &kind).await?;
    records.sort_by_key(|d| std::cmp::Reverse(d.date()));
    let (title, note, headings) = match kind.as_str() {
        "medication" => (
            "薬剤情報 / Medication",
            "調剤・処方された薬（過去5年）。 Medicines dispensed in the last five years.",
            vec!["調剤日", "薬品名", "数量", "日数", "薬局・医療機関"],
        ),
        "treatment" => (
            "診療情報 / Treatment",
            "受けた診療行為（手術を含む、過去5年）。 Treatments, surgeries included.",
            vec!["診療日", "診療行為", "区分", "手術", "医療機関"],
        ),
        "checkup" => (
            "健診情報 / Check-ups",
            "特定健診・高齢者健診の結果（過去5年）。 Check-up results.",
            vec![
                "受診日",
                "身長・体重・BMI",
                "腹囲 cm",
                "血圧 mmHg",
                "HbA1c %",
                "LDL / HDL / 中性脂肪 mg/dL",
                "健診機関",
            ],
        ),
        _ => (
            "医療費通知 / Medical expenses",
            "医療機関ごと・月ごとの医療費（確定申告の医療費控除に使えます）。 For the tax return.",
            vec![
                "診療月",
                "医療機関",
                "日数",
                "医療費の総額",
                "窓口負担相当額",
            ],
        ),
    };
    let this_year = s.clock.today().year();
    let page = HistoryPage {
        kinds: HISTORY_KINDS
            .iter()
            .map(|(k, label)| (*k, *label, *k == kind))
            .collect(),
        kind,
        title,
        note,
        headings,
        rows: records.iter().map(history_row).collect(),
        years: (this_year - 2..=this_year).rev().collect(),
    };
    render(&page, page_status(None))
}

/// `GET /portal/handoff/{token}`: logs this browser in and goes to the portal.
pub async fn handoff(
    State(s): State<AppState>,
    Path(token): Path<String>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let headers = &parts.headers;
    match service::redeem_handoff(&s, &token)
        .await
        .map_err(IntoRefusal::into_refusal)
    {
        Ok(session) => {
            let to = crate::routes::oidc::return_to(&parts);
            let mut resp = see_other(to.as_deref().unwrap_or("/portal"));
            portal::set_cookie(&mut resp, &session, portal::SESSION_SECONDS);
            if to.is_some() {
                crate::routes::oidc::RETURN_COOKIE.set(&mut resp, "", 0);
            }
            Ok(resp)
        }
        Err(Ok(r)) if r.kind() == RefusalKind::Unauthenticated => render(
            &login_page(&s, headers, Some(r.message().to_owned())),
            page_status(Some(RefusalKind::Unauthenticated)),
        ),
        Err(Ok(r)) => Err(r.into()),
        Err(Err(e)) => Err(e.into()),
    }
}

/// `POST /portal/logout` (the page's form): ends the session and goes back to the portal.
pub async fn logout(State(s): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    if let Some(token) = portal::session_cookie(&parts) {
        service::end_session(&s, &token).await?;
    }
    let mut resp = see_other("/portal");
    portal::set_cookie(&mut resp, "", 0);
    Ok(resp)
}

#[derive(serde::Deserialize)]
pub struct PhoneNoteForm {
    pub note: String,
}

/// `POST /portal/phones/{id}/revoke` (the page's button): revokes a phone's certificates
/// before it is sold or repaired; a refusal shows the page again with the reason.
pub async fn revoke_phone(
    State(s): State<AppState>,
    parts: Parts,
    Path(id): Path<i64>,
    axum::extract::Form(f): axum::extract::Form<PhoneNoteForm>,
) -> Result<Response, ApiError> {
    let c = match citizen_or_login(&s, &parts).await? {
        Ok(c) => c,
        Err(login) => return Ok(login),
    };
    let result = service::revoke_phone(&s, &c, id, &f.note).await;
    after_form(&s, &c, result, "/portal#phones").await
}

#[cfg(test)]
mod tests {
    use super::co_payment_label;

    #[test]
    fn co_payment_labels() {
        assert_eq!(co_payment_label("030"), "3割");
        assert_eq!(co_payment_label("020"), "2割");
        assert_eq!(co_payment_label("010"), "1割");
        assert_eq!(co_payment_label("000"), "負担なし");
        assert_eq!(co_payment_label("x"), "x");
    }
}
