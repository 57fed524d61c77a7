// Finding 1 of the hostile-input review: request bodies whose decoding costs far more than
// their bytes. A PredictIris of millions of unknown fields (`28 00`, 2 bytes each) made
// protobuf-es keep an object per field (62 MiB → 4.5 GB, the process died); a tensor shape
// of 16M dims a bigint per dim; Connect JSON the same through JSON.parse. Now every message
// is held to readMaxFields before it is decoded, on every protocol. Against `blaze serve`
// in its own process on default settings: each attack is refused with RESOURCE_EXHAUSTED,
// a second client is answered within 2 s meanwhile, and the server's RSS stays bounded.
import * as fs from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { PredictIrisRequestSchema, PredictIrisResponseSchema } from "../../examples/iris/gen/iris/v1/iris_pb.js";
import { grpcUnary, startBlaze, type BlazeProcess } from "../e2e/support.js";

const IRIS = "/iris.v1.InferenceService/PredictIris";
const MiB = 1024 * 1024;

/** The server's resident memory, in MB; Infinity once the process is gone (the old code died here). */
const rssMb = (pid: number) => {
  const status = fs.existsSync(`/proc/${pid}/status`) ? fs.readFileSync(`/proc/${pid}/status`, "utf8") : "";
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? Infinity : Number(kb) / 1024;
};

/** A valid PredictIris request (one row), then `n` unknown varint fields. */
function unknownFieldsBody(n: number): Buffer {
  const valid = toBinary(
    PredictIrisRequestSchema,
    create(PredictIrisRequestSchema, { features: { shape: [1n, 4n], dtype: "float32", data: new Uint8Array(16) } }),
  );
  const body = Buffer.alloc(valid.byteLength + 2 * n);
  body.set(valid);
  for (let i = 0; i < n; i++) body[valid.byteLength + 2 * i] = 0x28; // field 5, varint 0
  return body;
}

/** A PredictIris whose tensor has a shape of `dims` dims (each 1), packed: 1 byte a dim. */
function hugeShapeBody(dims: number): Buffer {
  const varint = (n: number) => {
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return out;
  };
  const shape = Buffer.concat([Buffer.from([0x0a, ...varint(dims)]), Buffer.alloc(dims, 1)]);
  const tensor = Buffer.concat([shape, Buffer.from([0x12, 7]), Buffer.from("float32")]);
  return Buffer.concat([Buffer.from([0x0a, ...varint(tensor.byteLength)]), tensor]);
}

const grpcFrame = (body: Buffer) => {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.byteLength, 1);
  return Buffer.concat([head, body]);
};

/** One raw HTTP/2 POST; resolves with the status and trailers (or headers, for a trailers-only answer). */
function h2Post(
  url: string,
  path: string,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer,
): Promise<{ status: number; grpcStatus?: string; grpcMessage?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, ...headers });
    let status = 0;
    let grpcStatus: string | undefined;
    let grpcMessage: string | undefined;
    const chunks: Buffer[] = [];
    req.on("response", (h) => {
      status = Number(h[":status"]);
      grpcStatus ??= h["grpc-status"] as string | undefined;
      grpcMessage ??= h["grpc-message"] as string | undefined;
    });
    req.on("trailers", (t) => {
      grpcStatus = t["grpc-status"] as string | undefined;
      grpcMessage = t["grpc-message"] as string | undefined;
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", reject);
    req.on("close", () => {
      session.close();
      // gRPC-Web: the trailers are the body's last frame.
      const text = Buffer.concat(chunks).toString("latin1");
      grpcStatus ??= /grpc-status: (\d+)\r\n/.exec(text)?.[1];
      grpcMessage ??= /grpc-message: (.*)\r\n/.exec(text)?.[1];
      resolve({
        status,
        ...(grpcStatus !== undefined ? { grpcStatus } : {}),
        ...(grpcMessage !== undefined ? { grpcMessage: decodeURIComponent(grpcMessage) } : {}),
        body: Buffer.concat(chunks).toString(),
      });
    });
    req.end(body);
  });
}

