// The execution engine through a real server and real @grpc/grpc-js clients: requests are
// stacked and the model is called once per batch (the sizes it saw are recorded by the
// model itself), deadlines and cancellations take requests out of the queue before they
// are computed, a full queue answers RESOURCE_EXHAUSTED, and a cancelled stream ends the
// model's generator.
import * as http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { fromTensorProto, toTensorProto, type Tensor } from "@blazerpc/tensor";
import { createApp, createServer, type BatchOptions, type BlazeServer } from "@blazerpc/runtime";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import {
  PredictGenerateRequestSchema,
  PredictIrisRequestSchema,
  PredictIrisResponseSchema,
} from "../../examples/iris/gen/iris/v1/iris_pb.js";
import { grpcMessage, grpcUnary } from "./support.js";

const IRIS = "/iris.v1.InferenceService/PredictIris";
const GENERATE = "/iris.v1.InferenceService/PredictGenerate";

interface Harness {
  server: BlazeServer;
  client: grpc.Client;
  /** Row counts of every batch, as the model function saw them. */
  seen: number[];
  /** First feature of every row the model computed. */
  computed: number[];
  finalized: { value: boolean };
  produced: { value: number };
}

/** An app with the iris schema whose model sums each row, records what it sees, and can be held. */
async function start(batch: BatchOptions, hold?: Promise<void> | (() => Promise<void> | undefined)): Promise<Harness> {
  const app = createApp({ name: "iris" });
  const seen: number[] = [];
  const computed: number[] = [];
  const finalized = { value: false };
  const produced = { value: 0 };
  app.model(
    "iris",
    { batch },
    async (features: Tensor<"float32", ["batch", 4]>): Promise<Tensor<"float32", ["batch", 3]>> => {
      const rows = features.shape[0]!;
      seen.push(rows);
      for (let r = 0; r < rows; r++) computed.push(features.data[r * 4]!);
      const wait = typeof hold === "function" ? hold() : hold;
      if (wait !== undefined) await wait;
      const out = new Float32Array(rows * 3);
      for (let r = 0; r < rows; r++) {
        const sum = features.data.subarray(r * 4, r * 4 + 4).reduce((a, b) => a + b, 0);
        out.set([sum, r, rows], r * 3);
      }
      return { dtype: "float32", shape: [rows, 3], data: out };
    },
  );
  app.model("generate", async function* (_prompt: string, maxTokens: number): AsyncGenerator<string> {
    try {
      for (let i = 0; i < maxTokens; i++) {
        produced.value++;
        await new Promise((r) => setTimeout(r, 2));
        yield `w${i}`;
      }
    } finally {
      finalized.value = true;
    }
  });
  const server = createServer({ app, services: [InferenceServiceBinding], port: 0 });
  await server.listen();
  const client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
  return { server, client, seen, computed, finalized, produced };
}

/** Resolves once `check` holds (polled every 5 ms, for at most 5 s). */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > 5000) throw new Error("condition not met within 5 s");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Requests queued for model "iris", from the server's own gauge. */
async function queueDepth(h: Harness): Promise<number> {
  const metric = await h.server.registry!.getSingleMetric("blazerpc_queue_depth")!.get();
  return metric.values.find((v) => v.labels.model === "iris")?.value ?? 0;
}

async function stop(h: Harness): Promise<void> {
  h.client.close();
  await h.server.close();
}

const request = (first: number, rows = 1) => ({
  features: toTensorProto({
    dtype: "float32",
    shape: [rows, 4],
    data: new Float32Array(Array.from({ length: rows * 4 }, (_, i) => (i % 4 === 0 ? first + i / 4 : 1))),
  }),
});

/** A PredictIris request for `first` as one gRPC frame (flag, length, message). */
const grpcFrameOf = (first: number) => {
  const message = toBinary(PredictIrisRequestSchema, create(PredictIrisRequestSchema, request(first)));
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
};

const call = (h: Harness, first: number, options: grpc.CallOptions = {}, rows = 1) =>
  new Promise<Tensor>((resolve, reject) => {
    h.client.makeUnaryRequest(
      IRIS,
      (m: ReturnType<typeof create<typeof PredictIrisRequestSchema>>) =>
        Buffer.from(toBinary(PredictIrisRequestSchema, m)),
      (b: Buffer) => fromTensorProto(grpcUnaryDecode(b)),
      create(PredictIrisRequestSchema, request(first, rows)),
      options,
      (err, res) => (err ? reject(err) : resolve(res!)),
    );
  });
function grpcUnaryDecode(b: Buffer) {
  // Decode the response message and return its result tensor proto.
  return fromBinary(PredictIrisResponseSchema, b).result;
}

