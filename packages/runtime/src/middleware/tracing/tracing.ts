import { context, propagation, SpanKind, SpanStatusCode, trace, type Span, type TextMapGetter } from "@opentelemetry/api";
import { createContextKey, type Interceptor } from "@connectrpc/connect";
import { codeName, type CallObserver } from "../call-observer.js";

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
export function tracing(): { calls: CallObserver; interceptor: Interceptor } {
  const tracer = trace.getTracer("@blazerpc/runtime");
  return {
    calls: {
      start(call) {
        const parent = propagation.extract(context.active(), call.header, headerGetter);
        const span = tracer.startSpan(
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
        call.context.values.set(kSpan, span);
        return (outcome) => {
          span.setAttribute("rpc.grpc.status_code", outcome.code);
          span.setAttribute("blazerpc.code", codeName(outcome.code));
          if (outcome.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.rawMessage });
          span.end();
        };
      },
    },
    // Makes the call's span the active one around the implementation.
    interceptor: (next) => (req) => {
      const span = req.contextValues.get(kSpan);
      return span === undefined ? next(req) : context.with(trace.setSpan(context.active(), span), () => next(req));
    },
  };
}
