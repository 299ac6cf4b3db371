#!/usr/bin/env bash
# molecule test of the lab scenario (molecule/default), from the collection root.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
exec molecule test --scenario-name default
