// lstm.wgsl: fp32 one-layer LSTM, batch 1, PyTorch layout and gate order (i, f, g, o).
//
// Three entry points, dispatched in this order by src/gpu/kernels/lstm.ts:
//
// `pack` (twice): packedOut[k * H + j] = (W[j, k], W[H + j, k], W[2H + j, k], W[3H + j, k])
//   for W = weight_ih (k < I) and W = weight_hh (k < H): unit j's four gate
//   rows for column k as one vec4, so that adjacent invocations (adjacent j)
//   read adjacent memory. Workgroup (PTILE, PTILE); dispatch
//   (ceil(H / PTILE), ceil(packCols / PTILE)).
// `project`: proj[t * H + j] = sum_k x[t, k] * packedIh[k * H + j] + b_ih + b_hh
//   (the four gates as one vec4): the input projection of every step at once,
//   a [T, I] x [I, 4H] matmul. Each invocation computes T_PER_THREAD steps of
//   one unit, reusing every weight load T_PER_THREAD times; no workgroup
//   barriers (they are expensive on software adapters and the weights are
//   read from cache anyway). Workgroup (PROJ_WG); dispatch
//   (ceil(H / PROJ_WG), ceil(T / T_PER_THREAD)).
// `recur`: the recurrence for steps [t0, t0 + tCount), in ONE workgroup of WG
//   invocations; invocation l owns units j = l, l + WG, ... and loops over t
//   internally: a = proj[t, j] + sum_k packedHh[k, j] * h[k];
//   i, f, o = sigmoid(a.xyw), g = tanh(a.z); c = f c + i g; h = o tanh(c);
//   output[t, j] = h. h_{t-1} lives in workgroup memory (hShared) and two
//   workgroupBarrier()s separate the steps (all reads of h_{t-1} finish
//   before any h_t is written). c lives in `cState`, each element touched only
//   by its owner. Steps t0 > 0 resume from output[t0 - 1] and cState, so the
//   host may split a long sequence over several dispatches. Dispatch (1).
//
// Layouts: input [T, I], packSrc = weight_ih [4H, I] or weight_hh [4H, H],
// biasIh / biasHh [4H] (zeros when absent), h0 [H], cState [H] (c0 on entry,
// c_T on exit), output [T, H], all f32 row-major; packedOut / packedIh /
// packedHh [cols, H] and projOut / proj [T, H] of vec4 (gates i, f, g, o).
// Summation order differs from the reference (projection first, the
// recurrent dot unrolled by 4); the tolerance allows any order.
// Reference: src/cpu/lstm.ts (f64 throughout); tolerances lstmStepTolerance /
// lstmSequenceTolerance in test/tolerance.ts. No rounding beyond f32 arithmetic.
//
// Activations: exp overflows f32 for arguments above ~88.7, so the textbook
// 1 / (1 + exp(-x)) and (exp(2x) - 1) / (exp(2x) + 1) give 0 * inf or
// inf / inf = NaN for large |x|, and built-in tanh has returned NaN for large
// |x| on some implementations that expand it that way. Here exp only ever sees -|x| or
// -2|x| (results in (0, 1], no overflow, underflow to 0 is harmless):
//   sigmoid(x) = 1 / (1 + e) for x >= 0, e / (1 + e) for x < 0, e = exp(-|x|)
//   tanh(x)    = sign(x) (1 - e) / (1 + e),                      e = exp(-2|x|)
// With WGSL's accuracy (exp: 3 + 2|x| ULP, division: 2.5 ULP) these are
// within 12u (sigmoid) and 19u (tanh) of the exact value, u = 2^-24 (see
// test/tolerance.ts).

const PTILE: u32 = 16u;
override PROJ_WG: u32 = 64u;
const T_PER_THREAD: u32 = 4u;
override WG: u32 = 256u;
override H_CAP: u32 = 256u;

