"""Run codegen on one program and classify the outcome.

The references are independent of codegen: the program's own forward (NumPy),
HIPS autograd on the same source executed with `autograd.numpy`, and central
differences of the program's forward. Classes:

* ``pass``: values and gradients agree with the references;
* ``refused``: codegen raised a CodegenError located as ``path:line:col``;
* ``wrong-value``: the generated forward's value (or shape) differs, or it
  changed an input array;
* ``wrong-gradient``: a gradient (or its shape) differs from the references,
  a returned gradient shares memory with the upstream gradient, an input or
  another gradient, or the backward changes when the caller updates the
  returned value in place (it aliases the cache);
* ``crash``: the generated code raises, codegen fails with something else
  than a located CodegenError, or the module does not import;
* ``invalid``: central differences change with the step (a kink the guards
  missed); not a verdict on codegen. Where autograd and central differences
  disagree but the step does not matter (autograd's own gaps, e.g. np.clip
  with array bounds), central differences decide.

The programs and the generated modules are run with `exec` and every
exception is caught on purpose (the `noqa: S102, BLE001` marks): whatever the
code under test raises is the finding.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import traceback
import types
import warnings
from dataclasses import dataclass

import numpy as np

from .generator import Program

#: Gradient tolerance against central differences and against autograd.
FD_ATOL, FD_RTOL = 1e-6, 1e-5
AG_ATOL, AG_RTOL = 1e-8, 1e-6
VALUE_TOL = 1e-9


@dataclass
class Outcome:
    cls: str
    #: A short cause: the refusal message, the exception, which parameter.
    cause: str = ""
    detail: str = ""


def _amath() -> types.SimpleNamespace:
    import autograd.numpy as anp

    names = ("exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "log1p")
    ns = types.SimpleNamespace(**{n: getattr(anp, n) for n in names})
    ns.pi, ns.e = math.pi, math.e
    return ns


def load_user(source: str, use_autograd: bool = False) -> types.FunctionType:
    ns: dict[str, object] = {"__name__": "user_forward"}
    if use_autograd:
        source = source.replace("import numpy as np", "import autograd.numpy as np")
        source = source.replace("import math\n", "math = _amath\n")
        ns["_amath"] = _amath()
    exec(compile(source, "<forward>", "exec"), ns)  # noqa: S102
    return ns["f"]  # type: ignore[return-value]


def _phi(fn, seed):
    """sum(fn(args) * seed); for several outputs (`seed` a list, one per
    output) the sum over the outputs."""

    def phi(*args):
        if isinstance(seed, list):
            return float(
                sum(
                    np.sum(np.asarray(o, dtype=float) * s)
                    for o, s in zip(fn(*args), seed, strict=True)
                )
            )
        return float(np.sum(np.asarray(fn(*args), dtype=float) * seed))

    return phi


def central_difference(
    fn, args: list[object], i: int, seed, scale: float = 1.0
) -> np.ndarray:
    """d/d args[i] of sum(fn(args) * seed), fourth order, entry by entry, with
    step 1e-4 * scale * max(1, |x|)."""
    phi = _phi(fn, seed)
    x = args[i]
    base = np.array(x, dtype=float)
    out = np.zeros(base.shape)
    for idx in np.ndindex(*base.shape):
        v = float(base[idx])
        h = 1e-4 * scale * max(1.0, abs(v))
        vals = []
        for step in (2 * h, h, -h, -2 * h):
            moved = list(args)
            if isinstance(x, np.ndarray):
                arr = base.copy()
                arr[idx] = v + step
                moved[i] = arr
            else:
                moved[i] = v + step
            moved = [
                np.array(a, copy=True) if isinstance(a, np.ndarray) else a
                for a in moved
            ]
            vals.append(phi(*moved))
        out[idx] = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)
    return out


def autograd_grads(source: str, prog: Program, seed) -> list[np.ndarray] | None:
    """autograd's gradients of sum(f * seed), or None where autograd cannot
    run the program (item assignment, in-place views)."""
    import autograd

    try:
        f = load_user(source, use_autograd=True)
        grads = []
        for i in range(len(prog.params)):

            def obj(*a, _f=f):
                import autograd.numpy as anp

                if isinstance(seed, list):
                    outs = _f(*a)
                    return sum(anp.sum(o * w) for o, w in zip(outs, seed, strict=True))
                return anp.sum(_f(*a) * seed)

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                g = autograd.grad(obj, argnum=i)(*prog.fresh_inputs())
            grads.append(np.asarray(g, dtype=float))
        return grads
    except Exception:  # noqa: BLE001
        return None


LOCATED = re.compile(r"^(?P<path>.+?):\d+:\d+: error: ")


def _norm(msg: str) -> str:
    msg = re.sub(r"'[^']*'", "'…'", msg)
    msg = re.sub(r"\b\d+\b", "N", msg)
    return msg[:110]


def _close(a, b, atol, rtol) -> bool:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    return bool(
        np.all(np.isfinite(a)) and np.all(np.abs(a - b) <= atol + rtol * np.abs(b))
    )


def _exc(e: BaseException) -> str:
    tb = traceback.extract_tb(e.__traceback__)
    where = ""
    for fr in reversed(tb):
        if "generated" in fr.filename or "codegen" in fr.filename:
            where = f" in {os.path.basename(fr.filename)}:{fr.name}"
            break
    return (
        f"{type(e).__name__}{where}: {_norm(str(e).splitlines()[0] if str(e) else '')}"
    )


def check(prog: Program, tmpdir: str | None = None) -> Outcome:
    import codegen
    from codegen.errors import CodegenError

    source = prog.source()
    tmpdir = tmpdir or tempfile.gettempdir()
    path = os.path.join(tmpdir, f"prog_{prog.seed}.py")
    with open(path, "w") as fh:
        fh.write(source)
    # 1. codegen
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = codegen.generate(source, path, "f")
    except CodegenError as e:
        text = str(e)
        errs = [ln for ln in text.splitlines() if ": error: " in ln]
        if errs and all(
            LOCATED.match(ln) and LOCATED.match(ln)["path"] == path for ln in errs
        ):
            return Outcome("refused", _norm(errs[0].split(": error: ", 1)[1]), text)
        return Outcome(
            "crash", "unlocated refusal: " + _norm(text.splitlines()[0]), text
        )
    except Exception as e:  # noqa: BLE001
        return Outcome("crash", "codegen raised " + _exc(e), traceback.format_exc())
    finally:
        os.unlink(path)
    # 2. the generated module
    try:
        gen = types.ModuleType("generated")
        exec(compile(code, "<generated>", "exec"), gen.__dict__)  # noqa: S102
        fwd, bwd, vag = gen.f_forward, gen.f_backward, gen.f_value_and_grad
    except Exception as e:  # noqa: BLE001
        return Outcome("crash", "import " + _exc(e), f"{type(e).__name__}: {e}")
    user = load_user(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return _compare(prog, source, code, user, fwd, bwd, vag)


def _outputs(prog, value) -> list:
    """The outputs of a program's value: one, or each of several."""
    return list(value) if prog.extra else [value]


