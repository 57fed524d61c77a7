// Differential suite of the native Connect path. Every case makes the same Connect unary
// call (`POST`, `application/json` or `application/proto`) to two servers of the same app
// (test/e2e/fixtures/diff), one with `fastPath: true` (the native Connect path takes it) and
// one with `fastPath: false` (connect-node, the reference), and asserts that what the client
// sees is identical: HTTP status, response headers (`date` masked, `trailer-*` included) and
// the body (JSON as text; binary and compressed bodies decoded, as bytes). Over HTTP/1.1 with
// node:http, over HTTP/2 with a raw node:http2 client, and with connect-es's own client.
// A few absolute assertions per case (the status expected, the message echoed) make sure that
// both paths breaking the same way still fails; "the two servers" checks that the
// fastPath: true server really serves these calls natively.
import * as http from "node:http";
import * as zlib from "node:zlib";
import {
  create,
  fromBinary,
  toBinary,
  toJsonString,
  type DescMessage,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { toTensorProto } from "@blazerpc/tensor";
import type { BlazeServer, ServerOptions } from "@blazerpc/runtime";
import { app } from "./fixtures/diff/models.js";
import {
  InferenceService,
  PredictEchoRequestSchema,
  PredictEchoResponseSchema,
  PredictFailRequestSchema,
  PredictTensorRequestSchema,
} from "./fixtures/diff/gen/diff/v1/diff_pb.js";
import { InferenceServiceBinding } from "./fixtures/diff/gen/diff/v1/diff_blaze.js";
import {
  echoHeaders,
  probes,
  closePair,
  describeBytes,
  expectSame,
  onBoth,
  pseudoRandomBytes,
  rawCall,
  selfCheck,
  startPair,
  type Pair,
} from "./differential.js";

const SERVICE = "/diff.v1.InferenceService/";
const ECHO = `${SERVICE}PredictEcho`;
const TENSOR = `${SERVICE}PredictTensor`;
const FAIL = `${SERVICE}PredictFail`;
const SLOW = `${SERVICE}PredictSlow`;
const INVALID = `${SERVICE}PredictInvalid`;
const BAD_SCALAR = `${SERVICE}PredictBadScalar`;
const T = 15_000;

const enc = <D extends DescMessage>(schema: D, init: MessageInitShape<D>): Buffer =>
  Buffer.from(toBinary(schema, create(schema, init)));
const json = <D extends DescMessage>(schema: D, init: MessageInitShape<D>): string =>
  toJsonString(schema, create(schema, init));

const base: ServerOptions = { app, services: [InferenceServiceBinding] };
let main: Pair;
let intercepted: Pair;
let limited: Pair;
let authed: Pair;

beforeAll(async () => {
  [main, intercepted, limited, authed] = await Promise.all([
    startPair(base),
    startPair({ ...base, interceptors: [echoHeaders] }),
    startPair({ ...base, readMaxBytes: 1024, readMaxFields: 50 }),
    startPair({ ...base, auth: { tokens: ["s3cret"] } }),
  ]);
}, T);

afterAll(async () => {
  await Promise.all([closePair(main), closePair(intercepted), closePair(limited), closePair(authed)]);
}, T);

// ---------------------------------------------------------------------------------------
// Clients

interface H1Request {
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body chunked (no content-length). */
  chunked?: boolean;
  /** Destroy the request this long after it was sent. */
  cancelAfterMs?: number;
}

/** What an HTTP client sees of one response. */
interface Outcome {
  status: number;
  headers: Record<string, unknown>;
  /** JSON bodies as text; anything else (decompressed when `content-encoding` says so) as bytes. */
  body: string;
}

const VOLATILE = new Set(["date", "keep-alive", "connection"]);

function outcomeOf(status: number, headers: Record<string, unknown>, raw: Buffer): Outcome {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(headers).sort()) if (!VOLATILE.has(k)) out[k] = headers[k];
  const encoding = headers["content-encoding"];
  const bytes = encoding === "gzip" ? zlib.gunzipSync(raw) : encoding === "br" ? zlib.brotliDecompressSync(raw) : raw;
  const type = String(headers["content-type"] ?? "");
  return {
    status,
    headers: out,
    body: type.startsWith("application/json") ? bytes.toString("utf8") : describeBytes(bytes),
  };
}

