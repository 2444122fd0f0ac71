//! The command line: run the daemon, inspect cases and deadlines, check the config.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use secintake::app::App;
use secintake::config::{self, Settings};
use secintake::store::Store;

#[derive(Parser)]
#[command(
    name = "secintake",
    version,
    about = "Runs a project's security mailbox: reports in, tracked cases, timely replies"
)]
struct Cli {
    /// Config file (default: $SECINTAKE_CONFIG, then /etc/secintake/secintake.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (until SIGTERM), or one full pass with --once.
    Run {
        #[arg(long)]
        once: bool,
    },
    /// Create or upgrade the database.
    Migrate,
    /// Validate the config (and templates); with --connect, log in to IMAP and SMTP.
    CheckConfig {
        #[arg(long)]
        connect: bool,
    },
    /// List cases.
    Cases {
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one case with its timeline.
    Case {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

fn load(path: &Option<PathBuf>) -> anyhow::Result<Settings> {
    let p = path.clone().unwrap_or_else(config::default_path);
    Ok(Settings::load(&p)?)
}

async fn open_store(s: &Settings) -> anyhow::Result<Store> {
    Store::open(&s.database_path())
        .await
        .context("opening the database")
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match real_main(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("secintake: error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

async fn real_main(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let settings = load(&cli.config)?;
    secintake::telemetry::init(settings.log.format, &settings.log.level);
    match cli.command {
        Command::Run { once } => {
            let store = open_store(&settings).await?;
            let app = App::new(settings)?;
            if once {
                let r = secintake::daemon::run_once(&app, &store).await?;
                tracing::info!(
                    stored = r.intake.stored,
                    duplicates = r.intake.duplicates,
                    new_cases = r.intake.new_cases.len(),
                    sent = r.outbox.sent,
                    retried = r.outbox.retried,
                    reminders = r.reminders,
                    "pass done"
                );
            } else {
                secintake::daemon::run(Arc::new(app), store).await?;
            }
        }
        Command::Migrate => {
            open_store(&settings).await?;
            println!(
                "database {} is up to date",
                settings.database_path().display()
            );
        }
        Command::CheckConfig { connect } => {
            let app = App::new(settings)?;
            app.templates.check()?;
            println!("config ok");
            if connect {
                let mut ok = true;
                match secintake::intake::Connection::open(&app.settings.imap).await {
                    Ok(c) => {
                        println!("imap ok: logged in to {}:{} as {}, mailbox {} (UIDVALIDITY {}, IDLE {})", app.settings.imap.host, app.settings.imap.port, app.settings.imap.username, app.settings.imap.mailbox, c.uidvalidity, if c.idle { "yes" } else { "no" });
                        c.logout().await;
                    }
                    Err(e) => {
                        println!("imap FAILED: {e}");
                        ok = false;
                    }
                }
                match secintake::outbox::sender::Smtp::new(&app.settings.smtp)?
                    .check()
                    .await
                {
                    Ok(()) => println!(
                        "smtp ok: {}:{}",
                        app.settings.smtp.host, app.settings.smtp.port
                    ),
                    Err(e) => {
                        println!("smtp FAILED: {e:#}");
                        ok = false;
                    }
                }
                if !ok {
                    return Ok(std::process::ExitCode::from(1));
                }
            }
        }
        Command::Cases { state, json } => {
            let store = open_store(&settings).await?;
            if let Some(s) = &state {
                if secintake::case::State::parse(s).is_none() {
                    anyhow::bail!("unknown state `{s}` (one of: new, triage, needs-info, assessing, accepted, patching, released, disclosed, invalid, duplicate)");
                }
            }
            let cases = store.cases(state.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&cases)?);
            } else {
                println!(
                    "{:<15} {:<10} {:<11} {:<28} {:<16} SUBJECT",
                    "ID", "STATE", "BODY", "REPORTER", "MISSING"
                );
                for c in &cases {
                    println!(
                        "{:<15} {:<10} {:<11} {:<28} {:<16} {}",
                        c.id,
                        c.state,
                        c.body_check,
                        trunc(&c.reporter, 28),
                        trunc(&c.missing.join(","), 16),
                        trunc(&c.subject, 60)
                    );
                }
                println!("{} case(s)", cases.len());
            }
        }
        Command::Case { id, json } => {
            let store = open_store(&settings).await?;
            let d = store.case_detail(&id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                let s = &d.summary;
                println!("{}  [{}]  {}", s.id, s.state, s.subject);
                println!("reporter:    {}", s.reporter);
                println!("coordinator: {}", s.coordinator.as_deref().unwrap_or("-"));
                println!(
                    "opened:      {}   acknowledged: {}",
                    s.opened_at,
                    s.acknowledged_at.as_deref().unwrap_or("-")
                );
                println!(
                    "body check:  {}   missing: {}   flags: {}",
                    s.body_check,
                    if s.missing.is_empty() {
                        "-".into()
                    } else {
                        s.missing.join(", ")
                    },
                    if s.flags.is_empty() {
                        "-".into()
                    } else {
                        s.flags.join(", ")
                    }
                );
                println!("\ntimeline:");
                for m in &d.messages {
                    println!(
                        "  {} {:<3} {:<18} {} {}",
                        m.at,
                        m.direction,
                        m.kind,
                        m.from.as_deref().unwrap_or("-"),
                        m.subject.as_deref().unwrap_or("")
                    );
                }
                println!("\nevents:");
                for e in &d.events {
                    println!("  {} {:<22} {}", e.at, e.kind, e.actor);
                }
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn trunc(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
