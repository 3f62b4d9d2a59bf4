#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for FUZZ_SECONDS seconds each (default 60), starting from its
# seed corpus fuzz/corpus/<target>/, and fails if any target crashes (the crashing input is then
# in fuzz/artifacts/<target>/). Installs cargo-fuzz when it is missing.
#
# cargo-fuzz needs nightly compiler flags; the pinned stable toolchain accepts them with
# RUSTC_BOOTSTRAP=1. The code is safe Rust (unsafe_code = "forbid"), so the targets run without
# a sanitizer (faster builds and runs), with debug assertions and overflow checks on.
#
#   scripts/fuzz.sh                   # every target, 60 s each
#   FUZZ_SECONDS=10 scripts/fuzz.sh   # shorter
#   scripts/fuzz.sh cron mysql_dsn    # only these targets
#
# FUZZ_TARGET_DIR (default fuzz/target) is where the instrumented build goes. New interesting
# inputs found during a run go to a scratch directory, not to the committed seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
target_dir="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: installing it"
    cargo install cargo-fuzz --locked
fi

build=(-O -a -s none --codegen-units 16 --target-dir "$target_dir")
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build "${build[@]}"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${targets[@]}"; do
    mkdir -p "$scratch/$t"
    echo "== $t: ${seconds}s"
    if cargo fuzz run "${build[@]}" "$t" "$scratch/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 >"$scratch/$t.log" 2>&1; then
        grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done' "$scratch/$t.log" || true
    else
        tail -40 "$scratch/$t.log"
        echo "!! $t FAILED: the crashing input is in fuzz/artifacts/$t/"
        failed+=("$t")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz targets that crashed: ${failed[*]}"
    exit 1
fi
echo "every fuzz target ran ${seconds}s without a crash: ${targets[*]}"
