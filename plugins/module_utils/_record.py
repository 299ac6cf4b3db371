# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``Record``: the base of the small value classes whose attributes are their constructor's arguments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Record(object):
    """A value object: ``FIELDS`` names the constructor's parameters in order (positional or
    keyword), ``DEFAULTS`` the values of the optional ones. Each becomes a plain attribute
    (readable and settable); a subclass adds properties and methods.
    """

    FIELDS = ()
    DEFAULTS = {}

    def __init__(self, *args, **kwargs):
        cls = type(self).__name__
        if len(args) > len(self.FIELDS):
            raise TypeError('%s() takes %d arguments (%d given)' % (cls, len(self.FIELDS), len(args)))
        values = dict(zip(self.FIELDS, args))
        for key in kwargs:
            if key not in self.FIELDS or key in values:
                raise TypeError("%s() got an unexpected or repeated argument '%s'" % (cls, key))
        values.update(kwargs)
        missing = [field for field in self.FIELDS if field not in values and field not in self.DEFAULTS]
        if missing:
            raise TypeError('%s() missing arguments: %s' % (cls, ', '.join(missing)))
        for field in self.FIELDS:
            setattr(self, field, values[field] if field in values else self.DEFAULTS[field])

    def __repr__(self):
        return '%s(%s)' % (type(self).__name__, ', '.join('%s=%r' % (f, getattr(self, f)) for f in self.FIELDS))
