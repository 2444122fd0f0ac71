#!/usr/bin/env bash
# A real local mail stack on 127.0.0.1 for tests and the demo:
#   Dovecot 2.3 (IMAP, IMAPS, LMTP) with its own config, and an SMTP front
#   (scripts/smtp_front.py, aiosmtpd) that delivers into Dovecot over LMTP.
#
# Usage:
#   scripts/mailstack.sh start DIR        start everything; prints KEY=VALUE lines (also in DIR/env)
#   scripts/mailstack.sh stop DIR         stop everything started for DIR (idempotent)
#   scripts/mailstack.sh stop-imap DIR    stop only Dovecot      (mail is kept)
#   scripts/mailstack.sh start-imap DIR   restart only Dovecot   (same ports)
#   scripts/mailstack.sh stop-smtp DIR    stop only the SMTP front
#   scripts/mailstack.sh start-smtp DIR   restart only the SMTP front (same ports)
#   scripts/mailstack.sh status DIR       exit 0 if all parts run, 1 otherwise
#
# Users (password "secret", login = local part): see USERS below.  Mail for an
# unknown local part goes to "catchall".
#
# Options (environment variables read by start; a restart with start-imap keeps them):
#   MAILSTACK_PASSWORD=PW                  every user's password instead of "secret"
#                                          (no ':' or whitespace)
#   MAILSTACK_IDLE_NOTIFY_INTERVAL="1 secs"  Dovecot's imap_idle_notify_interval: how
#                                          often an idling client gets "* OK Still here"
#                                          (Dovecot's default is 2 mins)
#
# Layout:
#   DIR/env            KEY=VALUE lines printed by start (sourceable)
#   DIR/state          internal (runtime dir, mail root)
#   DIR/tls/           ca.pem (CA_FILE), ca.key, server.pem, server.key
#   DIR/sent/          raw copy of every message the SMTP front accepted
#   DIR/logs/          dovecot.log, dovecot.stderr, smtp.log
#   DIR/dovecot.conf   generated Dovecot config
#   DIR/mail/          Maildirs (a symlink into the runtime dir if Dovecot's
#                      users cannot enter DIR, e.g. DIR inside a 0700 tempdir)
#   runtime dir        /tmp/mailstack.XXXXXX: Dovecot base_dir (sockets, kept
#                      short for the 108-byte limit), passwd-file; removed by stop.
#
# Requires root (Dovecot drops to uid "nobody" for mail).  Debian packages:
#   dovecot-core dovecot-imapd dovecot-lmtpd python3-aiosmtpd openssl

# shellcheck disable=SC1090 # sources DIR/env and DIR/state, written by this script
set -euo pipefail

USERS=(security triage alice bob carol mallory reporter reporter2 catchall)
CATCHALL=catchall
PASSWORD=${MAILSTACK_PASSWORD:-secret}
[[ $PASSWORD =~ ^[^:[:space:]]+$ ]] || { echo "mailstack: MAILSTACK_PASSWORD must not contain ':' or whitespace" >&2; exit 2; }
IDLE_NOTIFY_INTERVAL=""
PYTHON=/usr/bin/python3
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FRONT="$SCRIPT_DIR/smtp_front.py"
READY_TIMEOUT=${MAILSTACK_READY_TIMEOUT:-15} # seconds

die() { echo "mailstack: $*" >&2; exit 1; }
note() { echo "mailstack: $*" >&2; }

