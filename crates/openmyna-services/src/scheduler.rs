//! The background work of a server, on the injected clock: the registry subscriber's catch-up,
//! the daily retention sweep of employees' My Numbers, and CRL publication — a full CRL of each
//! root every `full_crl_hours` (and at start when none was ever published), a delta CRL hourly
//! in between.
//!
//! [`Schedule`] decides what is due from the clock alone (no sleeping in tests: move a
//! `ManualClock` and call [`tick`]); the server calls [`tick`] every few seconds.
//!
//! Several servers on one database: the work runs on the server that holds the `scheduler`
//! lease ([`LEASE`], renewed at every tick); the others stand by and take over when it
//! lapses. A server that becomes the leader picks up the schedule where the database says it
//! is (the latest full and delta CRLs), so a takeover neither repeats nor skips a
//! publication; CRL numbers come from one counter in the database.

use chrono::{Duration, NaiveDate};
use openmyna_core::Timestamp;
use openmyna_jpki::RootKind;

use crate::{Services, employers, registry_sync};

/// How often a delta CRL is published between full ones.
pub const DELTA_EVERY: Duration = Duration::hours(1);

/// How long the scheduler's lease lasts without renewal: a stopped server's work moves to
/// another within this.
pub const LEASE: Duration = Duration::seconds(30);

/// The lease's name.
const JOB: &str = "scheduler";

/// What CRL publication is due now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrlWork {
    /// Nothing yet.
    Nothing,
    /// A full CRL of every root; at start only of the roots that never had one.
    Full { only_where_none: bool },
    /// A delta CRL of every root.
    Delta,
}

/// When each kind of work was last done.
#[derive(Debug, Clone)]
pub struct Schedule {
    full_every: Duration,
    last_full: Option<Timestamp>,
    last_delta: Timestamp,
    swept_on: Option<NaiveDate>,
    /// Whether this server held the lease at the last tick.
    leading: bool,
}

impl Schedule {
    /// A server starting at `now` with full CRLs every `full_crl_hours` (at least one).
    pub fn new(full_crl_hours: i64, now: Timestamp) -> Self {
        Schedule {
            full_every: Duration::hours(full_crl_hours.max(1)),
            last_full: None,
            last_delta: now,
            swept_on: None,
            leading: false,
        }
    }

    /// Continues from what was published (a server becoming the leader): the times of the
    /// latest full and delta CRLs.
    pub fn resume(&mut self, last_full: Option<Timestamp>, last_delta: Option<Timestamp>) {
        if let Some(t) = last_full {
            self.last_full = Some(t);
            self.last_delta = last_delta.map_or(t, |d| d.max(t));
        }
    }

    /// The CRL work due at `now`.
    pub fn crl_due(&self, now: Timestamp) -> CrlWork {
        match self.last_full {
            None => CrlWork::Full {
                only_where_none: true,
            },
            Some(t) if now - t >= self.full_every => CrlWork::Full {
                only_where_none: false,
            },
            Some(_) if now - self.last_delta >= DELTA_EVERY => CrlWork::Delta,
            Some(_) => CrlWork::Nothing,
        }
    }

    /// Records that `work` was done at `now` (also when a root's publication failed: it is
    /// retried at the next due time, as a failed step is logged and not repeated every tick).
    pub fn crl_done(&mut self, work: CrlWork, now: Timestamp) {
        match work {
            CrlWork::Full { .. } => {
                self.last_full = Some(now);
                self.last_delta = now;
            }
            CrlWork::Delta => self.last_delta = now,
            CrlWork::Nothing => {}
        }
    }

    /// Whether the retention sweep is due on `today` (once a day, until it succeeds).
    pub fn sweep_due(&self, today: NaiveDate) -> bool {
        self.swept_on != Some(today)
    }

    pub fn swept(&mut self, today: NaiveDate) {
        self.swept_on = Some(today);
    }
}

/// What one [`tick`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    /// My Numbers deleted by the retention sweep.
    pub numbers_deleted: usize,
    /// Registry events the subscriber processed.
    pub registry_events: usize,
    /// Full and delta CRLs published (one per root each).
    pub full_crls: usize,
    pub delta_crls: usize,
    /// Another server holds the lease: nothing was done here.
    pub standby: bool,
}

