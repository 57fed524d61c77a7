// Bearer auth on every path the server answers: with auth on, GET /openapi.json and GET
// /docs need the token too (they describe the schema reflection keeps behind it), unless
// `exempt` names "docs"; and the `authorization` header is read by one function everywhere
// — native gRPC, connect-node, the HTTP routes — so a value means the same on each.
// Whitespace around the value is the transport's business: Node's HTTP/1.1 parser strips
// it, and over HTTP/2 nghttp2 drops a field whose value begins or ends with whitespace
// (RFC 9113 §8.2.1), so such a request arrives without the header on every HTTP/2 path.
import * as http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { toTensorProto } from "@blazerpc/tensor";
import { createServer, type BlazeServer, type ServerOptions } from "@blazerpc/runtime";
import { app } from "../../examples/iris/models.js";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import { PredictIrisRequestSchema, PredictIrisResponseSchema } from "../../examples/iris/gen/iris/v1/iris_pb.js";
import { grpcMessage, grpcUnary, run } from "../e2e/support.js";

const IRIS = "/iris.v1.InferenceService/PredictIris";
const TOKEN = "s3cret";
const features = toTensorProto({ dtype: "float32", shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) });
const MISSING = "missing bearer token: send the header `authorization: Bearer <token>`";

const servers: BlazeServer[] = [];
const closers: (() => void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: Partial<ServerOptions>): Promise<BlazeServer> {
  const server = createServer({ app, services: [InferenceServiceBinding], port: 0, ...options });
  servers.push(server);
  await server.listen();
  return server;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A GET over HTTP/1.1 (curl). */
async function getHttp1(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await run("curl", [
    "-sS",
    "--http1.1",
    "-D",
    "-",
    ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
    url,
  ]);
  const [head, ...rest] = r.stdout.split("\r\n\r\n");
  const lines = head!.split("\r\n");
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(lines[0]!)![1]);
  const out: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    out[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers: out, body: rest.join("\r\n\r\n") };
}

/** A GET over HTTP/2 (node:http2, prior knowledge). */
function getHttp2(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const u = new URL(url);
  const session = http2.connect(u.origin);
  closers.push(() => session.close());
  return new Promise((resolve, reject) => {
    const req = session.request({ ":path": u.pathname, ...headers });
    let body = "";
    let status = 0;
    const out: Record<string, string> = {};
    req.on("response", (h) => {
      status = Number(h[":status"]);
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(":")) out[k] = String(v);
    });
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    req.on("end", () => resolve({ status, headers: out, body }));
    req.on("error", reject);
    req.end();
  });
}

function grpcClient(server: BlazeServer, authorization?: string): grpc.Client {
  // grpc-js refuses call credentials on an insecure channel: the header goes in per call.
  const c = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure(), {
    interceptors: [
      (options, nextCall) =>
        new grpc.InterceptingCall(nextCall(options), {
          start(metadata, listener, next) {
            if (authorization !== undefined) metadata.set("authorization", authorization);
            next(metadata, listener);
          },
        }),
    ],
  });
  closers.push(() => c.close());
  return c;
}

const predict = (c: grpc.Client) =>
  grpcUnary(c, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, { features }).then(
    () => "OK",
    (e: grpc.ServiceError) => `${grpc.status[e.code]}: ${grpcMessage(e)}`,
  );

/** A Connect JSON call over HTTP/1.1 (curl); resolves with the HTTP status. */
async function connectHttp1(server: BlazeServer, authorization?: string): Promise<number> {
  const data = JSON.stringify({
    features: { dtype: "float32", shape: ["1", "4"], data: Buffer.from(features.data).toString("base64") },
  });
  const auth = authorization !== undefined ? ["-H", `authorization: ${authorization}`] : [];
  const r = await run("curl", [
    "-sS",
    "--http1.1",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "-X",
    "POST",
    "-H",
    "content-type: application/json",
    ...auth,
    "--data-binary",
    data,
    `${server.url()}${IRIS}`,
  ]);
  return Number(r.stdout);
}

