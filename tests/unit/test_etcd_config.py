"""The etcd_member module's pure parts: parameters, the configuration, the bootstrap rule, etcdctl's JSON."""

import json

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.netwire.fabric.plugins.module_utils import _daemon, _names, _specs
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, NotOwned
from ansible_collections.netwire.fabric.plugins.module_utils._etcd import config
from ansible_collections.netwire.fabric.plugins.module_utils._etcd.manager import instance

CLUSTER = ['host3=http://198.19.0.13:2380', 'host1=http://198.19.0.11:2380', 'host2=http://198.19.0.12:2380']


def params(**kw):
    raw = dict({'name': 'host1', 'address': '198.19.0.11', 'initial_cluster': CLUSTER}, **kw)
    result = ArgumentSpecValidator(_specs.ETCD_MEMBER).validate(raw)
    assert not result.error_messages, result.error_messages
    return config.normalize(result.validated_parameters)


def test_normalize_fills_urls_sorts_the_cluster_and_defaults_the_data_dir():
    p = params()
    assert p['client_url'] == 'http://198.19.0.11:2379' and p['peer_url'] == 'http://198.19.0.11:2380'
    assert p['initial_cluster'] == sorted(CLUSTER)
    assert p['data_dir'] == '/var/lib/netwire/etcd/host1' == _names.etcd_paths('host1')['data_dir']
    assert p['cluster_token'] == 'netwire'
    alone = params(initial_cluster=[])
    assert alone['initial_cluster'] == ['host1=http://198.19.0.11:2380']
    assert params(data_dir='/srv/etcd/x/')['data_dir'] == '/srv/etcd/x'
    assert config.normalize({'name': 'host1', 'state': 'absent'}) == {
        'name': 'host1', 'state': 'absent', 'data_dir': '/var/lib/netwire/etcd/host1'}


@pytest.mark.parametrize('kw, text', [
    ({'name': 'a/b'}, 'not a valid name'),
    ({'name': '-x'}, 'not a valid name'),
    ({'address': None}, 'address is required'),
    ({'address': '198.19.0.300'}, 'not a valid IP address'),
    ({'initial_cluster': ['host1']}, 'is not name=peer URL'),
    ({'initial_cluster': ['host1=https://198.19.0.11:2380']}, 'not http://address:port'),
    ({'initial_cluster': ['host1=http://198.19.0.11:2380', 'host1=http://198.19.0.12:2380']}, 'twice'),
    ({'initial_cluster': ['host1=http://198.19.0.11:2380', 'host2=http://198.19.0.11:2380']}, 'twice'),
    ({'initial_cluster': ['host2=http://198.19.0.12:2380']}, "does not name this member 'host1'"),
    ({'initial_cluster': ['host1=http://198.19.0.12:2380']}, 'but it listens on http://198.19.0.11:2380'),
    ({'peer_port': 2379}, 'both 2379'),
    ({'client_port': 70000}, 'out of range'),
    ({'cluster_token': 'a b'}, 'cluster_token'),
    ({'data_dir': '/srv'}, 'two levels deep'),
    ({'data_dir': 'rel/dir'}, 'absolute'),
])
def test_bad_parameters_are_refused_with_the_reason(kw, text):
    with pytest.raises(InvalidParameter) as err:
        params(**kw)
    assert text in err.value.msg


def test_the_configuration_is_yaml_with_our_urls_and_the_bootstrap_state():
    yaml = pytest.importorskip('yaml')
    p = params()
    conf = yaml.safe_load(_daemon.marked(config.conf_text(p, 'new')))
    assert conf['name'] == 'host1' and conf['data-dir'] == '/var/lib/netwire/etcd/host1'
    assert conf['listen-peer-urls'] == conf['initial-advertise-peer-urls'] == 'http://198.19.0.11:2380'
    assert conf['listen-client-urls'] == conf['advertise-client-urls'] == 'http://198.19.0.11:2379'
    assert conf['initial-cluster'] == ','.join(sorted(CLUSTER))
    assert conf['initial-cluster-token'] == 'netwire' and conf['initial-cluster-state'] == 'new'
    assert conf['enable-v2'] is False and conf['log-outputs'] == ['stderr']
    assert conf['enable-grpc-gateway'] is True
    assert yaml.safe_load(config.conf_text(p, 'existing'))['initial-cluster-state'] == 'existing'
    assert config.conf_data_dir(config.conf_text(p, 'new')) == '/var/lib/netwire/etcd/host1'
    assert config.conf_data_dir('name: x\n') is None and config.conf_data_dir(None) is None


