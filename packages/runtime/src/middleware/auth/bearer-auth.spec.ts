import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { createApp } from "../../app.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { registerHealth } from "../../health/health-service.js";
import { createServingState } from "../../health/serving-state.js";
import { bearerAuth, bearerCheck, bearerToken } from "./bearer-auth.js";

describe("bearerAuth", () => {
  const check = bearerCheck({ tokens: ["s3cret", "other"] });
  const h = (authorization?: string) => new Headers(authorization !== undefined ? { authorization } : {});

  it("accepts a listed token, refuses a missing or wrong one with UNAUTHENTICATED", async () => {
    await expect(check("a.v1.Svc", h("Bearer s3cret"))).resolves.toBeUndefined();
    await expect(check("a.v1.Svc", h("bearer other"))).resolves.toBeUndefined();
    const missing = await check("a.v1.Svc", h()).catch((e: unknown) => e);
    expect(missing).toEqual(
      new ConnectError("missing bearer token: send the header `authorization: Bearer <token>`", Code.Unauthenticated),
    );
    expect((missing as ConnectError).metadata.get("www-authenticate")).toBe('Bearer realm="blazerpc"');
    await expect(check("a.v1.Svc", h("Bearer s3cre"))).rejects.toEqual(
      new ConnectError("invalid bearer token", Code.Unauthenticated),
    );
    await expect(check("a.v1.Svc", h("Basic czNjcmV0"))).rejects.toThrow("missing bearer token");
  });

  it("exempts health by default, reflection and named services when listed", async () => {
    await expect(check("grpc.health.v1.Health", h())).resolves.toBeUndefined();
    await expect(check("grpc.reflection.v1.ServerReflection", h())).rejects.toThrow("missing bearer token");
    const open = bearerCheck({ tokens: ["t"], exempt: ["reflection", "a.v1.Public"] });
    await expect(open("grpc.reflection.v1alpha.ServerReflection", h())).resolves.toBeUndefined();
    await expect(open("a.v1.Public", h())).resolves.toBeUndefined();
    await expect(open("grpc.health.v1.Health", h())).rejects.toThrow("missing bearer token");
  });

  it("reads the header one way: `Bearer <token>`, any case, spaces or tabs between, nothing else", () => {
    expect(bearerToken("Bearer s3cret")).toBe("s3cret");
    expect(bearerToken("bEaReR \t s3cret")).toBe("s3cret");
    // Whitespace around a value is not part of it (what HTTP/1.1 strips and HTTP/2 forbids).
    expect(bearerToken(" Bearer s3cret \t")).toBe("s3cret");
    for (const no of [
      undefined,
      null,
      "",
      "Bearer",
      "Bearer ",
      "Bearers3cret",
      "Bearer a b",
      "Basic czNjcmV0",
      "Bearer\ns3cret",
    ]) {
      expect({ value: no, token: bearerToken(no) }).toEqual({ value: no, token: undefined });
    }
    // A header sent twice, where a transport keeps both: neither is taken.
    expect(bearerToken(["Bearer a", "Bearer b"])).toBeUndefined();
    expect(bearerToken(["Bearer a"])).toBe("a");
  });

  it('"docs" in exempt opens the docs routes (checked as "docs"), and only them', async () => {
    await expect(check("docs", h())).rejects.toThrow("missing bearer token");
    const open = bearerCheck({ tokens: ["t"], exempt: ["health", "docs"] });
    await expect(open("docs", h())).resolves.toBeUndefined();
    await expect(open("a.v1.Svc", h())).rejects.toThrow("missing bearer token");
  });

  it("takes a verifying function, and refuses empty token lists", async () => {
    const jwtish = bearerCheck({ tokens: async (t) => t.startsWith("ok.") });
    await expect(jwtish("a.v1.Svc", h("Bearer ok.123"))).resolves.toBeUndefined();
    await expect(jwtish("a.v1.Svc", h("Bearer no.123"))).rejects.toThrow("invalid bearer token");
    expect(() => bearerCheck({ tokens: [] })).toThrow("at least one");
    expect(() => bearerCheck({ tokens: [""] })).toThrow("non-empty");
  });

  it("works as a Connect interceptor in any router", async () => {
    const state = createServingState(createApp({ name: "demo" }), new Map());
    const transport = createRouterTransport((router) => registerHealth(router, state), {
      router: { interceptors: [bearerAuth({ tokens: ["s3cret"], exempt: [] })] },
    });
    const client = createClient(Health, transport);
    await expect(client.check({ service: "" })).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect((await client.check({ service: "" }, { headers: { authorization: "Bearer s3cret" } })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });
});
