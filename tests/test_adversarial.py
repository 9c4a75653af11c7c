"""An adversarial battery: programs written the way users write them, each
probing a construct that is easy to get wrong (repeated and negative indices,
negative axes, np.dot and np.take of any rank, Python floats and tuples as
operands, views, in-place updates, broadcasting both ways, piecewise
functions, linear algebra), checked against the forward's own values and
central differences of it. Written by hand from NumPy's documentation; every
case here passed when it was added, and a refusal is not accepted."""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest

import codegen
from codegen.checks.verify import module_from_source

R = np.random.default_rng(1)


def n(*shape):
    return R.standard_normal(shape)


def p(*shape):
    return R.uniform(0.5, 2.0, shape)


CASES = [
    (
        "repeat_rows",
        "def f(x):\n    y = x[[0, 0, 1]]\n    return np.sum(y ** 2)\n",
        (n(3, 2),),
    ),
    (
        "repeat_cols",
        "def f(x):\n    y = x[:, [2, 0, 2]]\n    return y * y\n",
        (n(3, 4),),
    ),
    (
        "repeat_neg",
        "def f(x):\n    y = x[[-1, -1, 0]]\n    return np.sum(y * x[0])\n",
        (n(3, 2),),
    ),
    (
        "take_rep",
        "def f(x):\n    return np.take(x, [0, 0, 2], axis=-1) ** 2\n",
        (n(2, 3),),
    ),
    ("negaxis_sum", "def f(x):\n    return np.sum(x ** 2, axis=-2)\n", (n(2, 3, 4),)),
    (
        "negaxis_mean",
        "def f(x):\n    return np.mean(x ** 3, axis=(-1, 0))\n",
        (n(2, 3, 4),),
    ),
    ("dot_3d_2d", "def f(a, b):\n    return np.dot(a, b)\n", (n(2, 3, 4), n(4, 5))),
    ("dot_3d_3d", "def f(a, b):\n    return np.dot(a, b)\n", (n(2, 3, 4), n(2, 4, 5))),
    ("dot_2d_3d", "def f(a, b):\n    return np.dot(a, b)\n", (n(3, 4), n(2, 4, 5))),
    ("dot_1d_3d", "def f(a, b):\n    return np.dot(a, b)\n", (n(4), n(2, 4, 5))),
    ("dot_scalar", "def f(a):\n    return np.dot(a, 2.0)\n", (n(3),)),
    ("dot_vv", "def f(a, b):\n    return np.dot(a, b) ** 2\n", (n(4), n(4))),
    ("matmul_bcast", "def f(a, b):\n    return a @ b\n", (n(1, 3, 4), n(2, 4, 5))),
    ("matmul_1d_3d", "def f(a, b):\n    return np.matmul(a, b)\n", (n(4), n(2, 4, 5))),
    ("matmul_3d_1d", "def f(a, b):\n    return a @ b\n", (n(2, 3, 4), n(4))),
    (
        "float_param",
        "def f(a: float, x):\n    return np.sum(a * x + a ** 2)\n",
        (1.5, n(3)),
    ),
    (
        "float_param_unann",
        "def f(a, x):\n    y = a * x\n    return np.sum(np.exp(y) * a)\n",
        (0.7, n(3)),
    ),
    (
        "stack_tuple",
        "def f(x, y):\n    return np.stack((x, y * 2, x), axis=-1)\n",
        (n(2, 3), n(2, 3)),
    ),
    (
        "concat_tuple",
        "def f(x, y):\n    return np.concatenate((x, y, x), axis=-1)\n",
        (n(2, 3), n(2, 1)),
    ),
    (
        "tuple_operand",
        "def f(x):\n    return np.sum(x * (1.0, 2.0, 3.0))\n",
        (n(2, 3),),
    ),
    ("list_operand", "def f(x):\n    return x + [1.0, 2.0, 3.0]\n", (n(2, 3),)),
    (
        "transpose3",
        "def f(x):\n    return x.transpose(1, 0, 2) * x.transpose(1, 0, 2)\n",
        (n(2, 3, 4),),
    ),
    (
        "transpose_neg",
        "def f(x):\n    return np.transpose(x, (-1, 0, 1)) ** 2\n",
        (n(2, 3, 4),),
    ),
    ("swapaxes", "def f(x):\n    return np.swapaxes(x, -1, -3) ** 3\n", (n(2, 3, 4),)),
    ("moveaxis", "def f(x):\n    return np.moveaxis(x, 0, -1) ** 2\n", (n(2, 3, 4),)),
    ("where_leaky", "def f(x):\n    return np.where(x > 0, x, 0.1 * x)\n", (n(3, 4),)),
    ("reshape_neg", "def f(x):\n    return x.reshape(2, -1) ** 2\n", (n(3, 4),)),
    (
        "reshape_tuple",
        "def f(x):\n    return np.reshape(x, (-1,)) * np.arange(12.0)\n",
        (n(3, 4),),
    ),
    ("norm_all", "def f(x):\n    return np.linalg.norm(x)\n", (n(3, 4),)),
    ("norm_axis", "def f(x):\n    return np.linalg.norm(x, axis=-1)\n", (n(3, 4),)),
    (
        "norm_keep",
        "def f(x):\n    return x / np.linalg.norm(x, axis=-1, keepdims=True)\n",
        (n(3, 4),),
    ),
    ("norm_fro", "def f(x):\n    return np.linalg.norm(x, 'fro')\n", (n(3, 4),)),
    ("prod_axis", "def f(x):\n    return np.prod(x, axis=-1)\n", (n(3, 4),)),
    ("prod_all", "def f(x):\n    return np.prod(x)\n", (n(3, 4),)),
    ("cumsum_neg", "def f(x):\n    return np.cumsum(x, axis=-1) ** 2\n", (n(3, 4),)),
    ("cumsum_flat", "def f(x):\n    return np.cumsum(x) ** 2\n", (n(3, 4),)),
    ("tile", "def f(x):\n    return np.tile(x, (2, 3)) ** 2\n", (n(2, 3),)),
    (
        "tile1d",
        "def f(x):\n    return np.tile(x, 3) * np.arange(18.0).reshape(2, 9)\n",
        (n(2, 3),),
    ),
    ("repeat_ax", "def f(x):\n    return np.repeat(x, 2, axis=-1) ** 2\n", (n(2, 3),)),
    ("repeat_flat", "def f(x):\n    return np.repeat(x, 3) ** 2\n", (n(2, 3),)),
    (
        "repeat_list",
        "def f(x):\n    return np.repeat(x, [1, 0, 2], axis=1) ** 2\n",
        (n(2, 3),),
    ),
    ("outer", "def f(x, y):\n    return np.outer(x, y) ** 2\n", (n(3), n(4))),
    ("outer2d", "def f(x, y):\n    return np.outer(x, y)\n", (n(2, 3), n(4))),
    ("inner", "def f(x, y):\n    return np.inner(x, y)\n", (n(2, 3), n(4, 3))),
    (
        "tensordot",
        "def f(a, b):\n    return np.tensordot(a, b, axes=([1], [0]))\n",
        (n(2, 3, 4), n(3, 5)),
    ),
    (
        "tensordot2",
        "def f(a, b):\n    return np.tensordot(a, b, axes=2)\n",
        (n(2, 3, 4), n(3, 4, 5)),
    ),
    ("einsum_diag", "def f(a):\n    return np.einsum('ii->i', a) ** 2\n", (n(3, 3),)),
    (
        "einsum_trace",
        "def f(a, b):\n    return np.einsum('ij,ji->', a, b)\n",
        (n(3, 4), n(4, 3)),
    ),
    (
        "einsum_ell",
        "def f(a, b):\n    return np.einsum('...ij,...jk->...ik', a, b)\n",
        (n(2, 3, 4), n(2, 4, 5)),
    ),
    (
        "einsum_rep",
        "def f(a):\n    return np.einsum('ij,ij,ij->i', a, a, a)\n",
        (n(3, 4),),
    ),
    (
        "max_axis",
        "def f(x):\n    return np.max(x, axis=0) + np.min(x, axis=-1).sum()\n",
        (n(3, 4),),
    ),
    ("amax_tuple", "def f(x):\n    return np.amax(x, axis=(0, 2))\n", (n(2, 3, 4),)),
    ("max_method", "def f(x):\n    return x.max(axis=-1) - x.min(-1)\n", (n(3, 4),)),
    ("pow_frac", "def f(x):\n    return x ** 2.5\n", (p(3),)),
    ("rpow", "def f(x):\n    return 2 ** x\n", (n(3),)),
    ("pow_xy", "def f(x, y):\n    return x ** y\n", (p(3), n(3))),
    ("abs_sign", "def f(x):\n    return np.abs(x) * np.sign(x) + abs(x)\n", (n(3),)),
    ("logaddexp", "def f(x, y):\n    return np.logaddexp(x, y)\n", (n(3), n(3))),
    ("log1p_expm1", "def f(x):\n    return np.log1p(x ** 2) + np.expm1(x)\n", (n(3),)),
    (
        "inplace_set",
        "def f(x):\n    y = x.copy()\n    y[0] = 0.0\n    return y * x\n",
        (n(3, 2),),
    ),
    (
        "inplace_aug",
        "def f(x):\n    y = x * 1.0\n    y[1:] *= 2.0\n    y += x\n    return y ** 2\n",
        (n(3, 2),),
    ),
    (
        "inplace_rep_idx",
        "def f(x, v):\n    y = np.zeros(4)\n    y[[0, 0, 2]] = v\n    return y * x\n",
        (n(4), n(3)),
    ),
    (
        "inplace_rep_add",
        "def f(x, v):\n    y = x.copy()\n    y[[0, 0, 2]] += v\n    return y ** 2\n",
        (n(4), n(3)),
    ),
    (
        "var_std",
        "def f(x):\n    return x.var(axis=0) + x.std() + np.var(x, ddof=1)\n",
        (n(3, 4),),
    ),
    ("clip", "def f(x):\n    return np.clip(x, -0.5, 0.5) ** 2\n", (n(10),)),
    (
        "triu_tril",
        "def f(x):\n    return np.triu(x) ** 2 + np.tril(x, -1)\n",
        (n(3, 3),),
    ),
    ("diag_v", "def f(v):\n    return np.diag(v) ** 2\n", (n(3),)),
    ("diag_A", "def f(A):\n    return np.diag(A) ** 2 + np.trace(A)\n", (n(3, 4),)),
    ("diag_k", "def f(A):\n    return np.diag(A, k=1) ** 2\n", (n(3, 4),)),
    ("flatten", "def f(x):\n    return x.flatten() * x.ravel()\n", (n(2, 3),)),
    (
        "squeeze",
        "def f(x):\n    return np.squeeze(x, axis=-1) ** 2 + np.expand_dims(x, -1).sum()\n",
        (n(3, 1),),
    ),
    ("bcast_outer", "def f(x, y):\n    return x[:, None] - y[None, :]\n", (n(3), n(4))),
    ("bcast_31_14", "def f(x, y):\n    return x * y\n", (n(3, 1), n(1, 4))),
    ("builtin_max", "def f(a, b):\n    return max(a, b) * a\n", (1.3, 0.4)),
    ("np_float64", "def f(x):\n    return np.float64(2.0) * x\n", (n(3),)),
    ("int_param", "def f(x, k: int):\n    return x ** k\n", (n(3), 3)),
    ("slices", "def f(x):\n    return x[1:3, ::2] ** 2 + x[-1, -1]\n", (n(4, 5),)),
    ("rev", "def f(x):\n    return x[::-1] * x\n", (n(4),)),
    ("bool_mask", "def f(x):\n    return np.sum(x[x > 0] ** 2)\n", (n(6),)),
    (
        "bool_arr",
        "def f(x):\n    return x[np.array([True, False, True])] ** 2\n",
        (n(3, 2),),
    ),
    ("inv", "def f(A):\n    return np.linalg.inv(A)\n", (n(3, 3) + 3 * np.eye(3),)),
    ("det", "def f(A):\n    return np.linalg.det(A)\n", (n(3, 3),)),
    (
        "solve",
        "def f(A, b):\n    return np.linalg.solve(A, b)\n",
        (n(3, 3) + 3 * np.eye(3), n(3)),
    ),
    (
        "solve_mat",
        "def f(A, b):\n    return np.linalg.solve(A, b)\n",
        (n(3, 3) + 3 * np.eye(3), n(3, 2)),
    ),
    ("vdot2d", "def f(A, B):\n    return np.vdot(A, B)\n", (n(2, 3), n(2, 3))),
    (
        "hypot_atan2",
        "def f(x, y):\n    return np.hypot(x, y) + np.arctan2(y, x)\n",
        (n(3), n(3)),
    ),
    ("round_floor", "def f(x):\n    return np.round(x) * x + np.floor(x)\n", (n(3),)),
    (
        "sum_keep",
        "def f(x):\n    return x.sum(axis=1, keepdims=True) * x\n",
        (n(3, 4),),
    ),
    ("mean_empty_axis", "def f(x):\n    return np.mean(x * x, axis=())\n", (n(3, 4),)),
    (
        "maximum0",
        "def f(x):\n    return np.maximum(x, 0.0) + np.minimum(x, 0.5 * x)\n",
        (n(6),),
    ),
    ("sum_list", "def f(a, b):\n    return sum([a * b, a, b])\n", (1.5, -0.5)),
    (
        "unpack_tuple",
        "def f(x, y):\n    s, t = x * y, x + y\n    return s * t\n",
        (n(3), n(3)),
    ),
    ("fancy2d", "def f(x):\n    return x[[0, 1, 1], [2, 2, 0]] ** 2\n", (n(3, 3),)),
    ("ellipsis_idx", "def f(x):\n    return x[..., 0] * x[..., -1]\n", (n(2, 3, 4),)),
    ("sqrt_mean", "def f(x):\n    return np.sqrt(np.mean(x ** 2) + 1e-3)\n", (n(5),)),
    ("float32", "def f(x):\n    return np.sum(x ** 2)\n", (n(3).astype(np.float32),)),
    ("mixed32_64", "def f(x, y):\n    return x * y\n", (n(3).astype(np.float32), n(3))),
    (
        "softmax",
        "def f(x):\n    e = np.exp(x - np.max(x, axis=-1, keepdims=True))\n    return e / np.sum(e, axis=-1, keepdims=True)\n",
        (n(3, 4),),
    ),
    (
        "logsumexp",
        "def f(x):\n    m = np.max(x)\n    return m + np.log(np.sum(np.exp(x - m)))\n",
        (n(5),),
    ),
    (
        "take_ax0",
        "def f(x):\n    return np.take(x, [1, 1, 0, 1], axis=0) ** 2\n",
        (n(2, 3),),
    ),
    ("take_none", "def f(x):\n    return np.take(x, [5, 0, 5]) ** 2\n", (n(2, 3),)),
    (
        "take_2d_idx",
        "def f(x):\n    return np.take(x, [[0, 1], [1, 1]], axis=1) ** 2\n",
        (n(2, 3, 2),),
    ),
    (
        "take_neg2",
        "def f(x):\n    return np.take(x, [2, 2], axis=-2) ** 2\n",
        (n(2, 3, 2),),
    ),
    ("take_scalar", "def f(x):\n    return np.take(x, 1, axis=1) ** 2\n", (n(2, 3),)),
    (  # divmod: the pair (x // p, x % p), unpacked
        "divmod",
        "def f(x, p):\n    q, r = divmod(x, p)\n    return q * r + r ** 2\n",
        (n(4), 0.7),
    ),
    (
        "np_divmod",
        "def f(x):\n    t = np.divmod(x, 0.3)\n    return t[0] * x + t[1] ** 2\n",
        (n(2, 3),),
    ),
    (  # Fortran order: the first index fastest, out and back
        "reshape_F",
        "def f(x):\n    return x.reshape(4, -1, order='F') * np.arange(24).reshape(4, 6)\n",
        (n(2, 3, 4),),
    ),
    (
        "ravel_F",
        "def f(x):\n    return np.ravel(x, 'F') * np.arange(6) + x.flatten(order='F')\n",
        (n(2, 3),),
    ),
    (
        "reshape_F_names",
        "def f(x):\n    N = x.shape[0]\n    return np.reshape(x, (N * 2, -1), order='F') ** 2\n",
        (n(2, 3, 4),),
    ),
    (  # indices out of range wrap around; repeats add up
        "take_wrap",
        "def f(x):\n    return np.take(x, [5, -7, 1, 5], axis=-1, mode='wrap') ** 2\n",
        (n(2, 3),),
    ),
    (  # out of range clips to the ends; a clipped index repeats one entry
        "take_clip",
        "def f(x):\n    return np.take(x, [[9, -9], [0, 1]], mode='clip') ** 2\n",
        (n(2, 3),),
    ),
    (
        "take_negidx",
        "def f(x):\n    return np.take(x, [-1, -1, 0], axis=1) ** 2\n",
        (n(2, 3),),
    ),
    (
        "take_kw",
        "def f(x):\n    return np.take(x, indices=[1, 1], axis=0) * x[0]\n",
        (n(2, 3),),
    ),
    ("float64_arr", "def f(x):\n    return np.float64(x) * x\n", (n(3),)),
    ("float32_cast", "def f(x):\n    return np.float32(2.0) * x\n", (n(3),)),
    (
        "round_dec",
        "def f(x):\n    return np.round(x, 1) * x + np.around(x, decimals=2) + x.round(1) * x\n",
        (n(3),),
    ),
    (
        "trunc_rint_fix",
        "def f(x):\n    return np.trunc(x) * x + np.rint(x) * x + np.fix(x) * x\n",
        (n(3) * 3,),
    ),
    ("norm_pos_axis", "def f(x):\n    return np.linalg.norm(x, None, 1)\n", (n(3, 4),)),
    (
        "inv_kw",
        "def f(A):\n    return np.linalg.inv(a=A)\n",
        (n(3, 3) + 3 * np.eye(3),),
    ),
    (
        "solve_kw",
        "def f(A, y):\n    return np.linalg.solve(A, b=y)\n",
        (n(3, 3) + 3 * np.eye(3), n(3)),
    ),
    (
        "aug_bcast",
        "def f(x, b):\n    y = x * 1.0\n    y += b\n    y *= b\n    return y\n",
        (n(3, 4), n(4)),
    ),
    (
        "view_alias",
        "def f(x):\n    y = x.T\n    z = y * 2.0\n    return z @ x\n",
        (n(3, 4),),
    ),
    (
        "slice_assign_bcast",
        "def f(x, v):\n    y = np.zeros((3, 4))\n    y[:, 1] = v\n    y[0] = x[0]\n    return y * x\n",
        (n(3, 4), n(3)),
    ),
    (
        "setitem_neg",
        "def f(x, v):\n    y = x.copy()\n    y[-1, ::-2] = v\n    return y ** 2\n",
        (n(3, 4), n(2)),
    ),
    (
        "setitem_mask",
        "def f(x):\n    y = x.copy()\n    y[y < 0] = 0.0\n    return y * x\n",
        (n(3, 4),),
    ),
    (
        "setitem_scalar_bc",
        "def f(x, s):\n    y = x.copy()\n    y[1] = s\n    return y * x\n",
        (n(3, 4), 0.7),
    ),
    (
        "helper_inline",
        "def g(a, b):\n    return a * b + a\n\ndef f(x, y):\n    return g(x, y) + g(y, x)\n",
        (n(3), n(3)),
    ),
    (
        "helper_default",
        "def g(a, k=2.0):\n    return a ** k\n\ndef f(x):\n    return g(x) + g(x, 3.0)\n",
        (n(3),),
    ),
    (
        "module_const",
        "W = np.array([[1.0, 2.0], [3.0, 4.0]])\n\ndef f(x):\n    return x @ W\n",
        (n(3, 2),),
    ),
    ("tuple_return", "def f(x, y):\n    return x * y, x + y\n", (n(3), n(3))),
    (
        "scalar_arr_mix",
        "def f(a: float, x):\n    b = a * 2.0\n    c = np.exp(b) + np.sum(x)\n    return c * x\n",
        (0.3, n(3)),
    ),
    ("scalar_div", "def f(a, b):\n    return a / b - b / a + a ** b\n", (1.3, 0.7)),
    ("int_literal_pow", "def f(x):\n    return x ** -2 + x ** 0.5\n", (p(3),)),
    ("sqrt_of_sq", "def f(x):\n    return np.sqrt(x * x + 1.0)\n", (n(3),)),
    (
        "mean_keep_neg",
        "def f(x):\n    return x - x.mean(axis=-1, keepdims=True)\n",
        (n(3, 4),),
    ),
    ("std_axis_tuple", "def f(x):\n    return np.std(x, axis=(0, 2))\n", (n(2, 3, 4),)),
    (
        "var_keep",
        "def f(x):\n    return np.var(x, axis=1, keepdims=True) * x\n",
        (n(3, 4),),
    ),
    (
        "max_keep_ties",
        "def f(x):\n    return np.max(x, axis=1, keepdims=True) * x\n",
        (n(3, 4),),
    ),
    ("matmul_vec_vec", "def f(x, y):\n    return (x @ y) * x\n", (n(3), n(3))),
    (
        "einsum_implicit",
        "def f(a, b):\n    return np.einsum('ij,jk', a, b)\n",
        (n(2, 3), n(3, 4)),
    ),
    (
        "einsum_bcast",
        "def f(a, b):\n    return np.einsum('...i,i->...', a, b)\n",
        (n(2, 3, 4), n(4)),
    ),
    (
        "einsum_outer3",
        "def f(a, b, c):\n    return np.einsum('i,j,k->ijk', a, b, c)\n",
        (n(2), n(3), n(4)),
    ),
    ("dot_method", "def f(a, b):\n    return a.dot(b).sum()\n", (n(2, 3), n(3, 4))),
    ("T_3d", "def f(a):\n    return a.T * 2.0\n", (n(2, 3, 4),)),
    (
        "reshape_method_tuple",
        "def f(a):\n    return a.reshape((4, 3)).T @ a.reshape(4, 3)\n",
        (n(2, 6),),
    ),
    ("squeeze_all", "def f(a):\n    return np.squeeze(a) * 2.0\n", (n(1, 3, 1),)),
    (
        "broadcast_to",
        "def f(a):\n    return np.broadcast_to(a, (3, 4)) * np.arange(12.0).reshape(3, 4)\n",
        (n(4),),
    ),
    (
        "concat_axis0_list",
        "def f(a, b):\n    return np.concatenate([a, b]) ** 2\n",
        (n(2, 3), n(1, 3)),
    ),
    (
        "stack_neg_axis",
        "def f(a, b):\n    return np.stack([a, b], axis=-2) ** 2\n",
        (n(2, 3), n(2, 3)),
    ),
    (
        "where_scalar_bc",
        "def f(x, y):\n    return np.where(x > y, x, 0.0) + np.where(x > 0, 1.0, y)\n",
        (n(3, 4), n(4)),
    ),
    (
        "clip_arrays",
        "def f(x, lo):\n    return np.clip(x, lo, 1.0)\n",
        (n(3, 4), n(4) - 1),
    ),
    ("maximum_bcast", "def f(x, y):\n    return np.maximum(x, y)\n", (n(3, 4), n(4))),
    ("pow_bcast", "def f(x, y):\n    return x ** y\n", (p(3, 4), n(4))),
    ("arctan2_bcast", "def f(x, y):\n    return np.arctan2(x, y)\n", (n(3, 4), n(4))),
    (
        "sum_of_list_arrays",
        "def f(x, y):\n    return sum([x, y, x * y])\n",
        (n(3), n(3)),
    ),
    ("builtin_abs_arr", "def f(x):\n    return abs(x) * x\n", (n(5),)),
    ("neg_index_scalar", "def f(x):\n    return x[-1] * x[-2] * x\n", (n(4),)),
    ("double_index", "def f(x):\n    return x[1][2] * x[0]\n", (n(3, 4),)),
    (
        "fancy_then_slice",
        "def f(x):\n    return x[[2, 0, 2]][:, 1:] ** 2\n",
        (n(3, 4),),
    ),
    (
        "fancy_neg_2d",
        "def f(x):\n    return x[[-1, 0], [-1, -1]] * 3.0 + x[0, 0]\n",
        (n(3, 4),),
    ),
    (
        "fancy_arange_label",
        "def f(x, y):\n    N = x.shape[0]\n    return x[np.arange(N), y] ** 2\n",
        (n(3, 4), np.array([1, 1, 3])),
    ),
    (
        "log_softmax",
        "def f(x, y):\n    s = x - np.max(x, axis=1, keepdims=True)\n    lp = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))\n    return -np.mean(lp[np.arange(x.shape[0]), y])\n",
        (n(3, 4), np.array([1, 1, 3])),
    ),
    (
        "cumsum_rev",
        "def f(x):\n    return np.cumsum(x[::-1], axis=0)[::-1] * x\n",
        (n(4, 2),),
    ),
    ("outer_method_T", "def f(x):\n    return np.outer(x, x).T * x\n", (n(3),)),
    ("trace_offset", "def f(a):\n    return np.trace(a, 1) * a\n", (n(3, 4),)),
    (
        "diagonal_3d",
        "def f(a):\n    return np.diagonal(a, 0, 1, 2) ** 2\n",
        (n(2, 3, 3),),
    ),
    ("flip", "def f(a):\n    return np.flip(a, -1) * a\n", (n(3, 4),)),
    ("roll", "def f(a):\n    return np.roll(a, 1, axis=-1) * a\n", (n(3, 4),)),
    ("rot90", "def f(a):\n    return np.rot90(a) @ a\n", (n(3, 3),)),
    ("kron", "def f(a, b):\n    return np.kron(a, b) ** 2\n", (n(2, 2), n(2, 3))),
    ("pad_const", "def f(a):\n    return np.pad(a, 1) ** 2\n", (n(2, 3),)),
    (
        "pad_width",
        "def f(a):\n    return np.pad(a, ((0, 1), (2, 0)), constant_values=0.5) * 2.0\n",
        (n(2, 3),),
    ),
    (
        "sort_axis",
        "def f(a):\n    return np.sort(a, axis=-1) * np.arange(4.0)\n",
        (n(3, 4),),
    ),
    ("diff_n2", "def f(a):\n    return np.diff(a, n=2, axis=-1) ** 2\n", (n(3, 5),)),
    ("linspace", "def f(a, b):\n    return np.linspace(a, b, 5) ** 2\n", (0.3, 1.7)),
    (
        "atleast2d",
        "def f(a):\n    return np.atleast_2d(a).T @ np.atleast_2d(a)\n",
        (n(3),),
    ),
    (
        "slogdet",
        "def f(a):\n    s, l = np.linalg.slogdet(a)\n    return l\n",
        (n(3, 3) + 3 * np.eye(3),),
    ),
    ("pinv", "def f(a):\n    return np.linalg.pinv(a)\n", (n(3, 2),)),
    ("svd_s", "def f(a):\n    return np.linalg.svd(a, compute_uv=False)\n", (n(3, 2),)),
    (
        "eigh_w",
        "def f(a):\n    w, v = np.linalg.eigh(a + a.T)\n    return w\n",
        (n(3, 3),),
    ),
    (
        "inv_batched",
        "def f(a):\n    return np.linalg.inv(a)\n",
        (n(2, 3, 3) + 3 * np.eye(3),),
    ),
    ("det_batched", "def f(a):\n    return np.linalg.det(a)\n", (n(2, 3, 3),)),
    (
        "solve_batched",
        "def f(a, b):\n    return np.linalg.solve(a, b)\n",
        (n(2, 3, 3) + 3 * np.eye(3), n(2, 3, 1)),
    ),
    ("matmul_batched_vec", "def f(a, b):\n    return a @ b\n", (n(2, 3, 4), n(4, 1))),
    ("tensordot_0", "def f(a, b):\n    return np.tensordot(a, b, 0)\n", (n(2), n(3))),
    (
        "tensordot_list",
        "def f(a, b):\n    return np.tensordot(a, b, [[0, 2], [1, 0]])\n",
        (n(2, 3, 4), n(4, 2, 5)),
    ),
    ("inner_1d", "def f(a, b):\n    return np.inner(a, b) * a\n", (n(3), n(3))),
    ("vdot_1d", "def f(a, b):\n    return np.vdot(a, b) * b\n", (n(3), n(3))),
    # np.vdot needs only equal sizes: each gradient takes its operand's shape
    ("vdot_reshaped", "def f(a, b):\n    return np.vdot(a, b)\n", (n(2, 3), n(6))),
    ("vdot_transposed", "def f(a, b):\n    return np.vdot(a, b)\n", (n(3, 2), n(2, 3))),
    # solve broadcasts either operand against the other's batch; a 1-d b is
    # a vector even beside a stack of matrices
    (
        "solve_stack_vector",
        "def f(a, b):\n    return np.linalg.solve(a, b) ** 2\n",
        (n(3, 3, 3) + 3 * np.eye(3), n(3)),
    ),
    (
        "solve_matrix_b_broadcast",
        "def f(a, b):\n    return np.linalg.solve(a, b) ** 2\n",
        (n(2, 2, 3, 3) + 3 * np.eye(3), n(3, 2)),
    ),
    (
        "solve_matrix_a_broadcast",
        "def f(a, b):\n    return np.linalg.solve(a, b) ** 2\n",
        (n(3, 3) + 3 * np.eye(3), n(2, 3, 2)),
    ),
    # a one-axis tuple is a vector norm, whatever ord
    (
        "norm_axis_tuple_ord",
        "def f(x):\n    return np.linalg.norm(x, ord=3, axis=(0,)) * x\n",
        (n(3, 4),),
    ),
    (
        "norm_axis_tuple_inf",
        "def f(x):\n    return np.linalg.norm(x, ord=np.inf, axis=(-1,), keepdims=True)\n",
        (n(3, 4),),
    ),
    (
        "prod_keep",
        "def f(a):\n    return np.prod(a, axis=0, keepdims=True) * a\n",
        (n(3, 4),),
    ),
    (
        "prod_with_zero",
        "def f(a):\n    b = a * np.array([1.0, 0.0, 1.0])\n    return np.prod(b) + np.prod(a)\n",
        (n(3),),
    ),
    (
        "mean_int_div",
        "def f(a):\n    n = a.shape[0]\n    return np.sum(a) / n + a.size\n",
        (n(3, 4),),
    ),
    ("float_conv", "def f(a):\n    return float(np.sum(a)) * a\n", (n(3),)),
    (
        "math_fns",
        "import math\n\ndef f(a, b):\n    return math.sin(a) * math.exp(b) + math.log(a * a + 1) + math.sqrt(b * b) + math.tanh(a)\n",
        (0.4, -1.2),
    ),
    (
        "math_pow",
        "import math\n\ndef f(a, b):\n    return math.pow(a, b) + a ** 3 + math.hypot(a, b)\n",
        (1.4, 0.6),
    ),
    (
        "max_builtin3",
        "def f(a, b, c):\n    return max(a, b, c) * min(a, b)\n",
        (0.3, 1.2, -0.4),
    ),
    (
        "float_scalar",
        "import math\n\ndef f(a, b):\n    return float(a * b) + math.exp(float(a))\n",
        (0.3, 1.1),
    ),
    (
        "math_pow_const",
        "import math\n\ndef f(a):\n    return math.pow(a, 2) + math.pow(2.0, a)\n",
        (1.4,),
    ),
    (
        "math_pow_np",
        "import math\n\ndef f(a, x):\n    return math.pow(a, 2.5) * x\n",
        (1.4, n(3)),
    ),
    (
        "sum_pos_axis",
        "def f(x):\n    return x.sum(0) * np.mean(x, 1).sum() + np.max(x, -1, keepdims=True).sum()\n",
        (n(3, 4),),
    ),
    ("sum_neg_1d", "def f(x):\n    return np.sum(x ** 2, axis=-1)\n", (n(4),)),
    (
        "mean_negtuple_keep",
        "def f(x):\n    return np.mean(x, axis=(-1, -3), keepdims=True) * x\n",
        (n(2, 3, 4),),
    ),
    (
        "reshape_shape",
        "def f(x):\n    return x.reshape(x.shape[0], -1) @ np.ones((12, 2))\n",
        (n(2, 3, 4),),
    ),
    (
        "zeros_shape",
        "def f(x):\n    y = np.zeros(x.shape)\n    y[0] = x[1]\n    return y * x\n",
        (n(2, 3),),
    ),
    (
        "ones_like_s",
        "def f(x, s):\n    return np.ones_like(x) * s + x * s\n",
        (n(2, 3), 0.4),
    ),
    (
        "full",
        "def f(x):\n    return np.full((2, 3), 2.0) * x + np.full_like(x, 0.5) * x\n",
        (n(2, 3),),
    ),
    ("eye_mat", "def f(x):\n    return (x + np.eye(3)) @ x\n", (n(3, 3),)),
    ("arange_float", "def f(x):\n    return x * np.arange(3) / 2\n", (n(2, 3),)),
    (
        "shape_unpack",
        "def f(x):\n    N, D = x.shape\n    return np.sum(x ** 2) / (N * D)\n",
        (n(2, 3),),
    ),
    ("len_of", "def f(x):\n    return np.sum(x ** 2) / len(x)\n", (n(2, 3),)),
    (
        "tanh_sig",
        "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n\ndef f(x, w):\n    return sigmoid(x @ w) * np.tanh(x @ w)\n",
        (n(2, 3), n(3, 2)),
    ),
    ("relu_max", "def f(x):\n    return np.maximum(0, x) * x\n", (n(2, 3),)),
    ("relu_mask_mul", "def f(x):\n    return x * (x > 0)\n", (n(2, 3),)),
    ("relu_astype", "def f(x):\n    return x * (x > 0).astype(float)\n", (n(2, 3),)),
    ("leaky_where", "def f(x):\n    return np.where(x > 0, x, x * 0.01)\n", (n(2, 3),)),
    (
        "huber",
        "def f(x):\n    a = np.abs(x)\n    return np.where(a < 1.0, 0.5 * x ** 2, a - 0.5)\n",
        (n(6) * 2,),
    ),
    (
        "svm",
        "def f(W, X, y):\n    s = X @ W\n    c = s[np.arange(X.shape[0]), y]\n    m = np.maximum(0, s - c[:, None] + 1.0)\n    m[np.arange(X.shape[0]), y] = 0\n    return np.sum(m) / X.shape[0]\n",
        (n(4, 3), n(5, 4), np.array([0, 2, 1, 1, 0])),
    ),
    (
        "batchnorm",
        "def f(x, g, b):\n    mu = x.mean(axis=0)\n    v = x.var(axis=0)\n    xh = (x - mu) / np.sqrt(v + 1e-5)\n    return g * xh + b\n",
        (n(5, 3), n(3), n(3)),
    ),
    (
        "dropout_mask",
        "def f(x, mask):\n    return x * mask / 0.5\n",
        (n(2, 3), (R.uniform(size=(2, 3)) > 0.5).astype(float)),
    ),
    (
        "l2_loss",
        "def f(W, reg):\n    return 0.5 * reg * np.sum(W * W)\n",
        (n(3, 3), 0.1),
    ),
    (
        "cross_entropy",
        "def f(p, y):\n    return -np.sum(y * np.log(p))\n",
        (p(2, 3) / 3, R.uniform(size=(2, 3))),
    ),
    (
        "chained_T_matmul",
        "def f(a, b):\n    return (a.T @ b).T @ a.T\n",
        (n(3, 2), n(3, 4)),
    ),
    ("x_pow_x", "def f(x):\n    return x ** x\n", (p(3),)),
    ("div_by_sum", "def f(x):\n    return x / x.sum()\n", (p(4),)),
    (
        "nested_helper",
        "def g(a):\n    return a * a\n\ndef h(a):\n    return g(a) + g(2.0 * a)\n\ndef f(x):\n    return h(x) * h(x)\n",
        (n(3),),
    ),
    (
        "aug_in_loop_free",
        "def f(x):\n    y = x\n    y = y * 2.0\n    y = y + x\n    y = y ** 2\n    return y\n",
        (n(3),),
    ),
    (
        "rebind_param",
        "def f(x):\n    x = x * 2.0\n    x = np.sin(x)\n    return x\n",
        (n(3),),
    ),
    (
        "sq_method",
        "def f(x):\n    return np.square(x).mean() + x.std(ddof=1)\n",
        (n(5),),
    ),
    ("cumsum_method", "def f(x):\n    return x.cumsum(axis=1) ** 2\n", (n(2, 3),)),
    (
        "argmax_use",
        "def f(x):\n    i = np.argmax(x, axis=1)\n    return x[np.arange(2), i] * 2.0\n",
        (n(2, 3),),
    ),
    ("matmul_chain_vec", "def f(A, v):\n    return v @ A @ v\n", (n(3, 3), n(3))),
    (
        "einsum_bilinear",
        "def f(A, v):\n    return np.einsum('i,ij,j', v, A, v)\n",
        (n(3, 3), n(3)),
    ),
    ("mean_dtype", "def f(x):\n    return np.mean(x, dtype=np.float64)\n", (n(3),)),
    ("std_ddof_axis", "def f(x):\n    return np.std(x, axis=0, ddof=1)\n", (n(4, 3),)),
    (
        "cov_like",
        "def f(X):\n    Xc = X - X.mean(axis=0)\n    return Xc.T @ Xc / (X.shape[0] - 1)\n",
        (n(5, 3),),
    ),
    ("nan_safe_log", "def f(x):\n    return np.log(np.maximum(x, 1e-12))\n", (p(4),)),
    ("clip_method_kw", "def f(x):\n    return x.clip(min=-0.2) ** 2\n", (n(5),)),
    ("sort_desc", "def f(x):\n    return np.sort(x)[::-1] * np.arange(5.0)\n", (n(5),)),
    ("add_reduce", "def f(x):\n    return np.add.reduce(x, axis=1) ** 2\n", (n(3, 2),)),
    (
        "logsumexp_axis",
        "def f(x):\n    m = np.max(x, axis=1, keepdims=True)\n    return (m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True))).sum()\n",
        (n(3, 4),),
    ),
    (
        "logical",
        "def f(x):\n    m = np.logical_and(x > 0, x < 1)\n    m2 = np.logical_or(np.logical_not(m), np.logical_xor(x > 0.5, x < -0.5))\n    return np.where(m, x, 0.0) + np.where(m2, x * x, 0.0)\n",
        (n(3, 4),),
    ),
    (
        "ufunc_cmp",
        "def f(x):\n    return np.where(np.greater(x, 0), x, 0.0) + x * np.less_equal(x, 0.5) + x * np.equal(x, x) + x * np.not_equal(x, 0) + x * np.greater_equal(x, 0) + x * np.less(x, 1)\n",
        (n(3, 4),),
    ),
    (
        "count_nonzero",
        "def f(x):\n    return np.sum(np.maximum(x, 0)) / np.count_nonzero(x > 0)\n",
        (n(3, 4),),
    ),
    (
        "any_all",
        "def f(x):\n    return x * np.any(x > 0) + x * np.all(x > -10)\n",
        (n(3, 4),),
    ),
    (
        "nonzero_idx",
        "def f(x):\n    return np.sum(x[np.nonzero(x > 0)] ** 2)\n",
        (n(3, 4),),
    ),
    (
        "flatnonzero",
        "def f(x):\n    return np.sum(x.ravel()[np.flatnonzero(x > 0)] ** 2)\n",
        (n(3, 4),),
    ),
    (
        "searchsorted",
        "def f(x, edges):\n    i = np.searchsorted(edges, x)\n    return x * i\n",
        (n(5), np.array([-1.0, 0.0, 1.0])),
    ),
    ("floor_divide", "def f(x):\n    return x * np.floor_divide(x, 0.5)\n", (n(5),)),
    ("isclose", "def f(x):\n    return x * np.isclose(x, 0.0, atol=0.1)\n", (n(5),)),
    (
        "isposinf",
        "def f(x):\n    return x * np.isposinf(x) + x * np.isneginf(x) + x\n",
        (n(5),),
    ),
    ("full_like", "def f(x):\n    return x * np.full_like(x, 3.0)\n", (n(5),)),
    (
        "argsort_use",
        "def f(x):\n    i = np.argsort(x)\n    return x[i] * np.arange(5.0)\n",
        (n(5),),
    ),
    (
        "argpartition",
        "def f(x):\n    i = np.argpartition(x, 2)\n    return x[i[:2]] ** 2\n",
        (n(5),),
    ),
    ("mean_of_mask", "def f(x):\n    return np.mean((x > 0) * x)\n", (n(3, 4),)),
    ("isscalar", "def f(x):\n    return x * np.isscalar(x)\n", (n(3),)),
    ("make_diag", "def f(x):\n    return np.diagflat(x) ** 2\n", (n(3),)),
    (
        "msort",
        "def f(x):\n    return np.sort(x, axis=0) * np.arange(4.0)[:, None]\n",
        (n(4, 2),),
    ),
    ("stack_default", "def f(x, y):\n    return np.stack([x, y]) ** 2\n", (n(2), n(2))),
    (
        "column_stack_1d",
        "def f(x, y):\n    return np.column_stack([x, y]) ** 2\n",
        (n(3), n(3)),
    ),
    ("dstack", "def f(x, y):\n    return np.dstack([x, y]) ** 2\n", (n(3), n(3))),
    ("hstack_1d", "def f(x, y):\n    return np.hstack([x, y]) ** 2\n", (n(3), n(2))),
    ("vstack_1d", "def f(x, y):\n    return np.vstack([x, y]) ** 2\n", (n(3), n(3))),
    ("append_none", "def f(x, y):\n    return np.append(x, y) ** 2\n", (n(2, 2), n(3))),
    (
        "concat_none",
        "def f(x, y):\n    return np.concatenate([x, y], axis=None) ** 2\n",
        (n(2, 2), n(3)),
    ),
    ("r_", "def f(x, y):\n    return np.r_[x, y] ** 2\n", (n(2), n(3))),
    ("expand_tuple", "def f(x):\n    return np.expand_dims(x, (0, 2)) ** 2\n", (n(3),)),
    ("squeeze_neg", "def f(x):\n    return np.squeeze(x, -1) * 2.0\n", (n(3, 1),)),
    (
        "std_keep",
        "def f(x):\n    return np.std(x, axis=-1, keepdims=True) * x\n",
        (n(3, 4),),
    ),
    (
        "var_ddof_tuple",
        "def f(x):\n    return np.var(x, axis=(0, 1), ddof=2)\n",
        (n(3, 4, 2),),
    ),
    ("prod_negaxis", "def f(x):\n    return np.prod(x, axis=-2)\n", (n(3, 4),)),
    ("cumsum_0d", "def f(x):\n    return np.cumsum(x, axis=0)\n", (n(3, 2, 2),)),
    (
        "trace_3d",
        "def f(x):\n    return np.trace(x, axis1=1, axis2=2)\n",
        (n(2, 3, 3),),
    ),
    (
        "einsum_ellipsis_out",
        "def f(a):\n    return np.einsum('...ii->...i', a)\n",
        (n(2, 3, 3),),
    ),
    (
        "matmul_T_batched",
        "def f(a):\n    return a @ np.swapaxes(a, -1, -2)\n",
        (n(2, 3, 4),),
    ),
    ("dot_nd_1d", "def f(a, v):\n    return np.dot(a, v)\n", (n(2, 3, 4), n(4))),
    ("inner_nd", "def f(a, b):\n    return np.inner(a, b)\n", (n(2, 3, 4), n(5, 4))),
    ("outer_nd", "def f(a, b):\n    return np.outer(a, b)\n", (n(2, 2), n(2, 3))),
    (
        "tensordot_int3",
        "def f(a, b):\n    return np.tensordot(a, b, 1)\n",
        (n(2, 3), n(3, 4, 2)),
    ),
    ("kron_1d", "def f(a, b):\n    return np.kron(a, b)\n", (n(3), n(2))),
    ("cross3", "def f(a, b):\n    return np.cross(a, b)\n", (n(4, 3), n(4, 3))),
    (
        "nonzero_method",
        "def f(x):\n    return np.sum(x[(x > 0).nonzero()] ** 2)\n",
        (n(3, 4),),
    ),
    (
        "any_method",
        "def f(x):\n    return x * (x > 0).any(axis=1, keepdims=True)\n",
        (n(3, 4),),
    ),
    (
        "searchsorted_m",
        "def f(x, e):\n    return x * e.searchsorted(x, side='right')\n",
        (n(5), np.array([-1.0, 0.0, 1.0])),
    ),
    (
        "argpartition_m",
        "def f(x):\n    return x[x.argpartition(1)[:2]] ** 2\n",
        (n(5),),
    ),
    (
        "count_axis",
        "def f(x):\n    return np.sum(x, axis=0) / np.count_nonzero(x > -10, axis=0)\n",
        (n(3, 4),),
    ),
    (
        "isclose_kw",
        "def f(x):\n    return x * np.isclose(x, 0.1, atol=0.5, rtol=0.0)\n",
        (n(5),),
    ),
    (
        "full_arr",
        "def f(x, s):\n    return x * np.full((2, 3), s)\n",
        (n(2, 3), n(3)),
        None,
    ),
    (
        "full_like_int",
        "def f(x, s):\n    return np.full_like(np.arange(5), s) * x + s * x\n",
        (n(5), 0.7),
        None,
    ),
    (
        "full_const",
        "def f(x):\n    return x * np.full((2, 3), 2.0) + np.full_like(x, 0.5)\n",
        (n(2, 3),),
        None,
    ),
    (
        "diagflat",
        "def f(x):\n    return np.diagflat(x) ** 2 + np.diagflat(x, 1).sum()\n",
        (n(2, 2),),
        None,
    ),
    (
        "dstack2d",
        "def f(x, y):\n    return np.dstack((x, y)) ** 2\n",
        (n(2, 3), n(2, 3)),
        None,
    ),
    (
        "np_on_floats",
        "def f(a, b):\n    c = np.exp(a) * np.round(b) + np.float64(a) * b\n    return np.tanh(c) + np.trunc(a) * b\n",
        (0.3, 1.7),
    ),
    (
        "np_on_floats_ann",
        "def f(a: float, b: float):\n    c = np.exp(a) * np.round(b) + np.float64(a) * b\n    return np.tanh(c) + float(a) * b\n",
        (0.3, 1.7),
    ),
    (
        "full_float",
        "def f(a: float):\n    return np.sum(np.full((3,), a) ** 2)\n",
        (0.3,),
    ),
    (
        "take_float",
        "def f(a: float, x):\n    return np.sum(np.take(x, [0, 0]) * a)\n",
        (0.3, n(3)),
    ),
    (
        "isclose_float",
        "def f(a, b):\n    return a * np.isclose(a, b) + b * np.logical_and(a > 0, b > 0)\n",
        (0.3, 0.3),
    ),
    # lists and tuples that reach an index other than as literals (found by a
    # hunt of indexing programs): a helper's list argument is an index array
    # whose repeats add, a list of names is one too, a tuple before a comma
    # (x[idx,]) or among other parts is one, a lone tuple is a tuple of indices
    (
        "helper_list_arg",
        "def helper(v, idx):\n    return v[idx]\n\n"
        "def f(x, w):\n    return helper(x, [2, 0, 2]) * w\n",
        (n(4), n(3)),
    ),
    (
        "helper_list_arg_cols",
        "def helper(v, idx):\n    return v[:, idx]\n\n"
        "def f(x):\n    return helper(x, [2, 0, 2]) ** 2\n",
        (n(3, 4),),
    ),
    (
        "helper_list_args_pair",
        "def helper(v, i, j):\n    return v[i, j]\n\n"
        "def f(x):\n    return helper(x, [1, 1], [0, 0]) ** 2\n",
        (n(3, 4),),
    ),
    (
        "list_of_names_3d",
        "def f(x):\n    k = 2\n    idx = [k, k, 0]\n    return np.sum(x[idx] ** 2)\n",
        (n(3, 3, 3),),
    ),
    (
        "list_of_names_1d",
        "def f(x):\n    k = 2\n    idx = [k, k, 0]\n    return np.sum(x[idx] ** 2)\n",
        (n(4),),
    ),
    (
        "list_of_names_setitem",
        "def f(x):\n    k = 1\n    idx = [k, 0, 2]\n    y = x * 1.0\n"
        "    y[idx] = 0.0\n    return y * x\n",
        (n(3, 3, 3),),
    ),
    (
        "list_of_names_add_at",
        "def f(x):\n    k = 0\n    idx = [k, k]\n    y = np.zeros(4)\n"
        "    y[idx] += x[0]\n    return y * x\n",
        (n(4),),
    ),
    (
        "list_of_names_renamed",
        "def f(x):\n    k = 1\n    idx = [k, k]\n    jdx = idx\n    return x[jdx] * x[jdx]\n",
        (n(4),),
    ),
    (
        "list_of_name_bools",
        "def f(x):\n    t = True\n    m = [t, False, t]\n    return x[m] ** 2\n",
        (n(3),),
    ),
    (
        "tuple_comma_3d",
        "def f(x):\n    idx = (2, 2, 0)\n    return np.sum(x[idx,] ** 2)\n",
        (n(3, 3, 3),),
    ),
    (
        "tuple_comma_1d",
        "def f(x):\n    idx = (2, 2, 0)\n    return np.sum(x[idx,] ** 2)\n",
        (n(4),),
    ),
    (
        "tuple_lone_multi_index",
        "def f(x):\n    idx = (2, 1)\n    return np.sum(x[idx] ** 2)\n",
        (n(3, 3, 3),),
    ),
    (
        "helper_tuple_comma",
        "def h(v, idx):\n    return v[idx,]\n\ndef f(x):\n    return h(x, (0, 0, 1)) ** 2\n",
        (n(4),),
    ),
    (
        "helper_tuple_lone",
        "def h(v, idx):\n    return v[idx]\n\ndef f(x):\n    return h(x, (0, 1)) ** 2\n",
        (n(2, 3),),
    ),
    (
        "tuple_of_names_lone",
        "def f(x):\n    k = 1\n    idx = (k, 0)\n    return x[idx] ** 2\n",
        (n(2, 3),),
    ),
    (
        "tuple_of_names_among",
        "def f(x):\n    k = 1\n    idx = (k, k)\n    return x[idx, 1] ** 2\n",
        (n(3, 2),),
    ),
    # boolean masks that are not one comparison, the shapes annotated: the
    # selection's size depends on the data, not on the mask's shape
    (
        "mask_logical_and_annotated",
        'def f(x: Float[np.ndarray, "N D"]):\n'
        "    m = np.logical_and(x > -0.5, x < 1.0)\n"
        "    return x[m] * 2 + np.sum(x[m])\n",
        (n(3, 4),),
    ),
    (
        "mask_of_another_annotated",
        'def f(x: Float[np.ndarray, "N D"], y: Float[np.ndarray, "N D"]):\n'
        "    m = np.logical_and(x > -0.5, y < 1.0)\n"
        "    z = x[m]\n"
        "    return z * z[0]\n",
        (n(3, 4), n(3, 4)),
    ),
    (
        "mask_any_rows_annotated",
        'def f(x: Float[np.ndarray, "N D"]):\n'
        "    m = np.any(x > 0.5, axis=1)\n"
        "    return x[m] * x[m]\n",
        (n(3, 4),),
    ),
    (
        "mask_not_annotated",
        'def f(x: Float[np.ndarray, "N D"], y: Float[np.ndarray, "N D"]):\n'
        "    m = np.logical_not(x > 0)\n"
        "    return x[m] + y[m] * x[m]\n",
        (n(3, 4), n(3, 4)),
    ),
    # masks combined with & | ^ ~, and chained comparisons
    (
        "mask_and_between",
        "def f(x):\n    return np.where((x > -0.5) & (x < 0.5), x * x, 0.1 * x)\n",
        (n(3, 4),),
    ),
    (
        "mask_or_xor",
        "def f(x, y):\n    m = (x < -1) | (y > 1)\n"
        "    return x * m + y * ((x > 0) ^ (y > 0))\n",
        (n(3, 4), n(3, 4)),
    ),
    (
        "mask_inverted_select",
        "def f(x):\n    return np.sum(x[~(x > 0)] ** 2)\n",
        (n(3, 4),),
    ),
    (
        "mask_and_in_place",
        "def f(x, y):\n    m = x > 0\n    m &= y > 0\n    return x * m\n",
        (n(3, 4), n(3, 4)),
    ),
    # np.add.at: repeated indices add up (x[idx] += v would add once)
    (
        "add_at_repeats",
        "def f(x):\n    z = np.zeros(5)\n    np.add.at(z, np.array([0, 1, 1, 4]), x)\n"
        "    return z * z\n",
        (n(4),),
    ),
    (
        "add_at_pairs_broadcast",
        "def f(x, v):\n    z = x * 1.0\n"
        "    np.add.at(z, (np.array([0, 0, 2]), np.array([1, 1, 3])), v)\n    return z ** 2\n",
        (n(3, 4), 0.7),
    ),
    (
        "chained_comparison_of_floats",
        "def f(x, y):\n    inside = 0.0 < x < 1.0\n    return x * inside + y * (not inside)\n",
        (0.3, 2.0),
    ),
]


