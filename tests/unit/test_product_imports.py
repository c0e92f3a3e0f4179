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

"""The product never depends on the test suite.

``tests`` is not installed, and a product module that imported a test
fixture would break (or change behaviour) outside a checkout.
"""

import ast
import os

import testtools


TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PRODUCT = ('cyborg_peripherals', 'zun_oci_attach', 'edge_channels', 'aio')


def _is_tests(module):
    return module == 'tests' or module.startswith('tests.')


def _dynamic_import(node):
    """The constant module name of ``importlib.import_module(...)`` or
    ``__import__(...)``, if ``node`` is such a call.
    """
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(
        func, 'id', None)
    arg = node.args[0]
    if name in ('import_module', '__import__') and \
            isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    return None


def imports_of_tests(source, filename='<source>'):
    """The ``tests`` modules that Python ``source`` imports, with their
    line numbers, wherever the import statement is.
    """
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules = [node.module]
        else:
            modules = [_dynamic_import(node) or '']
        found += [(node.lineno, m) for m in modules if _is_tests(m)]
    return found


class TestProductImports(testtools.TestCase):

    def test_the_scan_finds_each_form_of_import(self):
        source = ('import tests\n'
                  'import os, tests.functional.rootfs as r\n'
                  'from tests.zun import harness\n'
                  'def f():\n'
                  '    from tests import base\n'
                  'importlib.import_module("tests.aio.base")\n'
                  'import testsuite\n'
                  'from aio import tests_helper\n'
                  'from . import tests\n')
        self.assertEqual([(1, 'tests'), (2, 'tests.functional.rootfs'),
                          (3, 'tests.zun'), (5, 'tests'),
                          (6, 'tests.aio.base')],
                         sorted(imports_of_tests(source)))

    def test_no_product_module_imports_tests(self):
        offenders = []
        scanned = 0
        for package in PRODUCT:
            for dirpath, dirnames, filenames in os.walk(
                    os.path.join(TOP, package)):
                dirnames[:] = [d for d in dirnames if d != '__pycache__']
                for name in filenames:
                    if not name.endswith('.py'):
                        continue
                    path = os.path.join(dirpath, name)
                    with open(path) as f:
                        found = imports_of_tests(f.read(), path)
                    scanned += 1
                    offenders += ['%s:%d imports %s' % (
                        os.path.relpath(path, TOP), line, module)
                        for line, module in found]
        # The walk found the packages (a wrong TOP would pass vacuously).
        self.assertGreater(scanned, 20)
        self.assertEqual([], offenders)
