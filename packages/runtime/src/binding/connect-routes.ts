import type { DescMethod } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import type { App } from "../app.js";
import { callContextOf } from "../context/call-context.js";
import { untilAborted } from "../context/until-aborted.js";
import { toConnectError } from "../errors.js";
import type { Executor } from "../executor/executor.js";
import type { Reservation } from "../batching/batcher.js";
import type { Refusal } from "../executor/refusal.js";
import type { MethodBinding, ModelServiceBinding } from "./define-model-service.js";
import { createServiceTable, type ServiceEntry } from "./service-table.js";

/**
 * Checks that every method of every binding names a registered model of the right kind,
 * so a stale generated file fails at start-up instead of at the first call.
 *
 * @throws Error listing every mismatch.
 */
export function checkBindings(app: App, services: readonly ModelServiceBinding[]): void {
  const problems: string[] = [];
  for (const { service, methods } of services) {
    for (const [localName, m] of Object.entries(methods)) {
      const record = app.getModel(m.model);
      const where = `${service.typeName}.${service.methods.find((d) => d.localName === localName)?.name ?? localName}`;
      if (record === undefined) {
        problems.push(`${where} serves model "${m.model}", which app "${app.name}" does not register`);
      } else if (record.streaming !== (m.kind === "server_streaming")) {
        problems.push(`${where} is ${m.kind} but model "${m.model}" is ${record.streaming ? "a stream" : "unary"}`);
      } else if (m.context === true && record.options.batch !== undefined) {
        problems.push(`${where} passes a call context, but model "${m.model}" is batched (a batch serves many calls)`);
      } else if (m.context === true && record.options.worker !== undefined && record.options.worker !== false) {
        problems.push(
          `${where} passes a call context, but model "${m.model}" runs in a worker thread (the context cannot go there)`,
        );
      }
    }
  }
  const served = new Set(services.flatMap((s) => Object.values(s.methods).map((m) => m.model)));
  for (const record of app.models) {
    if (!served.has(record.name)) {
      problems.push(`model "${record.name}" is registered but no generated service method serves it`);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `the generated code does not match app "${app.name}" — run \`blaze generate\` again:\n  ${problems.join("\n  ")}`,
    );
  }
}

/**
 * Checks, before a model is called, that it can serve (e.g. that its loader finished);
 * throws the ConnectError to answer otherwise.
 */
export type ModelGate = (model: string) => void;

/** The models each binding's service serves, by service name (what health reports per service); code-first RPCs are not models. */
export function servedModels(app: App, services: readonly ModelServiceBinding[]): Map<string, string[]> {
  const isModel = (name: string) => app.getModel(name)?.rpc !== true;
  return new Map(
    services.map(({ service, methods }) => [
      service.typeName,
      [
        ...new Set(
          Object.values(methods)
            .map((m) => m.model)
            .filter(isModel),
        ),
      ],
    ]),
  );
}

/**
 * The services of the generated bindings, each method implemented by decoding its request,
 * running its model through the executor and encoding the results: one entry per service
 * for the {@link ServiceTable}, which hands the very same functions to connect and to the
 * native gRPC path.
 */
export function modelServiceEntries(
  services: readonly ModelServiceBinding[],
  executor: Executor,
  gate: ModelGate = () => undefined,
  isRpc: (name: string) => boolean = () => false,
): ServiceEntry[] {
  return services.map(({ service, methods }) => {
    const impl: Record<string, unknown> = {};
    const models: Record<string, string> = {};
    const admission: Record<string, Admission> = {};
    for (const method of service.methods) {
      const binding = methods[method.localName];
      if (binding === undefined) continue;
      impl[method.localName] =
        binding.kind === "unary" ? unary(binding, executor, gate) : serverStreaming(binding, executor, gate);
      // A code-first RPC (`app.rpc`) is not a model: metrics and logs name no model for it.
      if (!isRpc(binding.model)) models[method.localName] = binding.model;
      if (binding.kind === "unary") {
        admission[method.localName] = {
          admit: (timeoutMs, reservation) => executor.admit(binding.model, timeoutMs, reservation),
          release: (reservation) => executor.release(binding.model, reservation),
        };
      }
    }
    return { service, impl, origin: "model", models, admission, native: true } satisfies ServiceEntry;
  });
}

/** Registers each binding's service on a Connect router (see {@link modelServiceEntries}). */
export function registerBindings(
  router: ConnectRouter,
  services: readonly ModelServiceBinding[],
  executor: Executor,
  gate: ModelGate = () => undefined,
): void {
  createServiceTable(modelServiceEntries(services, executor, gate)).register(router);
}

