// Fixture for extract.spec.ts, golden.spec.ts (code-first.golden.proto) and
// protoc-gen-blaze.spec.ts: code-first RPCs (app.rpc) beside models, and functions that
// take the call context. Not type-checked by tsc -b (it is excluded from every tsconfig);
// read by ts-morph, and compiled by protoc-gen-blaze.spec.ts with the code generated from it.
import { createApp, type CallContext } from "@blazerpc/runtime";

export const app = createApp({ name: "code-first" });

/** The service's health, as the director reports it. */
export interface HealthStatusResponse {
  /** How the service is doing as a whole. */
  overallStatus: "HEALTHY" | "DEGRADED" | "UNHEALTHY";
  /** When it last changed, if it did. */
  since?: Date;
}

/** Numbers to scale. */
export interface Scaling {
  factor: number;
  values: number[];
}

/** Scaled numbers. */
export interface Scaled {
  values: number[];
  /** What the factor was. */
  factor: number;
}

/** Whether a check passed. */
export interface Check {
  ok: boolean;
}

/** Adds two numbers. */
app.model("add", async (a: number, b: number): Promise<number> => a + b);

/** Reports the service's health. */
app.rpc("InferenceDirector.GetHealthStatus", async (): Promise<HealthStatusResponse> => ({ overallStatus: "HEALTHY" }));

/**
 * Greets the caller, naming where it called from.
 * @param name who to greet
 */
app.rpc("InferenceDirector.Greet", async (name: string, ctx: CallContext): Promise<string> => `hello ${name} from ${ctx.peer ?? "nowhere"}`);

/** The deadline left, once a second, until the client goes away. */
app.rpc("InferenceDirector.Watch", { streaming: true }, async function* (ctx: CallContext): AsyncGenerator<number> {
  while (!ctx.signal.aborted) yield ctx.timeoutMs() ?? -1;
});

/** Scales numbers: a destructured request and a returned object, both named types used once. */
app.rpc("Calculator.Scale", { pure: true }, async ({ factor, values }: Scaling): Promise<Scaled> => ({ values: values.map((v) => v * factor), factor }));

/** Undoes Scale: takes what Scale returns. */
app.rpc("Calculator.Unscale", async ({ factor, values }: Scaled): Promise<number[]> => values.map((v) => v / factor));

/** Two RPCs return Check: each response gets its method's name. */
app.rpc("Calculator.Ping", async (): Promise<Check> => ({ ok: true }));
app.rpc("Calculator.Pong", async (): Promise<Check> => ({ ok: false }));

/** A model that reads the caller's header. */
app.model("tagged", async (text: string, ctx: CallContext): Promise<string> => `${ctx.requestHeader.get("x-tag") ?? ""}${text}`);

/** An RPC of the models' own service. */
app.rpc("InferenceService.Info", async (): Promise<string> => "code-first");
