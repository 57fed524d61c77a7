import type { HandlerContext, Interceptor, StreamRequest, UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import { applyInterceptors, mergedContext, withTrailers, type AnyFn } from "./interceptors.js";

describe("applyInterceptors", () => {
  it("runs the first interceptor outermost, around the call", async () => {
    const seen: string[] = [];
    const named =
      (name: string): Interceptor =>
      (next) =>
      async (req) => {
        seen.push(`${name}>`);
        const res = await next(req);
        seen.push(`<${name}`);
        return res;
      };
    const call: AnyFn = async () => {
      seen.push("call");
      return { stream: false, message: {} } as UnaryResponse;
    };
    await applyInterceptors(call, [named("a"), named("b")])({ stream: false } as UnaryRequest);
    expect(seen).toEqual(["a>", "b>", "call", "<b", "<a"]);
    expect(applyInterceptors(call, [])).toBe(call);
  });
});

describe("mergedContext", () => {
  it("takes service, signal, request headers and values from the request, the rest from the call", () => {
    const ctx = {
      method: "method",
      service: "ctx-service",
      requestMethod: "POST",
      protocolName: "grpc",
      url: "http://h/a.B/C",
      signal: "ctx-signal",
      timeoutMs: () => 5,
      requestHeader: "ctx-header",
      responseHeader: "response-header",
      responseTrailer: "response-trailer",
      values: "ctx-values",
    } as unknown as HandlerContext;
    const req = {
      service: "req-service",
      signal: "req-signal",
      header: "req-header",
      contextValues: "req-values",
    } as unknown as UnaryRequest | StreamRequest;
    const merged = mergedContext(ctx, req);
    // The call's own deadline, read through the call (a method of the call, not a detached function).
    expect(merged.timeoutMs()).toBe(5);
    expect(merged).toEqual({
      method: "method",
      service: "req-service",
      requestMethod: "POST",
      protocolName: "grpc",
      url: "http://h/a.B/C",
      signal: "req-signal",
      timeoutMs: expect.any(Function) as unknown,
      requestHeader: "req-header",
      responseHeader: "response-header",
      responseTrailer: "response-trailer",
      values: "req-values",
    });
  });
});

describe("withTrailers", () => {
  it("calls `after` once the last message is through, not before", async () => {
    const seen: string[] = [];
    async function* messages() {
      yield 1;
      yield 2;
    }
    for await (const m of withTrailers(messages(), () => seen.push("after"))) seen.push(String(m));
    expect(seen).toEqual(["1", "2", "after"]);
  });
});
