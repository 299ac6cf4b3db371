"""The wireguard module's pure part (_wireguard/config.py): parameters, the configuration text, wg showconf's
format, the comparison, and the plan (keys, backends, ownership of the steps)."""

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._daemon import Step as DStep, marked
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter
from ansible_collections.netwire.fabric.plugins.module_utils._wireguard import config as c

K1 = 'VLMlBuliEwx8S0xqkpL6i/9DvzbvS8C64AhC7+H+b1o='
K2 = 'pUO/ubSLxfGs1AMQPKjDT7iFrbrbNFB3tE6adz6Z5DM='
PRIV = 'APTje+odsI2lIh2NQjL4/POQVaMgaySEkyyK9Y53Tno='
PRIV2 = 'ACiPr5bwvOatXhoJyCs2WY652HYSLSEFGBBGPnkHMWc='
CONF = '/etc/netwire/wireguard/nw-wg.conf'
KEY = '/etc/netwire/wireguard/nw-wg.key'
SOCK = '/var/run/wireguard/nw-wg.sock'
PIDFILE = '/run/netwire/wireguard-go-nw-wg.pid'

SHOWCONF = """[Interface]
ListenPort = 51820
PrivateKey = %s

[Peer]
PublicKey = %s
AllowedIPs = 10.99.0.2/32, 10.50.0.0/16
Endpoint = 198.19.0.12:51820
PersistentKeepalive = 25

[Peer]
PublicKey = %s
AllowedIPs = 10.99.0.3/32
Endpoint = 198.19.0.99:40000
""" % (PRIV, K2, K1)


def params(**kw):
    p = {'name': 'nw-wg', 'address': '10.99.0.1/24', 'peers': [
        {'public_key': K2, 'endpoint': '198.19.0.12', 'allowed_ips': ['10.50.0.0/16', '10.99.0.2'],
         'persistent_keepalive': 25},
        {'public_key': K1, 'allowed_ips': ['10.99.0.3/32']},
    ]}
    p.update(kw)
    return c.normalize(p)


def link(kind='tun', alias=_names.WIREGUARD_ALIAS, mtu=1420, up=True, addresses=('10.99.0.1/24',)):
    return {'kind': kind, 'alias': alias, 'mtu': mtu, 'up': up, 'addresses': list(addresses)}


def converged(p, kind='tun', **kw):
    """What the host has after a run with ``p``."""
    live = c.view(c.parse(c.with_private_key(c.render(p), PRIV)))
    cur = {'link': link(kind), 'live': live, 'key': PRIV, 'conf': marked(c.render(p)), 'dir': True,
           'daemon_running': 42, 'kernel': kind == 'wireguard'}
    cur.update(kw)
    return cur


def nothing(kernel=False):
    return {'link': None, 'live': None, 'key': None, 'conf': None, 'dir': False, 'daemon_running': None,
            'kernel': kernel}


def ops(steps):
    return [s.op for s in steps]


# ---------------------------------------------------------------- values

def test_keys_are_32_bytes_of_base64():
    assert c.key(' %s\n' % K1) == K1
    for bad in ('', 'abc', K1[:-2], K1 + 'AAAA', 'x' * 44, None):
        with pytest.raises(InvalidParameter, match='not a WireGuard key'):
            c.key(bad)


@pytest.mark.parametrize('text, want', [
    ('198.19.0.12', '198.19.0.12:51820'), ('198.19.0.12:4000', '198.19.0.12:4000'),
    ('[fd00::1]:51821', '[fd00::1]:51821'), ('fd00::1', '[fd00::1]:51820'), ('[fd00:0::1]', '[fd00::1]:51820'),
])
def test_endpoints_are_address_and_port(text, want):
    assert c.endpoint(text) == want


@pytest.mark.parametrize('text, match', [
    ('peer.example:51820', 'not a valid IP address'), ('198.19.0.12:x', 'not a number'),
    ('198.19.0.12:70000', 'out of range'),
])
def test_bad_endpoints(text, match):
    with pytest.raises(InvalidParameter, match=match):
        c.endpoint(text)


