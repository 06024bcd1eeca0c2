// API tests of the npm package `siyu` (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as esm from '../index.mjs';
import {
  Schema,
  RuleSet,
  CompiledRuleSet,
  SiyuError,
  RuleSyntaxError,
  UnknownTraitError,
  InvalidTimeZoneError,
  InvalidArgumentError,
  InvalidProfileError,
  InvalidEventError,
  InternalError,
  errorCodes,
  errorClassForCode,
  parseZone,
} from '../index.mjs';

const require = createRequire(import.meta.url);
const cjs = require('../index.js');

const schemaDef = {
  traits: { city: 'string', age: 'integer' },
  events: { purchase: { properties: { amount: 'float' } }, page_viewed: {} },
};
const rulesText = [
  'segment buyer: count(purchase, within 30d) >= 1',
  'segment big_spender: sum(purchase.amount, within 30d) >= 100',
  'segment shanghai: city = "Shanghai"',
].join('\n');
const now = '2026-03-01T00:00:00Z';
const alice = { id: 'alice', traits: { city: 'Shanghai', age: 31 } };
const aliceEvents = [
  { id: 'e1', name: 'purchase', timestamp: '2026-02-20T10:00:00Z', properties: { amount: 80 } },
  { id: 'e2', name: 'purchase', timestamp: '2026-02-25T10:00:00Z', properties: { amount: 30 } },
  { id: 'e3', name: 'purchase', timestamp: '2025-12-01T10:00:00Z', properties: { amount: 500 } },
];
const bob = { id: 'bob', traits: { city: 'Beijing' } };

test('CommonJS and ESM entry points export the same objects', () => {
  const esmNames = Object.keys(esm).filter((k) => k !== 'default').sort();
  assert.deepEqual(esmNames, Object.keys(cjs).sort());
  for (const k of esmNames) assert.equal(esm[k], cjs[k], k);
  assert.equal(esm.default, cjs);
  assert.match(cjs.version, /^\d+\.\d+\.\d+/);
});

test('one SiyuError subclass per core code', () => {
  const codes = errorCodes();
  assert.ok(codes.includes('RULE_SYNTAX') && codes.includes('INTERNAL'));
  for (const code of codes) {
    const cls = errorClassForCode(code);
    assert.notEqual(cls, SiyuError, code);
    assert.equal(cls.code, code);
    assert.ok(cls.prototype instanceof SiyuError);
  }
  assert.equal(new Set(codes.map((c) => errorClassForCode(c))).size, codes.length);
  assert.equal(errorClassForCode('NO_SUCH_CODE'), SiyuError);
});

test('schema accepts JSON text or objects and round-trips', () => {
  const a = new Schema(schemaDef);
  const b = Schema.fromJson(JSON.stringify(schemaDef));
  assert.deepEqual(a.toObject(), b.toObject());
  assert.deepEqual(new Schema(a.toJson()).toObject(), a.toObject());
  assert.deepEqual(Object.keys(a.toObject().traits).sort(), ['age', 'city']);
});

test('invalid documents throw typed errors with code and path', () => {
  assert.throws(() => new Schema('{not json'), (e) => e instanceof SiyuError && typeof e.code === 'string');
  const schema = new Schema(schemaDef);
  assert.throws(
    () => schema.validateProfile({ id: 'x', traits: { age: 'old' } }),
    (e) => e instanceof InvalidProfileError && e.code === 'INVALID_PROFILE',
  );
  assert.throws(
    () => schema.validateEvents([aliceEvents[0], { id: 'e9', name: 'purchase', timestamp: 'yesterday' }]),
    (e) => e instanceof SiyuError && e.path !== undefined && e.path.startsWith('[1]'),
  );
  assert.throws(() => schema.validateEvents({}), InvalidEventError);
});

test('events are validated, sorted and de-duplicated', () => {
  const schema = new Schema(schemaDef);
  const events = schema.validateEvents([aliceEvents[1], aliceEvents[0], aliceEvents[1]]);
  assert.deepEqual(events.map((e) => e.id), ['e1', 'e2']);
});

