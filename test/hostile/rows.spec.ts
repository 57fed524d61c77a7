// One legal but huge request must not block everyone. The iris example batches at most 32
// rows, and by default a request may hold no more rows than that (`maxRowsPerRequest`): a
// 61 MiB PredictIris (4,000,000 rows, under the server's 64 MiB message cap) is refused with
// INVALID_ARGUMENT before it is queued, instead of computing for seconds on the event loop
// while health checks and other clients wait. A real server on port 0, real clients.
import * as http from "node:http";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { fromTensorProto, toTensorProto } from "@blazerpc/tensor";
import { createServer, type BlazeServer } from "@blazerpc/runtime";
import { app } from "../../examples/iris/models.js";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import {
  InferenceService,
  PredictIrisRequestSchema,
  PredictIrisResponseSchema,
} from "../../examples/iris/gen/iris/v1/iris_pb.js";
import { grpcMessage, grpcUnary } from "../e2e/support.js";

const IRIS = "/iris.v1.InferenceService/PredictIris";
const HUGE_ROWS = 4_000_000;

let server: BlazeServer;
let port: number;

beforeAll(async () => {
  server = createServer({ app, services: [InferenceServiceBinding], host: "127.0.0.1", port: 0 });
  await server.listen();
  port = server.address().port;
});

afterAll(async () => {
  await server.close();
});

const rows = (n: number) => toTensorProto({ dtype: "float32", shape: [n, 4], data: new Float32Array(n * 4).fill(1.5) });
const tooMany = (n: number) => `model "iris": a request may hold at most 32 rows (maxRowsPerRequest), got ${n}`;

/** GET /healthz on a connection of its own; resolves with the status once the body is read. */
function healthz(): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/healthz", agent: false }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      })
      .on("error", reject);
  });
}

it("refuses a 4,000,000-row PredictIris with INVALID_ARGUMENT, while another client's /healthz and 1-row PredictIris are answered within 2 s", async () => {
  const big = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": -1,
  });
  const other = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
  });
  // Serialized once, up front: the client's own work is not what is measured.
  const body = Buffer.from(
    toBinary(PredictIrisRequestSchema, create(PredictIrisRequestSchema, { features: rows(HUGE_ROWS) })),
  );
  expect(body.length).toBeLessThan(64 * 1024 * 1024);
  try {
    await grpcUnary(other, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, { features: rows(1) }); // connected
    let settled = false;
    const started = performance.now();
    const huge = grpcUnary(big, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, {}, () => body)
      .then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      )
      .finally(() => (settled = true));
    // Probes, one after another, for as long as the huge request is in flight (and once more).
    const probes: { what: string; ms: number }[] = [];
    do {
      let t = performance.now();
      expect(await healthz()).toBe(200);
      probes.push({ what: "healthz", ms: performance.now() - t });
      t = performance.now();
      const res = await grpcUnary(other, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, {
        features: rows(1),
      });
      expect(fromTensorProto(res.result).shape).toEqual([1, 3]);
      probes.push({ what: "PredictIris, 1 row", ms: performance.now() - t });
    } while (!settled);
    const err = await huge;
    const tookMs = performance.now() - started;
    expect(probes.filter((p) => p.ms >= 2000)).toEqual([]);
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(grpcMessage(err)).toBe(tooMany(HUGE_ROWS));
    // Refused as it arrives: the time is the transfer of 61 MiB, not seconds of compute.
    expect(tookMs).toBeLessThan(5000);
  } finally {
    big.close();
    other.close();
  }
}, 60_000);

describe("the bound is the model's maxBatchSize (32) unless maxRowsPerRequest says otherwise", () => {
  it("32 rows are answered; 33 are refused over gRPC and Connect, naming the model, the field, the rows and the limit", async () => {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const ok = await grpcUnary(client, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, {
        features: rows(32),
      });
      expect(fromTensorProto(ok.result).shape).toEqual([32, 3]);
      const err = await grpcUnary(client, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, {
        features: rows(33),
      }).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(grpcMessage(err)).toBe(tooMany(33));
    } finally {
      client.close();
    }
    const connect = createClient(
      InferenceService,
      createConnectTransport({ baseUrl: server.url(), httpVersion: "1.1" }),
    );
    const err = await connect.predictIris({ features: rows(1000) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toBe(tooMany(1000));
  });
});
