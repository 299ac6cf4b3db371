#!/usr/bin/env bash
# ansible-test sanity needs the collection at .../ansible_collections/netwire/fabric:
# copy the tracked tree there (no venv, lab state or caches) and run it.
set -euo pipefail
cd "$(dirname "$0")/.."
# Outside the checkout: inside it, git would report the copy as ignored and ansible-test would skip it.
base=${SANITY_DIR:-/var/tmp/netwire-fabric-sanity}
dest=$base/ansible_collections/netwire/fabric
rm -rf "$base"; mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$dest/"
repo=$(pwd)

# ansible-test's --venv mode downloads a pip bootstrap from outside PyPI, which is
# not reachable here: keep a virtualenv of its own with ansible-core and the
# exact sanity requirements ansible-test pins (they clash with .venv's tools).
# It is built once per set of requirements into the user's cache (a clean clone of the
# project, as CI runs, finds it there) and linked as .build/sanity-venv.
svenv=$repo/.build/sanity-venv
core=$(.venv/bin/python -c "import ansible; print(ansible.__version__)")
reqdir=$(.venv/bin/python -c "import ansible_test, os; print(os.path.join(os.path.dirname(ansible_test.__file__), '_data', 'requirements'))")
want="$core $(cat "$reqdir"/sanity.*.txt requirements/hosts.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$svenv/.stamp" 2>/dev/null)" != "$want" ]; then
    cache=${NETWIRE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netwire}/sanity-venv-$(echo "$want" | sha256sum | cut -c1-12)
    mkdir -p "$(dirname "$cache")" "$repo/.build"
    (
        flock 9   # two checkouts may ask at once
        if [ "$(cat "$cache/.stamp" 2>/dev/null)" != "$want" ]; then
            echo "sanity: building $cache"
            rm -rf "$cache"
            /usr/bin/python3 -m venv "$cache"
            "$cache/bin/pip" install -q --disable-pip-version-check "ansible-core==$core"
            for f in "$reqdir"/sanity.*.txt; do
                "$cache/bin/pip" install -q --disable-pip-version-check -r "$f"
            done
            # the import sanity test runs the modules' imports: give it the host libraries
            "$cache/bin/pip" install -q --disable-pip-version-check -r requirements/hosts.txt
            echo "$want" > "$cache/.stamp"
        fi
    ) 9>"$cache.lock"
    rm -rf "$svenv"
    ln -s "$cache" "$svenv"
fi
# ansible-test bootstraps pip in each sanity venv with a script it downloads from
# outside PyPI. Stand in for it: Python's own ensurepip, then pip from PyPI.
pipver=$("$svenv/bin/python" -c "
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version='3.11'))['pip'])")
bootstrap=~/.ansible/test/cache/get_pip_${pipver//./_}.py
if ! grep -q netwire-fabric "$bootstrap" 2>/dev/null; then
    mkdir -p "$(dirname "$bootstrap")"
    cat > "$bootstrap" <<'PY'
# netwire-fabric: stand-in for ansible-test's get-pip bootstrap (no network but PyPI here).
import ensurepip
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
PY
fi

cd "$dest"
# SANITY_ARGS: extra ansible-test arguments, e.g. "--test pep8 --test pylint"
read -r -a extra <<<"${SANITY_ARGS:-}"
exec "$svenv/bin/ansible-test" sanity --python 3.11 --color no "${extra[@]}"
