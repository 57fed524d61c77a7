import { Code, ConnectError } from "@connectrpc/connect";
import { limitMessage, MAX_ERROR_MESSAGE_BYTES, toWireError } from "./errors.js";

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

describe("limitMessage", () => {
  it("leaves a message of up to 1 KiB of UTF-8 alone", () => {
    expect(limitMessage("short")).toBe("short");
    const exact = "a".repeat(1000) + "é".repeat(12); // 1024 bytes
    expect(limitMessage(exact)).toBe(exact);
  });

  it("cuts a longer one to at most 1 KiB, saying how long it was, never splitting a character", () => {
    for (const unit of ["a", "é", "€", "😀"]) {
      const long = unit.repeat(5000);
      const cut = limitMessage(long);
      expect(bytes(cut)).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
      expect(bytes(cut)).toBeGreaterThan(MAX_ERROR_MESSAGE_BYTES - 4);
      expect(cut).toMatch(new RegExp(`^(${unit})+… \\(message cut: ${long.length} characters\\)$`, "u"));
    }
    expect(limitMessage("x".repeat(100), 50)).toBe(`${"x".repeat(17)}… (message cut: 100 characters)`);
  });
});

describe("toWireError", () => {
  it("cuts a ConnectError's message in place, code, metadata and cause kept", () => {
    const cause = new Error("why");
    const err = new ConnectError("y".repeat(70_000), Code.NotFound, { "x-a": "1" }, undefined, cause);
    expect(toWireError(err)).toBe(err);
    expect(err.rawMessage).toBe(`${"y".repeat(989)}… (message cut: 70000 characters)`);
    expect(err.message).toBe(`[not_found] ${err.rawMessage}`);
    expect([err.code, err.metadata.get("x-a"), err.cause]).toEqual([Code.NotFound, "1", cause]);
    const short = new ConnectError("fine", Code.Unavailable);
    expect(toWireError(short)).toBe(short);
    expect(short.message).toBe("[unavailable] fine");
  });

  it("answers anything else as connect does: INTERNAL, internal error", () => {
    const e = toWireError(new Error("x".repeat(10_000)));
    expect([e.code, e.rawMessage]).toEqual([Code.Internal, "internal error"]);
  });
});
