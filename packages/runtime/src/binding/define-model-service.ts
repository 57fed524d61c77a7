import type { DescService, MessageInitShape } from "@bufbuild/protobuf";

/** How one RPC method reaches its model. Emitted by protoc-gen-blaze, not written by hand. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- generated bindings are typed per method; the server holds them all
export interface MethodBinding<Req = any, Res = any> {
  /** `unary`: the model returns a value; `server_streaming`: it yields values. */
  readonly kind: "unary" | "server_streaming";
  /** The registered model's name. */
  readonly model: string;
  /** The function's last parameter takes the {@link CallContext}: the server passes it after the decoded arguments. */
  readonly context?: boolean;
  /** Request message → the model's arguments. Throws TensorError for a bad tensor. */
  decode(req: Req): unknown[];
  /** The model's result (or one streamed element) → the response message's fields. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the model's result, whatever its type; the response message, whatever its schema
  encode(result: any): MessageInitShape<any> & Res;
}

/** A generated service bound to models by name. */
export interface ModelServiceBinding<S extends DescService = DescService> {
  readonly service: S;
  /** Keyed by the method's local name (`predictIris`). */
  readonly methods: Readonly<Record<string, MethodBinding>>;
}

/**
 * Declares how a generated service's methods reach registered models. Called by the code
 * protoc-gen-blaze emits (`<Service>Binding`).
 *
 * @example
 * export const InferenceServiceBinding = defineModelService(InferenceService, {
 *   predictEcho: { kind: "unary", model: "echo", decode: (r) => [r.text], encode: (result) => ({ result }) },
 * });
 */
export function defineModelService<S extends DescService>(
  service: S,
  methods: Record<string, MethodBinding>,
): ModelServiceBinding<S> {
  for (const name of Object.keys(methods)) {
    if (!service.methods.some((m) => m.localName === name)) {
      throw new Error(`defineModelService: ${service.typeName} has no method "${name}" — regenerate the code`);
    }
  }
  return { service, methods };
}

/** True for the value `defineModelService` returns (used to find bindings in a module). */
export function isModelServiceBinding(value: unknown): value is ModelServiceBinding {
  const v = value as Partial<ModelServiceBinding> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.methods === "object" &&
    typeof v.service === "object" &&
    (v.service as { kind?: string } | undefined)?.kind === "service"
  );
}