describe("the docs routes with auth on", () => {
  it.each([
    ["HTTP/1.1", getHttp1],
    ["HTTP/2", getHttp2],
  ])("%s: /openapi.json and /docs answer 401 with a challenge without the token, 200 with it", async (_name, get) => {
    const server = await start({ auth: { tokens: [TOKEN] } });
    for (const path of ["/openapi.json", "/docs"]) {
      const none = await get(`${server.url()}${path}`);
      expect([
        none.status,
        none.headers["www-authenticate"],
        none.headers["content-type"],
        JSON.parse(none.body),
      ]).toEqual([401, 'Bearer realm="blazerpc"', "application/json", { code: "unauthenticated", message: MISSING }]);
      const wrong = await get(`${server.url()}${path}`, { authorization: "Bearer nope" });
      expect([wrong.status, JSON.parse(wrong.body)]).toEqual([
        401,
        { code: "unauthenticated", message: "invalid bearer token" },
      ]);
      const ok = await get(`${server.url()}${path}`, { authorization: `Bearer ${TOKEN}` });
      expect(ok.status).toBe(200);
      expect(ok.body).toContain("iris.v1.InferenceService");
    }
    // The health routes stay open (probes send no token).
    expect((await get(`${server.url()}/readyz`)).status).toBe(200);
  });

  it('opens them with exempt: ["docs"] (--auth-exempt health,docs); without auth they are open', async () => {
    const open = await start({ auth: { tokens: [TOKEN], exempt: ["health", "docs"] } });
    expect((await getHttp1(`${open.url()}/openapi.json`)).status).toBe(200);
    expect((await getHttp2(`${open.url()}/docs`)).status).toBe(200);
    // Opening the docs opens nothing else.
    expect(await predict(grpcClient(open))).toBe(`UNAUTHENTICATED: ${MISSING}`);
    const noAuth = await start({});
    expect((await getHttp1(`${noAuth.url()}/openapi.json`)).status).toBe(200);
  });

  it("HEAD /docs without the token: 401 with the challenge", async () => {
    const server = await start({ auth: { tokens: [TOKEN] } });
    const r = await run("curl", ["-sS", "--http1.1", "-I", `${server.url()}/docs`]);
    expect(r.stdout).toMatch(/^HTTP\/1\.1 401 /);
    expect(r.stdout).toMatch(/^www-authenticate: Bearer realm="blazerpc"\r$/im);
  });
});

describe("one reading of the authorization header on every path", () => {
  // [header value, over HTTP/1.1, over HTTP/2]
  const cases: [string, number, string][] = [
    [`Bearer ${TOKEN}`, 200, "OK"],
    [`bearer ${TOKEN}`, 200, "OK"],
    [`Bearer \t ${TOKEN}`, 200, "OK"],
    // HTTP/1.1 strips the whitespace around a value; over HTTP/2 the field is malformed and
    // nghttp2 drops it, so the call arrives with no authorization header at all.
    [`Bearer ${TOKEN}  `, 200, `UNAUTHENTICATED: ${MISSING}`],
    [`Bearer ${TOKEN}\t`, 200, `UNAUTHENTICATED: ${MISSING}`],
    [`Bearer ${TOKEN} extra`, 401, `UNAUTHENTICATED: ${MISSING}`],
    [`Bearer`, 401, `UNAUTHENTICATED: ${MISSING}`],
    [`Basic czNjcmV0`, 401, `UNAUTHENTICATED: ${MISSING}`],
    [`Bearer ${TOKEN}x`, 401, "UNAUTHENTICATED: invalid bearer token"],
  ];

  it.each(cases)(
    "%j: HTTP/1.1 %s, HTTP/2 %s — the same on native gRPC, connect-node and the docs routes",
    async (value, http1, http2Outcome) => {
      const native = await start({ auth: { tokens: [TOKEN] } });
      const viaConnect = await start({ auth: { tokens: [TOKEN] }, fastPath: false });
      // HTTP/1.1: a Connect call (connect-node) and the docs route.
      expect(await connectHttp1(native, value)).toBe(http1);
      expect((await getHttp1(`${native.url()}/openapi.json`, { authorization: value })).status).toBe(http1);
      // HTTP/2: gRPC on the native path and on connect-node (grpc-js, which itself refuses to
      // send a tab in metadata), and the docs route (node:http2).
      if (!value.includes("\t")) {
        expect(await predict(grpcClient(native, value))).toBe(http2Outcome);
        expect(await predict(grpcClient(viaConnect, value))).toBe(http2Outcome);
      }
      expect((await getHttp2(`${native.url()}/openapi.json`, { authorization: value })).status).toBe(
        http2Outcome === "OK" ? 200 : 401,
      );
    },
  );
});
