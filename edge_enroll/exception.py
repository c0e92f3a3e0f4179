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

from edge_channels import exception as channel_exception


quote = channel_exception.quote


class EdgeEnrollException(Exception):
    """Base class: ``_msg_fmt`` is %-formatted with the keyword
    arguments; ``code`` is the HTTP status the API answers with.
    """

    _msg_fmt = 'An unexpected error occurred.'
    code = 500

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if not message:
            message = self._msg_fmt % kwargs
        self.message = str(message)
        super().__init__(self.message)


class Invalid(EdgeEnrollException, ValueError):
    _msg_fmt = 'Invalid request: %(reason)s'
    code = 400


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


class NotAuthenticated(EdgeEnrollException):
    _msg_fmt = ('Authentication required: send a valid Keystone token in '
                'the X-Auth-Token header.')
    code = 401


class Forbidden(EdgeEnrollException):
    _msg_fmt = ('Policy does not allow %(action)s; ask an administrator '
                'for a role that allows it.')
    code = 403


class NotFound(EdgeEnrollException):
    _msg_fmt = 'Resource could not be found.'
    code = 404


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


class MethodNotAllowed(EdgeEnrollException):
    _msg_fmt = '%(method)s is not allowed on %(path)s; use %(allowed)s.'
    code = 405


class Conflict(EdgeEnrollException):
    _msg_fmt = 'Conflict: %(reason)s'
    code = 409


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


class UnsupportedMediaType(EdgeEnrollException):
    _msg_fmt = ('The request body must be JSON: send it with '
                '"Content-Type: application/json".')
    code = 415


class ConfigInvalid(EdgeEnrollException):
    _msg_fmt = 'Invalid configuration: %(reason)s'
    code = 500
