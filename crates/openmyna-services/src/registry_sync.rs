//! The registry → CA subscriber (an in-process subscriber of domain events).
//!
//! The JPKI subscriber reads the registry's event outbox from its durable cursor and revokes
//! certificates: the signing certificate on any change of the basic four information
//! (affiliationChanged), both certificates on death or removal (cessationOfOperation) — except
//! that a card kept for use abroad keeps its authentication certificate through emigration. It runs
//! right after each registry change (so that OCSP shows the revocation before the change is
//! acknowledged), and in the background to catch up after a crash.

use openmyna_applications::{CardEvent, CardStatus, card_transition};
use openmyna_core::RefusalKind;
use openmyna_jpki::{JpkiError, Reason};
use openmyna_registry::{ChangeKind, RegistryEvent};

use crate::{Result, Services};

const CONSUMER: &str = "jpki.revocation";

/// Processes every pending registry event; returns how many were processed.
pub async fn sync_registry_to_jpki(s: &Services) -> Result<usize> {
    let _guard = s.subscriber_lock.lock().await;
    let mut processed = 0;
    loop {
        let cursor = s.store.events().cursor(CONSUMER).await?;
        let events = s
            .store
            .events()
            .events_after(Some("registry"), cursor, 500)
            .await?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(processed);
        };
        for e in &events {
            let Ok(ev) = serde_json::from_value::<RegistryEvent>(e.payload.clone()) else {
                tracing::warn!(seq = e.seq, "skipping an unreadable registry event");
                continue;
            };
            // Death or removal ends the resident's cards — except a card kept for use abroad
            // (海外継続利用), which keeps its authentication certificate through emigration;
            // only the signing certificate goes.
            let closing = matches!(ev.kind, ChangeKind::Died | ChangeKind::Removed);
            let cards = if closing {
                s.store.cards().cards_of_resident(ev.resident_id.0).await?
            } else {
                Vec::new()
            };
            let kept_abroad = ev.kind == ChangeKind::Removed
                && cards.iter().any(|c| c.status == CardStatus::Overseas);
            let action = if kept_abroad || (!closing && !ev.changed.is_empty()) {
                Some((false, Reason::AffiliationChanged))
            } else if closing {
                Some((true, Reason::CessationOfOperation))
            } else {
                None
            };
            if closing && !kept_abroad {
                // The card-life state machine says which cards a death or removal voids
                // (active, lost, abroad); the certificates are revoked below.
                for (c, from, to) in cards.iter().filter_map(|c| {
                    let (to, _) = card_transition(c.status, CardEvent::Void).ok()?;
                    Some((c, c.status, to))
                }) {
                    s.store
                        .cards()
                        .set_card_status(
                            &c.serial,
                            from,
                            to,
                            &s.clock.now(),
                            "void",
                            "registry",
                            &format!("{:?} recorded in the registry", ev.kind),
                        )
                        .await?;
                }
            }
            if let Some((include_auth, reason)) = action {
                match s
                    .jpki
                    .revoke_for_resident(ev.resident_id.0, include_auth, reason)
                    .await
                {
                    Ok(serials) if !serials.is_empty() => tracing::info!(
                        resident = ev.resident_id.0,
                        count = serials.len(),
                        reason = reason.name(),
                        "certificates revoked after a registry change"
                    ),
                    Ok(_) => {}
                    // Someone revoked it meanwhile: the goal is reached.
                    Err(JpkiError::Refusal(r)) if r.kind() == RefusalKind::Refused => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        s.store.events().commit_cursor(CONSUMER, last).await?;
        processed += events.len();
    }
}
