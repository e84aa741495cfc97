//! An in-memory [`RegistryStore`], for testing the rules and the use cases built on the
//! registry without a database (feature `memory`). It keeps storage's rules: one resident per
//! My Number, a change applies only to the version it was made from, and history and events
//! are written with the change.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use openmyna_ids::MyNumber;

use crate::{
    HistoryEntry, NewResident, RegistryError, RegistryEvent, RegistryStore, Resident,
    ResidentChange, ResidentId, resident_from_new,
};

#[derive(Default)]
struct Tables {
    residents: HashMap<ResidentId, Resident>,
    history: Vec<HistoryEntry>,
    events: Vec<RegistryEvent>,
}

/// The registry's storage in memory.
#[derive(Default)]
pub struct MemoryRegistryStore(Mutex<Tables>);

impl MemoryRegistryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn tables(&self) -> Result<MutexGuard<'_, Tables>, RegistryError> {
        self.0
            .lock()
            .map_err(|_| RegistryError::Storage("the in-memory store's lock was poisoned".into()))
    }

    /// The events published so far, oldest first.
    pub fn events(&self) -> Vec<RegistryEvent> {
        self.0.lock().map(|t| t.events.clone()).unwrap_or_default()
    }

    /// Whether no resident is stored.
    pub fn is_empty(&self) -> bool {
        self.0
            .lock()
            .map(|t| t.residents.is_empty())
            .unwrap_or(true)
    }
}

impl RegistryStore for MemoryRegistryStore {
    async fn insert_resident(
        &self,
        new: &NewResident,
        history: &HistoryEntry,
        event: &RegistryEvent,
    ) -> Result<(), RegistryError> {
        let mut t = self.tables()?;
        if t.residents.values().any(|r| r.my_number == new.my_number) {
            return Err(RegistryError::DuplicateMyNumber);
        }
        if t.residents
            .values()
            .any(|r| r.resident_code == new.resident_code)
        {
            return Err(RegistryError::DuplicateResidentCode);
        }
        t.residents.insert(new.id, resident_from_new(new.clone()));
        t.history.push(history.clone());
        t.events.push(event.clone());
        Ok(())
    }

    async fn resident(&self, id: ResidentId) -> Result<Option<Resident>, RegistryError> {
        Ok(self.tables()?.residents.get(&id).cloned())
    }

    async fn resident_by_my_number(
        &self,
        my_number: &MyNumber,
    ) -> Result<Option<Resident>, RegistryError> {
        Ok(self
            .tables()?
            .residents
            .values()
            .find(|r| &r.my_number == my_number)
            .cloned())
    }

    async fn apply_change(&self, c: &ResidentChange) -> Result<(), RegistryError> {
        let mut t = self.tables()?;
        let current = t
            .residents
            .get(&c.updated.id)
            .ok_or(RegistryError::NotFound(c.updated.id))?;
        if current.version != c.expected_version {
            return Err(RegistryError::Conflict);
        }
        t.residents.insert(c.updated.id, c.updated.clone());
        t.history.push(c.history.clone());
        t.events.push(c.event.clone());
        Ok(())
    }

    async fn history(&self, id: ResidentId) -> Result<Vec<HistoryEntry>, RegistryError> {
        Ok(self
            .tables()?
            .history
            .iter()
            .filter(|h| h.resident_id == id)
            .cloned()
            .collect())
    }
}
