import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { pino } from "pino";
import { createApp } from "../../app.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { registerHealth } from "../../health/health-service.js";
import { createServingState } from "../../health/serving-state.js";
import type { DescMethod } from "@bufbuild/protobuf";
import { observeCalls, refusedCalls } from "../call-observer.js";
import { requestLog } from "./request-log.js";

describe("requestLog", () => {
  it("writes a call refused at the door as it writes any other: warn, its code and message, its peer read when written", () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { base: undefined, timestamp: false },
      { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
    );
    const refused = refusedCalls([requestLog(logger)], new Map([["demo.v1.Svc/Predict", "demo"]]));
    const method = { name: "Predict", parent: { typeName: "demo.v1.Svc" } } as unknown as DescMethod;
    let peerRead = false;
    refused(
      method,
      {
        protocol: "grpc",
        httpVersion: "2.0",
        get peer() {
          peerRead = true;
          return "127.0.0.1";
        },
        get header(): Headers {
          throw new Error("the log does not read the headers");
        },
      },
      {
        code: Code.ResourceExhausted,
        message: 'model "demo" is at capacity: 2 requests queued (queueCapacity 2) — retry later',
      },
      performance.now(),
    );
    expect(peerRead).toBe(true);
    expect(lines).toHaveLength(1);
    const { ms, ...rest } = lines[0]!;
    expect(typeof ms === "number" && ms >= 0).toBe(true);
    expect(rest).toEqual({
      level: 40,
      msg: "rpc",
      service: "demo.v1.Svc",
      method: "Predict",
      model: "demo",
      protocol: "grpc",
      http: "2.0",
      peer: "127.0.0.1",
      code: "RESOURCE_EXHAUSTED",
      error: 'model "demo" is at capacity: 2 requests queued (queueCapacity 2) — retry later',
    });
  });

  it("writes one JSON line per call: info when OK, warn for a client's error, with code, duration and message", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { base: undefined, timestamp: false },
      { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
    );
    const app = createApp({ name: "demo" });
    const state = createServingState(app, new Map([["demo.v1.Svc", []]]));
    const transport = createRouterTransport((router) => registerHealth(router, state), {
      router: { requestGate: observeCalls([requestLog(logger)], new Map()) },
    });
    const client = createClient(Health, transport);
    await client.check({ service: "" });
    await expect(client.check({ service: "nope" })).rejects.toEqual(
      new ConnectError('unknown service "nope"', Code.NotFound),
    );
    // The end of a call is seen when connect aborts its signal, a tick after the answer.
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(2);
    expect(lines.map(({ ms, ...rest }) => (typeof ms === "number" && ms >= 0 ? rest : { ms }))).toEqual([
      {
        level: 30,
        msg: "rpc",
        service: "grpc.health.v1.Health",
        method: "Check",
        model: "",
        protocol: "connect",
        http: "",
        code: "OK",
      },
      {
        level: 40,
        msg: "rpc",
        service: "grpc.health.v1.Health",
        method: "Check",
        model: "",
        protocol: "connect",
        http: "",
        code: "NOT_FOUND",
        error: 'unknown service "nope"',
      },
    ]);
  });
});
