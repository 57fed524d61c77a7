// Who answers what, decided at the one dispatch point: fake requests, responses and streams
// that record who took them (no sockets).
import type * as http2 from "node:http2";
import type { AnyRequest, AnyResponse } from "../http/routes.js";
import { createRouteMatcher } from "../http/route.js";
import type { AppRouteHandler } from "./app-routes.js";
import { createDispatch, type DispatchOptions } from "./dispatch.js";

interface FakeResponse {
  status?: number;
  headers?: Record<string, unknown>;
  body?: string;
  writeHead(status: number, headers: Record<string, unknown>): void;
  end(body?: string): void;
}

function fakeResponse(): FakeResponse {
  return {
    writeHead(status, headers) {
      this.status = status;
      this.headers = headers;
    },
    end(body) {
      this.body = body;
    },
  };
}

function request(method: string, url: string, headers: Record<string, string> = {}): AnyRequest {
  return { method, url, headers } as unknown as AnyRequest;
}

/** A dispatch whose every answerer records its name in `log`. */
function setup(extra: Partial<DispatchOptions> = {}) {
  const log: string[] = [];
  const named = (name: string) => (req: AnyRequest) => void log.push(`${name} ${req.method} ${req.url}`);
  const appRoute =
    (name: string): AppRouteHandler =>
    (req, _res, params) =>
      void log.push(`${name} ${req.method} ${req.url} ${JSON.stringify(params)}`);
  const appRoutes = createRouteMatcher<AppRouteHandler>([
    { method: "GET", path: "/health", value: appRoute("app:get-health") },
    { method: "POST", path: "/jobs", value: appRoute("app:post-jobs") },
    { method: "DELETE", path: "/models/:name", value: appRoute("app:delete-model") },
  ]);
  const dispatch = createDispatch({
    routes: new Map([["/healthz", named("builtin:healthz")]]),
    appRoutes,
    rpc: named("rpc"),
    ...extra,
  });
  return { dispatch, log };
}

const send = (d: ReturnType<typeof setup>["dispatch"], req: AnyRequest) => {
  const res = fakeResponse();
  d.request(req, res as unknown as AnyResponse);
  return res;
};

