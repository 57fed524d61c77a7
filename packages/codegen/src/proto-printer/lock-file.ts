/**
 * The lock file: the field numbers of a generated schema, committed beside it
 * (`proto/iris/v1/iris.lock.json`), so that numbers stay the same when parameters and
 * properties are reordered, added or removed. A removed field's number and name stay
 * reserved for good; a field added back under its old name gets its old number back.
 */

/** The numbers of one message's fields, by proto field name. */
export interface LockedMessage {
  readonly fields: Readonly<Record<string, number>>;
  /** Fields that were removed: never reused for another field. */
  readonly reserved?: Readonly<Record<string, number>>;
}

/** The numbers of one enum's values (the zero value excepted), by proto value name. */
export interface LockedEnum {
  readonly values: Readonly<Record<string, number>>;
  readonly reserved?: Readonly<Record<string, number>>;
}

/** The whole lock file. */
export interface LockFile {
  /** By message name in the package (`PredictIrisRequest`, `Query.Filter`). */
  readonly messages: Readonly<Record<string, LockedMessage>>;
  readonly enums: Readonly<Record<string, LockedEnum>>;
}

/** The schema's shape that numbers are given to: field and value names, in source order. */
export interface NumberingInput {
  readonly messages: readonly { readonly name: string; readonly fields: readonly string[] }[];
  readonly enums: readonly { readonly name: string; readonly values: readonly string[] }[];
}

/** Field numbers 19000–19999 are reserved by protobuf itself. */
const FIRST_RESERVED = 19000;
const LAST_RESERVED = 19999;
const NOTE =
  "Field numbers of the generated schema, kept stable by blaze proto. Commit this file; do not edit it by hand.";

/**
 * Gives every field and enum value a number: the one in `previous` when it has one, else
 * the next free number of its message (after every number used or reserved before).
 * Fields of `previous` that are gone become reserved. Without `previous`, numbers follow
 * source order from 1. Messages and enums that are gone entirely are dropped.
 *
 * @example
 * const lock = assignNumbers({ messages: [{ name: "PredictIrisRequest", fields: ["features"] }], enums: [] });
 * lock.messages.PredictIrisRequest.fields.features; // 1
 */
export function assignNumbers(input: NumberingInput, previous?: LockFile): LockFile {
  const messages: Record<string, LockedMessage> = {};
  for (const m of [...input.messages].sort((a, b) => compare(a.name, b.name))) {
    const { numbers, reserved } = number(
      m.fields,
      previous?.messages[m.name]?.fields,
      previous?.messages[m.name]?.reserved,
      1,
    );
    messages[m.name] = { fields: numbers, ...(Object.keys(reserved).length > 0 ? { reserved } : {}) };
  }
  const enums: Record<string, LockedEnum> = {};
  for (const e of [...input.enums].sort((a, b) => compare(a.name, b.name))) {
    const { numbers, reserved } = number(
      e.values,
      previous?.enums[e.name]?.values,
      previous?.enums[e.name]?.reserved,
      1,
    );
    enums[e.name] = { values: numbers, ...(Object.keys(reserved).length > 0 ? { reserved } : {}) };
  }
  return { messages, enums };
}

function number(
  names: readonly string[],
  before: Readonly<Record<string, number>> | undefined,
  reservedBefore: Readonly<Record<string, number>> | undefined,
  first: number,
): { numbers: Record<string, number>; reserved: Record<string, number> } {
  const reserved: Record<string, number> = { ...reservedBefore };
  const assigned = new Map<string, number>();
  for (const name of names) {
    const n = before?.[name] ?? reserved[name];
    if (n !== undefined) {
      assigned.set(name, n);
      delete reserved[name];
    }
  }
  for (const [name, n] of Object.entries(before ?? {})) {
    if (!names.includes(name)) reserved[name] = n;
  }
  let next = Math.max(first - 1, ...assigned.values(), ...Object.values(reserved)) + 1;
  for (const name of names) {
    if (assigned.has(name)) continue;
    if (next >= FIRST_RESERVED && next <= LAST_RESERVED) next = LAST_RESERVED + 1;
    assigned.set(name, next++);
  }
  return { numbers: byNumber(Object.fromEntries(assigned)), reserved: byNumber(reserved) };
}

function byNumber(entries: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(entries).sort((a, b) => a[1] - b[1] || compare(a[0], b[0])));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The lock file as committed: stable key order, two-space JSON, a trailing newline. */
export function formatLockFile(lock: LockFile): string {
  return `${JSON.stringify({ "//": NOTE, messages: lock.messages, enums: lock.enums }, null, 2)}\n`;
}

/**
 * Reads a lock file's text.
 *
 * @throws Error naming `where` when the text is not a lock file.
 */
export function parseLockFile(text: string, where: string): LockFile {
  const bad = (why: string): never => {
    throw new Error(
      `${where} is not a valid lock file (${why}) — restore it from version control, or delete it to number the fields afresh (a breaking change)`,
    );
  };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return bad((err as Error).message);
  }
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  const numbers = (v: unknown, what: string): Record<string, number> => {
    if (v === undefined) return {};
    if (!isRecord(v)) return bad(`${what} is not an object`);
    for (const [k, n] of Object.entries(v)) {
      if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 536870911)
        bad(`${what}.${k} is not a field number`);
    }
    return v as Record<string, number>;
  };
  if (!isRecord(data) || !isRecord(data.messages) || (data.enums !== undefined && !isRecord(data.enums)))
    return bad("no messages");
  const messages: Record<string, LockedMessage> = {};
  for (const [name, m] of Object.entries(data.messages)) {
    if (!isRecord(m)) return bad(`messages.${name} is not an object`);
    messages[name] = {
      fields: numbers(m.fields, `messages.${name}.fields`),
      reserved: numbers(m.reserved, `messages.${name}.reserved`),
    };
  }
  const enums: Record<string, LockedEnum> = {};
  for (const [name, e] of Object.entries((data.enums ?? {}) as Record<string, unknown>)) {
    if (!isRecord(e)) return bad(`enums.${name} is not an object`);
    enums[name] = {
      values: numbers(e.values, `enums.${name}.values`),
      reserved: numbers(e.reserved, `enums.${name}.reserved`),
    };
  }
  return { messages, enums };
}
