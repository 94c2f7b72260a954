#!/usr/bin/env bash
# The project's whole test suite, on a fresh machine:
#  1. a virtualenv with the newest azure-functions-durable 1.x: every test, plus the example app;
#  2. a virtualenv with the oldest supported SDK: the protocol and host tests, so a change in
#     what older SDKs send or expect shows up (1.3.0 itself was yanked from PyPI, so 1.3.1);
#  3. where the machine has Python 3.9 (the oldest we support), every test again on it
#     (pip then resolves the newest SDK that still supports 3.9).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
oldest_sdk="1.3.1"

newest="$root/.venv-test"
python3 -m venv "$newest"
"$newest/bin/python" -m pip install -q --upgrade pip >/dev/null
"$newest/bin/python" -m pip install -q -e ".[dev]"
echo "== newest SDK: $("$newest/bin/python" -m pip show azure-functions-durable | grep ^Version)"
"$newest/bin/python" -m mypy   # strict, on the files [tool.mypy] lists
"$newest/bin/python" -m pytest -q -n 2 --timeout=300
for example in examples/*/; do
  # each example is an app of its own, with its own pytest configuration
  (cd "$example" && "$newest/bin/python" -m pytest -q)
done

oldest="$root/.venv-oldest-sdk"
python3 -m venv "$oldest"
"$oldest/bin/python" -m pip install -q --upgrade pip >/dev/null
"$oldest/bin/python" -m pip install -q -e . "azure-functions-durable==$oldest_sdk"
echo "== oldest SDK: $("$oldest/bin/python" -m pip show azure-functions-durable | grep ^Version)"
"$oldest/bin/python" -m pytest -q tests/protocol tests/unit/test_runtime_behaviour.py tests/e2e

# A pyenv shim answers `command -v` without running, so probe by running each candidate.
py39_bin=""
for candidate in python3.9 "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.9*/bin/python3.9; do
  if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 9)' >/dev/null 2>&1; then
    py39_bin="$candidate"
    break
  fi
done
if [ -n "$py39_bin" ]; then
  py39="$root/.venv-py39"
  "$py39_bin" -m venv "$py39"
  "$py39/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$py39/bin/python" -m pip install -q -e ".[dev]"
  echo "== Python 3.9, SDK: $("$py39/bin/python" -m pip show azure-functions-durable | grep ^Version)"
  "$py39/bin/python" -m pytest -q -p no:cacheprovider -n 2 --timeout=300
else
  echo "== Python 3.9 not on this machine: skipping the 3.9 run"
fi
