"""The daemon helper (_daemon.py): pure planning, the systemd unit, and its file and process handling."""

import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils import _daemon as d
from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._errors import NetwireError, NotOwned

ARGV = ['/usr/sbin/food', '--conf-file=/etc/netwire/food/x.conf']
CONF = '/etc/netwire/food/x.conf'
RECORDS = '/etc/netwire/food/x.d/records'
PIDFILE = '/run/netwire/food-x.pid'


def daemon(systemd=False, **kw):
    args = dict(files={CONF: 'a=1\n'}, reload_files={RECORDS: '10.0.0.1 a\n'}, dirs={'/etc/netwire': 0o755},
                instance_dirs={'/etc/netwire/food/x.d': 0o755}, runtime_files=['/var/lib/netwire/food-x.leases'])
    args.update(kw)
    return d.Daemon('food', 'x', ARGV, PIDFILE, systemd=systemd, **args)


def current(dmn, pid=None, files=None, hash_=None, dirs=True, **kw):
    cur = {
        'pid': pid, 'pidfile': pid is not None, 'foreign_pid': None, 'files': files or {}, 'hash': hash_,
        'hash_file': None if hash_ is None else d.marked(hash_),
        'dirs': dict((p, dirs) for p in list(dmn.dirs) + list(dmn.instance_dirs)), 'entries': {}, 'runtime': {},
        'log': False,
    }
    cur.update(kw)
    return cur


def running(dmn, pid=42):
    return current(dmn, pid=pid, files=dmn.wanted(), hash_=dmn.want_hash())


def ops(steps):
    return [(s.op, s.target) for s in steps]


def test_marks_and_hash():
    assert d.marked('x=1\n') == _names.FILE_MARK + '\nx=1\n'
    assert d.marked(d.marked('x=1\n')) == d.marked('x=1\n')
    assert d.is_marked(d.marked('')) and not d.is_marked('x=1\n') and not d.is_marked(None)
    assert d.stored_hash(d.marked('abc\n')) == 'abc' and d.stored_hash(None) is None
    h = d.config_hash(ARGV, {CONF: 'a=1\n'})
    assert h == d.config_hash(ARGV, {CONF: d.marked('a=1\n')})
    assert h != d.config_hash(ARGV, {CONF: 'a=2\n'}) and h != d.config_hash(ARGV + ['-x'], {CONF: 'a=1\n'})


def test_plan_from_nothing_starts_and_records_the_hash():
    dmn = daemon()
    steps = dmn.plan(current(dmn, dirs=False))
    assert ops(steps) == [('mkdir', '/etc/netwire'), ('mkdir', '/etc/netwire/food/x.d'), ('write', CONF),
                          ('write', RECORDS), ('start', None), ('record', dmn.hash_path)]
    assert steps[2].data == d.marked('a=1\n')
    assert dmn.hash_path == '/run/netwire/food-x.hash'


def test_plan_running_and_unchanged_is_empty():
    dmn = daemon()
    assert dmn.plan(running(dmn)) == []


def test_a_record_change_reloads_and_a_config_change_restarts():
    dmn = daemon()
    cur = running(dmn)
    cur['files'][RECORDS] = d.marked('10.0.0.2 a\n')
    assert ops(dmn.plan(cur)) == [('write', RECORDS), ('reload', 42)]
    cur = running(dmn)
    cur['files'][CONF] = d.marked('a=0\n')
    cur['hash'] = 'old'
    assert ops(dmn.plan(cur)) == [('write', CONF), ('restart', 42), ('record', dmn.hash_path)]
    # the files are right but the daemon runs an older configuration (a failed earlier run): restart
    cur = running(dmn)
    cur['hash'] = 'old'
    assert ops(dmn.plan(cur)) == [('restart', 42), ('record', dmn.hash_path)]
    # not running (a stale pidfile): start, even when the files are right
    cur = running(dmn, pid=None)
    assert ops(dmn.plan(cur)) == [('start', None)]


def test_a_file_not_ours_is_refused():
    dmn = daemon()
    cur = running(dmn)
    cur['files'][CONF] = 'somebody else\n'
    with pytest.raises(NotOwned) as err:
        dmn.plan(cur)
    assert "Failed to manage food 'x': file %s exists and netwire did not write it" % CONF in str(err.value)


