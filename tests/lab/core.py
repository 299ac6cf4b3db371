"""The netwire lab: simulated hosts on one machine.

Each lab host is a set of namespaces (net, mount, uts) kept alive by bind mounts
of their nsfs files under ``<state>/ns`` (no holder process). Inside its mount
namespace a host has a private ``/run`` (tmpfs), ``/sys`` remounted for its own
network namespace, and private OVS directories, so it runs its own sshd and its
own ovsdb-server/ovs-vswitchd exactly like a real machine would.

Address plan (see docs/lab.md):

* management 198.18.0.0/24: bridge ``nwlab-mgmt`` in the root namespace holds .1,
  host i has .10+i on its ``eth0``. The only lab range in the root namespace.
* underlay 198.19.0.0/24: each host's ``eth1`` sits on bridge ``br-underlay`` in the
  router namespace; the router holds .1 and is every host's default gateway.
* outside 203.0.113.0/24: the router holds .1 on ``ext0``; the outside namespace
  holds .10 on ``eth0`` and routes back through the router. Nothing runs there
  but what a test starts.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PREFIX = "nwlab-"
OWNER_ALIAS = "netwire-lab"
CONTAINER_LABEL = "netwire.lab"
IMAGE = "netwire/busybox"

MGMT_NET = ipaddress.ip_network("198.18.0.0/24")
UNDERLAY_NET = ipaddress.ip_network("198.19.0.0/24")
OUTSIDE_NET = ipaddress.ip_network("203.0.113.0/24")
CONTAINER_NET = ipaddress.ip_network("10.0.0.0/8")
LAB_RANGES = (MGMT_NET, UNDERLAY_NET, OUTSIDE_NET, CONTAINER_NET)

UNDERLAY_GW = "198.19.0.1"
OUTSIDE_GW = "203.0.113.1"
OUTSIDE_IP = "203.0.113.10"

# root's ~/.bashrc on a lab host (Debian's /etc/skel/.bashrc begins the same way).
STOCK_BASHRC = """# ~/.bashrc of root on a netwire lab host (a private bind mount): nothing for non-interactive shells.
case $- in
    *i*) ;;
      *) return;;