def test_normalize_sorts_peers_and_networks_and_defaults():
    p = params()
    assert p['listen_port'] == 51820 and p['backend'] == 'auto' and p['private_key_file'] == KEY
    assert [peer['public_key'] for peer in p['peers']] == sorted([K1, K2])
    by_key = dict((peer['public_key'], peer) for peer in p['peers'])
    assert by_key[K2] == {'public_key': K2, 'endpoint': '198.19.0.12:51820',
                          'allowed_ips': ['10.50.0.0/16', '10.99.0.2/32'], 'persistent_keepalive': 25}
    assert by_key[K1]['endpoint'] is None and by_key[K1]['persistent_keepalive'] is None
    assert c.normalize({'name': 'nw-wg', 'state': 'absent'})['private_key_file'] == KEY


@pytest.mark.parametrize('change, match', [
    ({'peers': [{'public_key': K1}, {'public_key': K1}]}, 'listed twice'),
    ({'peers': [{'public_key': K1, 'allowed_ips': ['10.99.0.2/32']},
                {'public_key': K2, 'allowed_ips': ['10.99.0.2']}]}, 'already allowed for peer'),
    ({'peers': [{'public_key': K1, 'allowed_ips': ['10.99.0.1/24']}]}, 'not a network'),
    ({'peers': [{'public_key': 'nope'}]}, r'peers\[0\].public_key is not a WireGuard key'),
    ({'listen_port': 0}, 'out of range'), ({'mtu': 1000}, 'out of range'),
    ({'address': '10.99.0.1'}, 'no prefix length'), ({'name': 'a-very-long-device'}, 'longer than 15'),
    ({'private_key_file': 'keys/x.key'}, 'not an absolute path'), ({'backend': 'bpf'}, 'not one of'),
])
def test_bad_parameters(change, match):
    with pytest.raises(InvalidParameter, match=match):
        params(**change)


# ---------------------------------------------------------------- text

def test_render_is_wg_format_without_the_private_key():
    text = c.render(params())
    assert text == ('[Interface]\nListenPort = 51820\n\n'
                    '[Peer]\nPublicKey = %s\nAllowedIPs = 10.99.0.3/32\n\n'
                    '[Peer]\nPublicKey = %s\nAllowedIPs = 10.50.0.0/16, 10.99.0.2/32\nEndpoint = 198.19.0.12:51820\n'
                    'PersistentKeepalive = 25\n' % tuple(sorted([K1, K2])))
    assert 'PrivateKey' not in text
    full = c.with_private_key(marked(text), PRIV)
    assert full.splitlines()[:4] == [_names.FILE_MARK, '[Interface]', 'PrivateKey = %s' % PRIV, 'ListenPort = 51820']
    assert c.with_private_key('', PRIV).startswith('[Interface]\nPrivateKey = ')


def test_parse_showconf_and_view():
    sections = c.parse(SHOWCONF)
    assert [s[0] for s in sections] == ['interface', 'peer', 'peer']
    live = c.view(sections)
    assert live['listen_port'] == 51820 and live['private_key'] == PRIV
    assert live['peers'] == sorted([
        {'public_key': K2, 'endpoint': '198.19.0.12:51820', 'allowed_ips': ['10.50.0.0/16', '10.99.0.2/32'],
         'persistent_keepalive': 25},
        {'public_key': K1, 'endpoint': '198.19.0.99:40000', 'allowed_ips': ['10.99.0.3/32'],
         'persistent_keepalive': None}], key=lambda peer: peer['public_key'])
    # a repeated key joins, comments and blank lines are skipped, key names are case-insensitive
    again = c.view(c.parse('# x\n[interface]\nlistenport=1\n[Peer]\npublickey = %s\nAllowedIPs = 10.0.0.1/32\n'
                           'AllowedIPs = 10.0.0.2/32  # more\n' % K1))
    assert again['listen_port'] == 1 and again['peers'][0]['allowed_ips'] == ['10.0.0.1/32', '10.0.0.2/32']
    assert c.view(c.parse('[Interface]\n'))['listen_port'] is None
    with pytest.raises(InvalidParameter, match='not "Key = value"'):
        c.parse('ListenPort = 1\n')


