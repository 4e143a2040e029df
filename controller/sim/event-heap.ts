/**
 * Binary min-heap of simulator events keyed by time, stored in parallel typed arrays
 * (time, kind, payload) so pushing and popping allocates nothing. Ties pop in insertion order
 * (a sequence number breaks them) so runs are deterministic.
 */
export class EventHeap {
  private times: Float64Array;
  private seqs: Float64Array;
  private kinds: Int32Array;
  private payloads: Int32Array;
  private n = 0;
  private seq = 0;

  constructor(capacity = 1024) {
    this.times = new Float64Array(capacity);
    this.seqs = new Float64Array(capacity);
    this.kinds = new Int32Array(capacity);
    this.payloads = new Int32Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  /** Time of the earliest event, +Infinity when empty. */
  peekTime(): number {
    return this.n > 0 ? this.times[0]! : Number.POSITIVE_INFINITY;
  }
  peekKind(): number {
    return this.kinds[0]!;
  }
  peekPayload(): number {
    return this.payloads[0]!;
  }

  push(time: number, kind: number, payload: number): void {
    if (this.n === this.times.length) this.grow();
    let i = this.n++;
    const s = this.seq++;
    const t = this.times;
    const q = this.seqs;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = t[p]!;
      if (pt < time || (pt === time && q[p]! < s)) break;
      t[i] = pt;
      q[i] = q[p]!;
      this.kinds[i] = this.kinds[p]!;
      this.payloads[i] = this.payloads[p]!;
      i = p;
    }
    t[i] = time;
    q[i] = s;
    this.kinds[i] = kind;
    this.payloads[i] = payload;
  }

  /** Removes the earliest event (read it first with peek*). */
  pop(): void {
    const n = --this.n;
    if (n <= 0) return;
    const t = this.times;
    const q = this.seqs;
    const time = t[n]!;
    const s = q[n]!;
    const kind = this.kinds[n]!;
    const payload = this.payloads[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && (t[r]! < t[c]! || (t[r] === t[c] && q[r]! < q[c]!))) c = r;
      if (t[c]! > time || (t[c] === time && q[c]! > s)) break;
      t[i] = t[c]!;
      q[i] = q[c]!;
      this.kinds[i] = this.kinds[c]!;
      this.payloads[i] = this.payloads[c]!;
      i = c;
    }
    t[i] = time;
    q[i] = s;
    this.kinds[i] = kind;
    this.payloads[i] = payload;
  }

  private grow(): void {
    const cap = this.times.length * 2;
    const t = new Float64Array(cap);
    t.set(this.times);
    this.times = t;
    const q = new Float64Array(cap);
    q.set(this.seqs);
    this.seqs = q;
    const k = new Int32Array(cap);
    k.set(this.kinds);
    this.kinds = k;
    const p = new Int32Array(cap);
    p.set(this.payloads);
    this.payloads = p;
  }
}