/** One HTTP/1.1 request on a fresh connection. */
function h1(server: BlazeServer, request: H1Request): Promise<Outcome> {
  const { path, headers = {}, body = "", chunked = false, cancelAfterMs } = request;
  const data = typeof body === "string" ? Buffer.from(body) : body;
  return new Promise((resolve, reject) => {
    const req = http.request(
      server.url() + path,
      {
        method: "POST",
        agent: false,
        headers: {
          "content-type": "application/json",
          ...(chunked ? { "transfer-encoding": "chunked" } : { "content-length": String(data.length) }),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(outcomeOf(res.statusCode!, res.headers, Buffer.concat(chunks))));
        res.on("error", reject);
      },
    );
    req.on("error", (e) =>
      cancelAfterMs !== undefined ? resolve({ status: 0, headers: {}, body: "cancelled" }) : reject(e),
    );
    req.setTimeout(5000, () => req.destroy(new Error("no answer within 5 s")));
    if (chunked && data.length > 0) {
      req.write(data.subarray(0, data.length >> 1));
      setTimeout(() => req.end(data.subarray(data.length >> 1)), 10);
    } else req.end(data);
    if (cancelAfterMs !== undefined) setTimeout(() => req.destroy(), cancelAfterMs);
  });
}

/** The same HTTP/1.1 request to both servers: asserts equal outcomes, returns the reference one. */
async function same(pair: Pair, what: string, request: H1Request): Promise<Outcome> {
  const outcomes = await onBoth(pair, (server) => h1(server, request));
  return expectSame(`${what} (HTTP/1.1)`, outcomes);
}

/** The same request over HTTP/2 (a raw node:http2 client) to both servers. */
async function sameH2(pair: Pair, what: string, request: H1Request): Promise<Outcome> {
  const outcomes = await onBoth(pair, async (server) => {
    const { outcome, body } = await rawCall(server, {
      path: request.path,
      headers: { "content-type": "application/json", te: null, ...request.headers },
      body: typeof request.body === "string" ? Buffer.from(request.body) : (request.body ?? Buffer.alloc(0)),
    });
    const { ":status": status, ...headers } = outcome.headers ?? {};
    return outcomeOf(Number(status), headers, body);
  });
  return expectSame(`${what} (HTTP/2)`, outcomes);
}

const errorOf = (o: Outcome) => JSON.parse(o.body) as { code: string; message?: string; details?: unknown[] };

// ---------------------------------------------------------------------------------------

describe("the two servers", () => {
  it(
    "the fastPath: true server answers Connect unary calls natively, the other through connect-node",
    async () => {
      for (const [type, body] of [
        ["application/json", json(PredictEchoRequestSchema, { data: Buffer.from("hi") })],
        ["application/proto", enc(PredictEchoRequestSchema, { data: Buffer.from("hi") })],
      ] as const) {
        await onBoth(intercepted, (server, side) =>
          h1(server, { path: ECHO, body, headers: { "content-type": type, "x-diff-probe": `${side}-${type}` } }),
        );
        expect(probes.get(`fast-${type}`)).toBe(selfCheck ? "connect-node" : "native");
        expect(probes.get(`ref-${type}`)).toBe("connect-node");
      }
    },
    T,
  );
});

