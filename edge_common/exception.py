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

"""The companion services' base error and the errors both raise.

Each service subclasses ``EdgeException`` once and mixes the shared
errors below into its own classes, so that a service still catches only
its own errors while the messages and HTTP codes are written once.
Only the standard library is imported here: the hub agent and the Edge
SDK import the services' exception modules.
"""

#: Longest part of a caller's input quoted back in a message.
QUOTE_MAX = 64


def quote(value):
    """``repr`` of a caller's input, cut short: messages quote what was
    refused without echoing a whole hostile body.
    """
    text = repr(value)
    if len(text) > QUOTE_MAX:
        text = text[:QUOTE_MAX - 3] + '...'
    return text


class EdgeException(Exception):
    """Base class: ``_msg_fmt`` is %-formatted with the keyword
    arguments; ``code`` is the HTTP status the API answers with.
    """

    _msg_fmt = 'An unexpected error occurred.'
    code = 500

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if not message:
            # A KeyError here is a bug in the caller: the template and
            # its arguments disagree.  Unit tests format every class.
            message = self._msg_fmt % kwargs
        self.message = str(message)
        super().__init__(self.message)


class Invalid(EdgeException, ValueError):
    _msg_fmt = 'Invalid request: %(reason)s'
    code = 400


class NotAuthenticated(EdgeException):
    _msg_fmt = ('Authentication required: send a valid Keystone token in '
                'the X-Auth-Token header.')
    code = 401


class Forbidden(EdgeException):
    _msg_fmt = ('Policy does not allow %(action)s; ask an administrator '
                'for a role that allows it.')
    code = 403


class NotFound(EdgeException):
    _msg_fmt = 'Resource could not be found.'
    code = 404


class MethodNotAllowed(EdgeException):
    _msg_fmt = '%(method)s is not allowed on %(path)s; use %(allowed)s.'
    code = 405


class Conflict(EdgeException):
    _msg_fmt = 'Conflict: %(reason)s'
    code = 409


class UnsupportedMediaType(EdgeException):
    _msg_fmt = ('The request body must be JSON: send it with '
                '"Content-Type: application/json".')
    code = 415


class ConfigInvalid(EdgeException):
    _msg_fmt = 'Invalid configuration: %(reason)s'
    code = 500
