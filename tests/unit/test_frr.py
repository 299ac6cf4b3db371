"""The frr module's pure parts: parameters, the rendered files, the daemons' argv, whose FRR files these are,
the plan (what a run would do, and that a converged host plans nothing), and FRR's JSON read for net_info."""

import json

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils import _daemon as d
from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, NotOwned
from ansible_collections.netwire.fabric.plugins.module_utils._frr import config, manager
from ansible_collections.netwire.fabric.plugins.module_utils._frr.info import evpn_facts

BASE = {'asn': 65010, 'router_id': '198.19.0.11', 'neighbors': ['198.19.0.13', '198.19.0.12']}
PACKAGE_CONF = """# default to using syslog. /etc/rsyslog.d/45-frr.conf places the log in
# /var/log/frr/frr.log
#
log syslog informational
"""
PACKAGE_DAEMONS = "bgpd=no\nospfd=no\nvtysh_enable=yes\nzebra_options=\"  -A 127.0.0.1 -s 90000000\"\n"


def params(**kw):
    p = dict(BASE)
    p.update(kw)
    return config.normalize(p)


def current(dmn, pid=None, files=None, hash_=None, dirs=True, owners=None):
    return {
        'pid': pid, 'pidfile': pid is not None, 'foreign_pid': None, 'files': dict(files or {}), 'hash': hash_,
        'hash_file': None if hash_ is None else d.marked(hash_),
        'dirs': dict((p, dirs) for p in list(dmn.dirs) + list(dmn.instance_dirs)), 'entries': {}, 'runtime': {},
        'log': False, 'owners': dict(owners if owners is not None else dict((p, dmn.owners[p]) for p in dmn.owners)),
    }


def running(dmn, pid):
    return current(dmn, pid=pid, files=dict((p, t) for p, t in dmn.wanted().items()), hash_=dmn.want_hash())


def ops(planned):
    return [(dmn.name, s.op) for dmn, steps in planned for s in steps]


# ------------------------------------------------------------ parameters

def test_normalize_sorts_neighbours_and_fills_defaults():
    p = params()
    assert p['neighbors'] == ['198.19.0.12', '198.19.0.13']
    assert (p['keepalive'], p['holdtime'], p['advertise_all_vni'], p['route_reflector_client']) == (3, 9, True, False)
    assert (p['conf_dir'], p['run_dir']) == ('/etc/frr', '/run/frr')


@pytest.mark.parametrize('kw, text', [
    ({"asn": 64511}, "not a private ASN"),
    ({'asn': 100}, 'not a private ASN'),
    ({'router_id': '2001:db8::1'}, 'IPv4'),
    ({'neighbors': ['198.19.0.11']}, 'is this host'),
    ({'neighbors': ['198.19.0.12', '198.19.0.12']}, 'listed twice'),
    ({'keepalive': 5, 'holdtime': 9}, 'less than 3 x keepalive'),
    ({'asn': None}, 'asn is required'),
])
def test_bad_parameters_are_refused(kw, text):
    with pytest.raises(InvalidParameter) as err:
        params(**kw)
    if text:
        assert text in err.value.msg


def test_absent_needs_no_asn():
    p = config.normalize({'state': 'absent'})
    assert p['state'] == 'absent' and config.view(p)['state'] == 'absent'


# ------------------------------------------------------------ rendered files

def test_conf_is_marked_ibgp_evpn_only():
    text = config.render_conf(params(keepalive=1, holdtime=3))
    lines = text.splitlines()
    assert lines[0] == _names.FILE_MARK
    assert 'router bgp 65010' in lines and ' bgp router-id 198.19.0.11' in lines
    assert ' no bgp default ipv4-unicast' in lines and ' timers bgp 1 3' in lines
    for n in ('198.19.0.12', '198.19.0.13'):
        assert ' neighbor %s remote-as internal' % n in lines
        assert ' neighbor %s update-source 198.19.0.11' % n in lines
        assert '  neighbor %s activate' % n in lines
    assert '  advertise-all-vni' in lines
    assert 'route-reflector-client' not in text
    # the same parameters render the same text (the file is the idempotence key)
    assert text == config.render_conf(params(keepalive=1, holdtime=3, neighbors=['198.19.0.12', '198.19.0.13']))


def test_reflector_lists_its_clients():
    text = config.render_conf(params(route_reflector_client=True, advertise_all_vni=False))
    assert '  neighbor 198.19.0.12 route-reflector-client' in text.splitlines()
    assert 'advertise-all-vni' not in text


def test_daemons_file_runs_bgpd_only():
    text = config.render_daemons(params())
    assert text.startswith(_names.FILE_MARK + '\n')
    assert 'bgpd=yes' in text.splitlines()
    assert [l for l in text.splitlines() if l.endswith('=yes')] == ['bgpd=yes', 'vtysh_enable=yes']


