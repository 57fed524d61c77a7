import { assignNumbers, formatLockFile, parseLockFile, type LockFile, type NumberingInput } from "./lock-file.js";

const msg = (name: string, ...fields: string[]) => ({ name, fields });
const input = (messages: NumberingInput["messages"], enums: NumberingInput["enums"] = []): NumberingInput => ({
  messages,
  enums,
});

describe("assignNumbers", () => {
  const first = assignNumbers(
    input([msg("Req", "prompt", "max_tokens", "temperature")], [{ name: "Mode", values: ["MODE_FAST", "MODE_EXACT"] }]),
  );

  it("numbers fields and enum values in source order from 1 when there is no lock", () => {
    expect(first).toEqual({
      messages: { Req: { fields: { prompt: 1, max_tokens: 2, temperature: 3 } } },
      enums: { Mode: { values: { MODE_FAST: 1, MODE_EXACT: 2 } } },
    });
  });

  it("keeps every number when fields are reordered", () => {
    const reordered = assignNumbers(
      input(
        [msg("Req", "temperature", "prompt", "max_tokens")],
        [{ name: "Mode", values: ["MODE_EXACT", "MODE_FAST"] }],
      ),
      first,
    );
    expect(reordered.messages.Req!.fields).toEqual({ prompt: 1, max_tokens: 2, temperature: 3 });
    expect(reordered.enums.Mode!.values).toEqual({ MODE_FAST: 1, MODE_EXACT: 2 });
  });

  it("reserves the number and name of a removed field, and never reuses the number", () => {
    const removed = assignNumbers(
      input([msg("Req", "prompt", "temperature")], [{ name: "Mode", values: ["MODE_EXACT"] }]),
      first,
    );
    expect(removed.messages.Req).toEqual({ fields: { prompt: 1, temperature: 3 }, reserved: { max_tokens: 2 } });
    expect(removed.enums.Mode).toEqual({ values: { MODE_EXACT: 2 }, reserved: { MODE_FAST: 1 } });
    const added = assignNumbers(input([msg("Req", "prompt", "temperature", "top_k")]), removed);
    expect(added.messages.Req).toEqual({
      fields: { prompt: 1, temperature: 3, top_k: 4 },
      reserved: { max_tokens: 2 },
    });
    // Reserved numbers count as used even above every live field.
    const afterLast = assignNumbers(input([msg("Req", "prompt")]), added);
    expect(assignNumbers(input([msg("Req", "prompt", "seed")]), afterLast).messages.Req!.fields).toEqual({
      prompt: 1,
      seed: 5,
    });
  });

  it("gives a field added back under its old name its old number", () => {
    const removed = assignNumbers(input([msg("Req", "prompt")]), first);
    const back = assignNumbers(input([msg("Req", "prompt", "temperature", "max_tokens")]), removed);
    expect(back.messages.Req).toEqual({ fields: { prompt: 1, max_tokens: 2, temperature: 3 } });
  });

  it("skips the numbers protobuf reserves (19000–19999)", () => {
    const lock: LockFile = { messages: { Req: { fields: { a: 18999 } } }, enums: {} };
    expect(assignNumbers(input([msg("Req", "a", "b")]), lock).messages.Req!.fields).toEqual({ a: 18999, b: 20000 });
  });

  it("drops messages and enums that are gone, and sorts by name whatever the input order", () => {
    const next = assignNumbers(input([msg("Zed", "z"), msg("Alpha", "a")]), first);
    expect(Object.keys(next.messages)).toEqual(["Alpha", "Zed"]);
    expect(next.enums).toEqual({});
  });
});

describe("formatLockFile / parseLockFile", () => {
  it("round-trips, with a note and a trailing newline", () => {
    const lock = assignNumbers(input([msg("Req", "b", "a")]), {
      messages: { Req: { fields: {}, reserved: { old: 7 } } },
      enums: {},
    });
    const text = formatLockFile(lock);
    expect(text.endsWith("}\n")).toBe(true);
    expect(JSON.parse(text)["//"]).toMatch(/Commit this file; do not edit it by hand/);
    expect(text).toContain(
      '"fields": {\n        "b": 8,\n        "a": 9\n      },\n      "reserved": {\n        "old": 7\n      }',
    );
    expect(parseLockFile(text, "x.lock.json")).toEqual({
      messages: { Req: { fields: { b: 8, a: 9 }, reserved: { old: 7 } } },
      enums: {},
    });
  });

  it("refuses what is not a lock file, saying which file and what to do", () => {
    expect(() => parseLockFile("{", "proto/iris/v1/iris.lock.json")).toThrow(
      /^proto\/iris\/v1\/iris\.lock\.json is not a valid lock file \(.*\) — restore it from version control, or delete it/,
    );
    expect(() => parseLockFile('{"messages":{"Req":{"fields":{"a":0}}}}', "f")).toThrow(
      "f is not a valid lock file (messages.Req.fields.a is not a field number)",
    );
    expect(() => parseLockFile("[]", "f")).toThrow("(no messages)");
  });
});
