#!/usr/bin/env bash
# ansible-test sanity needs the collection at .../ansible_collections/netwire/fabric:
# copy the tracked tree there (no venv, lab state or caches) and run it.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.build/sanity/ansible_collections/netwire/fabric
rm -rf .build/sanity; mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$dest/"
cd "$dest"
exec "$OLDPWD/.venv/bin/ansible-test" sanity --venv --python 3.11 --color no \
    --exclude tests/lab/ --exclude tests/lifecycle/ ${SANITY_ARGS:-}
