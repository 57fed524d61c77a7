// A route's handler as Node serves it: what the handler returns or throws becomes the bytes a
// client reads. A plain node:http server on 127.0.0.1 port 0 (the body limits and a client
// that goes away are matters of the wire), the route handler its only request handler.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import type { RouteCallInfo, RouteOutcome } from "../middleware/call-observer.js";
import { createRouteHandler, type RouteHandlerOptions } from "./route-handler.js";
import type { RouteHandler, RouteRequest } from "./route.js";

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request over a fresh connection; the body is written in `chunks` (chunked when no content-length is given). */
function send(
  port: number,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; chunks?: (string | Buffer)[] } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, headers: opts.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString() }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    for (const c of opts.chunks ?? []) req.write(c);
    req.end();
  });
}

/** A server answering every request with the route handler of `handler` (mutable per test), params `{ name: "iris" }`. */
function serve(options: Partial<RouteHandlerOptions> = {}, path = "/models/:name") {
  const state: { handler: RouteHandler; outcomes: { info: RouteCallInfo; outcome: RouteOutcome }[] } = {
    handler: () => undefined,
    outcomes: [],
  };
  const settled: (() => void)[] = [];
  const handle = createRouteHandler(
    { method: "GET", path, handler: (req) => state.handler(req), options: {} },
    {
      readMaxBytes: 1000,
      auth: undefined,
      scheme: "http",
      observers: [
        {
          start: () => undefined,
          route: (info) => (outcome) => {
            state.outcomes.push({ info, outcome });
            settled.splice(0).forEach((f) => f());
          },
        },
      ],
      ...options,
    },
  );
  const server = http.createServer((req, res) => handle(req, res, { name: "iris" }));
  const ready = new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
  return {
    state,
    ready,
    /** Resolves once the observers have seen `n` requests end. */
    outcomes: (n: number) =>
      new Promise<typeof state.outcomes>((resolve) => {
        const check = () => (state.outcomes.length >= n ? resolve(state.outcomes) : settled.push(check));
        check();
      }),
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

const errorBody = (code: string, message: string) => JSON.stringify({ code, message }) + "\n";

describe("createRouteHandler: the answer", () => {
  const s = serve();
  let port: number;
  beforeAll(async () => {
    port = await s.ready;
  });
  afterAll(() => s.close());

  it("a value → 200 JSON, with its length", async () => {
    s.state.handler = () => ({ overall_status: "HEALTHY", n: [1, 2] });
    const r = await send(port, "GET", "/models/iris");
    expect([r.status, r.headers["content-type"], r.headers["content-length"], r.body]).toEqual([
      200,
      "application/json",
      "39",
      '{"overall_status":"HEALTHY","n":[1,2]}\n',
    ]);
  });

  it("a promise is awaited; null and strings are JSON too", async () => {
    s.state.handler = async () => "ok";
    expect((await send(port, "GET", "/models/iris")).body).toBe('"ok"\n');
    s.state.handler = () => null;
    expect(await send(port, "GET", "/models/iris")).toMatchObject({ status: 200, body: "null\n" });
  });

  it("undefined → 204 with no body", async () => {
    s.state.handler = async () => undefined;
    const r = await send(port, "GET", "/models/iris");
    expect([r.status, r.body, r.headers["content-type"]]).toEqual([204, "", undefined]);
  });

  it("a Fetch Response as given: status, headers, every set-cookie apart, body", async () => {
    s.state.handler = () => {
      const headers = new Headers({ "content-type": "text/csv", "x-rows": "2" });
      headers.append("set-cookie", "a=1; Path=/");
      headers.append("set-cookie", "b=2; HttpOnly");
      return new Response("x,y\n1,2\n", { status: 201, headers });
    };
    const r = await send(port, "GET", "/models/iris");
    expect(r.status).toBe(201);
    expect(r.headers["content-type"]).toBe("text/csv");
    expect(r.headers["x-rows"]).toBe("2");
    expect(r.headers["set-cookie"]).toEqual(["a=1; Path=/", "b=2; HttpOnly"]);
    expect(r.headers["content-length"]).toBe("8");
    expect(r.body).toBe("x,y\n1,2\n");
  });

  it("a Response with no body (a redirect)", async () => {
    s.state.handler = () => new Response(null, { status: 302, headers: { location: "/docs" } });
    const r = await send(port, "GET", "/models/iris");
    expect([r.status, r.headers.location, r.body]).toEqual([302, "/docs", ""]);
  });

  it("HEAD: the same status and headers, no body", async () => {
    s.state.handler = () => ({ a: 1 });
    const value = await send(port, "HEAD", "/models/iris");
    expect([value.status, value.headers["content-type"], value.headers["content-length"], value.body]).toEqual([
      200,
      "application/json",
      "8",
      "",
    ]);
    s.state.handler = () => new Response("hello", { status: 200, headers: { "x-a": "b" } });
    const response = await send(port, "HEAD", "/models/iris");
    expect([response.status, response.headers["x-a"], response.body]).toEqual([200, "b", ""]);
    s.state.handler = () => {
      throw new ConnectError("no such model", Code.NotFound);
    };
    const error = await send(port, "HEAD", "/models/iris");
    expect([error.status, error.body]).toEqual([404, ""]);
  });

  it("a thrown ConnectError → its code's HTTP status and the Connect error body", async () => {
    const cases: [Code, number, string][] = [
      [Code.NotFound, 404, "not_found"],
      [Code.InvalidArgument, 400, "invalid_argument"],
      [Code.PermissionDenied, 403, "permission_denied"],
      [Code.Unavailable, 503, "unavailable"],
      [Code.ResourceExhausted, 429, "resource_exhausted"],
    ];
    for (const [code, status, name] of cases) {
      s.state.handler = async () => {
        throw new ConnectError(`model "x" is ${name}`, code);
      };
      const r = await send(port, "GET", "/models/iris");
      expect([r.status, r.headers["content-type"], r.headers["cache-control"], r.body]).toEqual([
        status,
        "application/json",
        "no-store",
        errorBody(name, `model "x" is ${name}`),
      ]);
    }
  });

  it("a thrown ConnectError's metadata → response headers, as Connect (and the auth gate) send them", async () => {
    s.state.handler = () => {
      throw new ConnectError("slow down", Code.ResourceExhausted, { "retry-after": "5" });
    };
    const r = await send(port, "GET", "/models/iris");
    expect([r.status, r.headers["retry-after"], r.body]).toEqual([
      429,
      "5",
      errorBody("resource_exhausted", "slow down"),
    ]);
  });

  it("any other error → 500 internal with its message; a thrown non-Error too", async () => {
    s.state.handler = () => {
      throw new TypeError("cannot read properties of undefined (reading 'x')");
    };
    expect(await send(port, "GET", "/models/iris")).toMatchObject({
      status: 500,
      body: errorBody("internal", "cannot read properties of undefined (reading 'x')"),
    });
    s.state.handler = () => Promise.reject("plain string");
    expect(await send(port, "GET", "/models/iris")).toMatchObject({
      status: 500,
      body: errorBody("internal", "plain string"),
    });
  });

  it("an answer that is not JSON-serializable → 500, not a hang", async () => {
    s.state.handler = () => ({ big: 1n });
    const r = await send(port, "GET", "/models/iris");
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body)).toEqual({ code: "internal", message: expect.stringMatching(/BigInt/) });
  });

  it("a function or a symbol (no JSON form) → 500 internal naming what was returned", async () => {
    s.state.handler = () => () => 1;
    expect(await send(port, "GET", "/models/iris")).toMatchObject({
      status: 500,
      body: errorBody("internal", "the route's handler returned a function, which has no JSON form"),
    });
  });

  it("a very long error message is cut", async () => {
    s.state.handler = () => {
      throw new ConnectError("x".repeat(100_000), Code.InvalidArgument);
    };
    const r = await send(port, "GET", "/models/iris");
    const body = JSON.parse(r.body) as { message: string };
    expect(r.status).toBe(400);
    expect(body.message.length).toBeLessThan(100_000);
    expect(body.message).toMatch(/… \(message cut: 100000 characters\)$/);
  });

  it("the observers see each request's route, path, status and error", async () => {
    const before = s.state.outcomes.length;
    s.state.handler = () => {
      throw new ConnectError("gone", Code.NotFound);
    };
    await send(port, "GET", "/models/gone?x=1");
    const { info, outcome } = (await s.outcomes(before + 1))[before]!;
    expect(info).toEqual({
      method: "GET",
      route: "/models/:name",
      path: "/models/gone",
      httpVersion: "1.1",
      peer: "127.0.0.1",
    });
    expect([outcome.status, outcome.error?.message]).toEqual([404, "[not_found] gone"]);
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
  });
});

