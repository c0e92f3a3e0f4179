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

"""What the enrollment API does with hardware: Doni's v1 resources,
each call a dict in, a dict out (``edge_enroll.api.app`` speaks HTTP).

After a create, change, sync or delete the hardware's tasks are marked
pending and the worker is woken (an RPC cast; its poll catches what a
lost cast misses).
"""

from oslo_log import log as logging
from oslo_utils import uuidutils

from edge_enroll import exception
from edge_enroll import objects
from edge_enroll import properties
from edge_enroll.api import policy
from edge_enroll.api import schema


LOG = logging.getLogger(__name__)
SORT_KEYS = ('created_at', 'updated_at', 'name', 'uuid')
SORT_DIRS = ('asc', 'desc')
#: Tries of a PATCH against hardware that keeps changing meanwhile.
PATCH_ATTEMPTS = 3


def _time(value):
    return value.isoformat() if value is not None else None


class HardwareAPI:
    """``types``: enabled hardware types by name; ``rpc``: an
    ``edge_enroll.rpcapi.WorkerAPI``.
    """

    def __init__(self, conf, types, rpc):
        self.conf = conf
        self.types = types
        self.rpc = rpc

    # -- representations ------------------------------------------------

    def _type_of(self, hw):
        # Hardware of a type disabled since is still shown, unchecked.
        return self.types.get(hw.hardware_type)

    def _properties(self, hw, public_only=False):
        hw_type = self._type_of(hw)
        if hw_type is None:
            return {} if public_only else dict(hw.properties)
        return hw_type.view(hw.properties, public_only)

    def _worker_repr(self, hw, task):
        hw_type = self._type_of(hw)
        once = hw_type.one_time_details(task.worker_type) if hw_type else ()
        details = dict(task.state_details)
        shown = [k for k in once if k in details]
        if shown:
            revealed = task.reveal_once(shown)
            for key in shown:
                details[key] = revealed.get(key,
                                            properties.MASK)
            if revealed:
                details['secret_revealed'] = True
        return {'worker_type': task.worker_type, 'state': task.state,
                'state_details': details}

    def _repr(self, hw, tasks):
        return {'uuid': hw.uuid, 'name': hw.name,
                'project_id': hw.project_id,
                'hardware_type': hw.hardware_type,
                'properties': self._properties(hw),
                'created_at': _time(hw.created_at),
                'updated_at': _time(hw.updated_at),
                'workers': [self._worker_repr(hw, t) for t in tasks]}

    def _public_repr(self, hw):
        return {'uuid': hw.uuid, 'name': hw.name,
                'project_id': hw.project_id,
                'hardware_type': hw.hardware_type,
                'properties': self._properties(hw, public_only=True),
                'created_at': _time(hw.created_at),
                'updated_at': _time(hw.updated_at)}

    def _show(self, context, hw):
        return self._repr(hw, objects.WorkerTask.list_for_hardware(
            context, hw.uuid))

    # -- lookups ----------------------------------------------------------

    def _find(self, context, ident, rule):
        """Hardware ``ident`` (UUID or name) if ``context`` may see it
        (404 otherwise, so that other projects learn nothing) and may
        do ``rule`` on it (403 otherwise).
        """
        if uuidutils.is_uuid_like(ident):
            hw = objects.Hardware.get_by_uuid(context, ident)
        else:
            hw = objects.Hardware.get_by_name(context, ident)
        target = {'project_id': hw.project_id}
        if not policy.check(context, 'hardware:get', target):
            raise exception.HardwareNotFound(hardware=exception.quote(ident))
        policy.authorize(context, rule, target)
        return hw

    def _wake(self, context, hw):
        objects.WorkerTask.mark_pending(context, hw.uuid)
        self.rpc.process(context, hw.uuid)

    # -- the resources ----------------------------------------------------

    def list(self, context, all_projects=False, limit=None, marker=None,
             sort_key='created_at', sort_dir='asc'):
        project_id = context.project_id
        if all_projects:
            policy.authorize(context, 'hardware:list:all_projects', {})
            project_id = None
        else:
            policy.authorize(context, 'hardware:get',
                             {'project_id': project_id})
        if sort_key not in SORT_KEYS:
            raise exception.Invalid(reason='sort_key must be one of %s'
                                    % ', '.join(SORT_KEYS))
        if sort_dir not in SORT_DIRS:
            raise exception.Invalid(reason='sort_dir must be asc or desc')
        limit = min(limit or self.conf.api.max_limit,
                    self.conf.api.max_limit)
        found = objects.Hardware.list(
            context, project_id=project_id, limit=limit, marker=marker,
            sort_key=sort_key, sort_dir=sort_dir)
        tasks = objects.WorkerTask.list_by_hardware(
            context, [hw.uuid for hw in found])
        return [self._repr(hw, tasks[hw.uuid]) for hw in found], limit

    def export(self, context):
        """Every live hardware item, public properties only (no token
        needed).
        """
        return [self._public_repr(hw) for hw in objects.Hardware.list(
            context)]

    def get(self, context, ident):
        return self._show(context, self._find(context, ident,
                                              'hardware:get'))

    def availability(self, context, ident):
        hw = self._find(context, ident, 'hardware:get')
        return [{'uuid': w.uuid, 'start': _time(w.start),
                 'end': _time(w.end)}
                for w in objects.AvailabilityWindow.list_for_hardware(
                    context, hw.uuid)]

    def create(self, context, body):
        policy.authorize(context, 'hardware:create',
                         {'project_id': context.project_id})
        hw_type, name, props = schema.parse_create(body, self.types)
        hw = objects.Hardware(context, project_id=context.project_id,
                              hardware_type=hw_type.name, name=name,
                              properties=props)
        hw.create()
        objects.WorkerTask.ensure_for_hardware(context, hw,
                                               hw_type.enabled_workers)
        LOG.info('Hardware %(uuid)s (%(name)s) enrolled by project '
                 '%(project)s', {'uuid': hw.uuid, 'name': hw.name,
                                 'project': hw.project_id})
        self.rpc.process(context, hw.uuid)
        return self._show(context, hw)

    def update(self, context, ident, patch):
        hw = self._find(context, ident, 'hardware:update')
        hw_type = schema.hardware_type(hw.hardware_type, self.types)
        hw_ops, window_ops = schema.split_patch(patch)
        # Everything is checked before anything is written.
        windows = None
        if window_ops:
            windows = schema.parse_windows(window_ops, {
                w.uuid: w for w in objects.AvailabilityWindow
                .list_for_hardware(context, hw.uuid)})
        if hw_ops:
            hw = self._patch(context, hw, hw_type, hw_ops)
        if windows:
            objects.AvailabilityWindow.apply(context, hw.uuid, *windows)
        self._wake(context, hw)
        return self._show(context, hw)

    @staticmethod
    def _patch(context, hw, hw_type, ops):
        """Apply JSON-Patch ``ops`` to ``hw`` and save it; if it changed
        since it was read (a worker recording device profiles), apply
        them again to what it is now, so neither change is lost.
        """
        for attempt in range(PATCH_ATTEMPTS):
            hw.name, hw.properties = schema.apply_patch(
                hw_type, hw.name, hw.properties, ops)
            try:
                hw.save()
                return hw
            except exception.HardwareChanged:
                if attempt + 1 == PATCH_ATTEMPTS:
                    raise
                hw = objects.Hardware.get_by_uuid(context, hw.uuid)

    def sync(self, context, ident):
        self._wake(context, self._find(context, ident, 'hardware:sync'))

    def delete(self, context, ident):
        hw = self._find(context, ident, 'hardware:delete')
        hw.soft_delete()
        LOG.info('Hardware %(uuid)s (%(name)s) deleted; its workers clean '
                 'up', {'uuid': hw.uuid, 'name': hw.name})
        self._wake(context, hw)