def _same_outputs(prog, got, expected) -> bool:
    if prog.extra and not (isinstance(got, tuple) and len(got) == len(expected)):
        return False
    pairs = zip(_outputs(prog, got), _outputs(prog, expected), strict=True)
    return all(_close(a, b, VALUE_TOL, VALUE_TOL) for a, b in pairs)


def _compare(prog, source, code, user, fwd, bwd, vag) -> Outcome:
    expected = user(*prog.fresh_inputs())
    args = prog.fresh_inputs()
    try:
        out, cache = fwd(*args)
    except Exception as e:  # noqa: BLE001
        return Outcome("crash", "forward " + _exc(e), f"{type(e).__name__}: {e}")
    if not _same_outputs(prog, out, expected):
        return Outcome(
            "wrong-value",
            "forward value",
            f"expected {expected!r}\ngot {out!r}",
        )
    for p, a in zip(prog.params, args, strict=True):
        if not np.array_equal(np.asarray(a), np.asarray(prog.inputs[p.name])):
            return Outcome("wrong-value", "forward changed an input", p.name)
    rng = np.random.default_rng(prog.seed)
    seeds = [
        1.0 if np.ndim(e) == 0 else rng.standard_normal(np.shape(e))
        for e in _outputs(prog, expected)
    ]
    seed = seeds if prog.extra else seeds[0]  # what _phi and autograd weigh by
    kept = [np.copy(s) for s in seeds]
    try:
        grads = bwd(*seeds, cache)
    except Exception as e:  # noqa: BLE001
        return Outcome("crash", "backward " + _exc(e), f"{type(e).__name__}: {e}")
    if not all(np.array_equal(k, s) for k, s in zip(kept, seeds, strict=True)):
        return Outcome("wrong-value", "backward changed the upstream gradient", "")
    grads = [grads] if len(prog.params) == 1 else list(grads)
    vargs = prog.fresh_inputs()
    try:
        out2, grads_v = vag(*vargs)
    except Exception as e:  # noqa: BLE001
        return Outcome("crash", "value_and_grad " + _exc(e), f"{type(e).__name__}: {e}")
    for p, a in zip(prog.params, vargs, strict=True):
        if not np.array_equal(np.asarray(a), np.asarray(prog.inputs[p.name])):
            return Outcome("wrong-value", "value_and_grad changed an input", p.name)
    grads_v = [grads_v] if len(prog.params) == 1 else list(grads_v)
    inputs = prog.fresh_inputs()
    fd = [central_difference(user, inputs, i, seed) for i in range(len(prog.params))]
    ag = autograd_grads(source, prog, seed)
    if ag is not None and not all(
        _close(a, n, FD_ATOL, FD_RTOL) for a, n in zip(ag, fd, strict=True)
    ):
        # autograd and central differences disagree: a kink the guards missed
        # (then a smaller step changes the difference too), or autograd's own
        # gap (clip with array bounds): then central differences decide.
        fine = [
            central_difference(user, inputs, i, seed, 0.1)
            for i in range(len(prog.params))
        ]
        if not all(
            _close(a, b, FD_ATOL, FD_RTOL) for a, b in zip(fd, fine, strict=True)
        ):
            return Outcome("invalid", "central differences depend on the step (a kink)")
        ag = None
    for k, (p, g) in enumerate(zip(prog.params, grads, strict=True)):
        ref = ag[k] if ag is not None else fd[k]
        tol = (AG_ATOL, AG_RTOL) if ag is not None else (FD_ATOL, FD_RTOL)
        if np.shape(g) != np.shape(prog.inputs[p.name]):
            return Outcome(
                "wrong-gradient",
                "gradient shape",
                f"d/d{p.name}: expected shape {np.shape(ref)}, got {np.shape(g)}: {np.asarray(g)!r}",
            )
        if not _close(g, ref, *tol) or not _close(g, fd[k], FD_ATOL, FD_RTOL):
            if ag is None and not _close(
                fd[k], central_difference(user, inputs, k, seed, 0.1), FD_ATOL, FD_RTOL
            ):  # no autograd to compare with: a kink within the step shows here
                return Outcome(
                    "invalid", "central differences depend on the step (a kink)"
                )
            return Outcome(
                "wrong-gradient",
                "gradient value" + ("" if ag is not None else " (fd only)"),
                f"d/d{p.name}: expected {np.asarray(ref)!r}\ngot {np.asarray(g)!r}",
            )
    # aliasing: every gradient is its own array, and a caller may update the
    # returned value in place without changing the backward (issue 13, #20)
    arrays = [("the upstream gradient", s) for s in seeds] + [
        (f"input {p.name}", a) for p, a in zip(prog.params, args, strict=True)
    ]
    for p, g in zip(prog.params, grads, strict=True):
        for what, other in arrays:
            if (
                isinstance(g, np.ndarray)
                and isinstance(other, np.ndarray)
                and np.shares_memory(g, other)
            ):
                return Outcome(
                    "wrong-gradient",
                    (
                        "a gradient shares memory with " + what.rsplit(" ", 1)[0]
                        if what.startswith("input")
                        else "a gradient shares memory with " + what
                    ),
                    f"grad_{p.name} shares memory with {what}",
                )
        arrays.append((f"grad {p.name}", g))
    out3, cache3 = fwd(*prog.fresh_inputs())
    written = [
        o
        for o in _outputs(prog, out3)
        if isinstance(o, np.ndarray) and o.flags.writeable and o.size
    ]
    if written:
        for o in written:
            o[...] = 7.0
        try:
            grads3 = bwd(*seeds, cache3)
        except Exception as e:  # noqa: BLE001
            return Outcome(
                "wrong-gradient",
                "backward reads the returned value (it aliases the cache)",
                f"after out[...] = 7.0 the backward raises {type(e).__name__}: {e}",
            )
        grads3 = [grads3] if len(prog.params) == 1 else list(grads3)
        for p, g, g3 in zip(prog.params, grads, grads3, strict=True):
            if not _close(g3, g, 1e-12, 1e-12):
                return Outcome(
                    "wrong-gradient",
                    "backward reads the returned value (it aliases the cache)",
                    f"after out[...] = 7.0, d/d{p.name} changes from {np.asarray(g)!r} to {np.asarray(g3)!r}",
                )
    # value_and_grad: seeded with 1.0, the gradient of sum(out)
    if not _same_outputs(prog, out2, expected):
        return Outcome(
            "wrong-value",
            "value_and_grad value",
            f"expected {expected!r}\ngot {out2!r}",
        )
    ones_each = [
        np.ones(np.shape(e)) if np.ndim(e) else 1.0 for e in _outputs(prog, expected)
    ]
    ones = ones_each if prog.extra else ones_each[0]
    for k, (p, g) in enumerate(zip(prog.params, grads_v, strict=True)):
        ref = central_difference(user, prog.fresh_inputs(), k, ones)
        if not _close(g, ref, FD_ATOL, FD_RTOL):
            return Outcome(
                "wrong-gradient",
                "value_and_grad gradient",
                f"d/d{p.name}: expected {ref!r}\ngot {np.asarray(g)!r}",
            )
    return Outcome("pass")
