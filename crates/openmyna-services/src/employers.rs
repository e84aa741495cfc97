//! Employers: the organisation's place among companies, associations and ministries, its
//! divisions and employees, member tokens for HR staff (事務取扱担当者) and employees, the My
//! Number intake for enrollment forms, and the retention sweep.
//!
//! Who may do what: the organisation's own token (the administrator) manages the structure
//! and campaigns; an **hr** member token is the only one that can read, check, export or
//! delete employees' My Numbers; an **employee** member token answers for its own person
//! only. Every reading of a number is written to the handling record (取扱記録) and, when the
//! number belongs to a resident of the registry, to that resident's access log — before the
//! number is returned.

use openmyna_campaigns::CampaignError;
use openmyna_campaigns::intake::{self, IdentityCheckInput, InsurerDetails, IntakeForm, Purpose};
use openmyna_campaigns::org::{self, Industry, OrgKind};
use openmyna_core::{Actor, Refusal, Role};
use openmyna_ids::{CorporateNumber, InsuredSymbol, InsurerNumber, MyNumber};
use openmyna_registry::RegistryStore;
use openmyna_store::Store;
use openmyna_store::campaigns::{
    CheckRecord, DivisionRow, EmployeeRow, Handling, IntakeRow, Member, NewEmployee, Profile,
};

use crate::{Result, ServiceError, Services};

/// Retention after leaving when the organisation has not set one.
pub const DEFAULT_RETENTION_YEARS: i64 = 7;

/// Who is calling for an employer.
pub enum Who {
    /// The organisation's own token.
    Admin,
    /// HR staff entitled to My Numbers (事務取扱担当者).
    Hr(Member),
    /// An employee, answering for themselves.
    Employee(Member, EmployeeRow),
}

/// An employer organisation's caller: the organisation and who acts for it.
pub struct Employer {
    pub actor: Actor,
    pub who: Who,
}

impl Employer {
    /// Resolves who acts for an employer organisation from the token's member record (an
    /// actor of another role is refused, naming the role needed: `auth.role`).
    pub async fn of(s: &Services, actor: &Actor) -> Result<Employer> {
        actor.require(&[Role::Employer])?;
        let who = match s.store.employers().member(actor.token_id).await? {
            None => Who::Admin,
            Some(m) if m.kind == "hr" => Who::Hr(m),
            Some(m) => {
                let e = match m.employee_id {
                    Some(id) => s.store.employers().employee(id).await?,
                    None => None,
                }
                .ok_or_else(|| {
                    ServiceError::internal("employers", "an employee token without its employee")
                })?;
                Who::Employee(m, e)
            }
        };
        Ok(Employer {
            actor: actor.clone(),
            who,
        })
    }

    /// admin, hr or employee.
    pub fn kind(&self) -> &'static str {
        match self.who {
            Who::Admin => "admin",
            Who::Hr(_) => "hr",
            Who::Employee(..) => "employee",
        }
    }

    /// The person acting, for records: a member's name, or the organisation itself.
    pub fn name(&self) -> String {
        match &self.who {
            Who::Admin => format!("{} (administrator)", self.actor.org_name),
            Who::Hr(m) | Who::Employee(m, _) => format!("{} ({})", m.name, self.actor.org_name),
        }
    }

    /// The employee number of an employee token.
    pub fn employee_no(&self) -> Option<&str> {
        match &self.who {
            Who::Employee(_, x) => Some(&x.employee_no),
            _ => None,
        }
    }

    pub fn require_admin(&self) -> Result<()> {
        match self.who {
            Who::Admin => Ok(()),
            _ => Err(Refusal::forbidden(
                "employer.admin_only",
                "only the organisation's own token may do this (not a member token)",
            )
            .into()),
        }
    }

    pub fn require_staff(&self) -> Result<()> {
        match self.who {
            Who::Admin | Who::Hr(_) => Ok(()),
            Who::Employee(..) => Err(Refusal::forbidden(
                "employer.staff_only",
                "an employee token answers for its own person only",
            )
            .into()),
        }
    }

    pub fn require_hr(&self) -> Result<&Member> {
        match &self.who {
            Who::Hr(m) => Ok(m),
            _ => Err(Refusal::forbidden(
                "employer.hr_only",
                "only HR staff entitled to My Numbers (an hr member token) may do this",
            )
            .into()),
        }
    }

    pub fn require_employee(&self) -> Result<&EmployeeRow> {
        match &self.who {
            Who::Employee(_, e) => Ok(e),
            _ => Err(Refusal::forbidden(
                "employer.employee_only",
                "this is answered by the employee themselves, with their own token",
            )
            .into()),
        }
    }
}

