"""Extract the gradient checks of autograd-style test files as concrete cases.

Contract: `collect(path)` runs one test file with `autograd` replaced by stubs
(`autograd.numpy` is plain NumPy, `check_grads`, `combo_check` and the
`unary_to_nary` gradient operators record their calls instead of checking)
and returns one `Case` per concrete gradient check: the function checked, the
argument values, the keyword arguments and the argument numbers autograd
differentiates. Running the tests' own setup code is what turns
`npr.randn(...)` and `for arg1, arg2 in arg_pairs()` into concrete arrays;
only autograd's test files are run, never codegen's inputs.

`static_sites(path)` counts, with `ast`, the call sites of those checkers per
test function, so a test that fails before reaching them is reported rather
than silently dropped. `translate.forward_source` turns a `Case` into
codegen's input form.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import importlib.util
import itertools
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Names whose calls are gradient checks in autograd's tests.
CHECKERS = ("check_grads", "combo_check")
#: numpy_utils.py helpers that expand into combo_check calls.
COMBO_HELPERS = (
    "stat_check",
    "unary_ufunc_check",
    "binary_ufunc_check",
    "binary_ufunc_check_no_same_args",
    "check_symmetric_matrix_grads",
    "check_binary_func",
)
#: The seed of autograd's tests/conftest.py (an autouse fixture).
CONFTEST_SEED = 42


@dataclass
class Case:
    """One concrete gradient check found in a test file."""

    #: test file name, test function name (with pytest parameters).
    file: str
    test: str
    #: line of the call in the test file (innermost frame in that file).
    line: int
    #: the function checked and the values it is called with.
    fun: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    #: indices of the positional arguments autograd differentiates.
    argnums: tuple[int, ...]
    #: why the case cannot be run as codegen input, if so (found at record time).
    na: str | None = None
    #: path of the test file (the call site's spelling is read from it).
    path: str = ""
    #: the closure of `fun` when recorded (a loop may rebind it later).
    closure: dict[str, Any] = field(default_factory=dict)


@dataclass
class FileResult:
    """The cases of one test file and the tests that failed to reach theirs."""

    file: str
    cases: list[Case] = field(default_factory=list)
    #: test name -> (static checker call sites, error raised before any case).
    unreached: dict[str, tuple[int, str]] = field(default_factory=dict)


class Sink:
    """What a stubbed gradient returns: absorbs arithmetic, every test is True.

    Tests compare gradients with hand values after recording a case
    (``assert grad(f)(0.0) == 0.0``); the sink lets them run on.
    """

    def _self(self, *a: Any, **k: Any) -> Sink:
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _self
    __truediv__ = __rtruediv__ = __pow__ = __neg__ = __abs__ = __call__ = _self
    __getitem__ = __getattr__ = _self

    def _true(self, other: Any) -> bool:
        return True

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _true  # type: ignore
    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        return True


class GradOf:
    """Stub of ``autograd.grad(f)``: callable, remembers `f` (a higher-order
    check of it is not a first-order case)."""

    def __init__(self, fun: Any, *a: Any, **k: Any) -> None:
        self.fun = fun

    def __call__(self, *a: Any, **k: Any) -> Sink:
        return Sink()


class _Recorder:
    """Collects the cases of the test function being run."""

    def __init__(self) -> None:
        self.file = ""
        self.path = ""
        self.test = ""
        self.cases: list[Case] = []

    def record(self, fun: Any, args: tuple, kwargs: dict, argnum: Any) -> None:
        argnums = (argnum,) if isinstance(argnum, int) else tuple(argnum)
        line = 0
        frame = sys._getframe()
        while frame is not None:
            if frame.f_code.co_filename == self.path:
                line = frame.f_lineno
                break
            frame = frame.f_back
        try:
            args, kwargs = copy.deepcopy((args, kwargs))
        except Exception:  # noqa: BLE001 (uncopyable values are kept as they are)
            pass
        na = "higher-order: checks autograd.grad(f)" if _is_grad(fun) else None
        closure = {}
        code = getattr(fun, "__code__", None)
        if code is not None and fun.__closure__:
            for name, cell in zip(code.co_freevars, fun.__closure__, strict=True):
                with contextlib.suppress(ValueError):  # an empty cell
                    closure[name] = copy.copy(cell.cell_contents)
        self.cases.append(
            Case(
                self.file,
                self.test,
                line,
                fun,
                args,
                kwargs,
                argnums,
                na,
                self.path,
                closure,
            )
        )


RECORDER = _Recorder()


def _is_grad(fun: Any) -> bool:
    return isinstance(fun, GradOf)


def check_grads(fun: Any, argnum: Any = 0, *_a: Any, **_k: Any) -> Callable:
    """Recording stand-in for ``autograd.test_util.check_grads``."""

    def checker(*args: Any, **kwargs: Any) -> None:
        RECORDER.record(fun, args, kwargs, argnum)

    return checker


def combo_check(fun: Any, *check_args: Any, **check_kwargs: Any) -> Callable:
    """Recording stand-in for ``combo_check``: every combination is a case."""
    argnum = check_args[0] if check_args else check_kwargs.get("argnum", 0)

    def checker(*args: Any, **kwargs: Any) -> None:
        keyed = [[(k, v) for v in vs] for k, vs in kwargs.items()]
        for combo in itertools.product(*args):
            for kw in itertools.product(*keyed):
                RECORDER.record(fun, combo, dict(kw), argnum)

    return checker


def unary_to_nary(unary_operator: Any) -> Callable:
    """Stand-in for ``autograd.wrap_util.unary_to_nary``: the operator a test
    file builds with it (test_core.py's own ``grad``) records a case."""

    def nary(fun: Any, argnum: Any = 0, *_a: Any, **_k: Any) -> Callable:
        def call(*args: Any, **kwargs: Any) -> Sink:
            RECORDER.record(fun, args, kwargs, argnum)
            return Sink()

        return call

    return nary


def _stub_modules() -> dict[str, types.ModuleType]:
    """``autograd`` and the submodules the tests import, as stubs over NumPy."""
    root = types.ModuleType("autograd")
    root.__path__ = []  # a package, so submodule imports resolve
    for name in ("grad", "elementwise_grad", "value_and_grad", "jacobian"):
        setattr(root, name, GradOf)
    root.hessian = GradOf
    root.tuple = builtins.tuple
    root.list = builtins.list
    root.dict = builtins.dict
    root.numpy = np
    test_util = types.ModuleType("autograd.test_util")
    test_util.check_grads = check_grads
    test_util.combo_check = combo_check
    wrap_util = types.ModuleType("autograd.wrap_util")
    wrap_util.unary_to_nary = unary_to_nary
    core = types.ModuleType("autograd.core")
    core.make_vjp = core.make_jvp = core.vspace = Sink()
    root.test_util, root.wrap_util, root.core = test_util, wrap_util, core
    return {
        "autograd": root,
        "autograd.numpy": np,
        "autograd.numpy.random": np.random,
        "autograd.numpy.linalg": np.linalg,
        "autograd.test_util": test_util,
        "autograd.wrap_util": wrap_util,
        "autograd.core": core,
    }


@contextlib.contextmanager
def stubbed_autograd(tests_dir: Path) -> Iterator[None]:
    """Replace autograd by the stubs and put `tests_dir` first on sys.path;
    restore both, and forget the test modules imported meanwhile."""
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] == "autograd"}
    before = set(sys.modules)
    for k in saved:
        del sys.modules[k]
    sys.modules.update(_stub_modules())
    sys.path.insert(0, str(tests_dir))
    try:
        yield
    finally:
        sys.path.remove(str(tests_dir))
        for k in set(sys.modules) - before:
            del sys.modules[k]
        for k in _stub_modules():
            sys.modules.pop(k, None)
        sys.modules.update(saved)


