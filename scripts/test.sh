#!/usr/bin/env bash
# The one test command (README "Run every test"; CI's .ci/run calls exactly this):
# installs missing test servers, then checks formatting, lints and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
