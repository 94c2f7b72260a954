#!/usr/bin/env bash
# The project's whole test suite, on a fresh machine:
#  1. a virtualenv with the newest azure-functions-durable 1.x: every test, plus the example app;
#  2. a virtualenv with the oldest supported SDK: the protocol and host tests, so a change in
#     what older SDKs send or expect shows up (1.3.0 itself was yanked from PyPI, so 1.3.1).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
oldest_sdk="1.3.1"

newest="$root/.venv-test"
python3 -m venv "$newest"
"$newest/bin/python" -m pip install -q --upgrade pip >/dev/null
"$newest/bin/python" -m pip install -q -e ".[dev]"
echo "== newest SDK: $("$newest/bin/python" -m pip show azure-functions-durable | grep ^Version)"
"$newest/bin/python" -m pytest -q
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