/// Does the work due now. Failures are logged and retried at the next tick (the sweep, the
/// subscriber) or at the next due time (CRLs); they never stop the loop.
pub async fn tick(s: &Services, schedule: &mut Schedule) -> TickReport {
    let mut report = TickReport::default();
    let now = s.clock.now();
    match s
        .store
        .take_lease(JOB, &s.instance, &now, &(now + LEASE))
        .await
    {
        Ok(true) if !schedule.leading => {
            schedule.leading = true;
            let (full, delta) = latest_publications(s).await;
            schedule.resume(full, delta);
            tracing::info!(instance = %s.instance, "this server runs the scheduled work");
        }
        Ok(true) => {}
        Ok(false) => {
            schedule.leading = false;
            report.standby = true;
            return report;
        }
        Err(e) => {
            tracing::warn!(error = %e, "the scheduler's lease cannot be read; will retry");
            report.standby = true;
            return report;
        }
    }
    if let Err(e) = s.store.purge_used_challenges(&now).await {
        tracing::warn!(error = %e, "forgetting expired challenges failed; will retry");
    }
    let day_ago = now - chrono::Duration::days(1);
    if let Err(e) = s.store.portal().purge_pairings(&day_ago).await {
        tracing::warn!(error = %e, "forgetting expired browser pairings failed; will retry");
    }
    if let Err(e) = crate::oidc::purge(s).await {
        tracing::warn!(error = %e, "forgetting expired OpenID Connect codes failed; will retry");
    }
    let today = s.clock.today();
    if schedule.sweep_due(today) {
        match employers::sweep_retention(s).await {
            Ok(n) => {
                schedule.swept(today);
                report.numbers_deleted = n;
                if n > 0 {
                    tracing::info!(deleted = n, "My Numbers past retention deleted");
                }
            }
            Err(e) => tracing::warn!(error = %e, "retention sweep failed; will retry"),
        }
        // The platform's confirmation records past their 7 years (a failure is retried the
        // next day; the records are kept, not lost).
        match s.platform().sweep().await {
            Ok(n) if n > 0 => tracing::info!(deleted = n, "platform checks past retention deleted"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "platform retention sweep failed"),
        }
    }
    match registry_sync::sync_registry_to_jpki(s).await {
        Ok(n) => report.registry_events = n,
        Err(e) => tracing::warn!(error = %e, "registry subscriber failed; will retry"),
    }
    let work = schedule.crl_due(now);
    for root in RootKind::ALL {
        let result = match work {
            CrlWork::Nothing => continue,
            CrlWork::Full { only_where_none } => {
                let none_yet = matches!(s.jpki.latest_crl(root, "full", None).await, Ok(None));
                if only_where_none && !none_yet {
                    continue;
                }
                s.jpki
                    .publish_full(root)
                    .await
                    .map(|_| report.full_crls += 1)
            }
            CrlWork::Delta => s
                .jpki
                .publish_deltas(root)
                .await
                .map(|_| report.delta_crls += 1),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, root = root.as_str(), "CRL publication failed; will retry");
        }
    }
    schedule.crl_done(work, now);
    report
}

/// When the latest full CRL (the older of the roots') and the latest delta were published.
async fn latest_publications(s: &Services) -> (Option<Timestamp>, Option<Timestamp>) {
    let mut full: Option<Timestamp> = None;
    let mut delta: Option<Timestamp> = None;
    for root in RootKind::ALL {
        match s.jpki.latest_crl(root, "full", None).await {
            Ok(Some(m)) => full = Some(full.map_or(m.this_update, |f| f.min(m.this_update))),
            // A root without a full CRL: the first tick publishes it.
            Ok(None) | Err(_) => return (None, None),
        }
        if let Ok(Some(m)) = s.jpki.latest_crl(root, "delta", None).await {
            delta = Some(delta.map_or(m.this_update, |d| d.min(m.this_update)));
        }
    }
    (full, delta)
}

/// Gives the lease up (a server stopping), so that another server takes the work over at
/// its next tick.
pub async fn step_down(s: &Services) {
    if let Err(e) = s.store.release_lease(JOB, &s.instance).await {
        tracing::warn!(error = %e, "giving the scheduler's lease up failed; it lapses");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339("2026-04-01T09:00:00+09:00").unwrap()
            + Duration::hours(h)
    }

    #[test]
    fn full_at_start_then_deltas_hourly_then_full_on_schedule() {
        let mut s = Schedule::new(24, at(0));
        let first = s.crl_due(at(0));
        assert_eq!(
            first,
            CrlWork::Full {
                only_where_none: true
            }
        );
        s.crl_done(first, at(0));
        assert_eq!(s.crl_due(at(0)), CrlWork::Nothing);
        assert_eq!(s.crl_due(at(0) + Duration::minutes(59)), CrlWork::Nothing);
        assert_eq!(s.crl_due(at(1)), CrlWork::Delta);
        s.crl_done(CrlWork::Delta, at(1));
        assert_eq!(s.crl_due(at(1)), CrlWork::Nothing);
        assert_eq!(s.crl_due(at(2)), CrlWork::Delta);
        assert_eq!(
            s.crl_due(at(24)),
            CrlWork::Full {
                only_where_none: false
            }
        );
        s.crl_done(
            CrlWork::Full {
                only_where_none: false,
            },
            at(24),
        );
        // A full CRL restarts the delta hour.
        assert_eq!(s.crl_due(at(24) + Duration::minutes(30)), CrlWork::Nothing);
        assert_eq!(s.crl_due(at(25)), CrlWork::Delta);
    }

    #[test]
    fn at_least_one_hour_between_full_crls_and_one_sweep_a_day() {
        let mut s = Schedule::new(0, at(0));
        s.crl_done(s.crl_due(at(0)), at(0));
        assert_eq!(
            s.crl_due(at(1)),
            CrlWork::Full {
                only_where_none: false
            }
        );
        let day = at(0).date_naive();
        assert!(s.sweep_due(day));
        s.swept(day);
        assert!(!s.sweep_due(day));
        assert!(s.sweep_due(day.succ_opt().unwrap()));
    }
}