usage() {
  sed -n '/^# Usage:/,/^#$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------- checks ----
check_deps() {
  local missing=()
  command -v dovecot >/dev/null 2>&1 || [[ -x /usr/sbin/dovecot ]] || missing+=(dovecot-core)
  [[ -x /usr/lib/dovecot/imap ]] || missing+=(dovecot-imapd)
  [[ -x /usr/lib/dovecot/lmtp ]] || missing+=(dovecot-lmtpd)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  if [[ ! -x $PYTHON ]]; then
    missing+=(python3 python3-aiosmtpd)
  elif ! "$PYTHON" -I -c 'import aiosmtpd' >/dev/null 2>&1; then
    missing+=(python3-aiosmtpd)
  fi
  if ((${#missing[@]})); then
    die "missing programs; run: apt-get install -y ${missing[*]}"
  fi
  [[ -r $FRONT ]] || die "missing $FRONT"
  [[ $(id -u) == 0 ]] || die "must run as root (Dovecot switches to uid nobody for mail)"
  if ! getent passwd dovecot >/dev/null || ! getent passwd dovenull >/dev/null; then
    die "users dovecot/dovenull missing; reinstall: apt-get install -y --reinstall dovecot-core"
  fi
}

DOVECOT_BIN=/usr/sbin/dovecot

# --------------------------------------------------------------- helpers ----
# Close every inherited fd above 2 (lock files, pipes of the caller, ...).
close_fds() {
  local f n
  for f in /proc/"$BASHPID"/fd/*; do
    n=${f##*/}
    if [[ $n =~ ^[0-9]+$ ]] && ((n > 2)); then
      eval "exec $n>&-" 2>/dev/null || true
    fi
  done
}

# proc_stat PID -> sets STAT_REST to the fields after "comm)" of /proc/PID/stat:
# 1 state, 2 ppid, 3 pgrp, 4 session  (no fork: called in polling loops)
proc_stat() {
  local s
  { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
  STAT_REST=${s##*) }
}

# alive PID: running and not a zombie
alive() {
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  proc_stat "$1" || return 1
  [[ ${STAT_REST%% *} != [ZX] ]]
}

# cmdline_has PID STRING
cmdline_has() {
  local c
  c=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ $c == *"$2"* ]]
}

# session_members SID -> live pids whose session id is SID
session_members() {
  local sid=$1 p pid st sess
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    proc_stat "$pid" || continue
    read -r st _ _ sess _ <<<"$STAT_REST" || true
    if [[ $sess == "$sid" && $st != [ZX] ]]; then
      echo "$pid"
    fi
  done
}

# wait_gone SECONDS PID... -> 0 when all are gone (or zombies)
wait_gone() {
  local limit=$1 p any i
  shift
  for ((i = 0; i < limit * 50; i++)); do
    any=0
    for p in "$@"; do
      if alive "$p"; then any=1; break; fi
    done
    ((any)) || return 0
    sleep 0.02
  done
  return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_ports() { # prints 4 distinct free ports
  "$PYTHON" -I - <<'EOF'
import socket
socks = []
for _ in range(4):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# --------------------------------------------------------------- layout -----
set_dir() {
  [[ -n ${1:-} ]] || usage
  local d=$1
  if [[ $d != /* ]]; then d="$PWD/$d"; fi
  [[ $d =~ ^[A-Za-z0-9._/+@:,=~-]+$ ]] ||
    die "DIR '$1' contains characters this script does not support (whitespace, quotes, ...)"
  if [[ ${MODE_CREATE:-0} == 1 ]]; then mkdir -p "$d"; fi
  if [[ -d $d ]]; then d=$(cd "$d" && pwd -P); fi
  DIR=$d
  ENV_FILE=$DIR/env
  STATE_FILE=$DIR/state
  LOG_DIR=$DIR/logs
  PID_DIR=$DIR/pids
  TLS_DIR=$DIR/tls
  SENT_DIR=$DIR/sent
  CONF=$DIR/dovecot.conf
}

load_env() {
  [[ -r $ENV_FILE && -r $STATE_FILE ]] || die "no stack in $DIR (run: $0 start $DIR)"
  source "$ENV_FILE"
  source "$STATE_FILE"
}

# Can uid nobody (Dovecot's mail processes) enter $1?  (all components o+x)
traversable_by_others() {
  local p=$1 perm
  while :; do
    perm=$(stat -L -c %a "$p") || return 1
    (((8#$perm & 1) != 0)) || return 1
    [[ $p == / ]] && return 0
    p=$(dirname "$p")
  done
}

make_tls() {
  [[ -s $TLS_DIR/ca.pem && -s $TLS_DIR/server.pem && -s $TLS_DIR/server.key ]] && return 0
  mkdir -p "$TLS_DIR" "$LOG_DIR"
  local t=$TLS_DIR log=$LOG_DIR/openssl.log
  {
    openssl ecparam -name prime256v1 -genkey -noout -out "$t/ca.key"
    openssl req -x509 -new -key "$t/ca.key" -sha256 -days 3650 \
      -subj "/O=mailstack/CN=mailstack test CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -addext "subjectKeyIdentifier=hash" \
      -out "$t/ca.pem"
    openssl ecparam -name prime256v1 -genkey -noout -out "$t/server.key.ec"
    openssl pkcs8 -topk8 -nocrypt -in "$t/server.key.ec" -out "$t/server.key"
    rm -f "$t/server.key.ec"
    openssl req -new -key "$t/server.key" -subj "/O=mailstack/CN=localhost" -out "$t/server.csr"
    cat >"$t/server.ext" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
    openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" \
      -CAcreateserial -sha256 -days 825 -extfile "$t/server.ext" -out "$t/server.pem"
    rm -f "$t/server.csr" "$t/ca.srl"
  } >"$log" 2>&1 || { cat "$log" >&2; die "creating TLS certificates failed"; }
  chmod 0644 "$t/ca.pem" "$t/server.pem"
  chmod 0600 "$t/ca.key" "$t/server.key"
}

# Runtime dir (short path, enterable by dovecot/dovenull/nobody), mail root,
# passwd-file and Maildirs.  Idempotent.
prepare_runtime() {
  mkdir -p "$LOG_DIR" "$PID_DIR" "$SENT_DIR"
  RUN_DIR=${RUN_DIR:-}
  MAIL_ROOT=${MAIL_ROOT:-}
  if [[ -r $STATE_FILE ]]; then
      source "$STATE_FILE"
  fi
  if [[ -n ${MAILSTACK_IDLE_NOTIFY_INTERVAL:-} ]]; then
    [[ $MAILSTACK_IDLE_NOTIFY_INTERVAL =~ ^[0-9]+\ ?(ms|msecs|s|secs|min|mins)?$ ]] ||
      die "MAILSTACK_IDLE_NOTIFY_INTERVAL '$MAILSTACK_IDLE_NOTIFY_INTERVAL' is not a Dovecot interval (e.g. \"1 secs\")"
    IDLE_NOTIFY_INTERVAL=$MAILSTACK_IDLE_NOTIFY_INTERVAL
  fi
  if [[ -z $RUN_DIR ]]; then
    RUN_DIR=$(mktemp -d /tmp/mailstack.XXXXXX)
  fi
  mkdir -p "$RUN_DIR"
  chmod 0755 "$RUN_DIR"
  if [[ -z $MAIL_ROOT ]]; then
    if traversable_by_others "$DIR"; then
      MAIL_ROOT=$DIR/mail
    else
      MAIL_ROOT=$RUN_DIR/mail
      ln -sfn "$MAIL_ROOT" "$DIR/mail"
    fi
  fi
  printf 'RUN_DIR=%s\nMAIL_ROOT=%s\n' "$RUN_DIR" "$MAIL_ROOT" >"$STATE_FILE"
  if [[ -n ${IDLE_NOTIFY_INTERVAL:-} ]]; then
    printf 'IDLE_NOTIFY_INTERVAL=%q\n' "$IDLE_NOTIFY_INTERVAL" >>"$STATE_FILE"
  fi

  local uid gid u
  uid=$(id -u nobody)
  gid=$(id -g nobody)
  mkdir -p "$MAIL_ROOT" "$RUN_DIR/run" "$RUN_DIR/state"
  chmod 0755 "$MAIL_ROOT"
  : >"$RUN_DIR/users.tmp"
  for u in "${USERS[@]}"; do
    if [[ ! -d $MAIL_ROOT/$u/Maildir/cur ]]; then
      mkdir -p "$MAIL_ROOT/$u/Maildir/cur" "$MAIL_ROOT/$u/Maildir/new" "$MAIL_ROOT/$u/Maildir/tmp"
      chown -R "$uid:$gid" "$MAIL_ROOT/$u"
      chmod -R u+rwX,go-rwx "$MAIL_ROOT/$u"
    fi
    printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$u" "$PASSWORD" "$uid" "$gid" "$MAIL_ROOT/$u" >>"$RUN_DIR/users.tmp"
  done
  chmod 0644 "$RUN_DIR/users.tmp"
  mv -f "$RUN_DIR/users.tmp" "$RUN_DIR/users"
  LMTP_SOCKET=$RUN_DIR/run/lmtp
}

write_env() {
  local tmp=$ENV_FILE.tmp
  {
    echo "MAILSTACK_DIR=$DIR"
    echo "IMAP_PORT=$IMAP_PORT"
    echo "IMAPS_PORT=$IMAPS_PORT"
    echo "SMTP_PORT=$SMTP_PORT"
    echo "SMTPS_PORT=$SMTPS_PORT"
    echo "LMTP_SOCKET=$LMTP_SOCKET"
    echo "CA_FILE=$TLS_DIR/ca.pem"
    echo "PASSWORD=$PASSWORD"
    echo "SENT_DIR=$SENT_DIR"
  } >"$tmp"
  mv -f "$tmp" "$ENV_FILE"
}

write_dovecot_conf() {
  local dh=""
  [[ -r /usr/share/dovecot/dh.pem ]] && dh="ssl_dh = </usr/share/dovecot/dh.pem"
  local idle_notify=""
  [[ -n ${IDLE_NOTIFY_INTERVAL:-} ]] && idle_notify="  imap_idle_notify_interval = $IDLE_NOTIFY_INTERVAL"
  cat >"$CONF.tmp" <<EOF
# Generated by scripts/mailstack.sh for $DIR -- do not edit.
protocols = imap lmtp
listen = 127.0.0.1
base_dir = $RUN_DIR/run
state_dir = $RUN_DIR/state
instance_name = mailstack-${RUN_DIR##*.}
log_path = $LOG_DIR/dovecot.log
info_log_path = $LOG_DIR/dovecot.log
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
first_valid_gid = 1
login_greeting = mailstack IMAP ready.
shutdown_clients = yes

disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Ln
auth_failure_delay = 0
auth_verbose = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN $RUN_DIR/users
}
userdb {
  driver = passwd-file
  args = $RUN_DIR/users
}

mail_location = maildir:~/Maildir:LAYOUT=fs
mail_fsync = never
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
  }
  mailbox Junk {
    special_use = \\Junk
  }
  mailbox Trash {
    special_use = \\Trash
  }
  mailbox Sent {
    special_use = \\Sent
  }
}

ssl = yes
ssl_cert = <$TLS_DIR/server.pem
ssl_key = <$TLS_DIR/server.key
$dh
ssl_min_protocol = TLSv1.2

protocol imap {
  mail_max_userip_connections = 200
$idle_notify
}
protocol lmtp {
  postmaster_address = postmaster@example.test
}

service imap-login {
  chroot =
  service_count = 0
  process_min_avail = 1
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  chroot =
}
service submission-login {
  chroot =
}
service imap-urlauth-login {
  chroot =
}
service anvil {
  chroot =
}
service ipc {
  chroot =
}
service old-stats {
  chroot =
}
service aggregator {
  chroot =
}
service director {
  chroot =
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF
  mv -f "$CONF.tmp" "$CONF"
}

# ----------------------------------------------------------------- imap -----
dovecot_pid() { # prints the pid of the running Dovecot master of this stack
  local pid=""
  [[ -r $PID_DIR/dovecot.pid ]] && pid=$(<"$PID_DIR/dovecot.pid")
  if [[ -z $pid && -n ${RUN_DIR:-} && -r $RUN_DIR/run/master.pid ]]; then
    pid=$(<"$RUN_DIR/run/master.pid")
  fi
  if [[ -n $pid ]] && alive "$pid" && cmdline_has "$pid" "$CONF"; then
    echo "$pid"
    return 0
  fi
  return 1
}

imap_running() { dovecot_pid >/dev/null; }

log_tail() {
  local f
  for f in "$LOG_DIR/dovecot.stderr" "$LOG_DIR/dovecot.log"; do
    if [[ -s $f ]]; then
      echo "---- tail of $f ----" >&2
      tail -n 25 "$f" >&2
    fi
  done
}

# start_imap_proc -> 0 ok, 1 failure, 3 port in use
start_imap_proc() {
  if imap_running; then return 0; fi
  rm -f "$PID_DIR/dovecot.pid" "$RUN_DIR/run/master.pid"
  : >"$LOG_DIR/dovecot.stderr"
  local logsize=0
  [[ -f $LOG_DIR/dovecot.log ]] && logsize=$(stat -c %s "$LOG_DIR/dovecot.log")
  # Dovecot daemonizes itself (fork + setsid); the foreground process exits.
  if ! (
    close_fds
    cd /
    exec "$DOVECOT_BIN" -c "$CONF"
  ) </dev/null >>"$LOG_DIR/dovecot.stderr" 2>&1; then
    if grep -q "Address already in use" "$LOG_DIR/dovecot.stderr" 2>/dev/null; then return 3; fi
    note "dovecot failed to start"
    log_tail
    return 1
  fi
  local i pid=""
  for ((i = 0; i < READY_TIMEOUT * 50; i++)); do
    if [[ -z $pid && -s $RUN_DIR/run/master.pid ]]; then
      pid=$(<"$RUN_DIR/run/master.pid")
      echo "$pid" >"$PID_DIR/dovecot.pid"
    fi
    if [[ -n $pid ]] && ! alive "$pid"; then break; fi
    if [[ -n $pid && -S $LMTP_SOCKET ]] && port_open "$IMAP_PORT" && port_open "$IMAPS_PORT"; then
      return 0
    fi
    if [[ -z $pid ]] && ((i > 100)); then break; fi
    sleep 0.02
  done
  if tail -c +"$((logsize + 1))" "$LOG_DIR/dovecot.log" 2>/dev/null | grep -q "Address already in use" ||
    grep -q "Address already in use" "$LOG_DIR/dovecot.stderr"; then
    stop_imap_proc
    return 3
  fi
  note "dovecot did not become ready (IMAP port $IMAP_PORT, IMAPS port $IMAPS_PORT, LMTP $LMTP_SOCKET)"
  log_tail
  stop_imap_proc
  return 1
}

stop_imap_proc() {
  local pid members
  if ! pid=$(dovecot_pid); then
    rm -f "$PID_DIR/dovecot.pid"
    return 0
  fi
  # Signal the master and all its children at once: the master alone waits
  # about a second for its children before it exits.  Dovecot setsid()s, so
  # its session id is the master's pid.
  members=$(session_members "$pid")
  # shellcheck disable=SC2086
  kill -TERM "$pid" $members 2>/dev/null || true
  # shellcheck disable=SC2086
  if ! wait_gone 5 "$pid" $members; then
    note "dovecot (pid $pid) did not stop on SIGTERM; killing"
  fi
  # Anything left (or forked meanwhile) in Dovecot's session gets SIGKILL.
  members=$(session_members "$pid")
  if [[ -n $members ]]; then
    # shellcheck disable=SC2086
    kill -KILL $members 2>/dev/null || true
    # shellcheck disable=SC2086
    wait_gone 2 $members || note "some Dovecot processes did not exit: $members"
  fi
  rm -f "$PID_DIR/dovecot.pid"
}

# ----------------------------------------------------------------- smtp -----
front_pid() {
  local pid=""
  [[ -r $PID_DIR/smtp.pid ]] && pid=$(<"$PID_DIR/smtp.pid")
  if [[ -n $pid ]] && alive "$pid" && cmdline_has "$pid" "--stack $DIR --host"; then
    echo "$pid"
    return 0
  fi
  return 1
}

smtp_running() { front_pid >/dev/null; }

# start_smtp_proc -> 0 ok, 1 failure, 3 port in use
start_smtp_proc() {
  if smtp_running; then return 0; fi
  rm -f "$PID_DIR/smtp.pid"
  local logsize=0
  [[ -f $LOG_DIR/smtp.log ]] && logsize=$(stat -c %s "$LOG_DIR/smtp.log")
  local tlsargs=()
  if [[ -n ${SMTPS_PORT:-} ]]; then tlsargs=(--tls-port "$SMTPS_PORT"); fi
  (
    close_fds
    cd /
    exec "$PYTHON" -I -u "$FRONT" --stack "$DIR" --host 127.0.0.1 --port "$SMTP_PORT" "${tlsargs[@]}" \
      --cert "$TLS_DIR/server.pem" --key "$TLS_DIR/server.key" \
      --lmtp "$LMTP_SOCKET" --sent-dir "$SENT_DIR" \
      --users "$(
        IFS=,
        echo "${USERS[*]}"
      )" --catchall "$CATCHALL" --password "$PASSWORD" \
      --pidfile "$PID_DIR/smtp.pid"
  ) </dev/null >>"$LOG_DIR/smtp.log" 2>&1 &
  local child=$! i
  for ((i = 0; i < READY_TIMEOUT * 50; i++)); do
    if ! alive "$child"; then break; fi
    if [[ -s $PID_DIR/smtp.pid ]] && port_open "$SMTP_PORT" &&
      { [[ -z ${SMTPS_PORT:-} ]] || port_open "$SMTPS_PORT"; }; then
      return 0
    fi
    sleep 0.02
  done
  wait "$child" 2>/dev/null || true
  if tail -c +"$((logsize + 1))" "$LOG_DIR/smtp.log" | grep -q "BIND FAILED"; then
    return 3
  fi
  note "SMTP front did not become ready on port $SMTP_PORT"
  echo "---- tail of $LOG_DIR/smtp.log ----" >&2
  tail -n 25 "$LOG_DIR/smtp.log" >&2 || true
  kill -KILL "$child" 2>/dev/null || true
  return 1
}

stop_smtp_proc() {
  local pid
  if ! pid=$(front_pid); then
    rm -f "$PID_DIR/smtp.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone 5 "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone 2 "$pid" || note "SMTP front (pid $pid) did not exit"
  fi
  rm -f "$PID_DIR/smtp.pid"
}

# ------------------------------------------------------------- commands -----
cmd_start() {
  MODE_CREATE=1 set_dir "${1:-}"
  check_deps
  if [[ -r $ENV_FILE && -r $STATE_FILE ]]; then
    load_env
    if imap_running || smtp_running; then
      die "a stack is already running in $DIR (run: $0 stop $DIR)"
    fi
  fi
  make_tls
  prepare_runtime
  local attempt rc ports
  for attempt in 1 2 3 4 5; do
    ports=$(pick_ports)
    read -r IMAP_PORT IMAPS_PORT SMTP_PORT SMTPS_PORT <<<"$ports"
    write_env
    write_dovecot_conf
    rc=0
    start_imap_proc || rc=$?
    if ((rc == 0)); then
      start_smtp_proc || rc=$?
      if ((rc != 0)); then stop_imap_proc; fi
    fi
    if ((rc == 0)); then
      cat "$ENV_FILE"
      return 0
    fi
    if ((rc != 3)); then
      cleanup_failed_start
      die "start failed (logs in $LOG_DIR)"
    fi
    note "port collision, retrying with other ports (attempt $attempt)"
  done
  cleanup_failed_start
  die "could not find free ports"
}

cleanup_failed_start() {
  stop_smtp_proc
  stop_imap_proc
  remove_runtime
}

remove_runtime() {
  if [[ -n ${RUN_DIR:-} && $RUN_DIR == /tmp/mailstack.* && -d $RUN_DIR ]]; then
    rm -rf "$RUN_DIR"
  fi
  if [[ -L $DIR/mail ]]; then rm -f "$DIR/mail"; fi
  # The runtime dir (and with it any mail kept there) is gone; forget it.
  rm -f "$STATE_FILE"
}

cmd_stop() {
  set_dir "${1:-}"
  [[ -d $DIR ]] || return 0
  [[ -r $ENV_FILE ]] && source "$ENV_FILE"
  [[ -r $STATE_FILE ]] && source "$STATE_FILE"
  RUN_DIR=${RUN_DIR:-}
  stop_smtp_proc &
  local bg=$!
  stop_imap_proc
  wait "$bg" || true
  remove_runtime
  return 0
}

cmd_start_imap() {
  set_dir "${1:-}"
  load_env
  check_deps
  prepare_runtime
  write_dovecot_conf
  local rc=0
  start_imap_proc || rc=$?
  ((rc == 0)) || die "starting Dovecot failed$( ((rc == 3)) && echo ": port $IMAP_PORT or $IMAPS_PORT is in use")"
}

cmd_stop_imap() {
  set_dir "${1:-}"
  [[ -r $ENV_FILE && -r $STATE_FILE ]] || return 0
  load_env
  stop_imap_proc
}

cmd_start_smtp() {
  set_dir "${1:-}"
  load_env
  check_deps
  local rc=0
  start_smtp_proc || rc=$?
  ((rc == 0)) || die "starting the SMTP front failed$( ((rc == 3)) && echo ": port $SMTP_PORT or $SMTPS_PORT is in use")"
}

cmd_stop_smtp() {
  set_dir "${1:-}"
  [[ -r $ENV_FILE ]] || return 0
  source "$ENV_FILE"
  stop_smtp_proc
}

cmd_status() {
  set_dir "${1:-}"
  local ok=0 pid
  if [[ -r $ENV_FILE && -r $STATE_FILE ]]; then
    load_env
  else
    echo "imap: stopped"
    echo "smtp: stopped"
    return 1
  fi
  if pid=$(dovecot_pid); then
    echo "imap: running (pid $pid, IMAP $IMAP_PORT, IMAPS $IMAPS_PORT, LMTP $LMTP_SOCKET)"
  else
    echo "imap: stopped"
    ok=1
  fi
  if pid=$(front_pid); then
    echo "smtp: running (pid $pid, SMTP $SMTP_PORT, SMTPS $SMTPS_PORT)"
  else
    echo "smtp: stopped"
    ok=1
  fi
  return $ok
}

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  start-imap) cmd_start_imap "$@" ;;
  stop-imap) cmd_stop_imap "$@" ;;
  start-smtp) cmd_start_smtp "$@" ;;
  stop-smtp) cmd_stop_smtp "$@" ;;
  status) cmd_status "$@" ;;
  *) usage ;;
  esac
}

main "$@"
