# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Every error of edge_enroll, each with its message and HTTP code.

The API turns an ``EdgeEnrollException`` into a response with ``code``
and ``{"error": message}`` (Doni's error body); objects and workers
raise the same classes.
"""

from edge_common import exception as common


quote = common.quote


class EdgeEnrollException(common.EdgeException):
    """Base class of edge_enroll's errors (``edge_common`` holds the
    formatting and the messages shared with edge_channels).
    """


class Invalid(EdgeEnrollException, common.Invalid):
    pass


class InvalidProperties(Invalid):
    _msg_fmt = ('Invalid properties for hardware type %(hardware_type)s: '
                '%(reason)s')


class UnknownHardwareType(Invalid):
    _msg_fmt = ('Hardware type %(hardware_type)s is not enabled; use one '
                'of %(types)s.')


class InvalidPatch(Invalid):
    _msg_fmt = ('Invalid JSON-Patch: %(reason)s. Send a list of RFC 6902 '
                'operations (add, replace, remove) on /name, '
                '/properties/<field> or /availability.')


class ReadOnlyField(Invalid):
    _msg_fmt = ('Property %(field)s is set by the service, not by users; '
                'leave it out of the request.')


class InvalidStateTransition(EdgeEnrollException):
    _msg_fmt = ('Worker task %(uuid)s cannot go from %(current)s to '
                '%(new)s.')


class NotAuthenticated(EdgeEnrollException, common.NotAuthenticated):
    pass


class Forbidden(EdgeEnrollException, common.Forbidden):
    pass


class NotFound(EdgeEnrollException, common.NotFound):
    pass


class HardwareNotFound(NotFound):
    _msg_fmt = ('Hardware %(hardware)s was not found in your project; '
                'list yours with "openstack hardware list".')


class WorkerTaskNotFound(NotFound):
    _msg_fmt = 'Worker task %(uuid)s was not found.'


class WindowNotFound(NotFound):
    _msg_fmt = ('Availability window %(uuid)s is not one of this '
                'hardware\'s; list them with "openstack hardware '
                'availability list <hardware>".')


class PathNotFound(NotFound):
    _msg_fmt = ('No resource at %(path)s; the enrollment API serves '
                '/v1/hardware/ and /v1/hardware/<uuid>/.')


class MethodNotAllowed(EdgeEnrollException, common.MethodNotAllowed):
    pass


class Conflict(EdgeEnrollException, common.Conflict):
    pass


class HardwareNameInUse(Conflict):
    _msg_fmt = ('Hardware named %(name)s already exists; choose another '
                'name (it becomes the edge host\'s host name).')


class HardwareChanged(Conflict):
    _msg_fmt = ('Hardware %(uuid)s changed while this request changed it; '
                'read it again and retry.')


class RequestTooLarge(EdgeEnrollException):
    _msg_fmt = ('The request body is larger than %(limit)s bytes; a '
                'hardware request is much smaller.')
    code = 413


class UnsupportedMediaType(EdgeEnrollException,
                           common.UnsupportedMediaType):
    pass


class ConfigInvalid(EdgeEnrollException, common.ConfigInvalid):
    pass
