/**
 * Compiler-style diagnostics: `models.ts:12:5 error: <what> — <how to fix>`, the
 * offending source line, and a caret under the column.
 */

export interface Diagnostic {
  /** Path as shown to the user (relative to the working directory where possible). */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  readonly message: string;
  /** The text of the offending line, without its line break. */
  readonly sourceLine?: string;
  /** What a program may act on: `no-models` (the entry registers no model, so there is no schema to write). */
  readonly code?: "no-models";
}

/** Formats one diagnostic the way compilers print them. */
export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.file}:${d.line}:${d.column} error: ${d.message}`;
  if (d.sourceLine === undefined) return head;
  const gutter = `${d.line} | `;
  const caret = " ".repeat(gutter.length + Math.max(0, d.column - 1)) + "^";
  return `${head}\n${gutter}${d.sourceLine}\n${caret}`;
}

/**
 * Thrown when code generation finds errors; holds every one of them.
 *
 * @example
 * try { extract("models.ts") } catch (e) {
 *   if (e instanceof CodegenError) console.error(e.message); // all diagnostics, formatted
 * }
 */
export class CodegenError extends Error {
  override name = "CodegenError";

  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n\n"));
  }
}
