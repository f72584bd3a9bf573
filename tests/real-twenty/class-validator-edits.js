// Twenty's server pins class-validator 0.14.0 with a patch of its own
// (packages/twenty-server/patches/class-validator+0.14.0.patch, 5.7 MB, left out of the source
// tarball: most of it rebuilds bundles the server never loads). The server relies on three of
// its changes, all in the CommonJS build that Node loads; this script makes them in every
// installed class-validator 0.14.0, and is idempotent:
// 1. ValidationArguments carry `instance`, the object being validated (the field-metadata
//    validators read it);
// 2. `$value` in messages is filled for numbers and booleans too, not only strings;
// 3. `isIn` refuses a value when the allowed values are not a list (0.14.0 accepts anything).
// Usage: node class-validator-edits.js <node_modules dir>
'use strict';
const fs = require('fs');
const path = require('path');

const edits = {
  'cjs/validation/ValidationExecutor.js': [
    // The executor remembers the top-level object of a validate() call...
    ['this.metadataStorage = (0, MetadataStorage_1.getMetadataStorage)();',
     'this.instance = undefined;\n        this.metadataStorage = (0, MetadataStorage_1.getMetadataStorage)();'],
    ['const groups = this.validatorOptions ? this.validatorOptions.groups : undefined;',
     'if (this.instance === undefined) {\n            this.instance = object;\n        }\n        const groups = this.validatorOptions ? this.validatorOptions.groups : undefined;'],
    // ...and hands it to custom validators and to message builders.
    ['                    object: object,\n                    value: value,',
     '                    object: object,\n                    instance: this.instance,\n                    value: value,'],
    ['            object: object,\n            value: value,\n            constraints: metadata.constraints,',
     '            object: object,\n            value: value,\n            instance: this.instance,\n            constraints: metadata.constraints,'],
  ],
  'cjs/validation/ValidationUtils.js': [
    ["typeof validationArguments.value === 'string')",
     "['string', 'boolean', 'number'].includes(typeof validationArguments.value))"],
  ],
  'cjs/decorator/common/IsIn.js': [
    ['return !Array.isArray(possibleValues) || possibleValues.some(',
     'return Array.isArray(possibleValues) && possibleValues.some('],
  ],
};

function installs(dir, found = []) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const sub = path.join(dir, e.name);
    if (e.name === 'class-validator') found.push(sub);
    else if (e.name.startsWith('@') || e.name === 'node_modules') installs(sub, found);
    else installs(path.join(sub, 'node_modules'), found);
  }
  return found;
}

const root = process.argv[2];
if (!root) {
  console.error('usage: node class-validator-edits.js <node_modules dir>');
  process.exit(2);
}
let edited = 0;
for (const dir of installs(root)) {
  const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  if (version !== '0.14.0') continue;
  for (const [file, changes] of Object.entries(edits)) {
    const p = path.join(dir, file);
    let text = fs.readFileSync(p, 'utf8');
    for (const [from, to] of changes) {
      if (text.includes(to)) continue; // already made
      if (!text.includes(from)) {
        console.error(`${p}: cannot find ${JSON.stringify(from.slice(0, 60))}`);
        process.exit(1);
      }
      text = text.replace(from, to);
    }
    fs.writeFileSync(p, text);
  }
  edited += 1;
}
if (edited === 0) {
  console.error(`no class-validator 0.14.0 under ${root}`);
  process.exit(1);
}
console.log(`class-validator 0.14.0: edited ${edited} install(s)`);
