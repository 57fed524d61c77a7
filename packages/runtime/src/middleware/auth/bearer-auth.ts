import { createHash, timingSafeEqual } from "node:crypto";
import type { ServerResponse } from "node:http";
import { Code, ConnectError, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { codeToHttpStatus, codeToString } from "@connectrpc/connect/protocol-connect";
import type { AnyRequest, AnyResponse } from "../../http/routes.js";
import { toWireError } from "../../errors.js";

/** Options of {@link bearerAuth}. */
export interface BearerAuthOptions {
  /** The tokens accepted, or a function that tells whether a token is valid (e.g. verifies a JWT). */
  tokens: readonly string[] | ((token: string) => boolean | Promise<boolean>);
  /**
   * What needs no token: `"health"` (`grpc.health.v1.Health`: Kubernetes' gRPC probe
   * cannot send one), `"reflection"` (`grpc.reflection.*`), `"docs"` (`GET /openapi.json`
   * and `GET /docs`, which describe the same schema as reflection), full service names, or
   * the paths of the app's HTTP routes (`"/health"`). Default `["health"]`.
   */
  exempt?: readonly string[];
}

/** What the HTTP routes `/openapi.json` and `/docs` are checked as: the `"docs"` of `exempt`. */
export const DOCS_TARGET = "docs";

const ALIASES: Record<string, (target: string) => boolean> = {
  health: (s) => s === "grpc.health.v1.Health",
  reflection: (s) => s.startsWith("grpc.reflection."),
  docs: (s) => s === DOCS_TARGET,
};

const CHALLENGE = { "www-authenticate": 'Bearer realm="blazerpc"' };
const BEARER = /^Bearer[ \t]+(\S+)$/i;

/**
 * The bearer token of an `authorization` header value, or undefined when it holds none:
 * `Bearer <token>`, the scheme in any case, then spaces or tabs, then the token. The one
 * reading of the header, on every path (native gRPC, connect-node, the HTTP routes), so
 * that a value means the same whatever carried it.
 *
 * Whitespace around the value is not part of it (RFC 9110 §5.5) and is ignored. What
 * reaches this function differs by transport, below any code of ours: Node's HTTP/1.1
 * parser strips it (`Bearer t  ` arrives as `Bearer t`), while over HTTP/2 a value that
 * begins or ends with whitespace is malformed (RFC 9113 §8.2.1) and nghttp2 drops the whole
 * field — the request arrives without `authorization` and is refused as sending no token.
 *
 * @example
 * bearerToken("Bearer s3cret") // "s3cret"
 * bearerToken("Basic czNjcmV0") // undefined
 */
export function bearerToken(value: string | readonly string[] | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  // Several values (a header repeated, where the transport kept them all): none is taken.
  const text = typeof value === "string" ? value : value.join(", ");
  return BEARER.exec(text.replace(/^[ \t]+|[ \t]+$/g, ""))?.[1];
}

/**
 * The check behind {@link bearerAuth}: throws UNAUTHENTICATED unless the call's
 * `authorization` header is `Bearer <token>` with an accepted token, or its service is exempt.
 * BlazeRPC's server runs it as soon as a call's headers arrive, so a refused request's
 * body is never read.
 *
 * @example
 * const check = bearerCheck({ tokens: [process.env.API_TOKEN!] });
 * await check("iris.v1.InferenceService", new Headers({ authorization: "Bearer …" }));
 */
export function bearerCheck(options: BearerAuthOptions): (service: string, header: Headers) => Promise<void> {
  const check = tokenCheck(options);
  return (service, header) => check(service, header.get("authorization"));
}

/**
 * Whether `target` needs no token: a service name, {@link DOCS_TARGET}, or the path of one of
 * the app's routes (`/health`), against `exempt` (default `["health"]`).
 *
 * @example
 * isExempt({ tokens, exempt: ["health", "/health"] }, "/health"); // true
 */
export function isExempt(options: BearerAuthOptions, target: string): boolean {
  const { exempt = ["health"] } = options;
  return exempt.some((e) => (ALIASES[e] ?? ((s: string) => s === e))(target));
}

/**
 * The check behind every form: `target` is a service name, or {@link DOCS_TARGET} for the
 * docs routes; `authorization` the header's value as the transport delivered it.
 */
function tokenCheck(
  options: BearerAuthOptions,
): (target: string, authorization: string | readonly string[] | null | undefined) => Promise<void> {
  const { tokens } = options;
  if (Array.isArray(tokens) && (tokens.length === 0 || tokens.some((t) => typeof t !== "string" || t === ""))) {
    throw new Error("bearerAuth: tokens must be non-empty strings, and at least one");
  }
  const exempted = (service: string) => isExempt(options, service);
  // Compare digests in constant time: no early exit that leaks how much of a token matched.
  const digest = (t: string) => createHash("sha256").update(t).digest();
  const accepted = Array.isArray(tokens) ? tokens.map(digest) : [];
  const valid =
    typeof tokens === "function"
      ? tokens
      : (t: string) => {
          const d = digest(t);
          let ok = false;
          for (const a of accepted) ok = timingSafeEqual(a, d) || ok;
          return ok;
        };
  return async (target, authorization) => {
    if (exempted(target)) return;
    const token = bearerToken(authorization);
    if (token === undefined)
      throw new ConnectError(
        "missing bearer token: send the header `authorization: Bearer <token>`",
        Code.Unauthenticated,
        CHALLENGE,
      );
    if (!(await valid(token))) throw new ConnectError("invalid bearer token", Code.Unauthenticated, CHALLENGE);
  };
}

/**
 * Bearer-token authentication as a Connect interceptor: calls without a valid
 * `authorization: Bearer <token>` header fail with UNAUTHENTICATED; health (and, when
 * listed, reflection) is exempt. With BlazeRPC's server use the `auth` option instead,
 * which runs the same check before the request body is read; this form is for any
 * Connect server.
 *
 * @example
 * createServer({ app, services, auth: { tokens: [process.env.API_TOKEN!], exempt: ["health", "reflection"] } });
 * // or, in a connect-node router of your own:
 * connectNodeAdapter({ routes, interceptors: [bearerAuth({ tokens: ["s3cret"] })] });
 */
export function bearerAuth(options: BearerAuthOptions): Interceptor {
  const check = bearerCheck(options);
  return (next) => async (req) => {
    await check(req.service.typeName, req.header);
    return next(req);
  };
}

/** The request gate form of {@link bearerCheck}, for connect's `requestGate`. */
export function bearerGate(options: BearerAuthOptions): (ctx: HandlerContext) => Promise<void> {
  const check = bearerCheck(options);
  return (ctx) => check(ctx.service.typeName, ctx.requestHeader);
}

/**
 * The same check for plain HTTP routes (`GET /openapi.json`, `GET /docs`): resolves true
 * when the request may be answered; otherwise it has answered it itself — 401 with
 * `www-authenticate` and a Connect-style JSON error body — and resolves false. `target`
 * is what `exempt` may name ({@link DOCS_TARGET}).
 *
 * @example
 * const allowed = bearerHttpGate({ tokens: ["s3cret"] }, "docs");
 * routes.set("/docs", async (req, res) => { if (await allowed(req, res)) serve(res); });
 */
export function bearerHttpGate(
  options: BearerAuthOptions,
  target: string,
): (req: AnyRequest, res: AnyResponse) => Promise<boolean> {
  const check = tokenCheck(options);
  return async (req, res) => {
    try {
      await check(target, req.headers.authorization);
      return true;
    } catch (err) {
      // As Connect answers a refused call: its HTTP status, its JSON error body, the error's metadata (the challenge).
      const e = toWireError(err);
      const body = JSON.stringify({ code: codeToString(e.code), message: e.rawMessage }) + "\n";
      const headers: Record<string, string> = {};
      e.metadata.forEach((v, k) => (headers[k] = v));
      (res as ServerResponse).writeHead(codeToHttpStatus(e.code), {
        ...headers,
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        "cache-control": "no-store",
      });
      (res as ServerResponse).end(body);
      return false;
    }
  };
}
