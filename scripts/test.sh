#!/usr/bin/env bash
# The whole test suite: formatting, lints, doc tests, every Rust test of the workspace (unit,
# rule, vector-layer, learning and CLI end-to-end) under cargo-nextest, then the Python bindings
# (a venv of their own in .venv, the extension built with maturin, pytest). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# the build without the language-model client (the `llm` feature, on by default)
cargo check -p moralgym --no-default-features
cargo test --workspace --doc
cargo nextest run --workspace --no-fail-fast

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r python/requirements-test.txt
(cd python && VIRTUAL_ENV="$PWD/../.venv" ../.venv/bin/maturin develop --release --quiet)
.venv/bin/python -m pytest -q -rs python/tests
