use std::future::Future;

use chrono::NaiveDate;
use openmyna_core::{Actor, Clock, Entropy, Timestamp};
use openmyna_ids::{MyNumber, ResidentCode};
use serde_json::json;

use crate::model::parse_birth_date;
use crate::{
    AddressInput, BasicFour, ChangeKind, HistoryEntry, NewResident, NewResidentInput, PersonName,
    RegistryError, RegistryEvent, Resident, ResidentId, ResidentStatus, Sex,
};

/// A change ready to be stored: the new state, the version it replaces, the history entry and
/// the event. The store writes all three in one transaction, or none.
#[derive(Debug, Clone)]
pub struct ResidentChange {
    pub updated: Resident,
    pub expected_version: i64,
    pub history: HistoryEntry,
    pub event: RegistryEvent,
}

/// Storage the registry needs. Implemented by `openmyna-store`.
pub trait RegistryStore: Send + Sync {
    /// Inserts a new resident with its `registered` history entry and event. Fails with
    /// [`RegistryError::DuplicateMyNumber`] / [`RegistryError::DuplicateResidentCode`] when a
    /// number is already assigned.
    fn insert_resident(
        &self,
        new: &NewResident,
        history: &HistoryEntry,
        event: &RegistryEvent,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send;

    fn resident(
        &self,
        id: ResidentId,
    ) -> impl Future<Output = Result<Option<Resident>, RegistryError>> + Send;

    fn resident_by_my_number(
        &self,
        my_number: &MyNumber,
    ) -> impl Future<Output = Result<Option<Resident>, RegistryError>> + Send;

    /// Stores a change if the resident is still at `expected_version`, else fails with
    /// [`RegistryError::Conflict`].
    fn apply_change(
        &self,
        change: &ResidentChange,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send;

    fn history(
        &self,
        id: ResidentId,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>, RegistryError>> + Send;
}

/// The registry's use cases, run against a store with an injected clock and entropy.
pub struct Registry<'a, S> {
    store: &'a S,
    clock: &'a dyn Clock,
    entropy: &'a dyn Entropy,
}

/// How many times a generated My Number or resident code is redrawn after a collision.
const ASSIGNMENT_ATTEMPTS: usize = 8;

impl<'a, S: RegistryStore> Registry<'a, S> {
    pub fn new(store: &'a S, clock: &'a dyn Clock, entropy: &'a dyn Entropy) -> Self {
        Registry {
            store,
            clock,
            entropy,
        }
    }

    /// Validates a registration without assigning numbers.
    pub fn validate_basic4(
        input: &NewResidentInput,
        today: NaiveDate,
    ) -> Result<BasicFour, RegistryError> {
        Ok(BasicFour {
            name: PersonName::parse(&input.name, &input.name_kana)?,
            address: input.address.validate()?,
            birth_date: parse_birth_date(&input.birth_date, today)?,
            sex: Sex::from_code(input.sex)?,
        })
    }

    /// 住民登録: validates, assigns a unique My Number (unless one is given) and resident code,
    /// and stores the resident with its history entry and event.
    pub async fn register(
        &self,
        input: &NewResidentInput,
        actor: &Actor,
    ) -> Result<Resident, RegistryError> {
        let now = self.clock.now();
        let basic4 = Self::validate_basic4(input, now.date_naive())?;
        let given = input
            .my_number
            .as_deref()
            .map(MyNumber::parse)
            .transpose()?;
        let mut rng = self.entropy.rng();
        for _ in 0..ASSIGNMENT_ATTEMPTS {
            let new = NewResident {
                id: ResidentId::generate(&now, self.entropy),
                my_number: given
                    .clone()
                    .unwrap_or_else(|| MyNumber::generate(&mut rng)),
                resident_code: ResidentCode::generate(&mut rng),
                basic4: basic4.clone(),
                registered_at: now,
            };
            let (history, event) = registration_records(&new, actor);
            match self.store.insert_resident(&new, &history, &event).await {
                Ok(()) => return Ok(resident_from_new(new)),
                Err(RegistryError::DuplicateMyNumber) if given.is_none() => continue,
                Err(RegistryError::DuplicateResidentCode) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(RegistryError::Storage(
            "could not assign a unique number after several attempts".into(),
        ))
    }

    pub async fn get(&self, id: ResidentId) -> Result<Resident, RegistryError> {
        self.store
            .resident(id)
            .await?
            .ok_or(RegistryError::NotFound(id))
    }

    pub async fn find_by_my_number(&self, my_number: &str) -> Result<Resident, RegistryError> {
        let n = MyNumber::parse(my_number)?;
        self.store
            .resident_by_my_number(&n)
            .await?
            .ok_or(RegistryError::MyNumberNotFound)
    }

    pub async fn history(&self, id: ResidentId) -> Result<Vec<HistoryEntry>, RegistryError> {
        self.get(id).await?;
        self.store.history(id).await
    }

    /// 転居・転入: a new address.
    pub async fn change_address(
        &self,
        id: ResidentId,
        address: &AddressInput,
        effective: Option<&str>,
        reason: Option<String>,
        actor: &Actor,
    ) -> Result<Resident, RegistryError> {
        let address = address.validate()?;
        self.change(id, effective, reason, actor, |r| {
            if r.basic4.address == address {
                return Err(RegistryError::invalid(
                    "address.unchanged",
                    "address",
                    "the new address is the same as the current one",
                ));
            }
            let before = json!(r.basic4.address);
            r.basic4.address = address.clone();
            Ok((
                ChangeKind::AddressChanged,
                before,
                json!(address),
                vec!["address"],
            ))
        })
        .await
    }

    /// 氏名変更 (marriage, adoption, …).
    pub async fn change_name(
        &self,
        id: ResidentId,
        name: &str,
        name_kana: &str,
        effective: Option<&str>,
        reason: Option<String>,
        actor: &Actor,
    ) -> Result<Resident, RegistryError> {
        let name = PersonName::parse(name, name_kana)?;
        self.change(id, effective, reason, actor, |r| {
            if r.basic4.name == name {
                return Err(RegistryError::invalid(
                    "name.unchanged",
                    "name",
                    "the new name is the same as the current one",
                ));
            }
            let before = json!(r.basic4.name);
            r.basic4.name = name.clone();
            Ok((ChangeKind::NameChanged, before, json!(name), vec!["name"]))
        })
        .await
    }

    /// 職権修正 of birth date and/or sex.
    pub async fn correct(
        &self,
        id: ResidentId,
        birth_date: Option<&str>,
        sex: Option<i64>,
        effective: Option<&str>,
        reason: Option<String>,
        actor: &Actor,
    ) -> Result<Resident, RegistryError> {
        let today = self.clock.today();
        let birth_date = birth_date.map(|b| parse_birth_date(b, today)).transpose()?;
        let sex = sex.map(Sex::from_code).transpose()?;
        if birth_date.is_none() && sex.is_none() {
            return Err(RegistryError::invalid(
                "correction.empty",
                "birth_date",
                "a correction needs a new birth_date or sex",
            ));
        }
        self.change(id, effective, reason, actor, |r| {
            let before = json!({"birth_date": r.basic4.birth_date, "sex": r.basic4.sex});
            let mut changed = Vec::new();
            if let Some(b) = birth_date.filter(|b| *b != r.basic4.birth_date) {
                r.basic4.birth_date = b;
                changed.push("birth_date");
            }
            if let Some(s) = sex.filter(|s| *s != r.basic4.sex) {
                r.basic4.sex = s;
                changed.push("sex");
            }
            if changed.is_empty() {
                return Err(RegistryError::invalid(
                    "correction.unchanged",
                    "birth_date",
                    "the corrected values equal the current ones",
                ));
            }
            let after = json!({"birth_date": r.basic4.birth_date, "sex": r.basic4.sex});
            Ok((ChangeKind::Corrected, before, after, changed))
        })
        .await
    }

    /// 死亡: closes the record.
    pub async fn record_death(
        &self,
        id: ResidentId,
        date: &str,
        reason: Option<String>,
        actor: &Actor,
    ) -> Result<Resident, RegistryError> {
        self.close(id, ResidentStatus::Deceased, date, reason, actor)
            .await
    }

    /// 消除: removes the resident from the registry (e.g. emigration).
    pub async fn record_removal(
        &self,
        id: ResidentId,
        date: &str,
        reason: Option<String>,
        actor: &Actor,
    ) -> Result<Resident, RegistryError> {
        self.close(id, ResidentStatus::Removed, date, reason, actor)
            .await
    }

    /// 国外からの転入: a resident whose record was removed (e.g. on emigration) moves back;
    /// the record is active again at the new address. Publishes `returned` with the address
    /// changed.
    pub async fn record_return(
        &self,
        id: ResidentId,
        address: &AddressInput,
        effective: Option<&str>,
        reason: Option<String>,
        actor: &Actor,
    ) -> Result<Resident, RegistryError> {
        let address = address.validate()?;
        self.change_from(ResidentStatus::Removed, id, effective, reason, actor, |r| {
            let before = json!({"status": "removed", "address": r.basic4.address});
            r.status = ResidentStatus::Active;
            r.status_date = None;
            r.basic4.address = address.clone();
            Ok((
                ChangeKind::Returned,
                before,
                json!({"status": "active", "address": address}),
                vec!["address"],
            ))
        })
        .await
    }

    async fn close(
        &self,
        id: ResidentId,
        status: ResidentStatus,
        date: &str,
        reason: Option<String>,
        actor: &Actor,
    ) -> Result<Resident, RegistryError> {
        let kind = if status == ResidentStatus::Deceased {
            ChangeKind::Died
        } else {
            ChangeKind::Removed
        };
        let date = parse_effective(Some(date), self.clock.today())?;
        self.change(id, Some(&date.to_string()), reason, actor, |r| {
            if date < r.basic4.birth_date {
                return Err(RegistryError::invalid(
                    "date.before_birth",
                    "date",
                    "the date is before the resident's birth date",
                ));
            }
            r.status = status;
            r.status_date = Some(date);
            Ok((
                kind,
                json!({"status": "active"}),
                json!({"status": status, "date": date}),
                vec![],
            ))
        })
        .await
    }

    /// Loads an active resident, applies `rule` to a copy, and stores the result with history
    /// and event.
    async fn change<F>(
        &self,
        id: ResidentId,
        effective: Option<&str>,
        reason: Option<String>,
        actor: &Actor,
        rule: F,
    ) -> Result<Resident, RegistryError>
    where
        F: FnOnce(
            &mut Resident,
        ) -> Result<
            (
                ChangeKind,
                serde_json::Value,
                serde_json::Value,
                Vec<&'static str>,
            ),
            RegistryError,
        >,
    {
        self.change_from(ResidentStatus::Active, id, effective, reason, actor, rule)
            .await
    }

    /// As [`Self::change`], for a resident in status `required`.
    async fn change_from<F>(
        &self,
        required: ResidentStatus,
        id: ResidentId,
        effective: Option<&str>,
        reason: Option<String>,
        actor: &Actor,
        rule: F,
    ) -> Result<Resident, RegistryError>
    where
        F: FnOnce(
            &mut Resident,
        ) -> Result<
            (
                ChangeKind,
                serde_json::Value,
                serde_json::Value,
                Vec<&'static str>,
            ),
            RegistryError,
        >,
    {
        let now = self.clock.now();
        let effective_date = parse_effective(effective, now.date_naive())?;
        let reason = validate_reason(reason)?;
        let current = self.get(id).await?;
        if current.status != required {
            return Err(RegistryError::NotActive(current.status));
        }
        let mut updated = current.clone();
        let (kind, before, after, changed) = rule(&mut updated)?;
        updated.updated_at = now;
        updated.version = current.version + 1;
        let change = ResidentChange {
            history: HistoryEntry {
                resident_id: id,
                kind,
                before,
                after,
                effective_date,
                recorded_at: now,
                recorded_by: recorded_by(actor),
                reason,
            },
            event: RegistryEvent {
                kind,
                resident_id: id,
                occurred_at: now,
                effective_date,
                changed: changed.into_iter().map(String::from).collect(),
            },
            updated: updated.clone(),
            expected_version: current.version,
        };
        self.store.apply_change(&change).await?;
        Ok(updated)
    }
}

/// Who recorded a change, as the history shows it.
pub fn recorded_by(actor: &Actor) -> String {
    format!("{} ({}, org {})", actor.org_name, actor.role, actor.org_id)
}

fn validate_reason(reason: Option<String>) -> Result<Option<String>, RegistryError> {
    match reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
    {
        Some(r) if r.chars().count() > 500 => Err(RegistryError::invalid(
            "reason.length",
            "reason",
            "reason has more than 500 characters",
        )),
        Some(r) if r.chars().any(|c| c.is_control() && c != '\n') => Err(RegistryError::invalid(
            "reason.characters",
            "reason",
            "reason contains control characters",
        )),
        other => Ok(other),
    }
}

fn parse_effective(s: Option<&str>, today: NaiveDate) -> Result<NaiveDate, RegistryError> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(today);
    };
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        RegistryError::invalid(
            "effective_date.format",
            "effective_date",
            format!("{s:?} is not a date in the form YYYY-MM-DD"),
        )
    })?;
    if d > today {
        return Err(RegistryError::invalid(
            "effective_date.future",
            "effective_date",
            format!("{d} is in the future; record changes once they have happened"),
        ));
    }
    Ok(d)
}

