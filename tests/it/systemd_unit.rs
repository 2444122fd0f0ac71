//! The systemd unit `systemd/secintake.service`: `systemd-analyze verify` has nothing to say
//! about it, `systemd-analyze security --offline=true` rates its exposure 2.0 or lower, and it
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

fn unit_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/secintake.service")
}

fn unit_text() -> String {
    let path = unit_path();
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
    let text = unit_text();
    for key in ["ExecStartPre=", "ExecStart="] {
        assert!(
            text.contains(&format!("\n{key}{INSTALLED_BINARY} ")),
            "the unit's {key} no longer starts with {INSTALLED_BINARY}; update this test"
        );
    }
    let built = env!("CARGO_BIN_EXE_secintake");
    let copy = text.replace(INSTALLED_BINARY, &unit_word(built));
    let dir = tempfile::tempdir().expect("tempdir");
    let copy_path = dir.path().join("secintake.service");
    std::fs::write(&copy_path, copy).expect("write the unit copy");

    let out = analyze(&[
        "verify",
        "--man=no",
        "--no-pager",
        copy_path.to_str().expect("utf-8 temp path"),
    ]);
    let all = printed(&out);
    let about_unit: Vec<&str> = all.lines().filter(|l| l.contains("secintake")).collect();
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
        eprintln!("systemd-analyze verify printed (not about secintake.service):\n{all}");
    }
}

#[test]
fn exposure_is_at_most_2() {
    let path = unit_path();
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
        .find(|l| l.contains("Overall exposure level for secintake.service"))
        .unwrap_or_else(|| panic!("no \"Overall exposure level\" line in:\n{all}"));
    let exposure: f64 = line
        .rsplit(": ")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the exposure number in {line:?}"));
    assert!(
        exposure <= MAX_EXPOSURE,
        "exposure {exposure} is above {MAX_EXPOSURE:.1}; the checks that still count:\n{}",
        all.lines()
            .filter(|l| l.starts_with('✗'))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Hardening must not be bought by dropping what the daemon and the operator rely on.
#[test]
fn unit_keeps_what_the_daemon_needs() {
    let text = unit_text();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let required = [
        "Type=notify",
        "Restart=on-failure",
        "DynamicUser=yes",
        "StateDirectory=secintake",
        "ConfigurationDirectory=secintake",
        "LoadCredential=imap-password:/etc/secintake/imap-password",
        "LoadCredential=smtp-password:/etc/secintake/smtp-password",
        "ExecStartPre=/usr/local/bin/secintake --config /etc/secintake/secintake.toml check-config",
        "ExecStart=/usr/local/bin/secintake --config /etc/secintake/secintake.toml run",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "MemoryDenyWriteExecute=yes",
    ];
    let missing: Vec<&str> = required.iter().copied().filter(|r| !lines.contains(r)).collect();
    assert!(missing.is_empty(), "the unit lost: {missing:?}");
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
