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

"""A hardware item's properties: their fields, JSON schema and views.

A hardware type declares its own fields and adds those of its enabled
workers; each field says whether it is ``private`` (hidden from the
unauthenticated export), ``sensitive`` (always masked) or
``read_only`` (set by a worker, never by users).  Workers declare
theirs with the same attributes (``edge_enroll.worker.base``).
"""

import dataclasses

import jsonschema

from edge_channels import channel
from edge_enroll import exception


MASK = '******'
#: Our own formats, on top of Draft 7's ("email" among them).
FORMAT_CHECKER = jsonschema.FormatChecker()
WIREGUARD_KEY = 'wireguard-public-key'


@FORMAT_CHECKER.checks(WIREGUARD_KEY, raises=ValueError)
def _wireguard_key(value):
    # One source of truth: the channel API's own validator.
    return not isinstance(value, str) or bool(
        channel.validate_public_key(value))


@dataclasses.dataclass(frozen=True)
class Field:
    """A property of a hardware type; see the module."""

    name: str
    schema: dict
    required: bool = False
    private: bool = False
    sensitive: bool = False
    description: str = ''
    read_only: bool = False


def json_schema(fields):
    """The Draft 7 schema of properties made of ``fields``: no others."""
    props = {}
    for field in fields:
        schema = dict(field.schema)
        if field.description:
            schema.setdefault('description', field.description)
        props[field.name] = schema
    return {'type': 'object', 'properties': props,
            'required': sorted(f.name for f in fields if f.required),
            'additionalProperties': False}


def validate(schema, properties, hardware_type):
    """Raise ``InvalidProperties`` naming the first problem's place."""
    validator = jsonschema.Draft7Validator(schema,
                                           format_checker=FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(
        validator.iter_errors(properties))
    if error is None:
        return
    # A format check of ours says more than jsonschema's "is not a ...".
    reason = str(error.cause) if error.cause is not None else error.message
    if error.absolute_path:
        reason = '%s: %s' % (
            '/'.join(str(p) for p in error.absolute_path), reason)
    raise exception.InvalidProperties(
        hardware_type=exception.quote(hardware_type), reason=reason)


def view(properties, fields, public_only=False):
    """``properties`` as shown: sensitive values masked; with
    ``public_only`` (the export), private ones left out.
    """
    by_name = {f.name: f for f in fields}
    shown = {}
    for name, value in properties.items():
        field = by_name.get(name)
        if field is not None and public_only and (field.private or
                                                  field.sensitive):
            continue
        if field is not None and field.sensitive:
            value = MASK
        shown[name] = value
    return shown
