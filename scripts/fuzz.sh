#!/usr/bin/env bash
# Fuzzes the library's untrusted-input entry points with cargo-fuzz (libFuzzer).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS defaults to 60 per target; TARGETs default to all of them (see fuzz/fuzz_targets/):
#   message_analysis  raw mail -> Incoming::parse, Analyzer::analyze, author, thread_ids, own_text
#   commands          text -> command::parse_all -> lifecycle::apply (invariants checked)
#   auth_results      text lines -> authentication::results::{parse, judge} (invariants checked)
#   arc_headers       raw mail -> the ARC header reader (fields, instance_of, without_instances_after,
#                     parse_arc_results, vouches_for; invariants checked)
#   pgp_intake        junk OpenPGP data (armored, binary, truncated) as mail -> pgp::open, pgp::learn
#
# Targets run one after the other (one fuzzing process at a time). For each target this
# first replays fuzz/regressions/<target>-*, then fuzzes for SECONDS starting from the
# committed seeds (fuzz/seeds/<target>, read only) and the working corpus (fuzz/corpus/<target>,
# gitignored, grows from run to run), then prints the executions, exec/s, final coverage and
# whether it crashed (with the artifact path under fuzz/artifacts/<target>/).
# Exit status: 0 when nothing crashed, 1 when a target crashed or a regression still fails.
#
# Toolchain: only stable rustc is installed. cargo-fuzz needs nightly-only flags
# (-Zsanitizer=address, -Cpasses=sancov-module, ...), which stable rustc accepts when
# RUSTC_BOOTSTRAP=1 is set; this script sets it. AddressSanitizer (the default) links and
# works; cargo-fuzz also sets ASAN_OPTIONS=detect_odr_violation=0, which is needed because
# libsqlite3-sys compiles the SQLite amalgamation with -fsanitize=address too and ASan
# reports a false ODR violation on its static tables. Running a fuzz binary by hand needs
# that option as well: ASAN_OPTIONS=detect_odr_violation=0 fuzz/target/x86_64-unknown-linux-gnu/release/<target> FILE
#
# Environment:
#   FUZZ_SANITIZER=none          build without ASan (about twice the exec/s)
#   FUZZ_TIMEOUT=30              seconds one input may take before it counts as a hang
#   FUZZ_ARGS="-max_len=65536"   extra libFuzzer options
#
# Reproduce / minimise a crash:
#   cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run  <target> artifacts/<target>/crash-...
#   cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz tmin <target> artifacts/<target>/crash-...
# Then save the minimised input as fuzz/regressions/<target>-<short-name>.
set -uo pipefail
cd "$(dirname "$0")/../fuzz"

ALL_TARGETS=(message_analysis commands auth_results arc_headers pgp_intake)
SECONDS_PER_TARGET=60
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
    SECONDS_PER_TARGET=$1
    shift
fi
if [[ $# -gt 0 ]]; then
    TARGETS=("$@")
else
    TARGETS=("${ALL_TARGETS[@]}")
fi
for t in "${TARGETS[@]}"; do
    if [[ ! -f fuzz_targets/$t.rs ]]; then
        echo "fuzz.sh: unknown target '$t' (known: ${ALL_TARGETS[*]})" >&2
        exit 2
    fi
done

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: cargo-fuzz is missing; install it with: cargo install cargo-fuzz" >&2
    exit 2
fi

export RUSTC_BOOTSTRAP=1
SAN=(-s "${FUZZ_SANITIZER:-address}")
TIMEOUT=${FUZZ_TIMEOUT:-30}
read -r -a EXTRA <<<"${FUZZ_ARGS:-}"
LOGS=target/fuzz-logs
mkdir -p "$LOGS"

failed=0
summary=()
for t in "${TARGETS[@]}"; do
    echo "== $t: building" >&2
    if ! cargo fuzz build "${SAN[@]}" "$t"; then
        echo "fuzz.sh: build of $t failed" >&2
        exit 2
    fi
    mkdir -p "corpus/$t" "artifacts/$t"

    # Regressions: every saved crash input must now pass.
    regress="none"
    shopt -s nullglob
    reg_files=(regressions/"$t"-*)
    shopt -u nullglob
    if [[ ${#reg_files[@]} -gt 0 ]]; then
        regress="${#reg_files[@]} pass"
        for f in "${reg_files[@]}"; do
            if ! cargo fuzz run "${SAN[@]}" "$t" "$f" >"$LOGS/$t.regression.log" 2>&1; then
                regress="FAIL (still crashes: fuzz/$f)"
                failed=1
                break
            fi
        done
    fi

    echo "== $t: fuzzing for ${SECONDS_PER_TARGET}s (log: fuzz/$LOGS/$t.log)" >&2
    log="$LOGS/$t.log"
    cargo fuzz run "${SAN[@]}" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout="$TIMEOUT" -print_final_stats=1 \
        "${EXTRA[@]}" >"$log" 2>&1
    rc=$?

    execs=$(grep -a 'stat::number_of_executed_units:' "$log" | tail -1 | awk '{print $2}')
    rate=$(grep -a 'stat::average_exec_per_sec:' "$log" | tail -1 | awk '{print $2}')
    cov=$(grep -aoE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    artifact=$(grep -aoE 'Test unit written to [^ ]+' "$log" | tail -1 | sed 's/Test unit written to //')
    if [[ $rc -ne 0 || -n $artifact ]]; then
        failed=1
        why=$(grep -aE "panicked at|ERROR: (libFuzzer|AddressSanitizer)" "$log" | head -1)
        crash="CRASH ${artifact:-(no artifact; exit $rc)}${why:+ -- $why}"
    else
        crash="no crash"
    fi
    line="$t: executions=${execs:-?} exec/s=${rate:-?} ${cov:-cov: ?} regressions=$regress; $crash"
    echo "$line"
    summary+=("$line")
done

if [[ ${#TARGETS[@]} -gt 1 ]]; then
    echo
    echo "== summary (${SECONDS_PER_TARGET}s per target)"
    printf '%s\n' "${summary[@]}"
fi
exit "$failed"
