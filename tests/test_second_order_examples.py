"""Output is valid input: the generated value-and-grad of every example is
differentiated again, and the Hessian-vector product it gives is checked
against central differences of the first gradient.

For an example f with gradient grad f, the test writes

    def hvp(<f's parameters>, v_a, v_b, ...):
        <the body of f_value_and_grad, as generated>
        hv = np.sum(grad_a * v_a) + np.sum(grad_b * v_b) + ...
        return hv

and asks codegen for d hv / d a = (H v)_a. The reference is a central
difference of hv itself, which runs only the first-order generated code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from programs.second import hvp_source

from codegen.checks.points import annotated_shapes, random_point
from codegen.checks.verify import check_gradients, module_from_source
from codegen.errors import CodegenError
from codegen.front.parse import parse
from codegen.pipeline import generate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["codegen"]
EXAMPLES = CONFIG["sources"]

#: Examples whose backward uses a helper that is not a primitive yet; the
#: second derivative is refused with a location (never computed wrong).
REFUSED: dict[str, str] = {}


def _options(target: str) -> dict:
    options = CONFIG.get("options", {})
    return options.get(target, {})


@pytest.mark.parametrize("target", EXAMPLES)
def test_second_derivative_of_every_example(target):
    path, func = target.rsplit(":", 1)
    source = (ROOT / path).read_text()
    opts = _options(target)
    fn = parse(source, path, func)
    params = [p.name for p in fn.params]
    wrt = opts.get("wrt") or [p.name for p in fn.params if not p.integer]
    first = generate(source, path, func, wrt)
    hvp_src = hvp_source(first, func, params, wrt)
    if target in REFUSED:
        with pytest.raises(CodegenError) as info:
            generate(hvp_src, "hvp.py", "hvp", wrt)
        text = str(info.value)
        assert REFUSED[target] in text and "hvp.py:" in text
        return
    second = generate(hvp_src, "hvp.py", "hvp", wrt)
    forward = module_from_source(hvp_src, f"hvp_forward_{func}")
    mod = module_from_source(second, f"hvp_grad_{func}")
    rng = np.random.default_rng(0)
    shapes = {k: tuple(v) for k, v in opts.get("shapes", {}).items()}
    float_shapes, integers = annotated_shapes(fn, shapes, rng)
    fixed = dict(opts.get("at", {}))
    for p in fn.params:
        if p.integer and p.default is not None and p.name not in float_shapes:
            fixed.setdefault(p.name, int(p.default))
    user = module_from_source(source, f"user_{func}")
    point = random_point(
        params, getattr(user, func), rng, float_shapes, fixed, integers
    )
    for p in wrt:  # the direction v, shaped like its parameter
        point[f"v_{p}"] = (
            rng.standard_normal(np.shape(point[p]))
            if np.ndim(point[p])
            else float(rng.standard_normal())
        )
    all_params = params + [f"v_{p}" for p in wrt]
    report = check_gradients(
        forward.hvp, (mod.hvp_forward, mod.hvp_backward), all_params, point, wrt, func
    )
    assert report.ok, report.summary()