/// The organisation's profile, or a company's defaults when none is set.
pub async fn profile_of(store: &Store, org_id: i64) -> Result<Profile> {
    Ok(store
        .employers()
        .employer_profile(org_id)
        .await?
        .unwrap_or(Profile {
            org_id,
            kind: OrgKind::Company.as_str().to_owned(),
            parent_org_id: None,
            industry: None,
            retention_years: DEFAULT_RETENTION_YEARS,
            insurer_number: None,
            insurer_name: None,
            insurer_symbol: None,
        }))
}

/// The profile of a company (divisions, employees and answers belong to companies only).
pub async fn require_company(store: &Store, org_id: i64) -> Result<Profile> {
    let p = profile_of(store, org_id).await?;
    if p.kind != OrgKind::Company.as_str() {
        return Err(Refusal::refused(
            "employer.not_company",
            "divisions, employees and their answers belong to a company; this organisation is \
             an association or a ministry",
        )
        .into());
    }
    Ok(p)
}

/// A profile with the names it refers to.
pub struct ProfileDetails {
    pub profile: Profile,
    pub organisation: String,
    pub corporate_number: Option<String>,
    /// The parent organisation's name.
    pub parent: Option<String>,
    pub industry: Option<Industry>,
}

async fn details(s: &Services, p: Profile) -> Result<ProfileDetails> {
    let org = s.store.auth().organisation(p.org_id).await?;
    let parent = match p.parent_org_id {
        Some(id) => s.store.auth().organisation(id).await?.map(|o| o.name),
        None => None,
    };
    Ok(ProfileDetails {
        industry: p.industry.as_deref().and_then(|i| Industry::parse(i).ok()),
        organisation: org.as_ref().map(|o| o.name.clone()).unwrap_or_default(),
        corporate_number: org.and_then(|o| o.code),
        parent,
        profile: p,
    })
}

/// The caller's organisation profile.
pub async fn profile(s: &Services, e: &Employer) -> Result<ProfileDetails> {
    details(s, profile_of(&s.store, e.actor.org_id).await?).await
}

/// What the administrator sets in the profile.
#[derive(Default)]
pub struct ProfileInput<'a> {
    /// company, association or ministry.
    pub kind: &'a str,
    /// The 法人番号 of the association or ministry above (registered here).
    pub parent_corporate_number: Option<&'a str>,
    /// 日本標準産業分類 major division, A–T.
    pub industry: Option<&'a str>,
    /// Years a My Number is kept after the employee leaves (1–10, default 7).
    pub retention_years: Option<u32>,
    pub insurer_number: Option<&'a str>,
    pub insurer_name: Option<&'a str>,
    /// 事業所記号 given by the insurer.
    pub insurer_symbol: Option<&'a str>,
}

fn id_error(field: &'static str, e: openmyna_ids::IdError) -> ServiceError {
    Refusal::invalid(e.code(), e.to_string())
        .with_field(field)
        .into()
}

/// The parent organisation named by its 法人番号: registered, not this one, of a kind that
/// may sit above `kind`, and not below this organisation (no cycles).
async fn parent_of(
    s: &Services,
    org_id: i64,
    kind: OrgKind,
    number: &str,
    all_profiles: &[Profile],
) -> Result<i64> {
    const FIELD: &str = "parent_corporate_number";
    let n = CorporateNumber::parse(number).map_err(|e| id_error(FIELD, e))?;
    let parent = s
        .store
        .auth()
        .organisations()
        .await?
        .into_iter()
        .find(|o| o.role == Role::Employer && o.code.as_deref() == Some(n.as_str()))
        .ok_or_else(|| {
            Refusal::invalid(
                "parent.unknown",
                "no employer organisation with that corporate number is registered",
            )
            .with_field(FIELD)
        })?;
    if parent.id == org_id {
        return Err(
            Refusal::invalid("parent.self", "an organisation cannot be its own parent")
                .with_field(FIELD)
                .into(),
        );
    }
    let pp = profile_of(&s.store, parent.id).await?;
    org::check_parent(kind, OrgKind::parse(&pp.kind)?)?;
    let up = |id: i64| {
        all_profiles
            .iter()
            .find(|p| p.org_id == id)
            .and_then(|p| p.parent_org_id)
    };
    if org::is_within(parent.id, org_id, up, all_profiles.len() + 1) {
        return Err(Refusal::invalid(
            "parent.cycle",
            "that organisation is already below this one",
        )
        .with_field(FIELD)
        .into());
    }
    Ok(parent.id)
}

