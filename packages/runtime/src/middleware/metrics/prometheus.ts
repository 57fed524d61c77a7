import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ExecutorMetrics, RejectionReason } from "../../executor/metrics.js";
import type { ServingState } from "../../health/serving-state.js";
import { codeName, type CallObserver, type RefusedCallInfo } from "../call-observer.js";
import {
  counterSeries,
  gaugeSeries,
  histogramSeries,
  type CounterHandle,
  type GaugeHandle,
  type HistogramHandle,
} from "./fast-series.js";
import type { Code } from "@connectrpc/connect";

/** Options of {@link createPrometheusMetrics}. */
export interface PrometheusOptions {
  /** Where the metrics are registered. Default: a registry of this server's own. */
  registry?: Registry;
  /** Also export prom-client's process and Node.js metrics (`process_*`, `nodejs_*`). Default true. */
  processMetrics?: boolean;
  /**
   * What `GET /metrics` answers, given this server's registry. Default: the registry's own
   * metrics. A worker of `blaze serve --workers N` answers those of every worker, summed by
   * its primary (prom-client's AggregatorRegistry).
   */
  render?: (registry: Registry) => Promise<string>;
}

/** The Prometheus metrics of one server: the registry `/metrics` renders, and the hooks that feed it. */
export interface PrometheusMetrics {
  readonly registry: Registry;
  /** Feeds the execution engine's metrics (queue time, compute time, batch size, queue depth, rejections). */
  readonly executor: ExecutorMetrics;
  /** Feeds the request metrics (count, latency, in flight). */
  readonly calls: CallObserver;
}

/** Latency buckets in seconds: 1 ms to 30 s. */
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Batch-size buckets: powers of two up to 1024. */
const SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/**
 * The server's Prometheus metrics (every name and label is listed in docs/operations.md):
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `blazerpc_requests_total` | counter | service, method, model, protocol, code |
 * | `blazerpc_request_duration_seconds` | histogram | service, method, model, protocol |
 * | `blazerpc_requests_in_flight` | gauge | service, method, model, protocol |
 * | `blazerpc_queue_wait_seconds` | histogram | model |
 * | `blazerpc_compute_seconds` | histogram | model, outcome |
 * | `blazerpc_batch_size` | histogram | model |
 * | `blazerpc_queue_depth` | gauge | model |
 * | `blazerpc_rejections_total` | counter | model, reason |
 * | `blazerpc_lifo_batches_total` | counter | model |
 * | `blazerpc_model_ready` | gauge | model |
 * | `blazerpc_http_requests_total` | counter | method, route, status |
 * | `blazerpc_http_request_duration_seconds` | histogram | method, route |
 *
 * @example
 * const metrics = createPrometheusMetrics(state, {}, (model) => executor.queueDepth(model));
 * const executor = createExecutor(app, { metrics: metrics.executor });
 * await metrics.registry.metrics(); // the text /metrics answers
 */
