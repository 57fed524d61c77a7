import { Code, ConnectError, type ConnectRouter, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
  type HealthCheckRequest,
} from "../gen/grpc/health/v1/health_pb.js";
import { quoteValue } from "@blazerpc/tensor";
import type { ServiceEntry } from "../binding/service-table.js";
import type { ServiceStatus, ServingState } from "./serving-state.js";

const toProto = (s: ServiceStatus | undefined): Status =>
  s === undefined ? Status.SERVICE_UNKNOWN : s === "SERVING" ? Status.SERVING : Status.NOT_SERVING;

/**
 * The `grpc.health.v1.Health` service over a {@link ServingState}, per the protocol:
 * Check answers a known service's status and NOT_FOUND for an unknown one; Watch sends
 * the status at once (SERVICE_UNKNOWN for an unknown service, and the call stays open),
 * then once per change, until the client ends the call or the server shuts it down.
 */
export function healthService(state: ServingState): ServiceImpl<typeof Health> {
  return {
    check(req: HealthCheckRequest) {
      const status = state.serviceStatus(req.service);
      if (status === undefined) throw new ConnectError(`unknown service ${quoteValue(req.service)}`, Code.NotFound);
      return { status: toProto(status) };
    },
    list() {
      return {
        statuses: Object.fromEntries(state.services().map((s) => [s, { status: toProto(state.serviceStatus(s)) }])),
      };
    },
    async *watch(req: HealthCheckRequest, ctx: HandlerContext) {
      // Changes are noted as they happen and sent when the client is ready for them;
      // only the latest status counts, so a slow client never builds up a backlog.
      let wake: (() => void) | undefined;
      const unsubscribe = state.subscribe(() => wake?.());
      const onAbort = () => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        let sent: Status | undefined;
        while (!ctx.signal.aborted) {
          const now = toProto(state.serviceStatus(req.service));
          if (now !== sent) {
            sent = now;
            yield { status: now };
            continue;
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
        // The server shut the stream (or the client left): end it with the reason.
        throw ctx.signal.reason instanceof ConnectError
          ? ctx.signal.reason
          : new ConnectError("the watch ended", Code.Canceled);
      } finally {
        unsubscribe();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  };
}

/** Registers `grpc.health.v1.Health` on a Connect router. */
export function registerHealth(router: ConnectRouter, state: ServingState): void {
  router.service(Health, healthService(state));
}

/** `grpc.health.v1.Health` as the server's service table holds it. */
export function healthEntry(state: ServingState): ServiceEntry {
  return { service: Health, impl: healthService(state), origin: "builtin", native: false };
}
