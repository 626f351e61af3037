// Validates every object of the given Kubernetes manifests against the
// Kubernetes API schemas of the npm package kubernetes-models. Prints one
// line per object and exits 1 when one is invalid.
//
//   node tests/packaging/validate-k8s.mjs FILE.yaml...
//
// Resolve kubernetes-models and yaml from NODE_PATH-like prefix: run with
// the packages installed under build/npm (see tests/packaging/run.sh).
//
// NOTE: kubernetes-models' schemas allow unknown fields, so a misspelt
// field name passes; types, required fields and enums are checked.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const prefix = process.env.NPM_PREFIX;
if (!prefix) {
  console.error("validate-k8s: set NPM_PREFIX to the npm install prefix");
  process.exit(2);
}
const require = createRequire(`${prefix}/node_modules/`);
const YAML = require("yaml");

// "apps/v1" -> kubernetes-models/apps/v1, "v1" -> kubernetes-models/v1.
async function modelFor(apiVersion, kind) {
  const entry = require.resolve(`kubernetes-models/${apiVersion}/${kind}`);
  const module = await import(pathToFileURL(entry.replace(/\.js$/, ".mjs")).href);
  return module[kind];
}

let failed = 0;
for (const file of process.argv.slice(2)) {
  const docs = YAML.parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      console.log(`FAIL ${file}: invalid YAML: ${doc.errors[0].message}`);
      failed++;
      continue;
    }
    const object = doc.toJS();
    if (!object) continue;
    const name = `${file}: ${object.kind} ${object.metadata?.name ?? "(no name)"}`;
    let Model;
    try {
      Model = await modelFor(object.apiVersion, object.kind);
    } catch {
      console.log(`FAIL ${name}: no schema for ${object.apiVersion} ${object.kind}`);
      failed++;
      continue;
    }
    try {
      new Model(object).validate();
      console.log(`ok ${name}`);
    } catch (error) {
      console.log(`FAIL ${name}: ${error.message}`);
      failed++;
    }
  }
}
process.exit(failed > 0 ? 1 : 0);
