#!/usr/bin/env sh
# Refresh the test lock (requirements/test.txt) to the newest releases that fit pyproject.toml, for every
# platform and Python nodeswap supports, with hashes. Needs uv (in the dev extra). Commit the result; CI checks it.
set -eu
cd "$(dirname "$0")/.."
uv pip compile pyproject.toml --extra cpu --extra dev --extra ray --extra train \
  --universal --python-version 3.10 --generate-hashes --upgrade \
  --constraint requirements/lock-caps.txt \
  --custom-compile-command "sh requirements/refresh.sh" \
  --output-file requirements/test.txt
