#!/usr/bin/env bash
# The fuzz targets of tests/fuzz (cargo-fuzz, libFuzzer), on the stable toolchain a fresh machine has:
# RUSTC_BOOTSTRAP=1 lets stable take the nightly-only flags cargo-fuzz passes, in a target directory of its own
# (target-fuzz/, or FUZZ_TARGET_DIR) so the coverage flags never invalidate the normal build.
#   scripts/fuzz.sh smoke   each target for FUZZ_SECONDS (default 50) s: the CI step (`make fuzz-smoke`)
#   scripts/fuzz.sh long    each target for FUZZ_RUNS (default 10,000,000) executions (`make fuzz-long`)
# FUZZ_TARGETS picks targets (default: all four). cargo-fuzz is installed into .tools/ (or FUZZ_TOOLS; pinned, from
# crates.io) unless already there at that version. Corpora grow in $FUZZ_TARGET_DIR/corpus/<target> (the committed seeds
# are tests/fuzz/seeds/<target>); a crash leaves its input in $FUZZ_TARGET_DIR/artifacts/<target>/ and fails.
# Sanitizer none: the project's code is safe Rust (unsafe_code = "deny"), what a target finds is a panic, an
# assertion or an overflow (debug assertions and overflow checks are on), and AddressSanitizer would halve the
# executions per second.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:?usage: scripts/fuzz.sh smoke|long}
CARGO_FUZZ_VERSION=0.13.2
TOOLS=${FUZZ_TOOLS:-$PWD/.tools}
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target-fuzz}
export RUSTC_BOOTSTRAP=1
export PATH=$TOOLS/bin:$PATH
targets=${FUZZ_TARGETS:-signature http_event notification plan}
case $mode in
  smoke) limit=(-max_total_time="${FUZZ_SECONDS:-50}") ;;
  long) limit=(-runs="${FUZZ_RUNS:-10000000}") ;;
  *) echo "usage: scripts/fuzz.sh smoke|long" >&2; exit 2 ;;
esac

if [[ "$("$TOOLS/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
  echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION into .tools"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --root "$TOOLS" --quiet
fi

fuzz=(cargo fuzz)
echo "== building the fuzz targets ($CARGO_TARGET_DIR)"
"${fuzz[@]}" build --fuzz-dir tests/fuzz --sanitizer none

summary=()
for target in $targets; do
  corpus=$CARGO_TARGET_DIR/corpus/$target
  artifacts=$CARGO_TARGET_DIR/artifacts/$target
  log=$CARGO_TARGET_DIR/$target-$mode.log
  mkdir -p "$corpus" "$artifacts"
  echo "== fuzzing $target (${limit[*]})"
  start=$SECONDS
  if ! "${fuzz[@]}" run --fuzz-dir tests/fuzz --sanitizer none "$target" "$corpus" "tests/fuzz/seeds/$target" -- \
      "${limit[@]}" -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $target failed: input in $artifacts/, log $log" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  line="$target: $runs executions in $((SECONDS - start)) s ($rate exec/s), no crash"
  echo "$line"
  summary+=("$line")
done
echo "== fuzz $mode"
printf '%s\n' "${summary[@]}"
