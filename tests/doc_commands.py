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

"""The commands of the documentation, so that tests run them.

Every literal block of ``README.rst``, ``devstack/README.rst`` and
``doc/source/**/*.rst`` is read.  In a ``.. code-block:: console`` block
each line starting with ``$ `` is a command (a line ending with ``\\``
continues it) and the other lines are its output.  In any other literal
block that is not configuration or data (``ini``, ``json``, ...), a line
that starts like a command (``openstack ...``, ``./tools/...``) is a
command too, so a command cannot hide from the tests by being written
without a prompt.

Each command must match exactly one of ``RULES``: it is run by the
functional suite (``tests/functional/test_docs.py``), on an all-in-one
cloud (``tests/aio/test_docs.py``), or not at all, with a reason.  The
runners take their commands from here, page by page in document order,
so a new command is run as soon as it is written (or the unit test in
``tests/unit/test_docs_commands.py`` says it belongs to no rule).

Only the standard library is imported: the unit suite reads this too.
"""

import collections
import os
import re
import shlex
import subprocess
import sys


TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Languages of literal blocks that hold no commands.
DATA = frozenset(('ini', 'json', 'yaml', 'python', 'python3', 'pycon',
                  'javascript', 'xml', 'diff'))
#: Languages of blocks where only ``$ `` lines are commands.
CONSOLE = frozenset(('console', 'shell-session'))
#: How a command starts, outside a console block.
LOOKS_LIKE_COMMAND = re.compile(
    r'(\$ |sudo |\.?/?tools/\S|\./\S|openstack |cyborg-\S|zun-\S|'
    r'systemctl |apt(-get)? |pip3? |tox |git |docker |podman |export |'
    r'source |python3? |umockdev-\S|devstack/\S|stack\.sh|unstack\.sh)')

_DIRECTIVE = re.compile(
    r'^(\s*)\.\. (code-block|code|sourcecode)::\s*(\S*)\s*$')
_OTHER_DIRECTIVE = re.compile(r'^\s*\.\. ')

Command = collections.namedtuple('Command', 'path line text')
Command.__doc__ = """A command of a page: ``path`` relative to the top
of the repository, the ``line`` (1-based) where it starts, and its
``text`` with line continuations joined."""

Rule = collections.namedtuple('Rule', 'pattern where reason')
Rule.__doc__ = """Commands whose text matches ``pattern`` (a regular
expression, searched from the start) run ``where``: 'functional' (no
cloud needed), 'aio' (an all-in-one cloud) or None (not run; then
``reason`` says why)."""

FUNCTIONAL = 'functional'
AIO = 'aio'

#: Where each command of the documentation runs.  Keep the rules that
#: run nothing short: each is a command no test machine can run.
RULES = (
    Rule(r'(\./)?tools/demo$', FUNCTIONAL, None),
    Rule(r'cyborg-peripherals ', FUNCTIONAL, None),
    Rule(r'(\./)?tools/install-cyborg ', FUNCTIONAL, None),
    Rule(r'(\./)?tools/aio( |$)(?!.*\[)', AIO, None),
    Rule(r'openstack ', AIO, None),
    Rule(r'zun-oci-attach ', AIO, None),
    Rule(r'cyborg-dbsync ', AIO, None),
    Rule(r'(\./)?tools/run-tests', None,
         'runs every suite, this one included; CI runs it'),
    Rule(r'\./tools/aio \[', None,
         'a synopsis of tools/aio; try-it.rst runs each of its forms'),
    Rule(r'git ', None,
         'submits to Gerrit: needs opendev.org and a Gerrit account'),
)


def pages():
    """The documentation's pages, relative to ``TOP``, sorted."""
    found = ['README.rst', os.path.join('devstack', 'README.rst')]
    source = os.path.join(TOP, 'doc', 'source')
    for root, _dirs, files in os.walk(source):
        found += [os.path.relpath(os.path.join(root, name), TOP)
                  for name in files if name.endswith('.rst')]
    return sorted(p for p in found if os.path.exists(os.path.join(TOP, p)))


def _indent(line):
    return len(line) - len(line.lstrip(' '))


