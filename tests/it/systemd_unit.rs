//! The systemd units `systemd/secintake.service` and the per-list template
//! `systemd/secintake@.service` (checked as the instance `secintake@example.service`):
//! `systemd-analyze verify` has nothing to say about them, `systemd-analyze security --offline=true` rates its exposure 2.0 or lower, and it
//! keeps the settings the daemon relies on. No running systemd is needed, only the
//! `systemd-analyze` tool (Debian's `systemd` package; `scripts/setup-debian.sh` installs it).
//!
//! `verify` checks that every `ExecStart*=` binary exists and is executable. The unit names the
//! installed path `/usr/local/bin/secintake`, which a build machine does not have, so `verify`
//! runs on a temporary copy whose command paths point at the binary cargo built for this test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const INSTALLED_BINARY: &str = "/usr/local/bin/secintake";
const MAX_EXPOSURE: f64 = 2.0;

/// The units: (file in systemd/, the name it is checked as, the instance's config file).
const UNITS: &[(&str, &str, &str)] = &[
    (
        "secintake.service",
        "secintake.service",
        "/etc/secintake/secintake.toml",
    ),
    (
        "secintake@.service",
        "secintake@example.service",
        "/etc/secintake/%i.toml",
    ),
];

fn unit_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd").join(file)
}

fn unit_text(file: &str) -> String {
    let path = unit_path(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Runs `systemd-analyze ARGS`; a missing tool is a failure, never a skip.
fn analyze(args: &[&str]) -> Output {
    match Command::new("systemd-analyze")
        .args(args)
        .env("SYSTEMD_COLORS", "0")
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "systemd-analyze is not installed; install it with `apt-get install -y systemd` \
             (or run scripts/setup-debian.sh), then run the tests again"
        ),
        Err(e) => panic!("cannot run systemd-analyze: {e}"),
    }
}

fn printed(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `path` as one word of a unit's command line: quoted, with `%` specifiers escaped.
fn unit_word(path: &str) -> String {
    let escaped = path.replace('\\', "\\\\").replace('"', "\\\"").replace('%', "%%");
    format!("\"{escaped}\"")
}

#[test]
fn verify_is_clean() {
    for (file, name, _) in UNITS {
        verify_one(file, name);
    }
}

fn verify_one(file: &str, name: &str) {
    let text = unit_text(file);
    // RestartPreventExitStatus= holds for the main process only: a config check in
    // ExecStartPre= would turn a broken config into a restart loop.
    assert!(
        !text.contains("\nExecStartPre="),
        "no ExecStartPre=: `run` checks the config and exits 78 itself"
    );
    assert!(
        text.contains(&format!("\nExecStart={INSTALLED_BINARY} ")),
        "the unit's ExecStart= no longer starts with {INSTALLED_BINARY}; update this test"
    );
    let built = env!("CARGO_BIN_EXE_secintake");
    let copy = text.replace(INSTALLED_BINARY, &unit_word(built));
    let dir = tempfile::tempdir().expect("tempdir");
    let copy_path = dir.path().join(name);
    std::fs::write(&copy_path, copy).expect("write the unit copy");

    let out = analyze(&[
        "verify",
        "--man=no",
        "--no-pager",
        copy_path.to_str().expect("utf-8 temp path"),
    ]);
    let all = printed(&out);
    let about_unit: Vec<&str> = all.lines().filter(|l| l.contains("secintake")).collect();
    let all = format!("{name}: {all}");
    assert!(
        about_unit.is_empty(),
        "systemd-analyze verify complains about the unit (paths {built} stand for {INSTALLED_BINARY}):\n{}",
        about_unit.join("\n")
    );
    assert!(
        out.status.success(),
        "systemd-analyze verify failed ({}):\n{all}",
        out.status
    );
    if !all.trim().is_empty() {
        eprintln!("systemd-analyze verify printed (not about {name}):\n{all}");
    }
}

#[test]
fn exposure_is_at_most_2() {
    for (file, name, _) in UNITS {
        exposure_one(file, name);
    }
}

fn exposure_one(file: &str, name: &str) {
    // A template is rated as one of its instances.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, unit_text(file)).expect("write the unit copy");
    let out = analyze(&[
        "security",
        "--offline=true",
        "--no-pager",
        path.to_str().expect("utf-8 path"),
    ]);
    let all = printed(&out);
    assert!(
        out.status.success(),
        "systemd-analyze security failed ({}):\n{all}",
        out.status
    );
    // "→ Overall exposure level for secintake.service: 1.1 OK 🙂"
    let line = all
        .lines()
        .find(|l| l.contains(&format!("Overall exposure level for {name}")))
        .unwrap_or_else(|| panic!("no \"Overall exposure level\" line in:\n{all}"));
    let exposure: f64 = line
        .rsplit(": ")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the exposure number in {line:?}"));
    assert!(
        exposure <= MAX_EXPOSURE,
        "{name}: exposure {exposure} is above {MAX_EXPOSURE:.1}; the checks that still count:\n{}",
        all.lines()
            .filter(|l| l.starts_with('✗'))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Hardening must not be bought by dropping what the daemon and the operator rely on.
#[test]
fn unit_keeps_what_the_daemon_needs() {
    for (file, _, config) in UNITS {
        keeps_one(file, config);
    }
}

fn keeps_one(file: &str, config: &str) {
    let text = unit_text(file);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let (state, secrets) = if file.contains('@') {
        ("StateDirectory=secintake/%i", "/etc/secintake/%i")
    } else {
        ("StateDirectory=secintake", "/etc/secintake")
    };
    let owned = [
        state.to_string(),
        format!("LoadCredential=imap-password:{secrets}/imap-password"),
        format!("LoadCredential=smtp-password:{secrets}/smtp-password"),
        format!("ExecStart=/usr/local/bin/secintake --config {config} run"),
    ];
    let required = [
        "Type=notify",
        "Restart=on-failure",
        "DynamicUser=yes",
        "ConfigurationDirectory=secintake",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "MemoryDenyWriteExecute=yes",
        // A config or credential error (exit 78) is not restarted in a loop; and a start limit.
        "RestartPreventExitStatus=78",
        "StartLimitIntervalSec=10min",
        "StartLimitBurst=5",
    ];
    let mut missing: Vec<&str> = required.iter().copied().filter(|r| !lines.contains(r)).collect();
    missing.extend(owned.iter().map(String::as_str).filter(|r| !lines.contains(r)));
    assert!(missing.is_empty(), "{file} lost: {missing:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("WatchdogSec=")),
        "the unit lost WatchdogSec= (the daemon sends WATCHDOG=1)"
    );
    // The daemon needs the network: its mail servers can be anywhere.
    assert!(
        !lines.contains(&"PrivateNetwork=yes"),
        "PrivateNetwork=yes would cut the daemon off from IMAP and SMTP"
    );
}
