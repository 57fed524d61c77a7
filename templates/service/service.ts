import { createApp, type CallContext } from "@blazerpc/runtime";

/** The app: its name is the schema's package (`demo.v1`) and the generated files' (gen/demo/v1/). */
export const app = createApp({ name: "demo" });

/** How the service is doing. */
export type OverallStatus = "HEALTHY" | "DEGRADED" | "UNHEALTHY";

/** The service's health, as its own logic sees it. */
export interface HealthStatusResponse {
  /** The service as a whole. */
  overallStatus: OverallStatus;
  /** Calls answered since the server started. */
  callsServed: number;
}

/** The state every RPC and HTTP route below shares: one process, one copy. */
export const state = { status: "UNHEALTHY" as OverallStatus, callsServed: 0 };

/** The full name of the service below, as gRPC health and `/readyz` know it. */
export const SERVICE = "demo.v1.InferenceDirector";

/** Sets the status: the RPCs, `GET /health`, gRPC health and `/readyz` all follow at once. */
export function setStatus(status: OverallStatus): void {
  state.status = status;
  // An unhealthy service makes the server unready: load balancers stop sending it calls.
  app.setServingStatus(status === "UNHEALTHY" ? "NOT_SERVING" : "SERVING", SERVICE);
}

const report = (): HealthStatusResponse => ({ overallStatus: state.status, callsServed: state.callsServed });

/** Reports the service's health. */
app.rpc("InferenceDirector.GetHealthStatus", async (): Promise<HealthStatusResponse> => {
  state.callsServed++;
  return report();
});

/**
 * Sets the service's health (an operator's call: it names who made it in the server's log).
 * @param overallStatus The new status.
 * @returns The status now.
 */
app.rpc(
  "InferenceDirector.SetHealthStatus",
  async (overallStatus: OverallStatus, ctx: CallContext): Promise<OverallStatus> => {
    state.callsServed++;
    setStatus(overallStatus);
    console.log(
      `status set to ${overallStatus} by ${ctx.requestHeader.get("x-operator") ?? "an unnamed operator"} from ${ctx.peer}`,
    );
    return state.status;
  },
);

// The same state over plain HTTP, on the same port: what a dashboard or a script reads.
app.route("GET", "/health", () => ({ overall_status: state.status, calls_served: state.callsServed }), {
  summary: "The service's health (the same as InferenceDirector.GetHealthStatus)",
  responseSchema: {
    type: "object",
    properties: {
      overall_status: { type: "string", enum: ["HEALTHY", "DEGRADED", "UNHEALTHY"] },
      calls_served: { type: "integer" },
    },
  },
});

// Start and stop: before the port is bound, and once calls in flight have finished.
app.onStart(async () => {
  // Open connections, load caches, … here; a throw fails the start with its message.
  setStatus("HEALTHY");
});
app.onStop(() => {
  console.log(`stopping after ${state.callsServed} calls`);
});
