# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading live state from a host (testinfra ``host.run``), always as JSON, and traffic probes.

State is read in bulk, once per host and per container (``ip -j -d addr``,
``bridge -j fdb``, ``ovs-vsctl -f json``, ``nft -j``), and cached for the run.
Probes run inside a container's network namespace (``nsenter --net``) with the
host's Python: the ICMP, TCP and UDP probes and the probe servers below are
small standard-library scripts, so neither the containers nor the audited hosts
need a ping, nc or anything else of their own (``REQUIRED`` lists what they do
need, checked once before the audit). Every probe is bounded in count and time.
"""

from __future__ import annotations

import json
import threading

from ansible_collections.netwire.fabric.plugins.module_utils import _names

try:   # the dnsmasq module (module_utils/_dns): the files and argv of our instances
    from ansible_collections.netwire.fabric.plugins.module_utils._dns import config as _dns_config
    from ansible_collections.netwire.fabric.plugins.module_utils._dns import manager as _dns_manager
except ImportError:   # a collection without it plans no dns entries
    _dns_config = _dns_manager = None

OWNER_ALIAS_PREFIX = _names.OWNER_PREFIX
OWNER_EXTERNAL_ID = (_names.OVS_OWNER_KEY, _names.OVS_OWNER)

# A TCP/UDP server for the reachability probes: binds every (proto, port) it is
# given in the current network namespace (SO_REUSEPORT, so two audits can run at
# once), prints what it bound as JSON, then detaches and answers every connection
# or datagram with a token naming its container, until killed or the deadline.
SERVER = r'''
import json, os, selectors, signal, socket, sys
name, deadline, specs = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
socks, bound, busy = [], [], []
for proto, port in specs:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        s.bind(("0.0.0.0", port))
    except OSError as exc:
        busy.append([proto, port, str(exc)])
        s.close()
        continue
    if proto == "tcp":
        s.listen(64)
    s.setblocking(False)
    socks.append((proto, s))
    bound.append([proto, port])
pid = os.fork()
if pid:
    print(json.dumps({"pid": pid, "bound": bound, "busy": busy}))
    sys.stdout.flush()
    os._exit(0)
os.setsid()
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
signal.alarm(deadline)
token = ("netwire-spec %s\n" % name).encode()
sel = selectors.DefaultSelector()
for proto, s in socks:
    sel.register(s, selectors.EVENT_READ, proto)
while True:
    for key, _mask in sel.select():
        try:
            if key.data == "tcp":
                conn, _addr = key.fileobj.accept()
                conn.settimeout(1)
                try:
                    conn.sendall(token)
                finally:
                    conn.close()
            else:
                _data, addr = key.fileobj.recvfrom(2048)
                key.fileobj.sendto(token, addr)
        except OSError:
            pass
'''

CLIENT = r'''
import json, socket, sys
proto, addr, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
try:
    if proto == "tcp-connect":
        # only the handshake: a service that waits for the client (sshd after its banner) still counts
        s = socket.create_connection((addr, port), timeout=timeout)
        s.close()
        data = b""
    elif proto == "tcp":
        s = socket.create_connection((addr, port), timeout=timeout)
        s.settimeout(timeout)
        data = b""
        while len(data) < 4096:
            chunk = s.recv(256)
            if not chunk:
                break
            data += chunk
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        s.sendto(b"netwire-spec probe\n", (addr, port))
        data, _peer = s.recvfrom(2048)
    out = {"ok": True, "reply": data.decode("utf-8", "replace").strip()}
except (OSError, socket.timeout) as exc:
    out = {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}
print(json.dumps(out))
'''


# An ICMP echo probe (what ``ping -c COUNT -W WAIT [-M probe] [-s SIZE]`` did, without the ping
# program): a raw ICMP/ICMPv6 socket. Every raw ICMP socket of a namespace gets every ICMP packet
# of it, and the audit runs several probes from one namespace to one address at once (the pair's
# ping, the MTU's full and one-byte-over pings): a reply counts only if it echoes this probe's own
# payload (a random token first) with its identifier and one of its sequence numbers, an ICMP error
# only if it quotes this probe's request (identifier, sequence, as much of the payload as it
# quotes). Identifiers alone collided (they were pid ^ time, and a concurrent probe's echo reply
# made a 1459-byte ping refused with "message too long" count as arrived).
# With DF (``-M probe``, IP_PMTUDISC_PROBE) the size is checked against the interface's MTU,
# not against a path MTU the namespace has cached from an earlier ICMP "frag needed": each probe
# measures the path as it is now, and a smaller path answers it with an error (or drops it).
# Prints {"rc", "output"}: rc 0 a reply came, 1 nothing came, 2 an error
# (a local "message too long", a "frag needed" or an unreachable from the path).
PING = r'''
import json, os, select, socket, struct, sys, time
addr, count, wait, size, df = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
v6 = ":" in addr
ident = struct.unpack("!H", os.urandom(2))[0]
def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xffff)
    total += total >> 16
    return ~total & 0xffff
if v6:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    if df:
        s.setsockopt(socket.IPPROTO_IPV6, 23, 3)   # IPV6_MTU_DISCOVER = IPV6_PMTUDISC_PROBE
        s.setsockopt(socket.IPPROTO_IPV6, 62, 1)   # IPV6_DONTFRAG
    echo, reply = 128, 129
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    if df:
        s.setsockopt(socket.IPPROTO_IP, 10, 3)     # IP_MTU_DISCOVER = IP_PMTUDISC_PROBE
    echo, reply = 8, 0
payload = (os.urandom(16).hex().encode() + b" netwire-spec probe " * (size // 20 + 1))[:size]
sent = set()
lines, replies, errors = [], 0, 0
def handle(data, peer):
    global replies, errors
    if not v6:
        data = data[(data[0] & 0x0f) * 4:]
    if len(data) < 8:
        return
    kind, code = data[0], data[1]
    if kind == reply:
        got_ident, seq = struct.unpack("!HH", data[4:8])
        if peer == addr and got_ident == ident and seq in sent and data[8:] == payload:
            replies += 1
            lines.append("%d bytes from %s: icmp_seq=%d" % (len(data), peer, seq))
        return
    inner = data[8:]
    if v6:
        inner = inner[40:]
    elif len(inner) >= 20:
        inner = inner[(inner[0] & 0x0f) * 4:]
    if len(inner) < 8 or inner[0] != echo:
        return
    got_ident, seq = struct.unpack("!HH", inner[4:8])
    if got_ident != ident or seq not in sent or not payload.startswith(inner[8:]):
        return
    errors += 1
    if (not v6 and kind == 3 and code == 4) or (v6 and kind == 2):
        lines.append("From %s: Frag needed and DF set (mtu = %d)" % (
            peer, struct.unpack("!H", data[6:8])[0] if not v6 else struct.unpack("!I", data[4:8])[0]))
    elif (not v6 and kind == 3) or (v6 and kind == 1):
        lines.append("From %s: Destination Unreachable (code %d)" % (peer, code))
    elif (not v6 and kind == 11) or (v6 and kind == 3):
        lines.append("From %s: Time to live exceeded" % peer)
    else:
        errors -= 1
for seq in range(1, count + 1):
    head = struct.pack("!BBHHH", echo, 0, 0, ident, seq)
    if not v6:
        head = struct.pack("!BBHHH", echo, 0, checksum(head + payload), ident, seq)
    sent.add(seq)
    try:
        s.sendto(head + payload, (addr, 0))
    except OSError as exc:
        errors += 1
        lines.append("ping: local error: %s (%d bytes)" % ((exc.strerror or str(exc)).lower(),
                                                           len(payload) + 8 + (40 if v6 else 20)))
    pause = time.monotonic() + (0.2 if seq < count else wait)
    while not replies and time.monotonic() < pause:
        ready, _w, _x = select.select([s], [], [], max(0.0, pause - time.monotonic()))
        if ready:
            data, peer = s.recvfrom(65535)
            handle(data, peer[0])
    if replies:
        break
rc = 0 if replies else 2 if errors else 1
print(json.dumps({"rc": rc, "output": "\n".join(lines) or "no reply from %s" % addr}))
'''

# A stub DNS client (what ``dig +tries=2 +time=2`` did, without dig): jobs of
# ``{"id", "server", "names"[, "port"]}``; each name of a job is asked in turn (type A, recursion desired, UDP
# to server:53, ``tries`` tries of ``timeout`` s) until an answer other than NXDOMAIN, as a stub
# resolver walks its search path. Prints ``{id: [{"name", "rcode", "aa", "addresses"} or
# {"name", "rcode": null, "error"}]}``. Jobs run in parallel (at most 16 at once).
DNS_CLIENT = r"""
import json, random, socket, struct, sys
from concurrent.futures import ThreadPoolExecutor
jobs, timeout, tries = json.loads(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])

