import { Node } from "ts-morph";

/** A JSDoc comment: its text (tags dropped) and its tags. */
export interface JsDoc {
  /** The description, or undefined when it is empty. */
  readonly text: string | undefined;
  /** `@param name text` → { tag: "param", name: "name", text: "text" }; other tags have no name. */
  readonly tags: readonly { readonly tag: string; readonly name?: string; readonly text: string }[];
}

const NONE: JsDoc = { text: undefined, tags: [] };

/**
 * The `/** ... *\/` comment directly before `node` (the last one, as TypeScript attaches
 * JSDoc), parsed into its description and tags.
 */
export function jsDocOf(node: Node): JsDoc {
  // From the trivia before the node itself: TypeScript counts a comment on the line of the
  // previous token (`(/** doc *\/ x: T`) as that token's trailing comment, and ts-morph
  // leaves out comments it parsed as JSDoc nodes.
  const trivia = node.getSourceFile().getFullText().slice(node.getPos(), node.getStart());
  const comments = [...trivia.matchAll(/\/\*\*(?!\/)[\s\S]*?\*\//g)];
  const last = comments[comments.length - 1];
  // Only the comment directly before the node counts (nothing but white space after it).
  if (last === undefined || trivia.slice(last.index + last[0].length).trim() !== "") return NONE;
  return parseJsDoc(last[0]);
}

/** Parses the text of a `/** ... *\/` comment. */
export function parseJsDoc(comment: string): JsDoc {
  const lines = comment
    .replace(/^\/\*\*/, "")
    .replace(/\*\/$/, "")
    .split(/\r?\n/)
    .map((l) => l.replace(/^\s*\* ?/, "").trimEnd());
  const body: string[] = [];
  const tags: { tag: string; name?: string; text: string }[] = [];
  let current: { tag: string; name?: string; lines: string[] } | undefined;
  const flush = () => {
    if (current === undefined) return;
    tags.push({
      tag: current.tag,
      ...(current.name !== undefined ? { name: current.name } : {}),
      text: current.lines.join("\n").trim(),
    });
    current = undefined;
  };
  for (const line of lines) {
    const m = /^\s*@(\w+)\s*(.*)$/.exec(line);
    if (m !== null) {
      flush();
      const tag = m[1]!;
      let rest = m[2]!;
      let name: string | undefined;
      if (tag === "param") {
        // `@param name text`, `@param {T} name - text`, `@param [name] text`
        const p = /^(?:\{[^}]*\}\s*)?\[?([\w$.]+)[^\]\s]*\]?\s*(?:-\s*)?(.*)$/.exec(rest);
        if (p !== null) {
          name = p[1]!;
          rest = p[2]!;
        }
      }
      current = { tag, ...(name !== undefined ? { name } : {}), lines: [rest] };
    } else if (current !== undefined) {
      current.lines.push(line);
    } else {
      body.push(line);
    }
  }
  flush();
  const text = body.join("\n").trim();
  return { text: text === "" ? undefined : text, tags };
}

/** The JSDoc description of a declaration (an interface, a property, an enum member …). */
export function docOfDeclaration(node: Node | undefined): string | undefined {
  if (node === undefined) return undefined;
  // A variable's JSDoc sits on its statement: `/** doc *\/ export const x = …`.
  if (Node.isVariableDeclaration(node)) {
    const statement = node.getVariableStatement();
    if (statement !== undefined) return jsDocOf(statement).text;
  }
  return jsDocOf(node).text;
}
