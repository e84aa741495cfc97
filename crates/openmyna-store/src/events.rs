//! The event outbox. Domain events are written in the same transaction as the change they
//! describe, numbered in commit order; subscribers read them from their own durable cursor,
//! so an event is delivered at least once even across crashes.

use serde::Serialize;

use crate::{Result, StoreError, from_micros};
use openmyna_core::Timestamp;

#[derive(Debug, Clone, Serialize)]
pub struct EventRecord {
    pub seq: i64,
    pub topic: String,
    pub kind: String,
    pub subject_id: i64,
    pub occurred_at: Timestamp,
    pub payload: serde_json::Value,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    topic: String,
    kind: String,
    subject_id: i64,
    occurred_at: i64,
    payload: String,
}

impl crate::Events<'_> {
    /// Events with `seq > after`, oldest first, at most `limit`.
    pub async fn events_after(
        self,
        topic: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRecord>> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT seq, topic, kind, subject_id, occurred_at, payload FROM events \
             WHERE seq > $1 AND ($2 = '' OR topic = $2) ORDER BY seq LIMIT $3",
        )
        .bind(after)
        .bind(topic.unwrap_or("").to_owned())
        .bind(limit.clamp(1, 10_000))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(EventRecord {
                    seq: r.seq,
                    topic: r.topic,
                    kind: r.kind,
                    subject_id: r.subject_id,
                    occurred_at: from_micros(r.occurred_at)?,
                    payload: serde_json::from_str(&r.payload)
                        .map_err(|_| StoreError::Corrupt("event payload".into()))?,
                })
            })
            .collect()
    }

    /// The last event a consumer has processed (0 if none).
    pub async fn cursor(self, consumer: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT last_seq FROM event_cursors WHERE consumer = $1")
                .bind(consumer.to_owned())
                .fetch_optional(self.pool())
                .await?
                .unwrap_or(0),
        )
    }

    /// Records that a consumer has processed every event up to `seq`. Cursors never move back.
    pub async fn commit_cursor(self, consumer: &str, seq: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO event_cursors (consumer, last_seq) VALUES ($1, $2) \
             ON CONFLICT (consumer) DO UPDATE SET last_seq = excluded.last_seq \
             WHERE event_cursors.last_seq < excluded.last_seq",
        )
        .bind(consumer.to_owned())
        .bind(seq)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