describe("createRouteHandler: the request", () => {
  const s = serve({ readMaxBytes: 1000 });
  let port: number;
  beforeAll(async () => {
    port = await s.ready;
  });
  afterAll(() => s.close());

  it("method, path, url, params, query, headers and peer", async () => {
    let seen: RouteRequest | undefined;
    s.state.handler = (req) => {
      seen = req;
      return {
        params: req.params,
        q: req.query.getAll("q"),
        limit: req.query.get("limit"),
        h: req.headers.get("x-trace"),
        multi: req.headers.get("accept"),
      };
    };
    const r = await send(port, "GET", "/models/iris?q=a&q=b%20c&limit=3", {
      headers: { "x-trace": "t-1", accept: "application/json", host: "api.example.com:8080" },
    });
    expect(JSON.parse(r.body)).toEqual({
      params: { name: "iris" },
      q: ["a", "b c"],
      limit: "3",
      h: "t-1",
      multi: "application/json",
    });
    expect(seen?.method).toBe("GET");
    expect(seen?.path).toBe("/models/iris");
    expect(seen?.url.href).toBe("http://api.example.com:8080/models/iris?q=a&q=b%20c&limit=3");
    expect(seen?.peer).toBe("127.0.0.1");
    expect(seen?.signal.aborted).toBe(false);
  });

  it("a host header that is not a host still gives a URL", async () => {
    s.state.handler = (req) => ({ href: req.url.href });
    const r = await send(port, "GET", "/models/iris?a=1", { headers: { host: "not a host" } });
    expect(JSON.parse(r.body)).toEqual({ href: "http://localhost/models/iris?a=1" });
  });

  it("json(), text() and bytes() read the body once, each as asked", async () => {
    s.state.handler = async (req) => {
      const json = await req.json();
      return { json, text: await req.text(), bytes: (await req.bytes()).byteLength };
    };
    const r = await send(port, "POST", "/models/iris", {
      headers: { "content-type": "application/json" },
      chunks: ['{"overall_status":', '"DEGRADED"}'],
    });
    expect(JSON.parse(r.body)).toEqual({
      json: { overall_status: "DEGRADED" },
      text: '{"overall_status":"DEGRADED"}',
      bytes: 29,
    });
  });

  it("a body that is not JSON → 400 invalid_argument, when the handler asks for JSON", async () => {
    s.state.handler = async (req) => req.json();
    const r = await send(port, "POST", "/models/iris", { chunks: ["{not json"] });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({
      code: "invalid_argument",
      message: expect.stringMatching(/^the request body is not JSON: /),
    });
  });

  it("a body declared larger than readMaxBytes → 413, the body never read", async () => {
    let read = false;
    s.state.handler = async (req) => {
      await req.bytes();
      read = true;
    };
    const r = await send(port, "POST", "/models/iris", {
      headers: { "content-length": "1001" },
      chunks: [Buffer.alloc(1001)],
    });
    expect([r.status, r.body]).toEqual([
      413,
      errorBody("resource_exhausted", "the request body (1001 bytes) is larger than the server's limit of 1000 bytes"),
    ]);
    expect(read).toBe(false);
  });

  it("a body of exactly readMaxBytes is read", async () => {
    s.state.handler = async (req) => ({ n: (await req.bytes()).byteLength });
    expect((await send(port, "POST", "/models/iris", { chunks: [Buffer.alloc(600), Buffer.alloc(400)] })).body).toBe(
      '{"n":1000}\n',
    );
  });

  it("a chunked body that grows past readMaxBytes → 413", async () => {
    s.state.handler = async (req) => ({ n: (await req.bytes()).byteLength });
    const r = await send(port, "POST", "/models/iris", { chunks: [Buffer.alloc(600), Buffer.alloc(600)] });
    expect([r.status, r.body]).toEqual([
      413,
      errorBody("resource_exhausted", "the request body is larger than the server's limit of 1000 bytes"),
    ]);
  });
});

