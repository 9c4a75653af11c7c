"""Second order on random programs: a generated value-and-grad is valid input.

For a program whose first derivative passes (`check.check`), the body of its
generated ``f_value_and_grad`` becomes

    def hvp(<f's parameters>, v_a, v_b, ...):
        <the generated value-and-grad body>
        hv = np.sum(grad_a * v_a) + ...
        return hv

and codegen differentiates it again. Its gradient, the Hessian-vector product
H v, is compared with central differences of hv, which runs only the
first-order generated code. Classes: pass / refused (located) / wrong /
crash, as in `check`.

    python -m tests.programs.second --n 500 --seed 0
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import tempfile
import time
import types
import warnings
from collections import Counter

import numpy as np

from .check import LOCATED, _norm, check
from .generator import Program, generate_program


def _float_dispatch(stmt: ast.stmt) -> bool:
    """The value-and-grad's ``if type(x) is float ...: return <float twin>``."""
    return isinstance(stmt, ast.If) and any(
        isinstance(n, ast.Name) and n.id.endswith("_value_and_grad_floats")
        for n in ast.walk(stmt)
    )


def hvp_source(generated: str, name: str, params: list[str], wrt: list[str]) -> str:
    """The hvp(...) forward built from a generated module's value-and-grad."""
    tree = ast.parse(generated)
    keep: list[str] = []
    body: list[ast.stmt] = []
    grads: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == f"{name}_value_and_grad":
            for stmt in node.body:
                if isinstance(stmt, ast.Return):
                    value = stmt.value
                    assert isinstance(value, ast.Tuple)
                    result = value.elts[1]
                    items = result.elts if isinstance(result, ast.Tuple) else [result]
                    grads = [ast.unparse(g) for g in items]
                elif _float_dispatch(stmt):
                    continue  # on floats it returns early: hvp needs the steps
                elif not (
                    isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                ):
                    body.append(stmt)
        elif isinstance(node, ast.FunctionDef) and node.name.startswith(name + "_"):
            continue
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            keep.append(ast.unparse(node))
    assert len(grads) == len(wrt)
    vs = [f"v_{p}" for p in wrt]
    lines = ["    " + ln for stmt in body for ln in ast.unparse(stmt).splitlines()]
    numpy = "import numpy as np" in keep
    term = "np.sum({} * {})" if numpy else "{} * {}"
    dot = " + ".join(term.format(g, v) for g, v in zip(grads, vs, strict=True))
    return (
        "\n".join(keep)
        + f"\n\n\ndef hvp({', '.join(params + vs)}):\n"
        + "\n".join(lines)
        + f"\n    hv = {dot}\n    return hv\n"
    )


def _load(source: str, name: str) -> types.ModuleType:
    mod = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), mod.__dict__)  # noqa: S102
    return mod


def second_order(prog: Program) -> tuple[str, str]:
    """(class, cause) of differentiating `prog`'s value-and-grad again."""
    import codegen
    from codegen.checks.verify import check_gradients
    from codegen.core.params import default_wrt
    from codegen.errors import CodegenError
    from codegen.front.parse import parse

    source = prog.source()
    fn = parse(source, "prog.py", "f")
    params = [p.name for p in fn.params]
    wrt = default_wrt(fn)
    first = codegen.generate(source, "prog.py", "f", wrt)
    hvp_src = hvp_source(first, "f", params, wrt)
    path = os.path.join(tempfile.gettempdir(), f"hvp_{prog.seed}.py")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            second = codegen.generate(hvp_src, path, "hvp", wrt)
    except CodegenError as e:
        errs = [ln for ln in str(e).splitlines() if ": error: " in ln]
        if errs and all(LOCATED.match(ln) for ln in errs):
            return "refused", _norm(errs[0].split(": error: ", 1)[1])
        return "crash", "unlocated refusal: " + str(e).splitlines()[0]
    except Exception as e:  # noqa: BLE001 - the finding
        return "crash", f"codegen raised {type(e).__name__}: {e}"
    try:
        forward = _load(hvp_src, "hvp_forward")
        mod = _load(second, "hvp_grad")
        rng = np.random.default_rng(prog.seed)
        point = dict(zip(params, prog.fresh_inputs(), strict=True))
        for p in wrt:
            x = point[p]
            point[f"v_{p}"] = (
                rng.standard_normal(np.shape(x))
                if np.ndim(x)
                else float(rng.standard_normal())
            )
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            report = check_gradients(
                forward.hvp,
                (mod.hvp_forward, mod.hvp_backward),
                params + [f"v_{p}" for p in wrt],
                point,
                wrt,
                "hvp",
            )
    except Exception as e:  # noqa: BLE001 - the finding
        return "crash", f"{type(e).__name__}: {str(e)[:120]}"
    return ("pass", "") if report.ok else ("wrong", report.summary()[:300])


def run(n: int, seed: int, stream=sys.stdout) -> Counter[str]:
    counts: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    examples: dict[str, str] = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(n):
            prog = generate_program(seed * 1000 + k, several=0.0)
            if check(prog, tmp).cls != "pass":
                continue
            cls, cause = second_order(prog)
            counts[cls] += 1
            if cls != "pass":
                causes[f"{cls} | {cause[:100]}"] += 1
                examples.setdefault(cls, prog.source() + "\n# " + cause)
    total = sum(counts.values())
    print(
        f"{n} programs (seed {seed}), {total} pass first order, "
        f"{time.perf_counter() - start:.0f} s",
        file=stream,
    )
    for cls in ("pass", "refused", "wrong", "crash"):
        share = counts[cls] / total if total else 0.0
        print(f"  {cls:8} {counts[cls]:5}  {share:6.1%}", file=stream)
    for cause, c in causes.most_common(15):
        print(f"  {c:5}  {cause}", file=stream)
    for cls, text in examples.items():
        if cls in ("wrong", "crash"):
            print(f"\n--- {cls}\n{text}", file=stream)
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    counts = run(args.n, args.seed)
    return 1 if counts["wrong"] or counts["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
