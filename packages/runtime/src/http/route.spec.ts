import { checkRoute, createRouteMatcher } from "./route.js";

const PATH_RULE =
  'the path must start with "/" and hold segments of letters, digits, ".", "_", "~" and "-" (":name" for a parameter)';

describe("checkRoute", () => {
  it("accepts the five methods, exact paths, named segments and the root", () => {
    const handler = () => undefined;
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"])
      expect(() => checkRoute(method, "/health", handler)).not.toThrow();
    for (const path of ["/", "/models/:name", "/v1/a.b_c~d-e/:id/x"])
      expect(() => checkRoute("GET", path, handler)).not.toThrow();
  });

  it("refuses another method, naming the ones allowed", () => {
    expect(() => checkRoute("HEAD", "/x", () => 1)).toThrow(
      'app.route("HEAD", "/x"): the method must be one of GET, POST, PUT, PATCH, DELETE',
    );
    expect(() => checkRoute("get", "/x", () => 1)).toThrow(
      'app.route("get", "/x"): the method must be one of GET, POST, PUT, PATCH, DELETE',
    );
  });

  it.each([["health"], [""], ["/a/"], ["//a"], ["/a b"], ["/a?b=1"], ["/:"], ["/a/:"], ["/caf\u00e9"], ["/a%20b"]])(
    "refuses the path %j",
    (path) => {
      expect(() => checkRoute("GET", path, () => 1)).toThrow(`app.route("GET", ${JSON.stringify(path)}): ${PATH_RULE}`);
    },
  );

  it("refuses a path that is not a string", () => {
    expect(() => checkRoute("GET", 7 as never, () => 1)).toThrow(`app.route("GET", 7): ${PATH_RULE}`);
  });

  it("refuses a handler that is not a function", () => {
    expect(() => checkRoute("POST", "/x", { handle: () => 1 })).toThrow(
      'app.route("POST", "/x"): the handler must be a function',
    );
  });
});

describe("createRouteMatcher", () => {
  const m = createRouteMatcher([
    { method: "GET", path: "/health", value: "get-health" },
    { method: "PUT", path: "/health", value: "put-health" },
    { method: "GET", path: "/models/:name", value: "get-model" },
    { method: "GET", path: "/models/list", value: "list" },
    { method: "DELETE", path: "/models/:name", value: "delete-model" },
    { method: "GET", path: "/models/:name/versions/:version", value: "version" },
    { method: "POST", path: "/jobs", value: "post-jobs" },
  ]);

  it("finds an exact path by method, with no params", () => {
    expect(m.match("GET", "/health")).toEqual({ route: "get-health", params: {} });
    expect(m.match("PUT", "/health")).toEqual({ route: "put-health", params: {} });
    expect(m.match("POST", "/health")).toBeUndefined();
    expect(m.match("GET", "/health/")).toBeUndefined();
    expect(m.match("GET", "/Health")).toBeUndefined();
  });

  it("answers HEAD with the GET route, and only GET", () => {
    expect(m.match("HEAD", "/health")).toEqual({ route: "get-health", params: {} });
    expect(m.match("HEAD", "/models/iris")).toEqual({ route: "get-model", params: { name: "iris" } });
    expect(m.match("HEAD", "/jobs")).toBeUndefined();
  });

  it("reads named segments, and prefers an exact path registered after a pattern", () => {
    expect(m.match("GET", "/models/iris")).toEqual({ route: "get-model", params: { name: "iris" } });
    expect(m.match("GET", "/models/list")).toEqual({ route: "list", params: {} });
    expect(m.match("DELETE", "/models/list")).toEqual({ route: "delete-model", params: { name: "list" } });
    expect(m.match("GET", "/models/iris/versions/3")).toEqual({
      route: "version",
      params: { name: "iris", version: "3" },
    });
  });

  it("needs every segment: none missing, none empty, none extra", () => {
    expect(m.match("GET", "/models")).toBeUndefined();
    expect(m.match("GET", "/models/")).toBeUndefined();
    expect(m.match("GET", "/models/iris/")).toBeUndefined();
    expect(m.match("GET", "/models/iris/versions")).toBeUndefined();
    expect(m.match("GET", "/models//versions/3")).toBeUndefined();
    expect(m.match("GET", "/other/iris")).toBeUndefined();
  });

  it("percent-decodes a named segment, and matches nothing when its encoding is bad", () => {
    expect(m.match("GET", "/models/caf%C3%A9%20au%2Flait")).toEqual({
      route: "get-model",
      params: { name: "café au/lait" },
    });
    expect(m.match("GET", "/models/%E0%A4%A")).toBeUndefined();
    expect(m.match("GET", "/models/100%")).toBeUndefined();
    expect(m.hasPath("/models/100%")).toBe(false);
  });

  it("hasPath: true for a path some route has, whatever the method", () => {
    expect(m.hasPath("/health")).toBe(true);
    expect(m.hasPath("/jobs")).toBe(true);
    expect(m.hasPath("/models/iris")).toBe(true);
    expect(m.hasPath("/models/iris/versions/2")).toBe(true);
    expect(m.hasPath("/nothing")).toBe(false);
    expect(m.hasPath("/models")).toBe(false);
  });

  it("methodsOf: the methods of exact and pattern routes at a path, HEAD beside GET", () => {
    expect(m.methodsOf("/health").sort()).toEqual(["GET", "HEAD", "PUT"]);
    expect(m.methodsOf("/jobs")).toEqual(["POST"]);
    expect(m.methodsOf("/models/list").sort()).toEqual(["DELETE", "GET", "HEAD"]);
    expect(m.methodsOf("/models/iris").sort()).toEqual(["DELETE", "GET", "HEAD"]);
    expect(m.methodsOf("/nothing")).toEqual([]);
  });

  it("takes the first pattern that matches, in the order given", () => {
    const first = createRouteMatcher([
      { method: "GET", path: "/a/:x", value: 1 },
      { method: "GET", path: "/a/:y", value: 2 },
    ]);
    expect(first.match("GET", "/a/b")).toEqual({ route: 1, params: { x: "b" } });
  });

  it("with no routes, matches nothing", () => {
    const none = createRouteMatcher<string>([]);
    expect(none.match("GET", "/")).toBeUndefined();
    expect(none.hasPath("/")).toBe(false);
    expect(none.methodsOf("/")).toEqual([]);
  });
});
