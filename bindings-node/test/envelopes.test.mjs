// Result envelopes (ADR 0005): for every result type, the camelCase view a
// method returns equals its raw `*Json` sibling mapped with the key table of
// index.js, and every key of every raw result sits in the table. The raw results
// come from the whole conformance suite (run through a wrapper of the API) plus
// the samples below; the mapping and the checks here are written independently
// of the converter in index.js, which they test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { runAll } from './conformance.test.mjs';

const require = createRequire(import.meta.url);
const siyu = require('../index.js');
const { RESULT_TYPES, DOC, DATA, ANALYTICS_OPS } = siyu[Symbol.for('siyu.resultTypes')];

// Result type of every method that returns an envelope, by owner. Methods with
// a `*Json` sibling convert; the others return a type whose keys need no change.
const METHOD_TYPES = {
  Schema: { mergeProfiles: 'MergeOutcome', erase: 'ErasureOutcome' },
  CompiledRuleSet: { explain: 'Explanation' },
  Lifecycle: { evaluate: 'StageOutcome', replay: ['DayStage'] },
  TagRules: { apply: 'TagApplication' },
  rfm: { values: 'RfmValues', fit: 'RfmFit', apply: 'RfmApplication' },
  clv: { fit: 'ClvFit', predict: 'ClvPrediction', spend: 'ClvSpend' },
  PointsModel: { applyEvent: 'PointsEarning', redeem: 'PointsRedemption', summary: 'PointsSummary', evaluateTier: 'TierOutcome' },
  JourneyEngine: { step: 'JourneyStep', reports: { map: 'JourneyReport' }, migrate: 'JourneyMigration', definitions: ['JourneyDefinitionRef'], simulate: 'SimulationReport' },
  journeys: { validate: 'JourneyReport' },
  ValueModel: { score: ['CustomerScores'], scoreColumns: 'ColumnScores' },
  analytics: Object.fromEntries(Object.entries(ANALYTICS_OPS).map(([name, [, type]]) => [name, type])),
};

const REPORTS = Object.fromEntries(Object.values(ANALYTICS_OPS));
const entryOf = (e) => (typeof e === 'string' ? { key: e, of: undefined } : { key: e[0], of: e[1] });
const ensure = (ok, message) => {
  if (!ok) assert.fail(message());
};
const isScalarTree = (v) => v === null || typeof v !== 'object' || (Array.isArray(v) && v.every(isScalarTree));

/** Every type and key a checked raw result exercised: `Type.raw_key`. */
const seen = new Set();

/**
 * The table-mapped form of a raw result; throws when the raw result has a key
 * the table does not list at that place, or a nested object where the table
 * says scalar.
 */
function mapRaw(of, raw, at = 'result') {
  if (raw === null || raw === undefined) return raw;
  if (of === DOC) return raw;
  if (of === DATA) {
    ensure(typeof raw === 'object' && !Array.isArray(raw) && Object.values(raw).every(isScalarTree), () => `${at}: a data map of scalars`);
    return raw;
  }
  if (of === undefined) {
    ensure(isScalarTree(raw), () => `${at}: the table says scalar, the result has ${JSON.stringify(raw)}`);
    return raw;
  }
  if (Array.isArray(of)) {
    ensure(Array.isArray(raw), () => `${at}: a list`);
    return raw.map((v, i) => mapRaw(of[0], v, `${at}[${i}]`));
  }
  ensure(typeof raw === 'object' && !Array.isArray(raw), () => `${at}: an object`);
  if (typeof of === 'object') {
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, mapRaw(of.map, v, `${at}.${k}`)]));
  }
  const table = RESULT_TYPES[of];
  ensure(table, () => `no table for result type ${of}`);
  seen.add(of);
  const out = {};
  for (const [k, v] of Object.entries(raw)) {
    ensure(Object.hasOwn(table, k), () => `${at}: key "${k}" of ${of} has no entry in the result-type table of index.js`);
    seen.add(`${of}.${k}`);
    const e = entryOf(table[k]);
    out[e.key] = mapRaw(e.of, v, `${at}.${k}`);
  }
  return out;
}