def test_same_config_ignores_a_learned_endpoint_only():
    p = params()
    live = c.view(c.parse(SHOWCONF))
    assert c.same_config(live, p)  # K1 has no endpoint configured: the one it roamed from is not a difference
    assert not c.same_config(live, params(listen_port=51821))
    assert not c.same_config(live, params(peers=[{'public_key': K2, 'endpoint': '198.19.0.12',
                                                  'allowed_ips': ['10.50.0.0/16', '10.99.0.2/32'],
                                                  'persistent_keepalive': 25}]))
    moved = params(peers=[dict(peer, endpoint='198.19.0.13') if peer['public_key'] == K2 else peer
                          for peer in params()['peers']])
    assert not c.same_config(live, moved)
    assert not c.same_config(None, p)


# ---------------------------------------------------------------- plan

def test_first_run_userspace():
    p = params()
    start = [DStep('start', None, None), DStep('record', '/run/netwire/wireguard-go-nw-wg.hash', 'h')]
    backend, steps = c.plan(p, nothing(), start)
    assert backend == 'userspace'
    assert ops(steps) == ['mkdir', 'genkey', 'write', 'daemon', 'daemon', 'wait', 'mark', 'syncconf', 'addr-add', 'up']
    assert steps[0] == c.Step('mkdir', _names.WIREGUARD_DIR, 0o700)
    assert steps[1] == c.Step('genkey', KEY, 'new')
    assert steps[2].target == CONF and steps[2].data.startswith(_names.FILE_MARK + '\n')
    assert steps[5] == c.Step('wait', 'nw-wg', SOCK)
    assert steps[6].data == 'netwire:wireguard'
    assert all(PRIV not in str(s) for s in steps)


def test_first_run_kernel_when_the_kernel_has_it():
    backend, steps = c.plan(params(mtu=1400), nothing(kernel=True), [])
    assert backend == 'kernel'
    assert ops(steps) == ['mkdir', 'genkey', 'write', 'create', 'mark', 'syncconf', 'mtu', 'addr-add', 'up']
    assert steps[3] == c.Step('create', 'nw-wg', 'wireguard')


def test_rerun_changes_nothing_and_keeps_the_key():
    p = params()
    for kind in ('tun', 'wireguard'):
        backend, steps = c.plan(p, converged(p, kind), [])
        assert steps == [] and backend == ('userspace' if kind == 'tun' else 'kernel')


def test_an_existing_key_is_kept_a_rotation_is_explicit():
    p = params()
    cur = dict(nothing(), key=PRIV, dir=True)
    assert 'genkey' not in ops(c.plan(p, cur, [DStep('start', None, None)])[1])
    steps = c.plan(params(rotate_key=True), converged(p), [])[1]
    assert ops(steps) == ['genkey', 'syncconf'] and steps[0].data == 'rotate'


def test_config_changes_write_and_sync():
    p = params()
    steps = c.plan(params(listen_port=51999), converged(p), [])[1]
    assert ops(steps) == ['write', 'syncconf']
    assert 'ListenPort = 51999' in steps[0].data
    # the device lost its key (someone ran wg set), or its peers differ from the file: sync, file untouched
    steps = c.plan(p, converged(p, live=dict(converged(p)['live'], private_key=PRIV2)), [])[1]
    assert ops(steps) == ['syncconf']
    steps = c.plan(p, converged(p, live=dict(converged(p)['live'], peers=[])), [])[1]
    assert ops(steps) == ['syncconf']


