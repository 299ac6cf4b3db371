"""The user's path: the collection from its tarball, run from a directory that is not the checkout.

Built with ``ansible-galaxy collection build``, installed with ``ansible-galaxy
collection install`` into an empty collections path, then ``netwire.fabric.site``,
``netwire.fabric.verify`` (the spec audit shipped inside the collection) and
``netwire.fabric.down`` run by their collection names, with no ansible.cfg of
ours, from a fresh working directory. The install must come out of it exactly
as it went in (``ansible-galaxy collection verify`` and a file-by-file digest),
and the same runs must pass with the install mounted read-only.
"""

import hashlib
import os
import shutil
import subprocess

import pytest
import yaml

from tests.lab.core import LAB_ENV, REPO, ensure_container, sh

pytestmark = pytest.mark.lab

CONTAINERS = ("web1", "web2", "app1", "app2", "db1")


def digest(tree):
    """{relative path: sha256 or link target} of every file, link and directory under ``tree``."""
    out = {}
    for base, dirs, files in os.walk(tree):
        for name in dirs + files:
            path = os.path.join(base, name)
            rel = os.path.relpath(path, tree)
            if os.path.islink(path):
                out[rel] = "-> " + os.readlink(path)
            elif os.path.isdir(path):
                out[rel] = "dir"
            else:
                with open(path, "rb") as f:
                    out[rel] = hashlib.sha256(f.read()).hexdigest()
    return out


class UserPath:
    def __init__(self, lab, root):
        self.lab = lab
        self.root = root
        self.collections = root / "collections"
        self.install = self.collections / "ansible_collections" / "netwire" / "fabric"
        self.work = root / "work"          # the user's directory: no ansible.cfg, no checkout
        self.model = self.work / "model"
        self.docker = dict((c, "lab%d-user-%s" % (lab.instance, c)) for c in CONTAINERS)

    def env(self):
        env = dict(LAB_ENV)
        env.update({"PATH": "%s:%s" % (REPO / ".venv" / "bin", LAB_ENV["PATH"]),
                    "ANSIBLE_COLLECTIONS_PATH": str(self.collections), "ANSIBLE_NOCOLOR": "1",
                    "ANSIBLE_DEPRECATION_WARNINGS": "0", "HOME": str(self.root / "home")})
        return env

    def run(self, argv, read_only=False, timeout=600, no_bytecode=False):
        if read_only:
            # The install read-only for this run alone: a private mount namespace, so nothing
            # outside the command sees the read-only mount (root ignores permission bits).
            argv = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                    'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && '
                    'touch "$0/.netwire-rw-probe" 2>/dev/null && exit 97; exec "$@"',
                    str(self.collections)] + argv
        env = self.env()
        if no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=str(self.work), check=False)
        assert proc.returncode != 97, "the install was not read-only in the read-only run"
        return proc

    def playbook(self, name, read_only=False):
        # Python writes a bytecode cache next to any controller plugin Ansible imports (the action
        # plugin netwire_validate), as for every collection, and `ansible-galaxy collection verify`
        # reports that cache as modified content: docs/audit.md says to run with
        # PYTHONDONTWRITEBYTECODE=1 (or from a read-only install) to keep an install pristine.
        proc = self.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(self.lab.inventory),
                         "-i", str(self.model), "netwire.fabric.%s" % name], read_only=read_only,
                        no_bytecode=not read_only)
        assert proc.returncode == 0, "netwire.fabric.%s failed (read-only: %s):\n%s\n%s" % (
            name, read_only, proc.stdout[-5000:], proc.stderr[-2000:])
        return proc


@pytest.fixture(scope="module")
def user(lab, tmp_path_factory):
    root = tmp_path_factory.mktemp("user-path")
    u = UserPath(lab, root)
    (root / "home").mkdir()
    u.work.mkdir()
    dist = root / "dist"
    built = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-galaxy"), "collection", "build", "--output-path",
                            str(dist), str(REPO)], capture_output=True, text=True, timeout=300, env=u.env(),
                           cwd=str(u.work), check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    tarballs = sorted(dist.glob("netwire-fabric-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    tarball = tarballs[0]
    installed = u.run([str(REPO / ".venv" / "bin" / "ansible-galaxy"), "collection", "install", "--offline",
                       "-p", str(u.collections), str(tarball)])
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (u.install / "MANIFEST.json").exists()
    # The example model ships inside the collection: the user starts from that copy.
    shutil.copytree(str(u.install / "examples" / "model"), str(u.model))
    all_vars = u.model / "group_vars" / "all.yml"
    model = yaml.safe_load(all_vars.read_text())
    for name in CONTAINERS:
        model["netwire_containers"][name]["ref"] = u.docker[name]
        ensure_container(u.docker[name], lab.instance)
    all_vars.write_text(yaml.safe_dump(model, sort_keys=False))
    u.before = digest(u.install)
    yield u
    u.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(lab.inventory), "-i", str(u.model),
           "netwire.fabric.down"])
    for name in CONTAINERS:
        sh(["docker", "rm", "-f", u.docker[name]], check=False)


def test_site_verify_and_down_from_the_installed_collection(user):
    site = user.playbook("site")
    assert "changed=" in site.stdout
    audit = user.playbook("verify")
    assert "The hosts match the model" in audit.stdout, audit.stdout[-3000:]
    again = user.playbook("site", read_only=True)
    assert all(" changed=0 " in line for line in again.stdout.splitlines() if " ok=" in line), again.stdout[-3000:]
    audit = user.playbook("verify", read_only=True)
    assert "The hosts match the model" in audit.stdout, audit.stdout[-3000:]
    user.playbook("down", read_only=True)
    # down removed what site built: the same audit now fails
    failed = user.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(user.lab.inventory), "-i",
                       str(user.model), "netwire.fabric.verify"], read_only=True)
    assert failed.returncode != 0 and "The audit failed" in failed.stdout, failed.stdout[-3000:]


def test_the_install_is_unmodified(user):
    verify = user.run([str(REPO / ".venv" / "bin" / "ansible-galaxy"), "collection", "verify", "--offline",
                       "-p", str(user.collections), "netwire.fabric"])
    assert verify.returncode == 0 and "Successfully verified" in verify.stdout, verify.stdout + verify.stderr
    after = digest(user.install)
    added = sorted(set(after) - set(user.before))
    changed = sorted(p for p in user.before if after.get(p) != user.before[p])
    assert not added and not changed, "the runs wrote into the installed collection: added %s, changed %s" % (
        added[:20], changed[:20])
