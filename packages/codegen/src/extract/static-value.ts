import {
  Node,
  SyntaxKind,
  type AsExpression,
  type NonNullExpression,
  type ParenthesizedExpression,
  type SatisfiesExpression,
  type Symbol as MorphSymbol,
  type TypeAssertion,
} from "ts-morph";

/** What {@link staticValue} returns for an expression whose value is not known at build time. */
export const NOT_STATIC: unique symbol = Symbol("not static");

export type StaticValue =
  string | number | boolean | null | undefined | readonly StaticValue[] | { readonly [key: string]: StaticValue };

/**
 * The value of an expression when it is known at build time without running anything:
 * literals, object and array literals, `as const` / `satisfies` / parentheses, and
 * identifiers and property accesses that lead to `const` declarations — in this file or,
 * through imports, in another. Used to read `app.model` options declared elsewhere.
 *
 * @example
 * // options.ts: export const irisOptions = { version: "1.2.0", batch: { maxBatchSize: 32 } } as const;
 * staticValue(call.getArguments()[1]) // { version: "1.2.0", batch: { maxBatchSize: 32 } }
 */
export function staticValue(node: Node | undefined, depth = 0): StaticValue | typeof NOT_STATIC {
  if (node === undefined || depth > 32) return NOT_STATIC;
  if (Node.isStringLiteral(node) || Node.isNoSubstitutionTemplateLiteral(node)) return node.getLiteralValue();
  if (Node.isNumericLiteral(node)) return node.getLiteralValue();
  switch (node.getKind()) {
    case SyntaxKind.TrueKeyword:
      return true;
    case SyntaxKind.FalseKeyword:
      return false;
    case SyntaxKind.NullKeyword:
      return null;
  }
  if (Node.isPrefixUnaryExpression(node) && node.getOperatorToken() === SyntaxKind.MinusToken) {
    const v = staticValue(node.getOperand(), depth + 1);
    return typeof v === "number" ? -v : NOT_STATIC;
  }
  if (isWrapper(node)) {
    return staticValue(node.getExpression(), depth + 1);
  }
  if (Node.isArrayLiteralExpression(node)) {
    const out: StaticValue[] = [];
    for (const e of node.getElements()) {
      const v = staticValue(e, depth + 1);
      if (v === NOT_STATIC) return NOT_STATIC;
      out.push(v);
    }
    return out;
  }
  if (Node.isObjectLiteralExpression(node)) {
    const out: Record<string, StaticValue> = {};
    for (const p of node.getProperties()) {
      if (Node.isPropertyAssignment(p)) {
        const nameNode = p.getNameNode();
        const key =
          Node.isIdentifier(nameNode) || Node.isStringLiteral(nameNode) || Node.isNumericLiteral(nameNode)
            ? String(Node.isIdentifier(nameNode) ? nameNode.getText() : nameNode.getLiteralValue())
            : undefined;
        if (key === undefined) return NOT_STATIC;
        const v = staticValue(p.getInitializer(), depth + 1);
        if (v === NOT_STATIC) return NOT_STATIC;
        out[key] = v;
      } else if (Node.isShorthandPropertyAssignment(p)) {
        const v = valueOfSymbol(p.getValueSymbol(), depth + 1);
        if (v === NOT_STATIC) return NOT_STATIC;
        out[p.getName()] = v;
      } else if (Node.isSpreadAssignment(p)) {
        const v = staticValue(p.getExpression(), depth + 1);
        if (v === NOT_STATIC || typeof v !== "object" || v === null || Array.isArray(v)) return NOT_STATIC;
        Object.assign(out, v);
      } else {
        return NOT_STATIC;
      }
    }
    return out;
  }
  if (Node.isIdentifier(node)) {
    if (node.getText() === "undefined") return undefined;
    return valueOfSymbol(node.getSymbol(), depth + 1);
  }
  if (Node.isPropertyAccessExpression(node)) {
    const target = staticValue(node.getExpression(), depth + 1);
    if (target === NOT_STATIC || typeof target !== "object" || target === null || Array.isArray(target))
      return NOT_STATIC;
    const key = node.getName();
    return Object.prototype.hasOwnProperty.call(target, key) ? (target as Record<string, StaticValue>)[key] : undefined;
  }
  return NOT_STATIC;
}

