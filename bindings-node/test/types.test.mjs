// Checks the committed TypeScript declarations (index.d.ts) against the
// runtime exports: this test fails when the two drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const siyu = require('../index.js');
const dts = fs.readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8');

/** Top-level declared values and, per class, its static and instance members. */
function parseDeclarations(text) {
  const values = new Map();
  const classes = new Map();
  let current = null;
  let depth = 0;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '');
    if (current === null) {
      let m = line.match(/^export declare class (\w+)/);
      if (m) {
        current = { statics: new Set(), members: new Set(), codes: new Set() };
        classes.set(m[1], current);
        values.set(m[1], 'class');
      } else if ((m = line.match(/^export declare function (\w+)/))) {
        values.set(m[1], 'function');
      } else if ((m = line.match(/^export declare const (\w+)/))) {
        values.set(m[1], 'const');
      }
      if (current) depth = 0;
    } else {
      const m = line.match(/^ {2}(static\s+)?(readonly\s+)?(private\s+)?(\w+)(\??)\s*[:(]/);
      if (depth === 1 && m && !m[3] && m[4] !== 'constructor') {
        (m[1] ? current.statics : current.members).add(m[4]);
        const code = line.match(/readonly code: '(\w+)'/);
        if (code && !m[1]) current.codes.add(code[1]);
      }
    }
    if (current) {
      depth += (line.match(/{/g) || []).length - (line.match(/}/g) || []).length;
      if (line.startsWith('}')) current = null;
    }
  }
  const union = text.match(/export type ErrorCode =([^;]*);/);
  const codes = union ? [...union[1].matchAll(/'(\w+)'/g)].map((m) => m[1]) : [];
  return { values, classes, codes };
}

const decl = parseDeclarations(dts);

function runtimeMembers(cls) {
  const members = new Set();
  for (const name of Object.getOwnPropertyNames(cls.prototype)) if (name !== 'constructor') members.add(name);
  return members;
}

function runtimeStatics(cls) {
  return new Set(Object.getOwnPropertyNames(cls).filter((n) => !['length', 'name', 'prototype'].includes(n)));
}

test('every runtime export is declared and every declaration exists', () => {
  assert.deepEqual([...decl.values.keys()].sort(), Object.keys(siyu).sort());
  for (const [name, kind] of decl.values) {
    const v = siyu[name];
    if (kind === 'class' || kind === 'function') assert.equal(typeof v, 'function', name);
    else assert.notEqual(v, undefined, name);
  }
});

test('the default export lists the same names', () => {
  const block = dts.match(/declare const siyu: {([\s\S]*?)\n};/);
  assert.ok(block, 'default export block');
  const names = [...block[1].matchAll(/^\s+(\w+): typeof/gm)].map((m) => m[1]);
  assert.deepEqual(names.sort(), Object.keys(siyu).sort());
});

test('class members match the runtime prototypes', () => {
  for (const name of ['Schema', 'RuleSet', 'CompiledRuleSet', 'Lifecycle', 'TagRules', 'JourneyEngine', 'PointsModel', 'ValueModel']) {
    const d = decl.classes.get(name);
    assert.deepEqual([...d.members].sort(), [...runtimeMembers(siyu[name])].sort(), `${name} members`);
    assert.deepEqual([...d.statics].sort(), [...runtimeStatics(siyu[name])].sort(), `${name} statics`);
  }
});

test('the error classes and the ErrorCode union match the core codes', () => {
  const codes = siyu.errorCodes();
  assert.deepEqual(decl.codes, codes);
  for (const code of codes) {
    const cls = siyu.errorClassForCode(code);
    const d = decl.classes.get(cls.name);
    assert.ok(d, `declaration of ${cls.name}`);
    assert.deepEqual([...d.codes], [code], `${cls.name} code`);
  }
  const base = decl.classes.get('SiyuError');
  const instance = new (siyu.errorClassForCode('RULE_SYNTAX'))({ code: 'RULE_SYNTAX', message: 'm', position: { line: 1, column: 2, offset: 1 } });
  const own = new Set([...Object.keys(instance), ...runtimeMembers(siyu.SiyuError)]);
  own.delete('name');
  assert.deepEqual([...base.members].sort(), [...own].sort());
});

/** Field names of `export interface Name { ... }` (top-level fields only). */
function interfaceFields(text, name) {
  const m = text.match(new RegExp(`^export interface ${name} \\{\\n([\\s\\S]*?)^\\}`, 'm'));
  if (!m) return undefined;
  return [...m[1].matchAll(/^ {2}(\w+)\??:/gm)].map((f) => f[1]);
}

test('every result type of the key table is an interface with exactly its camelCase keys', () => {
  const { RESULT_TYPES } = siyu[Symbol.for('siyu.resultTypes')];
  for (const [type, table] of Object.entries(RESULT_TYPES)) {
    const fields = interfaceFields(dts, type);
    assert.ok(fields, `index.d.ts declares interface ${type}`);
    const keys = Object.values(table).map((e) => (typeof e === 'string' ? e : e[0]));
    assert.deepEqual([...fields].sort(), [...keys].sort(), `${type} fields`);
  }
});

test('namespace objects (rfm, clv, analytics, journeys) declare exactly their runtime members', () => {
  for (const name of ['rfm', 'clv', 'analytics', 'journeys']) {
    const m = dts.match(new RegExp(`^export declare const ${name}: \\{\\n([\\s\\S]*?)^\\};`, 'm'));
    assert.ok(m, `declaration of ${name}`);
    const declared = new Set([...m[1].matchAll(/^ {2}(\w+)\(/gm)].map((f) => f[1]));
    assert.deepEqual([...declared].sort(), Object.keys(siyu[name]).sort(), `${name} members`);
  }
});
