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
    /// Warnings (`warning: ...`) leave the exit code 0, unless --strict (then 78).
    CheckConfig {
        #[arg(long)]
        connect: bool,
        /// Treat warnings as errors: exit 78 when there is any.
        #[arg(long)]
        strict: bool,
    },
    /// List cases.
    Cases {
        /// Only cases in this state (`historical` for the imported history).
        #[arg(long)]
        state: Option<String>,
        /// Every case, the history (state `historical`) too.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Full-text search over every case: subjects, messages' own text, notes. QUERY takes
    /// words, "phrases", prefixes (redir*), AND, OR, NOT and parentheses.
    Search {
        query: String,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        state: Option<String>,
        /// Only cases opened on or after this date (YYYY-MM-DD).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Ingest .eml files as if the list had delivered them (deduplicated like any mail); with
    /// --history, .eml files, Maildir folders and mbox files as history: stored and threaded,
    /// never answered.
    Import {
        #[arg(long)]
        history: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Every open deadline, soonest first.
    Deadlines {
        #[arg(long)]
        json: bool,
    },
    /// Print the list's armored OpenPGP public key (`[pgp]`), for security.txt and SECURITY.md.
    PgpKey,
    /// Response targets met: acknowledgement and detailed response, per month.
    Report {
        /// Only cases opened on or after this date (YYYY-MM-DD).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        #[arg(long)]
        json: bool,
        /// With --json: every chart's numbers (what --html draws), not only the targets.
        #[arg(long, requires = "json")]
        charts: bool,
        /// Write a self-contained HTML report with charts to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Put the cases' subjects in the report (for a private audience).
        #[arg(long)]
        with_subjects: bool,
    },
    /// Queue the daily digest to the team now.
    Digest,
    /// Give the database's free pages back to the file system: checkpoint the WAL, then
    /// VACUUM. Prints the size before and after. Safe while the daemon runs: it waits for the
    /// write lock (the store's busy timeout), and the daemon's writes wait for it.
    Vacuum {
        #[arg(long)]
        json: bool,
    },
    /// Health: IMAP contact, cursor, outbox backlog, errors, open cases, overdue deadlines.
    /// Exits 1 when unhealthy; "degraded" (mail waiting after a send failure, kept and
    /// retried) exits 0.
    Status {
        #[arg(long)]
        json: bool,
        /// Unhealthy when mail waits in the mailbox, not ingested, longer than this.
        #[arg(long, default_value = "2m", value_parser = parse_lag)]
        max_lag: std::time::Duration,
        /// Do not log in to IMAP; judge from the database only.
        #[arg(long)]
        offline: bool,
    },
    /// Print a case's advisory documents: OSV, CVE (CNA container), GHSA request body,
    /// announcement (several IDs make one post), triage issue, premature-disclosure placeholder.
    /// Exits 2, listing what is missing, when a document would be incomplete.
    Advisory {
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(long, value_enum, required_unless_present = "check")]
        format: Option<secintake::advisory::Format>,
        /// Print what is missing for every format (exit 2 when anything is).
        #[arg(long, conflicts_with = "format")]
        check: bool,
    },
    /// Write the man page (roff) to stdout, from this command line's definition:
    /// `secintake man > secintake.1`. Used to build the package; needs no config.
    #[command(hide = true)]
    Man,
    /// Show one case with its timeline, or change it (same rules as email commands).
    Case {
        id: String,
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<CaseAction>,
    },
}

#[derive(Subcommand)]
enum CaseAction {
    /// Try the case's encrypted messages again with the list key (after a key rotation);
    /// a report that opens now is analysed again. Nothing is sent.
    Decrypt,
    /// Assign a coordinator (an address from team.coordinators).
    Assign { who: String },
    /// Move the case: assessing, needs-info, accepted, patching, released VERSION..., disclosed,
    /// invalid REASON..., duplicate CASE-ID, reopen.
    State {
        state: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Add a note to the case's log.
    Note {
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Set the CVSS vector (3.1 or 4.0); the score is computed.
    Cvss { vector: String },
    /// Set the CVE id.
    Cve { id: String },
    /// Any email command line, e.g. `secintake case SEC-2026-0001 command /ghsa GHSA-xxxx-xxxx-xxxx`.
    Command {
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        line: Vec<String>,
    },
}

/// The email command a CLI action stands for.
fn command_line(a: &CaseAction) -> anyhow::Result<String> {
    Ok(match a {
        CaseAction::Assign { who } => format!("/assign {who}"),
        CaseAction::Note { text } => format!("/note {}", text.join(" ")),
        CaseAction::Cvss { vector } => format!("/cvss {vector}"),
        CaseAction::Cve { id } => format!("/cve {id}"),
        CaseAction::Command { line } => line.join(" "),
        CaseAction::Decrypt => anyhow::bail!("`decrypt` is not an email command"),
        CaseAction::State { state, args } => {
            let cmd = match state.as_str() {
                "assessing" => "/assess",
                "needs-info" => "/needs-info",
                "accepted" => "/accept",
                "patching" => "/patch",
                "released" => "/released",
                "disclosed" => "/disclose",
                "invalid" => "/invalid",
                "duplicate" => "/duplicate",
                "reopen" | "triage" => "/reopen",
                other => anyhow::bail!("cannot move a case to `{other}` (one of: assessing, needs-info, accepted, patching, released, disclosed, invalid, duplicate, reopen)"),
            };
            format!("{cmd} {}", args.join(" ")).trim_end().to_string()
        }
    })
}

fn parse_lag(s: &str) -> Result<std::time::Duration, String> {
    secintake::config::parse_duration(s)
}

fn cli_actor() -> secintake::case::lifecycle::Actor {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    secintake::case::lifecycle::Actor {
        id: format!("cli:{user}"),
        me: None,
    }
}

/// Exit codes by cause (sysexits.h): 0 ok, 1 unhealthy (`status`), 75 a temporary failure
/// (mail left queued, a server unreachable, the daemon already running), 78 a config or
/// credential error (the unit's `RestartPreventExitStatus=78`: no restart loop).
const EX_TEMPFAIL: u8 = 75;
const EX_CONFIG: u8 = 78;

/// An error the operator fixes in the config, the credentials or the database path (exit 78).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Misconfigured(String);

/// Marks an error as the operator's to fix (exit 78), keeping its whole chain in one line.
fn misconfigured(e: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Misconfigured(format!("{:#}", e.into())))
}

/// Whether the command needs the IMAP/SMTP secrets (it talks to a mail server).
fn needs_secrets(c: &Command) -> bool {
    match c {
        Command::Run { .. } | Command::CheckConfig { .. } | Command::Import { .. } => true,
        Command::Status { offline, .. } => !offline,
        _ => false,
    }
}

fn load(path: &Option<PathBuf>, secrets: bool) -> anyhow::Result<Settings> {
    let p = path.clone().unwrap_or_else(config::default_path);
    let s = if secrets {
        Settings::load(&p)
    } else {
        Settings::load_offline(&p)
    };
    s.map_err(misconfigured)
}

/// Opens the database. Only `run` and `migrate` create one: any other command fails on a
/// path that does not exist (a typo in `database.url` is never a new, empty database).
async fn open_store_with(s: &Settings, create: bool) -> anyhow::Result<Store> {
    let path = s.database_path();
    if !create && !path.exists() {
        return Err(misconfigured(anyhow::anyhow!(
            "database {} does not exist (fix database.url, or create it with `secintake migrate`)",
            path.display()
        )));
    }
    Store::open(&path)
        .await
        .with_context(|| format!("opening the database {}", path.display()))
}

async fn open_store(s: &Settings) -> anyhow::Result<Store> {
    open_store_with(s, false).await
}

/// The one-daemon-per-database lock: an advisory `flock` on `DB.lock`, held for the life of
/// the process. `Err(pid)` when another process holds it (the pid it wrote, if readable).
fn lock_database(db: &std::path::Path) -> anyhow::Result<Result<std::fs::File, Option<u32>>> {
    use std::io::{Read, Seek, Write};
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let path = db.with_file_name(format!(
        "{}.lock",
        db.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
    ));
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    // SAFETY: flock on a file descriptor we own; no memory is shared.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        let mut text = String::new();
        let _ = f.read_to_string(&mut text);
        return Ok(Err(text.trim().parse().ok()));
    }
    f.set_len(0)?;
    f.rewind()?;
    write!(f, "{}", std::process::id())?;
    f.flush()?;
    Ok(Ok(f))
}

/// The man page: clap_mangen's sections from the clap definition, plus exit status, files
/// and environment.
fn man_page() -> std::io::Result<Vec<u8>> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone()).section("1").manual("secintake");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    // One page for all commands (clap_mangen's own list points at a page per command).
    out.extend_from_slice(b".SH COMMANDS\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        let args: Vec<String> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_id() != "config")
            .map(|a| match (a.get_long(), a.is_positional()) {
                (Some(l), _) if a.get_action().takes_values() => {
                    format!("[--{l} {}]", a.get_id().as_str().to_uppercase())
                }
                (Some(l), _) => format!("[--{l}]"),
                (None, _) => a.get_id().as_str().to_uppercase(),
            })
            .collect();
        out.extend_from_slice(format!(".SS \"{name} {}\"\n", args.join(" ").replace('-', "\\-")).as_bytes());
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            out.extend_from_slice(format!("{}\n", roff_text(&about.to_string())).as_bytes());
        }
    }
    out.extend_from_slice(
        concat!(
            ".SH \"EXIT STATUS\"\n",
            ".TP\n0\ndone\n",
            ".TP\n1\n\\fBstatus\\fR: unhealthy (a degraded service, mail waiting after a send failure, exits 0)\n",
            ".TP\n2\na refused command or search query\n",
            ".TP\n75\ntemporary failure: mail left queued (\\fBrun \\-\\-once\\fR), a server unreachable, or the daemon already running on the database\n",
            ".TP\n78\nconfig or credential error (also \\fBcheck\\-config \\-\\-strict\\fR with warnings)\n",
            ".SH ENVIRONMENT\n",
            ".TP\nSECINTAKE_CONFIG\nthe config file when \\fB\\-\\-config\\fR is not given\n",
            ".TP\nSECINTAKE__SECTION__KEY\noverrides one config key, e.g. SECINTAKE__IMAP__HOST\n",
            ".TP\nCREDENTIALS_DIRECTORY\nwhere a relative \\fI*_file\\fR secret is read from (systemd LoadCredential=)\n",
            ".SH FILES\n",
            ".TP\n/etc/secintake/secintake.toml\nthe config file\n",
            ".TP\n/var/lib/secintake/secintake.db\nthe database (the default database.url)\n",
            ".TP\n/usr/share/doc/secintake/examples/secintake.toml\na fully commented example config\n",
        )
        .as_bytes(),
    );
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// Plain text as one roff paragraph: backslashes, hyphens and leading dots escaped.
fn roff_text(s: &str) -> String {
    s.lines()
        .map(|l| {
            let l = l.replace('\\', "\\e").replace('-', "\\-");
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Man) {
        use std::io::Write;
        return match man_page().and_then(|page| std::io::stdout().write_all(&page)) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("secintake: error: writing the man page: {e}");
                std::process::ExitCode::from(1)
            }
        };
    }
    match real_main(cli).await {
        Ok(code) => code,
        Err(e) => {
            // One line: the outermost context and the root cause, not the whole chain twice.
            eprintln!("secintake: error: {e:#}");
            let config = e
                .chain()
                .any(|c| c.is::<Misconfigured>() || c.is::<config::ConfigError>());
            std::process::ExitCode::from(if config { EX_CONFIG } else { EX_TEMPFAIL })
        }
    }
}

