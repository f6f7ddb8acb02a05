/**
 * Buffer pool: buffers are keyed by usage and byte size (rounded up to 256
 * bytes) and reused. A buffer goes back to the free list only after the
 * submission that used it (the caller's job: `GpuContext.submit` releases its
 * temporaries once the queue has taken the work). Counters feed the leak
 * tests and the soak benchmark.
 */
export interface PoolStats {
  /** Buffers created since the pool was made. */
  created: number;
  /** Buffers handed out and not yet released. */
  inUse: number;
  /** Buffers waiting in the free lists. */
  free: number;
  /** Bytes of all live buffers (in use + free). */
  liveBytes: number;
}

const SIZE_ALIGN_BYTES = 256;

export class BufferPool {
  private readonly freeLists = new Map<string, GPUBuffer[]>();
  private readonly owned = new Map<GPUBuffer, string>();
  private readonly busy = new Set<GPUBuffer>();
  private created = 0;
  private liveBytes = 0;

  constructor(private readonly device: GPUDevice) {}

  static roundSize(byteSize: number): number {
    return Math.max(SIZE_ALIGN_BYTES, Math.ceil(byteSize / SIZE_ALIGN_BYTES) * SIZE_ALIGN_BYTES);
  }

  acquire(byteSize: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const size = BufferPool.roundSize(byteSize);
    const key = `${usage}:${size}`;
    const list = this.freeLists.get(key);
    let buf = list?.pop();
    if (!buf) {
      buf = this.device.createBuffer({ size, usage, label });
      this.owned.set(buf, key);
      this.created++;
      this.liveBytes += size;
    } else {
      buf.label = label;
    }
    this.busy.add(buf);
    return buf;
  }

  release(buf: GPUBuffer): void {
    const key = this.owned.get(buf);
    if (key === undefined || !this.busy.delete(buf)) return; // not ours, or already released: idempotent
    let list = this.freeLists.get(key);
    if (!list) this.freeLists.set(key, (list = []));
    list.push(buf);
  }

  stats(): PoolStats {
    let free = 0;
    for (const l of this.freeLists.values()) free += l.length;
    return { created: this.created, inUse: this.busy.size, free, liveBytes: this.liveBytes };
  }

  /** Destroy every buffer, busy or free. Idempotent. */
  destroyAll(): void {
    for (const buf of this.owned.keys()) buf.destroy();
    this.owned.clear();
    this.busy.clear();
    this.freeLists.clear();
    this.liveBytes = 0;
  }
}
