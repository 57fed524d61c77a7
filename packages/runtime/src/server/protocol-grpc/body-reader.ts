import type * as http2 from "node:http2";
import type { ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { clientGoneError } from "../abort-reasons.js";
import { messageTooLargeError, parseSingleEnvelope, readEnvelopeLength } from "./envelope.js";

/**
 * Reads a call's body and splits it into gRPC messages. A message announced larger than
 * `readMaxBytes` fails as soon as its 5-byte prefix is in, before its bytes are buffered.
 *
 * @example
 * const body = new BodyReader(stream, readMaxBytes);
 * try {
 *   const bytes = await body.single("unary", negotiated.request);
 * } finally {
 *   body.discard();
 * }
 */
export class BodyReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private dropping = false;
  private oversize = false;
  private error: ConnectError | undefined;
  private waiter: (() => void) | undefined;
  private checked = false;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly readMaxBytes: number,
  ) {
    stream.on("data", (chunk: Buffer) => {
      if (this.dropping) return;
      this.chunks.push(chunk);
      this.size += chunk.byteLength;
      if (!this.checked && this.size >= 5) {
        this.checked = true;
        const length = this.peekLength();
        if (length > readMaxBytes) {
          // Read no further: the rest of the body stays in flow control, as on connect-node.
          this.dropping = true;
          this.oversize = true;
          stream.pause();
          this.fail(messageTooLargeError(length, readMaxBytes));
        }
      }
    });
    stream.once("end", () => {
      this.ended = true;
      this.wake();
    });
    stream.once("close", () => this.wake());
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    // The prefix may arrive split over chunks; only then is it worth a copy.
    return readEnvelopeLength(first.byteLength >= 5 ? first : Buffer.concat(this.chunks), 0);
  }

  private fail(err: ConnectError): void {
    this.error ??= err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The one message of a unary or server-streaming request, decompressed. */
  async single(kind: "unary" | "server-streaming", compression: Compression | null): Promise<Uint8Array> {
    const { readMaxBytes } = this;
    while (!this.ended && this.error === undefined) {
      // The client went away before its body was in.
      if (this.stream.destroyed) throw clientGoneError();
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    if (this.error !== undefined) throw this.error;
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    const envelope = parseSingleEnvelope(all, kind, readMaxBytes, compression !== null);
    const data = envelope.compressed ? await compression!.decompress(envelope.data, readMaxBytes) : envelope.data;
    if (envelope.trailing !== undefined) throw envelope.trailing;
    return data;
  }

  /** Reads and drops whatever of the body is still to come. */
  discard(): void {
    this.dropping = true;
    this.chunks = [];
    // The rest of a body is read and dropped, so the stream completes (connect-node, through
    // Node's compatibility layer, reads it too) — except after an oversize prefix, where it
    // is left unread in flow control, as there.
    if (!this.ended && !this.oversize) this.stream.resume();
  }
}