def test_link_settings_addresses_are_exclusive():
    p = params(mtu=1380)
    cur = converged(p, link=link(mtu=1420, up=False, addresses=['10.98.0.1/24']))
    steps = c.plan(p, cur, [])[1]
    assert steps == [c.Step('mtu', 'nw-wg', 1380), c.Step('addr-del', 'nw-wg', '10.98.0.1/24'),
                     c.Step('addr-add', 'nw-wg', '10.99.0.1/24'), c.Step('up', 'nw-wg', None)]
    # no address asked: the device's addresses are left alone
    p = params(address=None)
    assert c.plan(p, converged(p, link=link(addresses=['10.98.0.1/24'])), [])[1] == []


def test_backend_choice_and_replacement():
    assert c.choose_backend('auto', None, True) == 'kernel'
    assert c.choose_backend('auto', None, False) == 'userspace'
    assert c.choose_backend('auto', None, None) == 'userspace'
    assert c.choose_backend('auto', link('tun'), True) == 'userspace'  # an existing device keeps its kind
    assert c.choose_backend('kernel', link('tun'), True) == 'kernel'
    p = params(backend='kernel')
    stop = [DStep('stop', 42, None), DStep('forget', '/run/netwire/wireguard-go-nw-wg.pid', None)]
    backend, steps = c.plan(p, converged(p, 'tun', kernel=True), stop)
    assert backend == 'kernel'
    assert ops(steps) == ['daemon', 'daemon', 'delete', 'create', 'mark', 'syncconf', 'addr-add', 'up']
    p = params(backend='userspace')
    backend, steps = c.plan(p, converged(p, 'wireguard', daemon_running=None), [DStep('start', None, None)])
    assert ops(steps) == ['delete', 'daemon', 'wait', 'mark', 'syncconf', 'addr-add', 'up'] and backend == 'userspace'


def test_a_tun_device_without_our_wireguard_go_is_remade():
    p = params()
    steps = c.plan(p, converged(p, daemon_running=None), [DStep('start', None, None)])[1]
    assert ops(steps) == ['delete', 'daemon', 'wait', 'mark', 'syncconf', 'addr-add', 'up']
    assert steps[0].data == 'no wireguard-go of ours'


def test_a_restarted_wireguard_go_is_configured_again():
    p = params()
    steps = c.plan(p, converged(p), [DStep('restart', 42, None)])[1]
    assert ops(steps) == ['daemon', 'wait', 'mark', 'syncconf', 'addr-add', 'up']
    steps = c.plan(p, converged(p), [DStep('systemctl', ('enable', '--now', 'u'), None)])[1]
    assert ops(steps) == ['daemon', 'wait', 'mark', 'syncconf', 'addr-add', 'up']


def test_absent_keeps_the_key_unless_asked():
    p = c.normalize({'name': 'nw-wg', 'state': 'absent'})
    stop = [DStep('stop', 42, None)]
    cur = {'link': link(), 'conf': marked('x'), 'key_exists': True, 'entries': ['nw-wg.conf', 'nw-wg.key']}
    steps = c.plan_absent(p, cur, stop)
    assert ops(steps) == ['daemon', 'remove'] and steps[1].target == CONF  # wireguard-go takes its device along
    steps = c.plan_absent(c.normalize({'name': 'nw-wg', 'state': 'absent', 'remove_key': True}), cur, stop)
    assert ops(steps) == ['daemon', 'remove', 'remove', 'rmdir'] and steps[2].target == KEY
    # a kernel device, or a TUN device whose wireguard-go is not ours to stop, is deleted
    assert ops(c.plan_absent(p, dict(cur, link=link('wireguard')), [])) == ['delete', 'remove']
    assert ops(c.plan_absent(p, cur, [DStep('forget', PIDFILE, None)])) == ['daemon', 'delete', 'remove']
    # a configuration file without our mark is not ours; nothing there: nothing to do
    assert c.plan_absent(p, dict(cur, link=None, conf='[Interface]\n'), []) == []
    assert c.plan_absent(p, {'link': None, 'conf': None, 'key_exists': False, 'entries': None}, []) == []