/// The history entry and event of a registration (also used by bulk imports).
pub fn registration_records(new: &NewResident, actor: &Actor) -> (HistoryEntry, RegistryEvent) {
    let at: Timestamp = new.registered_at;
    (
        HistoryEntry {
            resident_id: new.id,
            kind: ChangeKind::Registered,
            before: serde_json::Value::Null,
            after: json!({ "basic4": new.basic4 }),
            effective_date: at.date_naive(),
            recorded_at: at,
            recorded_by: recorded_by(actor),
            reason: None,
        },
        RegistryEvent {
            kind: ChangeKind::Registered,
            resident_id: new.id,
            occurred_at: at,
            effective_date: at.date_naive(),
            changed: vec![],
        },
    )
}

pub fn resident_from_new(new: NewResident) -> Resident {
    Resident {
        id: new.id,
        my_number: new.my_number,
        resident_code: new.resident_code,
        basic4: new.basic4,
        status: ResidentStatus::Active,
        status_date: None,
        registered_at: new.registered_at,
        updated_at: new.registered_at,
        version: 1,
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use openmyna_core::{ManualClock, SeededEntropy};

    use super::*;
    use crate::memory::MemoryRegistryStore as MemStore;

    fn input() -> NewResidentInput {
        NewResidentInput {
            name: "山田 太郎".into(),
            name_kana: "やまだ たろう".into(),
            birth_date: "1990-05-01".into(),
            sex: 1,
            address: AddressInput {
                municipality_code: "13101".into(),
                postal_code: Some("1000013".into()),
                text: "東京都千代田区霞が関一丁目1番1号".into(),
            },
            my_number: None,
        }
    }

    fn fixture() -> (MemStore, ManualClock, SeededEntropy) {
        let t = DateTime::parse_from_rfc3339("2026-04-01T10:00:00+09:00").unwrap();
        (
            MemStore::default(),
            ManualClock::new(t),
            SeededEntropy::new(1),
        )
    }

    fn block<F: Future>(f: F) -> F::Output {
        // The rules never await anything but the in-memory store, which is always ready.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[test]
    fn registration_normalises_and_assigns_numbers() {
        let (s, c, e) = fixture();
        let reg = Registry::new(&s, &c, &e);
        let r = block(reg.register(&input(), &Actor::local_operator())).unwrap();
        assert_eq!(r.basic4.name.name, "山田\u{3000}太郎");
        assert_eq!(r.basic4.name.name_kana, "ヤマダ\u{3000}タロウ");
        assert_eq!(r.basic4.address.municipality_code.as_str(), "131016");
        assert_eq!(
            r.basic4.address.postal_code.as_ref().unwrap().as_str(),
            "100-0013"
        );
        assert!(MyNumber::parse(r.my_number.expose()).is_ok());
        assert_eq!(s.events()[0].kind, ChangeKind::Registered);
    }

    #[test]
    fn bad_input_names_the_rule() {
        let (s, c, e) = fixture();
        let reg = Registry::new(&s, &c, &e);
        type Mutation = Box<dyn Fn(&mut NewResidentInput)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|i| i.sex = 3), "sex.unknown"),
            (
                Box::new(|i| i.name_kana = "Yamada".into()),
                "name_kana.katakana",
            ),
            (Box::new(|i| i.name = " ".into()), "name.empty"),
            (
                Box::new(|i| i.birth_date = "2030-01-01".into()),
                "birth_date.future",
            ),
            (
                Box::new(|i| i.birth_date = "1990/05/01".into()),
                "birth_date.format",
            ),
            (
                Box::new(|i| i.address.municipality_code = "99999".into()),
                "municipality_code.prefecture",
            ),
            (
                Box::new(|i| i.my_number = Some("123456789017".into())),
                "my_number.check_digit",
            ),
            (
                Box::new(|i| i.my_number = Some("1234567890180".into())),
                "my_number.length",
            ),
        ];
        for (mutate, code) in cases {
            let mut i = input();
            mutate(&mut i);
            match block(reg.register(&i, &Actor::local_operator())) {
                Err(RegistryError::Invalid(r)) => assert_eq!(r.code(), code),
                other => panic!("expected {code}, got {other:?}"),
            }
        }
        assert!(s.is_empty());
    }

    #[test]
    fn duplicate_given_my_number_is_refused() {
        let (s, c, e) = fixture();
        let reg = Registry::new(&s, &c, &e);
        let mut i = input();
        i.my_number = Some("123456789018".into());
        block(reg.register(&i, &Actor::local_operator())).unwrap();
        assert!(matches!(
            block(reg.register(&i, &Actor::local_operator())),
            Err(RegistryError::DuplicateMyNumber)
        ));
    }

    #[test]
    fn address_change_keeps_history_and_publishes_event() {
        let (s, c, e) = fixture();
        let reg = Registry::new(&s, &c, &e);
        let op = Actor::local_operator();
        let r = block(reg.register(&input(), &op)).unwrap();
        c.advance(chrono::Duration::days(30));
        let new_addr = AddressInput {
            municipality_code: "271004".into(),
            postal_code: None,
            text: "大阪府大阪市北区梅田一丁目1番".into(),
        };
        let r2 =
            block(reg.change_address(r.id, &new_addr, None, Some("転出".into()), &op)).unwrap();
        assert_eq!(r2.version, 2);
        assert_eq!(r2.basic4.address.municipality_code.jis(), "27100");
        let h = block(reg.history(r.id)).unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].kind, ChangeKind::AddressChanged);
        assert_eq!(h[1].effective_date.to_string(), "2026-05-01");
        let ev = s.events();
        assert_eq!(ev[1].changed, vec!["address"]);
        assert!(ev[1].affects_basic4());
        drop(ev);
        // The same address again is not a change.
        assert!(block(reg.change_address(r.id, &new_addr, None, None, &op)).is_err());
    }

    #[test]
    fn death_closes_the_record() {
        let (s, c, e) = fixture();
        let reg = Registry::new(&s, &c, &e);
        let op = Actor::local_operator();
        let r = block(reg.register(&input(), &op)).unwrap();
        let d = block(reg.record_death(r.id, "2026-03-31", None, &op)).unwrap();
        assert_eq!(d.status, ResidentStatus::Deceased);
        assert!(s.events()[1].affects_basic4());
        assert!(matches!(
            block(reg.change_name(r.id, "山田 次郎", "ヤマダ ジロウ", None, None, &op)),
            Err(RegistryError::NotActive(ResidentStatus::Deceased))
        ));
        assert!(block(reg.record_death(r.id, "2030-01-01", None, &op)).is_err());
    }

    #[test]
    fn correction_reports_changed_fields() {
        let (s, c, e) = fixture();
        let reg = Registry::new(&s, &c, &e);
        let op = Actor::local_operator();
        let r = block(reg.register(&input(), &op)).unwrap();
        block(reg.correct(r.id, Some("1990-05-02"), Some(1), None, None, &op)).unwrap();
        assert_eq!(s.events()[1].changed, vec!["birth_date"]);
        assert!(block(reg.correct(r.id, None, None, None, None, &op)).is_err());
    }
}
