"""host_network: entry checking, composition order, check-mode dependencies, purge.

The managers are replaced by recorders: what is tested here is the
composition (the managers themselves have their own unit and lab tests).
"""

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils._host import network as hn
from ansible_collections.netwire.fabric.plugins.module_utils._host.attach import ContainerAttachManager
from ansible_collections.netwire.fabric.plugins.module_utils._linux.bridge import LinuxBridgeManager
from ansible_collections.netwire.fabric.plugins.module_utils._linux.tunnel import LinuxTunnelManager
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter


class Session(object):
    """Stands for NetlinkSession: links by name, records deletions."""

    def __init__(self, links=None, check_mode=False):
        self._links = dict((l['ifname'], l) for l in (links or []))
        self.check_mode = check_mode
        self.calls = []

    def __call__(self, check_mode=False):
        self.check_mode = check_mode
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def links(self, netns=None):
        return dict(self._links)

    def link(self, name, netns=None):
        return self._links.get(name)

    def link_addresses(self, index, netns=None):
        return []

    def routes(self, netns=None):
        return []

    def invalidate(self, netns=None):
        pass

    def call(self, verb, what, name, method, *args, **kwargs):
        self.calls.append((verb, what, name, method, kwargs.get('index')))
        if getattr(self, 'log', None) is not None:
            self.log.append((verb, name, None))
        self._links.pop(name, None)


def ovs_snapshot(ovs=None, foreign=()):
    """OVSDB as the preflight reads it: our bridges (nw-dmz and ``ovs['bridges']``), and foreign ones."""
    snap = {'bridges': {}, 'ports': {}, 'interfaces': {}}
    for name in set(['nw-dmz'] + list((ovs or {}).get('bridges', []))):
        snap['bridges'][name] = {'name': name, 'external_ids': {'netwire-owner': 'netwire.fabric'}}
    for name in foreign:
        snap['bridges'][name] = {'name': name, 'external_ids': {}}
    return snap


def backends(session, log, existing=(), ovs=None, missing=(), foreign_ovs=(), fw_tables=('netwire',),
             fw_warnings=()):
    def manager(kind, real):
        class Mgr(real):  # the real purge (ownership), a recorder for run()
            def __init__(self, ctx, params, netns=None):
                self.ctx = ctx
                self.p = params

            def run(self):
                name = hn.entry_label({'ovs_tunnel': 'ovs_tunnels', 'container_attach': 'attachments'}.get(
                    kind, kind + 's'), self.p)
                log.append((kind, name, self.p['state']))
                changed = name not in existing
                return {'changed': changed, 'actions': ['%s %s' % (kind, name)] if changed else [],
                        'diff': {'before': None, 'after': {'name': name}}}
        return Mgr

    class Attach(manager('container_attach', ContainerAttachManager)):
        @staticmethod
        def purge_ovs_ports(ctx, keep=None):
            log.append(('ovs_attach_cleanup', keep, None))
            return []

    class Firewall(object):
        table_name = 'netwire'

        def __init__(self, ctx, params):
            self.params = params

        def current(self):
            return {'tables': [{'family': 'inet', 'name': t} for t in fw_tables]}

        def run(self):
            if self.params['state'] == 'absent':
                log.append(('firewall', None, 'absent'))
                return {'changed': True, 'actions': ['delete tables']}
            log.append(('firewall', [n['name'] for n in self.params['networks']], 'present'))
            return {'changed': False, 'actions': [], 'warnings': list(fw_warnings)}

    class Dns(object):  # a recorder; its purge never reads this machine's /etc/netwire
        kept = []

        def __init__(self, ctx, params):
            self.p = params

        def run(self):
            log.append(('dns', self.p['name'], self.p['state']))
            return {'changed': True, 'actions': ['dnsmasq %s' % self.p['name']]}

        @classmethod
        def purge(cls, ctx, keep=None):
            cls.kept.append(None if keep is None else sorted(k for k in keep if k.startswith('dns:')))
            return []

    def resolve(ref, ref_type='auto'):
        if ref in missing:
            raise InvalidParameter("Failed to resolve container '%s': no such Docker container" % ref)
        return ref

    def ovs_stage(mgr, ctx, entries, keep):
        bridges, tunnels = entries.get('ovs_bridges') or [], entries.get('ovs_tunnels') or []
        remove = None if keep is False else 'all' if keep is None else 'undeclared'
        for p in bridges:
            log.append(('ovs_bridge', p['name'], 'present'))
            mgr.record('ovs_bridges', p['name'], {'changed': p['name'] not in existing,
                                                  'actions': [] if p['name'] in existing else ['create'],
                                                  'diff': {'before': None, 'after': {'name': p['name']}}})
            if p['name'] not in existing:
                ctx.expect(p['name'], 'openvswitch')
        for p in tunnels:
            label = hn.entry_label('ovs_tunnels', p)
            log.append(('ovs_tunnel', label, 'present'))
            mgr.record('ovs_tunnels', label, {'changed': label not in existing,
                                              'actions': [] if label in existing else ['add ports']})
        log.append(('ovs_remove', remove, None))
        for name in (ovs or {}).get('bridges', []):
            if remove == 'all' or (remove and name not in [b['name'] for b in bridges]):
                log.append(('ovs_bridge', name, 'absent'))
                mgr.record('ovs_bridges', name, {'changed': True, 'actions': ['delete']})
        return []

    return {
        'session': session,
        'linux_bridges': manager('linux_bridge', LinuxBridgeManager),
        'linux_tunnels': manager('linux_tunnel', LinuxTunnelManager),
        'attachments': Attach,
        'firewall': Firewall,
        'dns': Dns,
        'ovs_stage': ovs_stage,
        'ovs_snapshot': lambda socket=None: ovs_snapshot(ovs, foreign_ovs),
        'resolve': resolve,
    }