const statusOf = (p: Promise<unknown>) =>
  p.then(
    () => ({ code: grpc.status.OK, message: "" }),
    (e: grpc.ServiceError) => ({ code: e.code, message: grpcMessage(e) }),
  );

describe("batching through the server", () => {
  it("stacks 64 concurrent calls into a few model calls, and every caller gets its own rows back", async () => {
    const h = await start({ maxBatchSize: 32, maxDelayMs: 20 });
    try {
      const results = await Promise.all(Array.from({ length: 64 }, (_, i) => call(h, i)));
      results.forEach((t, i) => {
        expect(t.shape).toEqual([1, 3]);
        expect((t.data as Float32Array)[0]).toBe(i + 3); // this request's own row: i + 1 + 1 + 1
      });
      expect(h.seen.reduce((a, b) => a + b, 0)).toBe(64);
      expect(Math.max(...h.seen)).toBeGreaterThan(1);
      expect(Math.max(...h.seen)).toBeLessThanOrEqual(32);
      expect(h.seen.length).toBeLessThan(64);
    } finally {
      await stop(h);
    }
  });

  it("a request may carry several rows; they stay together", async () => {
    const h = await start({ maxBatchSize: 32, maxDelayMs: 20 });
    try {
      const [a, b] = await Promise.all([call(h, 100, {}, 3), call(h, 200, {}, 2)]);
      expect(Array.from((a.data as Float32Array).filter((_, i) => i % 3 === 0))).toEqual([103, 104, 105]);
      expect(Array.from((b.data as Float32Array).filter((_, i) => i % 3 === 0))).toEqual([203, 204]);
      expect(h.seen).toEqual([5]);
    } finally {
      await stop(h);
    }
  });
});

describe("a batched model that returns the wrong row count", () => {
  it("fails every request of that batch with INTERNAL saying so, and the server keeps serving", async () => {
    const app = createApp({ name: "iris" });
    let calls = 0;
    app.model(
      "iris",
      { batch: { maxBatchSize: 8, maxDelayMs: 30 } },
      async (features: Tensor<"float32", ["batch", 4]>): Promise<Tensor<"float32", ["batch", 3]>> => {
        calls++;
        const rows = calls === 1 ? features.shape[0]! - 1 : features.shape[0]!; // one row short, the first time
        return { dtype: "float32", shape: [rows, 3], data: new Float32Array(rows * 3) };
      },
    );
    app.model("generate", async function* (): AsyncGenerator<string> {
      yield "x";
    });
    const server = createServer({ app, services: [InferenceServiceBinding], port: 0 });
    await server.listen();
    const client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
    const h = { server, client } as unknown as Harness;
    try {
      const [a, b] = await Promise.all([statusOf(call(h, 1)), statusOf(call(h, 2))]);
      const message =
        'model "iris" returned a result that does not fit its batch: model "iris"\'s result has 1 rows (shape [1, 3]) for a batch of 2 rows';
      expect(a).toEqual({ code: grpc.status.INTERNAL, message });
      expect(b).toEqual({ code: grpc.status.INTERNAL, message });
      expect(await statusOf(call(h, 3))).toEqual({ code: grpc.status.OK, message: "" });
      expect(calls).toBe(2);
    } finally {
      client.close();
      await server.close();
    }
  });
});

