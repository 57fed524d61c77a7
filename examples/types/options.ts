// Model options declared in another file than the app.model calls: code generation reads
// what it needs (version, streaming, whether batch is set) as long as those are written as
// literals; other values may be computed at run time.
export const searchOptions = { version: "2.1.0" } as const;

export const measureOptions = {
  version: "1.0.0",
  batch: { maxBatchSize: Number(process.env.MEASURE_MAX_BATCH ?? 16), maxDelayMs: 1 },
};