def test_argv_keeps_everything_in_run_dir():
    p = params(run_dir='/run/x', program_dir='/opt/frr')
    assert config.daemon_argv(p, 'zebra') == ['/opt/frr/zebra', '-d', '-A', '127.0.0.1', '-s', '90000000', '-i',
                                              '/run/x/zebra.pid', '--vty_socket', '/run/x', '-z', '/run/x/zserv.api']
    assert config.daemon_argv(p, 'bgpd')[-6:] == ['-i', '/run/x/bgpd.pid', '--vty_socket', '/run/x', '-z',
                                                  '/run/x/zserv.api']
    argv = config.reload_argv(p)
    # never writes frr.conf back (the target is the confdir's own frr.conf), logs to its output
    assert argv[0] == '/opt/frr/frr-reload.py' and argv[-1] == '/etc/frr/frr.conf' and '--stdout' in argv


# ------------------------------------------------------------ whose FRR files

@pytest.mark.parametrize('conf, daemons, finding', [
    (None, None, None),
    (PACKAGE_CONF, PACKAGE_DAEMONS, None),
    ('', '', None),
    (config.render_conf(params()), config.render_daemons(params()), None),
    ('router ospf\n network 10.0.0.0/8 area 0\n', None, "frr.conf configures 'router ospf'"),
    (PACKAGE_CONF, 'ospfd=yes\nbgpd=no\n', 'the daemons file enables ospfd'),
    ('hostname r1\nip route 10.9.0.0/16 192.0.2.1\n', None, "configures 'ip route"),
])
def test_foreign_config(conf, daemons, finding):
    got = config.foreign_config(conf, daemons)
    assert (got is None) if finding is None else (finding in got), got


# ------------------------------------------------------------ the plan (the idempotence decision)

def build(systemd=False, **kw):
    p = params(**kw)
    return p, manager.instances(p, systemd)


def test_fresh_host_writes_starts_then_applies_the_conf():
    p, daemons = build()
    planned, apply_conf = manager.plan(p, daemons, [current(x, dirs=False, owners={}) for x in daemons])
    assert ops(planned) == [('zebra', 'mkdir'), ('zebra', 'mkdir'), ('zebra', 'chown'), ('zebra', 'write'),
                            ('zebra', 'write'), ('zebra', 'start'), ('zebra', 'record'),
                            ('bgpd', 'start'), ('bgpd', 'record')]
    assert apply_conf


def test_converged_host_plans_nothing():
    p, daemons = build()
    planned, apply_conf = manager.plan(p, daemons, [running(x, 40 + i) for i, x in enumerate(daemons)])
    assert ops(planned) == [] and not apply_conf


def test_new_neighbour_is_applied_by_frr_reload_not_a_restart():
    old_p, old = build()
    p, daemons = build(neighbors=['198.19.0.12', '198.19.0.13', '198.19.0.14'])
    cur = [running(x, 40 + i) for i, x in enumerate(old)]
    planned, apply_conf = manager.plan(p, daemons, cur)
    assert ops(planned) == [('zebra', 'write')] and apply_conf


def test_changed_daemons_file_restarts():
    p, daemons = build()
    cur = [running(x, 40 + i) for i, x in enumerate(daemons)]
    cur[0]['files'][config.paths(p)['daemons']] = d.marked('bgpd=yes\n')
    cur[0]['hash'] = 'old'
    planned, apply_conf = manager.plan(p, daemons, cur)
    assert ('zebra', 'restart') in ops(planned) and apply_conf


def test_stopped_bgpd_is_started_and_configured():
    p, daemons = build()
    cur = [running(daemons[0], 40), running(daemons[1], None)]
    planned, apply_conf = manager.plan(p, daemons, cur)
    assert ops(planned) == [('bgpd', 'start')] and apply_conf


def test_package_defaults_are_replaced_someone_elses_config_is_a_finding():
    p, daemons = build()
    fp = config.paths(p)
    cur = [current(x) for x in daemons]
    cur[0]['files'] = {fp['conf']: PACKAGE_CONF, fp['daemons']: PACKAGE_DAEMONS}
    planned = manager.plan(p, daemons, cur)[0]
    assert [s.target for dmn, steps in planned for s in steps if s.op == 'write'] == [fp['daemons'], fp['conf']]
    cur = [current(x) for x in daemons]
    cur[0]['files'] = {fp['conf']: 'router bgp 65001\n neighbor 192.0.2.1 remote-as 65002\n'}
    with pytest.raises(NotOwned) as err:
        manager.plan(p, daemons, cur)
    assert 'configured for another purpose' in str(err.value) and 'never overwrites' in str(err.value)


def test_a_process_not_ours_in_our_pidfile_is_a_finding():
    p, daemons = build()
    cur = [running(x, 40 + i) for i, x in enumerate(daemons)]
    cur[1]['pid'], cur[1]['foreign_pid'] = None, 77
    with pytest.raises(NotOwned):
        manager.plan(p, daemons, cur)


