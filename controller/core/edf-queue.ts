/**
 * Earliest-deadline-first queue (binary min-heap on deadline, FIFO among equal deadlines), Sponge's
 * request reordering. Parallel arrays, no per-push allocation beyond array growth: the simulator
 * pushes millions of items. O(log n) push/pop, O(1) peek.
 */
export class EdfQueue<T> {
  private items: T[] = [];
  private keys: number[] = [];
  private seqs: number[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  push(item: T, deadlineMs: number): void {
    const i = this.items.length;
    this.items.push(item);
    this.keys.push(deadlineMs);
    this.seqs.push(this.seq++);
    this.up(i);
  }

  peek(): T | undefined {
    return this.items[0];
  }

  peekDeadline(): number | undefined {
    return this.keys[0];
  }

  pop(): T | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const top = this.items[0];
    const lastItem = this.items.pop() as T;
    const lastKey = this.keys.pop() as number;
    const lastSeq = this.seqs.pop() as number;
    if (n > 1) {
      this.items[0] = lastItem;
      this.keys[0] = lastKey;
      this.seqs[0] = lastSeq;
      this.down(0);
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
    this.keys.length = 0;
    this.seqs.length = 0;
  }

  /** Items in no particular order (for draining/inspection). */
  toArray(): T[] {
    return [...this.items];
  }

  private less(a: number, b: number): boolean {
    const ka = this.keys[a]!;
    const kb = this.keys[b]!;
    return ka < kb || (ka === kb && this.seqs[a]! < this.seqs[b]!);
  }

  private swap(a: number, b: number): void {
    const it = this.items[a]!;
    this.items[a] = this.items[b]!;
    this.items[b] = it;
    const k = this.keys[a]!;
    this.keys[a] = this.keys[b]!;
    this.keys[b] = k;
    const s = this.seqs[a]!;
    this.seqs[a] = this.seqs[b]!;
    this.seqs[b] = s;
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
}
