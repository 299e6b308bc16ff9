#!/usr/bin/env bash
# The whole test suite: formatting, lints, doc tests, every Rust test of the workspace (unit,
# rule, vector-layer, learning and CLI end-to-end) under cargo-nextest, the golden runs on
# emulated CPUs without AVX-512 (qemu-user, installed here if missing), then the Python bindings
# (a venv of their own in .venv, the extension built with maturin, pytest). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# the build without the language-model client (the `llm` feature, on by default)
cargo check -p moralgym --no-default-features
cargo test --workspace --doc
cargo nextest run --workspace --no-fail-fast
# The golden runs again on emulated CPUs without AVX-512, where gemm picks other kernels (SSE only
# on Nehalem, AVX2 and FMA on Haswell): they must still match within their stated tolerance.
# The whole workspace is selected and filtered to that binary, so the build above is reused:
# `-p` alone unifies features differently and builds every dependency again (twice the disk).
if [ "$(uname -m)" = x86_64 ]; then
    if ! command -v qemu-x86_64 > /dev/null; then
        apt-get install -y -q qemu-user > /dev/null || { apt-get update -q && apt-get install -y -q qemu-user; } > /dev/null
    fi
    for cpu in Nehalem Haswell-noTSX; do
        CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="qemu-x86_64 -cpu $cpu" \
            cargo nextest run --workspace -E 'binary_id(moralgym-training::golden_runs)'
    done
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r python/requirements-test.txt
(cd python && VIRTUAL_ENV="$PWD/../.venv" ../.venv/bin/maturin develop --release --quiet)
.venv/bin/python -m pytest -q -rs python/tests