/**
 * A batched model's admission of unary calls before they are read: `admit` is the refusal a
 * call with `timeoutMs` left gets at once (its queue full, or more work queued than the
 * deadline allows), else undefined — and then the call holds a place (`reservation`) until
 * it is invoked with it (its context's `reservation`) or `release`d.
 */
export interface Admission {
  admit(timeoutMs: number | undefined, reservation: Reservation): Refusal | undefined;
  release(reservation: Reservation): void;
}

/** One method's implementation, as connect's router and the native gRPC path both call it. */
export type ModelRpc =
  | {
      readonly kind: "unary";
      readonly method: DescMethod;
      /** The model it serves; `""` for a method that is not a model's. */
      readonly model: string;
      readonly impl: (req: unknown, ctx: HandlerContext) => Promise<unknown>;
      /** Admission before the call is read (a batched model's queue full or too long): see {@link Admission}. */
      readonly admission?: Admission;
    }
  | {
      readonly kind: "server_streaming";
      readonly method: DescMethod;
      readonly model: string;
      readonly impl: (req: unknown, ctx: HandlerContext) => AsyncIterable<unknown>;
    };

function unary(binding: MethodBinding, executor: Executor, gate: ModelGate) {
  return async (req: unknown, ctx: HandlerContext) => {
    const args = decode(binding, req);
    if (binding.context === true) args.push(callContextOf(ctx));
    gate(binding.model);
    let result: unknown;
    try {
      // The call ends when its signal aborts (deadline, client gone, or the server's
      // shutdown grace ran out), even while the model still computes: its answer is dropped.
      // A transport that answers the call itself when it aborts (the native gRPC path) needs
      // no race (nor a listener on a signal nobody else may ever ask for).
      const work = executor.invoke(binding.model, args, ctx);
      result = await (answersOnAbort(ctx) ? work : untilAborted(work, ctx.signal));
    } catch (err) {
      throw toConnectError(err, "model", binding.model);
    }
    return encode(binding, result);
  };
}

/** The native gRPC path's calls answer themselves when they abort (`NativeCall.abort`). */
function answersOnAbort(ctx: HandlerContext): boolean {
  return (ctx as HandlerContext & { answersOnAbort?: boolean }).answersOnAbort === true;
}

function serverStreaming(binding: MethodBinding, executor: Executor, gate: ModelGate) {
  return async function* (req: unknown, ctx: HandlerContext) {
    const args = decode(binding, req);
    if (binding.context === true) args.push(callContextOf(ctx));
    gate(binding.model);
    const it = executor.stream(binding.model, args, ctx)[Symbol.asyncIterator]();
    // A client that goes away (or a deadline) aborts ctx.signal, but the protocol layer
    // may simply stop pulling from this generator: end the model's iterator ourselves, so
    // its finally runs and nothing more is computed.
    const stop = () => void it.return?.(undefined)?.catch(() => undefined);
    ctx.signal.addEventListener("abort", stop, { once: true });
    // The model is computing its next message (its generator runs, and return() would
    // only take effect once that message is in).
    let computing = false;
    try {
      for (;;) {
        let next: IteratorResult<unknown>;
        try {
          computing = true;
          // The call ends when its signal aborts (deadline, client gone, or the shutdown
          // grace period over), even while the model is suspended between two messages:
          // its answer (UNAVAILABLE at shutdown) goes out now, not after the next message —
          // which may come after the server has cut the connection.
          next = await untilAborted(it.next(), ctx.signal);
          computing = false;
        } catch (err) {
          throw toConnectError(err, "model", binding.model);
        }
        if (next.done === true) return;
        if (ctx.signal.aborted) throw toConnectError(ctx.signal.reason, "model", binding.model);
        yield encode(binding, next.value);
      }
    } finally {
      ctx.signal.removeEventListener("abort", stop);
      const ended = it.return?.(undefined);
      // Cut short while the model computes: its generator ends once that message is in; not waited for.
      if (computing) ended?.catch(() => undefined);
      else await ended;
    }
  };
}

function decode(binding: MethodBinding, req: unknown): unknown[] {
  try {
    return binding.decode(req);
  } catch (err) {
    throw toConnectError(err, "decode", binding.model);
  }
}

function encode(binding: MethodBinding, result: unknown): never {
  try {
    return binding.encode(result) as never;
  } catch (err) {
    throw toConnectError(err, "encode", binding.model);
  }
}