/// Sets the organisation's kind, its parent (joining an association, or reporting to a
/// ministry), its industry, the retention period and the insurer details (administrator).
pub async fn set_profile(
    s: &Services,
    e: &Employer,
    req: &ProfileInput<'_>,
) -> Result<ProfileDetails> {
    e.require_admin()?;
    let org_id = e.actor.org_id;
    let kind = OrgKind::parse(req.kind)?;
    let all_profiles = s.store.employers().employer_profiles().await?;
    if kind == OrgKind::Company && all_profiles.iter().any(|p| p.parent_org_id == Some(org_id)) {
        return Err(Refusal::invalid(
            "kind.has_members",
            "organisations sit under this one: it cannot become a company",
        )
        .with_field("kind")
        .into());
    }
    let industry = req.industry.map(Industry::parse).transpose()?;
    let retention = intake::check_retention(
        req.retention_years
            .unwrap_or(DEFAULT_RETENTION_YEARS as u32),
    )?;
    let parent_org_id = match req.parent_corporate_number {
        None => None,
        Some(n) => Some(parent_of(s, org_id, kind, n, &all_profiles).await?),
    };
    let insurer_number = (req.insurer_number)
        .map(|n| InsurerNumber::parse(n).map_err(|e| id_error("insurer_number", e)))
        .transpose()?;
    let insurer_symbol = (req.insurer_symbol)
        .map(|n| InsuredSymbol::parse(n).map_err(|e| id_error("insurer_symbol", e)))
        .transpose()?;
    let insurer_name = (req.insurer_name)
        .map(|n| org::check_name("insurer_name", n))
        .transpose()?;
    let p = Profile {
        org_id,
        kind: kind.as_str().to_owned(),
        parent_org_id,
        industry: industry.map(|i| i.as_str().to_owned()),
        retention_years: i64::from(retention),
        insurer_number: insurer_number.map(|n| n.as_str().to_owned()),
        insurer_name,
        insurer_symbol: insurer_symbol.map(|n| n.as_str().to_owned()),
    };
    s.store
        .employers()
        .set_employer_profile(&p, &s.clock.now())
        .await?;
    details(s, p).await
}

/// Adds a division (names are unique among siblings); returns its id (administrator).
pub async fn create_division(
    s: &Services,
    e: &Employer,
    name: &str,
    parent_id: Option<i64>,
) -> Result<i64> {
    e.require_admin()?;
    require_company(&s.store, e.actor.org_id).await?;
    let name = org::check_name("name", name)?;
    let existing = s.store.employers().divisions(e.actor.org_id).await?;
    if let Some(p) = parent_id
        && !existing.iter().any(|d| d.id == p)
    {
        return Err(Refusal::invalid(
            "parent_id.unknown",
            format!("this organisation has no division {p}"),
        )
        .with_field("parent_id")
        .into());
    }
    if existing
        .iter()
        .any(|d| d.parent_id == parent_id && d.name == name)
    {
        return Err(Refusal::refused(
            "division.duplicate",
            "a division of that name already exists there",
        )
        .into());
    }
    Ok(s.store
        .employers()
        .create_division(e.actor.org_id, parent_id, &name, &s.clock.now())
        .await?)
}

/// The organisation's divisions.
pub async fn divisions(s: &Services, e: &Employer) -> Result<Vec<DivisionRow>> {
    Ok(s.store.employers().divisions(e.actor.org_id).await?)
}

/// An employee record as staff enter it.
pub struct EmployeeInput<'a> {
    pub employee_no: &'a str,
    pub name: &'a str,
    pub division_id: Option<i64>,
    /// YYYY-MM-DD.
    pub hired_on: &'a str,
    /// YYYY-MM-DD, once the employee has left.
    pub left_on: Option<&'a str>,
}

