import { Code, ConnectError } from "@connectrpc/connect";
import { createApp } from "../../app.js";
import { createServingState } from "../../health/serving-state.js";
import type { CallInfo } from "../call-observer.js";
import { createPrometheusMetrics } from "./prometheus.js";

describe("createPrometheusMetrics", () => {
  const app = createApp({ name: "demo" });
  app.model("m", async () => 1);
  app.loader("m", () => new Promise(() => undefined)); // never loads

  it("turns executor hooks and call outcomes into metrics, in a registry of its own", async () => {
    const state = createServingState(app, new Map());
    let depth = 3;
    const a = createPrometheusMetrics(state, { processMetrics: false }, () => depth);
    const b = createPrometheusMetrics(state, { processMetrics: false });
    expect(a.registry).not.toBe(b.registry);

    a.executor.dequeued?.("m", 12, 2);
    a.executor.computed?.("m", 8, 40, true);
    a.executor.computed?.("m", 1, 5, false);
    a.executor.rejected?.("m", "queue_full");
    const call = { service: "demo.v1.Svc", method: "PredictM", model: "m", protocol: "grpc" } as CallInfo;
    const end = a.calls.start(call)!;
    const inFlight = await a.registry.getSingleMetric("blazerpc_requests_in_flight")!.get();
    expect(inFlight.values.map((v) => v.value)).toEqual([1]);
    end({ code: Code.InvalidArgument, error: new ConnectError("bad", Code.InvalidArgument), durationMs: 7 });
    void state.load();
    state.drain();
    depth = 0;

    const json = Object.fromEntries(
      (await a.registry.getMetricsAsJSON()).map((m) => [
        m.name,
        m.values.map((v) => ({
          labels: v.labels,
          value: v.value,
          metricName: (v as { metricName?: string }).metricName,
        })),
      ]),
    );
    expect(json.blazerpc_requests_total).toEqual([
      { labels: { ...call, code: "INVALID_ARGUMENT" }, value: 1, metricName: undefined },
    ]);
    expect(json.blazerpc_requests_in_flight).toEqual([{ labels: call, value: 0, metricName: undefined }]);
    expect(json.blazerpc_queue_depth).toEqual([{ labels: { model: "m" }, value: 0, metricName: undefined }]);
    expect(json.blazerpc_model_ready).toEqual([{ labels: { model: "m" }, value: 0, metricName: undefined }]);
    expect(json.blazerpc_rejections_total!.filter((v) => v.value > 0)).toEqual([
      { labels: { model: "m", reason: "queue_full" }, value: 1, metricName: undefined },
    ]);
    expect(json.blazerpc_batch_size!.find((v) => v.metricName === "blazerpc_batch_size_sum")?.value).toBe(9);
    expect(json.blazerpc_compute_seconds!.filter((v) => v.metricName === "blazerpc_compute_seconds_count")).toEqual([
      { labels: { model: "m", outcome: "ok" }, value: 1, metricName: "blazerpc_compute_seconds_count" },
      { labels: { model: "m", outcome: "error" }, value: 1, metricName: "blazerpc_compute_seconds_count" },
    ]);
    expect(
      json.blazerpc_queue_wait_seconds!.find((v) => v.metricName === "blazerpc_queue_wait_seconds_sum")?.value,
    ).toBe(0.012);
  });
});
