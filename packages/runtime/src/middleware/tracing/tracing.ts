import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
  type TextMapGetter,
} from "@opentelemetry/api";
import { createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { codeName, type CallObserver, type CallOutcome, type RefusedCallInfo } from "../call-observer.js";

const kSpan = createContextKey<Span | undefined>(undefined, { description: "blazerpc span" });

const headerGetter: TextMapGetter<Headers> = {
  get: (h, key) => h.get(key) ?? undefined,
  keys: (h) => [...h.keys()],
};

/**
 * OpenTelemetry spans through `@opentelemetry/api`: one SERVER span per RPC, named
 * `<service>/<method>`, a child of the caller's span when the request carries trace
 * context (W3C `traceparent`, with a propagator registered), with the rpc.* attributes of
 * the semantic conventions, `blazerpc.model`, and an error status for failed calls. The
 * span is the active one while the model runs, so spans the model makes nest under it.
 * Without an OpenTelemetry SDK registered, the API is a no-op and this costs next to nothing.
 *
 * @example
 * // tracing.ts, loaded first: register an SDK, e.g. @opentelemetry/sdk-node's NodeSDK.
 * createServer({ app, services }); // spans are on by default
 */
export function tracing(): {
  calls: CallObserver;
  interceptor: Interceptor;
  around: <T>(ctx: HandlerContext, fn: () => T) => T;
} {
  const tracer = trace.getTracer("@blazerpc/runtime");
  const startSpan = (call: RefusedCallInfo): Span | undefined => {
    // No SDK registered (checked per call: one may be registered later): no span at all.
    if (!sdkRegistered()) return undefined;
    const parent = propagation.extract(context.active(), call.header, headerGetter);
    return tracer.startSpan(
      `${call.service}/${call.method}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "rpc.system": call.protocol === "connect" ? "connect_rpc" : "grpc",
          "rpc.service": call.service,
          "rpc.method": call.method,
          "blazerpc.protocol": call.protocol,
          ...(call.model !== "" ? { "blazerpc.model": call.model } : {}),
        },
      },
      parent,
    );
  };
  const endSpan = (span: Span, outcome: CallOutcome): void => {
    span.setAttribute("rpc.grpc.status_code", outcome.code);
    span.setAttribute("blazerpc.code", codeName(outcome.code));
    if (outcome.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.rawMessage });
    span.end();
  };
  return {
    calls: {
      start(call) {
        const span = startSpan(call);
        if (span === undefined) return;
        call.context.values.set(kSpan, span);
        return (outcome) => endSpan(span, outcome);
      },
      refused(call, outcome) {
        const span = startSpan(call);
        if (span !== undefined) endSpan(span, outcome);
      },
    },
    // The same, for the native gRPC path.
    around: (ctx, fn) => {
      if (!sdkRegistered()) return fn();
      const span = ctx.values.get(kSpan);
      return span === undefined ? fn() : context.with(trace.setSpan(context.active(), span), fn);
    },
    // Makes the call's span the active one around the implementation.
    interceptor: (next) => (req) => {
      const span = req.contextValues.get(kSpan);
      return span === undefined ? next(req) : context.with(trace.setSpan(context.active(), span), () => next(req));
    },
  };
}

/**
 * Whether an OpenTelemetry SDK is registered: the global tracer provider is a proxy whose
 * delegate stays the API's no-op provider until one is.
 */
function sdkRegistered(): boolean {
  const provider = trace.getTracerProvider() as { getDelegate?: () => object };
  const delegate = provider.getDelegate?.() ?? provider;
  return delegate.constructor.name !== "NoopTracerProvider";
}
