#!/usr/bin/env bash
# ansible-lint over the whole collection, production profile (see .ansible-lint).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/ansible-lint --profile production --offline