/** One HTTP/1.1 POST; resolves with the status and body. */
function h1Post(
  port: number,
  path: string,
  contentType: string,
  body: Buffer | string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path, method: "POST", headers: { "content-type": contentType } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("hostile input: decoding work bounded per request (blaze serve, default settings)", () => {
  let blaze: BlazeProcess;
  let client: grpc.Client;
  let baseline: number;

  /** A well-behaved client's calls (a prediction, /healthz) while `attack` runs: each answered within 2 s. */
  async function duringAttack<T>(attack: Promise<T>): Promise<T> {
    let done = false;
    const settled = attack.finally(() => (done = true));
    const latencies: number[] = [];
    do {
      const started = Date.now();
      const res = await grpcUnary(client, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, {
        features: { shape: [1n, 4n], dtype: "float32", data: new Uint8Array(16) },
      });
      expect(res.result?.shape).toEqual([1n, 3n]);
      const health = await fetch(`${blaze.url}/healthz`);
      expect(health.status).toBe(200);
      latencies.push(Date.now() - started);
      await new Promise((r) => setTimeout(r, 20));
    } while (!done);
    expect(Math.max(...latencies)).toBeLessThan(2000);
    return settled;
  }

  beforeAll(async () => {
    blaze = await startBlaze(["examples/iris/models.ts", "--port", "0"]);
    client = new grpc.Client(`127.0.0.1:${blaze.port}`, grpc.credentials.createInsecure(), {
      "grpc.max_send_message_length": -1,
    });
    // Warm up both paths before the baseline.
    await grpcUnary(client, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, {
      features: { shape: [1n, 4n], dtype: "float32", data: new Uint8Array(16) },
    });
    baseline = rssMb(blaze.child.pid!);
  }, 90_000);
  afterAll(async () => {
    client?.close();
    blaze?.child.kill("SIGKILL");
    await blaze?.exited;
  });

  const refusedForFields = expect.stringMatching(/^message holds more than 100000 fields .*readMaxFields 100000$/);

  it("refuses 31M unknown fields (62 MiB) over gRPC with RESOURCE_EXHAUSTED, and keeps serving", async () => {
    const body = grpcFrame(unknownFieldsBody(31_000_000));
    const r = await duringAttack(h2Post(blaze.url, IRIS, { "content-type": "application/grpc", te: "trailers" }, body));
    expect(r).toMatchObject({ status: 200, grpcStatus: "8", grpcMessage: refusedForFields });
    expect(rssMb(blaze.child.pid!)).toBeLessThan(baseline + 400);
  });

  it("refuses them on connect-node's protocols too: gRPC-Web and Connect binary", async () => {
    const body = unknownFieldsBody(8_000_000);
    const web = await duringAttack(
      h2Post(blaze.url, IRIS, { "content-type": "application/grpc-web+proto" }, grpcFrame(body)),
    );
    expect(web).toMatchObject({ status: 200, grpcStatus: "8", grpcMessage: refusedForFields });
    const connect = await duringAttack(h1Post(blaze.port, IRIS, "application/proto", body));
    expect(connect.status).toBe(429);
    expect(JSON.parse(connect.body)).toEqual({ code: "resource_exhausted", message: refusedForFields });
  });

  it("refuses a tensor shape of 16M dims before a bigint is made", async () => {
    const r = await duringAttack(
      h2Post(
        blaze.url,
        IRIS,
        { "content-type": "application/grpc", te: "trailers" },
        grpcFrame(hugeShapeBody(16 * MiB)),
      ),
    );
    expect(r).toMatchObject({ grpcStatus: "8", grpcMessage: refusedForFields });
  });

  it("refuses Connect JSON with an 8M-element shape before JSON.parse", async () => {
    const json = `{"features":{"dtype":"float32","shape":[${"1,".repeat(8 * MiB)}1],"data":""}}`;
    const r = await duringAttack(h1Post(blaze.port, IRIS, "application/json", json));
    expect(r.status).toBe(429);
    expect(JSON.parse(r.body)).toEqual({ code: "resource_exhausted", message: refusedForFields });
  });

  it("answers a shape of 65 dims (under the field limit) with INVALID_ARGUMENT naming the field", async () => {
    const r = await h2Post(
      blaze.url,
      IRIS,
      { "content-type": "application/grpc", te: "trailers" },
      grpcFrame(hugeShapeBody(65)),
    );
    expect(r).toMatchObject({ grpcStatus: "3", grpcMessage: "features: shape has 65 dims, more than the 64 allowed" });
  });

  it("holds memory bounded under 16 concurrent 4 MiB calls of unknown fields, and gives it back", async () => {
    const body = grpcFrame(unknownFieldsBody(2 * MiB));
    let peak = 0;
    const sample = setInterval(() => (peak = Math.max(peak, rssMb(blaze.child.pid!))), 20);
    const results = await duringAttack(
      Promise.all(
        Array.from({ length: 16 }, () =>
          h2Post(blaze.url, IRIS, { "content-type": "application/grpc", te: "trailers" }, body),
        ),
      ),
    );
    clearInterval(sample);
    for (const r of results) expect(r.grpcStatus).toBe("8");
    // Was 1.54 GB. The bodies themselves (64 MiB together) are buffered while they arrive.
    expect(peak).toBeLessThan(baseline + 300);
    const deadline = Date.now() + 30_000;
    while (rssMb(blaze.child.pid!) > baseline + 100 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 250));
    expect(rssMb(blaze.child.pid!)).toBeLessThan(baseline + 100);
  });
});
