#!/usr/bin/env bash
# Set-up and daily developer commands. Needs only Python 3.11+.
#   ./dev.sh demo     create .venv, install, build a demo workbook with sample data (demo/followup-demo.xlsm)
#   ./dev.sh test     create .venv, install with test extras, run the test suite
#   ./dev.sh bench    run the benchmarks (prints tables, writes bench/results-*.json)
#   ./dev.sh build    rebuild workbook/followup.xlsm from the sources
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

venv() {
  if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
}

case "${1:-}" in
  demo)  venv; .venv/bin/followup demo "${@:2}" ;;
  test)  venv; .venv/bin/python -m pytest "${@:2}" ;;
  bench) venv; .venv/bin/python -m bench "${@:2}" ;;
  build) venv; .venv/bin/followup build-workbook "${@:2}" ;;
  *) sed -n '2,7p' "$0"; exit 2 ;;
esac
