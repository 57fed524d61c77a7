import type { AppSpec, FieldSpec, ModelSpec, TypeSpec } from "@blazerpc/codegen";

/**
 * The RPC name of a model or code-first RPC, as the schema spells it (`iris` → `PredictIris`,
 * `InferenceDirector.GetHealthStatus` → `GetHealthStatus`); the naming rule without loading ts-morph.
 */
function rpc(model: ModelSpec): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: the naming rules without ts-morph
  const { schemaMethod } = require("@blazerpc/codegen/names") as typeof import("@blazerpc/codegen");
  return schemaMethod(model).method;
}

/**
 * What changed in the schema between two extracts, per RPC, for `blaze dev`'s summary line:
 * `PredictIris signature changed`, `PredictShout added`, `PredictOld removed`,
 * `PredictIris doc comment or options changed`. A signature covers the request and response
 * fields and every message and enum they reach; doc comments, `version` and `@pure` do not
 * change it.
 *
 * @example
 * describeSchemaChange(before, after) // ["PredictIris signature changed"]
 */
export function describeSchemaChange(before: AppSpec | undefined, after: AppSpec): string[] {
  if (before === undefined) return [];
  const out: string[] = [];
  if (before.name !== after.name) out.push(`app "${before.name}" renamed to "${after.name}"`);
  const old = new Map(before.models.map((m) => [m.name, m]));
  for (const m of after.models) {
    const was = old.get(m.name);
    if (was === undefined) {
      out.push(`${rpc(m)} added`);
      continue;
    }
    const [a, b] = [keys(before, was), keys(after, m)];
    if (a.signature !== b.signature) out.push(`${rpc(m)} signature changed`);
    else if (a.full !== b.full) out.push(`${rpc(m)} doc comment or options changed`);
  }
  const now = new Set(after.models.map((m) => m.name));
  for (const m of before.models) if (!now.has(m.name)) out.push(`${rpc(m)} removed`);
  return out;
}

/** A model's signature (no docs) and everything the schema says of it (no source positions), as comparable strings. */
function keys(app: AppSpec, model: ModelSpec): { signature: string; full: string } {
  const messages = new Map((app.messages ?? []).map((m) => [m.name, m]));
  const enums = new Map((app.enums ?? []).map((e) => [e.name, e]));
  const reached: unknown[] = [];
  const seen = new Set<string>();
  const visit = (t: TypeSpec): void => {
    if (t.kind === "repeated") visit(t.element);
    else if (t.kind === "map") visit(t.value);
    else if ((t.kind === "message" || t.kind === "enum") && !seen.has(`${t.kind}:${t.name}`)) {
      seen.add(`${t.kind}:${t.name}`);
      const decl = t.kind === "message" ? messages.get(t.name) : enums.get(t.name);
      reached.push(decl ?? t.name);
      if (t.kind === "message") for (const f of messages.get(t.name)?.fields ?? []) visit(f.type);
    }
  };
  for (const f of [...model.params, ...model.results]) visit(f.type);
  const bare = (f: FieldSpec) => ({ name: f.name, type: f.type, optional: f.optional === true });
  const signature = JSON.stringify({
    params: model.params.map(bare),
    results: model.results.map(bare),
    streaming: model.streaming,
    objectParams: model.objectParams === true,
    objectResult: model.objectResult === true,
    listBatched: model.listBatched === true,
    context: model.context === true,
    requestType: model.requestType,
    responseType: model.responseType,
    types: JSON.parse(JSON.stringify(reached, (k, v: unknown) => (k === "doc" ? undefined : v))) as unknown,
  });
  const { position: _position, ...rest } = model;
  return { signature, full: JSON.stringify({ rest, reached }) };
}