describe("deadlines, cancellation and backpressure over gRPC", () => {
  it("a request whose deadline passes while it is queued gets DEADLINE_EXCEEDED and is never computed", async () => {
    let release!: () => void;
    const h = await start({ maxBatchSize: 1, maxDelayMs: 0 }, new Promise<void>((r) => (release = r)));
    try {
      const busy = call(h, 1); // holds the model
      await new Promise((r) => setTimeout(r, 50));
      const late = statusOf(call(h, 2, { deadline: Date.now() + 100 }));
      expect((await late).code).toBe(grpc.status.DEADLINE_EXCEEDED);
      // The server's own deadline (from grpc-timeout) ends with the client's; give its
      // timer a moment, as a busy model would, before the model frees up.
      await new Promise((r) => setTimeout(r, 30));
      release();
      await busy;
      expect(await call(h, 3).then((t) => (t.data as Float32Array)[0])).toBe(6);
      expect(h.computed).toEqual([1, 3]);
    } finally {
      release();
      await stop(h);
    }
  });

  it("a request whose client cancels while it is queued is never computed", async () => {
    let release!: () => void;
    const h = await start({ maxBatchSize: 1, maxDelayMs: 0 }, new Promise<void>((r) => (release = r)));
    try {
      const busy = call(h, 1);
      await new Promise((r) => setTimeout(r, 50));
      const c = h.client.makeUnaryRequest(
        IRIS,
        (m: Buffer) => m,
        (b: Buffer) => b,
        Buffer.from(toBinary(PredictIrisRequestSchema, create(PredictIrisRequestSchema, request(2)))),
        () => undefined,
      );
      await new Promise((r) => setTimeout(r, 50));
      c.cancel();
      await new Promise((r) => setTimeout(r, 50));
      release();
      await busy;
      await call(h, 3);
      expect(h.computed).toEqual([1, 3]);
    } finally {
      release();
      await stop(h);
    }
  });

  it("a full queue answers RESOURCE_EXHAUSTED at once, and the queued requests still succeed", async () => {
    let release!: () => void;
    const h = await start(
      { maxBatchSize: 1, maxDelayMs: 0, queueCapacity: 2 },
      new Promise<void>((r) => (release = r)),
    );
    try {
      const busy = call(h, 1);
      await new Promise((r) => setTimeout(r, 50));
      const queued = [call(h, 2), call(h, 3)];
      await new Promise((r) => setTimeout(r, 50));
      const refused = await statusOf(call(h, 4));
      expect(refused).toEqual({
        code: grpc.status.RESOURCE_EXHAUSTED,
        message: 'model "iris" is at capacity: 2 requests queued (queueCapacity 2) — retry later',
      });
      release();
      await Promise.all([busy, ...queued]);
      expect(h.computed).toEqual([1, 2, 3]);
    } finally {
      release();
      await stop(h);
    }
  });

  it("a full queue refuses a call at the door, before reading it: headers in, body never sent, one trailers-only answer", async () => {
    let release!: () => void;
    const h = await start(
      { maxBatchSize: 1, maxDelayMs: 0, queueCapacity: 1 },
      new Promise<void>((r) => (release = r)),
    );
    const session = http2.connect(`http://127.0.0.1:${h.server.address().port}`);
    try {
      const busy = call(h, 1);
      await new Promise((r) => setTimeout(r, 50));
      const queued = call(h, 2);
      await new Promise((r) => setTimeout(r, 50));
      // A raw HTTP/2 gRPC call that sends its headers and keeps its body back: the server
      // answers at once, while the request is still open, with one header block that ends
      // the stream (the gRPC spec's Trailers-Only response): no call was built for it.
      const req = session.request(
        { ":method": "POST", ":path": IRIS, "content-type": "application/grpc", te: "trailers" },
        { endStream: false },
      );
      let trailers = false;
      req.on("trailers", () => (trailers = true));
      const answer = await new Promise<{ headers: http2.IncomingHttpHeaders; ended: boolean }>((resolve, reject) => {
        req.on("response", (headers, flags) => resolve({ headers, ended: (flags & 0x1) !== 0 }));
        req.on("error", reject);
      });
      expect(answer.ended).toBe(true);
      expect(answer.headers[":status"]).toBe(200);
      expect(answer.headers["content-type"]).toBe("application/grpc+proto");
      expect(answer.headers["grpc-status"]).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
      expect(String(answer.headers["grpc-message"])).toBe(
        'model "iris" is at capacity: 1 requests queued (queueCapacity 1) %E2%80%94 retry later',
      );
      expect(trailers).toBe(false);
      // Counted like any other call, though none was built for it.
      const requests = await h.server.registry!.getSingleMetric("blazerpc_requests_total")!.get();
      expect(
        requests.values.find((v) => v.labels.method === "PredictIris" && v.labels.code === "RESOURCE_EXHAUSTED")?.value,
      ).toBe(1);
      const rejections = await h.server.registry!.getSingleMetric("blazerpc_rejections_total")!.get();
      expect(rejections.values.find((v) => v.labels.model === "iris" && v.labels.reason === "queue_full")?.value).toBe(
        1,
      );
      expect(req.writableEnded).toBe(false); // we never sent the body
      req.close();
      release();
      await Promise.all([busy, queued]);
      expect(h.computed).toEqual([1, 2]);
    } finally {
      release();
      session.close();
      await stop(h);
    }
  });

  it("calls admitted at the door hold their places before they are read: a burst is judged against them, not an empty queue", async () => {
    let release!: () => void;
    const h = await start(
      { maxBatchSize: 1, maxDelayMs: 0, queueCapacity: 2 },
      new Promise<void>((r) => (release = r)),
    );
    const session = http2.connect(`http://127.0.0.1:${h.server.address().port}`);
    try {
      const busy = call(h, 1);
      await until(() => h.computed.includes(1));
      // Five calls whose headers arrive with no body yet: none of them can be queued (nothing
      // of them is read), yet only two places are left — the first two hold them.
      const reqs = [10, 11, 12, 13, 14].map(() =>
        session.request(
          { ":method": "POST", ":path": IRIS, "content-type": "application/grpc", te: "trailers" },
          { endStream: false },
        ),
      );
      const outcomes = reqs.map(
        (req) =>
          new Promise<{ status: string | undefined; trailersOnly: boolean }>((resolve, reject) => {
            let trailersOnly = false;
            req.on("response", (headers, flags) => {
              if ((flags & 0x1) !== 0) {
                trailersOnly = true;
                resolve({ status: String(headers["grpc-status"]), trailersOnly });
              }
            });
            req.on("trailers", (t) => resolve({ status: String(t["grpc-status"]), trailersOnly }));
            req.on("data", () => undefined);
            req.on("error", reject);
          }),
      );
      const refused = await Promise.all(outcomes.slice(2));
      expect(refused).toEqual(Array(3).fill({ status: String(grpc.status.RESOURCE_EXHAUSTED), trailersOnly: true }));
      // The two admitted send their bodies and are answered once the model is free.
      reqs.slice(0, 2).forEach((req, i) => req.end(grpcFrameOf(10 + i)));
      release();
      expect(await Promise.all(outcomes.slice(0, 2))).toEqual(Array(2).fill({ status: "0", trailersOnly: false }));
      await busy;
      expect(h.computed).toEqual([1, 10, 11]);
    } finally {
      release();
      session.close();
      await stop(h);
    }
  });

  it("a call whose deadline the queued work would outlast is refused at once, judging by the model's recent batches", async () => {
    let gate: Promise<void> | undefined;
    let open!: () => void;
    const closeGate = () => (gate = new Promise<void>((r) => (open = r)));
    // While teaching, every batch takes 150 ms from its start (not from when the call was
    // sent: a first call's connection set-up would eat into it).
    let teaching = false;
    const h = await start({ maxBatchSize: 1, maxDelayMs: 0 }, () =>
      teaching ? new Promise<void>((r) => setTimeout(r, 150)) : gate,
    );
    try {
      // Teach the batcher that a batch takes ~150 ms.
      teaching = true;
      await call(h, 1);
      teaching = false;
      // One batch running, one queued: ahead of a new call ~450 ms of work with its own.
      closeGate();
      const busy = call(h, 2);
      // By what the server saw, not by sleeping: on a busy machine 30 ms was not always enough.
      await until(() => h.computed.includes(2));
      const queued = call(h, 3);
      await until(async () => (await queueDepth(h)) === 1);
      const refused = await statusOf(call(h, 4, { deadline: Date.now() + 600 }));
      expect(refused.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(refused.message).toMatch(
        /^model "iris" cannot answer before the deadline: 1 requests are queued ahead, about \d+\.\d ms of work, and \d+\.\d ms are left$/,
      );
      // A call with room enough is admitted and answered.
      const roomy = call(h, 5, { deadline: Date.now() + 10_000 });
      gate = undefined;
      open();
      await Promise.all([busy, queued, roomy]);
      expect(h.computed).toEqual([1, 2, 3, 5]);
    } finally {
      gate = undefined;
      open?.();
      await stop(h);
    }
  });

  it("a client that cancels a stream ends the model's generator: its finally runs, nothing more is computed", async () => {
    const h = await start({ maxBatchSize: 1, maxDelayMs: 0 });
    try {
      const stream = h.client.makeServerStreamRequest(
        GENERATE,
        (m: Buffer) => m,
        (b: Buffer) => b,
        Buffer.from(
          toBinary(
            PredictGenerateRequestSchema,
            create(PredictGenerateRequestSchema, { prompt: "p", maxTokens: 100_000 }),
          ),
        ),
      );
      let got = 0;
      const ended = new Promise<void>((resolve) => {
        stream.on("data", () => {
          if (++got === 3) stream.cancel();
        });
        stream.on("error", () => resolve());
        stream.on("end", () => resolve());
      });
      await ended;
      for (let i = 0; i < 100 && !h.finalized.value; i++) await new Promise((r) => setTimeout(r, 10));
      expect(h.finalized.value).toBe(true);
      const producedAtEnd = h.produced.value;
      await new Promise((r) => setTimeout(r, 50));
      expect(h.produced.value).toBe(producedAtEnd);
      expect(producedAtEnd).toBeLessThan(1000);
    } finally {
      await stop(h);
    }
  });
});

// grpcUnary is kept for symmetry with the other e2e tests.
void grpcUnary;
