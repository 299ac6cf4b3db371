"""_specs.validated_fast, host_network's plan check for the common case, against Ansible's own validator.

Where the fast path answers, it answers exactly what ``ArgumentSpecValidator`` validates; where it cannot
(a conversion, an error, a spec feature it leaves alone), it answers None and Ansible decides.
"""

import copy

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.netwire.fabric.plugins.module_utils import _specs
from ansible_collections.netwire.fabric.plugins.module_utils._host import kinds as _kinds
from ansible_collections.netwire.fabric.plugins.module_utils._host import network as hn
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m

from .model_cases import demo

ATTACH = {'container': 'c1', 'container_type': 'netns', 'ifname': 'eth1', 'host_ifname': 'nwd02b6b1c8241b',
          'bridge': 'nw-lin', 'bridge_type': 'linux', 'network': 'lin', 'addresses': ['10.62.0.32/20'],
          'mac': '5a:e1:b2:11:d0:4c', 'mtu': 1450, 'gateway': '10.62.0.1', 'rules': [], 'state': 'present'}


def _plan_entries():
    """(spec, params) of every entry of the example model's plans, as host_network checks them."""
    model, host_vars = demo()
    out = []
    for plan in m.plan(model, host_vars).values():
        for kind in _kinds.KINDS:
            entries = plan.get(kind.key)
            for entry in ([entries] if kind.single else entries) if entries else []:
                out.append((kind.key, kind.spec, dict(entry, state='present')))
    return out


def _variants():
    """Attachments the fast path must leave to Ansible, or answer the same as Ansible."""
    routes = [{'dest': '10.9.0.0/16', 'via': '10.62.0.1'}, {'dest': '10.8.0.0/16', 'table': 100}]
    rules = [{'priority': 100, 'table': 100, 'from': '10.62.0.32/32'}]
    return [
        ATTACH,
        dict(ATTACH, routes=routes),
        dict(ATTACH, rules=rules),
        dict(ATTACH, rules=[{'priority': '100', 'table': 100}]),  # converted by Ansible
        dict(ATTACH, rules=[{'table': 100}]),  # a required suboption missing
        dict(ATTACH, rules=[{'priority': 1, 'table': 2, 'family': 'ipv5'}]),  # not a choice
        dict(ATTACH, rules=['x']),
        dict(ATTACH, routes=[{'dest': '10.9.0.0/16', 'metric': 5}]),  # unknown suboption
        dict(ATTACH, qdisc={'rate': '1mbit', 'burst': '32kb', 'latency': '50ms'}),
        dict(ATTACH, qdisc={'rate': '1mbit', 'burst': '32kb', 'latency': '50ms', 'limit': 3000}),
        dict(ATTACH, qdisc={'rate': '1mbit', 'burst': '32kb'}),  # neither limit nor latency
        dict(ATTACH, qdisc={'kind': 'tbf', 'rate': 1000000, 'burst': 4096, 'limit': 3000}),
        dict(ATTACH, qdisc={'rate': '1mbit', 'burst': '32kb', 'latency': None}),
        dict(ATTACH, qdisc=None),
        dict(ATTACH, resolver={'servers': ['10.62.0.1'], 'search': ['lab']}),
        dict(ATTACH, resolver={'servers': '10.62.0.1'}),
        dict(ATTACH, host_macvlan={'addresses': ['10.62.0.2/20']}),
        dict(ATTACH, kind='macvlan', parent='eth0', macvlan_mode='bridge', bridge=None),
        dict(ATTACH, kind='tap'),
        dict(ATTACH, mtu='1450'),
        dict(ATTACH, mtu=True),
        dict(ATTACH, mtu=1450.0),
        dict(ATTACH, addresses='10.62.0.32/20'),
        dict(ATTACH, addresses=[32]),
        dict(ATTACH, addresses=None),
        dict(ATTACH, ifname=None),
        dict(ATTACH, hairpin='yes'),
        dict(ATTACH, hairpin=None),
        dict(ATTACH, gateway=None),
        dict(ATTACH, container=None),
        dict((k, v) for k, v in ATTACH.items() if k != 'container'),
        dict(ATTACH, colour='blue'),
        dict(ATTACH, container=5),
        dict(ATTACH, state='gone'),
        dict(ATTACH, container_type='lxc'),
    ]


def _same_as_ansible(spec, params):
    fast = _specs.validated_fast(spec, copy.deepcopy(params))
    ref = ArgumentSpecValidator(spec).validate(copy.deepcopy(params))
    if fast is not None:
        assert not ref.error_messages, (params, ref.error_messages)
        assert fast == ref.validated_parameters
        assert list(fast) == list(ref.validated_parameters)  # the same order of keys, too
    return fast


def test_every_entry_of_the_example_plans_is_checked_fast_and_as_ansible_does():
    entries = _plan_entries()
    assert set(key for key, _spec, _p in entries) >= set(['linux_bridges', 'attachments', 'firewall'])
    for key, spec, params in entries:
        fast = _same_as_ansible(spec, params)
        if key == 'attachments':
            assert fast is not None, params


@pytest.mark.parametrize('params', _variants())
def test_an_attachment_is_checked_as_ansible_does_or_left_to_ansible(params):
    _same_as_ansible(_specs.CONTAINER_ATTACH, params)


def test_what_the_fast_path_answers_and_what_it_leaves():
    assert _specs.validated_fast(_specs.CONTAINER_ATTACH, ATTACH) is not None
    with_rules = dict(ATTACH, rules=[{'priority': 100, 'table': 100}])
    assert _specs.validated_fast(_specs.CONTAINER_ATTACH, with_rules)['rules'] == [
        {'priority': 100, 'table': 100, 'family': None, 'from': None, 'to': None, 'iif': None, 'fwmark': None}]
    for left in (dict(ATTACH, mtu='1450'), dict(ATTACH, colour='blue'), dict(ATTACH, qdisc={'rate': 1, 'burst': 2}),
                 dict(ATTACH, hairpin=None)):
        assert _specs.validated_fast(_specs.CONTAINER_ATTACH, left) is None


def test_the_validated_entry_shares_no_container_with_the_plan_or_the_spec():
    params = dict(ATTACH, routes=[{'dest': '10.9.0.0/16'}])
    fast = _specs.validated_fast(_specs.CONTAINER_ATTACH, params)
    assert fast['addresses'] is not params['addresses'] and fast['routes'][0] is not params['routes'][0]
    fast['resolver'] = None
    assert _specs.validated_fast(_specs.CONTAINER_ATTACH, ATTACH)['addresses'] == ['10.62.0.32/20']
    other = _specs.validated_fast(_specs.LINUX_TUNNEL, {'name': 'vx', 'state': 'present'})
    other['remotes'].append('198.19.0.1')
    assert _specs.LINUX_TUNNEL['remotes']['default'] == []


def test_host_network_still_words_a_bad_entry_as_ansible_does():
    plan = {'attachments': [ATTACH, dict(ATTACH, container='c2', mtu='many')]}
    with pytest.raises(Exception) as err:
        hn.normalize_entries(plan, ['containers'], 'present')
    assert "plan.attachments[1] (c2:eth1): argument 'mtu' is of type str" in str(err.value)
