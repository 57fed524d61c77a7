import { describeValue, formatDims, MAX_QUOTED_CHARS, quoteValue } from "./errors.js";

describe("error message formatting of client values", () => {
  it("quotes a short value as it is, and cuts a long one to 256 characters with its length", () => {
    expect(quoteValue("complex64")).toBe('"complex64"');
    expect(quoteValue("x".repeat(MAX_QUOTED_CHARS))).toBe(`"${"x".repeat(256)}"`);
    expect(quoteValue("x".repeat(70_000))).toBe(`"${"x".repeat(256)}…" (70000 characters)`);
  });

  it("never splits a surrogate pair", () => {
    const q = quoteValue("a" + "😀".repeat(200));
    expect(q).toBe(`"a${"😀".repeat(127)}…" (401 characters)`);
  });

  it("lists up to 8 dims, then the first 8 and the count", () => {
    expect(formatDims([])).toBe("[]");
    expect(formatDims(["batch", 4])).toBe("[batch, 4]");
    expect(formatDims([1, 2, 3, 4, 5, 6, 7, 8])).toBe("[1, 2, 3, 4, 5, 6, 7, 8]");
    expect(formatDims(Array.from({ length: 100_000 }, () => 0n))).toBe("[0, 0, 0, 0, 0, 0, 0, 0, … (100000 dims)]");
  });

  it("describes any value in at most 256 characters, bigints and cycles included", () => {
    expect(describeValue([1, -2])).toBe("[1,-2]");
    expect(describeValue([1n])).toBe("1");
    expect(describeValue(undefined)).toBe("undefined");
    const cycle: unknown[] = [1];
    cycle.push(cycle);
    expect(describeValue(cycle)).toBe("1,");
    expect(describeValue(Array.from({ length: 1000 }, () => 1))).toBe(`[${"1,".repeat(127)}1… (2001 characters)`);
  });
});
