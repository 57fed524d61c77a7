/**
 * An ONNX model that cannot be loaded or run: the file is missing or not ONNX, its
 * signature uses types BlazeRPC tensors cannot hold, onnxruntime failed, or the model was
 * released. The message names the model's source (its path) first.
 *
 * Inputs that do not match the model are not `OnnxError`s but `TensorError`s from
 * `@blazerpc/tensor`, naming the input, as every other tensor check does (the runtime
 * answers them with INVALID_ARGUMENT).
 *
 * @example
 * try {
 *   await loadOnnxModel("models/missing.onnx");
 * } catch (err) {
 *   if (err instanceof OnnxError) console.error(err.message);
 *   // cannot load ONNX model models/missing.onnx: the file does not exist
 * }
 */
export class OnnxError extends Error {
  override name = "OnnxError";

  constructor(
    /** The model's path, or a description of in-memory bytes. */
    readonly source: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The one place where onnxruntime's load errors become OnnxErrors: a message that says
 * what is wrong with the file, then onnxruntime's own words where they add something.
 */
export function loadError(source: string, err: unknown): OnnxError {
  const raw = err instanceof Error ? err.message : String(err);
  // onnxruntime prefixes "Load model from <path> failed:", which our message says already.
  const detail = raw.replace(/^Load model from .*? failed:/, "").trim();
  let reason: string;
  if (/protobuf parsing failed/i.test(raw)) {
    reason = "not an ONNX model (onnxruntime: protobuf parsing failed)";
  } else if (/does not have a graph/i.test(raw)) {
    reason = "not an ONNX model (no graph in the file)";
  } else if (/File doesn't exist/i.test(raw)) {
    reason = "the file does not exist";
  } else {
    reason = `onnxruntime could not load it: ${detail}`;
  }
  return new OnnxError(source, `cannot load ONNX model ${source}: ${reason}`, { cause: err });
}

/** An error thrown by `session.run`, named after the model. */
export function runError(source: string, err: unknown): OnnxError {
  const raw = err instanceof Error ? err.message : String(err);
  return new OnnxError(source, `ONNX model ${source} failed: ${raw.trim()}`, { cause: err });
}