/** The value of a `const` a symbol leads to, through imports. */
export function valueOfSymbol(symbol: MorphSymbol | undefined, depth: number): StaticValue | typeof NOT_STATIC {
  if (symbol === undefined) return NOT_STATIC;
  const target = symbol.isAlias() ? (symbol.getAliasedSymbol() ?? symbol) : symbol;
  for (const decl of target.getDeclarations()) {
    if (Node.isVariableDeclaration(decl) && decl.getVariableStatement()?.getDeclarationKind() === "const") {
      return staticValue(decl.getInitializer(), depth);
    }
  }
  return NOT_STATIC;
}

/**
 * The properties of an object literal an expression leads to (through parentheses, `as`,
 * `satisfies`, `const`s — imported or not — and property accesses), each as the node of its
 * value, so that one can be read while another is computed at run time. Undefined when the
 * expression does not lead to an object literal.
 *
 * @example
 * // options.ts: export const opts = { version: "1.0", batch: { maxBatchSize: Number(process.env.N) } };
 * objectProperties(optionsArg)?.get("version") // the node "1.0"
 */
export function objectProperties(node: Node | undefined, depth = 0): Map<string, Node> | undefined {
  if (node === undefined || depth > 32) return undefined;
  if (isWrapper(node)) {
    return objectProperties(node.getExpression(), depth + 1);
  }
  if (Node.isIdentifier(node) || Node.isShorthandPropertyAssignment(node)) {
    const symbol = Node.isShorthandPropertyAssignment(node) ? node.getValueSymbol() : node.getSymbol();
    const target = symbol?.isAlias() ? (symbol.getAliasedSymbol() ?? symbol) : symbol;
    for (const decl of target?.getDeclarations() ?? []) {
      if (Node.isVariableDeclaration(decl) && decl.getVariableStatement()?.getDeclarationKind() === "const")
        return objectProperties(decl.getInitializer(), depth + 1);
    }
    return undefined;
  }
  if (Node.isPropertyAccessExpression(node)) {
    return objectProperties(objectProperties(node.getExpression(), depth + 1)?.get(node.getName()), depth + 1);
  }
  if (!Node.isObjectLiteralExpression(node)) return undefined;
  const out = new Map<string, Node>();
  for (const p of node.getProperties()) {
    if (Node.isPropertyAssignment(p)) {
      const nameNode = p.getNameNode();
      const key = Node.isIdentifier(nameNode)
        ? nameNode.getText()
        : Node.isStringLiteral(nameNode)
          ? nameNode.getLiteralValue()
          : undefined;
      const init = p.getInitializer();
      if (key === undefined || init === undefined) return undefined;
      out.set(key, init);
    } else if (Node.isShorthandPropertyAssignment(p)) {
      out.set(p.getName(), p);
    } else if (Node.isSpreadAssignment(p)) {
      const spread = objectProperties(p.getExpression(), depth + 1);
      if (spread === undefined) return undefined;
      for (const [k, v] of spread) out.set(k, v);
    } else if (Node.isMethodDeclaration(p) || Node.isGetAccessorDeclaration(p) || Node.isSetAccessorDeclaration(p)) {
      // A method (`validate(x) { … }`) or accessor: present, its value known only at run time.
      const nameNode = p.getNameNode();
      const key = Node.isIdentifier(nameNode)
        ? nameNode.getText()
        : Node.isStringLiteral(nameNode)
          ? nameNode.getLiteralValue()
          : undefined;
      if (key === undefined) return undefined;
      out.set(key, p);
    } else {
      return undefined;
    }
  }
  return out;
}

/** {@link staticValue} of a property value as {@link objectProperties} returns it. */
export function staticValueOfProperty(node: Node): StaticValue | typeof NOT_STATIC {
  return Node.isShorthandPropertyAssignment(node) ? valueOfSymbol(node.getValueSymbol(), 1) : staticValue(node);
}

/** `(x)`, `x as T`, `x satisfies T`, `<T>x`, `x!`: an expression whose value is its operand's. */
function isWrapper(
  node: Node,
): node is ParenthesizedExpression | AsExpression | SatisfiesExpression | TypeAssertion | NonNullExpression {
  return (
    Node.isParenthesizedExpression(node) ||
    Node.isAsExpression(node) ||
    Node.isSatisfiesExpression(node) ||
    Node.isTypeAssertion(node) ||
    Node.isNonNullExpression(node)
  );
}
