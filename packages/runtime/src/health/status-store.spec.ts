import { createStatusStore } from "./status-store.js";

describe("createStatusStore", () => {
  it('keeps what was set, by service, the whole server as ""', () => {
    const store = createStatusStore();
    expect(store.get("")).toBeUndefined();
    expect(store.entries()).toEqual([]);
    store.set("a.v1.A", "NOT_SERVING");
    store.set("", "SERVING");
    store.set("a.v1.A", "SERVING");
    expect(store.get("a.v1.A")).toBe("SERVING");
    expect(store.get("")).toBe("SERVING");
    expect(store.entries()).toEqual([
      ["a.v1.A", "SERVING"],
      ["", "SERVING"],
    ]);
  });

  it("refuses a status other than SERVING and NOT_SERVING, and a service that is not a string", () => {
    const store = createStatusStore();
    expect(() => store.set("a.v1.A", "UNKNOWN" as never)).toThrow(
      'setServingStatus: the status must be "SERVING" or "NOT_SERVING", got "UNKNOWN"',
    );
    expect(() => store.set("a.v1.A", undefined as never)).toThrow(
      'setServingStatus: the status must be "SERVING" or "NOT_SERVING", got undefined',
    );
    expect(() => store.set(undefined as never, "SERVING")).toThrow(
      'setServingStatus: the service must be a full service name or "" for the server, got undefined',
    );
    expect(store.entries()).toEqual([]);
  });

  it("tells each listener after every change, not when the status stays the same; unsubscribe stops it", () => {
    const store = createStatusStore();
    const seen: string[] = [];
    const off = store.subscribe(() => seen.push(`1:${store.get("s")}`));
    store.subscribe(() => seen.push(`2:${store.get("s")}`));
    store.set("s", "NOT_SERVING");
    store.set("s", "NOT_SERVING");
    off();
    store.set("s", "SERVING");
    expect(seen).toEqual(["1:NOT_SERVING", "2:NOT_SERVING", "2:SERVING"]);
  });

  it('allow(): from then on, an unknown name throws with the served list; "" and the served names still work', () => {
    const store = createStatusStore();
    store.set("free.v1.Before", "SERVING");
    expect(() => store.allow(["a.v1.A", "b.v1.B"])).toThrow(
      'setServingStatus: no service "free.v1.Before" is served (served: a.v1.A, b.v1.B; "" is the whole server)',
    );
    const fresh = createStatusStore();
    fresh.allow(["", "a.v1.A", "b.v1.B"]);
    expect(() => fresh.set("a.v1.Typo", "NOT_SERVING")).toThrow(
      'setServingStatus: no service "a.v1.Typo" is served (served: a.v1.A, b.v1.B; "" is the whole server)',
    );
    expect(fresh.get("a.v1.Typo")).toBeUndefined();
    fresh.set("a.v1.A", "NOT_SERVING");
    fresh.set("", "NOT_SERVING");
    expect(fresh.entries()).toEqual([
      ["a.v1.A", "NOT_SERVING"],
      ["", "NOT_SERVING"],
    ]);
    // A second server of the app adds what it serves.
    fresh.allow(["c.v1.C"]);
    fresh.set("c.v1.C", "SERVING");
    expect(() => fresh.set("d.v1.D", "SERVING")).toThrow("(served: a.v1.A, b.v1.B, c.v1.C;");
  });

  it("without allow(), any name is taken (the app sets statuses before a server exists)", () => {
    const store = createStatusStore();
    expect(() => store.set("anything.v1.At.All", "NOT_SERVING")).not.toThrow();
  });
});