esac
"""

DOCKERD_ARGS = ["--bridge=none", "--iptables=false", "--ip-forward=false", "--ip6tables=false"]
DOCKER_SOCK = "/run/docker.sock"
DOCKER_PIDFILE = "/run/docker.pid"
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
SSHD = "/usr/sbin/sshd"
# A clean, predictable environment for everything started inside the lab.
LAB_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
}


class LabError(RuntimeError):
    """The lab cannot be brought up or torn down; the message says why."""


def lab_instance() -> int:
    """Which lab on this machine: 0 (the default, the one the docs describe) or 1..7.

    Extra instances exist so that several engineers (or CI jobs) can run labs
    side by side on one machine. Instance k > 0 uses the link prefix ``nwl<k>-``,
    the state folder ``.lab-<k>`` and management 198.18.0.<32k>/27, a more
    specific part of the management range, so the instances never collide.
    """
    value = os.environ.get("NETWIRE_LAB_INSTANCE", "0")
    if value not in [str(k) for k in range(8)]:
        raise LabError("NETWIRE_LAB_INSTANCE must be one of 0..7, got %r" % value)
    return int(value)


def state_dir(instance=None) -> Path:
    instance = lab_instance() if instance is None else instance
    default = REPO / (".lab" if instance == 0 else ".lab-%d" % instance)
    return Path(os.environ.get("NETWIRE_LAB_DIR", default)).resolve()


def link_prefix(instance: int) -> str:
    return PREFIX if instance == 0 else "nwl%d-" % instance


def mgmt_net(instance: int):
    if instance == 0:
        return MGMT_NET
    return ipaddress.ip_network("198.18.0.%d/27" % (32 * instance))


def venv_python() -> str:
    return str(REPO / ".venv" / "bin" / "python")


# ---------------------------------------------------------------- pure helpers

def host_name(index: int) -> str:
    return "host%d" % index


def mgmt_ip(index: int, instance: int = 0) -> str:
    return str(mgmt_net(instance).network_address + 10 + index)


def underlay_ip(index: int) -> str:
    return str(UNDERLAY_NET.network_address + 10 + index)


def conflicting_routes(routes, ranges=LAB_RANGES, own_links=()):
    """Return human-readable conflicts between lab ranges and existing routes.

    ``routes`` are dicts as printed by ``ip -j route show table all`` (keys
    ``dst``, ``dev``, ``table``). Default routes do not count: every address is
    "routed" by a default route, and the lab never sends to the root namespace's
    default gateway. Routes through the lab's own links (a crashed earlier run)
    are not conflicts either: lab-up removes them first.
    """
    found = []
    for route in routes:
        dst = route.get("dst")
        if not dst or dst == "default":
            continue
        if route.get("type") in ("broadcast", "local", "multicast", "anycast") and dst.startswith("127."):
            continue
        if route.get("dev") in own_links:
            continue
        try:
            net = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        if net.version != 4:
            continue
        for lab_range in ranges:
            if net.overlaps(lab_range):
                found.append("%s (dev %s, table %s) overlaps lab range %s"
                             % (dst, route.get("dev", "?"), route.get("table", "main"), lab_range))
    return found


SYSTEM_PYTHON = "/usr/bin/python3"


def host_file(name: str, machine_hosts: str = "/etc/hosts") -> str:
    """A lab host's /etc/hosts: the machine's, plus the host's own name on 127.0.1.1 (as Debian's installer
    writes it)."""
    try:
        with open(machine_hosts) as f:
            text = f.read()
    except OSError:
        text = "127.0.0.1 localhost\n"
    if text and not text.endswith("\n"):
        text += "\n"
    return text + "127.0.1.1 %s\n" % name


def render_inventory(hosts, key_path: Path, known_hosts: Path, python: str, system_python=()) -> str:
    """The lab's inventory. Hosts run Ansible and the modules with the checkout's virtualenv
    (``python``), except the hosts named in ``system_python``: those are managed like a stock
    Debian host, with its own /usr/bin/python3, and host_prep gives the modules their own
    virtualenv in the host's private /opt/netwire."""
    lines = ["# Written by the netwire lab (make lab-up). Removed by make lab-down.", "[lab]"]
    for h in hosts:
        line = "%s ansible_host=%s netwire_lab_underlay_ip=%s" % (h.name, h.mgmt_ip, h.underlay_ip)
        if h.name in system_python:
            line += " ansible_python_interpreter=%s" % SYSTEM_PYTHON
        else:
            line += " netwire_module_python=%s host_prep_manage_python=false" % python
        lines.append(line)
    lines += [
        "",
        "[lab:vars]",
        "ansible_user=root",
        "ansible_ssh_private_key_file=%s" % key_path,
        "ansible_ssh_common_args='-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes"
        " -o IdentitiesOnly=yes -o ControlMaster=auto -o ControlPersist=60s'" % known_hosts,
        "ansible_python_interpreter=%s" % python,
        "netwire_lab_outside_ip=%s" % OUTSIDE_IP,
        "netwire_lab_underlay_gateway=%s" % UNDERLAY_GW,
        "# Lab hosts share the machine's /etc: keep forwarding out of /etc/sysctl.d.",
        "host_prep_sysctl_persist=false",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- processes

def sh(cmd, check=True, input=None, timeout=60, env=None, cwd="/"):
    """Run a command (list, or string for /bin/sh -c) and return CompletedProcess (text)."""
    argv = cmd if isinstance(cmd, (list, tuple)) else ["/bin/sh", "-c", cmd]
    proc = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                          env=env or LAB_ENV, cwd=cwd, check=False)
    if check and proc.returncode != 0:
        raise LabError("command failed (rc=%d): %s\nstdout: %s\nstderr: %s"
                       % (proc.returncode, " ".join(shlex.quote(a) for a in argv),
                          proc.stdout.strip(), proc.stderr.strip()))
    return proc


def ns_inode(path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def processes_in_namespaces(inodes):
    """PIDs of processes whose net, mnt or uts namespace is one of ``inodes``."""
    inodes = set(i for i in inodes if i)
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid == os.getpid():
            continue
        for kind in ("net", "mnt", "uts"):
            try:
                if os.stat("/proc/%d/ns/%s" % (pid, kind)).st_ino in inodes:
                    pids.append(pid)
                    break
            except OSError:
                break
    return pids


def kill_pids(pids, timeout=5.0):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        reap_children()
        alive = [p for p in alive if _alive(p)]
        if alive:
            time.sleep(0.05)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in alive) and time.monotonic() < deadline:
        reap_children()
        time.sleep(0.05)
    reap_children()


