/** The HTTP methods a route may answer. */
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

const METHODS: readonly HttpMethod[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/** What a route's handler gets: the request, read as it asks. */
export interface RouteRequest {
  /** `GET`, `POST`, … (`HEAD` is answered by the GET route, without its body). */
  readonly method: string;
  /** The path, without the query: `/models/iris`. */
  readonly path: string;
  /** The whole URL, as the client addressed it. */
  readonly url: URL;
  /** The path's named segments: `{ name: "iris" }` for `/models/:name`. */
  readonly params: Readonly<Record<string, string>>;
  /** The query string's parameters. */
  readonly query: URLSearchParams;
  /** The request's headers. */
  readonly headers: Headers;
  /** Aborts when the client goes away or the server's shutdown grace period is over. */
  readonly signal: AbortSignal;
  /** The client's address, when known. */
  readonly peer: string | undefined;
  /** The body as bytes (at most the server's `readMaxBytes`, else 413). */
  bytes(): Promise<Uint8Array>;
  /** The body as UTF-8 text. */
  text(): Promise<string>;
  /** The body parsed as JSON (400 when it is not JSON). */
  json(): Promise<unknown>;
}

/**
 * A route's handler. What it returns is the answer: a `Response` (the Fetch API's, status
 * and headers as given), `undefined` (204 No Content), or any other value (200, JSON). A
 * `ConnectError` it throws answers with that code's HTTP status and the Connect error body
 * `{"code": "not_found", "message": "…"}`; any other error with 500 and its message.
 */
export type RouteHandler = (req: RouteRequest) => unknown;

/** How a route is described in `/openapi.json` and `/docs`. */
export interface RouteOptions {
  /** One line. */
  summary?: string;
  /** More, in Markdown. */
  description?: string;
  /** JSON Schema of the request body (POST, PUT, PATCH). */
  requestSchema?: Record<string, unknown>;
  /** JSON Schema of the answer. */
  responseSchema?: Record<string, unknown>;
}

/** A registered route. */
export interface RouteRecord {
  readonly method: HttpMethod;
  /** `/health`, or with named segments: `/models/:name`. */
  readonly path: string;
  readonly handler: RouteHandler;
  readonly options: Readonly<RouteOptions>;
}

/**
 * Checks a route as `app.route` registers it.
 *
 * @throws Error naming what is wrong with the method, path or handler.
 */
export function checkRoute(method: string, path: string, handler: unknown): asserts method is HttpMethod {
  const where = `app.route(${JSON.stringify(method)}, ${JSON.stringify(path)})`;
  if (!METHODS.includes(method as HttpMethod))
    throw new Error(`${where}: the method must be one of ${METHODS.join(", ")}`);
  if (typeof path !== "string" || !/^(\/(:?[A-Za-z0-9._~-]+))+$|^\/$/.test(path)) {
    throw new Error(
      `${where}: the path must start with "/" and hold segments of letters, digits, ".", "_", "~" and "-" (":name" for a parameter)`,
    );
  }
  if (typeof handler !== "function") throw new Error(`${where}: the handler must be a function`);
}

/** Finds the route of a request: exact paths first, then the first pattern (`/models/:name`) that matches. */
export interface RouteMatcher<T> {
  match(method: string, path: string): { route: T; params: Record<string, string> } | undefined;
  /** True when some route has this path for another method (the answer is then 405). */
  hasPath(path: string): boolean;
  /** The methods some route answers at this path (HEAD with GET). */
  methodsOf(path: string): string[];
}

/**
 * Builds the matcher of `routes`. HEAD is answered by the GET route.
 *
 * @example
 * const m = createRouteMatcher([{ method: "GET", path: "/models/:name", value: r }]);
 * m.match("GET", "/models/iris"); // { route: r, params: { name: "iris" } }
 */
export function createRouteMatcher<T>(routes: readonly { method: string; path: string; value: T }[]): RouteMatcher<T> {
  const exact = new Map<string, T>();
  const exactPaths = new Set<string>();
  const patterns: { method: string; segments: string[]; value: T }[] = [];
  const exactMethods = new Map<string, string[]>();
  for (const r of routes) {
    if (r.path.includes("/:")) patterns.push({ method: r.method, segments: r.path.split("/"), value: r.value });
    else {
      exact.set(`${r.method} ${r.path}`, r.value);
      exactPaths.add(r.path);
      exactMethods.set(r.path, [...(exactMethods.get(r.path) ?? []), r.method]);
    }
  }
  const matchPattern = (segments: string[], path: string[]): Record<string, string> | undefined => {
    if (segments.length !== path.length) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i]!;
      if (s.startsWith(":")) {
        if (path[i] === "") return undefined;
        try {
          params[s.slice(1)] = decodeURIComponent(path[i]!);
        } catch {
          return undefined;
        }
      } else if (s !== path[i]) return undefined;
    }
    return params;
  };
  return {
    match(method, path) {
      const m = method === "HEAD" ? "GET" : method;
      const hit = exact.get(`${m} ${path}`);
      if (hit !== undefined) return { route: hit, params: {} };
      if (patterns.length === 0) return undefined;
      const parts = path.split("/");
      for (const p of patterns) {
        if (p.method !== m) continue;
        const params = matchPattern(p.segments, parts);
        if (params !== undefined) return { route: p.value, params };
      }
      return undefined;
    },
    hasPath(path) {
      if (exactPaths.has(path)) return true;
      const parts = path.split("/");
      return patterns.some((p) => matchPattern(p.segments, parts) !== undefined);
    },
    methodsOf(path) {
      const parts = path.split("/");
      const methods = new Set([
        ...(exactMethods.get(path) ?? []),
        ...patterns.filter((p) => matchPattern(p.segments, parts) !== undefined).map((p) => p.method),
      ]);
      if (methods.has("GET")) methods.add("HEAD");
      return [...methods];
    },
  };
}