test('zones: canonical names and INVALID_TIME_ZONE', () => {
  assert.equal(parseZone('Asia/Shanghai'), 'Asia/Shanghai');
  assert.throws(() => parseZone('Mars/Olympus'), (e) => e instanceof InvalidTimeZoneError && e.code === 'INVALID_TIME_ZONE');
});

test('bad argument types are INVALID_ARGUMENT, not TypeErrors from the addon', () => {
  assert.throws(() => RuleSet.parse(42), InvalidArgumentError);
  assert.throws(() => parseZone(null), InvalidArgumentError);
  assert.throws(() => new Schema(undefined), InvalidArgumentError);
  assert.throws(() => new RuleSet({}), InvalidArgumentError);
});

test('a panic inside the addon becomes INTERNAL and the process survives', () => {
  const native = require('../siyu.node');
  assert.throws(() => native.debugPanic(), (e) => {
    assert.match(e.message, /^SIYU_ERROR:/);
    const detail = JSON.parse(e.message.slice('SIYU_ERROR:'.length));
    assert.equal(detail.code, 'INTERNAL');
    return true;
  });
  assert.equal(parseZone('UTC'), 'UTC');
  assert.equal(InternalError.code, 'INTERNAL');
});

test('rule sets parse, print and convert to JSON and back', () => {
  const rs = RuleSet.parse(rulesText);
  assert.deepEqual(rs.ruleNames, ['buyer', 'big_spender', 'shanghai']);
  const again = RuleSet.fromJson(rs.toObject());
  assert.equal(again.toText(), rs.toText());
  assert.deepEqual(RuleSet.parse(rs.toText()).toObject(), rs.toObject());
  assert.deepEqual(RuleSet.fromJson(rs.toJson()).toObject(), rs.toObject());
});

test('syntax errors carry code and position', () => {
  assert.throws(
    () => RuleSet.parse('segment a: count(purchase, within 30d) >=\nsegment b: city = '),
    (e) => {
      assert.ok(e instanceof RuleSyntaxError);
      assert.equal(e.code, 'RULE_SYNTAX');
      assert.equal(typeof e.position.line, 'number');
      assert.equal(typeof e.position.column, 'number');
      return true;
    },
  );
});

test('compile errors suggest the closest name', () => {
  assert.throws(
    () => new CompiledRuleSet('segment x: ciyt = "Shanghai"', schemaDef),
    (e) => e instanceof UnknownTraitError && e.suggestion === 'city',
  );
});

test('evaluate returns membership per rule name', () => {
  const compiled = new CompiledRuleSet(rulesText, new Schema(schemaDef));
  assert.deepEqual(compiled.ruleNames, ['buyer', 'big_spender', 'shanghai']);
  assert.deepEqual(compiled.evaluate(alice, aliceEvents, now), { buyer: true, big_spender: true, shanghai: true });
  assert.deepEqual(compiled.evaluate(bob, [], new Date(now)), { buyer: false, big_spender: false, shanghai: false });
  // JSON text inputs give the same answer.
  assert.deepEqual(compiled.evaluate(JSON.stringify(alice), JSON.stringify(aliceEvents), now, 'Asia/Shanghai'), compiled.evaluate(alice, aliceEvents, now));
});

test('explain returns the clause tree with observed values', () => {
  const compiled = CompiledRuleSet.compile(RuleSet.parse(rulesText), schemaDef);
  const ex = compiled.explain('big_spender', alice, aliceEvents.slice(1), now);
  assert.equal(ex.rule, 'big_spender');
  assert.equal(ex.matched, false);
  assert.equal(ex.root.truth, 'false');
  assert.equal(typeof ex.root.clause, 'string');
  assert.throws(() => compiled.explain('no_such_rule', alice, [], now), (e) => e instanceof SiyuError && e.code === 'INVALID_ARGUMENT');
});

