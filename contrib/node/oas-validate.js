#!/usr/bin/env node
// Validate JSON bodies against a schema of the 3GPP OpenAPI files, with a real
// validator (swagger-parser bundles the YAML and its external $refs, ajv validates).
//
// usage: oas-validate.js SPECDIR  [SPEC.yaml#Schema FILE.json]...
//        oas-validate.js SPECDIR --lines   (stdin: lines "SPEC.yaml#Schema<TAB>JSON")
// Prints one line per body: "ok <label>" or "invalid <label>: <errors>".
// Exit 0 when every body is valid, 1 when one is not, 2 on usage/spec errors.
'use strict';
const fs = require('fs');
const path = require('path');
const SwaggerParser = require('@apidevtools/swagger-parser');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const OAS_FORMATS = ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password'];

async function validatorFor(cache, ajv, specdir, ref) {
  if (cache.has(ref)) return cache.get(ref);
  const [file, name] = ref.split('#');
  const api = await SwaggerParser.bundle(path.join(specdir, file));
  const id = 'https://3gpp.invalid/' + file;
  if (!ajv.getSchema(id)) {
    // OpenAPI 3.0 'nullable' is not JSON schema; ajv ignores unknown keywords with strict:false.
    api.$id = id;
    ajv.addSchema(api);
  }
  if (!api.components || !api.components.schemas || !api.components.schemas[name])
    throw new Error('no schema ' + name + ' in ' + file);
  const v = ajv.compile({ $ref: id + '#/components/schemas/' + name });
  cache.set(ref, v);
  return v;
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 2) {
    console.error('usage: oas-validate.js SPECDIR (SPEC.yaml#Schema FILE.json)... | --lines');
    process.exit(2);
  }
  const specdir = args.shift();
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const f of OAS_FORMATS) ajv.addFormat(f, true);
  const cache = new Map();
  let pairs = [];
  if (args[0] === '--lines') {
    const text = fs.readFileSync(0, 'utf8');
    let n = 0;
    for (const line of text.split('\n')) {
      n++;
      if (!line.trim()) continue;
      const tab = line.indexOf('\t');
      pairs.push({ ref: line.slice(0, tab), label: 'line ' + n, text: line.slice(tab + 1) });
    }
  } else {
    for (let i = 0; i + 1 < args.length; i += 2)
      pairs.push({ ref: args[i], label: args[i + 1], text: fs.readFileSync(args[i + 1], 'utf8') });
  }
  let bad = 0;
  for (const p of pairs) {
    const v = await validatorFor(cache, ajv, specdir, p.ref);
    let body;
    try { body = JSON.parse(p.text); } catch (e) {
      console.log('invalid ' + p.label + ': not JSON: ' + e.message); bad++; continue;
    }
    if (v(body)) console.log('ok ' + p.label + ' ' + p.ref);
    else {
      bad++;
      console.log('invalid ' + p.label + ' ' + p.ref + ': ' +
        v.errors.map(e => (e.instancePath || '/') + ' ' + e.message).join('; '));
    }
  }
  process.exit(bad ? 1 : 0);
}
main().catch(e => { console.error('oas-validate: ' + e.message); process.exit(2); });
