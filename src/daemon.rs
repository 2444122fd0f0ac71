//! Wires the tasks together: intake (IMAP, IDLE or polling), the outbox sender, the deadline
//! sweeper, systemd notification, and a graceful shutdown on SIGTERM/SIGINT.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::app::App;
use crate::channels::client::{HttpClient, DEFAULT_TIMEOUT};
use crate::channels::deliver::{Deliverer, Pass};
use crate::delivery::{flush, FlushStats};
use crate::intake::{self, Connection};
use crate::outbox::sender::Smtp;
use crate::store::intake::BatchOutcome;
use crate::store::Store;

/// How long a graceful stop waits for the intake task to finish its batch.
const INTAKE_STOP_LIMIT: Duration = Duration::from_secs(4);
/// How long the outbox's last flush may take when stopping.
const OUTBOX_STOP_LIMIT: Duration = Duration::from_secs(4);

/// Wakes the senders after a commit: the mail outbox and the team channels' deliveries.
pub struct Wake {
    outbox: Notify,
    channels: Arc<Notify>,
}

impl Wake {
    fn new() -> Wake {
        Wake {
            outbox: Notify::new(),
            channels: Arc::new(Notify::new()),
        }
    }

    fn notify_one(&self) {
        self.outbox.notify_one();
        self.channels.notify_one();
    }
}

/// The team channels' delivery task's parts, when channels are configured.
pub fn deliverer(app: &App, store: &Store) -> anyhow::Result<Option<Deliverer>> {
    if app.settings.resolved_channels.is_empty() {
        return Ok(None);
    }
    let client = HttpClient::new(None, DEFAULT_TIMEOUT)?;
    Ok(Some(Deliverer {
        pool: store.pool.clone(),
        channels: Arc::new(app.settings.resolved_channels.clone()),
        client,
        tz: app.policy.tz,
        retry_initial: app.settings.smtp.retry_initial,
        retry_max: app.settings.smtp.retry_max,
        lease: DEFAULT_TIMEOUT * 3,
    }))
}

/// What `run --once` did.
#[derive(Debug, Default, serde::Serialize)]
pub struct PassReport {
    pub intake: BatchOutcome,
    pub reminders: usize,
    pub outbox: FlushStats,
    pub channels: Pass,
}

fn notify_systemd(state: &[sd_notify::NotifyState]) {
    let _ = sd_notify::notify(state);
}