test('evaluateMany runs off the event loop and matches evaluate', async () => {
  const compiled = new CompiledRuleSet(rulesText, schemaDef);
  const items = [];
  for (let i = 0; i < 200; i += 1) {
    items.push(i % 2 ? { profile: { ...alice, id: `a${i}` }, events: aliceEvents } : { profile: { ...bob, id: `b${i}` } });
  }
  const pending = compiled.evaluateMany(items, now);
  assert.ok(pending instanceof Promise);
  const results = await pending;
  assert.equal(results.length, items.length);
  results.forEach((r, i) => assert.deepEqual(r, compiled.evaluate(items[i].profile, items[i].events ?? [], now)));
});

test('evaluateMany rejects with the failing item index in the path', async () => {
  const compiled = new CompiledRuleSet(rulesText, schemaDef);
  await assert.rejects(
    compiled.evaluateMany([{ profile: alice, events: [] }, { profile: { id: 'x', traits: { nope: 1 } } }], now),
    (e) => e instanceof SiyuError && e.code === 'INVALID_PROFILE' && e.path.startsWith('[1]'),
  );
  await assert.rejects(compiled.evaluateMany('not an array', now), InvalidArgumentError);
  await assert.rejects(compiled.evaluateMany([], 'not a time'), (e) => e instanceof SiyuError && e.code === 'INVALID_TIME');
});

test('merging profiles returns the merged document; self-merge is INVALID_MERGE', () => {
  const schema = new Schema(schemaDef);
  const out = schema.mergeProfiles({
    primary: alice,
    secondary: { id: 'alice-wechat', traits: { age: 32 } },
    primaryEvents: aliceEvents.slice(0, 1),
    secondaryEvents: aliceEvents.slice(1, 2),
  });
  assert.equal(out.profile.id, 'alice');
  assert.deepEqual(out.events.map((e) => e.id).sort(), ['e1', 'e2']);
  // The audit has camelCase keys; the merged profile and events keep the core's.
  assert.equal(out.changes.primaryId, 'alice');
  assert.equal(out.changes.secondaryId, 'alice-wechat');
  assert.equal(out.changes.eventsAdded, 1);
  assert.equal(out.changes.primary_id, undefined);
  const raw = schema.mergeProfilesJson({
    primary: alice,
    secondary: { id: 'alice-wechat', traits: { age: 32 } },
    primaryEvents: aliceEvents.slice(0, 1),
    secondaryEvents: aliceEvents.slice(1, 2),
  });
  assert.equal(raw.changes.primary_id, 'alice');
  assert.deepEqual(out.profile, raw.profile);
  assert.deepEqual(out.events, raw.events);
  assert.throws(
    () => schema.mergeProfiles({ primary: alice, secondary: alice }),
    (e) => e instanceof SiyuError && e.code === 'INVALID_MERGE',
  );
});

test('erasure removes personal data and reports what it erased', () => {
  const schema = new Schema({ traits: { phone: { type: 'string', personal: true }, city: 'string' } });
  const out = schema.erase({ profile: { id: 'u1', traits: { phone: '13800000000', city: 'Hangzhou' } } });
  assert.equal(out.profile.traits.phone, undefined);
  assert.equal(out.profile.traits.city, 'Hangzhou');
  assert.deepEqual(out.erased.traitsRemoved, ['phone']);
  assert.equal(out.erased.idReplaced, false);
  assert.equal(schema.eraseJson({ profile: { id: 'u1', traits: { phone: '1' } } }).erased.id_replaced, false);
});

