#!/usr/bin/env bash
# The whole test suite: formatting, lints, doc tests, then every other test of the workspace
# (unit, rule, vector-layer and CLI end-to-end) under cargo-nextest. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --doc
cargo nextest run --workspace --no-fail-fast
