// Requests that never end: the iris example's `generate` streams `maxTokens` words, so a
// client that asks for Infinity (or 1e9) would hold a stream and a share of the event loop
// for ever. The model bounds what a request may ask with its `validate` option; these tests
// send what a hostile client would, over gRPC (grpc-js, protobuf) and over Connect (JSON, by
// hand, as a client without a generated stub would), to a real server on port 0.
import * as http from "node:http";
import * as grpc from "@grpc/grpc-js";
import { createServer, type BlazeServer } from "@blazerpc/runtime";
import { app } from "../../examples/iris/models.js";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import {
  PredictGenerateRequestSchema,
  PredictGenerateResponseSchema,
} from "../../examples/iris/gen/iris/v1/iris_pb.js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { grpcMessage } from "../e2e/support.js";

const GENERATE = "/iris.v1.InferenceService/PredictGenerate";

/** What a server stream came to: the words it carried, and how it ended. */
interface StreamOutcome {
  words: string[];
  /** gRPC status code, or the Connect error code; undefined when the stream ended OK. */
  code: number | string | undefined;
  message: string | undefined;
}

let server: BlazeServer;
let port: number;
let client: grpc.Client;

beforeAll(async () => {
  server = createServer({ app, services: [InferenceServiceBinding], host: "127.0.0.1", port: 0 });
  await server.listen();
  port = server.address().port;
  client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await server.close();
});

/**
 * PredictGenerate over grpc-js with a 5 s deadline. A stream that would run long is cut at
 * its 2,000th word (cancelled), so a server that does not refuse fails the test quickly.
 */
function grpcGenerate(maxTokens: number): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(
      GENERATE,
      (m: ReturnType<typeof create<typeof PredictGenerateRequestSchema>>) =>
        Buffer.from(toBinary(PredictGenerateRequestSchema, m)),
      (b: Buffer) => fromBinary(PredictGenerateResponseSchema, b),
      create(PredictGenerateRequestSchema, { prompt: "hello", maxTokens }),
      { deadline: Date.now() + 5000 },
    );
    const words: string[] = [];
    call.on("data", (m: { result: string }) => {
      words.push(m.result);
      if (words.length === 2000) call.cancel();
    });
    call.on("error", (err: grpc.ServiceError) => resolve({ words, code: err.code, message: grpcMessage(err) }));
    call.on("end", () => resolve({ words, code: undefined, message: undefined }));
  });
}

/**
 * PredictGenerate as a Connect server stream with a JSON body (`application/connect+json`,
 * one enveloped request message), over HTTP/1.1. `body` is sent as written, so it may hold
 * what protobuf-es would never produce. The response is read up to its end-stream message
 * (or cut at 64 KiB, for a stream that does not end).
 */
function connectGenerate(body: string): Promise<StreamOutcome> {
  const json = Buffer.from(body);
  const envelope = Buffer.alloc(5);
  envelope.writeUInt32BE(json.length, 1);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: GENERATE,
        headers: {
          "content-type": "application/connect+json",
          "connect-protocol-version": "1",
          "connect-timeout-ms": "5000",
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          const all = Buffer.concat(chunks);
          const words: string[] = [];
          for (let at = 0; at + 5 <= all.length;) {
            const flags = all[at]!;
            const length = all.readUInt32BE(at + 1);
            if (at + 5 + length > all.length) break;
            const msg = JSON.parse(all.subarray(at + 5, at + 5 + length).toString()) as {
              result?: string;
              error?: { code: string; message: string };
            };
            at += 5 + length;
            if ((flags & 0x02) !== 0) return resolve({ words, code: msg.error?.code, message: msg.error?.message });
            words.push(msg.result ?? "");
          }
          resolve({ words, code: "no end-stream message", message: `HTTP ${res.statusCode}` });
        };
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          size += c.length;
          if (size > 64 * 1024) {
            req.destroy();
            finish();
          }
        });
        res.on("end", finish);
      },
    );
    req.on("error", (err) => (req.destroyed ? undefined : reject(err)));
    req.end(Buffer.concat([envelope, json]));
  });
}

const refusal = (shown: string) => `model "generate": maxTokens must be an integer from 0 to 1000, got ${shown}`;
/** The outcome with the words counted (a failure then shows the count, not thousands of words). */
const counted = (out: StreamOutcome) => ({ ...out, words: out.words.length });

describe("maxTokens out of bounds is refused with INVALID_ARGUMENT before a word is generated", () => {
  it.each([
    [Infinity, "Infinity"],
    [1e308, "1e+308"],
    [1e9, "1000000000"],
    [1001, "1001"],
    [-1, "-1"],
    [1.5, "1.5"],
    [NaN, "NaN"],
  ])("over gRPC (grpc-js): maxTokens %p", async (maxTokens, shown) => {
    const started = performance.now();
    const out = await grpcGenerate(maxTokens);
    expect(counted(out)).toEqual({ words: 0, code: grpc.status.INVALID_ARGUMENT, message: refusal(shown) });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it.each([
    ['"Infinity"', "Infinity"],
    ["1e308", "1e+308"],
    ["1e9", "1000000000"],
    ["-1", "-1"],
    ["1.5", "1.5"],
    ['"NaN"', "NaN"],
  ])("over Connect JSON: maxTokens %s", async (maxTokens, shown) => {
    const out = await connectGenerate(`{"prompt":"hello","maxTokens":${maxTokens}}`);
    expect(counted(out)).toEqual({ words: 0, code: "invalid_argument", message: refusal(shown) });
  });

  it("a prompt longer than 10,000 characters is refused too (the model hashes every character)", async () => {
    const out = await connectGenerate(JSON.stringify({ prompt: "x".repeat(10_001), maxTokens: 1 }));
    expect(counted(out)).toEqual({
      words: 0,
      code: "invalid_argument",
      message: 'model "generate": prompt may hold at most 10000 characters, got 10001',
    });
  });
});

describe("requests within bounds are served as before", () => {
  it.each([0, 3, 1000])("maxTokens %p streams that many words over gRPC and Connect JSON", async (maxTokens) => {
    const overGrpc = await grpcGenerate(maxTokens);
    expect(overGrpc.code).toBeUndefined();
    expect(overGrpc.words).toHaveLength(maxTokens);
    const overConnect = await connectGenerate(JSON.stringify({ prompt: "hello", maxTokens }));
    expect(overConnect).toEqual({ words: overGrpc.words, code: undefined, message: undefined });
  });
});