describe("createRouteHandler: a client that goes away", () => {
  const s = serve();
  let port: number;
  beforeAll(async () => {
    port = await s.ready;
  });
  afterAll(() => s.close());

  it("aborts the route's signal with CANCELED, and the observers see 499", async () => {
    const before = s.state.outcomes.length;
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const aborted = new Promise<unknown>((resolve) => {
      s.state.handler = (req) => {
        req.signal.addEventListener("abort", () => resolve(req.signal.reason));
        entered();
        return new Promise(() => undefined);
      };
    });
    const req = http.request({ host: "127.0.0.1", port, method: "GET", path: "/models/iris", agent: false });
    req.on("error", () => undefined);
    req.end();
    await inHandler;
    req.destroy();
    const reason = await aborted;
    expect(reason).toBeInstanceOf(ConnectError);
    expect([(reason as ConnectError).code, (reason as ConnectError).rawMessage]).toEqual([
      Code.Canceled,
      "the client went away",
    ]);
    const { outcome } = (await s.outcomes(before + 1))[before]!;
    expect(outcome.status).toBe(499);
  });

  it("does not abort the signal of a request that was answered", async () => {
    let signal: AbortSignal | undefined;
    s.state.handler = (req) => {
      signal = req.signal;
      return { ok: true };
    };
    await send(port, "GET", "/models/iris");
    await new Promise((r) => setImmediate(r));
    expect(signal?.aborted).toBe(false);
  });
});

