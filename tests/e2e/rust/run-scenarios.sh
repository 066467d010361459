#!/usr/bin/env bash
# Runs the shared e2e scenarios from Rust (the tokenkeep-e2e binary).
set -euo pipefail
cd "$(dirname "$0")/../../.."
cargo run --quiet -p tokenkeep-e2e