export function createPrometheusMetrics(
  state: ServingState,
  options: PrometheusOptions = {},
  queueDepthOf: (model: string) => number = () => 0,
): PrometheusMetrics {
  const { registry = new Registry(), processMetrics = true } = options;
  if (processMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const callLabels = ["service", "method", "model", "protocol"] as const;
  const requests = new Counter({
    name: "blazerpc_requests_total",
    help: "RPCs answered, by service, method, model, protocol (grpc, grpc-web, connect) and status code.",
    labelNames: [...callLabels, "code"],
    registers,
  });
  const duration = new Histogram({
    name: "blazerpc_request_duration_seconds",
    help: "Time from an RPC's headers to its last byte written.",
    labelNames: callLabels,
    buckets: SECONDS,
    registers,
  });
  const inFlight = new Gauge({
    name: "blazerpc_requests_in_flight",
    help: "RPCs being answered now.",
    labelNames: callLabels,
    registers,
  });
  const httpRequests = new Counter({
    name: "blazerpc_http_requests_total",
    help: "Requests to the app's HTTP routes (app.route), by method, route and HTTP status.",
    labelNames: ["method", "route", "status"],
    registers,
  });
  const httpDuration = new Histogram({
    name: "blazerpc_http_request_duration_seconds",
    help: "Time from a route's request to its answer's last byte written.",
    labelNames: ["method", "route"],
    buckets: SECONDS,
    registers,
  });
  const queueWait = new Histogram({
    name: "blazerpc_queue_wait_seconds",
    help: "Time a request waited in its model's batch queue.",
    labelNames: ["model"],
    buckets: SECONDS,
    registers,
  });
  const compute = new Histogram({
    name: "blazerpc_compute_seconds",
    help: "Time of one model call (one batch, or one unbatched request); outcome ok or error.",
    labelNames: ["model", "outcome"],
    buckets: SECONDS,
    registers,
  });
  const batchSize = new Histogram({
    name: "blazerpc_batch_size",
    help: "Rows (tensor batching) or requests (list batching) per model call; 1 for unbatched models.",
    labelNames: ["model"],
    buckets: SIZES,
    registers,
  });
  // Read at scrape time: requests also leave the queue by deadline or cancellation.
  new Gauge({
    name: "blazerpc_queue_depth",
    help: "Requests waiting in a model's batch queue.",
    labelNames: ["model"],
    registers,
    collect() {
      for (const model of Object.keys(state.models())) this.set({ model }, queueDepthOf(model));
    },
  });
  const rejections = new Counter({
    name: "blazerpc_rejections_total",
    help: "Requests dropped before compute, by reason: queue_full, deadline, cancelled, shutdown.",
    labelNames: ["model", "reason"],
    registers,
  });
  const lifoBatches = new Counter({
    name: "blazerpc_lifo_batches_total",
    help: "Batches formed newest first because the model's queue was stale (adaptive LIFO, staleQueueMs).",
    labelNames: ["model"],
    registers,
  });
  new Gauge({
    name: "blazerpc_model_ready",
    help: "1 when the model serves (loaded, server not shutting down), else 0.",
    labelNames: ["model"],
    registers,
    collect() {
      for (const [model, status] of Object.entries(state.models())) this.set({ model }, status === "SERVING" ? 1 : 0);
    },
  });
  // Every model has its series from the start, so rates and absences are meaningful.
  for (const model of Object.keys(state.models())) {
    for (const reason of ["queue_full", "deadline", "cancelled", "shutdown"]) rejections.inc({ model, reason }, 0);
  }

  // Each model's labelled series, looked up once rather than hashed per request.
  const models = new Map<
    string,
    {
      queueWait: HistogramHandle;
      computeOk: HistogramHandle;
      computeError: HistogramHandle;
      batchSize: HistogramHandle;
      rejected: Map<RejectionReason, CounterHandle>;
      lifo: CounterHandle;
    }
  >();
  const perModel = (model: string) => {
    let m = models.get(model);
    if (m === undefined) {
      m = {
        queueWait: histogramSeries(queueWait, { model }),
        computeOk: histogramSeries(compute, { model, outcome: "ok" }),
        computeError: histogramSeries(compute, { model, outcome: "error" }),
        batchSize: histogramSeries(batchSize, { model }),
        rejected: new Map(),
        lifo: counterSeries(lifoBatches, { model }),
      };
      models.set(model, m);
    }
    return m;
  };
  type CallSeries = { inFlight: GaugeHandle; duration: HistogramHandle; requests: (code: Code) => CounterHandle };
  const series = new Map<string, Map<string, CallSeries>>();
  /** The labelled series of a method and protocol, looked up once, not hashed per call. */
  const seriesOf = (call: RefusedCallInfo): CallSeries => {
    const key = `${call.service}/${call.method}`;
    let byProtocol = series.get(key);
    if (byProtocol === undefined) series.set(key, (byProtocol = new Map()));
    let s = byProtocol.get(call.protocol);
    if (s === undefined) {
      const labels = { service: call.service, method: call.method, model: call.model, protocol: call.protocol };
      const codes = new Map<Code, CounterHandle>();
      s = {
        inFlight: gaugeSeries(inFlight, labels),
        duration: histogramSeries(duration, labels),
        requests: (code) => {
          let c = codes.get(code);
          if (c === undefined) codes.set(code, (c = counterSeries(requests, { ...labels, code: codeName(code) })));
          return c;
        },
      };
      byProtocol.set(call.protocol, s);
    }
    return s;
  };
  return {
    registry,
    executor: {
      dequeued(model, waitMs) {
        perModel(model).queueWait.observe(waitMs / 1000);
      },
      computed(model, size, computeMs, ok) {
        const m = perModel(model);
        (ok ? m.computeOk : m.computeError).observe(computeMs / 1000);
        m.batchSize.observe(size);
      },
      lifo(model) {
        perModel(model).lifo.inc();
      },
      rejected(model, reason) {
        const { rejected } = perModel(model);
        let c = rejected.get(reason);
        if (c === undefined) rejected.set(reason, (c = counterSeries(rejections, { model, reason })));
        c.inc();
      },
    },
    calls: {
      start(call) {
        const { inFlight: gauge, duration: histogram, requests: counter } = seriesOf(call);
        gauge.inc();
        return (outcome) => {
          gauge.dec();
          counter(outcome.code).inc();
          histogram.observe(outcome.durationMs / 1000);
        };
      },
      refused(call, outcome) {
        const { duration: histogram, requests: counter } = seriesOf(call);
        counter(outcome.code).inc();
        histogram.observe(outcome.durationMs / 1000);
      },
      route(request) {
        return (outcome) => {
          httpRequests.inc({ method: request.method, route: request.route, status: String(outcome.status) });
          httpDuration.observe({ method: request.method, route: request.route }, outcome.durationMs / 1000);
        };
      },
    },
  };
}