def test_the_restart_hash_ignores_only_the_bootstrap_settings():
    p = params()
    new, existing = config.conf_text(p, 'new'), config.conf_text(p, 'existing')
    assert new != existing and config.hash_text(new) == config.hash_text(existing)
    assert config.hash_text(config.conf_text(params(initial_cluster=[]), 'new')) == config.hash_text(new)
    assert config.hash_text(config.conf_text(params(client_port=2479), 'new')) != config.hash_text(new)
    a, b = instance(p, '/usr/bin/etcd', 'new', systemd=False), instance(p, '/usr/bin/etcd', 'existing', systemd=False)
    assert a.want_hash() == b.want_hash() and a.wanted() != b.wanted()
    assert a.argv == ['/usr/bin/etcd', '--config-file=/etc/netwire/etcd/host1.yml']
    assert a.state_dirs == {'/var/lib/netwire/etcd/host1': 0o700} and not a.forks
    assert a.pidfile == '/run/netwire/etcd-host1.pid'
    unit = instance(p, '/usr/bin/etcd', 'new', systemd=True)
    assert unit.unit == 'netwire-etcd-host1.service'
    assert 'ExecStart=/usr/bin/etcd --config-file=/etc/netwire/etcd/host1.yml' in unit.files[unit.unit_path]


@pytest.mark.parametrize('entries, state', [(None, 'new'), ([], 'new'), (['member'], 'existing')])
def test_bootstrap_new_only_for_an_empty_data_dir(entries, state):
    assert config.bootstrap(entries, '/var/lib/netwire/etcd/host1') == state


def test_bootstrap_refuses_a_data_dir_with_other_files():
    with pytest.raises(NotOwned) as err:
        config.bootstrap(['member', 'notes.txt'], '/srv/etcd/x')
    assert 'notes.txt' in err.value.msg and '/srv/etcd/x' in err.value.msg


# what etcdctl 3.4.23 printed in the lab (a healthy 2-member cluster, then with one member stopped)
HEALTHY = '[{"endpoint":"http://198.19.0.11:2389","health":true,"took":"1.9946ms"}]'
UNHEALTHY = ('[{"endpoint":"http://198.19.0.11:2389","health":false,"took":"2.004169321s",'
             '"error":"rpc error: code = Unknown desc = context deadline exceeded"}]')
STATUS = ('[{"Endpoint":"http://198.19.0.11:2389","Status":{"header":{"cluster_id":12154772841264773294,'
          '"member_id":15646303003582319569,"revision":1,"raft_term":9},"version":"3.4.23","dbSize":20480,'
          '"leader":15646303003582319569,"raftIndex":6,"raftTerm":9,"raftAppliedIndex":6,"dbSizeInUse":16384}}]')
NO_LEADER = ('[{"Endpoint":"http://198.19.0.11:2389","Status":{"header":{"cluster_id":12154772841264773294,'
             '"member_id":15646303003582319569,"revision":1,"raft_term":9},"version":"3.4.23","dbSize":20480,'
             '"raftIndex":6,"raftTerm":9,"raftAppliedIndex":6,"errors":["etcdserver: no leader"],'
             '"dbSizeInUse":16384}}]')
MEMBERS = ('{"header":{"cluster_id":12154772841264773294,"member_id":15646303003582319569,"raft_term":9},'
           '"members":[{"ID":17613814074603081080,"name":"x2","peerURLs":["http://198.19.0.12:2390"],'
           '"clientURLs":["http://198.19.0.12:2389"]},{"ID":15646303003582319569,"name":"x1",'
           '"peerURLs":["http://198.19.0.11:2390"],"clientURLs":["http://198.19.0.11:2389"]}]}')


