// A small deterministic PRNG for the fuzzer. Each case draws from its own generator, seeded
// from (run seed, case index), so one case can be replayed alone without generating the
// cases before it.

/** splitmix32's finalizer: spreads every input bit over the whole word. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The seed of case `index` in a run seeded with `seed`. */
export function caseSeed(seed: number, index: number): number {
  return mix32(mix32(seed >>> 0) ^ Math.imul(index + 1, 0x27d4eb2f));
}

/**
 * mulberry32 with helpers for the shapes fuzz input takes: sizes that are mostly small and
 * sometimes large, picks from lists, weighted choices, bytes.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[this.int(0, items.length - 1)]!;
  }

  /** One of `entries`, each drawn in proportion to its weight. */
  weighted<T>(entries: readonly (readonly [number, T])[]): T {
    const total = entries.reduce((s, [w]) => s + w, 0);
    let r = this.float() * total;
    for (const [w, v] of entries) {
      r -= w;
      if (r < 0) return v;
    }
    return entries[entries.length - 1]![1];
  }

  /** A size in [0, max], log-uniform-ish: mostly small, sometimes near `max`. */
  size(max: number): number {
    if (max <= 0) return 0;
    const bits = Math.log2(max + 1);
    return Math.min(max, Math.floor(2 ** (this.float() * bits)) - (this.chance(0.5) ? 1 : 0));
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      const w = this.u32();
      b[i] = w & 0xff;
      if (i + 1 < n) b[i + 1] = (w >>> 8) & 0xff;
      if (i + 2 < n) b[i + 2] = (w >>> 16) & 0xff;
      if (i + 3 < n) b[i + 3] = w >>> 24;
    }
    return b;
  }

  /** A string of `n` characters drawn from `alphabet`. */
  stringOf(alphabet: string, n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }

  /** Random text: ASCII, Latin-1, multi-byte and astral characters, controls and lone surrogates. */
  text(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) {
      const kind = this.int(0, 9);
      if (kind < 5) s += String.fromCharCode(this.int(0x20, 0x7e));
      else if (kind === 5) s += String.fromCharCode(this.int(0, 0x1f));
      else if (kind === 6) s += String.fromCharCode(this.int(0x80, 0x7ff));
      else if (kind === 7) s += String.fromCodePoint(this.int(0x800, 0xd7ff));
      else if (kind === 8) s += String.fromCodePoint(this.int(0x10000, 0x10ffff));
      else s += String.fromCharCode(this.int(0xd800, 0xdfff)); // a lone surrogate
    }
    return s;
  }
}

/** Parses a seed given as decimal or `0x` hex; undefined when absent. */
export function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const n = Number(text.trim());
  if (!Number.isFinite(n))
    throw new Error(`BLAZE_FUZZ_SEED must be a number (decimal or 0x hex), got ${JSON.stringify(text)}`);
  return n >>> 0;
}