def become_subreaper():
    """Adopt the daemons the lab starts (they double-fork) so this process can reap them.

    Orphans normally go to PID 1; where PID 1 does not reap (some sandboxes),
    killed lab daemons would linger as zombies. A test that brings the lab up
    and down in one process therefore leaves the process table exactly as it
    found it.
    """
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def reap_children():
    """Collect every exited child (adopted daemons included) without blocking."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


def mountpoints():
    """Mount points of the root mount namespace (of this process), in mount order."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            points.append(line.split()[4].encode().decode("unicode_escape"))
    return points


# ---------------------------------------------------------------- nodes

@dataclass
class Node:
    """A lab namespace set that commands can be run in."""

    name: str
    lab_dir: Path
    kinds: tuple = ("net",)

    def ns_file(self, kind: str) -> Path:
        return self.lab_dir / "ns" / ("%s.%s" % (self.name, kind))

    @property
    def netns_path(self) -> str:
        return str(self.ns_file("net"))

    def nsenter_argv(self):
        argv = ["nsenter"]
        for kind in self.kinds:
            flag = {"net": "--net", "mnt": "--mount", "uts": "--uts"}[kind]
            argv.append("%s=%s" % (flag, self.ns_file(kind)))
        return argv

    def run(self, cmd, check=True, timeout=60, input=None, env=None):
        """Run ``cmd`` inside this node's namespaces (list or shell string)."""
        inner = list(cmd) if isinstance(cmd, (list, tuple)) else ["/bin/sh", "-c", cmd]
        return sh(self.nsenter_argv() + ["--"] + inner, check=check, timeout=timeout,
                  input=input, env=env)

    def json(self, cmd, timeout=60):
        out = self.run(cmd, timeout=timeout).stdout
        return json.loads(out) if out.strip() else []

    def popen(self, cmd, **kwargs):
        """Start a background process inside the node (caller owns it; bound its lifetime)."""
        inner = list(cmd) if isinstance(cmd, (list, tuple)) else ["/bin/sh", "-c", cmd]
        kwargs.setdefault("env", LAB_ENV)
        kwargs.setdefault("cwd", "/")
        return subprocess.Popen(self.nsenter_argv() + ["--"] + inner, **kwargs)


@dataclass
class LabHost(Node):
    index: int = 0
    kinds: tuple = ("net", "mnt", "uts")
    instance: int = 0

    @property
    def mgmt_ip(self) -> str:
        return mgmt_ip(self.index, self.instance)

    @property
    def underlay_ip(self) -> str:
        return underlay_ip(self.index)

    underlay_if: str = "eth1"
    mgmt_if: str = "eth0"

    @property
    def host_dir(self) -> Path:
        return self.lab_dir / "hosts" / self.name

    def module(self, name, params, check=False, diff=False, timeout=120):
        """Run collection module ``name`` inside this host; return its result dict.

        The module runs exactly as Ansible runs it (a Python process fed its
        arguments file), in the host's namespaces, with the venv interpreter the
        inventory also uses. A failing module returns its dict with failed=True.
        """
        from .modrun import run_module
        return run_module(self, name, params, check=check, diff=diff, timeout=timeout)


# ---------------------------------------------------------------- the lab

