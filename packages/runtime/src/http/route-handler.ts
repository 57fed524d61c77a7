import type { ServerResponse } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";
import { untilAborted } from "../context/until-aborted.js";
import { limitMessage } from "../errors.js";
import { bearerCheck, bearerHttpGate, type BearerAuthOptions } from "../middleware/auth/bearer-auth.js";
import type { CallObserver, RouteOutcome } from "../middleware/call-observer.js";
import type { RouteRecord, RouteRequest } from "./route.js";
import type { AnyRequest, AnyResponse } from "./routes.js";

/** Options of {@link createRouteHandler}. */
export interface RouteHandlerOptions {
  /** Largest request body read, in bytes; a larger one is answered 413. */
  readonly readMaxBytes: number;
  /** With auth on, the route needs a token unless `exempt` lists its path. */
  readonly auth: BearerAuthOptions | undefined;
  /** Who sees each request: metrics and logs (their `route` method). */
  readonly observers: readonly CallObserver[];
  /** `http` or `https`, for the request's URL. */
  readonly scheme: "http" | "https";
  /** Requests in flight, by their abort controller: the shutdown aborts what is left once its grace period is over. */
  readonly inFlight?: Set<AbortController>;
  /** What the auth options' `exempt` is checked against. Default: the route's path. */
  readonly authTarget?: string;
  /**
   * How an error (a thrown one, a body too large, a refused token) is answered. Default:
   * the code's HTTP status (413 for a body too large) and Connect's error body
   * `{"code": "not_found", "message": "…"}`.
   */
  readonly errorAnswer?: ErrorAnswer;
}

/**
 * The HTTP status and JSON body of an error answer, from the error and the status it
 * would get by default (the code's, or 413 for a body too large). Its metadata still
 * become headers (a refused token's `www-authenticate`).
 *
 * @example
 * const errorAnswer: ErrorAnswer = (e, status) => ({ status, body: { error: e.rawMessage } });
 */
export type ErrorAnswer = (error: ConnectError, status: number) => { status: number; body: unknown };

/**
 * The Node request handler of one of the app's routes: auth, then the handler with the
 * request as a {@link RouteRequest}, then its answer written (see {@link RouteHandler}), every
 * request seen by the observers. A handler that throws is answered, never left hanging.
 *
 * @example
 * const handle = createRouteHandler(app.routes[0], { readMaxBytes: 1 << 20, auth: undefined, observers: [], scheme: "http" });
 * handle(req, res, {});
 */
export function createRouteHandler(
  route: RouteRecord,
  options: RouteHandlerOptions,
): (req: AnyRequest, res: AnyResponse, params: Record<string, string>) => void {
  const { readMaxBytes, observers, scheme, inFlight, auth, authTarget = route.path, errorAnswer } = options;
  const allowed =
    auth === undefined
      ? undefined
      : errorAnswer === undefined
        ? bearerHttpGate(auth, authTarget)
        : refusedAs(bearerCheck(auth), authTarget, errorAnswer);
  return (req, res, params) => {
    const started = performance.now();
    const path = (req.url ?? "/").split("?", 1)[0]!;
    let ends: ((outcome: RouteOutcome) => void)[] | undefined;
    for (const o of observers) {
      const end = o.route?.({
        method: req.method ?? "",
        route: route.path,
        path,
        httpVersion: req.httpVersion,
        peer: req.socket?.remoteAddress,
      });
      if (typeof end === "function") (ends ??= []).push(end);
    }
    let thrown: Error | undefined;
    const controller = new AbortController();
    inFlight?.add(controller);
    res.once("close", () => {
      inFlight?.delete(controller);
      if (!res.writableFinished) controller.abort(new ConnectError("the client went away", Code.Canceled));
      if (ends === undefined) return;
      const outcome: RouteOutcome = {
        status: res.writableFinished ? res.statusCode : 499,
        error: thrown,
        durationMs: performance.now() - started,
      };
      for (const end of ends) end(outcome);
    });
    const run = async () => {
      if (allowed !== undefined && !(await allowed(req, res))) return;
      // The request ends when its signal aborts (the client gone, or the shutdown's grace
      // period over), even while the handler still runs: its answer is then dropped.
      const answer = await untilAborted(
        Promise.resolve(route.handler(routeRequest(req, params, controller.signal, readMaxBytes, scheme))),
        controller.signal,
      );
      if (!res.destroyed) await writeAnswer(req, res, answer);
    };
    run().catch((err: unknown) => {
      thrown = err instanceof Error ? err : new Error(String(err));
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const e =
        err instanceof ConnectError
          ? err
          : err instanceof HttpBodyError
            ? new ConnectError(err.message, err.code)
            : ConnectError.from(err, Code.Internal);
      writeError(req, res, e, err instanceof HttpBodyError ? err.status : codeToHttpStatus(e.code), errorAnswer);
    });
  };
}

