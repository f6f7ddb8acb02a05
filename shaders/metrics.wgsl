// metrics.wgsl: the GPU half of src/metrics/metrics.ts. Reads the reference
// X (`refValues`) and the quantized output X' (`approxValues`), flat f32
// arrays seen as [outer, channels, inner] (C order; element (o, c, r) at
// (o * channels + c) * inner + r), and writes small partial results only.
//
// e = abs(x - x'): one correctly rounded f32 subtraction, as the CPU's
// Math.abs(Math.fround(x - x')). Bit-identical unless a GPU flushes a
// subnormal x, x' or difference to zero (documented in the host module).
//
// Entry `reduce`: workgroup w (2-D grid, w = wid.x + wid.y * groupsX) handles
//   segment s = w % segments of channel c = w / segments: channel elements
//   k in [s * segLen, min((s + 1) * segLen, perChannel)), k = o * inner + r.
//   Phase 1 (max-based, exact): max e with the lowest flat index (ties), min
//   and max of X, and the largest |X| and |X'| as bit patterns (u32 max of
//   bits & 0x7fffffff: exact, and NaN / inf show up as bits >= 0x7f800000).
//   Phase 2 (sums, f32): every term is first multiplied by the power of two
//   f = 2^(127 - clamp(E, 1, 253)), E the exponent field of the segment's largest
//   |X| or |X'|, so scaled values are below 2 in magnitude: no f32 overflow
//   or underflow of the squares whatever the data's units. The host divides
//   by f (sum of e, clipped e) or f^2 (squares, products) in f64.
//   Each thread sums at most segLen / WG terms in index order, then a tree
//   over WG lanes: every term goes through at most segLen / WG + log2(WG)
//   f32 additions (the tolerance in src/gpu/kernels/metrics.ts).
//   Clipping: X < rangeLo[c] or X > rangeHi[c], with the host's bounds
//   rounded inward to f32 so that the comparison equals the exact one.
//   Output: partials[w], a 16-word Partial.
// Entries `histogram` and `selectRank`: exact radix select of the k-th smallest
//   e (rank k = params.rank) over all `count` elements, on the bit patterns
//   of e (non-negative f32 order = u32 order) in three rounds of bits
//   [30:20], [19:9], [8:0]. Round r: `histogram` counts, in hist[bin], the
//   elements whose bits >> hiShift equal the prefix found so far (round 1:
//   all), bin = (bits >> loShift) & binMask; `selectRank` (one invocation) finds
//   the bin holding the remaining rank, appends it to the prefix and
//   subtracts the counts below it. After round 3 selectState[0] holds the
//   bits of the k-th smallest e. hist must be zeroed before each round.
// CPU reference: computeMetrics in src/metrics/metrics.ts; tested in
// test/metrics.gpu.test.ts (max-based metrics and the percentile exact).

override WG: u32 = 64u;

const ABS_MASK: u32 = 0x7fffffffu;
const F32_MAX: f32 = 3.40282346638528859812e38;

struct Params {
  count: u32,       // elements in the tensor
  channels: u32,
  inner: u32,
  perChannel: u32,  // outer * inner
  segLen: u32,      // reduce: channel elements per workgroup
  segments: u32,    // reduce: workgroups per channel
  groupsX: u32,     // workgroups along x of the 2-D grid
  hasRange: u32,    // reduce: 1 when rangeLo / rangeHi hold per-channel ranges
  blockLen: u32,    // histogram: elements per workgroup
  firstRound: u32,  // histogram / select: 1 in round 1 (prefix 0, rank from params)
  rank: u32,        // select: the target rank k (round 1)
  hiShift: u32,
  loShift: u32,
  binMask: u32,
  bins: u32,
}

struct Partial {
  maxErr: f32,
  argmax: u32,
  refAtMax: f32,
  approxAtMax: f32,
  minRef: f32,
  maxRef: f32,
  refAbsBits: u32,
  approxAbsBits: u32,
  sumAbsErr: f32,
  sumSqErr: f32,
  sumSqRef: f32,
  sumSqApprox: f32,
  sumRefApprox: f32,
  clipAbsErr: f32,
  clipCount: u32,
  count: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> refValues: array<f32>;
@group(0) @binding(2) var<storage, read> approxValues: array<f32>;
@group(0) @binding(3) var<storage, read> rangeLo: array<f32>;
@group(0) @binding(4) var<storage, read> rangeHi: array<f32>;
@group(0) @binding(5) var<storage, read_write> partials: array<Partial>;
@group(0) @binding(6) var<storage, read_write> hist: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read> histIn: array<u32>;
@group(0) @binding(8) var<storage, read> selectIn: array<u32>;
@group(0) @binding(9) var<storage, read_write> selectState: array<u32>;

var<workgroup> wA: array<f32, WG>;
var<workgroup> wB: array<f32, WG>;
var<workgroup> wC: array<f32, WG>;
var<workgroup> wD: array<f32, WG>;
var<workgroup> wE: array<f32, WG>;
var<workgroup> wF: array<f32, WG>;
var<workgroup> wU: array<u32, WG>;
var<workgroup> wV: array<u32, WG>;
var<workgroup> wW: array<u32, WG>;

// Flat index of element k of channel c. Integer division is slow on some
// GPUs (and on SwiftShader), so the two common layouts skip it: outer = 1
// (NCHW, batch 1) and inner = 1 (LSTM output [T, H]).
fn flatIndex(c: u32, k: u32) -> u32 {
  if (params.perChannel == params.inner) {
    return c * params.inner + k;
  }
  if (params.inner == 1u) {
    return k * params.channels + c;
  }
  return ((k / params.inner) * params.channels + c) * params.inner + k % params.inner;
}

@compute @workgroup_size(WG)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.groupsX;
  if (w >= params.channels * params.segments) {
    return;
  }
  let c = w / params.segments;
  let start = (w % params.segments) * params.segLen;
  let end = min(start + params.segLen, params.perChannel);

