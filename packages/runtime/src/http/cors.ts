import { cors as connectCors } from "@connectrpc/connect";
import type { AnyRequest, AnyResponse } from "./routes.js";

/**
 * CORS for browser clients (off unless configured). Only the listed origins get CORS
 * headers; preflights from others are refused with 403.
 *
 * @example
 * createServer({ app, services, cors: { origins: ["https://app.example.com"] } });
 */
export interface CorsOptions {
  /** Origins allowed, exactly as browsers send them (`https://app.example.com`); `"*"` allows any. */
  origins: readonly string[];
  /** Request headers allowed besides those gRPC-Web and Connect need (and `authorization`). */
  allowHeaders?: readonly string[];
  /** Response headers browsers may read besides those gRPC-Web and Connect need. */
  exposeHeaders?: readonly string[];
  /** Send `access-control-allow-credentials: true` (cookies, HTTP auth). Default false. */
  credentials?: boolean;
  /** How long browsers may cache a preflight, in seconds. Default 7200. */
  maxAgeSeconds?: number;
}

/**
 * Returns a function that adds CORS headers to a request's response and answers a
 * preflight itself (then it returns true: nothing more to do).
 */
export function createCors(options: CorsOptions): (req: AnyRequest, res: AnyResponse) => boolean {
  const { origins, allowHeaders = [], exposeHeaders = [], credentials = false, maxAgeSeconds = 7200 } = options;
  const any = origins.includes("*");
  const allowed = new Set(origins);
  const allowHeaderList = [...new Set([...connectCors.allowedHeaders, "Authorization", ...allowHeaders])].join(", ");
  const exposeHeaderList = [...new Set([...connectCors.exposedHeaders, ...exposeHeaders])].join(", ");
  const allowMethods = [...connectCors.allowedMethods, "OPTIONS"].join(", ");
  return (req, res) => {
    const origin = req.headers.origin;
    const r = res as {
      setHeader(k: string, v: string): void;
      writeHead(s: number, h?: Record<string, string>): void;
      end(): void;
    };
    if (typeof origin !== "string") return false;
    const ok = any || allowed.has(origin);
    const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
    r.setHeader("vary", "Origin");
    if (!ok) {
      if (!preflight) return false;
      r.writeHead(403, { "content-type": "text/plain" });
      (res as { end(s: string): void }).end(`origin ${origin} is not allowed\n`);
      return true;
    }
    r.setHeader("access-control-allow-origin", any && !credentials ? "*" : origin);
    if (credentials) r.setHeader("access-control-allow-credentials", "true");
    if (!preflight) {
      r.setHeader("access-control-expose-headers", exposeHeaderList);
      return false;
    }
    r.writeHead(204, {
      "access-control-allow-methods": allowMethods,
      "access-control-allow-headers": allowHeaderList,
      "access-control-max-age": String(maxAgeSeconds),
    });
    r.end();
    return true;
  };
}
