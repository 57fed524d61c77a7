import type { Counter, Gauge, Histogram } from "prom-client";

// prom-client hashes a series' labels into a string on every observe/inc (and its
// `labels()` children do the same): with four or five updates per RPC that was a quarter
// of the server's CPU time under load. These handles find a series' entry once and
// update it in place, exactly as prom-client's own observe/inc do (sum, count and the
// first bucket whose bound is ≥ the value; `value` for counters and gauges). prom-client
// is pinned; should its internals ever differ, each handle falls back to the public API,
// and test/e2e/metrics.spec.ts checks the exported values either way.

interface Internals {
  hashMap: Record<
    string,
    {
      labels: Record<string, string>;
      value?: number;
      sum?: number;
      count?: number;
      bucketValues?: Record<string, number>;
    }
  >;
  upperBounds?: number[];
}

/** The key of the series with exactly `labels` in a metric's hash map, if there is one. */
function keyOf(metric: unknown, labels: Record<string, string>): string | undefined {
  const map = (metric as Partial<Internals>).hashMap;
  if (map === undefined || typeof map !== "object") return undefined;
  const names = Object.keys(labels);
  for (const [key, entry] of Object.entries(map)) {
    const l = entry.labels;
    if (l !== undefined && Object.keys(l).length === names.length && names.every((n) => l[n] === labels[n])) return key;
  }
  return undefined;
}

export interface HistogramHandle {
  observe(value: number): void;
}

export function histogramSeries(h: Histogram<string>, labels: Record<string, string>): HistogramHandle {
  h.zero(labels);
  const key = keyOf(h, labels);
  const internals = h as unknown as Internals;
  const bounds = internals.upperBounds;
  if (key === undefined || !Array.isArray(bounds)) return { observe: (v) => h.observe(labels, v) };
  return {
    observe(value) {
      const e = internals.hashMap[key];
      if (e === undefined || e.bucketValues === undefined || !Number.isFinite(value)) return h.observe(labels, value);
      e.sum! += value;
      e.count! += 1;
      for (let i = 0; i < bounds.length; i++) {
        const b = bounds[i]!;
        if (value <= b) {
          e.bucketValues[b]! += 1;
          return;
        }
      }
    },
  };
}

export interface CounterHandle {
  inc(): void;
}

export function counterSeries(c: Counter<string>, labels: Record<string, string>): CounterHandle {
  c.inc(labels, 0);
  const key = keyOf(c, labels);
  const internals = c as unknown as Internals;
  if (key === undefined) return { inc: () => c.inc(labels) };
  return {
    inc() {
      const e = internals.hashMap[key];
      if (e === undefined || typeof e.value !== "number") return c.inc(labels);
      e.value += 1;
    },
  };
}

export interface GaugeHandle {
  inc(): void;
  dec(): void;
}

export function gaugeSeries(g: Gauge<string>, labels: Record<string, string>): GaugeHandle {
  g.inc(labels, 0);
  const key = keyOf(g, labels);
  const internals = g as unknown as Internals;
  const add = (d: number) => {
    const e = key === undefined ? undefined : internals.hashMap[key];
    if (e === undefined || typeof e.value !== "number") return g.inc(labels, d);
    e.value += d;
  };
  return { inc: () => add(1), dec: () => add(-1) };
}
