"""Conformance against HIPS autograd's own gradient tests.

    python -m benchmarks.conformance.autograd_suite [--json out.json] [-k TEXT]
        [--tests-dir DIR] [--files a.py,b.py] [--all-params] [--show N]

Downloads autograd's sdist with pip (``pip download autograd==1.9.1 --no-deps
--no-binary :all:``; ``--tests-dir`` reads already extracted tests instead),
runs every ``check_grads`` case of the test files below against recording
stubs (`extract.py`), writes each case in codegen's input form
(`translate.py`), runs ``codegen.generate`` on it, executes the generated
module and compares its value with NumPy's and each gradient with central
differences (and with autograd itself when it is installed). Each case is:

    pass      value and every gradient agree
    refused   codegen raised a located CodegenError
    wrong     a value or gradient disagrees with the reference
    crash     anything else went wrong (generation, import or run)
    n/a       out of scope, with the reason (complex values, FFT, higher
              order, NumPy lacks an autograd-only function, ...)

It prints a table per file, the applicable pass rate (pass over pass +
refused + wrong + crash), refusal reasons ranked by case count, and each wrong
case with a reproducer. Run on demand (network), not by the default pytest
run; tests/test_conformance.py checks the machinery on a synthetic file.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import types
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import codegen
from benchmarks.conformance.extract import Case, collect
from benchmarks.conformance.translate import Forward, NotApplicable, forward_source

VERSION = "1.9.1"
FILES = (
    "test_numpy.py",
    "test_scalar_ops.py",
    "test_binary_ops.py",
    "test_systematic.py",
    "test_linalg.py",
    "test_graphs.py",
    "test_core.py",
    "test_truediv.py",
)
#: One entry agrees when |a - n| <= ATOL + RTOL * |n| (codegen verify's rule).
ATOL, RTOL = 1e-6, 1e-5
#: Values agree with NumPy's to this relative precision.
VALUE_RTOL, VALUE_ATOL = 1e-9, 1e-12
#: Entries of one gradient checked by central differences (others sampled).
MAX_ENTRIES = 300
#: The central-difference step, relative to max(1, |x|); an entry that fails
#: is differenced again with the fine step, in case a kink (a near tie of a
#: max, a floor) lies within 2h of the point: the gradient is wrong only when
#: both disagree.
STEP, FINE_STEP = 1e-5, 1e-8
#: Seconds one case may take before it counts as a crash.
TIMEOUT = 60
OUTCOMES = ("pass", "refused", "wrong", "crash", "n/a")


@dataclass
class Result:
    """The outcome of one case."""

    file: str
    test: str
    line: int
    outcome: str
    #: refusal message, wrong-gradient detail, exception, or n/a reason.
    reason: str = ""
    source: str = ""
    wrt: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    #: what autograd says where it was run: "agrees", "disagrees", "error".
    autograd: str = ""


def fetch_tests(dest: Path) -> Path:
    """Download autograd's sdist into `dest`, extract the tests; their folder."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"autograd=={VERSION}",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-q",
            "-d",
            str(dest),
        ],
        check=True,
    )
    sdist = next(dest.glob("autograd-*.tar.gz"))
    out = dest / "tests"
    out.mkdir()
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if "/tests/" in member.name and name.endswith(".py"):
                data = tar.extractfile(member)
                if data:
                    (out / name).write_bytes(data.read())
    return out


def describe(value: Any) -> str:
    """A short, runnable description of an argument value."""
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return f"np.array({value.tolist()!r})"
        return f"array{value.shape} {value.dtype}"
    return repr(value)