def test_plan_absent_stops_ours_and_removes_only_marked_files():
    dmn = daemon()
    cur = running(dmn)
    cur['files'][RECORDS] = 'not ours\n'
    cur.update(runtime={'/var/lib/netwire/food-x.leases': True}, log=True,
               entries={'/etc/netwire/food/x.d': ['records']})
    steps = dmn.plan(cur, 'absent')
    assert ops(steps) == [('stop', 42), ('remove', CONF), ('forget', '/var/lib/netwire/food-x.leases'),
                          ('forget', dmn.hash_path), ('forget', dmn.log_path), ('forget', PIDFILE)]
    # the directory stays: a file not ours is in it
    cur['files'][RECORDS] = d.marked('x')
    steps = dmn.plan(cur, 'absent')
    assert ('rmdir', '/etc/netwire/food/x.d') in ops(steps) and ('remove', RECORDS) in ops(steps)
    assert dmn.plan(current(dmn), 'absent') == []


def test_plan_absent_leaves_a_pidfile_naming_a_process_not_ours():
    dmn = daemon()
    cur = current(dmn, pid=None, pidfile=True, foreign_pid=4242)
    assert dmn.plan(cur, 'absent') == []


def test_systemd_unit_text_and_plan():
    dmn = daemon(systemd=True)
    unit = dmn.files['/etc/systemd/system/netwire-food-x.service']
    assert unit.splitlines() == [
        '[Unit]', 'Description=netwire.fabric food x', 'After=network.target', '',
        '[Service]', 'Type=forking', 'PIDFile=%s' % PIDFILE, 'ExecStart=%s' % ' '.join(ARGV),
        'ExecReload=/bin/kill -HUP $MAINPID', 'Restart=on-failure', '', '[Install]', 'WantedBy=multi-user.target']
    assert 'PIDFile' not in d.unit_text('food', 'x', ARGV, PIDFILE, forks=False)
    steps = dmn.plan(current(dmn, active=False, enabled=False))
    assert ('write', dmn.unit_path) in ops(steps)
    assert ops(steps)[-3:] == [('systemctl', ('daemon-reload',)),
                               ('systemctl', ('enable', '--now', 'netwire-food-x.service')),
                               ('record', dmn.hash_path)]
    cur = current(dmn, files=dmn.wanted(), hash_=dmn.want_hash(), active=True, enabled=True)
    assert dmn.plan(cur) == []
    cur['files'][RECORDS] = d.marked('other')
    assert ops(dmn.plan(cur)) == [('write', RECORDS), ('systemctl', ('reload', 'netwire-food-x.service'))]
    cur = current(dmn, files=dmn.wanted(), hash_='old', active=True, enabled=True)
    assert ops(dmn.plan(cur)) == [('systemctl', ('restart', 'netwire-food-x.service')), ('record', dmn.hash_path)]
    cur = current(dmn, files=dmn.wanted(), hash_=dmn.want_hash(), active=True, enabled=True)
    assert ops(dmn.plan(cur, 'absent')) == [
        ('systemctl', ('disable', '--now', 'netwire-food-x.service')), ('remove', CONF), ('remove', dmn.unit_path),
        ('remove', RECORDS), ('systemctl', ('daemon-reload',)), ('forget', dmn.hash_path)]


def test_describe_steps():
    what = 'food x'
    assert d.describe(d.Step('start', None, None), what) == 'start food x'
    assert d.describe(d.Step('reload', 42, None), what) == 'reload food x (pid 42, SIGHUP): its records changed'
    assert d.describe(d.Step('write', CONF, 'x'), what) == 'write %s' % CONF
    assert d.describe(d.Step('systemctl', ('daemon-reload',), None), what) == 'systemctl daemon-reload'


# ---------------------------------------------------------------- files and processes in a temporary directory

def sleeper(tmp_path, seconds='30', forks=False, script=None, settle=0.5):
    argv = [sys.executable, '-c', script or 'import time; time.sleep(%s)' % seconds]
    conf = str(tmp_path / 'etc' / 'x.conf')
    return d.Daemon('sleeper', 'x', argv, str(tmp_path / 'run' / 'sleeper-x.pid'), files={conf: 'x\n'},
                    dirs={str(tmp_path / 'etc'): 0o755, str(tmp_path / 'run'): 0o755}, forks=forks,
                    start_timeout=5, stop_timeout=2, systemd=False, settle=settle)


