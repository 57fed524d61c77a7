// `blaze serve --workers 2`: two processes on one port, each serving calls; `/metrics` on any
// connection sums both; a worker that dies is replaced and the port keeps answering; SIGTERM
// to the primary drains every worker and exits 0, leaving no process behind. A real `blaze
// serve` of the compiled iris example, real @grpc/grpc-js clients on connections of their own.
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { toTensorProto } from "@blazerpc/tensor";
import { PredictIrisRequestSchema, PredictIrisResponseSchema } from "../../examples/iris/gen/iris/v1/iris_pb.js";
import { parsePrometheusText } from "./prometheus-text.js";
import { grpcUnary, startBlaze } from "./support.js";

const ENTRY = path.join("examples", "iris", "dist", "models.js");
const GEN = path.join("examples", "iris", "dist", "gen");
const request = {
  features: toTensorProto({ dtype: "float32", shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) }),
};

/** `n` clients, each on a connection of its own (no subchannel shared between them). */
function clients(port: number, n: number): grpc.Client[] {
  return Array.from(
    { length: n },
    () =>
      new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }),
  );
}

const iris = (c: grpc.Client) =>
  grpcUnary(c, "/iris.v1.InferenceService/PredictIris", PredictIrisRequestSchema, PredictIrisResponseSchema, request);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("blaze serve --workers 2", () => {
  it("serves on both workers, sums their metrics, replaces a dead one, and drains them all on SIGTERM", async () => {
    const p = await startBlaze([ENTRY, "--gen", GEN, "--port", "0", "--workers", "2", "--log-requests"]);
    const cs = clients(p.port, 8);
    try {
      const m = await p.waitFor(/2 workers \(pids (\d+), (\d+)\) share port (\d+)/);
      const pids = [Number(m[1]), Number(m[2])];
      expect(Number(m[3])).toBe(p.port);
      await p.waitFor(/worker 2 \(pid \d+\) serving app "iris"/);

      // Readiness speaks for the whole set: SERVING once both workers are and the primary has
      // said so (a moment after the last one's banner), then on every connection.
      const until = Date.now() + 10_000;
      while ((await fetch(`${p.url}/readyz`, { headers: { connection: "close" } })).status !== 200) {
        if (Date.now() > until) throw new Error(`/readyz never turned 200:\n${p.output()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      for (let i = 0; i < 4; i++) {
        const r = await fetch(`${p.url}/readyz`, { headers: { connection: "close" } });
        expect(r.status).toBe(200);
      }

      // 8 connections × 3 calls: the primary hands connections to its workers in turn (a
      // connection at a time here, so that each worker has taken the last before the next).
      for (const c of cs) await iris(c);
      for (let round = 0; round < 2; round++) await Promise.all(cs.map(iris));
      await p.waitForLines(/"method":"PredictIris"/, 24);
      const servedBy = new Set(
        p
          .output()
          .split("\n")
          .filter((l) => l.includes('"method":"PredictIris"'))
          .map((l) => (JSON.parse(l) as { pid: number }).pid),
      );
      expect([...servedBy].sort()).toEqual([...pids].sort());

      // /metrics on any connection: both workers' calls, summed.
      for (let i = 0; i < 3; i++) {
        const text = await (await fetch(`${p.url}/metrics`, { headers: { connection: "close" } })).text();
        const ok = parsePrometheusText(text)
          .get("blazerpc_requests_total")!
          .samples.filter((s) => s.labels.method === "PredictIris" && s.labels.code === "OK")
          .reduce((a, s) => a + s.value, 0);
        expect(ok).toBe(24);
      }

      // A worker killed outright is replaced; the port answers throughout.
      process.kill(pids[0]!, "SIGKILL");
      await p.waitFor(new RegExp(`worker \\d \\(pid ${pids[0]}\\) exited \\(SIGKILL\\) — starting another`));
      await p.waitForLines(/serving app "iris"/, 3);
      const fresh = clients(p.port, 4);
      try {
        await Promise.all(fresh.map(iris));
      } finally {
        for (const c of fresh) c.close();
      }

      // SIGTERM to the primary: every worker drains, the primary exits 0, nothing is left.
      const workers = [...p.output().matchAll(/pid (\d+)\) serving app|pids (\d+), (\d+)\)/g)]
        .flatMap((x) => [x[1], x[2], x[3]])
        .filter((x): x is string => x !== undefined)
        .map(Number);
      p.child.kill("SIGTERM");
      expect(await p.exited).toBe(0);
      expect(p.output()).toMatch(/blaze: SIGTERM: stopping 2 workers \(each drains\)/);
      await new Promise((r) => setTimeout(r, 200));
      expect(workers.filter(alive)).toEqual([]);
    } finally {
      for (const c of cs) c.close();
      p.child.kill("SIGKILL");
    }
  }, 90_000);
});
