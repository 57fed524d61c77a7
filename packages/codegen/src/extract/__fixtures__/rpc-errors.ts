// Fixture for extract.spec.ts: every diagnostic of code-first RPCs (app.rpc) and of the call
// context, one or more per registration, all in one file so that one run must report every
// one of them. Not type-checked (it is excluded from every tsconfig); only read by ts-morph.
import { createApp, type CallContext } from "@blazerpc/runtime";

export const app = createApp({ name: "rpc-broken" });
const dynamicName = "Director.Dynamic";
interface Status { ok: boolean }
interface GetHealthStatusRequest { verbose: boolean }
interface Director { name: string }

app.model("iris", async (text: string): Promise<string> => text);
app.rpc("Director.Status", async (): Promise<Status> => ({ ok: true }));
app.rpc("Director.GetHealthStatus", async (): Promise<string> => "HEALTHY");
app.rpc("Director.Status", async (): Promise<Status> => ({ ok: false }));
app.rpc("InferenceService.PredictIris", async (text: string): Promise<string> => text);
app.rpc("InferenceService.Iris", async (): Promise<string> => "iris");
app.rpc("Other.Status", async (): Promise<string> => "other");
app.rpc("director.lower", async (): Promise<string> => "x");
app.rpc("NoMethod", async (): Promise<string> => "x");
app.rpc(dynamicName, async (): Promise<string> => "x");
app.rpc("Director.Batched", { batch: { maxBatchSize: 4, maxDelayMs: 1 } }, async (text: string): Promise<string> => text);
app.rpc("Director.Versioned", { version: "1.0" }, async (text: string): Promise<string> => text);
app.rpc("Director.Early", async (ctx: CallContext, name: string): Promise<string> => name + ctx.method);
app.model("batched_ctx", { batch: { maxBatchSize: 4, maxDelayMs: 1 } }, async (texts: string[], ctx: CallContext): Promise<string[]> => texts.map((t) => t + ctx.method));
app.model("worker_ctx", { worker: true }, async (text: string, ctx: CallContext): Promise<string> => text + ctx.method);
app.rpc("Director.Nothing", async (): Promise<void> => undefined);
app.rpc("Director.Either", async (value: string | number): Promise<string> => String(value));
app.model("uses_request", async (r: GetHealthStatusRequest): Promise<boolean> => r.verbose);
app.model("uses_service", async (d: Director): Promise<string> => d.name);
app.rpc("Director.NotStreaming", { streaming: true }, async (): Promise<string> => "x");