describe("createRouteHandler: auth", () => {
  const locked = serve({ auth: { tokens: ["s3cret"] } });
  const open = serve({ auth: { tokens: ["s3cret"], exempt: ["/models/:name"] } });
  let lockedPort: number;
  let openPort: number;
  beforeAll(async () => {
    [lockedPort, openPort] = await Promise.all([locked.ready, open.ready]);
    locked.state.handler = () => ({ ok: true });
    open.state.handler = () => ({ ok: true });
  });
  afterAll(() => Promise.all([locked.close(), open.close()]));

  it("401 with a challenge and no handler run without a token or with a wrong one; 200 with the token", async () => {
    const none = await send(lockedPort, "GET", "/models/iris");
    expect([none.status, none.headers["www-authenticate"], none.body]).toEqual([
      401,
      'Bearer realm="blazerpc"',
      errorBody("unauthenticated", "missing bearer token: send the header `authorization: Bearer <token>`"),
    ]);
    const wrong = await send(lockedPort, "GET", "/models/iris", { headers: { authorization: "Bearer nope" } });
    expect([wrong.status, wrong.body]).toEqual([401, errorBody("unauthenticated", "invalid bearer token")]);
    const ok = await send(lockedPort, "GET", "/models/iris", { headers: { authorization: "Bearer s3cret" } });
    expect([ok.status, ok.body]).toEqual([200, '{"ok":true}\n']);
  });

  it("a route whose path `exempt` lists needs no token", async () => {
    expect(await send(openPort, "GET", "/models/iris")).toMatchObject({ status: 200, body: '{"ok":true}\n' });
  });
});