def _central(f, args, i, h=1e-6):
    x = np.array(args[i], dtype=float)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        moved = []
        for step in (h, -h):
            y = x.copy()
            y[idx] += step
            a = list(args)
            a[i] = y if np.ndim(args[i]) else float(y)
            moved.append(np.sum(f(*a)))
        grad[idx] = (moved[0] - moved[1]) / (2 * h)
    return grad


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_adversarial_program(case):
    name, body, args = case[:3]
    source = "import numpy as np\n\n" + body
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = codegen.generate(source, f"{name}.py", "f")
    generated = module_from_source(code, f"adversarial_{name}")
    user = module_from_source(source, f"adversarial_user_{name}").f
    params = list(inspect.signature(user).parameters)
    wrt = [
        k
        for k, a in enumerate(args)
        if isinstance(a, float) or np.asarray(a).dtype.kind == "f"
    ]
    fresh = [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]
    out, grads = generated.f_value_and_grad(*fresh)
    expected = user(*args)
    assert np.shape(out) == np.shape(expected)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    grads = grads if isinstance(grads, tuple) else (grads,)
    by_name = dict(zip(_differentiated(code), grads, strict=True))
    for k in wrt:
        g = by_name[params[k]]
        assert np.shape(g) == np.shape(args[k]), params[k]
        np.testing.assert_allclose(
            g, _central(user, args, k), rtol=1e-5, atol=1e-6, err_msg=params[k]
        )


def _differentiated(code: str) -> list[str]:
    """The parameters whose gradients the module returns, in order, as its
    docstring names them (``f_backward(grad_out, cache) -> (grad_x, grad_w)``)."""
    doc = code.split('"""', 2)[1]
    line = next(ln for ln in doc.splitlines() if ln.startswith("f_backward("))
    return re.findall(r"grad_(\w+)", line.split("->", 1)[1])
