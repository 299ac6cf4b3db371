#!/usr/bin/env bash
# The built collection holds the collection and nothing of the working tree's state.
set -euo pipefail
tarball=$1
bad=$(tar -tzf "$tarball" | grep -E '(^|/)(\.venv|\.lab[^/]*|\.build|\.git|__pycache__|\.pytest_cache|\.hypothesis)(/|$)' || true)
if [ -n "$bad" ]; then
    echo "build: $tarball contains files it must not:"; echo "$bad" | head -20; exit 1
fi
for f in MANIFEST.json FILES.json README.md meta/runtime.yml; do
    tar -tzf "$tarball" | grep -qx "$f" || { echo "build: $tarball lacks $f"; exit 1; }
done
echo "build: $tarball ok ($(tar -tzf "$tarball" | wc -l) entries)"
