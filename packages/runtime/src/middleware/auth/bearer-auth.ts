import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError, type HandlerContext, type Interceptor } from "@connectrpc/connect";

/** Options of {@link bearerAuth}. */
export interface BearerAuthOptions {
  /** The tokens accepted, or a function that tells whether a token is valid (e.g. verifies a JWT). */
  tokens: readonly string[] | ((token: string) => boolean | Promise<boolean>);
  /**
   * Services that need no token: `"health"` (`grpc.health.v1.Health`: Kubernetes' gRPC
   * probe cannot send one), `"reflection"` (`grpc.reflection.*`), or full service names.
   * Default `["health"]`.
   */
  exempt?: readonly string[];
}

const ALIASES: Record<string, (service: string) => boolean> = {
  health: (s) => s === "grpc.health.v1.Health",
  reflection: (s) => s.startsWith("grpc.reflection."),
};

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
  const { tokens, exempt = ["health"] } = options;
  if (Array.isArray(tokens) && (tokens.length === 0 || tokens.some((t) => typeof t !== "string" || t === ""))) {
    throw new Error("bearerAuth: tokens must be non-empty strings, and at least one");
  }
  const isExempt = (service: string) => exempt.some((e) => (ALIASES[e] ?? ((s: string) => s === e))(service));
  // Compare digests in constant time: no early exit that leaks how much of a token matched.
  const digest = (t: string) => createHash("sha256").update(t).digest();
  const accepted = Array.isArray(tokens) ? tokens.map(digest) : [];
  const valid = typeof tokens === "function" ? tokens : (t: string) => {
    const d = digest(t);
    let ok = false;
    for (const a of accepted) ok = timingSafeEqual(a, d) || ok;
    return ok;
  };
  const challenge = { "www-authenticate": 'Bearer realm="blazerpc"' };
  return async (service, header) => {
    if (isExempt(service)) return;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header.get("authorization") ?? "");
    if (m === null) throw new ConnectError("missing bearer token: send the header `authorization: Bearer <token>`", Code.Unauthenticated, challenge);
    if (!(await valid(m[1]!))) throw new ConnectError("invalid bearer token", Code.Unauthenticated, challenge);
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