def test_absent_stops_bgpd_first_and_removes_only_marked_files():
    p = config.normalize({'state': 'absent'})
    daemons = manager.instances(p, False)
    fp = config.paths(p)
    cur = [current(daemons[0], pid=40, files={fp['conf']: d.marked('x'), fp['daemons']: PACKAGE_DAEMONS}, hash_='h'),
           current(daemons[1], pid=41, hash_='h')]
    planned, apply_conf = manager.plan(p, daemons, cur)
    steps = [(dmn.name, s.op, s.target) for dmn, ss in planned for s in ss]
    assert steps[0] == ('bgpd', 'stop', 41)
    assert ('zebra', 'stop', 40) in steps and ('zebra', 'remove', fp['conf']) in steps
    assert not any(t == fp['daemons'] for name, op, t in steps)   # not ours: stays
    assert not apply_conf


def test_systemd_host_uses_the_packages_unit():
    p, daemons = build(systemd=True)
    assert len(daemons) == 1 and daemons[0].unit == 'frr.service' and daemons[0].unit_path is None
    assert set(daemons[0].wanted()) == set([config.paths(p)['conf'], config.paths(p)['daemons']])
    cur = [dict(current(daemons[0]), active=False, enabled=False)]
    planned, apply_conf = manager.plan(p, daemons, cur)
    assert ('frr', 'systemctl') in ops(planned) and not apply_conf
    assert ('enable', '--now', 'frr.service') in [s.target for dmn, ss in planned for s in ss]
    # only a new frr.conf: systemd's reload (frrinit.sh runs frr-reload.py)
    cur = [dict(running(daemons[0], None), active=True, enabled=True)]
    cur[0]['files'][config.paths(p)['conf']] = d.marked('old')
    planned = manager.plan(p, daemons, cur)[0]
    assert [s.target for dmn, ss in planned for s in ss if s.op == 'systemctl'] == [('reload', 'frr.service')]
    # absent disables it only when our files are there
    pa = config.normalize({'state': 'absent'})
    dmn = manager.instances(pa, True)[0]
    cur = [dict(current(dmn, files={config.paths(pa)['conf']: PACKAGE_CONF}), active=True, enabled=True)]
    assert dmn.plan(cur[0], 'absent') == []


# ------------------------------------------------------------ FRR's JSON (net_info)

SUMMARY = {"l2VpnEvpn": {"routerId": "198.19.0.11", "as": 65010, "peers": {
    "198.19.0.12": {"remoteAs": 65010, "peerUptime": "00:00:05", "pfxRcd": 1, "state": "Established"},
    "198.19.0.13": {"remoteAs": 65010, "peerUptime": "never", "state": "Active"}}}}
# FRR 8.4's `show evpn vni detail json`: a list, and numRemoteVteps holds the remote VTEPs
DETAIL = [{"vni": 4100, "type": "L2", "vxlanInterface": "vx0", "vtepIp": "198.19.0.11",
           "numRemoteVteps": ["198.19.0.13", "198.19.0.12"]},
          {"vni": 4200, "type": "L2", "vxlanInterface": "vx1", "vtepIp": "198.19.0.11", "numRemoteVteps": 0}]


def test_sessions_and_vnis_are_read_from_json():
    s = config.bgp_sessions(SUMMARY)
    assert s['l2VpnEvpn']['router_id'] == '198.19.0.11'
    assert s['l2VpnEvpn']['peers']['198.19.0.12']['state'] == 'Established'
    assert s['l2VpnEvpn']['peers']['198.19.0.13']['state'] == 'Active'
    v = config.evpn_vnis(DETAIL)
    assert v['4100'] == {'type': 'L2', 'vxlan_interface': 'vx0', 'local_vtep': '198.19.0.11',
                         'remote_vteps': ['198.19.0.12', '198.19.0.13']}
    assert v['4200']['remote_vteps'] == []
    # `show evpn vni json`'s shape (keyed by VNI, remoteVteps) reads the same
    assert config.evpn_vnis({"4100": {"vni": 4100, "vxlanIf": "vx0", "numRemoteVteps": 1,
                                      "remoteVteps": ["198.19.0.12"]}})['4100']['remote_vteps'] == ['198.19.0.12']


def test_evpn_facts(tmp_path):
    assert evpn_facts(None, str(tmp_path), '/etc/frr', None)['reason'].startswith('vtysh is not installed')
    facts = evpn_facts(None, str(tmp_path), '/etc/frr', '/usr/bin/vtysh')
    assert not facts['available'] and 'no bgpd runs' in facts['reason']
    for n in ('bgpd.vty', 'zebra.vty'):
        (tmp_path / n).write_text('')
    calls = []

    def runner(argv):
        calls.append(argv)
        return 0, json.dumps(SUMMARY if 'summary' in argv[-1] else DETAIL), ''
    facts = evpn_facts(runner, str(tmp_path), '/etc/frr', '/usr/bin/vtysh')
    assert facts['available'] and facts['vnis']['4100']['remote_vteps'] == ['198.19.0.12', '198.19.0.13']
    assert [c[-1] for c in calls] == ['show bgp summary json', 'show evpn vni detail json']
    assert calls[0][:3] == ['/usr/bin/vtysh', '--vty_socket', str(tmp_path)]
    facts = evpn_facts(lambda argv: (1, '', '% bgpd is not running'), str(tmp_path), '/etc/frr', '/usr/bin/vtysh')
    assert not facts['available'] and 'bgpd is not running' in facts['reason']