def test_start_reload_and_stop_a_foreground_daemon(tmp_path):
    dmn = sleeper(tmp_path)
    _cur, steps, actions = dmn.converge('present', check_mode=True)
    assert actions[-2:] == ['start sleeper x', 'record the configuration hash in %s' % dmn.hash_path]
    assert not os.path.exists(dmn.pidfile) and not (tmp_path / 'etc').exists()
    _cur, steps, actions = dmn.converge('present', check_mode=False)
    pid = dmn.our_pid()
    try:
        assert pid is not None and d.pid_cmdline(pid) == dmn.argv
        assert open(str(tmp_path / 'etc' / 'x.conf')).read() == d.marked('x\n')
        assert dmn.converge('present', check_mode=False)[1] == []
        assert os.getsid(pid) == pid  # its own session
    finally:
        _cur, steps, actions = dmn.converge('absent', check_mode=False)
    assert actions[0] == 'stop sleeper x (pid %d)' % pid
    os.waitpid(pid, 0)
    assert d.pid_cmdline(pid) is None
    assert sorted(os.listdir(str(tmp_path / 'run'))) == [] and os.listdir(str(tmp_path / 'etc')) == []
    assert dmn.converge('absent', check_mode=False)[1] == []


def test_early_exit_is_reported_with_its_output(tmp_path):
    # settle 5 s: on a loaded CI machine Python's start alone took longer than the default 0.5 s, and a
    # process that exits after its settle time counts as started (the wait ends as soon as it exits)
    dmn = sleeper(tmp_path, script='import sys; sys.stderr.write("cannot bind: busy\\n"); sys.exit(3)', settle=5.0)
    with pytest.raises(NetwireError) as err:
        dmn.converge('present', check_mode=False)
    assert "Failed to start sleeper 'x'" in str(err.value) and 'cannot bind: busy' in str(err.value)


def test_a_process_in_our_pidfile_with_another_cmdline_is_never_signalled(tmp_path):
    argv = [sys.executable, '-c', 'import time; time.sleep(31)']  # not our argv
    stranger = subprocess.Popen(argv)
    try:
        deadline = time.time() + 5
        while d.pid_cmdline(stranger.pid) != argv and time.time() < deadline:  # until it has exec'd
            time.sleep(0.01)
        dmn = sleeper(tmp_path)
        os.makedirs(str(tmp_path / 'run'))
        with open(dmn.pidfile, 'w') as f:
            f.write('%d\n' % stranger.pid)
        cur = dmn.read()
        assert cur['pid'] is None and cur['foreign_pid'] == stranger.pid
        assert dmn.signal(stranger.pid, signal.SIGTERM) is False
        dmn.stop(stranger.pid)
        time.sleep(0.1)
        assert stranger.poll() is None
        assert dmn.converge('absent', check_mode=False)[1] == []
        assert os.path.exists(dmn.pidfile)
    finally:
        stranger.kill()
        stranger.wait()


def test_owned_instances(tmp_path):
    (tmp_path / 'a.conf').write_text(d.marked('x'))
    (tmp_path / 'b.conf').write_text('not ours')
    (tmp_path / '.c.conf.1.tmp').write_text(d.marked('x'))
    (tmp_path / 'd.hosts').write_text(d.marked('x'))
    assert d.owned_instances(str(tmp_path), '.conf') == ['a']
    assert d.owned_instances(str(tmp_path / 'missing'), '.conf') == []


def test_write_atomic_leaves_no_temporary_file(tmp_path):
    path = str(tmp_path / 'f')
    d.write_atomic(path, 'one', 0o600)
    d.write_atomic(path, 'two', 0o644)
    assert open(path).read() == 'two' and os.listdir(str(tmp_path)) == ['f']
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_pid_gone_waits_for_the_exit_not_for_the_empty_cmdline():
    assert not d.pid_gone(os.getpid())
    child = subprocess.Popen([sys.executable, '-c', 'pass'])
    deadline = time.time() + 10
    while not d.pid_gone(child.pid) and time.time() < deadline:
        time.sleep(0.01)
    assert d.pid_gone(child.pid)  # a zombie (not reaped yet) has exited
    child.wait()
    assert d.pid_gone(child.pid)