PLAN = {
    'underlay': {'interface': 'eth1', 'address': '198.19.0.11', 'prefix': 24, 'bridge': None},
    'ovs_bridges': [{'name': 'nw-dmz', 'datapath_type': 'netdev',
                     'ports': [{'name': 'nw-dmz', 'type': 'internal', 'addresses': ['10.10.0.1/24']}]}],
    'linux_bridges': [{'name': 'nw-app', 'mtu': 1450, 'addresses': ['10.20.0.1/24']}],
    'ovs_tunnels': [{'bridge': 'nw-dmz', 'network': 'dmz', 'type': 'gre', 'key': 110, 'remotes': ['198.19.0.12']}],
    'linux_tunnels': [{'name': 'nwx-app', 'vni': 120, 'master': 'nw-app', 'remotes': ['198.19.0.12']}],
    'attachments': [{'container': 'web1', 'bridge': 'nw-dmz', 'host_ifname': 'nwabc', 'addresses': ['10.10.0.5/24']}],
    'firewall': {'networks': [{'name': 'dmz', 'subnet': '10.10.0.0/24', 'bridge': 'nw-dmz'}]},
    'names': ['nw-dmz', 'nw-app', 'nwx-app', 'nwabc'],
}


def run(plan=None, links=(), check=False, state='present', sections=None, existing=(), ovs=None, purge=True,
        missing=(), foreign_ovs=(), fw_tables=('netwire',)):
    plan = PLAN if plan is None else plan
    log = []
    session = Session(links)
    params = {'plan': plan, 'state': state, 'sections': sections or list(hn.SECTIONS), 'purge': purge}
    result = hn.HostNetworkManager(params, check_mode=check,
                                   backends=backends(session, log, existing, ovs, missing, foreign_ovs,
                                                     fw_tables)).run()
    return result, log, session


def link(name, alias, kind='bridge', index=7):
    return {'ifname': name, 'alias': alias, 'kind': kind, 'index': index}


def test_builds_in_dependency_order_and_reports_every_action():
    result, log, _session = run(links=[link('nw-dmz', None), link('nw-app', 'netwire:bridge')])
    # undeclared attachments (and their OVS ports) go before the attachments; the firewall
    # (published ports included) comes after them
    assert [entry[0] for entry in log] == ['ovs_bridge', 'ovs_tunnel', 'ovs_remove', 'linux_bridge', 'linux_tunnel',
                                           'ovs_attach_cleanup', 'container_attach', 'firewall']
    assert result['changed'] is True
    assert 'linux_bridges nw-app: linux_bridge nw-app' in result['actions']
    assert set(result['diff']['after']) >= {'linux_bridges/nw-app', 'attachments/web1:eth1'}