let checked = 0;
function check(owner, name, type, camel, raw) {
  let expected;
  try {
    expected = mapRaw(type, raw);
  } catch (e) {
    e.message = `${owner}.${name}: ${e.message}`;
    throw e;
  }
  assert.deepStrictEqual(camel, expected, `${owner}.${name}: camelCase view differs from the mapped raw form`);
  checked += 1;
}

// A wrapper of the package: each `*Json` call also runs its camelCase sibling
// with the same arguments and checks the pair; each call of a method without a
// sibling checks its result against the table (its raw form is itself).
function wrapObject(target, owner) {
  const types = METHOD_TYPES[owner] || {};
  return new Proxy(target, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver);
      if (typeof prop !== 'string' || typeof v !== 'function') return v;
      const base = prop.endsWith('Json') ? prop.slice(0, -4) : undefined;
      // `analytics.runJson(op, request)`: the report type follows the op.
      const typeOf = owner === 'analytics' && base === 'run' ? (args) => REPORTS[args[0]] : () => types[base];
      if (base !== undefined && (types[base] !== undefined || (owner === 'analytics' && base === 'run'))) {
        return (...args) => {
          const raw = v.apply(t, args);
          const camel = t[base](...args);
          if (raw instanceof Promise) return Promise.all([camel, raw]).then(([c, r]) => (check(owner, base, typeOf(args), c, r), r));
          check(owner, base, typeOf(args), camel, raw);
          return raw;
        };
      }
      if (types[prop] !== undefined && typeof t[`${prop}Json`] !== 'function') {
        return (...args) => {
          const r = v.apply(t, args);
          check(owner, prop, types[prop], r, r);
          return r;
        };
      }
      return v.bind(t);
    },
  });
}

function wrapClass(cls, owner) {
  return new Proxy(cls, {
    construct(c, args) {
      return wrapObject(Reflect.construct(c, args), owner);
    },
    get(c, prop, receiver) {
      const v = Reflect.get(c, prop, receiver);
      // Factories (`compile`, `fromJson` ...) return instances of the class itself.
      if (typeof v === 'function' && typeof prop === 'string' && prop !== 'prototype') {
        return (...args) => {
          const r = v.apply(c, args);
          return r instanceof c ? wrapObject(r, owner) : r;
        };
      }
      return v;
    },
  });
}

const api = { ...siyu };
for (const name of ['Schema', 'RuleSet', 'CompiledRuleSet', 'Lifecycle', 'TagRules', 'PointsModel', 'JourneyEngine', 'ValueModel']) api[name] = wrapClass(siyu[name], name);
for (const name of ['rfm', 'clv', 'analytics', 'journeys']) api[name] = wrapObject({ ...siyu[name] }, name);

test('every raw result of the conformance suite maps to its camelCase view by the table', () => {
  const { passed, failed, failures } = runAll(api);
  assert.equal(failed, 0, failures.slice(0, 10).join('\n'));
  assert.ok(passed > 0 && checked > 0);
});

const NOW = '2026-03-10T12:00:00Z';

