"""The dnsmasq module's pure parts: parameters, the rendered files, the daemon it describes, the registry."""

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.netwire.fabric.plugins.module_utils import _names, _specs
from ansible_collections.netwire.fabric.plugins.module_utils._dns import config
from ansible_collections.netwire.fabric.plugins.module_utils._dns.manager import DnsmasqManager, instance
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, NetwireError
from ansible_collections.netwire.fabric.plugins.module_utils._host import kinds

ENTRY = {  # the example of ISSUE14.md's plan key `dns`
    'name': 'nw-dmz', 'state': 'present', 'network': 'dmz', 'interface': 'nw-dmz', 'address': '10.30.1.1',
    'subnet': '10.30.1.0/24', 'domain': 'netwire.internal', 'forward': [],
    'search': ['dmz.netwire.internal', 'netwire.internal'],
    'records': [{'name': 'web1.dmz.netwire.internal', 'address': '10.30.1.10'}],
    'dhcp': True, 'dhcp_range': None,
    'reservations': [{'mac': '02:00:00:00:00:0a', 'address': '10.30.1.10', 'name': 'web1'}],
}


def params(**kw):
    result = ArgumentSpecValidator(_specs.DNSMASQ).validate(dict(ENTRY, **kw))
    assert not result.error_messages, result.error_messages
    return config.normalize(result.validated_parameters)


def test_the_plan_entry_is_exactly_the_spec():
    assert set(ENTRY) == set(_specs.DNSMASQ)
    assert kinds.BY_KEY['dns'].section == 'fabric' and kinds.manager('dns') is DnsmasqManager
    keys = [k.key for k in kinds.KINDS]
    assert keys.index('dns') > keys.index('linux_tunnels') and keys.index('dns') > keys.index('ovs_tunnels')
    assert kinds.BY_KEY['dns'].depends(ENTRY) == ('nw-dmz',)


def test_paths():
    assert _names.dnsmasq_paths('nw-dmz') == {
        'conf': '/etc/netwire/dnsmasq/nw-dmz.conf', 'hosts_dir': '/etc/netwire/dnsmasq/nw-dmz.hosts.d',
        'dhcp_dir': '/etc/netwire/dnsmasq/nw-dmz.dhcp.d', 'pidfile': '/run/netwire/dnsmasq-nw-dmz.pid',
        'leases': '/var/lib/netwire/dnsmasq-nw-dmz.leases'}


def test_conf_text():
    p = params(forward=['192.0.2.53', '192.0.2.54#5353'], dhcp_range={'start': '10.30.1.200', 'end': '10.30.1.250'})
    text = config.conf_text(p, _names.dnsmasq_paths('nw-dmz'), 'dnsmasq', 'nogroup')
    assert text.splitlines()[1:] == [
        'no-resolv', 'no-hosts', 'bind-interfaces', 'interface=nw-dmz', 'listen-address=10.30.1.1',
        'except-interface=lo', 'pid-file=/run/netwire/dnsmasq-nw-dmz.pid', 'user=dnsmasq', 'group=nogroup',
        'domain-needed', 'bogus-priv', 'domain=netwire.internal', 'local=/netwire.internal/',
        'hostsdir=/etc/netwire/dnsmasq/nw-dmz.hosts.d', 'server=192.0.2.53', 'server=192.0.2.54#5353',
        'dhcp-range=10.30.1.0,static,255.255.255.0,infinite', 'dhcp-range=10.30.1.200,10.30.1.250,255.255.255.0,1h',
        'dhcp-hostsdir=/etc/netwire/dnsmasq/nw-dmz.dhcp.d', 'dhcp-authoritative',
        'dhcp-leasefile=/var/lib/netwire/dnsmasq-nw-dmz.leases', 'dhcp-option=option:router,10.30.1.1',
        'dhcp-option=option:dns-server,10.30.1.1',
        'dhcp-option=option:domain-search,dmz.netwire.internal,netwire.internal']
    # no forwarders, no DHCP: no server= line, no dhcp- line
    text = config.conf_text(params(dhcp=False, reservations=[]), _names.dnsmasq_paths('nw-dmz'))
    assert 'server=' not in text and 'dhcp' not in text and 'user=' not in text


def test_records_and_reservations():
    p = params(records=[{'name': 'b.dmz.netwire.internal.', 'address': '10.30.1.11'},
                        {'name': 'A.dmz.netwire.internal', 'address': '10.30.1.10'},
                        {'name': 'a.dmz.netwire.internal', 'address': '10.30.1.10'}],
               reservations=[{'mac': '02:00:00:00:00:0B', 'address': '10.30.1.11'},
                             {'mac': '02:00:00:00:00:0a', 'address': '10.30.1.10', 'name': 'web1'}])
    assert config.records_text(p) == '10.30.1.10 a.dmz.netwire.internal\n10.30.1.11 b.dmz.netwire.internal\n'
    assert config.reservations_text(p) == '# web1\n02:00:00:00:00:0a,10.30.1.10,infinite\n' \
                                          '02:00:00:00:00:0b,10.30.1.11,infinite\n'