def test_parse_health():
    assert config.parse_health(HEALTHY) == (True, None)
    assert config.parse_health(UNHEALTHY) == (False, 'rpc error: code = Unknown desc = context deadline exceeded')
    assert config.parse_health('') == (False, 'no answer')
    assert config.parse_health('Error: unhealthy cluster') == (False, 'no answer')
    assert config.parse_health('[]') == (False, 'no answer')


def test_parse_status_with_and_without_a_leader():
    s = config.parse_status(STATUS)
    assert s['id'] == 'd922d5af20a6cbd1' == '%x' % 15646303003582319569
    assert s['leader'] == s['id'] and s['is_leader'] and s['errors'] == [] and s['raft_term'] == 9
    assert s['cluster_id'] == '%x' % 12154772841264773294 and s['version'] == '3.4.23'
    s = config.parse_status(NO_LEADER)
    assert s['leader'] is None and not s['is_leader'] and s['errors'] == ['etcdserver: no leader']
    assert config.parse_status('[]') is None and config.parse_status('') is None


def test_parse_members_sorted_by_name():
    members = config.parse_members(MEMBERS)
    assert [m['name'] for m in members] == ['x1', 'x2']
    assert members[0] == {'id': '%x' % 15646303003582319569, 'name': 'x1', 'peer_urls': ['http://198.19.0.11:2390'],
                          'client_urls': ['http://198.19.0.11:2389']}
    assert config.parse_members('{}') is None and config.parse_members('nope') is None
    assert json.loads(MEMBERS)['members'][0]['ID'] == 17613814074603081080  # uint64 kept exact


@pytest.mark.parametrize('n, q', [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3)])
def test_quorum(n, q):
    assert config.quorum(n) == q


class _Ctx(object):
    check_mode = False


def manager_answering(monkeypatch, answers):
    from ansible_collections.netwire.fabric.plugins.module_utils._etcd import manager as m
    mgr = m.EtcdMemberManager(_Ctx(), dict(params(), wait=0))
    monkeypatch.setattr(mgr, 'ctl', lambda p, *args: answers[' '.join(args)])
    return mgr


def test_health_reports_the_member_and_the_cluster(monkeypatch):
    mgr = manager_answering(monkeypatch, {'endpoint health': HEALTHY, 'endpoint status': STATUS,
                                          'member list': MEMBERS})
    h = mgr.health(mgr.params, 0)
    assert h['healthy'] and h['is_leader'] and [m['name'] for m in h['members']] == ['x1', 'x2']
    # the live members are not initial_cluster: a warning, never a membership change
    assert len(mgr.warnings) == 1 and 'etcdctl member add/remove' in mgr.warnings[0]


def test_losing_quorum_is_a_clear_error(monkeypatch):
    from ansible_collections.netwire.fabric.plugins.module_utils._errors import NetwireError
    mgr = manager_answering(monkeypatch, {'endpoint health': UNHEALTHY, 'endpoint status': NO_LEADER,
                                          'member list': MEMBERS})
    with pytest.raises(NetwireError) as err:
        mgr.health(mgr.params, 0)
    msg = err.value.msg
    assert msg.startswith("Failed to check etcd_member 'host1': the cluster has no quorum"), msg
    assert 'etcdserver: no leader' in msg and '2 of its 2 members must run' in msg and 'Nothing was re-initialized' in msg


def test_a_member_that_does_not_answer_says_what_a_new_cluster_needs(monkeypatch):
    from ansible_collections.netwire.fabric.plugins.module_utils._errors import NetwireError
    mgr = manager_answering(monkeypatch, {'endpoint health': '', 'endpoint status': '', 'member list': ''})
    with pytest.raises(NetwireError) as err:
        mgr.health(mgr.params, 0)
    msg = err.value.msg
    assert 'does not answer on http://198.19.0.11:2379' in msg and '2 of the 3 members' in msg, msg
    assert '/run/netwire/etcd-host1.log' in msg