@dataclass
class Lab:
    lab_dir: Path = None
    n_hosts: int = 3
    mtu: int = 1500
    instance: int = field(default_factory=lab_instance)

    def __post_init__(self):
        self.lab_dir = Path(self.lab_dir or state_dir(self.instance))
        self.prefix = link_prefix(self.instance)
        self.mgmt_net = mgmt_net(self.instance)
        self.mgmt_gw = str(self.mgmt_net.network_address + 1)
        self.mgmt_bridge = self.prefix + "mgmt"
        self.router = Node("router", self.lab_dir)
        self.outside = Node("outside", self.lab_dir)
        self.outside.ip = OUTSIDE_IP
        self.hosts = [LabHost(host_name(i), self.lab_dir, index=i, instance=self.instance)
                      for i in range(1, self.n_hosts + 1)]

    # -- paths
    @property
    def ns_dir(self) -> Path:
        return self.lab_dir / "ns"

    @property
    def inventory(self) -> Path:
        return self.lab_dir / "inventory.ini"

    @property
    def state_file(self) -> Path:
        return self.lab_dir / "state.json"

    @property
    def ssh_dir(self) -> Path:
        return self.lab_dir / "ssh"

    def host(self, name) -> LabHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    @classmethod
    def load(cls, instance=None):
        """The lab described by the state file, or None when no lab is up."""
        instance = lab_instance() if instance is None else instance
        lab_dir = state_dir(instance)
        try:
            state = json.loads((lab_dir / "state.json").read_text())
        except (OSError, ValueError):
            return None
        return cls(lab_dir=lab_dir, n_hosts=state["hosts"], mtu=state["mtu"], instance=instance)

    def is_up(self) -> bool:
        if not self.state_file.exists():
            return False
        for h in self.hosts:
            for kind in h.kinds:
                if ns_inode(h.ns_file(kind)) is None or not os.path.ismount(h.ns_file(kind)):
                    return False
        return True

    # ------------------------------------------------------------ up
    def up(self, log=print):
        if os.geteuid() != 0:
            raise LabError("the lab needs root (it creates namespaces, links and mounts)")
        limit = 50 if self.instance == 0 else 20
        if not 1 <= self.n_hosts <= limit:
            raise LabError("LAB_HOSTS must be between 1 and %d for lab instance %d (its management range is %s), "
                           "got %d" % (limit, self.instance, self.mgmt_net, self.n_hosts))
        if not 1280 <= self.mtu <= 9000:
            raise LabError("underlay MTU must be between 1280 and 9000, got %d" % self.mtu)
        for tool in ("ip", "nsenter", "unshare", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl",
                     "ssh-keygen", "ssh-keyscan", "docker", "dockerd", "mount", "umount"):
            if not shutil.which(tool, path=LAB_ENV["PATH"]):
                raise LabError("required tool '%s' not found: run `make setup` first" % tool)
        if not os.path.exists(SSHD) or not os.path.exists(OVS_SCHEMA):
            raise LabError("openssh-server or openvswitch-switch is missing: run `make setup` first")
        if not os.path.exists(venv_python()):
            raise LabError("virtualenv %s missing: run `make setup` first" % venv_python())

        # Refuse before touching anything when a lab range is already in use.
        self._check_ranges()
        become_subreaper()
        stale = Lab.load(self.instance)
        if stale is not None or self.lab_dir.exists() or self._root_links():
            log("lab: cleaning up a previous lab first")
            (stale or self).down(log=lambda *_: None)
        ensure_docker(log)

        log("lab: creating namespaces for %d hosts, router and outside" % self.n_hosts)
        self.lab_dir.mkdir(parents=True, exist_ok=True)
        self.ns_dir.mkdir(exist_ok=True)
        # The ns files must live on a mount that is not shared: give the folder
        # its own private bind mount (removed again by down()).
        sh(["mount", "--bind", str(self.ns_dir), str(self.ns_dir)])
        sh(["mount", "--make-private", str(self.ns_dir)])
        self.state_file.write_text(json.dumps({"hosts": self.n_hosts, "mtu": self.mtu,
                                               "created": time.time()}))
        try:
            self._make_ns(self.router, ["net"])
            self._make_ns(self.outside, ["net"])
            for h in self.hosts:
                self._make_ns(h, ["net", "uts", "mnt"])
            self._ssh_keys()
            self._wire()
            _crash_point("wired")
            for h in self.hosts:
                self._host_mounts(h)
            for h in self.hosts:
                self._start_ovs(h)
                self._start_sshd(h)
            self._write_inventory()
            self._wait_ssh()
        except BaseException:
            log("lab: bring-up failed; tearing down what was made")
            self.down(log=lambda *_: None)
            raise
        summary = ", ".join("%s=%s" % (h.name, h.mgmt_ip) for h in self.hosts)
        log("lab: up: %s; inventory %s" % (summary, self.inventory))

    def _root_links(self):
        links = sh(["ip", "-j", "link", "show"]).stdout
        return [l["ifname"] for l in json.loads(links) if l["ifname"].startswith(self.prefix)]

    def _check_ranges(self):
        routes = json.loads(sh(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout or "[]")
        # Other lab instances' management subnets are more specific parts of the
        # management range on their own lab bridges: not a conflict.
        other_labs = [l["ifname"] for l in json.loads(sh(["ip", "-j", "link", "show"]).stdout)
                      if l.get("ifalias") == OWNER_ALIAS]
        conflicts = conflicting_routes(routes, ranges=(self.mgmt_net, UNDERLAY_NET, OUTSIDE_NET, CONTAINER_NET),
                                       own_links=other_labs)
        if conflicts:
            raise LabError("refusing to start the lab: the root namespace already routes a lab range:\n  "
                           + "\n  ".join(conflicts)
                           + "\nThe lab uses 198.18.0.0/24 (management), 198.19.0.0/24 (underlay), "
                             "203.0.113.0/24 (outside) and 10.0.0.0/8 (containers).")

    def _make_ns(self, node, kinds):
        args = ["unshare"]
        for kind in kinds:
            f = node.ns_file(kind)
            f.touch()
            args.append({"net": "--net=%s", "uts": "--uts=%s", "mnt": "--mount=%s"}[kind] % f)
        if "mnt" in kinds:
            args.append("--propagation=private")
        sh(args + ["/bin/true"])

    def _ssh_keys(self):
        self.ssh_dir.mkdir(mode=0o700, exist_ok=True)
        key = self.ssh_dir / "id_ed25519"
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "netwire-lab", "-f", str(key)])
        shutil.copy(str(key) + ".pub", self.ssh_dir / "authorized_keys")
        for h in self.hosts:
            h.host_dir.mkdir(parents=True, exist_ok=True)
            sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", h.name,
                "-f", str(h.host_dir / "ssh_host_ed25519_key")])

    def _wire(self):
        from pyroute2 import IPRoute

        router_ns, outside_ns = self.router.netns_path, self.outside.netns_path
        with IPRoute() as root:
            root.link("add", ifname=self.mgmt_bridge, kind="bridge")
            mgmt = root.link("get", ifname=self.mgmt_bridge)[0]["index"]
            root.link("set", index=mgmt, ifalias=OWNER_ALIAS, state="up")
            root.addr("add", index=mgmt, address=self.mgmt_gw, prefixlen=self.mgmt_net.prefixlen)
            for h in self.hosts:
                peer = "%sm%d" % (self.prefix, h.index)
                root.link("add", ifname=peer, kind="veth",
                          peer={"ifname": h.mgmt_if, "net_ns_fd": h.netns_path})
                idx = root.link("get", ifname=peer)[0]["index"]
                root.link("set", index=idx, master=mgmt, ifalias=OWNER_ALIAS, state="up")

        with IPRoute(netns=router_ns, flags=0) as r:
            r.link("set", index=1, state="up")
            r.link("add", ifname="br-underlay", kind="bridge")
            br = r.link("get", ifname="br-underlay")[0]["index"]
            r.link("set", index=br, mtu=self.mtu, state="up")
            r.addr("add", index=br, address=UNDERLAY_GW, prefixlen=UNDERLAY_NET.prefixlen)
            for h in self.hosts:
                port = "u-%s" % h.name
                r.link("add", ifname=port, kind="veth", mtu=self.mtu,
                       peer={"ifname": h.underlay_if, "net_ns_fd": h.netns_path, "mtu": self.mtu})
                idx = r.link("get", ifname=port)[0]["index"]
                r.link("set", index=idx, master=br, state="up")
            r.link("add", ifname="ext0", kind="veth", peer={"ifname": "eth0", "net_ns_fd": outside_ns})
            ext = r.link("get", ifname="ext0")[0]["index"]
            r.link("set", index=ext, state="up")
            r.addr("add", index=ext, address=OUTSIDE_GW, prefixlen=OUTSIDE_NET.prefixlen)
        self.router.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        # The lab's veths stand for real NICs, which fill in checksums. A veth
        # hands packets on with the checksum left to "offload"; the OVS userspace
        # datapath (netdev bridges owning eth1) forwards them as they are, and
        # TCP then fails while ping works. So every underlay and outside link
        # computes its checksums in software.
        self.router.run(" && ".join(["ethtool -K %s tx off >/dev/null" % dev for dev in
                                     ["ext0"] + ["u-%s" % h.name for h in self.hosts]]))
        self.outside.run("ethtool -K eth0 tx off >/dev/null")
        for h in self.hosts:
            h.run("ethtool -K %s tx off >/dev/null" % h.underlay_if)

        with IPRoute(netns=outside_ns, flags=0) as o:
            o.link("set", index=1, state="up")
            eth = o.link("get", ifname="eth0")[0]["index"]
            o.link("set", index=eth, state="up")
            o.addr("add", index=eth, address=OUTSIDE_IP, prefixlen=OUTSIDE_NET.prefixlen)
            o.route("add", dst="0.0.0.0/0", gateway=OUTSIDE_GW)

        for h in self.hosts:
            with IPRoute(netns=h.netns_path, flags=0) as n:
                n.link("set", index=1, state="up")
                for ifname, addr, net in ((h.mgmt_if, h.mgmt_ip, self.mgmt_net),
                                          (h.underlay_if, h.underlay_ip, UNDERLAY_NET)):
                    idx = n.link("get", ifname=ifname)[0]["index"]
                    n.link("set", index=idx, state="up")
                    n.addr("add", index=idx, address=addr, prefixlen=net.prefixlen)
                n.route("add", dst="0.0.0.0/0", gateway=UNDERLAY_GW)

    def _host_mounts(self, h: LabHost):
        """Give the host its own /run, /sys, OVS directories, /opt/netwire, the daemons' /etc/netwire and
        /var/lib/netwire (their /run/netwire is in the private /run), FRR's /etc/frr (its /run/frr is in
        the private /run), /var/tmp, and its hostname."""
        hd = h.host_dir
        for sub in ("etc-openvswitch", "var-lib-openvswitch", "var-log-openvswitch", "opt-netwire",
                    "etc-netwire", "var-lib-netwire", "etc-frr", "var-tmp"):
            (hd / sub).mkdir(parents=True, exist_ok=True)
        (hd / "root-bashrc").write_text(STOCK_BASHRC)
        (hd / "etc-hosts").write_text(host_file(h.name))
        have_docker = os.path.exists(DOCKER_SOCK)
        script = [
            "set -e",
            # Drop this mount namespace's copies of other namespaces' bind mounts,
            # so that no host keeps another host's (or a container's) namespace alive.
            "umount -l %s 2>/dev/null || true" % shlex.quote(str(self.ns_dir)),
            "for m in $(awk '{print $5}' /proc/self/mountinfo | grep '^/run/' | sort -r); do"
            " umount -l \"$m\" 2>/dev/null || true; done",
        ]
        if have_docker:
            script += ["touch %s/docker.sock" % hd,
                       "mount --bind %s %s/docker.sock" % (DOCKER_SOCK, hd)]
        script += [
            "mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run",
            "mkdir -p /run/sshd /run/openvswitch /run/netns /run/lock",
            "umount -l /sys",
            "mount -t sysfs sysfs /sys",
            "mount --bind %s/etc-openvswitch /etc/openvswitch" % hd,
            "mount --bind %s/var-lib-openvswitch /var/lib/openvswitch" % hd,
            "mount --bind %s/var-log-openvswitch /var/log/openvswitch" % hd,
            # The modules' virtualenv (role host_prep) is the host's own, as on a real host.
            "mkdir -p /opt/netwire",
            "mount --bind %s/opt-netwire /opt/netwire" % hd,
            # The daemons' configuration and state (dnsmasq, ...), as private as the OVS directories.
            "mkdir -p /etc/netwire /var/lib/netwire",
            "mount --bind %s/etc-netwire /etc/netwire" % hd,
            "mount --bind %s/var-lib-netwire /var/lib/netwire" % hd,
            # FRR's configuration (the frr module), and /var/tmp (FRR's and other programs' scratch files),
            # per host too: a lab host never sees the machine's FRR files or another host's.
            "mkdir -p /etc/frr /var/tmp",
            "mount --bind %s/etc-frr /etc/frr" % hd,
            "chmod 1777 %s/var-tmp" % hd,
            "mount --bind %s/var-tmp /var/tmp" % hd,
            # Every command over SSH runs in root's login shell, and bash reads ~/.bashrc when sshd
            # starts it: the machine's may do anything (pyenv's init took 1.5 s of every command).
            # The host gets a stock one, which reads nothing more in a non-interactive shell.
            'home=$(getent passwd root | cut -d: -f6); if [ -f "$home/.bashrc" ]; then'
            ' mount --bind %s/root-bashrc "$home/.bashrc"; fi' % hd,
            "hostname %s" % h.name,
            # The host resolves its own name, as a Debian host does (127.0.1.1 in /etc/hosts): otherwise
            # every lookup of it (Ansible's platform facts ask for the FQDN) waits 5 s for the machine's
            # DNS server, which the lab's namespaces cannot reach.
            "mount --bind %s/etc-hosts /etc/hosts" % hd,
        ]
        if have_docker:
            script += ["touch /run/docker.sock",
                       "mount --bind %s/docker.sock /run/docker.sock" % hd,
                       "umount %s/docker.sock" % hd]
        h.run("\n".join(script))

    def _start_ovs(self, h: LabHost):
        h.run([
            "/bin/sh", "-c",
            "set -e; ovsdb-tool create /etc/openvswitch/conf.db %s;"
            " ovsdb-server /etc/openvswitch/conf.db --remote=punix:/run/openvswitch/db.sock"
            " --remote=db:Open_vSwitch,Open_vSwitch,manager_options --pidfile --detach"
            " --log-file=/var/log/openvswitch/ovsdb-server.log;"
            " ovs-vsctl --no-wait init;"
            " ovs-vsctl --no-wait set Open_vSwitch . external_ids:hostname=%s external_ids:system-id=%s;"
            " ovs-vswitchd unix:/run/openvswitch/db.sock --pidfile --detach"
            " --log-file=/var/log/openvswitch/ovs-vswitchd.log" % (OVS_SCHEMA, h.name, h.name),
        ])
        # Wait until vswitchd has connected and the userspace datapath is usable.
        h.run(["ovs-vsctl", "--timeout=20", "wait-until", "Open_vSwitch", ".", "cur_cfg>=0"])
        h.run(["ovs-appctl", "--timeout=20", "version"])

    def _start_sshd(self, h: LabHost):
        cfg = h.host_dir / "sshd_config"
        cfg.write_text("\n".join([
            "# netwire lab sshd for %s" % h.name,
            "ListenAddress %s" % h.mgmt_ip,
            "Port 22",
            "HostKey %s" % (h.host_dir / "ssh_host_ed25519_key"),
            "PidFile /run/sshd.pid",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "AuthorizedKeysFile %s" % (self.ssh_dir / "authorized_keys"),
            "StrictModes no",
            "UsePAM no",
            "X11Forwarding no",
            "PrintMotd no",
            "AcceptEnv LANG LC_*",
            "Subsystem sftp /usr/lib/openssh/sftp-server",
            "",
        ]))
        h.run([SSHD, "-f", str(cfg)])

    def _write_inventory(self):
        known = []
        for h in self.hosts:
            pub = (h.host_dir / "ssh_host_ed25519_key.pub").read_text().split()
            known.append("%s %s %s" % (h.mgmt_ip, pub[0], pub[1]))
        (self.ssh_dir / "known_hosts").write_text("\n".join(known) + "\n")
        self.inventory.write_text(render_inventory(self.hosts, self.ssh_dir / "id_ed25519",
                                                   self.ssh_dir / "known_hosts", venv_python()))

    def _wait_ssh(self, timeout=20.0):
        for h in self.hosts:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with socket.create_connection((h.mgmt_ip, 22), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise LabError("sshd on %s (%s) did not come up" % (h.name, h.mgmt_ip))
                    time.sleep(0.1)

    # ------------------------------------------------------------ down
    def down(self, log=print):
        """Remove everything the lab made. Safe to run any number of times."""
        if os.geteuid() != 0:
            raise LabError("lab-down needs root")
        become_subreaper()
        remove_lab_containers(self.instance)
        ns_files = sorted(self.ns_dir.glob("*.*")) if self.ns_dir.exists() else []
        inodes = [ns_inode(f) for f in ns_files if os.path.ismount(f)]
        # Processes started in lab namespaces (sshd, OVS daemons, test servers)
        # outlive whoever started them: find them by namespace. Repeat, since a
        # dying sshd session may still be forking.
        for _attempt in range(3):
            pids = processes_in_namespaces(inodes)
            if not pids:
                break
            kill_pids(pids)
        with _root_iproute() as root:
            for link in root.get_links():
                name = link.get_attr("IFLA_IFNAME")
                if name.startswith(self.prefix) and link.get_attr("IFLA_IFALIAS") == OWNER_ALIAS:
                    try:
                        root.link("del", index=link["index"])
                    except Exception:  # already gone with its peer
                        pass
        ns_dir = str(self.ns_dir)
        for point in reversed(mountpoints()):
            if point == ns_dir or point.startswith(ns_dir + "/"):
                sh(["umount", point], check=False)
        if self.lab_dir.exists():
            if os.path.ismount(ns_dir):
                raise LabError("could not unmount %s; refusing to delete the lab folder" % ns_dir)
            shutil.rmtree(self.lab_dir)
        log("lab: down")


def _crash_point(name):
    """Fault injection for the tests: die here, like a crashed or killed lab-up."""
    if os.environ.get("NETWIRE_LAB_CRASH_AT") == name:
        os._exit(70)


def _root_iproute():
    from pyroute2 import IPRoute
    return IPRoute()


# ---------------------------------------------------------------- docker

def docker_up() -> bool:
    return os.path.exists(DOCKER_SOCK) and sh(["docker", "info"], check=False, timeout=20).returncode == 0


def _process_name(pid: int) -> str | None:
    try:
        with open("/proc/%d/comm" % pid, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


def clear_stale_docker_pidfile(path: str = DOCKER_PIDFILE, log=print) -> bool:
    """Remove Docker's pidfile when no dockerd owns it (dockerd was killed, not stopped).

    dockerd refuses to start while its pidfile names a live process, and a killed
    dockerd leaves the file behind: once the pid is reused by any other program,
    the engine cannot start again. A pidfile whose pid is a running dockerd is
    left alone. Returns whether the file was removed.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
    except FileNotFoundError:
        return False
    pid = int(text) if text.isdigit() else None
    if pid is not None and _process_name(pid) == "dockerd":
        return False
    log("lab: removing the stale %s (pid %s is not a running dockerd)" % (path, text or "missing"))
    os.unlink(path)
    return True


def ensure_docker(log=print):
    """Start the machine's Docker Engine if it is not running, and the lab image."""
    if not docker_up():
        clear_stale_docker_pidfile(log=log)
        log("lab: starting dockerd %s" % " ".join(DOCKERD_ARGS))
        log_path = "/var/log/netwire-dockerd.log"
        with open(log_path, "ab") as logf:
            proc = subprocess.Popen(["dockerd"] + DOCKERD_ARGS, stdout=logf, stderr=logf,
                                    stdin=subprocess.DEVNULL, start_new_session=True, env=LAB_ENV, cwd="/")
        deadline = time.monotonic() + 60
        while not docker_up():
            if proc.poll() is not None:
                with open(log_path, "rb") as handle:
                    tail = handle.read()[-600:].decode("utf-8", "replace").strip().splitlines()[-3:]
                raise LabError("dockerd exited with status %d: %s (see %s)"
                               % (proc.returncode, " | ".join(tail), log_path))
            if time.monotonic() > deadline:
                raise LabError("dockerd did not start within 60 s; see %s" % log_path)
            time.sleep(0.5)
    if sh(["docker", "image", "inspect", IMAGE], check=False).returncode != 0:
        build_image(log)


def build_image(log=print):
    """Build netwire/busybox with `docker import` from busybox-static (no registry needed)."""
    import tarfile
    import tempfile

    busybox = "/bin/busybox"
    if not os.path.exists(busybox):
        raise LabError("busybox-static is not installed (%s missing): run `make setup`" % busybox)
    applets = sh([busybox, "--list"]).stdout.split()
    log("lab: building image %s from %s (%d applets)" % (IMAGE, busybox, len(applets)))
    with tempfile.TemporaryDirectory() as tmp:
        tar_path = os.path.join(tmp, "rootfs.tar")
        with tarfile.open(tar_path, "w") as tar:
            def add_dir(name):
                info = tarfile.TarInfo(name)
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "var", "run"):
                add_dir(d)
            tar.add(busybox, arcname="bin/busybox")
            for applet in applets:
                if applet == "busybox":
                    continue
                info = tarfile.TarInfo("bin/" + applet)
                info.type, info.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(info)
            for name, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                               ("etc/group", "root:x:0:\n")):
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                import io
                tar.addfile(info, io.BytesIO(data))
        with open(tar_path, "rb") as f:
            subprocess.run(["docker", "import", "-c", 'CMD ["/bin/sh"]', "-", IMAGE],
                           stdin=f, check=True, capture_output=True, env=LAB_ENV)


def ensure_container(name, instance=0, image=IMAGE, command=("sleep", "infinity")):
    """Make sure a lab container called ``name`` runs (``--network none``); say what was done."""
    ensure_docker(log=lambda *_: None)
    proc = sh(["docker", "inspect", name], check=False)
    if proc.returncode == 0:
        info = json.loads(proc.stdout)[0]
        if info["Config"]["Labels"].get(CONTAINER_LABEL) != str(instance):
            raise LabError("a container named %s exists that is not this lab's: refusing to touch it" % name)
        if info["State"]["Running"]:
            return "already running"
        sh(["docker", "start", name])
        return "started"
    sh(["docker", "run", "-d", "--network", "none", "--name", name, "--hostname", name,
        "--label", "%s=%d" % (CONTAINER_LABEL, instance), "--stop-timeout", "1", image] + list(command))
    return "created"


def remove_lab_containers(instance=0):
    if not docker_up():
        return
    ids = sh(["docker", "ps", "-aq", "--filter", "label=%s=%d" % (CONTAINER_LABEL, instance)]).stdout.split()
    if ids:
        sh(["docker", "rm", "-f", "-v"] + ids, timeout=120)