@pytest.mark.parametrize('change,fragment', [
    ({'domain': 'bad_domain!'}, "domain 'bad_domain!' is not a valid DNS name"),
    ({'address': '10.31.1.1'}, 'address 10.31.1.1 is not in the subnet 10.30.1.0/24'),
    ({'interface': None}, 'interface is required with state=present'),
    ({'forward': ['192.0.2.1#x']}, 'the port after'),
    ({'dhcp_range': {'start': '10.30.1.250', 'end': '10.30.1.200'}}, 'is after its end'),
    ({'dhcp': False}, 'reservations and dhcp_range need dhcp: true'),
    ({'reservations': [{'mac': '02:00:00:00:00:01', 'address': '10.30.1.10'},
                       {'mac': '02:00:00:00:00:02', 'address': '10.30.1.10'}]}, 'is reserved for both'),
    ({'records': [{'name': '-x.netwire.internal', 'address': '10.30.1.1'}]}, 'is not a valid DNS name'),
])
def test_bad_input(change, fragment):
    with pytest.raises(InvalidParameter) as err:
        params(**change)
    assert fragment in str(err.value)


def test_the_manager_names_the_instance_in_its_errors():
    with pytest.raises(NetwireError) as err:
        DnsmasqManager(None, dict(ENTRY, domain='a..b'))
    assert str(err.value).startswith("Failed to manage dnsmasq 'nw-dmz': domain 'a..b'")


def test_the_daemon_of_an_instance():
    p = params()
    dmn = instance(p, '/usr/sbin/dnsmasq', 'dnsmasq', 'nogroup', systemd=False)
    assert dmn.argv == ['/usr/sbin/dnsmasq', '--conf-file=/etc/netwire/dnsmasq/nw-dmz.conf']
    assert list(dmn.files) == ['/etc/netwire/dnsmasq/nw-dmz.conf']
    assert sorted(dmn.reload_files) == ['/etc/netwire/dnsmasq/nw-dmz.dhcp.d/reservations',
                                        '/etc/netwire/dnsmasq/nw-dmz.hosts.d/records']
    assert dmn.pidfile == '/run/netwire/dnsmasq-nw-dmz.pid' and dmn.forks
    absent = instance({'name': 'nw-dmz', 'state': 'absent'}, '/usr/sbin/dnsmasq', systemd=False)
    assert absent.argv == dmn.argv and sorted(absent.files) == sorted(dmn.files)
    assert sorted(absent.reload_files) == sorted(dmn.reload_files)
    assert absent.runtime_files == ['/var/lib/netwire/dnsmasq-nw-dmz.leases']
    # a record change is reload-only; a domain change changes the hash (restart)
    other = instance(params(records=[]), '/usr/sbin/dnsmasq', 'dnsmasq', 'nogroup', systemd=False)
    assert other.want_hash() == dmn.want_hash()
    other = instance(params(domain='lab.internal'), '/usr/sbin/dnsmasq', 'dnsmasq', 'nogroup', systemd=False)
    assert other.want_hash() != dmn.want_hash()


def test_purge_keeps_the_declared_instances(monkeypatch, tmp_path):
    monkeypatch.setattr(_names, 'DNSMASQ_DIR', str(tmp_path / 'absent'))
    monkeypatch.setattr('ansible_collections.netwire.fabric.plugins.module_utils._daemon.owned_instances',
                        lambda directory, suffix: ['nw-a', 'nw-b'])
    removed = []

    def run(self):
        removed.append(self.name)
        return type('R', (), {'changed': True})()

    monkeypatch.setattr(DnsmasqManager, 'run', run)
    # the bridge name alone does not keep an instance: its network may have lost its DNS
    DnsmasqManager.purge(None, {'nw-a', 'nw-b', _names.dns_keep_name('nw-b')})
    assert removed == ['nw-a']
    del removed[:]
    DnsmasqManager.purge(None, None)
    assert removed == ['nw-a', 'nw-b']


class _Ctx(object):
    def __init__(self, check_mode):
        self.check_mode = check_mode


def test_purge_removes_our_directory_once_nothing_is_left_in_it(monkeypatch, tmp_path):
    directory = tmp_path / 'dnsmasq'
    monkeypatch.setattr(_names, 'DNSMASQ_DIR', str(directory))
    monkeypatch.setattr(_names, 'dnsmasq_paths', lambda name: {
        'conf': str(directory / (name + '.conf')), 'hosts_dir': str(directory / (name + '.hosts.d')),
        'dhcp_dir': str(directory / (name + '.dhcp.d'))})
    directory.mkdir()
    (directory / 'nw-a.conf').write_text('# managed by netwire.fabric\n')
    (directory / 'nw-a.hosts.d').mkdir()
    # check mode: the instance's files would go, so would the directory; nothing is touched
    res = DnsmasqManager._remove_empty_dir(_Ctx(True), ['nw-a'])
    assert res.changed and res.actions == ['remove directory %s' % directory]
    assert (directory / 'nw-a.conf').exists()
    # a file that is not an instance's keeps the directory, in check mode and for real
    (directory / 'notes.txt').write_text('not ours')
    assert not DnsmasqManager._remove_empty_dir(_Ctx(True), ['nw-a']).changed
    for entry in ('nw-a.conf', 'notes.txt'):
        (directory / entry).unlink()
    (directory / 'nw-a.hosts.d').rmdir()
    # empty: removed, then nothing more to do
    assert DnsmasqManager._remove_empty_dir(_Ctx(False), []).changed
    assert not directory.exists()
    assert not DnsmasqManager._remove_empty_dir(_Ctx(False), []).changed
