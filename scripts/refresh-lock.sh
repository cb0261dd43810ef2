#!/usr/bin/env bash
# Refresh constraints/cpu.txt, the tested set that `bash scripts/setup.sh` installs: make a new
# environment with the newest releases pyproject.toml's ranges allow (plus any pins given, e.g.
# "transformers==5.23.*" to lock the low end of a range), run the whole test suite in it, and write
# its exact versions to the lock only if every test passed.
#   bash scripts/refresh-lock.sh [REQUIREMENT ...]
set -euo pipefail
cd "$(dirname "$0")/.."

venv=$(mktemp -d "${TMPDIR:-/tmp}/evalkit-lock.XXXXXX")
trap 'rm -rf "$venv"' EXIT
bash scripts/setup.sh --test --latest --venv "$venv"
if [ $# -gt 0 ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" -c "$venv/evalkit-constraints.txt"
fi
"$venv/bin/python" -m pytest -q
{
  echo "# The tested set: every package the test suite passed with, at its exact version, on $(uname -s) $(uname -m),"
  echo "# Python $("$venv/bin/python" -c 'import platform; print(platform.python_version())'), CPU (torch's CPU build)." \
       "\`bash scripts/setup.sh\` installs with it; \`--latest\` does not."
  echo "# Written by \`bash scripts/refresh-lock.sh${*:+ $*}\` on $(date +%Y-%m-%d), after the whole suite passed with it."
  "$venv/bin/python" -m pip freeze --exclude-editable --disable-pip-version-check | grep -v '^-e '
} > constraints/cpu.txt
echo "constraints/cpu.txt written ($(grep -c '^[^#]' constraints/cpu.txt) packages)"
