// A drain that load balancers can follow: on SIGTERM with --drain-delay-ms, readiness turns
// NOT_SERVING at once (gRPC health Check, /readyz 503) while the port keeps accepting and
// serving for the delay; only then are connections refused. A probe loop (a new connection
// per probe, as Kubernetes' probes do) must see NOT_SERVING and 503 before any refused
// connection, and a steady client calling through the delay loses no call. Real `blaze
// serve` process, real clients, loopback only.
import * as http from "node:http";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { toTensorProto } from "@blazerpc/tensor";
import { PredictIrisRequestSchema, PredictIrisResponseSchema } from "../../examples/iris/gen/iris/v1/iris_pb.js";
import {
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus as Status,
  HealthCheckResponseSchema,
} from "../../packages/runtime/src/gen/grpc/health/v1/health_pb.js";
import { grpcUnary, startBlaze } from "./support.js";

const ENTRY = path.join("examples", "iris", "dist", "models.js");
const GEN = path.join("examples", "iris", "dist", "gen");
const DRAIN_MS = 1500;

type Seen = "SERVING" | "NOT_SERVING" | "200" | "503" | "refused" | "other";

/** gRPC health Check on a connection of its own. */
async function grpcProbe(port: number): Promise<Seen> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const res = await grpcUnary(
      client,
      "/grpc.health.v1.Health/Check",
      HealthCheckRequestSchema,
      HealthCheckResponseSchema,
      {},
    );
    return res.status === Status.SERVING ? "SERVING" : res.status === Status.NOT_SERVING ? "NOT_SERVING" : "other";
  } catch (err) {
    return /ECONNREFUSED/.test(String((err as grpc.ServiceError).details)) ? "refused" : "other";
  } finally {
    client.close();
  }
}

/** GET /readyz on a connection of its own. */
function httpProbe(port: number): Promise<Seen> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/readyz", agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? "200" : res.statusCode === 503 ? "503" : "other");
    });
    req.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ECONNREFUSED" ? "refused" : "other"));
  });
}

describe("SIGTERM with --drain-delay-ms", () => {
  it("readiness turns NOT_SERVING and /readyz 503 before any connection is refused; a steady client loses no call", async () => {
    const p = await startBlaze([ENTRY, "--gen", GEN, "--port", "0", "--drain-delay-ms", String(DRAIN_MS)]);
    const steady = new grpc.Client(`127.0.0.1:${p.port}`, grpc.credentials.createInsecure());
    const request = { features: toTensorProto({ dtype: "float32", shape: [1, 4], data: new Float32Array(4) }) };
    const probes: { at: number; via: "grpc" | "http"; seen: Seen }[] = [];
    let sigterm = 0;
    let probing = true;
    const probeLoop = (async () => {
      while (probing) {
        const at = Date.now();
        const [g, h] = await Promise.all([grpcProbe(p.port), httpProbe(p.port)]);
        probes.push({ at, via: "grpc", seen: g }, { at, via: "http", seen: h });
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 300));
      sigterm = Date.now();
      p.child.kill("SIGTERM");
      // A steady client through most of the delay, on its own connection.
      const outcomes: string[] = [];
      while (Date.now() - sigterm < DRAIN_MS - 300) {
        outcomes.push(
          await grpcUnary(
            steady,
            "/iris.v1.InferenceService/PredictIris",
            PredictIrisRequestSchema,
            PredictIrisResponseSchema,
            request,
          ).then(
            () => "OK",
            (err: grpc.ServiceError) => `${err.code} ${err.details}`,
          ),
        );
      }
      await p.waitFor(/blaze: closed/, 15_000);
      expect(await p.exited).toBe(0);
      // Probes go on until one is refused (the process is gone: it must be soon).
      const deadline = Date.now() + 5000;
      while (!probes.some((x) => x.at >= sigterm && x.seen === "refused") && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      probing = false;
      await probeLoop;

      expect(outcomes.length).toBeGreaterThan(10);
      expect(outcomes.filter((o) => o !== "OK")).toEqual([]);
      // Before the signal (a probe sent just before it may be answered after: left out).
      const before = probes.filter((x) => x.at < sigterm - 100);
      expect(before.length).toBeGreaterThan(0);
      expect(before.filter((x) => x.seen !== "SERVING" && x.seen !== "200")).toEqual([]);
      // Probes started after the signal: NOT_SERVING / 503 first, then refused — never refused first.
      const after = probes.filter((x) => x.at >= sigterm);
      const firstRefused = after.findIndex((x) => x.seen === "refused");
      expect(firstRefused).toBeGreaterThan(0);
      const draining = after.slice(0, firstRefused);
      expect(draining.some((x) => x.via === "grpc" && x.seen === "NOT_SERVING")).toBe(true);
      expect(draining.some((x) => x.via === "http" && x.seen === "503")).toBe(true);
      // Within the delay every probe is answered, NOT_SERVING or 503 (past it, one caught by
      // the closing connection may fail otherwise).
      const inDelay = draining.filter((x) => x.at < sigterm + DRAIN_MS - 200);
      expect(inDelay.length).toBeGreaterThan(4);
      expect(inDelay.filter((x) => x.seen !== "NOT_SERVING" && x.seen !== "503")).toEqual([]);
      // And the port stayed open for the delay.
      expect(after[firstRefused]!.at - sigterm).toBeGreaterThanOrEqual(DRAIN_MS - 100);
      expect(p.output()).toMatch(/still serving for 1500 ms \(drain delay\)/);
    } finally {
      probing = false;
      steady.close();
      p.child.kill("SIGKILL");
    }
  }, 60_000);
});
