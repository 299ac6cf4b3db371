# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One netwire.fabric run at a time on a host: an exclusive ``flock`` on a lock file.

Every module that changes the host holds :data:`LOCK_PATH` for its whole run
(read, plan, apply), so that two concurrent plays serialize instead of racing
on the same objects (both creating one bridge: ``File exists``). A waiting run
polls until :data:`DEFAULT_TIMEOUT` seconds have passed, then fails naming the
lock and the pid that holds it. The lock is released by the kernel when the
holder exits, whatever the way: a crashed run never leaves it held.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import time

from ansible_collections.netwire.fabric.plugins.module_utils._errors import NetwireError

LOCK_PATH = '/run/netwire/lock'
DEFAULT_TIMEOUT = 120
POLL_INTERVAL = 0.2


class LockTimeout(NetwireError):
    """Another run held the host lock for longer than we may wait."""


class HostLock(object):
    """``with HostLock(timeout=120, what='host_network'):`` holds the host's netwire lock."""

    def __init__(self, timeout=DEFAULT_TIMEOUT, path=LOCK_PATH, what='netwire.fabric', poll=POLL_INTERVAL):
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.path = path
        self.what = what
        self.poll = poll
        self.fd = None
        self.waited = 0.0

    def _holder(self):
        try:
            with open(self.path) as handle:
                return handle.read().strip() or None
        except (IOError, OSError):
            return None

    def acquire(self):
        directory = os.path.dirname(self.path)
        if directory and not os.path.isdir(directory):
            try:
                os.makedirs(directory, 0o755)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise LockTimeout("Failed to take lock '%s': cannot create %s: %s" % (self.path, directory, exc))
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        start = time.time()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    raise LockTimeout("Failed to take lock '%s': %s" % (self.path, exc))
            if time.time() - start >= self.timeout:
                holder = self._holder()
                os.close(fd)
                raise LockTimeout(
                    "Failed to take lock '%s' for %s: another netwire.fabric run holds it (%s) and did not finish "
                    "within %s seconds; wait for it, or raise lock_timeout"
                    % (self.path, self.what, 'pid %s' % holder if holder else 'pid unknown', self.timeout),
                    lock=self.path, holder=holder)
            time.sleep(self.poll)
        self.waited = round(time.time() - start, 3)
        # who holds it, for the one who waits (the lock itself is the flock, not this text)
        os.ftruncate(fd, 0)
        os.write(fd, ('%d %s\n' % (os.getpid(), self.what)).encode('utf-8'))
        self.fd = fd
        return self

    def release(self):
        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False