test('lifecycle: default model classifies, carries state and replays days', () => {
  const lc = new esm.Lifecycle();
  assert.ok(lc.ruleNames.length > 0);
  const first = lc.evaluate({ id: 'u1' }, [], '2026-03-01T00:00:00Z');
  assert.equal(typeof first.state.stage, 'string');
  assert.equal(first.state.version, 1);
  const again = lc.evaluate({ id: 'u1' }, [], '2026-03-02T00:00:00Z', { previous: first.state });
  assert.equal(again.state.stage, first.state.stage);
  const days = lc.replay({ id: 'u1' }, [], '2026-03-01', '2026-03-03');
  assert.deepEqual(days.map((d) => d.date), ['2026-03-01', '2026-03-02', '2026-03-03']);
  assert.throws(() => lc.evaluate({ id: 'u1' }, [], '2026-03-01T00:00:00Z', { previous: { version: 1 } }), (e) => e.code === 'INVALID_STATE');
  assert.throws(() => new esm.Lifecycle({ stages: 'nope' }), (e) => e instanceof SiyuError);
});

test('results have camelCase structural keys; documents and data keys keep the core\'s (ADR 0005)', () => {
  const schema = esm.Schema.lifecycleDefault();
  const now = '2026-03-01T00:00:00Z';
  // Tags: the change says `expiresAt`; the tag inside the profile document keeps the core's keys.
  const rules = new esm.TagRules(
    { rules: [{ id: 'big_spender', tag: 'big_spender', when: 'sum(purchase.amount, within 365d) >= 100', policy: 'live', ttl: '30d' }] },
    schema,
  );
  const events = [{ id: 'o1', name: 'purchase', timestamp: '2026-02-20T10:00:00Z', properties: { amount: 150 } }];
  const applied = rules.apply({ id: 'u1' }, events, now);
  assert.deepEqual(applied.diff.added.map((c) => [c.tag, c.rule, c.expiresAt]), [['big_spender', 'big_spender', '2026-03-31T00:00:00Z']]);
  assert.equal(applied.diff.added[0].expires_at, undefined);
  const raw = rules.applyJson({ id: 'u1' }, events, now);
  assert.equal(raw.diff.added[0].expires_at, '2026-03-31T00:00:00Z');
  assert.deepEqual(applied.profile, raw.profile);
  // RFM: values are camelCase and go back into `score` and `fit` in either form.
  const values = esm.rfm.values(events, now);
  assert.deepEqual(Object.keys(values), ['recencyDays', 'frequency', 'monetary']);
  const rawValues = esm.rfm.valuesJson(events, now);
  assert.equal(rawValues.recency_days, values.recencyDays);
  const population = [values, { recencyDays: 40, frequency: 3, monetary: 900 }, { recency_days: 200, frequency: 1, monetary: 10 }];
  const fitted = esm.rfm.fit('quantile', population);
  assert.deepEqual(esm.rfm.score(fitted.thresholds, values), esm.rfm.score(fitted.thresholds, rawValues));
  assert.deepEqual(fitted.scores[0], esm.rfm.score(fitted.thresholds, values));
  // Customer value: fit statistics are camelCase, parameters (a document) are not touched.
  const fit = esm.clv.fit('bgnbd', { frequency: [2, 0, 6, 1], recency: [30, 0, 35, 10], T: [38, 38, 38, 20] });
  const fitRaw = esm.clv.fitJson('bgnbd', { frequency: [2, 0, 6, 1], recency: [30, 0, 35, 10], T: [38, 38, 38, 20] });
  assert.equal(fit.logLikelihood, fitRaw.log_likelihood);
  assert.deepEqual(fit.params, fitRaw.params);
  const predicted = esm.clv.predict({ model: 'bgnbd', ...fit.params }, 10, [{ frequency: 2, recency: 30, T: 38 }]);
  assert.deepEqual(Object.keys(predicted.rows[0]).sort(), ['conditionalExpectedPurchases', 'logLikelihood', 'pAlive']);
  // Points: tier statistics are camelCase, the tier state (a document) keeps the core's keys.
  const points = new esm.PointsModel();
  const tier = points.evaluateTier(null, [], null, now);
  const tierRaw = points.evaluateTierJson(null, [], null, now);
  assert.equal(tier.windowPoints, tierRaw.window_points);
  assert.equal(tier.inGrace, tierRaw.in_grace);
  assert.deepEqual(tier.state, tierRaw.state);
});