/// Adds or updates an employee by employee number (staff); returns the record and whether it
/// was created. Answers about the card are not part of it: employees give them themselves.
pub async fn upsert_employee(
    s: &Services,
    e: &Employer,
    req: &EmployeeInput<'_>,
) -> Result<(EmployeeRow, bool)> {
    e.require_staff()?;
    require_company(&s.store, e.actor.org_id).await?;
    let no = org::check_employee_no(req.employee_no)?;
    let name = org::check_name("name", req.name)?;
    let hired_on = openmyna_campaigns::parse_date("hired_on", req.hired_on)?;
    let left_on = (req.left_on)
        .map(|d| openmyna_campaigns::parse_date("left_on", d))
        .transpose()?;
    if left_on.is_some_and(|l| l < hired_on) {
        return Err(CampaignError::invalid(
            "left_on.before_hired",
            "left_on",
            "an employee leaves on or after the day they were hired",
        )
        .into());
    }
    if let Some(d) = req.division_id
        && !s
            .store
            .employers()
            .divisions(e.actor.org_id)
            .await?
            .iter()
            .any(|x| x.id == d)
    {
        return Err(Refusal::invalid(
            "division_id.unknown",
            format!("this organisation has no division {d}"),
        )
        .with_field("division_id")
        .into());
    }
    let new = NewEmployee {
        org_id: e.actor.org_id,
        employee_no: &no,
        name: &name,
        division_id: req.division_id,
        hired_on,
        left_on,
    };
    let (id, created) = s
        .store
        .employers()
        .upsert_employee(&new, &s.clock.now())
        .await?;
    let row = s
        .store
        .employers()
        .employee(id)
        .await?
        .ok_or_else(|| ServiceError::internal("employers", "employee vanished"))?;
    Ok((row, created))
}

/// The organisation's employees, without any answer about the card (staff).
pub async fn employees(s: &Services, e: &Employer) -> Result<Vec<EmployeeRow>> {
    e.require_staff()?;
    Ok(s.store.employers().employees(e.actor.org_id).await?)
}

/// A member token issued: shown once, only its hash is stored.
pub struct MemberIssued {
    pub token_id: i64,
    /// hr or employee.
    pub kind: &'static str,
    pub name: String,
    pub employee_no: Option<String>,
    pub token: String,
}

/// Issues a member token (administrator): `hr` for a staff member entitled to My Numbers
/// (with their name), or `employee` for one employee (by employee number).
pub async fn create_member(
    s: &Services,
    e: &Employer,
    kind: &str,
    name: Option<&str>,
    employee_no: Option<&str>,
) -> Result<MemberIssued> {
    e.require_admin()?;
    let (kind, name, employee) = match kind {
        "hr" => ("hr", org::check_name("name", name.unwrap_or(""))?, None),
        "employee" => {
            let no = org::check_employee_no(employee_no.unwrap_or(""))?;
            let emp = s
                .store
                .employers()
                .employee_by_no(e.actor.org_id, &no)
                .await?
                .ok_or_else(|| {
                    Refusal::invalid("employee_no.unknown", "no employee with that number")
                        .with_field("employee_no")
                })?;
            ("employee", emp.name.clone(), Some(emp))
        }
        _ => {
            return Err(Refusal::invalid("kind.unknown", "kind is hr or employee")
                .with_field("kind")
                .into());
        }
    };
    let t = s
        .store
        .employers()
        .create_member(
            e.actor.org_id,
            kind,
            employee.as_ref().map(|x| x.id),
            &name,
            &s.clock.now(),
        )
        .await?;
    Ok(MemberIssued {
        token_id: t.id,
        kind,
        name,
        employee_no: employee.map(|x| x.employee_no),
        token: t.token,
    })
}

/// An employee's intake as HR and the employee see it (never the number).
pub struct Intake {
    pub employee: EmployeeRow,
    pub row: Option<IntakeRow>,
}

async fn intake_of(s: &Services, emp: &EmployeeRow) -> Result<Intake> {
    Ok(Intake {
        row: s.store.employers().intake(emp.id).await?,
        employee: emp.clone(),
    })
}

/// The employee submits their My Number with the enrollment-form items (their own token).
/// The check digit is checked first; the form is stored sealed and waits for HR's identity
/// check. The number is never returned.
pub async fn submit_my_number(s: &Services, e: &Employer, form: &IntakeForm) -> Result<Intake> {
    let emp = e.require_employee()?;
    let number: MyNumber = form.validate(s.clock.today())?;
    let resident = s
        .store
        .resident_by_my_number(&number)
        .await?
        .map(|r| r.id.0);
    let json = serde_json::to_vec(form).map_err(|err| ServiceError::internal("employers", err))?;
    s.store
        .employers()
        .put_intake(
            emp.id,
            e.actor.org_id,
            &json,
            resident,
            &e.name(),
            &s.clock.now(),
        )
        .await?;
    intake_of(s, emp).await
}

