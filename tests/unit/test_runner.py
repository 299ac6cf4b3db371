"""The module runner: one way from a module's work to its result, with a real AnsibleModule."""

import errno
import json

import pytest
from ansible.module_utils._internal import _traceback as _ansible_traceback
from ansible.module_utils.common import warnings as _ansible_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.netwire.fabric.plugins.module_utils import _lock
from ansible_collections.netwire.fabric.plugins.module_utils import _runner
from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError, InvalidParameter, failure

SPEC = dict(name=dict(type='str', required=True), lock_timeout=dict(type='int'))


class Result(object):
    """A manager contract's result: only ``as_dict()``."""

    def __init__(self, **values):
        self.values = values

    def as_dict(self):
        return dict(self.values)


@pytest.fixture(autouse=True)
def fresh_module_process(monkeypatch):
    """Ansible keeps a module's warnings and traceback setting process-wide: reset them, as a new module run does."""
    monkeypatch.setattr(_ansible_warnings, '_global_warnings', {})
    monkeypatch.setattr(_ansible_traceback, '_module_tracebacks_enabled_events', None)


def run(capsys, work, params=None, check=False, diff=False, tracebacks=False, **kwargs):
    args = dict(params or {'name': 'br0'}, _ansible_check_mode=check, _ansible_diff=diff)
    if tracebacks:  # as with ANSIBLE_DISPLAY_TRACEBACK=error
        args['_ansible_tracebacks_for'] = ['error']
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_:
            _runner.run_module(SPEC, work, **kwargs)
    out = json.loads(capsys.readouterr().out)
    assert bool(out.get('failed')) == (exit_.value.code != 0), out
    return out


def converged(module):
    return {'changed': True, 'actions': ['create bridge %s' % module.params['name']],
            'diff': {'before': {}, 'after': {'name': module.params['name']}},
            'warnings': ['net.ipv4.ip_forward is 0'], 'bridge': {'name': module.params['name']}}


def test_the_diff_is_returned_only_under_diff_mode(capsys):
    plain = run(capsys, converged)
    assert 'diff' not in plain and plain['changed'] is True and plain['bridge'] == {'name': 'br0'}
    assert plain['actions'] == ['create bridge br0']
    with_diff = run(capsys, converged, diff=True)
    assert with_diff['diff'] == {'before': {}, 'after': {'name': 'br0'}}


def test_warnings_go_through_module_warn(capsys, monkeypatch):
    warned = []
    monkeypatch.setattr(_runner.AnsibleModule, 'warn', lambda self, w: warned.append(w))
    out = run(capsys, converged)
    assert warned == ['net.ipv4.ip_forward is 0']
    assert 'warnings' not in out, "the work's warnings are not a result key of their own"


def test_warnings_reach_the_result_as_ansible_reports_them(capsys):
    out = run(capsys, converged)
    assert any('net.ipv4.ip_forward is 0' in str(w) for w in out.get('warnings', [])), out


def test_a_result_object_with_as_dict_is_accepted(capsys):
    out = run(capsys, lambda module: Result(changed=False, actions=[], diff={'before': 1, 'after': 1}, view=3),
              diff=True)
    assert out['changed'] is False and out['view'] == 3 and out['diff'] == {'before': 1, 'after': 1}


def test_check_mode_reaches_the_work(capsys):
    out = run(capsys, lambda module: {'changed': False, 'check': module.check_mode}, check=True)
    assert out['check'] is True


def test_a_netwire_error_fails_with_its_message_details_and_errno(capsys):
    def work(module):
        raise failure('create', 'bridge', module.params['name'], 'File exists (errno 17)', BackendError,
                      errno=errno.EEXIST, actions=['create bridge br0'])

    out = run(capsys, work)
    assert out['failed'] is True
    assert out['msg'] == "Failed to create bridge 'br0': File exists (errno 17)"
    assert out['errno'] == errno.EEXIST and out['actions'] == ['create bridge br0']
    assert 'exception' not in out


def test_a_netwire_error_keeps_its_traceback_for_who_asks(capsys):
    def work(module):
        raise failure('create', 'bridge', 'br0', 'File exists (errno 17)', BackendError, errno=errno.EEXIST)

    out = run(capsys, work, tracebacks=True)
    assert 'in work' in out['exception'] and 'BackendError' in out['exception'], out['exception']


def test_an_error_without_details_fails_with_its_message_only(capsys):
    def work(module):
        raise InvalidParameter('bad plan', errors=['one', 'two'])

    out = run(capsys, work)
    assert out['msg'] == 'bad plan' and out['errors'] == ['one', 'two'] and 'errno' not in out


def test_a_missing_library_is_named_with_its_import_error(capsys):
    calls = []
    out = run(capsys, calls.append, requires=['fakelib'], tracebacks=True,
              libraries={'fakelib': (False, 'Traceback (most recent call last):\nImportError: no fakelib')})
    assert calls == [], 'the work must not run'
    assert 'fakelib' in out['msg'] and 'Failed to import the required Python library' in out['msg']
    assert out['exception'] == 'Traceback (most recent call last):\nImportError: no fakelib'


def test_an_import_exception_is_kept_as_its_text(capsys):
    out = run(capsys, list, requires=['fakelib'], tracebacks=True,
              libraries={'fakelib': (False, ImportError('No module named fakelib'))})
    assert out['exception'] == 'No module named fakelib'


def test_present_libraries_let_the_work_run(capsys):
    out = run(capsys, lambda module: {'changed': False}, requires=['fakelib'], libraries={'fakelib': (True, None)})
    assert out['changed'] is False and not out.get('failed')


def test_the_work_runs_under_the_host_lock(capsys, monkeypatch, tmp_path):
    path = str(tmp_path / 'lock')
    monkeypatch.setattr(_lock, 'LOCK_PATH', path)

    def work(module):
        with open(path) as handle:
            return {'changed': False, 'holder': handle.read().strip()}

    out = run(capsys, work, lock='linux_bridge')
    assert out['holder'].endswith(' linux_bridge')


def test_a_held_lock_fails_after_lock_timeout_naming_the_holder(capsys, monkeypatch, tmp_path):
    path = str(tmp_path / 'lock')
    monkeypatch.setattr(_lock, 'LOCK_PATH', path)
    calls = []
    with _lock.HostLock(path=path, what='other'):
        out = run(capsys, calls.append, params={'name': 'br0', 'lock_timeout': 0}, lock='host_network')
    assert calls == []
    assert out['msg'].startswith("Failed to take lock '%s' for host_network" % path)
    assert out['lock'] == path and out['holder'].endswith(' other')
