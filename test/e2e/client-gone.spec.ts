// A client that goes away in the middle of a server stream — a browser's "stop generating"
// button, a Connect client's abort, a grpc-js call cancelled — on every protocol: the call is
// CANCELLED in /metrics and in the request log (one line), and nothing else is printed (no
// `write EPIPE` stack trace). Real server on 127.0.0.1:0, real clients.
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { createApp, createServer, type BlazeServer } from "@blazerpc/runtime";
import { pino } from "pino";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import { InferenceService, PredictGenerateRequestSchema } from "../../examples/iris/gen/iris/v1/iris_pb.js";
import { parsePrometheusText } from "./prometheus-text.js";

const GENERATE = "/iris.v1.InferenceService/PredictGenerate";

describe("a client that goes away mid-stream", () => {
  let server: BlazeServer;
  const lines: Record<string, unknown>[] = [];
  let errors: unknown[][] = [];
  const consoleError = console.error;
  /** Messages each stream produced, by prompt: a stream still producing after its client left is a leak. */
  const produced = new Map<string, number>();

  beforeAll(async () => {
    const app = createApp({ name: "iris" });
    app.model("iris", async () => ({ dtype: "float32", shape: [1, 3], data: new Float32Array(3) }));
    // 200 words, 10 ms apart: about two seconds, far more than a test waits for.
    app.model("generate", async function* (prompt: string, maxTokens: number): AsyncGenerator<string> {
      for (let i = 0; i < maxTokens; i++) {
        await sleep(10);
        produced.set(prompt, (produced.get(prompt) ?? 0) + 1);
        yield `${prompt} ${i}`;
      }
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split("\n")) if (line !== "") lines.push(JSON.parse(line));
        done();
      },
    });
    server = createServer({ app, services: [InferenceServiceBinding], port: 0, log: pino(sink) });
    await server.listen();
    console.error = (...args: unknown[]) => void errors.push(args);
  });
  afterAll(async () => {
    console.error = consoleError;
    await server.close();
  });
  beforeEach(() => {
    errors = [];
  });

  /** The calls of PredictGenerate by protocol and code, from /metrics. */
  async function counted(): Promise<Record<string, number>> {
    const text = await (await fetch(`${server.url()}/metrics`)).text();
    const family = parsePrometheusText(text).get("blazerpc_requests_total");
    const out: Record<string, number> = {};
    for (const s of family?.samples ?? []) {
      if (s.labels.method !== "PredictGenerate" || s.value === 0) continue;
      out[`${s.labels.protocol} ${s.labels.code}`] = s.value;
    }
    return out;
  }

  /**
   * Waits until the request log holds the stream's line, and a moment more (for a second line
   * that must not come); checks that the model's generator stopped with the call.
   */
  async function logged(prompt: string): Promise<Record<string, unknown>[]> {
    const started = Date.now();
    while (Date.now() - started < 3000 && !lines.some((l) => l.method === "PredictGenerate")) await sleep(50);
    await sleep(200);
    const stopped = produced.get(prompt);
    await sleep(100);
    expect(produced.get(prompt)).toBe(stopped);
    expect(stopped).toBeLessThan(200);
    return lines.filter((l) => l.method === "PredictGenerate");
  }

  async function connectStream(transport: ReturnType<typeof createConnectTransport>, prompt: string): Promise<number> {
    const client = createClient(InferenceService, transport);
    const abort = new AbortController();
    let got = 0;
    try {
      for await (const _ of client.predictGenerate({ prompt, maxTokens: 200 }, { signal: abort.signal })) {
        if (++got === 3) abort.abort();
      }
    } catch {
      // The abort, as the client sees it.
    }
    return got;
  }

  it.each([
    ["connect", "1.1"],
    ["connect", "2"],
    ["grpc-web", "1.1"],
    ["grpc-web", "2"],
  ] as const)("%s over HTTP/%s: CANCELLED, one log line, nothing printed", async (protocol, httpVersion) => {
    lines.length = 0;
    const before = await counted();
    const options = { baseUrl: server.url(), httpVersion } as const;
    const transport = protocol === "connect" ? createConnectTransport(options) : createGrpcWebTransport(options);
    const prompt = `${protocol}-${httpVersion}`;
    expect(await connectStream(transport, prompt)).toBe(3);
    const log = await logged(prompt);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ code: "CANCELLED", protocol });
    const after = await counted();
    expect((after[`${protocol} CANCELLED`] ?? 0) - (before[`${protocol} CANCELLED`] ?? 0)).toBe(1);
    expect(after[`${protocol} INTERNAL`] ?? 0).toBe(before[`${protocol} INTERNAL`] ?? 0);
    expect(errors).toEqual([]);
  });

  it("gRPC (grpc-js, call.cancel()): CANCELLED, one log line, nothing printed", async () => {
    lines.length = 0;
    const before = await counted();
    const client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
    try {
      const got = await new Promise<number>((resolve) => {
        const call = client.makeServerStreamRequest(
          GENERATE,
          (m: unknown) => Buffer.from(toBinary(PredictGenerateRequestSchema, m as never)),
          (b: Buffer) => b,
          create(PredictGenerateRequestSchema, { prompt: "grpc", maxTokens: 200 }),
        );
        let n = 0;
        call.on("data", () => {
          if (++n === 3) call.cancel();
        });
        call.on("error", () => resolve(n));
        call.on("end", () => resolve(n));
      });
      expect(got).toBe(3);
      const log = await logged("grpc");
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ code: "CANCELLED", protocol: "grpc" });
      const after = await counted();
      expect((after["grpc CANCELLED"] ?? 0) - (before["grpc CANCELLED"] ?? 0)).toBe(1);
      expect(after["grpc INTERNAL"] ?? 0).toBe(before["grpc INTERNAL"] ?? 0);
      expect(errors).toEqual([]);
    } finally {
      client.close();
    }
  });
});
