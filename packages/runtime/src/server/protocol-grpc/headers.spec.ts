import type * as http2 from "node:http2";
import { copyHeaders, headerValue, nodeHeadersInto, webHeaders } from "./headers.js";

describe("headerValue", () => {
  it("reads an absent header as null and repeated values joined, as connect does", () => {
    expect(headerValue(undefined)).toBeNull();
    expect(headerValue("gzip")).toBe("gzip");
    expect(headerValue(["gzip", "br"])).toBe("gzip, br");
  });
});

describe("webHeaders", () => {
  it("leaves out pseudo-headers and keeps every value of a repeated header", () => {
    const h = webHeaders({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      ":authority": "localhost",
      ":scheme": "http",
      "content-type": "application/grpc",
      "x-id": ["1", "2"],
      "x-none": undefined,
    });
    expect([...h]).toEqual([
      ["content-type", "application/grpc"],
      ["x-id", "1, 2"],
    ]);
  });
});

describe("nodeHeadersInto", () => {
  it("adds values to a name already there, but replaces content-type and date", () => {
    const out: http2.OutgoingHttpHeaders = {
      ":status": 200,
      "content-type": "application/grpc+proto",
      date: "Thu, 01 Jan 1970 00:00:00 GMT",
      "x-one": "a",
      "x-many": ["b"],
    };
    const many = out["x-many"];
    const h = new Headers([
      ["content-type", "application/grpc+json"],
      ["date", "Fri, 02 Jan 1970 00:00:00 GMT"],
      ["x-one", "c"],
      ["x-many", "d"],
      ["x-new", "e"],
      ["x-new", "f"],
    ]);
    expect(nodeHeadersInto(out, h)).toBe(out);
    expect(out).toEqual({
      ":status": 200,
      "content-type": "application/grpc+json",
      date: "Fri, 02 Jan 1970 00:00:00 GMT",
      "x-one": ["a", "c"],
      "x-many": ["b", "d"],
      // Web Headers hold a repeated name as one value.
      "x-new": "e, f",
    });
    expect(out["x-many"]).toBe(many);
  });

  it("gives trailers what the Headers hold", () => {
    expect(nodeHeadersInto({}, new Headers({ "grpc-status": "5", "grpc-message": "not found" }))).toEqual({
      "grpc-status": "5",
      "grpc-message": "not found",
    });
  });
});

describe("copyHeaders", () => {
  it("makes the target hold exactly the source's headers", () => {
    const to = new Headers({ "content-type": "application/grpc+proto", "x-old": "1" });
    copyHeaders(new Headers({ "content-type": "application/grpc+proto", "x-new": "2" }), to);
    expect([...to]).toEqual([
      ["content-type", "application/grpc+proto"],
      ["x-new", "2"],
    ]);
    copyHeaders(to, to);
    expect([...to].length).toBe(2);
  });
});

describe("utcDate", () => {
  afterEach(() => jest.useRealTimers());

  it("is the current time as an HTTP date, formatted once per second", async () => {
    jest.useFakeTimers({ now: Date.parse("2024-02-29T23:59:58.250Z") });
    // A fresh module: the cache is module state, which another test may have filled.
    let utcDate!: () => string;
    await jest.isolateModulesAsync(async () => {
      ({ utcDate } = await import("./headers.js"));
    });
    expect(utcDate()).toBe("Thu, 29 Feb 2024 23:59:58 GMT");
    jest.advanceTimersByTime(700);
    expect(utcDate()).toBe("Thu, 29 Feb 2024 23:59:58 GMT");
    jest.advanceTimersByTime(50);
    expect(utcDate()).toBe("Thu, 29 Feb 2024 23:59:59 GMT");
    jest.advanceTimersByTime(1000);
    expect(utcDate()).toBe("Fri, 01 Mar 2024 00:00:00 GMT");
  });
});
