#!/usr/bin/env bash
# One entry point for people and CI.  Each command sets itself up: it creates
# .venv with the Python found on PATH (3.11+) and installs kaohe_rules with its
# development extras, then runs.
#
#   bash dev.sh demo    # the Karamay 2013 policy on its sample units, explained (then its ledger form)
#   bash dev.sh test    # the whole test suite (ruff, mypy --strict, pytest)
#   bash dev.sh bench   # benchmarks (on demand, not in CI)
#   bash dev.sh fuzz    # long property-based runs, then the robustness fuzz (on demand, not in CI)
#   bash dev.sh fuzz-robustness [--rows N --mutations M --seed S]
#                       # hostile fact rows, unit files, policy mutations (issue #9); prints the figures
#   bash dev.sh mutate  # every mutant of the bundled policies against their test files (on demand; CI runs a sample)
#   bash dev.sh docs    # regenerate docs/codes.md (the diagnostic codes, examples and fixes), then build the
#                       # docs site into site/ (MkDocs Material, warnings are errors)
#   bash dev.sh serve-load [--seconds 30 --clients 50]
#                       # 50 clients against kaohe serve for 30 s; prints requests/s, p50/p99, errors (issue #15)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
VENV=".venv"

setup() {
  local extras="${1:-dev}"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "kaohe_rules needs Python 3.11 or newer")'
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.kaohe-installed"  # one stamp per set of extras: bench's does not reinstall test's
  [ "$extras" = dev ] || stamp="$stamp-${extras//,/-}"
  local want
  want="$(cat pyproject.toml | "$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
    "$VENV/bin/python" -m pip install --quiet -e ".[$extras]"
    echo "$want" > "$stamp"
  fi
}

cmd="${1:-help}"
shift || true
case "$cmd" in
  demo)
    setup
    policy=policies/karamay-2013.kh
    units=policies/karamay-2013/units.json
    "$VENV/bin/kaohe" check "$policy"
    echo
    "$VENV/bin/kaohe" eval "$policy" "$units"
    echo
    "$VENV/bin/kaohe" explain "$policy" "$units" --short "$@"
    echo
    echo "== the same scheme with its accidents recorded once, in one 事故台账, and charged by attribution rules"
    "$VENV/bin/kaohe" explain policies/karamay-2013-ledger.kh policies/karamay-2013/units-with-ledger.json \
      --id karamay-district --short "$@"
    ;;
  test)
    setup
    "$VENV/bin/ruff" check kaohe_rules tests benchmarks
    "$VENV/bin/mypy" --strict kaohe_rules
    # One pytest worker per core (pytest-xdist), a test file per worker so that a module's fixtures (a loaded
    # policy, a server process) are built once; KAOHE_TEST_WORKERS=0 runs in one process.
    "$VENV/bin/python" -m pytest -n "${KAOHE_TEST_WORKERS:-auto}" --dist loadfile "$@"
    ;;
  bench)
    setup "dev,bench"  # zen-engine, the Rust rules engine the columnar suite measures against (issue #13)
    "$VENV/bin/python" benchmarks/run.py "$@"
    ;;
  fuzz)
    setup
    KAOHE_HYPOTHESIS_PROFILE=long "$VENV/bin/python" -m pytest tests -k "property or law or fuzz" "$@"
    "$VENV/bin/python" -m kaohe_rules.testing.fuzz --rows 100000 --mutations 10000
    ;;
  fuzz-robustness)
    setup
    "$VENV/bin/python" -m kaohe_rules.testing.fuzz "$@"
    ;;
  mutate)
    setup
    "$VENV/bin/kaohe" test policies/ --mutate "$@"
    ;;
  serve-load)
    setup
    "$VENV/bin/python" benchmarks/serve_load.py "$@"
    ;;
  docs)
    setup
    "$VENV/bin/python" -m kaohe_rules.testing.catalogue --update docs/codes.md
    NO_MKDOCS_2_WARNING=1 "$VENV/bin/python" -m mkdocs build --strict "$@"
    ;;
  *)
    sed -n '2,17p' "$0"
    ;;
esac