/// The employee's own intake and every handling of their number (取扱記録).
pub async fn own_intake(s: &Services, e: &Employer) -> Result<(Intake, Vec<Handling>)> {
    let emp = e.require_employee()?;
    Ok((
        intake_of(s, emp).await?,
        s.store.employers().handling(emp.id).await?,
    ))
}

/// The intakes of the organisation (HR): who has submitted, who is checked.
pub async fn intakes(s: &Services, e: &Employer) -> Result<Vec<Intake>> {
    e.require_hr()?;
    let mut out = Vec::new();
    for emp in s.store.employers().employees(e.actor.org_id).await? {
        out.push(intake_of(s, &emp).await?);
    }
    Ok(out)
}

async fn own_employee(s: &Services, org_id: i64, no: &str) -> Result<EmployeeRow> {
    s.store
        .employers()
        .employee_by_no(org_id, no)
        .await?
        .ok_or_else(|| {
            Refusal::not_found("employee.not_found", "no employee with that number").into()
        })
}

/// HR records the identity check (番号確認 + 身元確認) of a submitted number.
pub async fn identity_check(
    s: &Services,
    e: &Employer,
    employee_no: &str,
    req: &IdentityCheckInput,
) -> Result<Intake> {
    e.require_hr()?;
    let rec = req.validate()?;
    let emp = own_employee(s, e.actor.org_id, employee_no).await?;
    let docs: Vec<&str> = rec.documents.iter().map(|d| d.as_str()).collect();
    let check = CheckRecord {
        number_check: rec.number_check.as_str(),
        identity_check: rec.identity_check.as_str(),
        documents: &docs.join(","),
        checked_by: &e.name(),
    };
    if !s
        .store
        .employers()
        .check_intake(emp.id, &check, &s.clock.now())
        .await?
    {
        return Err(Refusal::refused(
            "intake.none",
            "this employee has no submitted number to check",
        )
        .into());
    }
    intake_of(s, &emp).await
}

/// Opens an employee's form for a stated purpose, after recording the handling and the
/// resident's access-log entry; refused until the identity check is recorded.
async fn open_form(
    s: &Services,
    e: &Employer,
    emp: &EmployeeRow,
    action: &str,
    purpose: Purpose,
) -> Result<IntakeForm> {
    let none = || Refusal::not_found("intake.none", "no number is stored for this employee");
    let row = s
        .store
        .employers()
        .intake(emp.id)
        .await?
        .filter(|r| r.has_form)
        .ok_or_else(none)?;
    if row.checked_at.is_none() {
        return Err(Refusal::refused(
            "intake.unchecked",
            "the identity check (番号確認 + 身元確認) is not recorded yet",
        )
        .into());
    }
    let now = s.clock.now();
    if let Some(resident) = row.resident_id {
        s.store
            .access()
            .record_access(
                resident,
                &e.actor,
                &now,
                "employer.my_number",
                purpose.label_ja(),
                &format!("{action} by {}", e.name()),
            )
            .await?;
    }
    let plain = s
        .store
        .employers()
        .open_intake(emp.id, &e.name(), action, purpose.as_str(), &now)
        .await?
        .ok_or_else(none)?;
    serde_json::from_slice(&plain).map_err(|err| ServiceError::internal("employers", err))
}

/// HR reads an employee's My Number (with the form) for a stated purpose; recorded in the
/// handling record and the resident's access log before it is returned.
pub async fn read_my_number(
    s: &Services,
    e: &Employer,
    employee_no: &str,
    purpose: &str,
) -> Result<(EmployeeRow, IntakeForm, Purpose)> {
    e.require_hr()?;
    let purpose = Purpose::parse(purpose)?;
    let emp = own_employee(s, e.actor.org_id, employee_no).await?;
    let form = open_form(s, e, &emp, "read", purpose).await?;
    Ok((emp, form, purpose))
}

/// The handling record of one employee's number (HR).
pub async fn handling(s: &Services, e: &Employer, employee_no: &str) -> Result<Vec<Handling>> {
    e.require_hr()?;
    let emp = own_employee(s, e.actor.org_id, employee_no).await?;
    Ok(s.store.employers().handling(emp.id).await?)
}

