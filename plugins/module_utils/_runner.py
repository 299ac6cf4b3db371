# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How every netwire.fabric module runs: a module's ``main()`` is one call to :func:`run_module`.

The runner builds the :class:`AnsibleModule`, checks the host libraries the
module needs, holds the host lock (:class:`~._lock.HostLock`) around the work
when the module changes the host, and turns the work's result into the module's
result the same way for every module:

- ``diff`` is returned only when Ansible asked for it (``--diff``);
- ``warnings`` go through ``module.warn()`` (Ansible shows them, and puts them
  in the result's ``warnings``);
- a :class:`~._errors.NetwireError` becomes ``fail_json(msg=..., **err.result())``,
  called while the error is being handled so that Ansible keeps its traceback
  (shown with ``-vvv``); ``err.result()`` holds the error's details and errno.

The work is a callable ``work(module)`` returning a dict (``changed``,
``actions``, ``diff``, ``warnings`` and the module's own keys) or an object with
``as_dict()`` returning one. Module files never call ``fail_json`` or
``exit_json`` themselves.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.netwire.fabric.plugins.module_utils._contract import Context
from ansible_collections.netwire.fabric.plugins.module_utils._errors import NetwireError
from ansible_collections.netwire.fabric.plugins.module_utils import _lock


# A module that needs neither library (host_facts, on a host not prepared yet) imports neither
# adapter: each pulled its library in (pyroute2 alone cost 0.17 s of CPU to import).
def _pyroute2():
    from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import HAS_PYROUTE2, PYROUTE2_IMPORT_ERROR
    return HAS_PYROUTE2, PYROUTE2_IMPORT_ERROR


def _ovsdbapp():
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs.ovsdb import HAS_OVSDBAPP, OVSDBAPP_IMPORT_ERROR
    return HAS_OVSDBAPP, OVSDBAPP_IMPORT_ERROR


# library name -> () -> (importable, the import error: a traceback text or the exception)
LIBRARIES = {
    'pyroute2': _pyroute2,
    'ovsdbapp': _ovsdbapp,
}


def check_libraries(module, requires, libraries=None):
    """Fail the module, naming the library and keeping its import error, when one is missing.

    ``libraries``: name -> ``(importable, error)``, or -> a function returning that (default: :data:`LIBRARIES`).
    """
    libraries = LIBRARIES if libraries is None else libraries
    for name in requires:
        found = libraries[name]
        present, error = found() if callable(found) else found
        if not present:
            module.fail_json(msg=missing_required_lib(name), exception=error if isinstance(error, str) else str(error))


def result_dict(result):
    """The work's result as a new dict (a ``Result`` object's ``as_dict()``, or a dict)."""
    if hasattr(result, 'as_dict'):
        result = result.as_dict()
    return dict(result)


def finish(module, result):
    """Exit the module with ``result``: diff only under ``--diff``, warnings through ``module.warn``."""
    result = result_dict(result)
    for warning in result.pop('warnings', None) or []:
        module.warn(warning)
    diff = result.pop('diff', None)
    if module._diff and diff is not None:
        result['diff'] = diff
    module.exit_json(**result)


def run_module(argument_spec, work, requires=(), lock=None, libraries=None, **module_args):
    """Build the module, check ``requires``, run ``work(module)`` (under the host lock when ``lock``) and exit.

    ``lock`` is the ``what`` the lock file names while this run holds it (the
    module's name), or None for a module that only reads. The wait is the
    module's ``lock_timeout`` option when it has one, else the lock's default.
    ``module_args`` go to :class:`AnsibleModule` (``required_if`` ...); every
    module supports check mode.
    """
    module = AnsibleModule(argument_spec=copy.deepcopy(argument_spec), supports_check_mode=True, **module_args)
    check_libraries(module, requires, libraries)
    try:
        if lock:
            with _lock.HostLock(module.params.get('lock_timeout'), path=_lock.LOCK_PATH, what=lock):
                result = result_dict(work(module))
        else:
            result = result_dict(work(module))
    except NetwireError as err:
        module.fail_json(msg=err.msg, **err.result())
    finish(module, result)


def manager_work(manager_class):
    """The work of a kind's manager (the contract, ``_contract.py``): ``manager_class(ctx, params).run()`` in the
    run's :class:`~._contract.Context` (netlink, and OVSDB at the module's ``ovsdb_socket``/``timeout``)."""
    def work(module):
        p = module.params
        with Context(module.check_mode, ovsdb_socket=p.get('ovsdb_socket'), ovsdb_timeout=p.get('timeout')) as ctx:
            return manager_class(ctx, p).run()
    return work


def params_work(manager_class):
    """The work of a runner built from the parameters alone (host_network): ``manager_class(params, check_mode=...).run()``."""
    def work(module):
        return manager_class(module.params, check_mode=module.check_mode).run()
    return work


def command_runner(module):
    """``runner(args, data)`` for :class:`~._firewall.nft.NftClient`: the module's ``run_command``, text in and out."""
    def runner(args, data):
        return module.run_command(args, data=data, binary_data=True, encoding='utf-8')
    return runner
