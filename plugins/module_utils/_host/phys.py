# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host NIC handed to a container (container_attach ``kind: phys``): its record and the namespace pin.

pipework #242: a NIC moved into a container is lost when the container stops. The kernel gives a
physical NIC back to the machine's first namespace under whatever name it had in the container (or
``devN``); a virtual one (a veth standing for a NIC) dies with the namespace. So, while the NIC is in
the container, its namespace is pinned (bind-mounted on ``/run/netwire/phys/<record>.netns``): when the
container stops, the NIC waits there, and the rerun (or ``state: absent``) moves it back under the
name in its mark (:func:`_names.phys_alias`) and drops the pin. A NIC the kernel gave back by itself
is found by that mark and renamed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import errno
import json
import os

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError, failure

MS_BIND = 0x1000
MNT_DETACH = 0x2


def record_paths(identity, ifname):
    base = os.path.join(_names.PHYS_DIR, _names.attach_record_name(identity, ifname))
    return base + '.json', base + '.netns'


def read_record(identity, ifname):
    return read_record_file(record_paths(identity, ifname)[0])


def read_record_file(path):
    try:
        with open(path) as f:
            record = json.load(f)
    except (IOError, OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get('original') else None


def inode(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def pin(identity, ifname, netns_path, record):
    """Write the record, then pin ``netns_path`` (the pin keeps the namespace, and the NIC in it, after
    the container is gone)."""
    path, pin_path = record_paths(identity, ifname)
    if not os.path.isdir(_names.PHYS_DIR):
        os.makedirs(_names.PHYS_DIR, 0o700)
    unpin(identity, ifname, keep_record=True)
    with open(pin_path, 'w'):
        pass
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(netns_path.encode(), pin_path.encode(), None, MS_BIND, None) != 0:
        err = ctypes.get_errno()
        raise failure('pin', 'network namespace', netns_path, 'bind mount on %s: %s' % (pin_path, os.strerror(err)),
                      BackendError, errno=err)
    record = dict(record, pin=pin_path, netns_inode=inode(netns_path))
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(record, f, sort_keys=True)
    os.rename(tmp, path)


def unpin(identity, ifname, keep_record=False):
    """Drop the pin (the namespace dies when nothing else holds it) and, unless ``keep_record``, the record."""
    path, pin_path = record_paths(identity, ifname)
    if os.path.exists(pin_path):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.umount2(pin_path.encode(), MNT_DETACH) != 0 and ctypes.get_errno() not in (errno.EINVAL, errno.ENOENT):
            err = ctypes.get_errno()
            raise failure('unpin', 'network namespace', pin_path, os.strerror(err), BackendError, errno=err)
        os.unlink(pin_path)
    if not keep_record and os.path.exists(path):
        os.unlink(path)


def pinned_namespace(record):
    """The pinned namespace's path, when the pin holds one."""
    pin_path = record.get('pin')
    if pin_path and os.path.ismount(pin_path):
        return pin_path
    return None