def test_on_a_host_without_our_tables_the_firewall_comes_before_the_attachments():
    """Nothing to move there, and no container may come up before the zone rules exist."""
    _result, log, _session = run(links=[link('nw-dmz', None), link('nw-app', 'netwire:bridge')], fw_tables=())
    kinds = [entry[0] for entry in log]
    assert kinds.index('firewall') < kinds.index('container_attach')
    assert kinds.count('firewall') == 1
    _result, log, _session = run(links=[link('nw-dmz', None), link('nw-app', 'netwire:bridge')],
                                 sections=['containers', 'firewall'], fw_tables=())
    kinds = [entry[0] for entry in log]
    assert kinds.index('firewall') < kinds.index('container_attach') and kinds.count('firewall') == 1


def test_nothing_changed_when_every_manager_reports_converged():
    names = ['nw-dmz', 'nw-app', 'dmz on nw-dmz', 'nwx-app', 'web1:eth1']
    result, _log, _session = run(links=[link('nw-dmz', None), link('nw-app', 'netwire:bridge')], existing=names)
    assert result['changed'] is False
    assert result['actions'] == []


def test_check_mode_reports_dependents_of_new_objects_without_planning_them_on_live_state():
    result, log, session = run(check=True)
    # the bridges do not exist: their managers run (check mode, OVS planned on a
    # simulated snapshot); the Linux tunnel and the attachment that need them are
    # reported as creations instead of being planned against live state
    assert [entry[0] for entry in log] == ['ovs_bridge', 'ovs_tunnel', 'ovs_remove', 'linux_bridge',
                                           'ovs_attach_cleanup', 'firewall']
    waiting = [a for a in result['actions'] if 'which this run creates' in a]
    assert len(waiting) == 2, result['actions']
    assert session.calls == []


def test_every_bad_entry_is_named_and_nothing_runs():
    plan = dict(PLAN, linux_bridges=[{'mtu': 'big'}], attachments=[{'container': 'web1', 'bogus': 1}])
    with pytest.raises(InvalidParameter) as err:
        run(plan=plan)
    msg = str(err.value)
    assert 'plan.linux_bridges[0]' in msg and 'name' in msg
    assert 'plan.attachments[0] (web1:eth1)' in msg and 'bogus' in msg
    assert len(err.value.details['errors']) >= 3


@pytest.mark.parametrize('plan,where', [
    ('not a dict', "'plan' must be a dict"),
    (dict(PLAN, ovs_tunnels={'bridge': 'x'}), 'plan.ovs_tunnels: must be a list'),
    (dict(PLAN, linux_tunnels=['nwx-app']), 'plan.linux_tunnels[0]: must be a dict'),
    (dict(PLAN, firewall={'networks': [{'name': 'dmz'}]}), 'plan.firewall'),
])
def test_malformed_plans_fail_cleanly(plan, where):
    with pytest.raises(InvalidParameter, match=__import__('re').escape(where)):
        run(plan=plan)


def test_purge_removes_only_owned_undeclared_links_tunnels_before_bridges():
    links = [
        link('nw-dmz', None), link('nw-app', 'netwire:bridge', index=3),
        link('nw-old', 'netwire:bridge', index=4),                       # owned, no longer declared
        link('nwx-old', 'netwire:tunnel', kind='vxlan', index=5),        # owned, no longer declared
        link('nwdead', 'netwire:attach:oldc/eth1', kind='veth', index=6),  # owned attachment, gone from plan
        link('br-user', None, index=8), link('vx-user', 'user says hi', kind='vxlan', index=9),  # not ours
    ]
    result, _log, session = run(links=links)
    deleted = [c[2] for c in session.calls]
    # purged before anything is built (they may hold a VNI, a subnet, a route the plan needs)
    assert deleted == ['nwx-old', 'nw-old', 'nwdead']
    assert 'br-user' not in deleted and 'vx-user' not in deleted


def test_purge_can_be_turned_off():
    links = [link('nw-old', 'netwire:bridge', index=4)]
    _result, _log, session = run(links=links, purge=False)
    assert session.calls == []


def test_purge_in_check_mode_deletes_nothing_but_says_so():
    links = [link('nw-old', 'netwire:bridge', index=4)]
    result, _log, session = run(links=links, check=True)
    assert session.calls == []
    assert any('delete bridge nw-old' in a for a in result['actions'])


def test_sections_limit_what_is_touched():
    links = [link('nw-old', 'netwire:bridge', index=4), link('nw-dmz', None, index=5)]
    _result, log, _session = run(sections=['containers'], links=links)
    assert [e[0] for e in log] == ['ovs_attach_cleanup', 'container_attach']


def test_purge_off_removes_no_ovs_objects():
    _result, log, _session = run(purge=False, ovs={'bridges': ['nw-gone']})
    assert ('ovs_remove', None, None) in log
    assert ('ovs_bridge', 'nw-gone', 'absent') not in log