describe("unary calls that succeed", () => {
  it(
    "echo as JSON (charset variants), as binary, small, empty and 200 KiB",
    async () => {
      for (const size of [0, 5, 200 * 1024]) {
        const data = pseudoRandomBytes(size, size + 1);
        for (const type of ["application/json", "application/json; charset=utf-8", "application/JSON;charset=UTF8"]) {
          const o = await same(main, `echo ${size} B as ${type}`, {
            path: ECHO,
            headers: { "content-type": type },
            body: json(PredictEchoRequestSchema, { data }),
          });
          expect(o.status).toBe(200);
          expect(o.headers["content-type"]).toBe("application/json");
          expect(Buffer.from((JSON.parse(o.body) as { result?: string }).result ?? "", "base64")).toEqual(data);
        }
        const o = await same(main, `echo ${size} B as proto`, {
          path: ECHO,
          headers: { "content-type": "application/proto" },
          body: enc(PredictEchoRequestSchema, { data }),
        });
        expect(o.status).toBe(200);
        expect(o.headers["content-type"]).toBe("application/proto");
      }
    },
    T,
  );

  it(
    "a tensor as JSON; unknown JSON fields are ignored; the same calls over HTTP/2",
    async () => {
      const tensor = toTensorProto({ dtype: "float32", shape: [3], data: new Float32Array([1, 2.5, -3]) });
      const body = json(PredictTensorRequestSchema, { t: tensor });
      const o = await same(main, "tensor", { path: TENSOR, body });
      expect(o.status).toBe(200);
      const extra = JSON.stringify({ ...JSON.parse(body), notAField: [1, 2] });
      expect((await same(main, "unknown JSON field", { path: TENSOR, body: extra })).status).toBe(200);
      expect((await sameH2(main, "tensor", { path: TENSOR, body })).status).toBe(200);
      const bin = await sameH2(main, "echo as proto", {
        path: ECHO,
        headers: { "content-type": "application/proto" },
        body: enc(PredictEchoRequestSchema, { data: Buffer.from("h2") }),
      });
      expect(bin.status).toBe(200);
    },
    T,
  );

  it(
    "connect-es's client, JSON and binary, HTTP/1.1 and HTTP/2",
    async () => {
      for (const httpVersion of ["1.1", "2"] as const) {
        for (const useBinaryFormat of [false, true]) {
          const outcomes = await onBoth(main, async (server) => {
            const client = createClient(
              InferenceService,
              createConnectTransport({ baseUrl: server.url(), httpVersion, useBinaryFormat }),
            );
            const res = await client.predictEcho({ data: Buffer.from("connect-es") });
            const failed = await client.predictFail({ code: Code.NotFound, message: "nope: 100%" }).then(
              () => undefined,
              (e: unknown) => {
                const err = ConnectError.from(e);
                return {
                  code: err.code,
                  message: err.rawMessage,
                  metadata: [...err.metadata],
                  details: err.details.length,
                };
              },
            );
            return { result: Buffer.from(res.result).toString(), failed };
          });
          const o = expectSame(`connect-es ${httpVersion} binary=${useBinaryFormat}`, outcomes);
          expect(o.result).toBe("connect-es");
          expect(o.failed?.code).toBe(Code.NotFound);
        }
      }
    },
    T,
  );
});

describe("errors", () => {
  it(
    "a model's errors, every code: status, metadata headers, JSON error with details",
    async () => {
      for (const code of [-1, 0, ...Array.from({ length: 16 }, (_, i) => i + 1)]) {
        for (const type of ["application/json", "application/proto"]) {
          const body =
            type === "application/json"
              ? json(PredictFailRequestSchema, { code, message: `failed: ${code}, 100% "quoted"` })
              : enc(PredictFailRequestSchema, { code, message: `failed: ${code}, 100% "quoted"` });
          const o = await same(main, `fail ${code} ${type}`, { path: FAIL, headers: { "content-type": type }, body });
          expect(o.headers["content-type"]).toBe("application/json");
          expect(o.status).toBeGreaterThanOrEqual(400);
          if (code > 0) {
            expect(errorOf(o).message).toBe(`failed: ${code}, 100% "quoted"`);
            expect(o.headers["x-error-code"]).toBe(String(code));
            expect(errorOf(o).details).toHaveLength(2);
          }
        }
      }
    },
    T,
  );

  it(
    "results that do not fit the declared type; a message longer than the error limit",
    async () => {
      for (const kind of ["dtype", "shape", "missing", "ok"]) {
        const o = await same(main, `invalid ${kind}`, { path: INVALID, body: JSON.stringify({ kind }) });
        expect(o.status).toBe(kind === "ok" ? 200 : 500);
      }
      const bad = await same(main, "bad scalar", { path: BAD_SCALAR, body: JSON.stringify({ text: "x" }) });
      expect(bad.status).toBe(500);
      const long = await same(main, "long message", {
        path: FAIL,
        body: JSON.stringify({ code: 3, message: "é".repeat(20_000) }),
      });
      expect(errorOf(long).message).toMatch(/message cut/);
    },
    T,
  );

  it(
    "malformed bodies: not JSON, a field of the wrong type, a lone surrogate, binary garbage, empty",
    async () => {
      const cases: [string, H1Request, number][] = [
        ["not JSON", { path: ECHO, body: "{nope" }, 400],
        ["wrong type", { path: FAIL, body: JSON.stringify({ code: "many" }) }, 400],
        ["lone surrogate", { path: FAIL, body: '{"code": 3, "message": "\\ud800"}' }, 400],
        [
          "garbage proto",
          { path: ECHO, headers: { "content-type": "application/proto" }, body: Buffer.from([0xff, 0xff, 0xff]) },
          500,
        ],
        ["empty JSON body", { path: ECHO, body: "" }, 400],
        ["empty proto body", { path: ECHO, headers: { "content-type": "application/proto" }, body: "" }, 200],
      ];
      for (const [what, request, status] of cases) {
        const o = await same(main, what, request);
        expect([what, o.status]).toEqual([what, status]);
      }
    },
    T,
  );
});

