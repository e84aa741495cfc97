//! Group commit for the busiest write: a verification and its access-log entry. Requests
//! hand their rows to one writer task, which writes every row waiting at that moment in a
//! single transaction and answers each request only after the commit — so an answer is
//! never sent before its disclosure is durable, and a burst of verifications costs one
//! commit (one fsync) instead of one each.

use openmyna_core::Actor;
use openmyna_eligibility::{Disclosure, Verification};
use tokio::sync::{mpsc, oneshot};

use crate::{Result, Store, StoreError, to_micros};

/// Rows written per transaction at most.
const MAX_BATCH: usize = 256;

pub(crate) struct Pending {
    pub(crate) v: Verification,
    pub(crate) actor: Actor,
    pub(crate) d: Disclosure,
    pub(crate) done: oneshot::Sender<std::result::Result<(), String>>,
}

pub(crate) type Queue = mpsc::Sender<Pending>;

impl Store {
    fn queue(&self) -> Queue {
        self.cache
            .verification_queue
            .get_or_init(|| {
                let (tx, rx) = mpsc::channel(4096);
                let store = self.clone();
                tokio::spawn(async move { store.write_loop(rx).await });
                tx
            })
            .clone()
    }

    /// Writes a verification and its access-log entry; returns after they are committed.
    pub(crate) async fn write_verification(
        &self,
        v: &Verification,
        actor: &Actor,
        d: &Disclosure,
    ) -> Result<()> {
        let (done, wait) = oneshot::channel();
        let p = Pending {
            v: v.clone(),
            actor: actor.clone(),
            d: d.clone(),
            done,
        };
        self.queue()
            .send(p)
            .await
            .map_err(|_| StoreError::Corrupt("the verification writer has stopped".into()))?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Corrupt(e)),
            Err(_) => Err(StoreError::Corrupt(
                "the verification writer stopped before committing".into(),
            )),
        }
    }

    async fn write_loop(self, mut rx: mpsc::Receiver<Pending>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = rx.recv().await {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            // Another process may extend a chain at the same moment: try again (the heads
            // are read afresh each time).
            let mut outcome = self.write_batch(&batch).await;
            for _ in 0..5 {
                match &outcome {
                    Err(e) if crate::access_log::is_fork(e) => {
                        outcome = self.write_batch(&batch).await;
                    }
                    _ => break,
                }
            }
            let outcome = outcome.map_err(|e| {
                tracing::error!(error = %e, rows = batch.len(), "writing verifications failed");
                e.to_string()
            });
            for p in batch.drain(..) {
                let _ = p.done.send(outcome.clone());
            }
        }
    }

    async fn write_batch(&self, batch: &[Pending]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "INSERT INTO oqs_verifications (id, org_id, terminal_id, resident_id, at, \
             date_of_service, method, validity) VALUES {}",
            crate::registry::values_placeholders(self.backend(), batch.len(), 8)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for p in batch {
            let v = &p.v;
            q = q
                .bind(v.id.clone())
                .bind(v.org_id)
                .bind(v.terminal_id)
                .bind(v.resident_id)
                .bind(to_micros(&v.at))
                .bind(v.date_of_service.to_string())
                .bind(v.method.map(|m| m.code()))
                .bind(v.validity.code());
        }
        q.execute(&mut *tx).await?;
        let entries: Vec<crate::access_log::NewAccess<'_>> = batch
            .iter()
            .map(|p| crate::access_log::NewAccess {
                resident_id: p.v.resident_id,
                actor: &p.actor,
                at: &p.v.at,
                category: &p.d.category,
                purpose: &p.d.purpose,
                detail: &p.d.detail,
            })
            .collect();
        crate::access_log::append(&mut tx, self.backend(), &entries).await?;
        tx.commit().await?;
        Ok(())
    }
}
