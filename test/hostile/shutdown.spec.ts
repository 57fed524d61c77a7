// Streams still running when the shutdown grace period ends get the documented, retryable
// UNAVAILABLE "the server is shutting down" — on the native gRPC path and on connect-node's
// gRPC, gRPC-Web and Connect — even while the model is suspended between two messages.
// Before, the trailers waited for the model's next message, which never came before the
// connections were cut: the clients saw `INTERNAL: RST_STREAM with code 0`.
import { create, toBinary, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { createApp, createServer, type BlazeServer } from "@blazerpc/runtime";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import {
  InferenceService,
  PredictGenerateRequestSchema,
  PredictGenerateResponseSchema,
} from "../../examples/iris/gen/iris/v1/iris_pb.js";
import { grpcMessage } from "../e2e/support.js";

const STREAMS = 4;

/**
 * An app with the iris schema whose `generate` yields one word at once, then waits on a
 * gate that only the test opens (after the server closed): a model suspended between two
 * messages for longer than the grace period, as a slow generator is.
 */
function slowApp() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let started = 0;
  let finished = 0;
  let allFinished!: () => void;
  const ended = new Promise<void>((resolve) => (allFinished = resolve));
  const app = createApp({ name: "iris" });
  app.model("iris", async (features) => ({
    dtype: "float32",
    shape: [features.shape[0]!, 3],
    data: new Float32Array(features.shape[0]! * 3),
  }));
  app.model("generate", async function* (prompt: string) {
    started++;
    try {
      yield `${prompt}-0`;
      for (let i = 1; ; i++) {
        await gate;
        yield `${prompt}-${i}`;
      }
    } finally {
      if (++finished === STREAMS) allFinished();
    }
  });
  return { app, release: open, started: () => started, ended };
}

interface Outcome {
  words: string[];
  code: number | undefined;
  message: string | undefined;
}

/** A grpc-js stream; resolves with what it got once it has ended (first word: `onFirst`). */
function grpcStream(client: grpc.Client, prompt: string, onFirst: () => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(
      "/iris.v1.InferenceService/PredictGenerate",
      (m: Uint8Array) => Buffer.from(m),
      (b: Buffer) => fromBinary(PredictGenerateResponseSchema, b),
      toBinary(PredictGenerateRequestSchema, create(PredictGenerateRequestSchema, { prompt, maxTokens: 1_000_000 })),
    );
    const words: string[] = [];
    call.on("data", (m: { result: string }) => {
      words.push(m.result);
      if (words.length === 1) onFirst();
    });
    call.on("error", (e: grpc.ServiceError) => resolve({ words, code: e.code, message: grpcMessage(e) }));
    call.on("end", () => resolve({ words, code: undefined, message: undefined }));
  });
}

/** A connect-node client stream; resolves with what it got once it has ended. */
async function connectStream(transport: Transport, prompt: string, onFirst: () => void): Promise<Outcome> {
  const client = createClient(InferenceService, transport);
  const words: string[] = [];
  try {
    for await (const m of client.predictGenerate({ prompt, maxTokens: 1_000_000 })) {
      words.push(m.result);
      if (words.length === 1) onFirst();
    }
    return { words, code: undefined, message: undefined };
  } catch (e) {
    const err = ConnectError.from(e);
    return { words, code: err.code, message: err.rawMessage };
  }
}

type Opener = (server: BlazeServer, prompt: string, onFirst: () => void) => Promise<Outcome>;

const grpcClients: grpc.Client[] = [];
afterEach(() => {
  for (const c of grpcClients.splice(0)) c.close();
});

const viaGrpcJs: Opener = (() => {
  let client: grpc.Client | undefined;
  let port = 0;
  return (server, prompt, onFirst) => {
    // One client (one HTTP/2 connection) for all the streams of a server.
    if (client === undefined || port !== server.address().port) {
      port = server.address().port;
      client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      grpcClients.push(client);
    }
    return grpcStream(client, prompt, onFirst);
  };
})();

const cases: [string, boolean, Opener, number][] = [
  ["native gRPC (grpc-js)", true, viaGrpcJs, grpc.status.UNAVAILABLE],
  ["connect-node gRPC (grpc-js)", false, viaGrpcJs, grpc.status.UNAVAILABLE],
  [
    "connect-node gRPC (connect-node client)",
    false,
    (s, p, f) => connectStream(createGrpcTransport({ baseUrl: s.url() }), p, f),
    Code.Unavailable,
  ],
  [
    "gRPC-Web over HTTP/1.1",
    true,
    (s, p, f) => connectStream(createGrpcWebTransport({ baseUrl: s.url(), httpVersion: "1.1" }), p, f),
    Code.Unavailable,
  ],
  [
    "gRPC-Web over HTTP/2",
    true,
    (s, p, f) => connectStream(createGrpcWebTransport({ baseUrl: s.url(), httpVersion: "2" }), p, f),
    Code.Unavailable,
  ],
  [
    "Connect over HTTP/1.1",
    true,
    (s, p, f) => connectStream(createConnectTransport({ baseUrl: s.url(), httpVersion: "1.1" }), p, f),
    Code.Unavailable,
  ],
  [
    "Connect over HTTP/2",
    true,
    (s, p, f) => connectStream(createConnectTransport({ baseUrl: s.url(), httpVersion: "2" }), p, f),
    Code.Unavailable,
  ],
];

describe("streams past the shutdown grace period", () => {
  it.each(cases)(
    '%s: every stream ends UNAVAILABLE "the server is shutting down"',
    async (_name, fastPath, open, unavailable) => {
      const { app, release, started: startedModels, ended } = slowApp();
      const server = createServer({ app, services: [InferenceServiceBinding], port: 0, closeGraceMs: 300, fastPath });
      await server.listen();
      try {
        let firsts = 0;
        let allStarted!: () => void;
        const started = new Promise<void>((resolve) => (allStarted = resolve));
        const streams = Array.from({ length: STREAMS }, (_, i) =>
          open(server, `s${i}`, () => {
            if (++firsts === STREAMS) allStarted();
          }),
        );
        await started;
        await server.close();
        const outcomes = await Promise.all(streams);
        expect(outcomes).toEqual(
          Array.from({ length: STREAMS }, (_, i) => ({
            words: [`s${i}-0`],
            code: unavailable,
            message: "the server is shutting down",
          })),
        );
        expect(startedModels()).toBe(STREAMS);
      } finally {
        release();
        await server.close();
      }
      // Once the model moves on, its generators are ended (their finally runs): nothing keeps computing.
      await ended;
    },
  );
});
