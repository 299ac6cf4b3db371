# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small adapter over nftables' JSON API.

Two calls only: one bulk read (``nft -j list ruleset``) and one atomic batch
(``nft -j -f -``; with ``check=True`` the kernel validates it without
committing, ``nft -c``). The ``nft`` binary is preferred; when it is missing
and the ``nftables`` Python binding (libnftables) is importable, the binding
is used instead. Everything runs in the caller's network namespace.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess

from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError, MissingDependency

try:
    from nftables import Nftables  # libnftables binding (Debian: python3-nftables)
    HAS_NFT_BINDING = True
except ImportError:  # pragma: no cover - depends on the host
    Nftables = None
    HAS_NFT_BINDING = False

_SEARCH_PATH = ("/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin")


def _subprocess_runner(args, data=None):
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(data.encode("utf-8") if data is not None else None)
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def find_nft():
    for directory in list(_SEARCH_PATH) + os.environ.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(directory, "nft")
        if directory and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


class NftClient(object):
    """``runner(args, data) -> (rc, stdout, stderr)``; pass ``module.run_command`` glue from a module.

    ``backend``: ``auto`` (the command, else the binding), ``cli`` or ``binding``.
    """

    def __init__(self, runner=None, nft_path=None, backend="auto"):
        self.runner = runner or _subprocess_runner
        self.nft_path = None if backend == "binding" else (nft_path or find_nft())
        self._binding = None
        if not self.nft_path:
            if backend == "cli" or not HAS_NFT_BINDING:
                raise MissingDependency(
                    "Failed to find nftables: neither the 'nft' command nor the 'nftables' Python binding "
                    "is available (install the nftables package)")
            self._binding = Nftables()
            self._binding.set_json_output(True)
            self._binding.set_handle_output(False)

    def list_ruleset(self):
        """The whole ruleset as parsed JSON (read-only)."""
        if self._binding is not None:
            rc, out, err = self._binding.cmd("list ruleset")
        else:
            rc, out, err = self.runner([self.nft_path, "-j", "list", "ruleset"], None)
        if rc != 0:
            raise BackendError("Failed to read nftables ruleset: %s" % (err or out).strip())
        try:
            return json.loads(out) if out.strip() else {"nftables": []}
        except ValueError as exc:
            raise BackendError("Failed to read nftables ruleset: nft printed invalid JSON (%s)" % exc)

    def apply(self, batch, check=False):
        """Run one JSON batch atomically; ``check`` only validates it in the kernel."""
        if not batch.get("nftables"):
            return
        if self._binding is not None:
            self._binding.set_dry_run(bool(check))
            try:
                rc, out, err = self._binding.json_cmd(batch)
            finally:
                self._binding.set_dry_run(False)
        else:
            args = [self.nft_path, "-j"] + (["-c"] if check else []) + ["-f", "-"]
            rc, out, err = self.runner(args, json.dumps(batch))
        if rc != 0:
            raise BackendError("Failed to %s nftables transaction: %s"
                               % ("validate" if check else "apply", (err or out or "rc=%s" % rc).strip()))
