import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { observeCalls } from "../call-observer.js";
import { tracing } from "./tracing.js";

describe("tracing", () => {
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  });
  afterAll(() => {
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it("makes a SERVER span per call, a child of the caller's trace, active while the implementation runs", async () => {
    const t = tracing();
    let inner: string | undefined;
    const transport = createRouterTransport(
      (router) =>
        router.service(Health, {
          check(req) {
            // A span the implementation (the model) makes nests under the call's span.
            const span = trace.getTracer("model").startSpan("inference");
            inner = span.spanContext().spanId;
            span.end();
            if (req.service !== "") throw new ConnectError("no such service", Code.NotFound);
            return { status: HealthCheckResponse_ServingStatus.SERVING };
          },
          list: () => ({ statuses: {} }),
          async *watch() {},
        }),
      {
        router: {
          requestGate: observeCalls([t.calls], new Map([["grpc.health.v1.Health/Check", "m"]])),
          interceptors: [t.interceptor],
        },
      },
    );
    const client = createClient(Health, transport);
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await client.check({ service: "" }, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    await expect(client.check({ service: "x" })).rejects.toThrow("no such service");
    await new Promise((r) => setImmediate(r));

    const spans = exporter.getFinishedSpans();
    const calls = spans.filter((s) => s.name === "grpc.health.v1.Health/Check");
    expect(calls).toHaveLength(2);
    const [ok, failed] = calls as [(typeof calls)[0], (typeof calls)[0]];
    expect(ok.kind).toBe(SpanKind.SERVER);
    expect(ok.spanContext().traceId).toBe(traceId);
    expect(ok.parentSpanContext?.spanId).toBe("00f067aa0ba902b7");
    expect(ok.attributes).toMatchObject({
      "rpc.system": "connect_rpc",
      "rpc.service": "grpc.health.v1.Health",
      "rpc.method": "Check",
      "blazerpc.model": "m",
      "blazerpc.code": "OK",
    });
    expect(ok.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(failed.attributes).toMatchObject({ "blazerpc.code": "NOT_FOUND", "rpc.grpc.status_code": 5 });
    expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: "no such service" });
    const model = spans.filter((s) => s.name === "inference");
    expect(model.map((s) => s.parentSpanContext?.spanId)).toEqual([
      ok.spanContext().spanId,
      failed.spanContext().spanId,
    ]);
    expect(inner).toBe(model[1]!.spanContext().spanId);
  });
});