def static_sites(path: Path) -> dict[str, int]:
    """Per test function, the calls of a checker or checking helper in it."""
    tree = ast.parse(path.read_text(), str(path))
    wanted = set(CHECKERS) | set(COMBO_HELPERS)
    sites: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            n = 0
            for sub in ast.walk(node):
                # check_grads(f)(x) is one site: count the inner call only.
                if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
                    n += sub.func.id in wanted
            if n:
                sites[node.name] = n
    return sites


def raises_lines(path: Path) -> set[int]:
    """Lines inside ``with pytest.raises(...)`` blocks: checks expected to fail."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.With) and any(
            "raises" in ast.unparse(item.context_expr) for item in node.items
        ):
            first, last = node.body[0].lineno, node.body[-1].end_lineno or 0
            lines.update(range(first, last + 1))
    return lines


def _parametrizations(test: Callable) -> list[dict[str, Any]]:
    """The keyword sets pytest's parametrize marks give a test function."""
    grids = []
    for mark in getattr(test, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names, values = mark.args[0], list(mark.args[1])
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if len(names) == 1:
            values = [(v,) for v in values]
        grids.append([dict(zip(names, v, strict=True)) for v in values])
    combos = []
    for parts in itertools.product(*grids):
        merged: dict[str, Any] = {}
        for p in parts:
            merged.update(p)
        combos.append(merged)
    return combos or [{}]


def collect(path: Path) -> FileResult:
    """Run the tests of `path` against the stubs; return their cases."""
    result = FileResult(path.name)
    sites = static_sites(path)
    expected_to_fail = raises_lines(path)
    with stubbed_autograd(path.parent), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.random.seed(CONFTEST_SEED)
        spec = importlib.util.spec_from_file_location(f"_conf_{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        tests = [
            v
            for k, v in vars(module).items()
            if k.startswith("test") and callable(v) and hasattr(v, "__code__")
        ]
        tests.sort(key=lambda t: t.__code__.co_firstlineno)
        RECORDER.file, RECORDER.path = path.name, str(path)
        for test in tests:
            for params in _parametrizations(test):
                label = test.__name__
                if params:
                    label += "[" + "-".join(map(str, params.values())) + "]"
                RECORDER.test, RECORDER.cases = label, []
                np.random.seed(CONFTEST_SEED)
                error = ""
                try:
                    with np.errstate(all="ignore"):
                        test(**params)
                except (
                    BaseException
                ) as exc:  # noqa: B036 (pytest.raises fails with one)
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                if not RECORDER.cases and test.__name__ in sites:
                    result.unreached[label] = (sites[test.__name__], error)
                for case in RECORDER.cases:
                    if case.line in expected_to_fail and case.na is None:
                        case.na = "the test expects autograd to raise (pytest.raises)"
                result.cases.extend(RECORDER.cases)
    return result
