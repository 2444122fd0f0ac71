//! Wires the tasks together: intake (IMAP, IDLE or polling), the outbox sender, the deadline
//! sweeper, systemd notification, and a graceful shutdown on SIGTERM/SIGINT.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::app::App;
use crate::intake::{self, Connection};
use crate::outbox::delivery::{flush, FlushStats};
use crate::outbox::sender::Smtp;
use crate::store::intake::BatchOutcome;
use crate::store::Store;

/// What `run --once` did.
#[derive(Debug, Default, serde::Serialize)]
pub struct PassReport {
    pub intake: BatchOutcome,
    pub reminders: usize,
    pub outbox: FlushStats,
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
    match flush(store, &smtp, app).await {
        Ok(s) => report.outbox = s,
        Err(e) => {
            first_err.get_or_insert(e.into());
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
    let wake_outbox = Arc::new(Notify::new());
    let smtp = Smtp::new(&app.settings.smtp)?;
    if let Some(listen) = app.settings.metrics.listen.as_deref().filter(|l| !l.is_empty()) {
        crate::metrics::serve(listen)?;
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
        stop_rx.clone(),
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
    let _ = stop_tx.send(true);
    let deadline = Duration::from_secs(8);
    let _ = tokio::time::timeout(deadline, async {
        if !intake.is_finished() {
            let _ = intake.await;
        }
        if !sweeper.is_finished() {
            let _ = sweeper.await;
        }
        if !outbox.is_finished() {
            let _ = outbox.await;
        }
    })
    .await;
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

async fn intake_task(app: Arc<App>, store: Store, mut stop: watch::Receiver<bool>, wake_outbox: Arc<Notify>) {
    let s = &app.settings.imap;
    let mut failures: u32 = 0;
    let mut ready_sent = false;
    loop {
        if *stop.borrow() {
            return;
        }
        let mut conn = match Connection::open(s).await {
            Ok(c) => c,
            Err(e) => {
                failures += 1;
                let wait = crate::outbox::backoff(failures - 1, Duration::from_secs(1), s.reconnect_max);
                tracing::warn!(error = %e, retry_in = ?wait, "IMAP connection failed");
                let _ = store
                    .set_service("last_imap_error", &e.to_string(), app.clock.now())
                    .await;
                // The loop is alive (every IMAP step has a timeout), so the watchdog is fed.
                notify_systemd(&[
                    sd_notify::NotifyState::Status(&format!("IMAP unreachable: {e}")),
                    sd_notify::NotifyState::Watchdog,
                ]);
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
        failures = 0;
        let use_idle = s.idle && conn.idle;
        let mode = if use_idle { "idle" } else { "poll" };
        note_contact(&store, &app, mode).await;
        if !ready_sent {
            notify_systemd(&[sd_notify::NotifyState::Ready]);
            ready_sent = true;
        }
        tracing::info!(mode, uidvalidity = conn.uidvalidity, "IMAP ready");
        loop {
            let wake = wake_outbox.clone();
            let on_batch = move |o: &BatchOutcome| {
                if o.stored > 0 {
                    wake.notify_one();
                }
            };
            let stop_flag = stop.clone();
            match intake::drain(&mut conn, &store, &app, &on_batch, &move || *stop_flag.borrow()).await {
                Ok(o) => {
                    if o.stored + o.duplicates > 0 {
                        tracing::info!(
                            stored = o.stored,
                            duplicates = o.duplicates,
                            new_cases = o.new_cases.len(),
                            "intake pass"
                        );
                    }
                    note_contact(&store, &app, mode).await;
                    notify_systemd(&[
                        sd_notify::NotifyState::Status(&format!("{mode}: watching {}", s.mailbox)),
                        sd_notify::NotifyState::Watchdog,
                    ]);
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
        if pause(Duration::from_millis(200), &mut stop).await {
            return;
        }
    }
}

async fn outbox_task(app: Arc<App>, store: Store, smtp: Smtp, mut stop: watch::Receiver<bool>, wake: Arc<Notify>) {
    loop {
        match flush(&store, &smtp, &app).await {
            Ok(s) if s.sent + s.retried + s.failed > 0 => tracing::debug!(?s, "outbox flush"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "outbox flush failed"),
        }
        if *stop.borrow() {
            return;
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
            _ = wake.notified() => {},
            _ = tokio::time::sleep(wait) => {},
            _ = stop.changed() => {
                // one last bounded flush, then leave
                let _ = tokio::time::timeout(Duration::from_secs(5), flush(&store, &smtp, &app)).await;
                return;
            }
        }
    }
}

async fn sweeper_task(app: Arc<App>, store: Store, mut stop: watch::Receiver<bool>, wake: Arc<Notify>) {
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
