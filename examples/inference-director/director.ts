// The Inference Director of ../../../shared/reference/inference-director-service.md, in one
// process on ONE port: the business RPC `InferenceDirector.GetHealthStatus` over gRPC,
// gRPC-Web and Connect, and `GET /health` over plain HTTP, both reading the same in-process
// state; start and stop hooks in place of FastAPI's lifespan; gRPC health and `/readyz`
// following the service's own status; `/docs` describing all of it.
import { Code, ConnectError } from "@connectrpc/connect";
import { createApp } from "@blazerpc/runtime";
import { HealthStatus, InferenceDirector } from "./gen/director/v1/director_pb.js";

/** The state the RPC and the HTTP route share: what `InferenceDirectorServicer` kept in Python. */
export interface DirectorState {
  status: HealthStatus;
  started: boolean;
}

export const state: DirectorState = { status: HealthStatus.UNSPECIFIED, started: false };

export const app = createApp({ name: "director" });

/** Sets the director's status: the RPC, `GET /health`, gRPC health and `/readyz` all follow at once. */
export function setStatus(status: HealthStatus): void {
  state.status = status;
  app.setServingStatus(status === HealthStatus.UNHEALTHY ? "NOT_SERVING" : "SERVING", InferenceDirector.typeName);
}

/** The status without its enum prefix, as the HTTP API writes it: `HEALTHY`. */
export function statusName(status: HealthStatus): string {
  return HealthStatus[status] ?? "UNSPECIFIED";
}

// The servicer: the generated service descriptor, implemented as connect's ServiceImpl.
app.service(InferenceDirector, {
  getHealthStatus: () => ({ overallStatus: state.status }),
});

// The HTTP half, on the same port: calls the same state in-process (no network hop).
app.route("GET", "/health", () => ({ overall_status: statusName(state.status) }), {
  summary: "The director's overall status (the same as InferenceDirector.GetHealthStatus)",
  responseSchema: {
    type: "object",
    properties: { overall_status: { type: "string", enum: ["UNSPECIFIED", "HEALTHY", "DEGRADED", "UNHEALTHY"] } },
    required: ["overall_status"],
  },
});

// Operators (or the director's own checks) change the status; everything above follows.
const STATUS_NAMES = ["HEALTHY", "DEGRADED", "UNHEALTHY"] as const;
app.route(
  "PUT",
  "/status",
  async (req) => {
    const body = (await req.json()) as { overall_status?: unknown } | null;
    const name = body?.overall_status;
    if (typeof name !== "string" || !(STATUS_NAMES as readonly string[]).includes(name)) {
      throw new ConnectError(
        `overall_status must be one of ${STATUS_NAMES.join(", ")}, got ${JSON.stringify(name)}`,
        Code.InvalidArgument,
      );
    }
    setStatus(HealthStatus[name as (typeof STATUS_NAMES)[number]]);
    return { overall_status: statusName(state.status) };
  },
  {
    summary: "Sets the director's overall status",
    requestSchema: {
      type: "object",
      properties: { overall_status: { type: "string", enum: [...STATUS_NAMES] } },
      required: ["overall_status"],
    },
    responseSchema: { type: "object", properties: { overall_status: { type: "string" } } },
  },
);

// The lifespan: before the port is bound, and after the calls in flight have finished.
app.onStart(async function startDirector() {
  state.started = true;
  setStatus(HealthStatus.HEALTHY);
  console.log("director: started");
});
app.onStop(function stopDirector() {
  state.started = false;
  console.log("director: stopped");
});