  // Phase 1: max-based.
  var maxErr = -1.0;
  var argmax = 0xffffffffu;
  var lo = F32_MAX;
  var hi = -F32_MAX;
  var refBits = 0u;
  var approxBits = 0u;
  for (var k = start + lid; k < end; k += WG) {
    let i = flatIndex(c, k);
    let x = refValues[i];
    let y = approxValues[i];
    let e = abs(x - y);
    if (e > maxErr) {  // k ascending within a thread: the first maximum has the lowest index
      maxErr = e;
      argmax = i;
    }
    lo = min(lo, x);
    hi = max(hi, x);
    refBits = max(refBits, bitcast<u32>(x) & ABS_MASK);
    approxBits = max(approxBits, bitcast<u32>(y) & ABS_MASK);
  }
  wA[lid] = maxErr;
  wU[lid] = argmax;
  wB[lid] = lo;
  wC[lid] = hi;
  wV[lid] = refBits;
  wW[lid] = approxBits;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let e2 = wA[lid + s];
      let i2 = wU[lid + s];
      if (e2 > wA[lid] || (e2 == wA[lid] && i2 < wU[lid])) {
        wA[lid] = e2;
        wU[lid] = i2;
      }
      wB[lid] = min(wB[lid], wB[lid + s]);
      wC[lid] = max(wC[lid], wC[lid + s]);
      wV[lid] = max(wV[lid], wV[lid + s]);
      wW[lid] = max(wW[lid], wW[lid + s]);
    }
    workgroupBarrier();
  }
  let segMaxErr = wA[0];
  let segArgmax = wU[0];
  let segLo = wB[0];
  let segHi = wC[0];
  let segRefBits = wV[0];
  let segApproxBits = wW[0];
  workgroupBarrier();

  // Phase 2: sums of power-of-two-scaled terms.
  let expField = max(max(segRefBits, segApproxBits) >> 23u, 1u);
  let f = ldexp(1.0, 127 - i32(min(expField, 253u)));  // in [2^-126, 2^126]: normal
  var sAbs = 0.0;
  var sSqE = 0.0;
  var sSqR = 0.0;
  var sSqA = 0.0;
  var sRA = 0.0;
  var sClip = 0.0;
  var nClip = 0u;
  var rangeLoC = -F32_MAX;
  var rangeHiC = F32_MAX;
  if (params.hasRange == 1u) {
    rangeLoC = rangeLo[c];
    rangeHiC = rangeHi[c];
  }
  for (var k = start + lid; k < end; k += WG) {
    let i = flatIndex(c, k);
    let x = refValues[i];
    let y = approxValues[i];
    let es = abs(x - y) * f;
    let xs = x * f;
    let ys = y * f;
    sAbs += es;
    sSqE += es * es;
    sSqR += xs * xs;
    sSqA += ys * ys;
    sRA += xs * ys;
    if (params.hasRange == 1u && (x < rangeLoC || x > rangeHiC)) {
      sClip += es;
      nClip += 1u;
    }
  }
  wA[lid] = sAbs;
  wB[lid] = sSqE;
  wC[lid] = sSqR;
  wD[lid] = sSqA;
  wE[lid] = sRA;
  wF[lid] = sClip;
  wU[lid] = nClip;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      wA[lid] += wA[lid + s];
      wB[lid] += wB[lid + s];
      wC[lid] += wC[lid + s];
      wD[lid] += wD[lid + s];
      wE[lid] += wE[lid + s];
      wF[lid] += wF[lid + s];
      wU[lid] += wU[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    partials[w] = Partial(
      segMaxErr, segArgmax, refValues[segArgmax], approxValues[segArgmax],
      segLo, segHi, segRefBits, segApproxBits,
      wA[0], wB[0], wC[0], wD[0], wE[0], wF[0], wU[0], end - start,
    );
  }
}

var<workgroup> wHist: array<atomic<u32>, 2048>;

@compute @workgroup_size(WG)
fn histogram(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = wid.x + wid.y * params.groupsX;
  for (var b = lid; b < params.bins; b += WG) {
    atomicStore(&wHist[b], 0u);
  }
  workgroupBarrier();
  var prefix = 0u;
  if (params.firstRound == 0u) {
    prefix = selectIn[0];
  }
  let start = w * params.blockLen;
  let end = min(start + params.blockLen, params.count);
  for (var i = start + lid; i < end; i += WG) {
    let bits = bitcast<u32>(abs(refValues[i] - approxValues[i]));
    if ((bits >> params.hiShift) == prefix) {
      atomicAdd(&wHist[(bits >> params.loShift) & params.binMask], 1u);
    }
  }
  workgroupBarrier();
  for (var b = lid; b < params.bins; b += WG) {
    let n = atomicLoad(&wHist[b]);
    if (n != 0u) {
      atomicAdd(&hist[b], n);
    }
  }
}

@compute @workgroup_size(1)
fn selectRank() {
  var prefix = 0u;
  var rank = params.rank;
  if (params.firstRound == 0u) {
    prefix = selectState[0];
    rank = selectState[1];
  }
  var below = 0u;
  var bin = params.bins - 1u;
  for (var b = 0u; b < params.bins; b++) {
    let n = histIn[b];
    if (rank < below + n) {
      bin = b;
      break;
    }
    below += n;
  }
  selectState[0] = (prefix << (params.hiShift - params.loShift)) | bin;
  selectState[1] = rank - below;
}