def test_every_step_has_an_action_text():
    p = params(mtu=1300)
    steps = c.plan(p, nothing(kernel=True), [])[1]
    steps += c.plan_absent(c.normalize({'name': 'nw-wg', 'state': 'absent', 'remove_key': True}),
                           {'link': link(), 'conf': marked('x'), 'key_exists': True, 'entries': []}, [])
    steps += [c.Step('wait', 'nw-wg', SOCK), c.Step('addr-del', 'nw-wg', '10.1.0.1/24'), c.Step('daemon', 'x', None)]
    texts = [c.describe(s, lambda d: 'daemon %s' % d) for s in steps]
    assert len(texts) == len(steps) and all(texts)
    assert 'generate the private key %s (mode 0600)' % KEY in texts


# ---------------------------------------------------------------- the manager, on fakes (check mode)

@pytest.fixture
def host(tmp_path, monkeypatch):
    """Our directories under tmp_path, no systemd, wg and wireguard-go installed, wg faked, no kernel WireGuard."""
    from ansible_collections.netwire.fabric.plugins.module_utils import _daemon
    from ansible_collections.netwire.fabric.plugins.module_utils._wireguard import manager as m

    monkeypatch.setattr(_names, 'WIREGUARD_DIR', str(tmp_path / 'etc'))
    monkeypatch.setattr(_names, 'RUN_DIR', str(tmp_path / 'run'))
    monkeypatch.setattr(_names, 'WIREGUARD_SOCKET_DIR', str(tmp_path / 'sock'))
    monkeypatch.setattr(m, 'SHARED_DIRS', {str(tmp_path / 'run'): 0o755})
    monkeypatch.setattr(_daemon, 'SYSTEMD_RUNNING', str(tmp_path / 'no-systemd'))
    monkeypatch.setattr(m, 'find_program', lambda program: '/usr/bin/' + program)
    monkeypatch.setattr(_daemon, 'find_program', lambda program: '/usr/bin/' + program)
    monkeypatch.setattr(m, 'kernel_has_wireguard', lambda: False)
    calls = []

    def wg(self, args, data=None, verb=None):
        calls.append(args[0])
        assert args[0] in ('pubkey', 'showconf'), 'check mode ran wg %s' % args[0]
        return K1 + '\n' if args[0] == 'pubkey' else SHOWCONF

    monkeypatch.setattr(m.WireguardManager, 'wg', wg)
    return tmp_path, calls


def run(links=(), addresses=None, check_mode=True, **params):
    from ansible_collections.netwire.fabric.plugins.module_utils._contract import Context
    from ansible_collections.netwire.fabric.plugins.module_utils._wireguard.manager import WireguardManager
    from tests.unit.linux_fakes import FakeSession

    session = FakeSession(links=links, addresses=addresses, check_mode=check_mode)
    with Context(check_mode=check_mode, netlink=session) as ctx:
        return WireguardManager(ctx, dict({'name': 'nw-wg'}, **params)).run(), session


def test_check_mode_from_nothing_writes_nothing(host):
    tmp, calls = host
    res, session = run(address='10.99.0.1/24')
    out = res.as_dict()
    assert out['changed'] and out['wireguard']['backend'] == 'userspace' and out['wireguard']['public_key'] is None
    assert 'generate the private key %s/nw-wg.key (mode 0600)' % (tmp / 'etc') in out['actions']
    assert any('slower' in w for w in res.warnings)
    assert sorted(p.name for p in tmp.iterdir()) == [] and session.calls == [] and calls == []


def test_the_public_key_is_returned_never_the_private_one(host):
    tmp = host[0]
    (tmp / 'etc').mkdir()
    (tmp / 'etc' / 'nw-wg.key').write_text(PRIV + '\n')
    res = run(peers=[{'public_key': K2}])[0]
    out = res.as_dict()
    assert out['wireguard']['public_key'] == K1 and 'genkey' not in str(out['actions'])
    assert PRIV not in str(out)


