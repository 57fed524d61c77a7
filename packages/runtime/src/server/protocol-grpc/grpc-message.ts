/**
 * `grpc-message` as the gRPC spec writes it (PROTOCOL-HTTP2.md, "Percent-Encoded"): the
 * message's UTF-8 bytes, each byte outside 0x20–0x7E and `%` itself as `%XX`, every other
 * byte as it is. connect encodes with `encodeURIComponent`, which escapes `:`, `,`, spaces
 * and more, so that `@grpc/grpc-js` (which decodes with `decodeURI`) showed its users
 * `features%3A dtype is float64%2C expected float32`.
 *
 * @example
 * encodeGrpcMessage("features: dtype is float64, expected float32"); // unchanged
 * encodeGrpcMessage("100% → done"); // "100%25 %E2%86%92 done"
 */
export function encodeGrpcMessage(text: string): string {
  return NOT_PLAIN.test(text) ? text.replace(NOT_PLAIN_RUNS, percentEncode) : text;
}

/** Characters the spec sends as they are: printable ASCII but `%`. */
const NOT_PLAIN = /[^\x20-\x24\x26-\x7e]/;
const NOT_PLAIN_RUNS = /[^\x20-\x24\x26-\x7e]+/g;

function percentEncode(run: string): string {
  let out = "";
  for (const b of Buffer.from(run, "utf8")) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}

/**
 * Rewrites the `grpc-message` connect set in `h` (URI-component encoded) the way the spec
 * writes it, and — given `limit` — cuts the message first. Leaves a value it cannot decode as
 * it is.
 *
 * @example
 * setTrailerStatus(trailer, error);
 * respecGrpcMessage(trailer);
 */
export function respecGrpcMessage(h: Headers, limit?: (message: string) => string): void {
  const encoded = h.get("grpc-message");
  if (encoded === null) return;
  let message: string;
  try {
    message = decodeURIComponent(encoded);
  } catch {
    return;
  }
  const spec = encodeGrpcMessage(limit === undefined ? message : limit(message));
  if (spec !== encoded) h.set("grpc-message", spec);
}