def _module(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


def _outputs(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _phi(fun: Callable, values: list[Any], seeds: list[np.ndarray]) -> float:
    """sum over outputs of <seed, output>: the scalar whose gradient is the VJP."""
    outs = _outputs(fun(*values))
    return float(
        sum(
            np.sum(np.asarray(s) * np.asarray(o, float))
            for s, o in zip(seeds, outs, strict=True)
        )
    )


def sample_entries(
    shape: tuple[int, ...], rng: np.random.Generator
) -> list[tuple[int, ...]]:
    """Every index of `shape`, or MAX_ENTRIES of them drawn at random."""
    entries = [tuple(int(j) for j in idx) for idx in np.ndindex(*shape)]
    if len(entries) > MAX_ENTRIES:
        entries = [
            entries[k]
            for k in sorted(rng.choice(len(entries), MAX_ENTRIES, replace=False))
        ]
    return entries


def numeric_grad(
    fun: Callable,
    values: list[Any],
    i: int,
    seeds: list[np.ndarray],
    entries: list[tuple[int, ...]],
    step: float = STEP,
) -> np.ndarray:
    """Fourth-order central differences of phi with respect to `values[i]`
    at `entries` (others are zero), with h = step * max(1, |x|)."""
    x0 = np.array(values[i], dtype=float)
    grad = np.zeros(x0.shape)
    scalar = not isinstance(values[i], np.ndarray)
    for idx in entries:
        h = step * max(1.0, abs(float(x0[idx])))
        parts = []
        for k in (2, 1, -1, -2):
            x = x0.copy()
            x[idx] += k * h
            trial = list(values)
            trial[i] = float(x) if scalar else x
            parts.append(_phi(fun, trial, seeds))
        grad[idx] = (-parts[0] + 8 * parts[1] - 8 * parts[2] + parts[3]) / (12 * h)
    return grad


def _close(a: Any, n: Any, entries: list[tuple[int, ...]]) -> tuple[bool, str]:
    a, n = np.asarray(a, dtype=float), np.asarray(n, dtype=float)
    if a.shape != n.shape:
        return False, f"gradient shape {a.shape}, parameter shape {n.shape}"
    worst, where = 0.0, None
    for idx in entries:
        excess = abs(a[idx] - n[idx]) - (ATOL + RTOL * abs(n[idx]))
        if not np.isfinite(a[idx]) and not np.isfinite(n[idx]):
            continue
        if not excess <= 0 and (where is None or excess > worst):
            worst, where = excess, idx
    if where is None:
        return True, ""
    return False, f"at {where}: codegen {a[where]:.10g}, reference {n[where]:.10g}"


def _autograd_grads(fw: Forward, seeds: list[np.ndarray]) -> list[Any] | None:
    """Autograd's VJP of the same forward, or None when autograd is absent or fails."""
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None
    source = fw.source.replace("import numpy as np", "import autograd.numpy as np")
    try:
        f = getattr(_module(source, "autograd_forward"), fw.name)
        out = []
        for name in fw.wrt:
            i = fw.params.index(name)

            def phi(x: Any, i: int = i) -> Any:
                vals = list(fw.values)
                vals[i] = x
                outs = _outputs(f(*vals))
                return sum(anp.sum(s * o) for s, o in zip(seeds, outs, strict=True))

            x = fw.values[i]
            out.append(
                autograd.grad(phi)(
                    np.array(x, float) if isinstance(x, np.ndarray) else float(x)
                )
            )
        return out
    except Exception:  # noqa: BLE001 (autograd is only a second opinion)
        return None


def _timeout(signum: int, frame: Any) -> None:
    raise TimeoutError(f"case took more than {TIMEOUT} s")


def run_case(case: Case, all_params: bool = False, seed: int = 0) -> Result:
    """Classify one case (see the module docstring)."""
    res = Result(case.file, case.test, case.line, "n/a")
    try:
        fw = forward_source(case)
    except NotApplicable as exc:
        res.reason = str(exc)
        return res
    if all_params:
        fw.wrt = [
            p
            for p, v in zip(fw.params, fw.values, strict=True)
            if np.asarray(v).dtype.kind == "f"
        ]
    res.source, res.wrt = fw.source, list(fw.wrt)
    res.args = [
        f"{p} = {describe(v)}" for p, v in zip(fw.params, fw.values, strict=True)
    ]
    if "fft" in fw.source:
        res.reason = "FFT (np.fft)"
        return res
    if "j" in fw.source and re.search(r"\b\d+(\.\d*)?j\b", fw.source):
        res.reason = "complex-valued (complex literal in the forward)"
        return res
    try:
        f = getattr(_module(fw.source, "reference_forward"), fw.name)
        ref = f(*fw.values)
    except Exception as exc:  # noqa: BLE001
        res.reason = (
            f"the forward does not run under NumPy ({type(exc).__name__}: {exc})"
        )
        return res
    if any(np.iscomplexobj(o) for o in _outputs(ref)):
        res.reason = "complex-valued output"
        return res
    if not fw.wrt:
        res.reason = "nothing to differentiate"
        return res
    try:
        code = codegen.generate(fw.source, f"{case.file}::{case.test}", fw.name, fw.wrt)
    except codegen.CodegenError as exc:
        errors = getattr(exc, "errors", [exc])
        res.outcome, res.reason = "refused", "; ".join(
            dict.fromkeys(e.message for e in errors)
        )
        if any(e.loc is None for e in errors):
            res.outcome, res.reason = "crash", "unlocated CodegenError: " + res.reason
        return res
    except Exception as exc:  # noqa: BLE001
        res.outcome, res.reason = "crash", f"generate: {type(exc).__name__}: {exc}"
        return res
    return _check(res, fw, f, ref, code, seed)


def _value_mismatch(outs: list[Any], refs: list[Any]) -> str:
    """Where codegen's forward value differs from NumPy's, or ''."""
    if len(outs) != len(refs):
        return f"has {len(outs)} outputs, NumPy {len(refs)}"
    for k, (o, r) in enumerate(zip(outs, refs, strict=True)):
        o, r = np.asarray(o, dtype=float), np.asarray(r, dtype=float)
        if o.shape != r.shape:
            return f"shape {o.shape}, NumPy {r.shape} (output {k})"
        bad = ~np.isclose(o, r, rtol=VALUE_RTOL, atol=VALUE_ATOL, equal_nan=True)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            return f"at {idx} (output {k}): codegen {o[idx]:.10g}, NumPy {r[idx]:.10g}"
    return ""


def _check(
    res: Result, fw: Forward, f: Callable, ref: Any, code: str, seed: int
) -> Result:
    rng = np.random.default_rng(seed)
    stage = "import"
    try:
        mod = _module(code, "generated")
        stage = f"{fw.name}_forward"
        out, cache = getattr(mod, stage)(*fw.values)
        outs, refs = _outputs(out), _outputs(ref)
        mismatch = _value_mismatch(outs, refs)
        if mismatch:
            res.outcome, res.reason = "wrong", "value " + mismatch
            return res
        seeds = [rng.standard_normal(np.shape(r)) for r in refs]
        stage = f"{fw.name}_backward"
        backward = getattr(mod, stage)
        grads = backward(*seeds, cache) if len(refs) > 1 else backward(seeds[0], cache)
    except Exception as exc:  # noqa: BLE001
        message = f"{stage}: {type(exc).__name__}: {exc}".splitlines()[0]
        res.outcome, res.reason = "crash", message[:200]
        return res
    if len(fw.wrt) == 1:
        grads = (grads,)
    theirs = _autograd_grads(fw, seeds)
    verdicts = []
    for k, name in enumerate(fw.wrt):
        i = fw.params.index(name)
        entries = sample_entries(np.shape(fw.values[i]), rng)
        numeric = numeric_grad(f, fw.values, i, seeds, entries)
        ok, detail = _close(grads[k], numeric, entries)
        if not ok:  # a kink within 2h of the point: the finer step decides
            fine = numeric_grad(f, fw.values, i, seeds, entries, FINE_STEP)
            ok, detail = _close(grads[k], fine, entries)
        if theirs is not None:
            verdicts.append(_close(grads[k], theirs[k], entries)[0])
        if not ok:
            res.outcome, res.reason = "wrong", f"gradient of {name} {detail}"
            break
    else:
        res.outcome = "pass"
    if theirs is None:
        res.autograd = "error"
    else:
        res.autograd = "agrees" if all(verdicts) else "disagrees"
    return res


def run_file(
    path: Path, all_params: bool = False, pattern: str = ""
) -> tuple[list[Result], dict]:
    """Results of every case of one test file, and the tests that found none."""
    found = collect(path)
    results = []
    for case in found.cases:
        if pattern and pattern not in f"{case.file}::{case.test}":
            continue
        old = signal.signal(signal.SIGALRM, _timeout)
        signal.alarm(TIMEOUT)
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                results.append(run_case(case, all_params))
        except TimeoutError as exc:
            results.append(Result(case.file, case.test, case.line, "crash", str(exc)))
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
    return results, found.unreached


def construct(message: str) -> str:
    """The construct a refusal message names, without generated names."""
    return re.sub(r"'(?:grad_|out|tmp)[^']*'", "'…'", message)


def table(results: Sequence[Result], unreached: dict[str, dict]) -> str:
    """Per file: counts per outcome and the applicable pass rate."""
    rows = collections.defaultdict(collections.Counter)
    for r in results:
        rows[r.file][r.outcome] += 1
    lines = [
        f"{'file':<20}"
        + "".join(f"{o:>9}" for o in OUTCOMES)
        + f"{'unreached':>11}{'pass rate':>11}"
    ]
    total: collections.Counter = collections.Counter()
    for name in sorted(rows, key=lambda n: FILES.index(n) if n in FILES else 99):
        c = rows[name]
        total.update(c)
        lines.append(_row(name, c, sum(s for s, _ in unreached.get(name, {}).values())))
    lines.append(
        _row("total", total, sum(s for u in unreached.values() for s, _ in u.values()))
    )
    return "\n".join(lines)


def _row(name: str, c: collections.Counter, unreached: int) -> str:
    applicable = sum(c[o] for o in OUTCOMES[:4])
    rate = f"{100 * c['pass'] / applicable:.1f}%" if applicable else "-"
    return (
        f"{name:<20}"
        + "".join(f"{c[o]:>9}" for o in OUTCOMES)
        + f"{unreached:>11}{rate:>11}"
    )


def ranked(results: Sequence[Result], outcome: str) -> list[tuple[str, int, int]]:
    """(reason, cases, tests) for one outcome, most cases first."""
    cases: collections.Counter = collections.Counter()
    tests: dict[str, set[str]] = collections.defaultdict(set)
    for r in results:
        if r.outcome != outcome:
            continue
        if outcome == "refused":  # a case blocked by two constructs counts for both
            keys = list(dict.fromkeys(construct(m) for m in r.reason.split("; ")))
        else:
            keys = [r.reason.split(" (")[0][:90]]
        for key in keys:
            cases[key] += 1
            tests[key].add(f"{r.file}::{r.test.split('[')[0]}")
    return [(k, n, len(tests[k])) for k, n in cases.most_common()]


def reproducer(r: Result) -> str:
    """A wrong or crashing case as source, arguments and what went wrong."""
    where = f"{r.file}:{r.line} {r.test}"
    body = "\n".join("    " + line for line in r.source.rstrip().splitlines())
    args = "\n".join("    " + a for a in r.args)
    return (
        f"{where}: {r.reason} [autograd: {r.autograd or '-'}]\n  wrt={r.wrt}\n{body}\n"
        f"  arguments:\n{args}"
    )


def report(
    results: Sequence[Result], unreached: dict[str, dict], show: int = 20
) -> str:
    """The whole printed report."""
    out = [table(results, unreached), ""]
    for title, outcome in (
        ("refusals", "refused"),
        ("crashes", "crash"),
        ("not applicable", "n/a"),
    ):
        rows = ranked(results, outcome)
        if rows:
            note = (
                "; a case refused for two counts for both"
                if outcome == "refused"
                else ""
            )
            out.append(f"{title} by construct (cases, tests{note}):")
            out += [
                f"  {n:>5} {t:>4}  {k}"
                for k, n, t in rows[: show if outcome != "n/a" else 99]
            ]
            if len(rows) > show and outcome != "n/a":
                out.append(f"  ... {len(rows) - show} more")
            out.append("")
    never = [(f, t, s, e) for f, u in unreached.items() for t, (s, e) in u.items()]
    if never:
        out.append("tests whose check sites were never reached (sites, error):")
        out += [f"  {f}::{t}: {s} ({e})" for f, t, s, e in never]
        out.append("")
    bad = [r for r in results if r.outcome in ("wrong", "crash")]
    if bad:
        groups: dict[tuple, list[Result]] = collections.defaultdict(list)
        for r in bad:
            kind = re.sub(r"[-+]?\d[\d.e+-]*", "#", r.reason.split(": codegen")[0])
            groups[(r.outcome, r.file, r.test.split("[")[0], kind)].append(r)
        out.append(f"wrong and crashing cases ({len(bad)}), one reproducer per kind:")
        for (outcome, *_), rs in sorted(
            groups.items(), key=lambda kv: kv[0][0] != "wrong"
        ):
            more = f"  (and {len(rs) - 1} more cases like it)" if len(rs) > 1 else ""
            out.append(f"[{outcome}] " + reproducer(rs[0]) + more)
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--tests-dir", type=Path, help="extracted autograd tests (skip the download)"
    )
    p.add_argument("--json", type=Path, help="write every result here")
    p.add_argument("-k", default="", help="only cases whose file::test contains this")
    p.add_argument(
        "--all-params",
        action="store_true",
        help="differentiate every float parameter, not only autograd's argnums",
    )
    p.add_argument("--show", type=int, default=20, help="refusal reasons listed")
    p.add_argument(
        "--files",
        default=",".join(FILES),
        help="comma-separated test files of autograd's tests/ (default: the eight)",
    )
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tests = args.tests_dir or fetch_tests(Path(tmp))
        results: list[Result] = []
        unreached: dict[str, dict] = {}
        for name in args.files.split(","):
            if (tests / name).exists():
                rs, unreached[name] = run_file(tests / name, args.all_params, args.k)
                results += rs
    print(report(results, unreached, args.show))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "version": VERSION,
                    "results": [asdict(r) for r in results],
                    "unreached": unreached,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
