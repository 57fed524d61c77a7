// A strict parser of Prometheus' text exposition format (version 0.0.4), for tests: it
// throws on anything a Prometheus server would refuse or that breaks the format's rules
// (a sample with no TYPE, a bad label, a duplicate series, histogram buckets that are not
// cumulative or do not end in +Inf equal to _count), and returns each family's series.

export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  /** Every sample line, with the name it had (`x_bucket`, `x_sum`, … for histograms). */
  readonly samples: readonly (Series & { readonly name: string })[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A sample value as Prometheus reads it (Go's strconv.ParseFloat): a decimal number, or
 * Inf / NaN in any case — prom-client writes a gauge that has no value yet (the event loop
 * lag's mean before its first sample) as `Nan`.
 */
function parseValue(text: string, line: number): number {
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new Error(`line ${line}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

/** Parses `{a="x",b="y\"z"}` starting at `i` (the `{`); returns the labels and the index after `}`. */
function parseLabels(s: string, i: number, line: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  i++;
  for (;;) {
    if (s[i] === "}") return [labels, i + 1];
    const eq = s.indexOf("=", i);
    if (eq < 0) throw new Error(`line ${line}: bad labels`);
    const name = s.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`line ${line}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`);
    if (s[eq + 1] !== '"') throw new Error(`line ${line}: label value not quoted`);
    let j = eq + 2;
    let value = "";
    for (; ; j++) {
      const ch = s[j];
      if (ch === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (ch === '"') break;
      if (ch === "\\") {
        const next = s[++j];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`line ${line}: bad escape \\${next}`);
      } else value += ch;
    }
    labels[name] = value;
    i = j + 1;
    if (s[i] === ",") i++;
    else if (s[i] !== "}") throw new Error(`line ${line}: expected , or } in labels`);
  }
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<
    string,
    { name: string; help: string; type: Family["type"]; samples: (Series & { name: string })[] }
  >();
  const seen = new Set<string>();
  const familyOf = (sample: string) => {
    const direct = families.get(sample);
    if (direct !== undefined) return direct;
    for (const suffix of ["_bucket", "_sum", "_count"]) {
      const f = sample.endsWith(suffix) ? families.get(sample.slice(0, -suffix.length)) : undefined;
      if (f !== undefined && (f.type === "histogram" || (f.type === "summary" && suffix !== "_bucket"))) return f;
    }
    return undefined;
  };
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    if (raw === "") return;
    if (raw.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (m === null) return; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`line ${line}: bad metric name ${name}`);
      let f = families.get(name);
      if (f === undefined) families.set(name, (f = { name, help: "", type: "untyped", samples: [] }));
      if (kind === "HELP") f.help = rest;
      else {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest))
          throw new Error(`line ${line}: bad type ${rest}`);
        if (f.samples.length > 0) throw new Error(`line ${line}: TYPE after samples of ${name}`);
        f.type = rest as Family["type"];
      }
      return;
    }
    const nameEnd = raw.search(/[{ ]/);
    const name = raw.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`line ${line}: bad sample name ${JSON.stringify(name)}`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (raw[i] === "{") [labels, i] = parseLabels(raw, i, line);
    const parts = raw.slice(i).trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2) throw new Error(`line ${line}: expected a value (and a timestamp)`);
    const value = parseValue(parts[0]!, line);
    const family = familyOf(name);
    if (family === undefined) throw new Error(`line ${line}: sample ${name} has no # TYPE`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`line ${line}: duplicate series ${key}`);
    seen.add(key);
    if (family.type === "counter" && !(value >= 0)) throw new Error(`line ${line}: counter ${name} is ${value}`);
    family.samples.push({ name, labels, value });
  });
  // Histograms: per series, cumulative buckets ending in +Inf, equal to _count.
  for (const f of families.values()) {
    if (f.type !== "histogram") continue;
    const groups = new Map<string, { buckets: [number, number][]; count?: number }>();
    for (const s of f.samples) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { buckets: [] }));
      if (s.name.endsWith("_bucket")) {
        if (le === undefined) throw new Error(`${s.name}: a bucket without le`);
        g.buckets.push([parseValue(le, 0), s.value]);
      } else if (s.name.endsWith("_count")) g.count = s.value;
    }
    for (const [key, g] of groups) {
      const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
      if (sorted.at(-1)?.[0] !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
      sorted.forEach(([, v], i) => {
        if (i > 0 && v < sorted[i - 1]![1]) throw new Error(`${f.name}${key}: buckets are not cumulative`);
      });
      if (g.count !== sorted.at(-1)![1])
        throw new Error(`${f.name}${key}: _count ${g.count} ≠ +Inf bucket ${sorted.at(-1)![1]}`);
    }
  }
  return families;
}

/** A histogram series: its buckets by upper bound, its count and sum. */
export function histogram(
  f: Family,
  labels: Record<string, string>,
): { buckets: Map<number, number>; count: number; sum: number } | undefined {
  const match = (s: Series) => Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  const mine = f.samples.filter(match);
  if (mine.length === 0) return undefined;
  const buckets = new Map(
    mine.filter((s) => s.name.endsWith("_bucket")).map((s) => [parseValue(s.labels.le!, 0), s.value]),
  );
  return {
    buckets,
    count: mine.find((s) => s.name.endsWith("_count"))!.value,
    sum: mine.find((s) => s.name.endsWith("_sum"))!.value,
  };
}