def skip(data, pos):
    while True:
        n = data[pos]
        if n >= 0xC0:
            return pos + 2
        if n == 0:
            return pos + 1
        pos += n + 1

def parse(data, qid):
    ident, flags, qd, an, _ns, _ar = struct.unpack("!HHHHHH", data[:12])
    if ident != qid or not flags & 0x8000:
        return None
    pos = 12
    for _ in range(qd):
        pos = skip(data, pos) + 4
    addrs = []
    for _ in range(an):
        pos = skip(data, pos)
        rtype, rclass, _ttl, rdlen = struct.unpack("!HHIH", data[pos:pos + 10])
        pos += 10
        if rtype == 1 and rclass == 1 and rdlen == 4:
            addrs.append(socket.inet_ntoa(data[pos:pos + 4]))
        pos += rdlen
    return {"rcode": flags & 0xF, "aa": bool(flags & 0x400), "addresses": sorted(addrs)}

def query(server, name, port):
    last = "no answer"
    for _ in range(tries):
        qid = random.randrange(65536)
        labels = [l.encode("ascii") for l in name.rstrip(".").split(".")]
        msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"".join(
            bytes([len(l)]) + l for l in labels) + b"\0" + struct.pack("!HH", 1, 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        try:
            s.connect((server, port))
            s.send(msg)
            while True:
                got = parse(s.recv(4096), qid)
                if got is not None:
                    return dict(got, name=name)
        except (OSError, socket.timeout, struct.error, IndexError) as exc:
            last = "%s: %s" % (type(exc).__name__, exc)
        finally:
            s.close()
    return {"name": name, "rcode": None, "error": last}

def run(job):
    trail = []
    for name in job["names"]:
        trail.append(query(job["server"], name, job.get("port", 53)))
        if trail[-1]["rcode"] != 3:
            break
    return job["id"], trail

with ThreadPoolExecutor(16) as pool:
    print(json.dumps(dict(pool.map(run, jobs))))
"""

# Runs DNS_CLIENT in several network namespaces at once (one remote call per host):
# argv: the client's source, ``{netns: [jobs]}``, timeout, tries. Prints ``{netns: output or error}``.
IN_NAMESPACES = r"""
import json, subprocess, sys
client, batches, timeout, tries = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
procs = dict((ns, subprocess.Popen(["nsenter", "--net=" + ns, sys.executable, "-c", client, json.dumps(jobs),
                                    timeout, tries], stdout=subprocess.PIPE, stderr=subprocess.PIPE))
             for ns, jobs in batches.items())
out = {}
for ns, proc in procs.items():
    try:
        stdout, stderr = proc.communicate(timeout=60)
        out[ns] = json.loads(stdout.decode().strip().splitlines()[-1])
    except Exception as exc:
        proc.kill()
        out[ns] = {"error": "DNS probe in %s failed (%s): %s" % (ns, exc, proc.stderr and proc.stderr.read()[-300:])}
print(json.dumps(out))
"""

# Our dnsmasq instances as they are on a host (read-only): per instance name, its files, the pid
# in its pidfile and that process's cmdline, the user/group it would run as (the first of
# ``users`` that exists, as the dnsmasq module picks it) and its lease file; and every UDP and TCP
# listening socket of the host with its owner (``ss -Hnulp`` / ``ss -Hntlp``).
DNSMASQ_STATE = r"""
import grp, json, pwd, subprocess, sys
specs, users = json.loads(sys.argv[1]), json.loads(sys.argv[2])

def text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return None

run_as = [None, None]
for user in users:
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        continue
    try:
        run_as = [user, grp.getgrgid(pw.pw_gid).gr_name]
    except KeyError:
        run_as = [user, None]
    break
out = {"run_as": run_as, "instances": {}}
for name, paths in specs.items():
    pid_text = text(paths["pidfile"])
    try:
        pid = int((pid_text or "").strip())
    except ValueError:
        pid = None
    cmdline = text("/proc/%d/cmdline" % pid) if pid else None
    out["instances"][name] = {
        "files": dict((p, text(p)) for p in paths["files"]), "pid": pid, "pidfile": pid_text,
        "cmdline": cmdline.rstrip("\0").split("\0") if cmdline else None, "leases": text(paths["leases"])}
for proto in ("udp", "tcp"):
    proc = subprocess.run(["ss", "-Hn" + proto[0] + "lp"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out[proto] = proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None
    if proc.returncode != 0:
        out[proto + "_error"] = proc.stderr.decode("utf-8", "replace")[-300:]
print(json.dumps(out))
"""


def parse_ss(listing):
    """Sockets of ``ss -Hn[ut]lp`` as ``[{"address", "device", "port", "pids", "text"}]``: ``0.0.0.0%nw-app:67``
    is address 0.0.0.0 bound to device nw-app (SO_BINDTODEVICE), port 67."""
    import re
    out = []
    for line in (listing or "").splitlines():
        parts = line.split()
        if len(parts) < 5:
            continue
        local = parts[3]
        addr, _sep, port = local.rpartition(":")
        addr, _sep, device = addr.partition("%")
        addr = addr.strip("[]")
        out.append({"address": "0.0.0.0" if addr == "*" else addr, "device": device or None,
                    "port": int(port) if port.isdigit() else None,
                    "pids": sorted(set(int(p) for p in re.findall(r"pid=(\d+)", line))), "text": line.strip()})
    return out


# What the audit runs on each audited host, with the Debian package that brings it.
REQUIRED = (("nsenter", "util-linux"), ("timeout", "coreutils"), ("ip", "iproute2"), ("bridge", "iproute2"),
            ("tc", "iproute2"), ("nft", "nftables"))
REQUIRED_OVS = (("ovs-vsctl", "openvswitch-switch"),)
REQUIRED_DNS = (("ss", "iproute2"),)
REQUIRED_EVPN = (("vtysh", "frr"),)
REQUIRED_ENGINE = {"docker": (("docker", "docker.io"),), "podman": (("podman", "podman"),)}


# Attacks: a hand-made overlay frame (VXLAN or Geneve, carrying Ethernet/IPv4/ICMP echo) sent over
# UDP, and an ICMP echo request with a forged source through a raw socket; 3 of each, no more.
ATTACK = r'''
import socket, struct, sys
kind = sys.argv[1]

def csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return (~total) & 0xFFFF

def echo(src, dst):
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x4e57, 1) + b"netwire-spec attack" * 2
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + icmp

sent = 0
if kind == "spoof":
    src, dst = sys.argv[2], sys.argv[3]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for _ in range(3):
        try:
            s.sendto(echo(src, dst), (dst, 0))
            sent += 1
        except OSError:
            pass
else:
    target, port, vni, dmac, dip, sip = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
    eth = bytes.fromhex(dmac.replace(":", "")) + bytes.fromhex("02004e570001") + b"\x08\x00"
    if kind == "vxlan":
        head = struct.pack("!II", 0x08000000, vni << 8)
    else:
        head = struct.pack("!BBHI", 0, 0, 0x6558, vni << 8)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(3):
        try:
            s.sendto(head + eth + echo(sip, dip), (target, port))
            sent += 1
        except OSError:
            pass
print(sent)
'''


def token(container):
    return "netwire-spec %s" % container


# ---------------------------------------------------------------- OVS JSON

def ovs_value(value):
    """Decode one OVSDB JSON cell: ["uuid", u], ["set", [...]], ["map", [[k, v], ...]] or a scalar."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        kind, body = value
        if kind in ("uuid", "named-uuid"):
            return body
        if kind == "set":
            return [ovs_value(v) for v in body]
        if kind == "map":
            return dict((ovs_value(k), ovs_value(v)) for k, v in body)
    return value


def as_list(value):
    return value if isinstance(value, list) else [value]


def ovs_rows(doc):
    """Rows of an ``ovs-vsctl -f json list`` output as dicts."""
    heads = doc.get("headings", [])
    return [dict(zip(heads, (ovs_value(c) for c in row))) for row in doc.get("data", [])]


def owned_row(row):
    ids = row.get("external_ids") or {}
    return isinstance(ids, dict) and ids.get(OWNER_EXTERNAL_ID[0]) == OWNER_EXTERNAL_ID[1]


# ---------------------------------------------------------------- host state

class HostState:
    """A host's state, read once per run and only when a check needs it."""

    def __init__(self, name, host, python="python3"):
        self.name = name
        self.host = host
        self.python = python
        self._cache = {}
        self._lock = threading.Lock()

    def _json(self, key, command, *args):
        with self._lock:
            if key not in self._cache:
                res = self.host.run(command, *args)
                if res.rc != 0:
                    self._cache[key] = (None, "`%s` failed on %s (rc %d): %s"
                                        % (key, self.name, res.rc, (res.stderr or res.stdout).strip()[:400]))
                else:
                    try:
                        self._cache[key] = (json.loads(res.stdout or "null"), None)
                    except ValueError as exc:
                        self._cache[key] = (None, "`%s` on %s gave no JSON: %s" % (key, self.name, exc))
            return self._cache[key]

    def read(self, key, command, *args):
        """Parsed JSON of a command; AssertionError naming the command when it cannot be read."""
        data, error = self._json(key, command, *args)
        assert error is None, error
        return data

    def prefetch(self, plan, refs):
        """Every read a host's checks need, as (callable) jobs to run in parallel."""
        jobs = [self.links, self.fdb, self.nft]
        if plan.get("frr"):
            jobs += [self.bgp_summary, self.evpn_vnis]
        if plan.get("dns") and _dns_config is not None:
            jobs.append(lambda: self.dnsmasq(plan["dns"]))
        if plan["ovs_bridges"] or plan["ovs_tunnels"]:
            jobs.append(self.ovs_model)
        else:
            jobs.append(self.has_ovs)
        for ref, ref_type in refs:
            jobs.append(lambda ref=ref, ref_type=ref_type: self.container(ref, ref_type))
        return jobs

    # --- links
    def links(self):
        return dict((l["ifname"], l) for l in self.read("ip -j -d addr show", "ip -j -d addr show") or [])

    def fdb(self):
        return self.read("bridge -j fdb show", "bridge -j fdb show") or []

    # --- OVS
    def ovs(self, table, columns):
        doc = self.read("ovs-vsctl list %s" % table, "ovs-vsctl -f json --columns=%s list %s"
                        % (",".join(columns), table))
        return ovs_rows(doc or {})

    def ovs_model(self):
        """{bridges: {name: row}, ports: {name: row}, interfaces: {name: row}, port_bridge: {port: bridge}}."""
        bridges = self.ovs("Bridge", ["_uuid", "name", "datapath_type", "ports", "external_ids"])
        ports = self.ovs("Port", ["_uuid", "name", "tag", "interfaces", "external_ids", "fake_bridge"])
        itfs = self.ovs("Interface", ["_uuid", "name", "type", "options", "external_ids", "ofport", "error"])
        port_by_uuid = dict((p["_uuid"], p["name"]) for p in ports)
        port_bridge = {}
        for b in bridges:
            for u in as_list(b["ports"]):
                if u in port_by_uuid:
                    port_bridge[port_by_uuid[u]] = b["name"]
        return {"bridges": dict((b["name"], b) for b in bridges), "ports": dict((p["name"], p) for p in ports),
                "interfaces": dict((i["name"], i) for i in itfs), "port_bridge": port_bridge}

    def has_ovs(self):
        data, error = self._json("ovs-vsctl list Bridge", "ovs-vsctl -f json --columns=%s list %s"
                                 % (",".join(["_uuid", "name", "datapath_type", "ports", "external_ids"]), "Bridge"))
        return error is None

    # --- BGP EVPN (FRR's JSON through vtysh)
    def bgp_summary(self):
        # bounded: vtysh waits for ever on a daemon that does not answer (a frozen bgpd)
        return self.read("show bgp summary json", "timeout 10 vtysh -c %s", "show bgp summary json") or {}

    def evpn_vnis(self):
        return self.read("show evpn vni detail json", "timeout 10 vtysh -c %s", "show evpn vni detail json") or {}

    # --- nftables
    def nft(self):
        return self.read("nft -j list ruleset", "nft -j list ruleset")

    # --- containers
    def netns_of(self, ref, ref_type):
        """The network namespace path of a container reference, or an AssertionError saying why not."""
        key = "netns %s %s" % (ref_type, ref)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._resolve(ref, ref_type)
        path, error = self._cache[key]
        assert error is None, error
        return path

    def _resolve(self, ref, ref_type):
        if ref_type == "pid":
            return "/proc/%s/ns/net" % ref, None
        if ref_type == "netns":
            return "/run/netns/%s" % ref, None
        if ref_type == "path":
            return ref, None
        tried = []
        for engine in (("docker",) if ref_type == "docker" else ("podman",) if ref_type == "podman"
                       else ("docker", "podman")):
            res = self.host.run("%s inspect --type container %%s" % engine, ref)
            if res.rc != 0:
                tried.append("%s: %s" % (engine, (res.stderr or res.stdout).strip()[:200]))
                continue
            info = json.loads(res.stdout)[0]
            state = info.get("State") or {}
            if not state.get("Running") or not state.get("Pid"):
                return None, "container %s is not running on %s (%s status: %s)" % (
                    ref, self.name, engine, state.get("Status"))
            return "/proc/%d/ns/net" % state["Pid"], None
        return None, "container %s not found on %s (%s)" % (ref, self.name, "; ".join(tried))

    def in_netns(self, netns, command, *args):
        return self.host.run("nsenter --net=%s " + command, netns, *args)

    def container(self, ref, ref_type):
        """{links: {ifname: link}, routes: [...]} inside a container (cached)."""
        netns = self.netns_of(ref, ref_type)
        links = self.read("links in %s" % netns, "nsenter --net=%s ip -j -d addr show", netns) or []
        routes = self.read("routes in %s" % netns, "nsenter --net=%s ip -j route show", netns) or []
        return {"netns": netns, "links": dict((l["ifname"], l) for l in links), "routes": routes}

    def policy(self, ref, ref_type):
        """{rules (IPv4), routes of every table, qdiscs} inside a container (cached)."""
        netns = self.netns_of(ref, ref_type)
        rules = self.read("rules in %s" % netns, "nsenter --net=%s ip -j -4 rule show", netns) or []
        routes = self.read("routes of every table in %s" % netns, "nsenter --net=%s ip -j route show table all",
                           netns) or []
        qdiscs = self.read("qdiscs in %s" % netns, "nsenter --net=%s tc -j qdisc show", netns) or []
        return {"netns": netns, "rules": rules, "routes": routes, "qdiscs": qdiscs}

    # --- probes (bounded)
    def ping(self, netns, address, count=2, wait=2, size=None, dont_fragment=False):
        """An ICMP echo probe from inside ``netns`` (the PING script: the host's Python, no ping program)."""
        res = self.host.run("nsenter --net=%s timeout 10 %s -c %s %s %s %s %s %s", netns, self.python, PING, address,
                            str(count), str(wait), str(56 if size is None else size),
                            "1" if dont_fragment else "0")
        try:
            got = json.loads(res.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"ok": False, "rc": res.rc, "probe_failed": True,
                    "output": "ICMP probe failed (rc %d): %s" % (res.rc, (res.stderr or res.stdout)[-300:])}
        return {"ok": got["rc"] == 0, "rc": got["rc"], "output": got["output"]}

    def missing_programs(self, ref_types=(), ovs=False, dns=False, evpn=False):
        """The audit's prerequisites this host lacks, as [(program, package)], in two remote calls.

        ``ref_types`` are the model's container reference types on this host: docker needs
        ``docker``, podman ``podman``, auto either of them; pid, netns and path need nothing more.
        """
        needed = list(REQUIRED) + (list(REQUIRED_OVS) if ovs else []) + (list(REQUIRED_DNS) if dns else []) + (
            list(REQUIRED_EVPN) if evpn else [])
        engines = [p for p, _pkg in REQUIRED_ENGINE["docker"] + REQUIRED_ENGINE["podman"]]
        script = "for p in %s; do command -v \"$p\" >/dev/null 2>&1 || echo \"$p\"; done" % " ".join(
            [p for p, _pkg in needed] + engines)
        absent = set(self.host.run("sh -c %s", script).stdout.split())
        out = [(p, pkg) for p, pkg in needed if p in absent]
        for ref_type in sorted(set(ref_types)):
            if ref_type in REQUIRED_ENGINE:
                out += [(p, pkg) for p, pkg in REQUIRED_ENGINE[ref_type] if p in absent]
            elif ref_type == "auto" and {"docker", "podman"} <= absent:
                out.append(("docker or podman", "docker.io or podman"))
        python = self.host.run("%s -c %s", self.python, "import json, select, socket, struct")
        if python.rc != 0:
            out.insert(0, (self.python, "python3"))
        return sorted(set(out), key=out.index)

    def connect(self, netns, proto, address, port, timeout=2):
        prefix = "nsenter --net=%s " % netns if netns else ""
        res = self.host.run(prefix + "timeout 10 %s -c %s %s %s %s %s", self.python, CLIENT, proto, address,
                            str(port), str(timeout))
        try:
            return json.loads(res.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"ok": False, "probe_failed": True,
                    "error": "probe failed (rc %d): %s" % (res.rc, (res.stderr or res.stdout)[-300:])}

    def serve(self, netns, container, ports, deadline):
        res = self.host.run("nsenter --net=%s %s -c %s %s %s %s", netns, self.python, SERVER, container,
                            str(deadline), json.dumps(ports))
        if res.rc != 0:
            return {"error": "server for %s did not start on %s (rc %d): %s"
                    % (container, self.name, res.rc, (res.stderr or res.stdout)[-300:])}
        return json.loads(res.stdout.strip().splitlines()[-1])

    def echo_requests(self, netns):
        """ICMP echo requests the namespace has received (``Icmp: InEchos`` of /proc/net/snmp)."""
        res = self.host.run("nsenter --net=%s cat /proc/net/snmp", netns)
        lines = res.stdout.splitlines()
        for head, values in zip(lines[0::2], lines[1::2]):
            if head.startswith("Icmp:"):
                return dict(zip(head.split()[1:], values.split()[1:])).get("InEchos")
        return None

    def attack(self, netns, *args):
        """Run one bounded attack in a namespace; the number of packets it sent."""
        res = self.host.run("nsenter --net=%s timeout 10 " + self.python + " -c %s" + " %s" * len(args),
                            netns, ATTACK, *[str(a) for a in args])
        try:
            return int(res.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return 0

    def resolve_names(self, batches, timeout=2, tries=2):
        """Run the DNS client in each namespace of ``{netns: [jobs]}`` at once, in one remote call:
        ``{netns: {job id: trail}}``, or ``{netns: {"error": why}}``."""
        if not batches:
            return {}
        res = self.host.run("timeout 60 %s -c %s %s %s %s %s", self.python, IN_NAMESPACES, DNS_CLIENT,
                            json.dumps(batches), str(timeout), str(tries))
        try:
            return json.loads(res.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            why = "DNS probe failed on %s (rc %d): %s" % (self.name, res.rc, (res.stderr or res.stdout)[-300:])
            return dict((ns, {"error": why}) for ns in batches)

    def dnsmasq(self, entries):
        """Our dnsmasq instances of the plan's ``dns`` entries and the host's listening sockets
        (DNSMASQ_STATE), read once."""
        assert _dns_config is not None, "this collection has no dnsmasq module (module_utils/_dns)"
        specs = {}
        for entry in entries:
            paths = _names.dnsmasq_paths(entry["name"])
            restart, reload_ = _dns_config.file_paths(entry["name"])
            specs[entry["name"]] = {"pidfile": paths["pidfile"], "leases": paths["leases"], "files": restart + reload_}
        users = list(_dns_manager.USERS)
        key = "dnsmasq state"
        with self._lock:
            if key not in self._cache:
                res = self.host.run("%s -c %s %s %s", self.python, DNSMASQ_STATE, json.dumps(specs), json.dumps(users))
                try:
                    self._cache[key] = (json.loads(res.stdout.strip().splitlines()[-1]), None)
                except (ValueError, IndexError):
                    self._cache[key] = (None, "cannot read the dnsmasq instances on %s (rc %d): %s" % (
                        self.name, res.rc, (res.stderr or res.stdout).strip()[-400:]))
        data, error = self._cache[key]
        assert error is None, error
        return data

    def kill(self, pid):
        self.host.run("kill %s", str(pid))

    # --- WireGuard (encrypted networks): only public keys are read, never `wg show dump` (it prints the private one)
    def wireguard(self, name, peer_addresses=()):
        """Our WireGuard device ``name`` as ``wg`` shows it, after a bounded ping of each peer's tunnel
        address from the host itself (traffic starts a handshake when the last one is stale):
        ``{public_key, now, peers: {public key: {endpoint, allowed_ips, handshake}}}``, or None without it."""
        for address in peer_addresses:
            self.host.run("timeout 10 %s -c %s %s 1 2 56 0", self.python, PING, address)
        res = self.host.run("wg show %s public-key && echo --- && wg show %s endpoints && echo --- && "
                            "wg show %s allowed-ips && echo --- && wg show %s latest-handshakes && echo --- && "
                            "date +%%s", name, name, name, name)
        if res.rc != 0:
            return None
        parts = res.stdout.split("---\n")
        peers = {}
        for field, text in zip(("endpoint", "allowed_ips", "handshake"), parts[1:4]):
            for line in text.splitlines():
                key, _sep, value = line.partition("\t")
                peer = peers.setdefault(key, {})
                if field == "allowed_ips":
                    peer[field] = sorted(value.split()) if value != "(none)" else []
                elif field == "handshake":
                    peer[field] = int(value) if value.isdigit() else 0
                else:
                    peer[field] = value if value != "(none)" else None
        return {"public_key": parts[0].strip(), "now": int(parts[4].strip()), "peers": peers}
