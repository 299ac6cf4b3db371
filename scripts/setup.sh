#!/usr/bin/env bash
# Install everything netwire.fabric's demo and tests need on a Debian 12 machine.
# Safe to run again: each step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "setup: must run as root (it installs packages and the lab creates namespaces)" >&2
    exit 1
fi

# 1. Debian packages
mapfile -t pkgs < <(grep -v '^\s*#' requirements/apt.txt | grep -v '^\s*$')
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # Package scripts must not start services on their own: the lab runs its own
    # sshd and OVS daemons inside each simulated host.
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created_policy=1
    fi
    apt-get install -y -q --no-install-recommends "${missing[@]}"
    [ "$created_policy" = 1 ] && rm -f "$policy"
    # etcd-server enables Debian's system etcd (localhost:2379) for the next boot (the policy above kept it
    # from starting now): the collection runs its own members, so a system etcd that setup installed is
    # disabled, for systemd and for init scripts (one the machine had before is left alone)
    if printf '%s\n' "${missing[@]}" | grep -qx etcd-server; then
        deb-systemd-helper disable etcd.service >/dev/null 2>&1 || true
        update-rc.d etcd disable >/dev/null 2>&1 || true
    fi
    if printf '%s\n' "${missing[@]}" | grep -qx haproxy; then
        deb-systemd-helper disable haproxy.service >/dev/null 2>&1 || true
        update-rc.d haproxy disable >/dev/null 2>&1 || true
    fi
fi

# 2. The virtualenv (Debian's own Python 3.11), pinned requirements
PY=/usr/bin/python3
stamp=.venv/.requirements.sha256
want=$(cat requirements/control.txt requirements/hosts.txt 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: building the virtualenv .venv"
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/pip install -q --disable-pip-version-check -r requirements/control.txt
    echo "$want" > "$stamp"
fi

# 3. Make the checkout importable as ansible_collections.netwire.fabric
mkdir -p .build/collections/ansible_collections/netwire
ln -sfn ../../../.. .build/collections/ansible_collections/netwire/fabric

# 4. The machine's Docker Engine (started if not running) and the lab image
.venv/bin/python -m tests.lab prepare

echo "setup: ready (venv: $REPO/.venv)"