describe("limits, compression, deadlines, auth, interceptors", () => {
  it(
    "readMaxBytes (by content-length, and chunked) and readMaxFields",
    async () => {
      const big = json(PredictEchoRequestSchema, { data: pseudoRandomBytes(2000) });
      const byLength = await same(limited, "over readMaxBytes", { path: ECHO, body: big });
      expect(errorOf(byLength).code).toBe("resource_exhausted");
      const fields = JSON.stringify({ code: 3, message: "x", extra: Array.from({ length: 60 }, (_, i) => i) });
      expect(errorOf(await same(limited, "over readMaxFields", { path: FAIL, body: fields })).code).toBe(
        "resource_exhausted",
      );
      const small = await same(limited, "chunked, under the limits", {
        path: ECHO,
        body: json(PredictEchoRequestSchema, { data: Buffer.from("ok") }),
        chunked: true,
      });
      expect(small.status).toBe(200);
      const chunked = await same(limited, "chunked, over readMaxBytes", { path: ECHO, body: big, chunked: true });
      expect(errorOf(chunked).code).toBe("resource_exhausted");
    },
    T,
  );

  it(
    "compression: gzip and br requests, responses compressed from 1 KiB, an unknown encoding",
    async () => {
      const body = json(PredictEchoRequestSchema, { data: pseudoRandomBytes(4096) });
      for (const encoding of ["gzip", "br"]) {
        const packed = encoding === "gzip" ? zlib.gzipSync(body) : zlib.brotliCompressSync(body);
        const o = await same(main, `${encoding} request`, {
          path: ECHO,
          headers: { "content-encoding": encoding, "accept-encoding": encoding },
          body: packed,
        });
        expect(o.status).toBe(200);
        expect(o.headers["content-encoding"]).toBe(encoding);
      }
      const tiny = await same(main, "small response, gzip accepted", {
        path: ECHO,
        headers: { "accept-encoding": "gzip" },
        body: json(PredictEchoRequestSchema, { data: Buffer.from("x") }),
      });
      expect(tiny.headers["content-encoding"]).toBeUndefined();
      const unknown = await same(main, "unknown encoding", {
        path: ECHO,
        headers: { "content-encoding": "zstd" },
        body,
      });
      expect(errorOf(unknown).code).toBe("unimplemented");
      const large = await same(main, "large error, gzip accepted", {
        path: FAIL,
        headers: { "accept-encoding": "gzip" },
        body: JSON.stringify({ code: 3, message: "m".repeat(3000) }),
      });
      expect(large.headers["content-encoding"]).toBe("gzip");
    },
    T,
  );

  it(
    "connect-timeout-ms: passed while the model computes, invalid, above the server's maximum",
    async () => {
      const timedOut = await same(main, "deadline", {
        path: SLOW,
        headers: { "connect-timeout-ms": "50" },
        body: JSON.stringify({ ms: 400 }),
      });
      expect([timedOut.status, errorOf(timedOut).code]).toEqual([504, "deadline_exceeded"]);
      const invalid = await same(main, "invalid timeout", {
        path: SLOW,
        headers: { "connect-timeout-ms": "soon" },
        body: JSON.stringify({ ms: 1 }),
      });
      expect(errorOf(invalid).message).toMatch(/invalid connect timeout value/);
      const huge = await same(main, "huge timeout", {
        path: SLOW,
        headers: { "connect-timeout-ms": "9999999999" },
        body: JSON.stringify({ ms: 1 }),
      });
      expect(huge.status).toBe(200);
    },
    T,
  );

  it(
    "bearer auth: no token, a wrong one, the right one",
    async () => {
      const body = json(PredictEchoRequestSchema, { data: Buffer.from("a") });
      expect((await same(authed, "no token", { path: ECHO, body })).status).toBe(401);
      expect(
        (await same(authed, "wrong token", { path: ECHO, body, headers: { authorization: "Bearer no" } })).status,
      ).toBe(401);
      expect(
        (await same(authed, "right token", { path: ECHO, body, headers: { authorization: "Bearer s3cret" } })).status,
      ).toBe(200);
    },
    T,
  );

  it(
    "an interceptor's response headers and trailers (as trailer-*), on success and on error",
    async () => {
      const ok = await same(intercepted, "echoed headers", {
        path: ECHO,
        headers: { "x-echo-one": "1", "x-echo-two": "2, 3" },
        body: json(PredictEchoRequestSchema, { data: Buffer.from("a") }),
      });
      expect(ok.headers["x-echo-one"]).toBe("1");
      expect(ok.headers["trailer-x-echo-two"]).toBe("2, 3");
      const failed = await same(intercepted, "echoed headers on error", {
        path: FAIL,
        headers: { "x-echo-one": "1" },
        body: JSON.stringify({ code: 9, message: "precondition" }),
      });
      expect(failed.headers["x-echo-one"]).toBe("1");
      expect(failed.status).toBe(400);
    },
    T,
  );
});