/** Writes an error answer: by default the code's status and Connect's JSON error body, the error's metadata as headers. */
function writeError(
  req: AnyRequest,
  res: AnyResponse,
  e: ConnectError,
  status: number,
  errorAnswer: ErrorAnswer | undefined,
): void {
  const message = limitMessage(e.rawMessage);
  const answer =
    errorAnswer !== undefined
      ? errorAnswer(new ConnectError(message, e.code, e.metadata), status)
      : { status, body: { code: codeToString(e.code), message } };
  const body = JSON.stringify(answer.body) + "\n";
  // The error's metadata become headers, as Connect (and the auth gate) send them.
  const headers: Record<string, string> = {};
  e.metadata.forEach((v, k) => (headers[k] = v));
  (res as ServerResponse).writeHead(answer.status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  (res as ServerResponse).end(req.method === "HEAD" ? undefined : body);
}

/** The auth gate of a route that answers errors its own way: resolves true when the request may be answered, else answers the refusal. */
function refusedAs(
  check: (target: string, header: Headers) => Promise<void>,
  target: string,
  errorAnswer: ErrorAnswer,
): (req: AnyRequest, res: AnyResponse) => Promise<boolean> {
  return async (req, res) => {
    const header = new Headers();
    const authorization = req.headers.authorization;
    if (authorization !== undefined) header.set("authorization", authorization);
    try {
      await check(target, header);
      return true;
    } catch (err) {
      const e = ConnectError.from(err, Code.Internal);
      writeError(req, res, e, codeToHttpStatus(e.code), errorAnswer);
      return false;
    }
  };
}

/** A body that could not be read: too large (413), not JSON (400). */
class HttpBodyError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: Code,
  ) {
    super(message);
  }
}

function routeRequest(
  req: AnyRequest,
  params: Record<string, string>,
  signal: AbortSignal,
  readMaxBytes: number,
  scheme: string,
): RouteRequest {
  const host = req.headers.host ?? (req.headers as Record<string, string | undefined>)[":authority"] ?? "localhost";
  let url: URL;
  try {
    url = new URL(req.url ?? "/", `${scheme}://${host}`);
  } catch {
    url = new URL(req.url ?? "/", `${scheme}://localhost`);
  }
  let body: Promise<Uint8Array> | undefined;
  const bytes = () =>
    (body ??= (async () => {
      const declared = Number(req.headers["content-length"] ?? 0);
      if (declared > readMaxBytes)
        throw new HttpBodyError(
          `the request body (${declared} bytes) is larger than the server's limit of ${readMaxBytes} bytes`,
          413,
          Code.ResourceExhausted,
        );
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.byteLength;
        if (size > readMaxBytes)
          throw new HttpBodyError(
            `the request body is larger than the server's limit of ${readMaxBytes} bytes`,
            413,
            Code.ResourceExhausted,
          );
        chunks.push(chunk);
      }
      return Buffer.concat(chunks, size);
    })());
  let headers: Headers | undefined;
  return {
    method: req.method ?? "GET",
    path: url.pathname,
    url,
    params,
    query: url.searchParams,
    get headers() {
      if (headers === undefined) {
        headers = new Headers();
        for (const [k, v] of Object.entries(req.headers)) {
          if (k.startsWith(":") || v === undefined) continue;
          if (Array.isArray(v)) for (const e of v) headers.append(k, e);
          else headers.append(k, v);
        }
      }
      return headers;
    },
    signal,
    peer: req.socket?.remoteAddress,
    bytes,
    text: async () => Buffer.from(await bytes()).toString("utf8"),
    async json() {
      const text = Buffer.from(await bytes()).toString("utf8");
      try {
        return JSON.parse(text) as unknown;
      } catch (e) {
        throw new HttpBodyError(
          `the request body is not JSON: ${e instanceof Error ? e.message : String(e)}`,
          400,
          Code.InvalidArgument,
        );
      }
    },
  };
}

/** Writes what a handler returned: a Response as given, undefined as 204, anything else as JSON. */
async function writeAnswer(req: AnyRequest, res: AnyResponse, answer: unknown): Promise<void> {
  const out = res as ServerResponse;
  const head = req.method === "HEAD";
  if (answer instanceof Response) {
    const headers: Record<string, string | string[]> = {};
    answer.headers.forEach((value, key) => {
      if (key === "set-cookie") return;
      headers[key] = value;
    });
    const cookies = answer.headers.getSetCookie();
    if (cookies.length > 0) headers["set-cookie"] = cookies;
    const data = head || answer.body === null ? undefined : Buffer.from(await answer.arrayBuffer());
    if (data !== undefined && headers["content-length"] === undefined)
      headers["content-length"] = String(data.byteLength);
    out.writeHead(answer.status, headers);
    out.end(data);
    return;
  }
  if (answer === undefined) {
    out.writeHead(204);
    out.end();
    return;
  }
  const json = JSON.stringify(answer) as string | undefined;
  // A function or a symbol has no JSON form: the handler's mistake, answered as one.
  if (json === undefined) throw new Error(`the route's handler returned a ${typeof answer}, which has no JSON form`);
  const text = json + "\n";
  out.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  out.end(head ? undefined : text);
}