test('samples outside the vectors map by the table too', async () => {
  const vm = new api.ValueModel({
    version: 1,
    purchase: { model: 'bgnbd', r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 },
    spend: { p: 6.25, q: 3.74, gamma: 15.44 },
  });
  const customers = [
    { frequency: 2, recency: 30.43, T: 38.86, monetary_value: 22.35 },
    { frequency: 0, recency: 0, T: 38.86 },
  ];
  vm.scoreJson(customers, { horizon: 10 });
  vm.scoreColumnsJson({ frequency: [2, 0], recency: [30.43, 0], T: [38.86, 38.86] }, 10);
  const load = (name) => fs.readFileSync(new URL(`../../core/journeys/${name}.json`, import.meta.url), 'utf8');
  const defs = ['replenishment', 'welcome', 'win_back'].map((n) => JSON.parse(load(n)));
  const engine = new api.JourneyEngine(defs, { schema: load('schema') });
  engine.definitions();
  engine.reportsJson();
  // Simulation: replenishment reminders over three weeks for two buyers.
  const profile = (id) => ({ id, time_zone: 'Asia/Shanghai', consents: [{ channel: 'wechat', purpose: 'marketing', status: 'granted', at: '2026-01-01T00:00:00Z' }] });
  const purchase = (id, at) => ({ id, name: 'purchase', timestamp: at, properties: { order_id: id, category: 'milk_powder' } });
  const report = await engine.simulateJson(
    [
      { profile: profile('u1'), events: [purchase('p1', '2026-03-02T02:00:00Z')] },
      { profile: profile('u2'), events: [purchase('p2', '2026-03-03T02:00:00Z'), purchase('p3', '2026-03-04T02:00:00Z')] },
    ],
    '2026-03-01T00:00:00Z',
    '2026-03-25T00:00:00Z',
  );
  assert.equal(report.users, 2);
  assert.ok(Object.keys(report.messages_per_day).length > 0, JSON.stringify(report));
  await assert.rejects(engine.simulate([], '2026-03-02T00:00:00Z', '2026-03-01T00:00:00Z'), (e) => e.code === 'INVALID_ARGUMENT' && e.path === 'start');
});

test('a structural key missing from the table fails the check', () => {
  const raw = siyu.analytics.kFactorJson({ users: 100, invites: 300, conversions: 45 });
  assert.doesNotThrow(() => mapRaw('KFactorReport', raw));
  assert.throws(() => mapRaw('KFactorReport', { ...raw, invites_sent: 300 }), /key "invites_sent" of KFactorReport has no entry/);
  const step = { effects: [{ id: 'x', journey: 'j', node: 'n', at: NOW, type: 'send_message', retry_after: 5 }], notices: [], next_wake: null, state: { format: 1 } };
  assert.throws(() => mapRaw('JourneyStep', step), /key "retry_after" of JourneyEffect/);
  // A nested object where the table says scalar is caught as well.
  assert.throws(() => mapRaw('RfmValues', { recency_days: { days: 1 }, frequency: 1, monetary: 1 }), /the table says scalar/);
});

test('every result type and key in the table was exercised', () => {
  const types = Object.keys(RESULT_TYPES).filter((t) => !seen.has(t));
  assert.deepEqual(types, [], 'result types no check exercised');
  const keys = Object.entries(RESULT_TYPES).flatMap(([t, table]) => Object.keys(table).map((k) => `${t}.${k}`)).filter((k) => !seen.has(k));
  assert.deepEqual(keys, [], 'table keys no result carried');
});

test('every converting method has its raw sibling and every sibling converts', () => {
  const owners = { ...siyu, Schema: siyu.Schema.prototype, CompiledRuleSet: siyu.CompiledRuleSet.prototype, Lifecycle: siyu.Lifecycle.prototype, TagRules: siyu.TagRules.prototype, PointsModel: siyu.PointsModel.prototype, JourneyEngine: siyu.JourneyEngine.prototype, ValueModel: siyu.ValueModel.prototype };
  const renames = (of, visiting = new Set()) => {
    if (of === undefined || of === DOC || of === DATA) return false;
    if (Array.isArray(of)) return renames(of[0], visiting);
    if (typeof of === 'object') return renames(of.map, visiting);
    if (visiting.has(of)) return false;
    visiting.add(of);
    return Object.entries(RESULT_TYPES[of]).some(([raw, e]) => entryOf(e).key !== raw || renames(entryOf(e).of, visiting));
  };
  for (const [owner, methods] of Object.entries(METHOD_TYPES)) {
    for (const [name, type] of Object.entries(methods)) {
      assert.equal(typeof owners[owner][name], 'function', `${owner}.${name}`);
      // Analytics keeps one surface: every operation has its `*Json` sibling.
      const expected = owner === 'analytics' || renames(type);
      assert.equal(typeof owners[owner][`${name}Json`] === 'function', expected, `${owner}.${name}Json exists exactly when ${JSON.stringify(type)} renames a key`);
    }
  }
});