def test_purge_removes_undeclared_ovs_bridges_in_the_same_call():
    _result, log, _session = run(ovs={'bridges': ['nw-dmz', 'nw-gone']})
    assert ('ovs_remove', 'undeclared', None) in log
    assert ('ovs_bridge', 'nw-gone', 'absent') in log
    assert ('ovs_bridge', 'nw-dmz', 'absent') not in log


def test_absent_removes_everything_owned_in_reverse_order():
    links = [link('nw-app', 'netwire:bridge', index=3), link('nwx-app', 'netwire:tunnel', kind='vxlan', index=5),
             link('nwabc', 'netwire:attach:web1/eth1', kind='veth', index=6), link('br-user', None, index=8)]
    ovs = {'bridges': ['nw-dmz'], 'tunnel_sets': [{'bridge': 'nw-dmz', 'network': 'dmz', 'type': 'gre'}],
           'bridge_ids': {'nw-dmz': {}}}
    result, log, session = run(plan={}, links=links, state='absent', ovs=ovs)
    assert [c[2] for c in session.calls] == ['nwabc', 'nwx-app', 'nw-app']
    assert [e[0] for e in log] == ['firewall', 'ovs_attach_cleanup', 'ovs_remove', 'ovs_bridge']
    assert ('ovs_remove', 'all', None) in log
    assert all(e[2] == 'absent' for e in log if e[0] in ('ovs_bridge', 'firewall'))
    assert result['changed'] is True


def test_absent_on_a_clean_host_changes_nothing():
    result, log, session = run(plan={}, links=[link('br-user', None)], state='absent',
                               ovs={'bridges': [], 'tunnel_sets': [], 'bridge_ids': {}})
    # the firewall recorder always reports a change on absent; everything else is quiet
    assert session.calls == []
    assert [e[0] for e in log] == ['firewall', 'ovs_attach_cleanup', 'ovs_remove']


def test_dns_runs_after_the_tunnels_and_its_purge_keeps_only_the_declared_instances():
    dns = {'name': 'nw-app', 'interface': 'nw-app', 'address': '10.20.0.1', 'subnet': '10.20.0.0/24'}
    session = Session([link('nw-dmz', None), link('nw-app', 'netwire:bridge')])
    log = []
    bk = backends(session, log)
    params = {'plan': dict(PLAN, dns=[dns]), 'state': 'present', 'sections': list(hn.SECTIONS), 'purge': True}
    result = hn.HostNetworkManager(params, backends=bk).run()
    kinds = [e[0] for e in log]
    assert kinds.index('dns') > kinds.index('linux_tunnel') and kinds.index('dns') < kinds.index('container_attach')
    assert ('dns', 'nw-app', 'present') in log and 'dns nw-app: dnsmasq nw-app' in result['actions']
    # the bridge name nw-app is declared too; the instance is kept under its own name
    assert bk['dns'].kept == [['dns:nw-app']]
    with pytest.raises(InvalidParameter, match="dnsmasq 'nw-x' needs interface 'nw-x', which neither exists"):
        run(plan=dict(PLAN, dns=[dict(dns, name='nw-x', interface='nw-x')]),
            links=[link('nw-dmz', None), link('nw-app', 'netwire:bridge')])


# ---------------------------------------------------------------- preflight: the whole plan before the first change

def test_preflight_names_a_clash_with_a_foreign_link_before_anything_changes():
    links = [link('nw-app', None, index=3),                           # a Linux bridge netwire did not create
             link('nw-old', 'netwire:bridge', index=4)]               # ours, undeclared: would be purged
    with pytest.raises(InvalidParameter) as err:
        run(links=links)
    assert "Linux bridge 'nw-app'" in str(err.value) and 'nothing was changed' in str(err.value)
    # the run stopped before the OVS part, before the purge and before any manager


def test_preflight_stops_before_any_manager_runs():
    log = []
    session = Session([link('nw-app', None, index=3), link('nw-old', 'netwire:bridge', index=4)])
    params = {'plan': PLAN, 'state': 'present', 'sections': list(hn.SECTIONS), 'purge': True}
    with pytest.raises(InvalidParameter):
        hn.HostNetworkManager(params, backends=backends(session, log)).run()
    assert log == [] and session.calls == []