async fn real_main(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let settings = load(&cli.config, needs_secrets(&cli.command))?;
    secintake::telemetry::init(settings.log.format, &settings.log.level);
    match cli.command {
        // Written in `main`, before any config is read.
        Command::Man => {}
        Command::Run { once } => {
            let db = settings.database_path();
            let store = open_store_with(&settings, true).await?;
            let lock = lock_database(&db)?;
            let _lock = match lock {
                Ok(f) => Some(f),
                Err(pid) if once => {
                    let who = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
                    eprintln!(
                        "note: a daemon is running on this database{who}; this pass runs beside it (that is safe)"
                    );
                    None
                }
                Err(pid) => {
                    let who = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
                    eprintln!(
                        "secintake: error: already running{who} on the database {}",
                        db.display()
                    );
                    return Ok(std::process::ExitCode::from(EX_TEMPFAIL));
                }
            };
            let app = Arc::new(App::new(settings).map_err(misconfigured)?);
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
                if r.outbox.retried > 0 {
                    tracing::warn!(
                        queued = r.outbox.retried,
                        "mail left queued after a send failure; the next pass retries it (exit 75)"
                    );
                    return Ok(std::process::ExitCode::from(EX_TEMPFAIL));
                }
            } else {
                secintake::daemon::run(app, store).await?;
            }
        }
        Command::Migrate => {
            open_store_with(&settings, true).await?;
            println!("database {} is up to date", settings.database_path().display());
        }
        Command::CheckConfig { connect, strict } => {
            let app = App::new(settings).map_err(misconfigured)?;
            app.templates
                .check(&secintake::outbox::samples::all())
                .map_err(misconfigured)?;
            let mut warnings = app.settings.warnings();
            if let Some(p) = &app.pgp {
                warnings.extend(p.keyring.problems.iter().map(|x| format!("pgp.keyring_dir: {x}")));
            }
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            if strict && !warnings.is_empty() {
                eprintln!(
                    "secintake: error: {} warning(s), and --strict treats them as errors",
                    warnings.len()
                );
                return Ok(std::process::ExitCode::from(EX_CONFIG));
            }
            println!("config ok");
            let db = app.settings.database_path();
            println!(
                "database: {} ({}){}",
                db.display(),
                if db.exists() {
                    "exists"
                } else {
                    "does not exist yet: `run` or `migrate` creates it"
                },
                if app.settings.database_path_is_relative() {
                    "; database.url is relative: resolved against the config file's folder"
                } else {
                    ""
                }
            );
            if let Some(p) = &app.pgp {
                println!(
                    "pgp ok: list key {} (from {}), {} keyring key(s), encrypt_replies = {}",
                    p.list_key.fingerprint(),
                    p.secret_key_path.display(),
                    p.keyring.keys.len(),
                    p.encrypt_replies
                );
            }
            if connect {
                let mut ok = true;
                match secintake::intake::Connection::open(&app.settings.imap).await {
                    Ok(c) => {
                        println!(
                            "imap ok: logged in to {}:{} as {}, mailbox {} (UIDVALIDITY {}, IDLE {})",
                            app.settings.imap.host,
                            app.settings.imap.port,
                            app.settings.imap.username,
                            app.settings.imap.mailbox,
                            c.uidvalidity,
                            if c.idle { "yes" } else { "no" }
                        );
                        c.logout().await;
                    }
                    Err(e) => {
                        println!("imap FAILED: {e}");
                        ok = false;
                    }
                }
                match secintake::outbox::sender::Smtp::new(&app.settings.smtp)?.check().await {
                    Ok(()) => println!("smtp ok: {}:{}", app.settings.smtp.host, app.settings.smtp.port),
                    Err(e) => {
                        println!("smtp FAILED: {}", e.text());
                        ok = false;
                    }
                }
                if !ok {
                    return Ok(std::process::ExitCode::from(1));
                }
            }
        }
        Command::Cases { state, all, json } => {
            let store = open_store(&settings).await?;
            if let Some(s) = &state {
                if secintake::case::State::parse(s).is_none() {
                    let names: Vec<&str> = secintake::case::State::ALL.iter().map(|s| s.as_str()).collect();
                    anyhow::bail!("unknown state `{s}` (one of: {})", names.join(", "));
                }
            }
            // The history is there for threading and search, not for the daily list.
            let cases = store.cases(state.as_deref(), all).await?;
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
        Command::Search {
            query,
            json,
            state,
            since,
            limit,
        } => {
            let q = match secintake::search::query::Query::parse(&query) {
                Ok(q) => q,
                Err(e) => {
                    eprintln!("secintake: search: {e}");
                    return Ok(std::process::ExitCode::from(2));
                }
            };
            if let Some(s) = &state {
                if secintake::case::State::parse(s).is_none() {
                    anyhow::bail!("unknown state `{s}`");
                }
            }
            if !settings.search.index {
                eprintln!("secintake: search: the full-text index is off (search.index = false in the config)");
                return Ok(std::process::ExitCode::from(2));
            }
            let store = open_store(&settings).await?;
            let filter = secintake::search::index::Filter {
                state,
                since: since.map(|d| format!("{d}T00:00:00.000Z")),
                limit: limit.clamp(1, 1000),
            };
            let mut conn = store.pool.acquire().await?;
            let hits = secintake::search::index::search(&mut conn, &q, &filter).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&hits)?);
            } else {
                for h in &hits {
                    println!(
                        "{:<15} {:<10} {:<10} {:<28} {}",
                        h.case_id,
                        h.state,
                        h.opened_at.get(..10).unwrap_or(&h.opened_at),
                        trunc(&h.sender, 28),
                        trunc(&h.subject, 60)
                    );
                    println!("    {} {}", h.source.as_str(), h.snippet);
                }
                println!("{} case(s)", hits.len());
            }
        }
        Command::Import { history: true, files } => {
            let store = open_store(&settings).await?;
            let app = App::new(settings)?;
            let out = secintake::intake::history::import(&store, &app, &files).await?;
            for p in &out.unreadable {
                eprintln!("skipped {p}");
            }
            println!(
                "{} imported as history ({} new case(s)), {} skipped as already stored, {} unreadable; nothing was sent",
                out.imported,
                out.new_cases,
                out.duplicates,
                out.unreadable.len()
            );
        }
        Command::Import { history: false, files } => {
            let store = open_store(&settings).await?;
            let app = App::new(settings)?;
            let mut batch = Vec::new();
            for f in &files {
                let raw = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
                batch.push(secintake::intake::prepare::Fetched {
                    uid: 0,
                    size: raw.len() as u64,
                    raw,
                    truncated: false,
                    arrived: None,
                });
            }
            let (o, per) = secintake::intake::ingest::ingest_batch(
                &store,
                &app,
                &secintake::store::intake::Source::import(),
                &batch,
            )
            .await?;
            for (f, m) in files.iter().zip(per.iter()) {
                println!("{}: {} {}", f.display(), m.kind, m.case_id.as_deref().unwrap_or("-"));
            }
            println!(
                "{} stored, {} duplicate(s), {} new case(s); the running daemon sends the mail",
                o.stored,
                o.duplicates,
                o.new_cases.len()
            );
        }
        Command::Deadlines { json } => {
            let store = open_store(&settings).await?;
            let app = App::new(settings)?;
            let d = store.open_deadlines(&app.policy, app.clock.now()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                println!(
                    "{:<15} {:<24} {:<8} {:<25} {:<24} SUBJECT",
                    "CASE", "DEADLINE", "STATUS", "DUE", "COORDINATOR"
                );
                for x in &d {
                    println!(
                        "{:<15} {:<24} {:<8} {:<25} {:<24} {}",
                        x.case_id,
                        x.label,
                        x.status,
                        x.due,
                        x.coordinator.as_deref().unwrap_or("-"),
                        trunc(&x.subject, 50)
                    );
                }
                println!("{} open deadline(s)", d.len());
            }
        }
        Command::PgpKey => {
            let app = App::new(settings)?;
            let Some(p) = &app.pgp else {
                anyhow::bail!("no [pgp] section in the config: there is no list key to print");
            };
            print!("{}", p.list_key.public().armored());
        }
        Command::Report {
            since,
            json,
            charts,
            html,
            with_subjects,
        } => {
            let store = open_store(&settings).await?;
            let app = App::new(settings)?;
            let cases = secintake::report::data::cases(&store).await?;
            let now = app.clock.now();
            let r = secintake::report::response_targets(&cases, &app.policy, now, since);
            let c = secintake::report::Charts::build(&cases, &app.policy, now, since, with_subjects);
            if let Some(path) = &html {
                let page = secintake::report::html::page(&c, &app.policy, with_subjects);
                std::fs::write(path, page).with_context(|| format!("writing {}", path.display()))?;
                eprintln!("report written to {}", path.display());
            }
            if charts {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else if html.is_none() {
                println!(
                    "{:<8} {:<18} {:>6} {:>5} {:>7} {:>10} {:>8}",
                    "MONTH", "TARGET", "CASES", "MET", "SHARE", "MEDIAN_H", "P90_H"
                );
                for x in &r {
                    let f = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into());
                    let share = x
                        .met_share
                        .map(|s| format!("{:.0}%", s * 100.0))
                        .unwrap_or_else(|| "-".into());
                    println!(
                        "{:<8} {:<18} {:>6} {:>5} {:>7} {:>10} {:>8}",
                        x.month,
                        x.target,
                        x.cases,
                        x.met,
                        share,
                        f(x.median_hours),
                        f(x.p90_hours)
                    );
                }
            }
        }
        Command::Digest => {
            let store = open_store(&settings).await?;
            let app = App::new(settings)?;
            secintake::sweeper::digest_now(&store, &app).await?;
            println!("digest queued to {} (the running daemon sends it)", app.notify);
        }
        Command::Vacuum { json } => {
            use secintake::store::vacuum;
            let store = open_store(&settings).await?;
            let v = vacuum::vacuum(&store, &settings.database_path(), None).await?;
            store.pool.close().await;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("database: {}", v.database);
                println!("before:   {} ({} bytes)", vacuum::human(v.before_bytes), v.before_bytes);
                println!("after:    {} ({} bytes)", vacuum::human(v.after_bytes), v.after_bytes);
                println!("freed:    {} ({} bytes)", vacuum::human(v.freed_bytes), v.freed_bytes);
                if !v.wal_truncated {
                    println!(
                        "note:     a reader kept the WAL from being emptied; a later checkpoint gives that space back"
                    );
                }
            }
        }
        Command::Status { json, max_lag, offline } => {
            let store = match open_store(&settings).await {
                Ok(s) => s,
                // A database that does not exist is a config error (78), not a sick service.
                Err(e) if e.is::<Misconfigured>() => return Err(e),
                Err(e) => {
                    println!("health:            UNHEALTHY: database: {e:#}");
                    return Ok(std::process::ExitCode::from(1));
                }
            };
            let app = App::new(settings)?;
            let lag = (!offline).then(|| chrono::Duration::from_std(max_lag).unwrap_or(chrono::Duration::minutes(2)));
            let s = secintake::status::gather(&store, &app, lag).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                let health = match (&s.degraded, s.healthy) {
                    (_, false) => format!("UNHEALTHY: {}", s.problems.join("; ")),
                    (Some(d), true) => format!("degraded: {d}"),
                    (None, true) => "ok".to_string(),
                };
                println!("health:            {health}");
                println!(
                    "last IMAP contact: {} ({})",
                    s.last_imap_contact.as_deref().unwrap_or("never"),
                    s.imap_mode.as_deref().unwrap_or("-")
                );
                if let Some(c) = &s.cursor {
                    println!(
                        "cursor:            {} UIDVALIDITY {} last UID {}",
                        c.mailbox, c.uidvalidity, c.last_uid
                    );
                }
                let oldest = s
                    .oldest_pending_mail
                    .as_deref()
                    .map(|o| format!(" (oldest {o})"))
                    .unwrap_or_default();
                println!(
                    "outbox:            {} waiting{oldest}, {} failed",
                    s.outbox_backlog, s.failed_mail
                );
                if let Some(e) = &s.last_send_error {
                    println!(
                        "last send error:   {e} ({})",
                        s.last_send_error_at.as_deref().unwrap_or("-")
                    );
                }
                if let Some(e) = &s.last_imap_error {
                    println!(
                        "last IMAP error:   {e} ({})",
                        s.last_imap_error_at.as_deref().unwrap_or("-")
                    );
                }
                if let Some(n) = s.mailbox_waiting {
                    let age = s
                        .mailbox_oldest_waiting_secs
                        .map(|a| format!(", oldest {a} s"))
                        .unwrap_or_default();
                    println!("mailbox:           {n} message(s) not yet ingested{age}");
                }
                if let Some(l) = s.intake_lag_seconds {
                    println!("intake lag:        {l} s");
                }
                if let Some(d) = s.max_delay_24h_seconds {
                    println!("longest delay 24h: {d} s (arrival to stored)");
                }
                let c = &s.channels;
                if c.pending + c.failed > 0 {
                    let oldest = c
                        .oldest_pending
                        .as_deref()
                        .map(|o| format!(" (oldest {o})"))
                        .unwrap_or_default();
                    println!("team channels:     {} waiting{oldest}, {} failed", c.pending, c.failed);
                    if let Some(e) = &c.last_error {
                        println!("last channel error: {e}");
                    }
                    for f in &c.recent_failures {
                        println!(
                            "  failed: {} {} to {}: {}",
                            f.failed_at.as_deref().unwrap_or("-"),
                            f.event,
                            f.channel,
                            f.last_error.as_deref().unwrap_or("-")
                        );
                    }
                }
                println!("open cases:        {}", s.open_cases);
                println!("automatic mail without a case (24 h): {}", s.automatic_without_case_24h);
                println!("overdue deadlines: {}", s.overdue_deadlines);
            }
            if !s.healthy {
                return Ok(std::process::ExitCode::from(1));
            }
        }
        Command::Advisory { ids, format, check } => {
            use secintake::advisory::{self, Format};
            let store = open_store(&settings).await?;
            let project = settings.advisory.project();
            let mut cases = Vec::new();
            for id in &ids {
                cases.push(store.advisory_case(id).await?);
            }
            if check {
                let mut incomplete = false;
                for f in Format::ALL {
                    let missing: Vec<String> = cases.iter().flat_map(|c| advisory::missing(f, c, &project)).collect();
                    if missing.is_empty() {
                        println!("{}: complete", f.as_str());
                    } else {
                        incomplete = true;
                        println!("{}: missing", f.as_str());
                        for m in missing {
                            println!("  {m}");
                        }
                    }
                }
                if incomplete {
                    return Ok(std::process::ExitCode::from(2));
                }
            } else {
                let f = format.expect("clap requires --format without --check");
                match advisory::render(f, &cases, &project) {
                    Ok(doc) => print!("{doc}"),
                    Err(missing) => {
                        eprintln!("secintake: the {} document is incomplete:", f.as_str());
                        for m in missing {
                            eprintln!("  {m}");
                        }
                        return Ok(std::process::ExitCode::from(2));
                    }
                }
            }
        }
        Command::Case {
            id,
            json,
            action: Some(CaseAction::Decrypt),
        } => {
            let store = open_store(&settings).await?;
            let app = App::new(settings)?;
            let out = app.decrypt_again(&store, &id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else if out.is_empty() {
                println!("{id}: nothing of it arrived encrypted");
            } else {
                for r in &out {
                    match (&r.reason, &r.body_check) {
                        (Some(why), _) => {
                            println!("{id}: message {} ({}): still undecryptable: {why}", r.message, r.kind)
                        }
                        (None, Some(check)) => println!(
                            "{id}: message {} ({}): decrypted; body check {check}, missing: {}",
                            r.message,
                            r.kind,
                            if r.missing.is_empty() {
                                "-".to_string()
                            } else {
                                r.missing.join(", ")
                            }
                        ),
                        (None, None) => println!("{id}: message {} ({}): decrypted", r.message, r.kind),
                    }
                }
            }
            if out.iter().any(|r| r.reason.is_some()) {
                return Ok(std::process::ExitCode::from(2));
            }
        }
        Command::Case {
            id,
            json,
            action: Some(action),
        } => {
            let store = open_store(&settings).await?;
            let app = App::new(settings)?;
            let line = command_line(&action)?;
            let out = app.run_commands(&store, &id, &cli_actor(), &[line]).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else if out.applied {
                for c in &out.changes {
                    println!("{id}: {c}");
                }
                for m in &out.mails {
                    println!("{id}: queued {m} (the running daemon sends it)");
                }
                println!("{id}: now {}", out.state);
            } else {
                for e in &out.errors {
                    eprintln!("{id}: {e}");
                }
                eprintln!("{id}: nothing changed");
            }
            if !out.applied {
                return Ok(std::process::ExitCode::from(2));
            }
        }
        Command::Case { id, json, action: None } => {
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
                if s.encryption != "none" {
                    println!(
                        "encryption:  {}   signature: {}",
                        s.encryption,
                        s.signature.as_deref().unwrap_or("none")
                    );
                    match store.decrypted_report(&id).await? {
                        Some(mime) => {
                            let m = secintake::message::Incoming::parse(&mime);
                            println!("\nreport (decrypted; never sent in clear):\n{}", m.text.trim_end());
                        }
                        None => println!("\nreport: not decrypted (try `secintake case {id} decrypt`)"),
                    }
                }
                if !s.packages.is_empty() || !s.affected.is_empty() || s.summary.is_some() {
                    println!("advisory:    {}", s.summary.as_deref().unwrap_or("(no summary)"));
                    for a in &s.affected {
                        println!("  affected:  {} {}", a.package, a.range);
                    }
                    for p in &s.patched {
                        println!("  patched:   {} {}", p.package, p.version);
                    }
                    if !s.cwes.is_empty() {
                        println!("  CWE:       {}", s.cwes.join(", "));
                    }
                    if let Some(d) = &s.description {
                        println!("  description: {} characters", d.chars().count());
                    }
                }
                if !s.checklist.is_empty() {
                    println!("\nchecklist (/done STEP):");
                    for i in &s.checklist {
                        match (&i.done_at, &i.by) {
                            (Some(at), Some(by)) => {
                                println!("  [x] {:<22} {} by {by}", i.step, secintake::clock::stamp(*at))
                            }
                            _ => println!("  [ ] {}", i.step),
                        }
                    }
                }
                println!("\ntimeline:");
                for m in &d.messages {
                    // In: who wrote it. Out: who it went to, and whether it was sent.
                    let who = if m.direction == "out" {
                        let to: Vec<String> = serde_json::from_str(m.to.as_deref().unwrap_or("[]")).unwrap_or_default();
                        format!("-> {} ({})", to.join(", "), m.status.as_deref().unwrap_or("-"))
                    } else {
                        m.from.clone().unwrap_or_else(|| "-".into())
                    };
                    println!(
                        "  {} {:<3} {:<18} {} {}",
                        m.at,
                        m.direction,
                        m.kind,
                        who,
                        m.subject.as_deref().unwrap_or("")
                    );
                }
                println!("\nevents:");
                for e in &d.events {
                    println!("  {} {:<22} {}", e.at, e.kind, e.actor);
                }
                if !d.deliveries.is_empty() {
                    println!("\nteam channels:");
                    for c in &d.deliveries {
                        let at = c
                            .delivered_at
                            .as_deref()
                            .or(c.failed_at.as_deref())
                            .unwrap_or(&c.created_at);
                        let why = c.last_error.as_deref().map(|e| format!("  ({e})")).unwrap_or_default();
                        println!(
                            "  {at} {:<20} {:<18} {} after {} attempt(s){why}",
                            c.event, c.channel, c.status, c.attempts
                        );
                    }
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
