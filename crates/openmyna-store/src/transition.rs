//! The one compare-and-set of a status column. Every state machine that storage keeps — a
//! card's life, an application, an on-site session, a phone's certificates — moves its row
//! through [`compare_and_set`]: the row changes only if its status is still the one the use
//! case read, so that of two concurrent requests exactly one moves it and the other is told
//! the row changed meanwhile. Anything written with the move (its audit event, a reason, a
//! delivery code) goes in the same transaction, after the move succeeded.

use openmyna_core::Timestamp;

use crate::{Result, StoreError, to_micros};

/// A status that storage keeps as text: the state machines' own enums.
pub trait StoredStatus: Copy + Sized {
    /// The text stored.
    fn stored(self) -> &'static str;
    /// The status of stored text, if it is one.
    fn from_stored(s: &str) -> Option<Self>;

    /// Reads stored text; unknown text is corrupt storage, not a caller's mistake.
    fn load(s: &str) -> Result<Self> {
        Self::from_stored(s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown status {s:?} in storage")))
    }
}

/// The state machines' enums are stored by their names (`as_str`, `parse`).
macro_rules! stored_by_name {
    ($($ty:ty),* $(,)?) => {
        $(
            impl StoredStatus for $ty {
                fn stored(self) -> &'static str {
                    self.as_str()
                }
                fn from_stored(s: &str) -> Option<Self> {
                    // `parse` answers an Option or a Result; either way, its value if any.
                    Self::parse(s).into_iter().next()
                }
            }
        )*
    };
}

stored_by_name!(
    openmyna_applications::CardStatus,
    openmyna_applications::Status,
    openmyna_applications::Channel,
    openmyna_campaigns::session::SessionStatus,
    openmyna_portal::phone::PhoneState,
);

/// Where a state machine's status is stored: the table, the column that identifies a row,
/// and the column that records when the status last changed.
pub(crate) struct StatusColumn {
    pub table: &'static str,
    pub key: &'static str,
    pub changed_at: &'static str,
}

pub(crate) const CARDS: StatusColumn = StatusColumn {
    table: "cards",
    key: "serial",
    changed_at: "status_at",
};

pub(crate) const APPLICATIONS: StatusColumn = StatusColumn {
    table: "card_applications",
    key: "id",
    changed_at: "updated_at",
};

pub(crate) const SESSIONS: StatusColumn = StatusColumn {
    table: "onsite_sessions",
    key: "id",
    changed_at: "updated_at",
};

pub(crate) const PHONES: StatusColumn = StatusColumn {
    table: "phones",
    key: "id",
    changed_at: "status_at",
};

/// A row's key: text (a card's serial) or a number.
pub(crate) enum Key<'a> {
    Text(&'a str),
    Id(i64),
}

/// Moves the row `key` of `col` from `from` to `to` at `at`, only if its status is still
/// `from`, within `tx`. False when it was not (it changed meanwhile, or there is no such row):
/// nothing was written, and the caller writes nothing else.
pub(crate) async fn compare_and_set<S: StoredStatus>(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    col: &StatusColumn,
    key: Key<'_>,
    from: S,
    to: S,
    at: &Timestamp,
) -> Result<bool> {
    let sql = format!(
        "UPDATE {} SET status = $1, {} = $2 WHERE {} = $3 AND status = $4",
        col.table, col.changed_at, col.key
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to.stored())
        .bind(to_micros(at));
    let q = match key {
        Key::Text(k) => q.bind(k.to_owned()),
        Key::Id(k) => q.bind(k),
    };
    let r = q.bind(from.stored()).execute(&mut **tx).await?;
    Ok(r.rows_affected() == 1)
}
