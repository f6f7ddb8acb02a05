// lstm-int.wgsl: true-integer LSTM, one layer, batch 1, PyTorch gate order (i, f, g, o).
// Compiled after int64.wgsl and requant.wgsl (src/gpu/shader-lib.ts).
// The rules are those of src/quant/lstm-layer.ts (module doc), restated:
//
//   acc_x[r] = bias[r] + sum_k (q_x[t,k] - z_x)(q_wih[r,k] - z_wih[r])    exact: i32 (BITS 8) / i64 (BITS 16)
//   acc_h[r] =           sum_k (q_h[k] - z_h)(q_whh[r,k] - z_whh[r])
//   p = gate_requant(acc) -> Q3.12, each side clamped to +-2^24: rule 0 (Q8) mbqm(acc, m0, shift);
//       rule 1 (Q16 pow2) round_shift_clamp(acc, shift); rule 2 (Q16 linear) requant_linear64(acc, m0, shift)
//   pre = clamp(p_x + p_h, -32768, 32767)                                  Q3.12
//   i, f, o = SIGMOID[pre + 32768], g = TANH[pre + 32768]                   Q0.15 (host tables)
//   c = sat32(rshift(f * c, 15) + rshift(i * g, 10))                        Q11.20, f * c in i64
//   tc = TANH[round_shift_clamp(c, 8, -32768, 32767) + 32768]
//   h_q = out_requant(o * tc): Q8 clamp(clamp(mbqm(v), +-2^17) + z_h, 0, 255);
//         Q16 pow2 round_shift_clamp(v, outShift); Q16 linear requant_linear64(v, outMultiplier, outShift)
// rshift = round_shift_clamp with int32 bounds, ties per params.rounding (0 half to even,
// 1 half away); mbqm always rounds ties away from zero (gemmlowp). Q3.12 saturates at +-8:
// sigmoid(8) = 0.99966, so larger pre-activations act as +-8; only the sum p_x + p_h is clamped
// to int16 (each side to +-2^24 first), so a large side is not cancelled by a clamped one.
// Accumulator bounds (checked on the host, checkIntLstmSpec): Q8 n * 255^2 + |bias| < 2^31;
// Q16 zero points are 0, each int16 product fits i32 (|p| <= 2^30) and is added to an
// exact i64, n * 2^30 + |bias| < 2^53 (2^47 for rule 2).
//
// Layouts (the host packs them, src/gpu/kernels/lstm-int.ts):
//   input      [T, I] quantized, packed in u32 words: 4 x uint8 (BITS 8) or 2 x int16 (BITS 16)
//   weightIh / weightHh: gate-interleaved, element (k, j) = the four rows i, f, g, o of unit j
//              at column k: BITS 8 one word (byte g = gate g), BITS 16 two words
//              (word 0 = i | f << 16, word 1 = g | o << 16) at 2 (k H + j)
//   ihRows / hhRows [H]: per unit j, vec4s over the gates (i, f, g, o) of zero points,
//              gemmlowp / linear multipliers and shifts
//   bias       [4H] int64 as (lo, hi) i32 pairs at 2r, 2r + 1, r = gate H + j
//   lut        [65536]: SIGMOID in the low 16 bits (unsigned), TANH in the high 16 bits (signed)
//   h0         [H] quantized h_0;   cState [H] c_0 on entry, c_T on exit (Q11.20)
//   px         [T, H] vec4: the input-side gate values p_x (Q3.12) of every step
//   hOut       [T, H] quantized hidden states;  accXOut / accHOut [4H] (lo, hi) of the last step
//
// Entry points, dispatched in this order:
// `project`: px[t, j] and, for t = T - 1, accXOut, for every (t, j) at once (one invocation
//   per (t, j), index t H + j on a 2-D grid of rowPitch invocations per row). Workgroup PROJ_WG.
// `recur`: steps [t0, t0 + tCount) in ONE workgroup of WG invocations; invocation l owns the
//   units j = l, l + WG, ... and loops over t: (q_h - z_h) of step t - 1 lives in workgroup
//   memory (hShared), two workgroupBarrier()s per step separate the reads of h_{t-1} from the
//   writes of h_t. c lives in cState, each element touched only by its owner. t0 > 0 resumes
//   from hOut[t0 - 1] and cState, so the host may split a sequence over dispatches. Dispatch (1).
// CPU reference: src/cpu/lstm-int.ts, bit-exact (test/lstm-int.gpu.test.ts).

