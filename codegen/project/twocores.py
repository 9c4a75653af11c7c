"""Compile a long generated module on two cores.

`stamp.check_generated` compiles every module before it is written; for a
10,000-statement program that is a 190,000-line module and a second of one
core, at the end of the command, with nothing left to overlap it with. A long
module is therefore cut in two at a line opening with ``def `` near its
middle, and a forked child compiles the second piece while this process
compiles the first.

Why the two verdicts are the whole module's: a piece that compiles ends with
no string or bracket open and no line continued, so the whole module's tokens
are the first piece's followed by the second's (which starts at column 0),
and its statements the first piece's followed by the second's; the
compiler's checks beyond the grammar (``return`` outside a function, names
declared global after use, ...) look inside one statement, or at
``from __future__`` imports, which the top-level check refuses anywhere but
in the module's head. When either piece does not compile, the whole module
is compiled here: the first may end inside a string that the second closes,
and the error is reported as it reads in the module.
"""

from __future__ import annotations

import os
import threading

#: Shorter text is compiled in one piece: the fork costs more than it saves.
SPLIT_AT = 1 << 20


def compile_module(text: str, where: str) -> None:
    """Compile `text` as a module, as `compile(text, where, "exec")` does
    (raising its SyntaxError, ValueError or RecursionError), on two cores
    when it is long."""
    cut = _cut(text) if _can_fork(text) else None
    if cut is None:
        compile(text, where, "exec", dont_inherit=True)
        return
    pid = os.fork()
    if pid == 0:  # the child: its verdict is its exit status
        status = 1
        try:
            compile(text[cut:], where, "exec", dont_inherit=True)
            status = 0
        finally:
            os._exit(status)
    first = True
    try:
        compile(text[:cut], where, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError):
        first = False
    finally:
        _, status = os.waitpid(pid, 0)
    if not first or os.waitstatus_to_exitcode(status) != 0:
        compile(text, where, "exec", dont_inherit=True)  # the error as it reads


def _can_fork(text: str) -> bool:
    # forking a process with other threads running copies only this one;
    # whatever lock another thread held stays held in the child
    return (
        len(text) >= SPLIT_AT and hasattr(os, "fork") and threading.active_count() == 1
    )


def _cut(text: str) -> int | None:
    """The offset of a line opening with ``def `` nearest the middle of
    `text`, or None."""
    middle = len(text) // 2
    after = text.find("\ndef ", max(0, middle - 4))  # or one across the middle
    before = text.rfind("\ndef ", 0, middle)
    offsets = [i + 1 for i in (before, after) if i > 0]
    return min(offsets, key=lambda i: abs(i - middle)) if offsets else None