def literal_blocks(text):
    """The literal blocks of reStructuredText ``text``.

    Yields ``(line, language, lines)``: the 1-based number of the
    block's first line, the language of its ``code-block`` directive
    (None for a ``::`` block) and its lines, dedented.
    """
    lines = text.splitlines()
    i = 0
    paragraph_indent = None
    while i < len(lines):
        line = lines[i]
        directive = _DIRECTIVE.match(line)
        if directive:
            indent, language = len(directive.group(1)), directive.group(3)
        elif (line.rstrip().endswith('::')
              and not _OTHER_DIRECTIVE.match(line)):
            # The paragraph's indentation, not that of its last line.
            indent = _indent(line) if paragraph_indent is None \
                else paragraph_indent
            language = None
        else:
            paragraph_indent = (None if not line.strip() else
                                _indent(line) if paragraph_indent is None
                                else paragraph_indent)
            i += 1
            continue
        paragraph_indent = None
        i += 1
        # Directive options (":linenos:") come before the blank line.
        while (directive and i < len(lines) and lines[i].strip()
               and _indent(lines[i]) > indent):
            i += 1
        start = i
        while i < len(lines) and (not lines[i].strip()
                                  or _indent(lines[i]) > indent):
            i += 1
        block = lines[start:i]
        while block and not block[-1].strip():
            block.pop()
        first = next((n for n, b in enumerate(block) if b.strip()), None)
        if first is None:
            continue
        block = block[first:]
        cut = min(_indent(b) for b in block if b.strip())
        yield start + first + 1, language, [b[cut:] for b in block]


def _unbalanced(text):
    try:
        shlex.split(text)
    except ValueError:
        return True   # A quote still open: the command goes on.
    return False


def _join(lines, n):
    """The command starting at ``lines[n]``, continuations (a trailing
    backslash, or a quote still open) joined, and the index of the line
    after it.
    """
    command = lines[n]
    while n + 1 < len(lines):
        if command.endswith('\\'):
            command = command[:-1].rstrip() + ' ' + lines[n + 1].strip()
        elif _unbalanced(command):
            command += '\n' + lines[n + 1]
        else:
            break
        n += 1
    return command.strip(), n + 1


def commands_in(text, path='<text>'):
    """The commands of reStructuredText ``text``, in order."""
    found = []
    for line, language, block in literal_blocks(text):
        if language in DATA:
            continue
        n = 0
        while n < len(block):
            current = block[n]
            if language in CONSOLE:
                is_command = current.startswith('$ ')
            else:
                is_command = bool(LOOKS_LIKE_COMMAND.match(current))
            if not is_command:
                n += 1
                continue
            start = n
            command, n = _join(block, n)
            if command.startswith('$ '):
                command = command[2:].strip()
            found.append(Command(path, line + start, command))
    return found


def commands():
    """Every command of the documentation, page by page."""
    found = []
    for path in pages():
        with open(os.path.join(TOP, path), encoding='utf-8') as f:
            found += commands_in(f.read(), path)
    return found


def rules_for(command):
    """The rules that match ``command`` (exactly one, if all is well)."""
    return [rule for rule in RULES
            if re.match(rule.pattern, command.text)]


def by_page(runner):
    """{page: [command, ...]} of the commands ``runner`` runs, in
    document order.
    """
    found = collections.OrderedDict()
    for command in commands():
        # A command without exactly one rule fails the unit test.
        rules = rules_for(command)
        if len(rules) == 1 and rules[0].where == runner:
            found.setdefault(command.path, []).append(command)
    return found


def substitute(text, values):
    """``text`` with each placeholder word of ``values`` replaced.

    ``values`` maps a placeholder (a word such as ``IMAGE``, or a path
    the documentation uses as an example) to shell text; a placeholder
    matches only as a whole word.
    """
    for placeholder in sorted(values, key=len, reverse=True):
        text = re.sub(r'(?<![\w/.-])%s(?![\w.-])' % re.escape(placeholder),
                      lambda _m, v=values[placeholder]: v, text)
    return text


def run(text, env=None, timeout=900):
    """Run a command of the documentation as a user would, with bash in
    the top directory and this virtualenv's commands first on PATH.

    Returns the ``subprocess.CompletedProcess``.
    """
    env = dict(os.environ if env is None else env)
    venv_bin = os.path.dirname(sys.executable)
    env['PATH'] = venv_bin + os.pathsep + env.get('PATH', '')
    # tools/* set up and use this virtualenv, not another one.
    env.setdefault('VENV', sys.prefix)
    return subprocess.run(['bash', '-o', 'pipefail', '-c', text], cwd=TOP,
                          env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def explain(command, result):
    """A failure message for a command that did not do what it says."""
    return ('%s:%d: %s\nexit status %d\n--- stdout\n%s\n--- stderr\n%s'
            % (command.path, command.line, command.text, result.returncode,
               result.stdout[-3000:], result.stderr[-3000:]))