/// The enrollment export: the CSV and the employees left out, each with the reason.
pub struct Export {
    pub csv: String,
    pub skipped: Vec<String>,
}

/// The enrollment export (資格取得届, HR): a CSV in the insurers' upload layout for the
/// employees named (default: every current employee) whose identity check is recorded. Each
/// number exported is recorded like a reading.
pub async fn export(s: &Services, e: &Employer, employee_nos: Option<&[String]>) -> Result<Export> {
    e.require_hr()?;
    let p = profile_of(&s.store, e.actor.org_id).await?;
    let (Some(insurer_number), Some(insurer_name), Some(symbol)) =
        (p.insurer_number, p.insurer_name, p.insurer_symbol)
    else {
        return Err(Refusal::refused(
            "profile.insurer_missing",
            "set insurer_number, insurer_name and insurer_symbol in the profile first",
        )
        .into());
    };
    let insurer = InsurerDetails {
        insurer_number,
        insurer_name,
        symbol,
    };
    let today = s.clock.today();
    let employees = s.store.employers().employees(e.actor.org_id).await?;
    let chosen: Vec<&EmployeeRow> = match employee_nos {
        Some(nos) => nos
            .iter()
            .map(|n| {
                employees
                    .iter()
                    .find(|x| &x.employee_no == n)
                    .ok_or_else(|| {
                        ServiceError::from(
                            Refusal::invalid("employee_no.unknown", format!("no employee {n}"))
                                .with_field("employee_nos"),
                        )
                    })
            })
            .collect::<Result<_>>()?,
        None => employees.iter().filter(|x| x.left_on.is_none()).collect(),
    };
    let mut records = Vec::new();
    let mut skipped = Vec::new();
    for emp in chosen {
        let reason = match s.store.employers().intake(emp.id).await? {
            None => Some("intake.none"),
            Some(r) if !r.has_form => Some("intake.deleted"),
            Some(r) if r.checked_at.is_none() => Some("intake.unchecked"),
            _ => None,
        };
        if let Some(reason) = reason {
            skipped.push(format!("{} ({reason})", emp.employee_no));
            continue;
        }
        let form = open_form(s, e, emp, "exported", Purpose::HealthInsurance).await?;
        match intake::enrollment_record(&form, &insurer, &emp.employee_no, emp.hired_on, today) {
            Ok(r) => records.push(r),
            Err(err) => skipped.push(format!("{} ({})", emp.employee_no, err.code())),
        }
    }
    Ok(Export {
        csv: intake::enrollment_csv(&records)?,
        skipped,
    })
}

/// HR deletes now the numbers whose retention period has ended; returns the employee numbers.
pub async fn purge(s: &Services, e: &Employer) -> Result<Vec<String>> {
    e.require_hr()?;
    purge_org(
        &s.store,
        e.actor.org_id,
        &e.name(),
        s.clock.today(),
        &s.clock.now(),
    )
    .await
}

/// Deletes the numbers whose retention period after leaving has ended, for one
/// organisation; returns the employee numbers.
pub async fn purge_org(
    store: &Store,
    org_id: i64,
    actor: &str,
    today: chrono::NaiveDate,
    now: &openmyna_core::Timestamp,
) -> Result<Vec<String>> {
    let p = profile_of(store, org_id).await?;
    let years = u32::try_from(p.retention_years).unwrap_or(7);
    let mut out = Vec::new();
    for row in store.employers().intakes(org_id).await? {
        if !row.has_form {
            continue;
        }
        let Some(emp) = store.employers().employee(row.employee_id).await? else {
            continue;
        };
        if intake::due_for_deletion(emp.left_on, years, today) {
            let reason = format!(
                "retention ended: {years} years after leaving on {}",
                emp.left_on.map(|d| d.to_string()).unwrap_or_default()
            );
            if store
                .employers()
                .delete_intake(emp.id, actor, &reason, now)
                .await?
            {
                out.push(emp.employee_no);
            }
        }
    }
    Ok(out)
}

/// The daily sweep: deletes, for every organisation, the numbers whose retention period has
/// ended; returns how many.
pub async fn sweep_retention(s: &Services) -> Result<usize> {
    let mut n = 0;
    for org in s
        .store
        .employers()
        .orgs_with_leavers_holding_numbers()
        .await?
    {
        n += purge_org(
            &s.store,
            org,
            "retention sweep (openmyna)",
            s.clock.today(),
            &s.clock.now(),
        )
        .await?
        .len();
    }
    Ok(n)
}