def test_a_key_file_that_holds_no_key_is_left_alone(host):
    tmp = host[0]
    (tmp / 'etc').mkdir()
    (tmp / 'etc' / 'nw-wg.key').write_text('not a key\n')
    with pytest.raises(InvalidParameter, match='rotate_key: true replaces it'):
        run()
    res = run(rotate_key=True)[0]
    assert 'generate a new' not in str(res.actions) and 'generate the private key' in str(res.actions)


def test_a_device_of_that_name_not_ours_is_refused(host):
    from ansible_collections.netwire.fabric.plugins.module_utils._errors import NotOwned
    from tests.unit.linux_fakes import link as fake_link

    tmp = host[0]
    for params in ({}, {'state': 'absent'}):
        with pytest.raises(NotOwned, match="Failed to manage WireGuard device 'nw-wg'.*did not create it"):
            run(links=[fake_link(7, 'nw-wg', kind='tun')], **params)
    with pytest.raises(NotOwned, match='not a WireGuard device'):
        run(links=[fake_link(7, 'nw-wg', kind='bridge', alias=_names.WIREGUARD_ALIAS)])
    (tmp / 'etc').mkdir()
    (tmp / 'etc' / 'nw-wg.conf').write_text('[Interface]\n')
    with pytest.raises(NotOwned, match='netwire did not write it'):
        run()
    assert [p.name for p in tmp.iterdir()] == ['etc']


def test_a_converged_device_needs_nothing(host):
    from tests.unit.linux_fakes import link as fake_link

    tmp = host[0]
    p = {'address': '10.99.0.1/24', 'peers': [
        {'public_key': K2, 'endpoint': '198.19.0.12', 'allowed_ips': ['10.50.0.0/16', '10.99.0.2'],
         'persistent_keepalive': 25},
        {'public_key': K1, 'allowed_ips': ['10.99.0.3/32']}]}
    (tmp / 'etc').mkdir()
    (tmp / 'etc' / 'nw-wg.key').write_text(PRIV + '\n')
    (tmp / 'etc' / 'nw-wg.conf').write_text(marked(c.render(c.normalize(dict(p, name='nw-wg')))))
    kernel = fake_link(7, 'nw-wg', kind='wireguard', alias=_names.WIREGUARD_ALIAS, mtu=1420)
    res = run(links=[kernel], addresses={(None, 7): ['10.99.0.1/24']}, **p)[0]
    assert not res.changed and res.actions == [] and res.view['wireguard']['backend'] == 'kernel', res.actions
    assert res.warnings == []


def test_purge_takes_our_devices_and_files_only(host, monkeypatch):
    from ansible_collections.netwire.fabric.plugins.module_utils._contract import Context, Result
    from ansible_collections.netwire.fabric.plugins.module_utils._wireguard.manager import WireguardManager
    from tests.unit.linux_fakes import FakeSession, link as fake_link

    tmp = host[0]
    (tmp / 'etc').mkdir()
    (tmp / 'etc' / 'nw-b.conf').write_text(marked('[Interface]\n'))
    (tmp / 'etc' / 'theirs.conf').write_text('[Interface]\n')
    removed = []

    def fake_run(self):
        removed.append((self.name, self.state))
        return Result(changed=True, label=self.name)

    monkeypatch.setattr(WireguardManager, 'run', fake_run)
    links = [fake_link(1, 'nw-a', kind='tun', alias=_names.WIREGUARD_ALIAS), fake_link(2, 'wg0', kind='wireguard'),
             fake_link(3, 'nw-c', kind='wireguard', alias=_names.WIREGUARD_ALIAS)]
    with Context(check_mode=True, netlink=FakeSession(links=links)) as ctx:
        results = WireguardManager.purge(ctx, keep={'nw-c'})
    assert removed == [('nw-a', 'absent'), ('nw-b', 'absent')] and len(results) == 2