override BITS: u32 = 8u;
override PROJ_WG: u32 = 64u;
override WG: u32 = 256u;
override H_CAP: u32 = 256u;

struct Params {
  steps: u32,
  inputSize: u32,
  hiddenSize: u32,
  inputZero: i32,
  hiddenZero: i32,
  hiddenMin: i32,
  hiddenMax: i32,
  rule: u32,
  rounding: u32,
  outMultiplier: i32,
  outShift: i32,
  t0: u32,
  tCount: u32,
  rowPitch: u32,
}

struct GateRows {
  zero: vec4<i32>,
  multiplier: vec4<i32>,
  shift: vec4<i32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<u32>;
@group(0) @binding(2) var<storage, read> weightIh: array<u32>;
@group(0) @binding(3) var<storage, read> ihRows: array<GateRows>;
@group(0) @binding(4) var<storage, read> bias: array<i32>;
@group(0) @binding(5) var<storage, read_write> pxOut: array<vec4<i32>>;
@group(0) @binding(6) var<storage, read_write> accXOut: array<i32>;
@group(0) @binding(7) var<storage, read> weightHh: array<u32>;
@group(0) @binding(8) var<storage, read> hhRows: array<GateRows>;
@group(0) @binding(9) var<storage, read> lut: array<u32>;
@group(0) @binding(10) var<storage, read> h0: array<i32>;
// `pxOut` (written by `project`) is read back by `recur` as `px`.
@group(0) @binding(11) var<storage, read> px: array<vec4<i32>>;
@group(0) @binding(12) var<storage, read_write> cState: array<i32>;
@group(0) @binding(13) var<storage, read_write> hOut: array<i32>;
@group(0) @binding(14) var<storage, read_write> accHOut: array<i32>;

const Q16_MIN: i32 = -32768;
const Q16_MAX: i32 = 32767;

fn load_input(i: u32) -> i32 {
  if (BITS == 8u) {
    return i32((input[i >> 2u] >> (8u * (i & 3u))) & 0xffu);
  }
  return bitcast<i32>(input[i >> 1u] << (16u - 16u * (i & 1u))) >> 16u;
}

// The four gate weights (i, f, g, o) of unit j at column k, as loaded (zero points not subtracted).
fn gate_weights(w0: u32, w1: u32) -> vec4<i32> {
  if (BITS == 8u) {
    return vec4<i32>(vec4<u32>(w0 & 0xffu, (w0 >> 8u) & 0xffu, (w0 >> 16u) & 0xffu, w0 >> 24u));
  }
  return vec4<i32>(bitcast<i32>(w0 << 16u) >> 16u, bitcast<i32>(w0) >> 16u,
                   bitcast<i32>(w1 << 16u) >> 16u, bitcast<i32>(w1) >> 16u);
}

fn load_weight_ih(k: u32, j: u32) -> vec4<i32> {
  let e = k * params.hiddenSize + j;
  if (BITS == 8u) {
    return gate_weights(weightIh[e], 0u);
  }
  return gate_weights(weightIh[2u * e], weightIh[2u * e + 1u]);
}

fn load_weight_hh(k: u32, j: u32) -> vec4<i32> {
  let e = k * params.hiddenSize + j;
  if (BITS == 8u) {
    return gate_weights(weightHh[e], 0u);
  }
  return gate_weights(weightHh[2u * e], weightHh[2u * e + 1u]);
}

// Each side of a gate pre-activation is bounded by +-2^24 (Q3.12), so their sum fits i32.
const GATE_SIDE_LIMIT: i32 = 16777216;

// An exact accumulator (acc32 for BITS 8, acc64 for BITS 16) to Q3.12, clamped to +-2^24.
fn gate_requant(acc32: i32, acc64: I64, m0: i32, shift: i32) -> i32 {
  if (BITS == 8u) {
    return clamp(mbqm(acc32, m0, shift), -GATE_SIDE_LIMIT, GATE_SIDE_LIMIT);
  }
  if (params.rule == 1u) {
    return round_shift_clamp(acc64, shift, params.rounding, -GATE_SIDE_LIMIT, GATE_SIDE_LIMIT);
  }
  return requant_linear64(acc64, m0, shift, params.rounding, -GATE_SIDE_LIMIT, GATE_SIDE_LIMIT);
}

// Four gate accumulators: vec4 of i32 (BITS 8) or four I64 (BITS 16).
struct GateAcc {
  a32: vec4<i32>,
  a0: I64,
  a1: I64,
  a2: I64,
  a3: I64,
}

// Explicitly zero: a `var` without initializer inside a loop was observed NOT to be re-zeroed on
// every iteration by Dawn + SwiftShader (the WGSL spec says it must be).
fn gate_acc_zero() -> GateAcc {
  return GateAcc(vec4<i32>(0), I64(0u, 0u), I64(0u, 0u), I64(0u, 0u), I64(0u, 0u));
}

fn acc_add(acc: ptr<function, GateAcc>, x: i32, w: vec4<i32>) {
  if (BITS == 8u) {
    (*acc).a32 += x * w;
  } else {
    (*acc).a0 = i64_add_i32((*acc).a0, x * w.x);
    (*acc).a1 = i64_add_i32((*acc).a1, x * w.y);
    (*acc).a2 = i64_add_i32((*acc).a2, x * w.z);
    (*acc).a3 = i64_add_i32((*acc).a3, x * w.w);
  }
}

fn acc_gate(acc: GateAcc, g: u32) -> I64 {
  if (BITS == 8u) {
    return i64_from_i32(acc.a32[g]);
  }
  if (g == 0u) { return acc.a0; }
  if (g == 1u) { return acc.a1; }
  if (g == 2u) { return acc.a2; }
  return acc.a3;
}

fn requant_gates(acc: GateAcc, rows: GateRows) -> vec4<i32> {
  var p: vec4<i32>;
  for (var g = 0u; g < 4u; g++) {
    p[g] = gate_requant(acc.a32[g], acc_gate(acc, g), rows.multiplier[g], rows.shift[g]);
  }
  return p;
}


@compute @workgroup_size(PROJ_WG, 1, 1)
fn project(@builtin(global_invocation_id) gid: vec3<u32>) {
  let hs = params.hiddenSize;
  let isz = params.inputSize;
  let idx = gid.x + gid.y * params.rowPitch;
  if (idx >= params.steps * hs) { return; }
  let t = idx / hs;
  let j = idx % hs;
  let rows = ihRows[j];
  var acc = gate_acc_zero();
  if (BITS == 8u) {
    acc.a32 = vec4<i32>(bias[2u * j], bias[2u * (hs + j)], bias[2u * (2u * hs + j)], bias[2u * (3u * hs + j)]);
  } else {
    acc.a0 = I64(bitcast<u32>(bias[2u * j]), bitcast<u32>(bias[2u * j + 1u]));
    acc.a1 = I64(bitcast<u32>(bias[2u * (hs + j)]), bitcast<u32>(bias[2u * (hs + j) + 1u]));
    acc.a2 = I64(bitcast<u32>(bias[2u * (2u * hs + j)]), bitcast<u32>(bias[2u * (2u * hs + j) + 1u]));
    acc.a3 = I64(bitcast<u32>(bias[2u * (3u * hs + j)]), bitcast<u32>(bias[2u * (3u * hs + j) + 1u]));
  }
  for (var k = 0u; k < isz; k++) {
    let x = load_input(t * isz + k) - params.inputZero;
    acc_add(&acc, x, load_weight_ih(k, j) - rows.zero);
  }
  pxOut[idx] = requant_gates(acc, rows);
  if (t == params.steps - 1u) {
    for (var g = 0u; g < 4u; g++) {
      let a = acc_gate(acc, g);
      let r = g * hs + j;
      accXOut[2u * r] = bitcast<i32>(a.x);
      accXOut[2u * r + 1u] = bitcast<i32>(a.y);
    }
  }
}

fn sigmoid_lut(v: i32) -> i32 {
  return i32(lut[u32(v + 32768)] & 0xffffu);
}

fn tanh_lut(v: i32) -> i32 {
  return bitcast<i32>(lut[u32(v + 32768)]) >> 16u;
}

// x / 2^s rounded per params.rounding, s > 0, as an int32 (the callers' values cannot leave it).
fn rshift(x: I64, s: i32) -> i32 {
  return round_shift_clamp(x, s, params.rounding, I32_MIN, I32_MAX);
}

fn out_requant(v: i32) -> i32 {
  if (BITS == 8u) {
    return clamp(clamp(mbqm(v, params.outMultiplier, params.outShift), -131072, 131072) + params.hiddenZero,
                 params.hiddenMin, params.hiddenMax);
  }
  if (params.rule == 1u) {
    return round_shift_clamp(i64_from_i32(v), params.outShift, params.rounding, params.hiddenMin, params.hiddenMax);
  }
  return requant_linear64(i64_from_i32(v), params.outMultiplier, params.outShift, params.rounding,
                          params.hiddenMin, params.hiddenMax);
}

var<workgroup> hShared: array<i32, H_CAP>;

@compute @workgroup_size(WG, 1, 1)
fn recur(@builtin(local_invocation_index) lid: u32) {
  let hs = params.hiddenSize;
  let t0 = params.t0;
  for (var j = lid; j < hs; j += WG) {
    if (t0 == 0u) {
      hShared[j] = h0[j] - params.hiddenZero;
    } else {
      hShared[j] = hOut[(t0 - 1u) * hs + j] - params.hiddenZero;
    }
  }
  workgroupBarrier();
  let tEnd = t0 + params.tCount;
  for (var t = t0; t < tEnd; t++) {
    for (var j = lid; j < hs; j += WG) {
      let rows = hhRows[j];
      var acc = gate_acc_zero();
      for (var k = 0u; k < hs; k++) {
        acc_add(&acc, hShared[k], load_weight_hh(k, j) - rows.zero);
      }
      if (t == params.steps - 1u) {
        for (var g = 0u; g < 4u; g++) {
          let a = acc_gate(acc, g);
          let r = g * hs + j;
          accHOut[2u * r] = bitcast<i32>(a.x);
          accHOut[2u * r + 1u] = bitcast<i32>(a.y);
        }
      }
      let pre = clamp(px[t * hs + j] + requant_gates(acc, rows), vec4<i32>(Q16_MIN), vec4<i32>(Q16_MAX));
      let ig = sigmoid_lut(pre.x);
      let fg = sigmoid_lut(pre.y);
      let gg = tanh_lut(pre.z);
      let og = sigmoid_lut(pre.w);
      let fc = rshift(i64_mul_i32(fg, cState[j]), 15);
      let igq = rshift(i64_from_i32(ig * gg), 10);
      let c = i64_clamp_to_i32(i64_add(i64_from_i32(fc), i64_from_i32(igq)), I32_MIN, I32_MAX);
      cState[j] = c;
      let tc = tanh_lut(round_shift_clamp(i64_from_i32(c), 8, params.rounding, Q16_MIN, Q16_MAX));
      hOut[t * hs + j] = out_requant(og * tc);
    }
    workgroupBarrier(); // every read of h_{t-1} is done
    for (var j = lid; j < hs; j += WG) {
      hShared[j] = hOut[t * hs + j] - params.hiddenZero; // written by this same invocation above
    }
    workgroupBarrier(); // h_t is complete
  }
}
