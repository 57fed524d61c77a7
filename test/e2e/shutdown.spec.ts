// Graceful shutdown of a real `blaze serve` process under load: SIGTERM turns health
// NOT_SERVING at once, new connections are refused, every request and stream in flight
// completes, and the process exits 0; past the grace period what is left ends with
// UNAVAILABLE; a second signal exits at once.
import * as net from "node:net";
import * as path from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { toTensorProto } from "@blazerpc/tensor";
import {
  InferenceService,
  PredictGenerateRequestSchema,
  PredictGenerateResponseSchema,
  PredictIrisRequestSchema,
  PredictIrisResponseSchema,
} from "../../examples/iris/gen/iris/v1/iris_pb.js";
import {
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus as Status,
  HealthCheckResponseSchema,
  type HealthCheckResponse,
} from "../../packages/runtime/src/gen/grpc/health/v1/health_pb.js";
import { grpcMessage, grpcUnary, startBlaze } from "./support.js";

const FIXTURE = path.join("test", "e2e", "fixtures", "slow-iris.cjs");
const GEN = path.join("examples", "iris", "dist", "gen");
const IRIS = "/iris.v1.InferenceService/PredictIris";

const features = (first: number) =>
  toTensorProto({ dtype: "float32", shape: [1, 4], data: new Float32Array([first, 0, 0, 0]) });

/** Resolves with the error code of a TCP connect to the port (undefined: it connected). */
function tryConnect(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(undefined);
    });
    s.once("error", (err: NodeJS.ErrnoException) => resolve(err.code));
  });
}

describe("graceful shutdown of blaze serve", () => {
  it("under load: NOT_SERVING at once, new connections refused, every in-flight request and stream completes, exit 0", async () => {
    const p = await startBlaze([FIXTURE, "--gen", GEN, "--port", "0", "--shutdown-grace-ms", "10000"], {
      SLOW_MS: "1500",
    });
    const grpcClient = new grpc.Client(`127.0.0.1:${p.port}`, grpc.credentials.createInsecure());
    // A second protocol and HTTP version: Connect JSON over HTTP/1.1.
    const connectClient = createClient(
      InferenceService,
      createConnectTransport({ baseUrl: p.url, httpVersion: "1.1" }),
    );
    try {
      // A health watch, to see NOT_SERVING arrive.
      const watch = grpcClient.makeServerStreamRequest(
        "/grpc.health.v1.Health/Watch",
        (m: unknown) => Buffer.from(toBinary(HealthCheckRequestSchema, m as never)),
        (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
        create(HealthCheckRequestSchema, { service: "" }) as never,
      );
      const statuses: Status[] = [];
      let notServing!: () => void;
      let first!: () => void;
      const sawNotServing = new Promise<void>((resolve) => (notServing = resolve));
      const sawFirst = new Promise<void>((resolve) => (first = resolve));
      watch.on("data", (m: HealthCheckResponse) => {
        statuses.push(m.status);
        first();
        if (m.status === Status.NOT_SERVING) notServing();
      });
      const watchEnded = new Promise<grpc.StatusObject>((resolve) => watch.on("status", resolve));
      watch.on("error", () => undefined);

      // The load: 16 unary calls over gRPC (h2c), 8 over Connect (HTTP/1.1), 2 streams.
      const unary = Array.from({ length: 16 }, (_, i) =>
        grpcUnary(grpcClient, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, {
          features: features(i),
        }).then((r) => r.result?.shape.map(Number)),
      );
      const overHttp1 = Array.from({ length: 8 }, (_, i) =>
        connectClient.predictIris({ features: features(100 + i) }).then((r) => r.result?.shape.map(Number)),
      );
      const streams = [1, 2].map(
        (n) =>
          new Promise<string[]>((resolve, reject) => {
            const call = grpcClient.makeServerStreamRequest(
              "/iris.v1.InferenceService/PredictGenerate",
              (m: unknown) => Buffer.from(toBinary(PredictGenerateRequestSchema, m as never)),
              (b: Buffer) => fromBinary(PredictGenerateResponseSchema, b),
              create(PredictGenerateRequestSchema, { prompt: `s${n}-`, maxTokens: 30 }) as never,
            );
            const words: string[] = [];
            call.on("data", (m: { result: string }) => words.push(m.result));
            call.on("error", reject);
            call.on("end", () => resolve(words));
          }),
      );
      // Every one of them is being computed (each model call prints a line as it starts).
      await p.waitForLines(/computing 1 rows/, 24);
      await p.waitForLines(/streaming 30 tokens/, 2);
      await sawFirst;
      expect(statuses).toEqual([Status.SERVING]);

      p.child.kill("SIGTERM");
      await sawNotServing;
      await p.waitFor(/SIGTERM: shutting down/);
      // No new connections while the in-flight work finishes.
      expect(await tryConnect(p.port)).toBe("ECONNREFUSED");
      expect(p.output()).not.toMatch(/blaze: closed/);

      // Every request that was in flight completed, with its answer.
      expect(await Promise.all(unary)).toEqual(Array.from({ length: 16 }, () => [1, 3]));
      expect(await Promise.all(overHttp1)).toEqual(Array.from({ length: 8 }, () => [1, 3]));
      expect(await Promise.all(streams)).toEqual([1, 2].map((n) => Array.from({ length: 30 }, (_, i) => `s${n}-${i}`)));
      // The watch saw SERVING → NOT_SERVING, then the server ended it.
      expect(statuses).toEqual([Status.SERVING, Status.NOT_SERVING]);
      expect((await watchEnded).code).toBe(grpc.status.UNAVAILABLE);
      expect(await p.exited).toBe(0);
      expect(p.output()).toMatch(/blaze: closed/);
    } finally {
      grpcClient.close();
      p.child.kill("SIGKILL");
    }
  });

  it("ends what is still running after the grace period with UNAVAILABLE, and exits 0", async () => {
    const p = await startBlaze([FIXTURE, "--gen", GEN, "--port", "0", "--shutdown-grace-ms", "300"], {
      SLOW_MS: "20000",
    });
    const client = new grpc.Client(`127.0.0.1:${p.port}`, grpc.credentials.createInsecure());
    try {
      const call = grpcUnary(client, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, {
        features: features(1),
      }).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      await p.waitFor(/computing 1 rows/);
      const started = Date.now();
      p.child.kill("SIGTERM");
      const err = await call;
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
      expect(grpcMessage(err)).toBe("the server is shutting down");
      expect(await p.exited).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      client.close();
      p.child.kill("SIGKILL");
    }
  });

  it("exits at once on a second signal", async () => {
    const p = await startBlaze([FIXTURE, "--gen", GEN, "--port", "0", "--shutdown-grace-ms", "60000"], {
      SLOW_MS: "60000",
    });
    const client = new grpc.Client(`127.0.0.1:${p.port}`, grpc.credentials.createInsecure());
    try {
      void grpcUnary(client, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, {
        features: features(1),
      }).catch(() => undefined);
      await p.waitFor(/computing 1 rows/);
      const started = Date.now();
      p.child.kill("SIGTERM");
      await p.waitFor(/SIGTERM: shutting down/);
      p.child.kill("SIGINT");
      expect(await p.exited).toBe(1);
      expect(p.output()).toMatch(/SIGINT again, exiting now/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      client.close();
      p.child.kill("SIGKILL");
    }
  });
});
