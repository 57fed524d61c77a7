#!/usr/bin/env node
// Validates Kubernetes manifests offline against the API's JSON schemas, with the
// kubernetes-models package: every document of every YAML file given, by its apiVersion and
// kind. Prints one JSON line: [{ file, kind, name, error? }]. Used by k8s.spec.ts (the
// package is ESM only, so it runs here, under plain node).
import * as fs from "node:fs";
import { parseAllDocuments } from "yaml";

const results = [];
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(fs.readFileSync(file, "utf8"))) {
    if (doc.errors.length > 0) {
      results.push({ file, kind: "?", name: "?", error: doc.errors.map((e) => e.message).join("; ") });
      continue;
    }
    const manifest = doc.toJS();
    if (manifest === null) continue;
    const { apiVersion, kind } = manifest;
    const name = manifest.metadata?.name ?? "?";
    try {
      const mod = await import(`kubernetes-models/${apiVersion}`);
      const Model = mod[kind];
      if (typeof Model !== "function") throw new Error(`kubernetes-models has no ${apiVersion} ${kind}`);
      new Model(manifest).validate();
      results.push({ file, kind, name });
    } catch (err) {
      results.push({ file, kind, name, error: err instanceof Error ? err.message : String(err) });
    }
  }
}
console.log(JSON.stringify(results));