/// One full pass: intake, deadline sweep, outbox flush. Errors of one step do not skip the
/// others; the first error is returned after all ran.
pub async fn run_once(app: &Arc<App>, store: &Store) -> anyhow::Result<PassReport> {
    let mut report = PassReport::default();
    let mut first_err: Option<anyhow::Error> = None;
    match Connection::open(&app.settings.imap).await {
        Ok(mut conn) => {
            note_contact(store, app, "once").await;
            match intake::drain(&mut conn, store, app, &|_| {}, &|| false).await {
                Ok(o) => report.intake = o,
                Err(e) => first_err = Some(e.into()),
            }
            conn.logout().await;
        }
        Err(e) => {
            let _ = store
                .set_service("last_imap_error", &e.to_string(), app.clock.now())
                .await;
            first_err = Some(e.into());
        }
    }
    match crate::sweeper::sweep(store, app).await {
        Ok(n) => report.reminders = n,
        Err(e) => {
            first_err.get_or_insert(e.into());
        }
    }
    let smtp = Smtp::new(&app.settings.smtp)?;
    match flush(store, &smtp, &app.settings.smtp, &*app.clock).await {
        Ok(s) => report.outbox = s,
        Err(e) => {
            first_err.get_or_insert(e.into());
        }
    }
    match deliverer(app, store) {
        Ok(Some(d)) => match d.flush(&*app.clock).await {
            Ok(p) => report.channels = p,
            Err(e) => {
                first_err.get_or_insert(e.into());
            }
        },
        Ok(None) => {}
        Err(e) => {
            first_err.get_or_insert(e);
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

async fn note_contact(store: &Store, app: &App, mode: &str) {
    let now = app.clock.now();
    let _ = store
        .set_service("last_imap_contact", &crate::clock::stamp(now), now)
        .await;
    let _ = store.set_service("imap_mode", mode, now).await;
}

/// Runs until SIGTERM or SIGINT.
pub async fn run(app: Arc<App>, store: Store) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    // The outbox stops last, so receipts of the last committed batch still go out.
    let (stop_outbox_tx, stop_outbox_rx) = watch::channel(false);
    let wake_outbox = Arc::new(Wake::new());
    let channels = deliverer(&app, &store)?
        .map(|d| tokio::spawn(d.run(app.clock.clone(), stop_outbox_rx.clone(), wake_outbox.channels.clone())));
    let smtp = Smtp::new(&app.settings.smtp)?;
    if let Some(listen) = app.settings.metrics.listen {
        crate::metrics::serve(&listen.to_string())?;
    }
    for w in app.settings.warnings() {
        tracing::warn!("{w}");
    }

    let intake = tokio::spawn(intake_task(
        app.clone(),
        store.clone(),
        stop_rx.clone(),
        wake_outbox.clone(),
    ));
    let outbox = tokio::spawn(outbox_task(
        app.clone(),
        store.clone(),
        smtp,
        stop_outbox_rx,
        wake_outbox.clone(),
    ));
    let sweeper = tokio::spawn(sweeper_task(
        app.clone(),
        store.clone(),
        stop_rx.clone(),
        wake_outbox.clone(),
    ));

    // A task that ends on its own has failed (a panic): stop, so systemd restarts us.
    let (mut intake, mut outbox, mut sweeper) = (intake, outbox, sweeper);
    let failed = tokio::select! {
        _ = wait_for_signal() => None,
        r = &mut intake => Some(("intake", r)),
        r = &mut outbox => Some(("outbox", r)),
        r = &mut sweeper => Some(("sweeper", r)),
    };
    if let Some((task, r)) = &failed {
        tracing::error!(task, result = ?r.as_ref().err(), "a task stopped unexpectedly; exiting so the service manager restarts secintake");
    }
    tracing::info!("shutting down: finishing the message in hand, flushing the outbox");
    notify_systemd(&[
        sd_notify::NotifyState::Stopping,
        sd_notify::NotifyState::Status("stopping"),
    ]);
    // First stop taking mail: the intake task finishes the batch in hand (commit, \Seen),
    // then logs out. Only then the outbox gets its bounded last flush, so the receipts of
    // that batch go out too. Both are bounded: exit within 10 s in all.
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(INTAKE_STOP_LIMIT, async {
        if !intake.is_finished() {
            let _ = intake.await;
        }
        if !sweeper.is_finished() {
            let _ = sweeper.await;
        }
    })
    .await;
    let _ = stop_outbox_tx.send(true);
    wake_outbox.notify_one();
    if !outbox.is_finished() {
        let _ = tokio::time::timeout(OUTBOX_STOP_LIMIT + Duration::from_millis(500), &mut outbox).await;
    }
    if let Some(c) = channels {
        let _ = tokio::time::timeout(Duration::from_secs(6), c).await;
    }
    store.pool.close().await;
    if let Some((task, _)) = failed {
        anyhow::bail!("the {task} task stopped unexpectedly");
    }
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}

/// Sleeps `d` unless asked to stop; returns true when stopping.
async fn pause(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

/// How long to wait before reconnection attempt number `failures` (1 = the first retry):
/// doubling from 1 s up to `max`.
pub fn reconnect_wait(failures: u32, max: Duration) -> Duration {
    crate::outbox::backoff(failures.saturating_sub(1), Duration::from_secs(1), max)
}

/// Tells systemd what the daemon is doing, and that the main loop is alive.
fn alive(status: &str) {
    notify_systemd(&[sd_notify::NotifyState::Status(status), sd_notify::NotifyState::Watchdog]);
}

async fn intake_task(app: Arc<App>, store: Store, mut stop: watch::Receiver<bool>, wake_outbox: Arc<Wake>) {
    let s = &app.settings.imap;
    // Failed attempts since the last successful intake pass. A login alone does not reset
    // it: an error that strikes after every login (database full or read-only) must back
    // off like an unreachable server does.
    let mut failures: u32 = 0;
    let mut ready_sent = false;
    loop {
        if *stop.borrow() {
            return;
        }
        notify_systemd(&[sd_notify::NotifyState::Status(&format!(
            "connecting to {}:{}",
            s.host, s.port
        ))]);
        let mut conn = match Connection::open(s).await {
            Ok(c) => c,
            Err(e) => {
                failures += 1;
                let wait = reconnect_wait(failures, s.reconnect_max);
                tracing::warn!(error = %e, retry_in = ?wait, "IMAP connection failed");
                let _ = store
                    .set_service("last_imap_error", &e.to_string(), app.clock.now())
                    .await;
                // The loop is alive (every IMAP step has a timeout), so the watchdog is fed.
                alive(&format!("IMAP unreachable, reconnecting in {}s: {e}", wait.as_secs()));
                if pause(wait, &mut stop).await {
                    return;
                }
                continue;
            }
        };
        if failures > 0 {
            crate::metrics::imap_reconnect();
            tracing::info!(after = failures, "IMAP reconnected");
            let _ = store
                .set_service("imap_reconnects", &failures.to_string(), app.clock.now())
                .await;
        }
        let use_idle = s.idle && conn.idle;
        let mode = if use_idle { "idle" } else { "poll" };
        note_contact(&store, &app, mode).await;
        if !ready_sent {
            notify_systemd(&[sd_notify::NotifyState::Ready]);
            ready_sent = true;
        }
        tracing::info!(mode, uidvalidity = conn.uidvalidity, "IMAP ready");
        loop {
            let stored = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let on_batch = {
                let (wake, stored, store, app) = (wake_outbox.clone(), stored.clone(), store.clone(), app.clone());
                move |o: &BatchOutcome| {
                    if o.stored > 0 {
                        wake.notify_one();
                    }
                    // Every committed batch is progress: a backlog longer than WatchdogSec
                    // is not killed, and `status` sees the IMAP contact.
                    let n = stored.fetch_add(o.stored, std::sync::atomic::Ordering::Relaxed) + o.stored;
                    alive(&format!("ingesting: {n} stored"));
                    let (store, app) = (store.clone(), app.clone());
                    tokio::spawn(async move { note_contact(&store, &app, mode).await });
                }
            };
            let stop_flag = stop.clone();
            match intake::drain(&mut conn, &store, &app, &on_batch, &move || *stop_flag.borrow()).await {
                Ok(o) => {
                    failures = 0;
                    if o.stored + o.duplicates > 0 {
                        tracing::info!(
                            stored = o.stored,
                            duplicates = o.duplicates,
                            new_cases = o.new_cases.len(),
                            "intake pass"
                        );
                    }
                    note_contact(&store, &app, mode).await;
                    let doing = if use_idle { "idle" } else { "polling" };
                    alive(&format!("{doing}: watching {}", s.mailbox));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "intake pass failed; reconnecting");
                    let _ = store
                        .set_service("last_imap_error", &e.to_string(), app.clock.now())
                        .await;
                    break;
                }
            }
            if *stop.borrow() {
                conn.logout().await;
                return;
            }
            if use_idle {
                // IDLE ends after idle_renew at the latest; the drain above then checks for
                // new UIDs and feeds the watchdog before the next IDLE.
                match conn.idle(s.idle_renew, &mut stop).await {
                    Ok((c, _news)) => conn = c,
                    Err(e) => {
                        tracing::warn!(error = %e, "IDLE failed; reconnecting");
                        let _ = store
                            .set_service("last_imap_error", &e.to_string(), app.clock.now())
                            .await;
                        break;
                    }
                }
            } else {
                if pause(s.poll_interval, &mut stop).await {
                    conn.logout().await;
                    return;
                }
                if let Err(e) = conn.noop().await {
                    tracing::warn!(error = %e, "IMAP connection lost; reconnecting");
                    break;
                }
            }
        }
        failures += 1;
        let wait = reconnect_wait(failures, s.reconnect_max);
        tracing::info!(retry_in = ?wait, failures, "reconnecting to IMAP");
        alive(&format!("reconnecting in {}s", wait.as_secs()));
        if pause(wait, &mut stop).await {
            return;
        }
    }
}

async fn outbox_task(app: Arc<App>, store: Store, smtp: Smtp, mut stop: watch::Receiver<bool>, wake: Arc<Wake>) {
    loop {
        if *stop.borrow() {
            // The intake has stopped: one last bounded flush, then leave.
            let _ =
                tokio::time::timeout(OUTBOX_STOP_LIMIT, flush(&store, &smtp, &app.settings.smtp, &*app.clock)).await;
            return;
        }
        match flush(&store, &smtp, &app.settings.smtp, &*app.clock).await {
            Ok(s) if s.sent + s.retried + s.failed > 0 => tracing::debug!(?s, "outbox flush"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "outbox flush failed"),
        }
        if *stop.borrow() {
            continue;
        }
        // Sleep until woken, until the next retry is due, or 30 s at most.
        let mut wait = Duration::from_secs(30);
        if let Ok(Some(next)) = store.next_outbox_due().await {
            if let Some(t) = crate::clock::parse_stamp(&next) {
                let d = (t - app.clock.now()).to_std().unwrap_or(Duration::ZERO);
                wait = wait.min(d.max(Duration::from_millis(50)));
            }
        }
        tokio::select! {
            _ = wake.outbox.notified() => {},
            _ = tokio::time::sleep(wait) => {},
            _ = stop.changed() => {}
        }
    }
}

async fn sweeper_task(app: Arc<App>, store: Store, mut stop: watch::Receiver<bool>, wake: Arc<Wake>) {
    loop {
        match crate::sweeper::sweep(&store, &app).await {
            Ok(n) if n > 0 => {
                tracing::info!(reminders = n, "deadline sweep");
                wake.notify_one();
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "deadline sweep failed"),
        }
        if let Ok((backlog, _)) = store.outbox_backlog().await {
            crate::metrics::outbox_backlog(backlog);
            if backlog > 0 {
                // Mail queued by another process (the CLI) goes out without waiting.
                wake.notify_one();
            }
        }
        if let Ok(d) = store.open_deadlines(&app.policy, app.clock.now()).await {
            crate::metrics::overdue(d.iter().filter(|x| x.status == "overdue").count());
        }
        if pause(app.settings.policy.sweep_interval, &mut stop).await {
            return;
        }
    }
}
