#!/usr/bin/env bash
# The chaos soak, about 10 minutes by default (SOAK_SECS): see tests/soak.rs. Its report
# goes into docs/PERFORMANCE.md between the soak markers.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOAK_SECS=${SOAK_SECS:-600}
export CHAVION_TEST_PYTHON=${CHAVION_TEST_PYTHON:-$PWD/tests/peers/.venv/bin/python}
cargo test --locked --test soak -- --ignored --nocapture
python3 bench/put_section.py soak "The chaos soak (\`bench/soak.sh\`)" target/soak-report.md