struct Params {
  steps: u32,
  inputSize: u32,
  hiddenSize: u32,
  packCols: u32, // columns of the matrix `pack` reads (I or H)
  t0: u32,       // first step of this `recur` dispatch
  tCount: u32,   // steps in this `recur` dispatch
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> packSrc: array<f32>;
@group(0) @binding(3) var<storage, read> biasIh: array<f32>;
@group(0) @binding(4) var<storage, read> biasHh: array<f32>;
@group(0) @binding(5) var<storage, read> h0: array<f32>;
// `packedOut` is written by `pack` and read back as packedIh / packedHh;
// `projOut` is written by `project` and read back as `proj`.
@group(0) @binding(6) var<storage, read_write> packedOut: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> packedIh: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> packedHh: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> projOut: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read> proj: array<vec4<f32>>;
@group(0) @binding(11) var<storage, read_write> cState: array<f32>;
@group(0) @binding(12) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(PTILE, PTILE, 1)
fn pack(@builtin(global_invocation_id) gid: vec3<u32>) {
  let hs = params.hiddenSize;
  let cols = params.packCols;
  let j = gid.x;
  let k = gid.y;
  if (j >= hs || k >= cols) { return; }
  let gateRows = hs * cols; // elements between the same row of consecutive gates
  let at = j * cols + k;
  packedOut[k * hs + j] = vec4<f32>(packSrc[at], packSrc[at + gateRows], packSrc[at + 2u * gateRows], packSrc[at + 3u * gateRows]);
}

@compute @workgroup_size(PROJ_WG, 1, 1)
fn project(@builtin(global_invocation_id) gid: vec3<u32>) {
  let hs = params.hiddenSize;
  let isz = params.inputSize;
  let j = gid.x;
  let tBase = gid.y * T_PER_THREAD;
  if (j >= hs) { return; }
  // Rows past the last step repeat the last step's input; their results are not stored.
  let last = params.steps - 1u;
  let row0 = min(tBase, last) * isz;
  let row1 = min(tBase + 1u, last) * isz;
  let row2 = min(tBase + 2u, last) * isz;
  let row3 = min(tBase + 3u, last) * isz;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < isz; k++) {
    let w = packedIh[k * hs + j];
    acc0 += input[row0 + k] * w;
    acc1 += input[row1 + k] * w;
    acc2 += input[row2 + k] * w;
    acc3 += input[row3 + k] * w;
  }
  let acc = array<vec4<f32>, T_PER_THREAD>(acc0, acc1, acc2, acc3);
  let b = vec4<f32>(biasIh[j], biasIh[hs + j], biasIh[2u * hs + j], biasIh[3u * hs + j]) +
          vec4<f32>(biasHh[j], biasHh[hs + j], biasHh[2u * hs + j], biasHh[3u * hs + j]);
  for (var r = 0u; r < T_PER_THREAD; r++) {
    let t = tBase + r;
    if (t < params.steps) {
      projOut[t * hs + j] = acc[r] + b;
    }
  }
}

fn sigmoidSafe(x: f32) -> f32 {
  let e = exp(-abs(x));
  let d = 1.0 + e;
  return select(e / d, 1.0 / d, x >= 0.0);
}

fn tanhSafe(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let t = (1.0 - e) / (1.0 + e);
  return select(-t, t, x >= 0.0);
}

var<workgroup> hShared: array<f32, H_CAP>;

@compute @workgroup_size(WG, 1, 1)
fn recur(@builtin(local_invocation_index) lid: u32) {
  let hs = params.hiddenSize;
  let t0 = params.t0;
  for (var j = lid; j < hs; j += WG) {
    if (t0 == 0u) {
      hShared[j] = h0[j];
    } else {
      hShared[j] = output[(t0 - 1u) * hs + j];
    }
  }
  workgroupBarrier();
  let tEnd = t0 + params.tCount;
  for (var t = t0; t < tEnd; t++) {
    for (var j = lid; j < hs; j += WG) {
      var a = proj[t * hs + j];
      let k4 = hs & ~3u;
      for (var k = 0u; k < k4; k += 4u) {
        a += packedHh[k * hs + j] * hShared[k] + packedHh[(k + 1u) * hs + j] * hShared[k + 1u] +
             packedHh[(k + 2u) * hs + j] * hShared[k + 2u] + packedHh[(k + 3u) * hs + j] * hShared[k + 3u];
      }
      for (var k = k4; k < hs; k++) {
        a += packedHh[k * hs + j] * hShared[k];
      }
      let c = sigmoidSafe(a.y) * cState[j] + sigmoidSafe(a.x) * tanhSafe(a.z);
      cState[j] = c;
      output[t * hs + j] = sigmoidSafe(a.w) * tanhSafe(c);
    }
    workgroupBarrier(); // every read of h_{t-1} is done
    for (var j = lid; j < hs; j += WG) {
      hShared[j] = output[t * hs + j]; // written by this same invocation above
    }
    workgroupBarrier(); // h_t is complete
  }
}
