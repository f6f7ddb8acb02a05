#!/usr/bin/env python3
"""Recompute a `peir run --dump DIR` with numpy alone and compare, element by element.

    python3 scripts/recompute_dump.py DIR

Checks, for conv2d and depthwise (integer mode): input_int, weight_int and
bias_int from the float tensors and params.json; acc (the exact integer
accumulator) by an independent numpy convolution; output_int by the
requantization rule; output_dequant from output_int; and output_fp32 by a
float64 convolution within float32 rounding. For the LSTM the same tensors, and
the integer recurrence step by step (acc holds the last step's input-side and
recurrent accumulators). Exits 1 on any mismatch. The rules (README "Numerics") in numpy form:

    quantize:    q = clip(round(f32(x) * f32(1 / scale)) + zero_point, qmin, qmax)
                 (one float32 multiply; round half to even, or half away from zero)
    dequantize:  x' = f32((q - zero_point) * scale)
    requant q8:  gemmlowp MultiplyByQuantizedMultiplier(acc, multiplier, shift) + out_zero, clip to [0, 255]
    requant q16 pow2:   round(acc / 2**shift) (shift > 0, ties per rounding), acc * 2**-shift otherwise; clip int16
    requant q16 linear: the same shift of acc * r by 15 - shift, r = min((multiplier + 2**15) >> 16, 0x7fff)
"""
import json
import sys
from pathlib import Path

import numpy as np

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def load(d, name):
    return np.load(d / f"{name}.npy")


def round_mode(v, mode):
    if mode == "half_even":
        return np.rint(v)
    t = np.trunc(v)
    return np.where(np.abs(v - t) >= 0.5, t + np.sign(v), t)


def slices(p, shape):
    """Broadcast per-slice parameters along the tensor's slice axis."""
    axis = p["axis"]
    scale = np.asarray(p["scale"], dtype=np.float64)
    zero = np.asarray(p["zero_point"], dtype=np.int64)
    if axis is None:
        return scale.reshape(()), zero.reshape(())
    view = [1] * len(shape)
    view[axis] = -1
    return scale.reshape(view), zero.reshape(view)


def qrange(dtype):
    return (0, 255) if dtype == "uint8" else (-32768, 32767)


def quantize(x, p, mode):
    scale, zero = slices(p, x.shape)
    inv = (1.0 / scale).astype(np.float32)  # f32(1 / s): exactly 2**f for power-of-two scales
    bound = np.minimum(scale.astype(np.float32) * np.float32(2**17), np.finfo(np.float32).max)
    xc = np.clip(x.astype(np.float32), -bound, bound)
    y = (xc * inv).astype(np.float32)  # one correctly rounded float32 multiply
    lo, hi = qrange(p["dtype"])
    return np.clip(round_mode(y.astype(np.float64), mode).astype(np.int64) + zero, lo, hi)


def dequantize(q, p):
    scale, zero = slices(p, q.shape)
    return ((q.astype(np.int64) - zero) * scale.astype(np.float32).astype(np.float64)).astype(np.float32)


def srdhm(a, b):
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    ab = a * b
    v = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    q = np.where(v >= 0, v >> 31, -((-v) >> 31))  # division truncating towards zero
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, q)