def test_preflight_names_a_foreign_ovs_bridge_and_a_foreign_host_end():
    links = [link('nwabc', 'somebody else', kind='veth', index=9)]
    with pytest.raises(InvalidParameter) as err:
        run(links=links, foreign_ovs=['nw-dmz'])
    msg = str(err.value)
    assert "OVS bridge 'nw-dmz'" in msg and "host interface 'nwabc'" in msg
    assert len(err.value.details['errors']) == 2


def test_preflight_finds_a_missing_container_before_the_other_attachments_are_made():
    plan = dict(PLAN, attachments=PLAN['attachments'] + [
        {'container': 'gone', 'bridge': 'nw-app', 'host_ifname': 'nwdef', 'addresses': ['10.20.0.5/24']}])
    log = []
    session = Session([link('nw-dmz', None), link('nw-app', 'netwire:bridge')])
    params = {'plan': plan, 'state': 'present', 'sections': ['containers'], 'purge': True}
    with pytest.raises(InvalidParameter, match="attachment gone:eth1: container 'gone' cannot be used"):
        hn.HostNetworkManager(params, backends=backends(session, log, missing=['gone'])).run()
    assert log == []


def test_preflight_needs_every_bridge_an_attachment_uses():
    with pytest.raises(InvalidParameter, match="needs bridge 'nw-dmz', which does not exist"):
        run(sections=['containers'])
    plan = dict(PLAN, attachments=[dict(PLAN['attachments'][0], bridge='nw-nowhere')])
    with pytest.raises(InvalidParameter, match="needs bridge 'nw-nowhere'"):
        run(plan=plan, sections=['containers'], check=True)


def test_check_mode_of_the_containers_section_expects_the_bridges_the_fabric_section_builds():
    # site.yml --check on a fresh host: the fabric call built nothing, the containers call still plans
    result, log, session = run(sections=['containers'], check=True)
    assert [e[0] for e in log] == ['ovs_attach_cleanup']
    assert result['changed'] is True
    assert any('web1:eth1: create (after nw-dmz, which the fabric section creates)' in a for a in result['actions'])
    assert session.calls == []


def test_preflight_names_a_foreign_device_on_the_vni_of_a_new_tunnel():
    vx = dict(link('vx-user', None, kind='vxlan', index=9), data={'id': 120, 'port': 8472})
    plan = dict(PLAN, linux_tunnels=[dict(PLAN['linux_tunnels'][0], port=8472)])
    with pytest.raises(InvalidParameter, match="VNI 120 port 8472 is held by VXLAN device 'vx-user'"):
        run(plan=plan, links=[link('nw-dmz', None), vx])


def test_a_renamed_network_frees_its_vni_and_bridge_before_the_new_ones_are_made():
    old = [link('nw-old', 'netwire:bridge', index=4),
           dict(link('nwx-old', 'netwire:tunnel', kind='vxlan', index=5), data={'id': 120, 'port': 8472})]
    plan = dict(PLAN, linux_tunnels=[dict(PLAN['linux_tunnels'][0], port=8472)])
    log = []
    session = Session([link('nw-dmz', None)] + old)
    session.log = log
    params = {'plan': plan, 'state': 'present', 'sections': ['fabric'], 'purge': True}
    hn.HostNetworkManager(params, backends=backends(session, log)).run()
    assert [c[2] for c in session.calls] == ['nwx-old', 'nw-old']
    # the deletions came before every manager
    assert [e[0] for e in log][:3] == ['delete', 'delete', 'ovs_bridge'], log


def test_the_managers_warnings_are_returned():
    """The firewall warns (forwarding off, route_localnet); host_network used to drop it (issue 13)."""
    log = []
    session = Session([link('nw-dmz', None), link('nw-app', 'netwire:bridge')])
    params = {'plan': PLAN, 'state': 'present', 'sections': list(hn.SECTIONS), 'purge': True}
    warning = 'net.ipv4.ip_forward is 0 in this network namespace: ...'
    result = hn.HostNetworkManager(params, backends=backends(session, log, fw_warnings=[warning])).run()
    assert result['warnings'] == [warning]
    result = hn.HostNetworkManager(params, backends=backends(session, log)).run()
    assert 'warnings' not in result


def test_every_kind_loads_its_manager_on_first_use():
    from ansible_collections.netwire.fabric.plugins.module_utils._host import kinds as _k
    for kind in _k.KINDS:
        manager = _k.manager(kind.key)
        assert isinstance(manager, type) and callable(getattr(manager, 'purge', None)), kind.key
        assert manager.__name__.endswith('Manager'), (kind.key, manager)