def test_a_packages_own_unit_is_used_and_written_by_nobody():
    dmn = daemon(systemd=True, service='pkg.service')
    assert dmn.unit == 'pkg.service' and dmn.unit_path is None
    assert set(dmn.wanted()) == set([CONF, RECORDS])   # no unit file of ours
    steps = dmn.plan(dict(current(dmn), active=False, enabled=False))
    assert ('systemctl', ('enable', '--now', 'pkg.service')) in [(s.op, s.target) for s in steps]
    assert ('systemctl', ('daemon-reload',)) not in [(s.op, s.target) for s in steps]
    # absent: disabled only when our files are there; the package's unit file is never removed
    theirs = dict(current(dmn, files={CONF: 'a=1\n'}), active=True, enabled=True)
    assert dmn.plan(theirs, 'absent') == []
    ours = dict(current(dmn, files={CONF: d.marked('a=1\n')}), active=True, enabled=True)
    steps = dmn.plan(ours, 'absent')
    assert steps[0] == d.Step('systemctl', ('disable', '--now', 'pkg.service'), None)
    assert [s.target for s in steps if s.op == 'remove'] == [CONF]


def test_owners_plan_a_chown_only_when_they_differ(monkeypatch):
    monkeypatch.setattr(d, 'owner_ids', lambda user, group: (101, 102))
    dmn = daemon(owners={'/etc/netwire': ('food', 'food')})
    assert ('chown', '/etc/netwire', (101, 102)) in [tuple(s) for s in dmn.plan(current(dmn, owners={}))]
    same = current(dmn, owners={'/etc/netwire': (101, 102)})
    assert 'chown' not in [s.op for s in dmn.plan(same)]
    assert d.describe(d.Step('chown', '/x', (1, 2)), 'food x') == 'set the owner of /x to 1:2'


def test_run_step_reports_a_failure_with_its_output(tmp_path):
    dmn = daemon()
    assert d.describe(d.Step('run', ('/bin/echo', 'hi'), None), 'food x') == 'run /bin/echo hi'
    dmn.apply([d.Step('run', (sys.executable, '-c', 'pass'), None)])
    with pytest.raises(NetwireError) as err:
        dmn.apply([d.Step('run', (sys.executable, '-c', 'import sys; print("nope"); sys.exit(3)'), None)])
    assert 'exit status 3: nope' in str(err.value)


def test_hash_files_keep_what_a_running_daemon_ignores_out_of_the_restart():
    # etcd reads its initial-* settings only to bootstrap: a change there is written, never restarted for
    def etcd_like(text):
        return daemon(files={CONF: text}, reload_files={},
                      hash_files={CONF: ''.join(l for l in text.splitlines(True) if not l.startswith('initial-'))})
    first = etcd_like('a=1\ninitial-state=new\n')
    later = etcd_like('a=1\ninitial-state=existing\n')
    assert first.want_hash() == later.want_hash() != daemon(files={CONF: 'a=1\ninitial-state=new\n'}).want_hash()
    steps = later.plan(running(first))
    assert ops(steps) == [('write', CONF)], steps
    changed = etcd_like('a=2\ninitial-state=existing\n')
    assert [s.op for s in changed.plan(running(first))] == ['write', 'restart', 'record']


def test_state_dirs_are_created_and_purged_whole_after_the_stop():
    data = '/var/lib/netwire/food/x'
    dmn = daemon(state_dirs={data: 0o700})
    cur = current(dmn, dirs=False)
    cur['dirs'][data] = False
    steps = dmn.plan(cur)
    assert ('mkdir', data) in ops(steps) and [s.data for s in steps if s.target == data] == [0o700]
    cur = running(dmn)
    cur['dirs'][data] = True
    assert dmn.plan(cur) == []
    steps = dmn.plan(cur, 'absent')
    assert ops(steps)[0] == ('stop', 42) and ('purge', data) in ops(steps), steps
    assert d.describe(d.Step('purge', data, None), 'food x') == 'remove %s and everything in it' % data
    cur['dirs'][data] = False
    assert ('purge', data) not in ops(dmn.plan(cur, 'absent'))
    # without state_dirs (what a caller passes for a directory that is not ours) nothing is purged
    assert 'purge' not in [s.op for s in daemon().plan(running(daemon()), 'absent')]


def test_purge_removes_the_directory_tree(tmp_path):
    data = tmp_path / 'data'
    (data / 'member' / 'wal').mkdir(parents=True)
    (data / 'member' / 'wal' / '0.wal').write_text('x')
    daemon(state_dirs={str(data): 0o700}).apply([d.Step('purge', str(data), None)])
    assert not data.exists() and tmp_path.exists()