describe("createDispatch: requests", () => {
  it("GET and HEAD on a builtin route → that route; another method on it → the RPC handler", () => {
    const { dispatch, log } = setup();
    send(dispatch, request("GET", "/healthz?verbose=1"));
    send(dispatch, request("HEAD", "/healthz"));
    send(dispatch, request("POST", "/healthz"));
    expect(log).toEqual([
      "builtin:healthz GET /healthz?verbose=1",
      "builtin:healthz HEAD /healthz",
      "rpc POST /healthz",
    ]);
  });

  it("an app route by method and path (HEAD with GET), with its params, the query left out of the match", () => {
    const { dispatch, log } = setup();
    send(dispatch, request("GET", "/health?x=1"));
    send(dispatch, request("HEAD", "/health"));
    send(dispatch, request("POST", "/jobs"));
    send(dispatch, request("DELETE", "/models/ir%69s?force=true"));
    expect(log).toEqual([
      "app:get-health GET /health?x=1 {}",
      "app:get-health HEAD /health {}",
      "app:post-jobs POST /jobs {}",
      'app:delete-model DELETE /models/ir%69s?force=true {"name":"iris"}',
    ]);
  });

  it("a known path with another method → 405 with allow and a Connect error body", () => {
    const { dispatch, log } = setup();
    const res = send(dispatch, request("PUT", "/health", { "content-type": "application/json" }));
    const body = '{"code":"unimplemented","message":"PUT is not allowed here; allowed: GET, HEAD"}\n';
    expect([res.status, res.headers, res.body]).toEqual([
      405,
      { allow: "GET, HEAD", "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      body,
    ]);
    expect(send(dispatch, request("GET", "/jobs")).headers?.allow).toBe("POST");
    expect(send(dispatch, request("GET", "/models/iris")).headers?.allow).toBe("DELETE");
    expect(log).toEqual([]);
  });

  it("NOT 405 for gRPC, gRPC-Web and Connect streaming requests at a route's path: connect-node answers them", () => {
    const { dispatch, log } = setup();
    for (const type of [
      "application/grpc",
      "application/grpc+proto",
      "application/grpc-web+proto",
      "application/grpc-web-text",
      "application/connect+proto",
      "application/connect+json",
    ]) {
      const res = send(dispatch, request("POST", "/health", { "content-type": type }));
      expect(res.status).toBeUndefined();
    }
    expect(log).toHaveLength(6);
    expect(new Set(log)).toEqual(new Set(["rpc POST /health"]));
  });

  it("unknown paths, and every request when the app has no routes → the RPC handler", () => {
    const { dispatch, log } = setup();
    send(dispatch, request("POST", "/iris.v1.InferenceService/PredictIris", { "content-type": "application/json" }));
    send(dispatch, request("GET", "/nothing"));
    const bare = createDispatch({ routes: new Map(), rpc: (req) => void log.push(`bare ${req.method} ${req.url}`) });
    bare.request(request("GET", "/health"), fakeResponse() as unknown as AnyResponse);
    expect(log).toEqual(["rpc POST /iris.v1.InferenceService/PredictIris", "rpc GET /nothing", "bare GET /health"]);
  });

  it("in order: onRequest, refuse, schedule, then CORS, then the routes", () => {
    const order: string[] = [];
    let refusing = false;
    let preflight = false;
    const held: (() => void)[] = [];
    const { dispatch, log } = setup({
      onRequest: (req) => void order.push(`onRequest ${req.url}`),
      refuse: (req) => {
        order.push(`refuse? ${req.url}`);
        return refusing;
      },
      schedule: (req, _res, run) => {
        order.push(`schedule ${req.url}`);
        held.push(run);
      },
      cors: (req) => {
        order.push(`cors ${req.url}`);
        return preflight;
      },
    });
    send(dispatch, request("GET", "/health"));
    expect(order).toEqual(["onRequest /health", "refuse? /health", "schedule /health"]);
    expect(log).toEqual([]);
    held.shift()!();
    expect(order.slice(3)).toEqual(["cors /health"]);
    expect(log).toEqual(["app:get-health GET /health {}"]);

    // Refused: nothing after it runs.
    refusing = true;
    send(dispatch, request("GET", "/healthz"));
    expect(order.slice(4)).toEqual(["onRequest /healthz", "refuse? /healthz"]);
    expect(held).toEqual([]);

    // A preflight CORS answered: no route sees it.
    refusing = false;
    preflight = true;
    send(dispatch, request("OPTIONS", "/health"));
    held.shift()!();
    expect(order.slice(6)).toEqual(["onRequest /health", "refuse? /health", "schedule /health", "cors /health"]);
    expect(log).toEqual(["app:get-health GET /health {}"]);
  });

  it("without schedule, answers at once", () => {
    const { dispatch, log } = setup({ cors: () => false });
    send(dispatch, request("GET", "/healthz"));
    expect(log).toEqual(["builtin:healthz GET /healthz"]);
  });
});

describe("createDispatch: HTTP/2 streams", () => {
  const stream = {} as http2.ServerHttp2Stream;
  const headers = {
    ":path": "/director.v1.InferenceDirector/GetHealthStatus",
    ":method": "POST",
    "content-type": "application/grpc",
  };

  it("refuseStream first: a refused stream is answered, the native path never asked", () => {
    const asked: string[] = [];
    const { dispatch } = setup({
      refuseStream: () => {
        asked.push("refuse");
        return true;
      },
      native: () => {
        asked.push("native");
        return "call";
      },
    });
    expect(dispatch.stream(stream, headers)).toBe(true);
    expect(asked).toEqual(["refuse"]);
  });

  it("a stream the native path takes is answered there, and reported to onNativeStream with its path", () => {
    const seen: [unknown, string][] = [];
    const { dispatch } = setup({
      refuseStream: () => false,
      native: () => "call",
      onNativeStream: (s, p) => void seen.push([s, p]),
    });
    expect(dispatch.stream(stream, headers)).toBe(true);
    expect(seen).toEqual([[stream, "/director.v1.InferenceDirector/GetHealthStatus"]]);
  });

  it("a call the native path refused at the door is answered already: not tracked", () => {
    const seen: string[] = [];
    const { dispatch } = setup({ native: () => "refused", onNativeStream: (_s, p) => void seen.push(p) });
    expect(dispatch.stream(stream, headers)).toBe(true);
    expect(seen).toEqual([]);
  });

  it("one the native path leaves, or with no native path, goes on to the compatibility layer", () => {
    const seen: string[] = [];
    const leaves = setup({ native: () => false, onNativeStream: (_s, p) => void seen.push(p) });
    expect(leaves.dispatch.stream(stream, headers)).toBe(false);
    expect(setup().dispatch.stream(stream, headers)).toBe(false);
    expect(seen).toEqual([]);
  });
});