describe("requests the native Connect path leaves to connect-node", () => {
  it(
    "Connect GET, a query string, an unknown method, a streaming content type, a server-streaming method",
    async () => {
      const getOutcomes = await onBoth(main, async (server) => {
        const msg = encodeURIComponent(json(PredictEchoRequestSchema, { data: Buffer.from("g") }));
        const res = await fetch(`${server.url()}${ECHO}?encoding=json&message=${msg}`);
        return { status: res.status, body: await res.text() };
      });
      expectSame("Connect GET", getOutcomes);
      const body = json(PredictEchoRequestSchema, { data: Buffer.from("q") });
      expect((await same(main, "query string", { path: `${ECHO}?x=1`, body })).status).toBe(200);
      expect((await same(main, "unknown method", { path: `${SERVICE}PredictNothing`, body })).status).toBe(404);
      expect(
        (await same(main, "text/plain", { path: ECHO, headers: { "content-type": "text/plain" }, body })).status,
      ).toBe(415);
      const streaming = await same(main, "server-streaming method, unary content type", {
        path: `${SERVICE}PredictTicks`,
        body: JSON.stringify({ id: "x", count: 1 }),
      });
      expect(streaming.status).toBe(415);
    },
    T,
  );
});

describe("a client that goes away", () => {
  it(
    "mid-call: the server counts it CANCELLED and goes on serving",
    async () => {
      for (const server of [main.fast, main.ref]) {
        await h1(server, { path: SLOW, body: JSON.stringify({ ms: 300 }), cancelAfterMs: 50 });
      }
      await new Promise((r) => setTimeout(r, 400));
      const outcomes = await onBoth(main, async (server) => {
        const metrics = await (await fetch(`${server.url()}/metrics`)).text();
        const line = metrics
          .split("\n")
          .find(
            (l) =>
              l.startsWith("blazerpc_requests_total") && l.includes('method="PredictSlow"') && l.includes("CANCELLED"),
          );
        return line?.replace(/ \d+(\.\d+)?$/, "") ?? "(none)";
      });
      expect(expectSame("metrics after a client went away", outcomes)).toMatch(/protocol="connect"/);
      const after = await same(main, "after", {
        path: ECHO,
        body: json(PredictEchoRequestSchema, { data: Buffer.from("z") }),
      });
      expect(after.status).toBe(200);
    },
    T,
  );
});

// The response the reference gives to a plain echo, as a sanity check of the helpers.
it("the helpers decode a binary response", async () => {
  const o = await h1(main.ref, {
    path: ECHO,
    headers: { "content-type": "application/proto" },
    body: enc(PredictEchoRequestSchema, { data: Buffer.from("bytes") }),
  });
  const expected = describeBytes(
    toBinary(PredictEchoResponseSchema, create(PredictEchoResponseSchema, { result: Buffer.from("bytes") })),
  );
  expect(o.body).toBe(expected);
  void fromBinary;
});