def rdbpot(x, e):
    mask = (np.int64(1) << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (x < 0)
    return (x >> e) + (rem > thr)


def mbqm(x, m0, shift):
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    xs = np.clip(x.astype(np.int64) << left, INT32_MIN, INT32_MAX)
    return rdbpot(srdhm(xs, m0), right)


def round_shift(acc, s, mode, lo, hi):
    acc = acc.astype(object)  # Python integers: exact whatever the shift
    s = np.broadcast_to(s, acc.shape).astype(object)
    out = np.empty(acc.shape, dtype=object)
    for i, (a, k) in enumerate(zip(acc.flat, s.flat)):
        if k <= 0:
            v = a << -k
        else:
            fl = a >> k
            rem = a - (fl << k)
            half = 1 << (k - 1)
            if rem > half or (rem == half and ((fl & 1) == 1 if mode == "half_even" else a >= 0)):
                fl += 1
            v = fl
        out.flat[i] = min(max(v, lo), hi)
    return out.astype(np.int64)


def conv(xq, zx, wq, zw, bias, layer, dtype=np.int64):
    """out[co, y, x] = bias[co] + sum (xq - zx) (wq - zw[co]) over the (grouped) window; exact in int64."""
    t, l, b, r = layer["pads"]
    sh, sw = layer["stride"]
    dh, dw = layer["dilation"]
    groups = layer["groups"]
    x = np.pad(xq[0].astype(dtype) - zx, ((0, 0), (t, b), (l, r)))  # padding is real 0 = zero point
    cout, cin_g, kh, kw = wq.shape
    ho = (x.shape[1] - ((kh - 1) * dh + 1)) // sh + 1
    wo = (x.shape[2] - ((kw - 1) * dw + 1)) // sw + 1
    w = wq.astype(dtype) - np.asarray(zw, dtype=dtype).reshape(-1, 1, 1, 1)
    acc = np.zeros((cout, ho, wo), dtype=dtype)
    for co in range(cout):
        ci0 = co if groups > 1 else 0
        for cg in range(cin_g):
            for ky in range(kh):
                for kx in range(kw):
                    win = x[ci0 + cg, ky * dh: ky * dh + sh * (ho - 1) + 1: sh, kx * dw: kx * dw + sw * (wo - 1) + 1: sw]
                    acc[co] += w[co, cg, ky, kx] * win
    return acc + np.asarray(bias, dtype=dtype).reshape(-1, 1, 1)


def lstm_luts():
    """SIGMOID and TANH tables: Q3.12 input (index - 32768), Q0.15 output, round half to even (float64)."""
    x = (np.arange(65536) - 32768) * 2.0**-12
    sig = np.minimum(np.rint(1.0 / (1.0 + np.exp(-x)) * 2**15), 2**15 - 1).astype(np.int64)
    tnh = np.clip(np.rint(np.tanh(x) * 2**15), -(2**15), 2**15 - 1).astype(np.int64)
    return sig, tnh


def lstm_int(params, xq, wih, whh, bq):
    """The integer LSTM (README "Numerics", LSTM): Q3.12 gates, Q0.15 activations, Q11.20 cell, h in its own quantization."""
    t = params["tensors"]
    rq = params["requant"]
    mode = params["rounding"]
    rule = rq["gate_x"]["rule"]
    rows, n_in = wih.shape
    hidden = rows // 4
    zx = t["input"]["zero_point"][0]
    zh = t["hidden"]["zero_point"][0]
    hlo, hhi = qrange(t["hidden"]["dtype"])
    per_row = lambda v: np.broadcast_to(np.asarray(v, dtype=np.int64), (rows,))
    zwi, zwh = per_row(t["weight_ih"]["zero_point"]), per_row(t["weight_hh"]["zero_point"])
    side = 2**24

    def gate(acc, m0, sh):
        if rule == "gemmlowp":
            return np.clip(mbqm(acc, m0, sh), -side, side)
        if rule == "pow2":
            return round_shift(acc, sh, mode, -side, side)
        r = np.where(m0 < 0x7FFF0000, (m0 + 0x8000) >> 16, 0x7FFF)
        return round_shift(acc * r, 15 - sh, mode, -side, side)

    def out(v):
        m0, sh = rq["output"]["multiplier"][0], rq["output"]["shift"][0]
        if rule == "gemmlowp":
            return np.clip(np.clip(mbqm(v, np.int64(m0), np.int64(sh)), -131072, 131072) + zh, hlo, hhi)
        if rule == "pow2":
            return round_shift(v, sh, mode, hlo, hhi)
        r = min((m0 + 0x8000) >> 16, 0x7FFF) if m0 < 0x7FFF0000 else 0x7FFF
        return round_shift(v * r, 15 - sh, mode, hlo, hhi)

    sig, tnh = lstm_luts()
    mx, sx = per_row(rq["gate_x"]["multiplier"]), per_row(rq["gate_x"]["shift"])
    mh, shh = per_row(rq["gate_h"]["multiplier"]), per_row(rq["gate_h"]["shift"])
    h = np.full(hidden, zh, dtype=np.int64)
    c = np.zeros(hidden, dtype=np.int64)
    hs = []
    wi = wih.astype(np.int64) - zwi[:, None]
    wh = whh.astype(np.int64) - zwh[:, None]
    for step in range(xq.shape[0]):
        ax = wi @ (xq[step].astype(np.int64) - zx) + bq
        ah = wh @ (h - zh)
        pre = np.clip(gate(ax, mx, sx) + gate(ah, mh, shh), -32768, 32767) + 32768
        i, f, g, o = sig[pre[:hidden]], sig[pre[hidden:2 * hidden]], tnh[pre[2 * hidden:3 * hidden]], sig[pre[3 * hidden:]]
        c = np.clip(round_shift(f * c, 15, mode, INT32_MIN, INT32_MAX) + round_shift(i * g, 10, mode, INT32_MIN, INT32_MAX), INT32_MIN, INT32_MAX)
        tc = tnh[round_shift(c, 8, mode, -32768, 32767) + 32768]
        h = out(o * tc)
        hs.append(h)
    return np.stack(hs), ax, ah


def main(d):
    d = Path(d)
    params = json.loads((d / "params.json").read_text())
    mode = params["rounding"]
    t = params["tensors"]
    bad = []

    def check(name, got, want, exact=True, tol=0.0):
        got = np.asarray(got)
        want = np.asarray(want)
        if got.shape != want.shape:
            bad.append(f"{name}: shape {got.shape} != {want.shape}")
            return
        diff = got != want if exact else np.abs(got.astype(np.float64) - want.astype(np.float64)) > tol
        n = int(np.count_nonzero(diff))
        print(f"{name:16s} {'ok' if n == 0 else f'{n} of {got.size} differ'}")
        if n:
            i = np.argwhere(diff)[0]
            bad.append(f"{name}: first difference at {tuple(i)}: recomputed {want[tuple(i)]}, dumped {got[tuple(i)]}")

    x = load(d, "input")
    check("input_int", load(d, "input_int"), quantize(x, t["input"], mode))
    if params["layer"]["module"] == "lstm":
        check("weight_ih_int", load(d, "weight_ih_int"), quantize(load(d, "weight_ih"), t["weight_ih"], mode))
        check("weight_hh_int", load(d, "weight_hh_int"), quantize(load(d, "weight_hh"), t["weight_hh"], mode))
        b = np.zeros(load(d, "weight_ih").shape[0])
        for name in ("bias_ih", "bias_hh"):
            if (d / f"{name}.npy").exists():
                b = b + load(d, name).astype(np.float64)
        bq = round_mode(b / np.asarray(t["bias"]["scale"]), mode).astype(np.int64)
        check("bias_int", load(d, "bias_int"), bq)
        wih = quantize(load(d, "weight_ih"), t["weight_ih"], mode)
        whh = quantize(load(d, "weight_hh"), t["weight_hh"], mode)
        hq, ax, ah = lstm_int(params, load(d, "input_int"), wih, whh, bq)
        check("acc", load(d, "acc"), np.stack([ax, ah]))
        check("output_int", load(d, "output_int"), hq)
        check("output_dequant", load(d, "output_dequant"), dequantize(hq, t["hidden"]))
    else:
        layer = params["layer"]
        wq = quantize(load(d, "weight"), t["weight"], mode)
        check("weight_int", load(d, "weight_int"), wq)
        cout = wq.shape[0]
        bias = load(d, "bias").astype(np.float64) if (d / "bias.npy").exists() else np.zeros(cout)
        bq = round_mode(bias / np.asarray(t["bias"]["scale"]), mode).astype(np.int64)
        check("bias_int", load(d, "bias_int"), bq)
        _, zx = slices(t["input"], x.shape)
        zw = np.broadcast_to(np.asarray(t["weight"]["zero_point"], dtype=np.int64), (cout,))
        acc = conv(load(d, "input_int"), int(zx), wq, zw, bq, layer)[None]
        check("acc", load(d, "acc"), acc)
        rq = params["requant"]
        m0 = np.asarray(rq["multiplier"], dtype=np.int64).reshape(1, -1, 1, 1)
        sh = np.asarray(rq["shift"], dtype=np.int64).reshape(1, -1, 1, 1)
        out = t["output"]
        lo, hi = qrange(out["dtype"])
        if rq["rule"] == "gemmlowp":
            zo = np.broadcast_to(np.asarray(out["zero_point"], dtype=np.int64), (cout,)).reshape(1, -1, 1, 1)
            q = np.clip(mbqm(acc, m0, sh) + zo, lo, hi)
        elif rq["rule"] == "pow2":
            q = round_shift(acc, sh, mode, lo, hi)
        else:
            r = np.where(m0 < 0x7FFF0000, (m0 + 0x8000) >> 16, 0x7FFF)
            q = round_shift(acc * r, 15 - sh, mode, lo, hi)
        check("output_int", load(d, "output_int"), q)
        check("output_dequant", load(d, "output_dequant"), dequantize(q, out))
        # The float layer in float64: the dumped fp32 output agrees within the float32 reduction bound
        # (n + 3) u sum|w x| (Higham), n the reduction length, u = 2^-24.
        xf = x.astype(np.float64)
        wf = load(d, "weight").astype(np.float64)
        zero = np.zeros(cout)
        ref = conv(xf, 0.0, wf, zero, bias, layer, np.float64)[None]
        mag = conv(np.abs(xf), 0.0, np.abs(wf), zero, np.abs(bias), layer, np.float64)[None]
        n = wf[0].size
        err = np.abs(load(d, "output_fp32").astype(np.float64) - ref)
        over = int(np.count_nonzero(err > (n + 3) * 2.0**-24 * mag + 1e-30))
        print(f"{'output_fp32':16s} {'ok' if over == 0 else f'{over} beyond'} (float64 conv, bound (n + 3) u sum|w x|)")
        if over:
            bad.append("output_fp32: beyond the float32 reduction bound")
    if bad:
        print("\n".join(bad), file=sys.stderr)
        sys.exit(1)
    print("all recomputed values match")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
