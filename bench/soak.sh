#!/usr/bin/env bash
# The chaos soak, about 10 minutes by default (SOAK_SECS): see tests/soak.rs. Its report
# goes into docs/PERFORMANCE.md between the soak markers.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOAK_SECS=${SOAK_SECS:-600}
export CHAVION_TEST_PYTHON=${CHAVION_TEST_PYTHON:-$PWD/tests/peers/.venv/bin/python}
cargo test --locked --test soak -- --ignored --nocapture
python3 - <<'PY'
import re
p = "docs/PERFORMANCE.md"
s = open(p).read()
report = "<!-- soak:begin -->\n" + open("target/soak-report.md").read() + "<!-- soak:end -->"
if "<!-- soak:begin -->" in s:
    s = re.sub(r"<!-- soak:begin -->.*?<!-- soak:end -->", lambda m: report, s, flags=re.S)
else:
    s += "\n## The chaos soak (`bench/soak.sh`)\n\n" + report + "\n"
open(p, "w").write(s)
PY
echo "bench/soak.sh: report written to docs/PERFORMANCE.md"
