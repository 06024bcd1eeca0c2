// API tests of the backend additions: JourneyEngine.stepBytes / stepState / mermaid /
// definitions, journeys.mermaid, analytics, ValueModel (node --test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Schema, JourneyEngine, journeys, analytics, ValueModel, clv, SiyuError, InvalidArgumentError } from '../index.mjs';

const load = (name) => fs.readFileSync(new URL(`../../core/journeys/${name}.json`, import.meta.url), 'utf8');
const schema = new Schema(load('schema'));
const replenishment = JSON.parse(load('replenishment'));
const engine = new JourneyEngine([replenishment], { schema, policies: { default_zone: 'Asia/Shanghai' } });
const profile = {
  id: 'u1',
  time_zone: 'Asia/Shanghai',
  consents: [{ channel: 'wechat', purpose: 'marketing', status: 'granted', at: '2026-01-01T00:00:00Z' }],
};
const purchase = { id: 'p1', name: 'purchase', timestamp: '2026-03-02T02:00:00Z', properties: { order_id: 'o1', category: 'milk_powder' } };

test('stepBytes agrees with step and round-trips the binary state', () => {
  const input = { type: 'event', event: purchase };
  const a = engine.step(null, profile, [], input, '2026-03-02T02:00:00Z');
  const b = engine.stepBytes(null, profile, [], input, '2026-03-02T02:00:00Z');
  assert.ok(Buffer.isBuffer(b.state));
  assert.deepEqual(journeys.decodeState(b.state), a.state);
  assert.deepEqual(b.effects, a.effects);
  assert.deepEqual(b.notices, a.notices);
  assert.equal(b.nextWake, a.nextWake);
  assert.equal(a.next_wake, undefined);
  // The raw path is the core's JSON form, with the same state document.
  const raw = engine.stepJson(null, profile, [], input, '2026-03-02T02:00:00Z');
  assert.equal(raw.next_wake, a.nextWake);
  assert.deepEqual(raw.state, a.state);
  assert.deepEqual(raw.effects, a.effects);
  assert.ok(b.nextWake, 'the instance waits');
  // Ticking at the wake-up time from the persisted bytes moves the instance on.
  const c = engine.stepBytes(b.state, profile, [], { type: 'tick' }, b.nextWake);
  const d = engine.step(a.state, profile, [], { type: 'tick' }, a.nextWake);
  assert.deepEqual(journeys.decodeState(c.state), d.state);
  assert.deepEqual(c.effects, d.effects);
});

test('stepBytes rejects bad bytes and leaves nothing changed', () => {
  const bad = Buffer.from([1, 2, 3]);
  assert.throws(() => engine.stepBytes(bad, profile, [], { type: 'tick' }, '2026-03-02T02:00:00Z'), (e) => e instanceof SiyuError && e.code === 'INVALID_STATE');
  assert.deepEqual([...bad], [1, 2, 3]);
});

test('mermaid and definitions', () => {
  const m = engine.mermaid('replenishment');
  assert.match(m, /^flowchart/);
  for (const n of replenishment.nodes) assert.ok(m.includes(n.id), n.id);
  assert.equal(journeys.mermaid(replenishment), m);
  assert.deepEqual(engine.definitions(), [{ id: 'replenishment', version: 1 }]);
  assert.throws(() => engine.mermaid('nope'), InvalidArgumentError);
});

test('analytics: named operations and run agree; errors are typed', () => {
  const req = { users: 100, invites: 50, conversions: 10 };
  const k = analytics.kFactor(req);
  assert.deepEqual(analytics.run('k_factor', req), k);
  assert.ok(Math.abs(k.kFactor - 0.1) < 1e-12, JSON.stringify(k));
  assert.equal(k.invitesPerUser, 0.5);
  assert.deepEqual(analytics.kFactorJson(req), { invites_per_user: k.invitesPerUser, conversion_rate: k.conversionRate, k_factor: k.kFactor });
  assert.deepEqual(analytics.runJson('k_factor', req), analytics.kFactorJson(req));
  assert.throws(() => analytics.run('nope', {}), (e) => e instanceof SiyuError && e.code === 'INVALID_JSON' && /nope/.test(e.message));
  assert.throws(() => analytics.funnel({ events: [] }), (e) => e instanceof SiyuError && e.code === 'INVALID_JSON' && /steps/.test(e.message));
  assert.throws(() => analytics.run(42, {}), InvalidArgumentError);
});

const model = {
  version: 1,
  purchase: { model: 'bgnbd', r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 },
  spend: { p: 6.25, q: 3.74, gamma: 15.44 },
};
const customers = [
  { frequency: 2, recency: 30.43, T: 38.86, monetary_value: 22.35 },
  { frequency: 0, recency: 0, T: 38.86, monetary_value: 0 },
  { frequency: 6, recency: 35, T: 38, monetary_value: 48 },
];

test('ValueModel scores agree with clv.lifetimeValue and the column form', () => {
  const vm = new ValueModel(model);
  assert.deepEqual(vm.toJson(), model);
  const scores = vm.score(customers, { months: 12, monthly_discount_rate: 0.01, unit: 'weeks', horizon: 10 });
  const lv = clv.lifetimeValue(model, customers, { months: 12, discountRate: 0.01, unit: 'weeks' });
  scores.forEach((s, i) => assert.ok(Math.abs(s.clv - lv[i]) < 1e-9, `clv ${i}`));
  const cols = vm.scoreColumns({ frequency: customers.map((c) => c.frequency), recency: customers.map((c) => c.recency), T: customers.map((c) => c.T) }, 10);
  scores.forEach((s, i) => {
    assert.equal(cols.pAlive[i], s.pAlive);
    assert.equal(cols.expectedPurchases[i], s.expectedPurchases);
  });
  assert.deepEqual(Object.keys(scores[0]), ['pAlive', 'expectedPurchases', 'expectedValue', 'clv']);
  assert.equal(vm.scoreJson(customers, { horizon: 10 })[0].p_alive, scores[0].pAlive);
  // The profile is a document: its score map keeps the names rules use (`score("p_alive")`).
  const p = vm.scoreProfile({ id: 'u1' }, customers[0], { options: { horizon: 10 } });
  assert.equal(p.scores.p_alive, scores[0].pAlive);
  assert.throws(() => new ValueModel({ ...model, version: 2 }), (e) => e.code === 'INVALID_STATE');
  assert.throws(() => vm.score([{ frequency: 1 }]), (e) => e instanceof InvalidArgumentError && e.path === '[0].recency');
});

test('a prepared subject steps like the plain profile', () => {
  const subject = engine.subject(profile, []);
  const input = { type: 'event', event: purchase };
  const a = engine.stepBytes(null, profile, [], input, '2026-03-02T02:00:00Z');
  const b = engine.stepBytes(null, subject, undefined, input, '2026-03-02T02:00:00Z');
  assert.deepEqual([...b.state], [...a.state]);
  assert.deepEqual(b.effects, a.effects);
  const c = engine.stepBytes(a.state, profile, [], { type: 'tick' }, '2026-03-20T04:00:00Z');
  const d = engine.stepBytes(b.state, subject, undefined, { type: 'tick' }, '2026-03-20T04:00:00Z');
  assert.deepEqual([...d.state], [...c.state]);
  assert.deepEqual(d.effects, c.effects);
  assert.ok(c.effects.length > 0, 'messages fire by day 18');
  assert.throws(() => engine.subject({ id: 'u1', traits: 5 }), SiyuError);
});

test('stepState (the lean cycle) agrees with stepBytes', () => {
  const subject = engine.subject(profile, []);
  const input = { type: 'event', event: purchase };
  const at = '2026-03-02T02:00:00Z';
  const a = engine.stepBytes(null, subject, undefined, input, at);
  const b = engine.stepState(null, subject, input, Date.parse(at));
  assert.deepEqual([...b.state], [...a.state]);
  assert.deepEqual(b.effects, a.effects);
  assert.deepEqual(b.notices, a.notices);
  assert.equal(b.nextWake, Date.parse(a.nextWake));
  // A tick (no input) at the wake-up time, as a Date and as ms, from the bytes.
  const c = engine.stepBytes(a.state, subject, undefined, { type: 'tick' }, '2026-03-20T04:00:00Z');
  const d = engine.stepState(b.state, subject, null, new Date('2026-03-20T04:00:00Z'));
  const e = engine.stepState(b.state, subject, undefined, Date.parse('2026-03-20T04:00:00Z'));
  assert.deepEqual([...d.state], [...c.state]);
  assert.deepEqual([...e.state], [...c.state]);
  assert.deepEqual(d.effects, c.effects);
  assert.ok(d.effects.length > 0, 'messages fire by day 18');
  // Nothing happening: empty lists, not absent ones.
  const idle = engine.stepState(d.state, subject, null, Date.parse('2026-03-20T04:00:01Z'));
  assert.deepEqual(idle.effects, []);
  assert.deepEqual(idle.notices, []);
  assert.throws(() => engine.stepState(b.state, profile, null, 0), (x) => x instanceof InvalidArgumentError && x.path === 'subject');
  assert.throws(() => engine.stepState(b.state, subject, null, '2026-03-20T04:00:00Z'), (x) => x instanceof InvalidArgumentError && x.path === 'now');
  assert.throws(() => engine.stepState(b.state, subject, null, Number.NaN), (x) => x.code === 'INVALID_TIME');
  assert.throws(() => engine.stepState(Buffer.from([1, 2, 3]), subject, null, 0), (x) => x.code === 'INVALID_STATE');
});

test('evaluateColumns agrees with evaluate per profile', async () => {
  const { CompiledRuleSet } = await import('../index.mjs');
  const s = new Schema({ traits: { city: 'string', total_spent: 'float', age: 'integer' } });
  const rules = new CompiledRuleSet('segment target: city = "Shanghai" and total_spent >= 500 and age >= 25\nsegment unknown_age: age is missing', s);
  const cities = ['Shanghai', 'Beijing', null];
  const n = 30;
  const city = Array.from({ length: n }, (_, i) => cities[i % 3]);
  const spent = Float64Array.from({ length: n }, (_, i) => (i * 97) % 1000);
  const age = Float64Array.from({ length: n }, (_, i) => (i % 7 === 0 ? NaN : 18 + i));
  const r = rules.evaluateColumns({ city, total_spent: spent, age }, '2026-03-01T00:00:00Z');
  assert.deepEqual(r.rules, ['target', 'unknown_age']);
  assert.equal(r.matches.length, n * 2);
  for (let i = 0; i < n; i++) {
    const traits = { total_spent: spent[i] };
    if (city[i] !== null) traits.city = city[i];
    if (!Number.isNaN(age[i])) traits.age = age[i];
    const one = rules.evaluate({ id: String(i), traits }, [], '2026-03-01T00:00:00Z');
    assert.equal(r.matches[i * 2] === 1, one.target, `row ${i}`);
    assert.equal(r.matches[i * 2 + 1] === 1, one.unknown_age, `row ${i}`);
  }
  assert.throws(() => rules.evaluateColumns({ age: Float64Array.of(1.5) }, '2026-03-01T00:00:00Z'), (e) => e.code === 'TYPE_MISMATCH' && e.path === 'columns.age[0]');
  assert.throws(() => rules.evaluateColumns({ nope: [1] }, '2026-03-01T00:00:00Z'), (e) => e.code === 'UNKNOWN_TRAIT');
});

test('evaluateColumns: dictionary-encoded strings, threads and per-cell types agree with evaluate', async () => {
  const { CompiledRuleSet } = await import('../index.mjs');
  const s = new Schema({ traits: { city: 'string', total_spent: 'float', age: 'integer', signed_up: 'timestamp' } });
  const text = [
    'segment target: city = "Shanghai" and total_spent >= 500 and age >= 25',
    'segment south: city in ["Shenzhen", "Guangzhou"] or city is missing',
    'segment not_target: not in_segment(target)',
  ].join('\n');
  const rules = new CompiledRuleSet(text, s);
  const now = '2026-03-01T00:00:00Z';
  const dictionary = ['Shanghai', 'Shenzhen', 'Beijing', null];
  const n = 2500; // more than one kernel block of 1024 rows
  const codes = Int32Array.from({ length: n }, (_, i) => (i % 11 === 0 ? -1 : i % 4));
  const spent = Float64Array.from({ length: n }, (_, i) => (i % 13 === 0 ? NaN : (i * 97) % 1000));
  const age = Float64Array.from({ length: n }, (_, i) => (i % 7 === 0 ? NaN : 18 + (i % 30)));
  const city = Array.from(codes, (k) => (k < 0 ? null : dictionary[k]));
  const byDict = rules.evaluateColumns({ city: { codes, dictionary }, total_spent: spent, age }, now);
  const byStrings = rules.evaluateColumns({ city, total_spent: spent, age }, now, null, { threads: 3 });
  assert.deepEqual(byDict.matches, byStrings.matches);
  for (let i = 0; i < n; i += 7) {
    const traits = {};
    if (city[i] !== null) traits.city = city[i];
    if (!Number.isNaN(spent[i])) traits.total_spent = spent[i];
    if (!Number.isNaN(age[i])) traits.age = age[i];
    const one = rules.evaluate({ id: String(i), traits }, [], now);
    assert.deepEqual([0, 1, 2].map((r) => byDict.matches[i * 3 + r] === 1), [one.target, one.south, one.not_target], `row ${i}`);
  }
  // A timestamp trait (strings converted per cell) alongside a dictionary column.
  const mixed = new CompiledRuleSet('segment early: signed_up before timestamp("2026-01-01T00:00:00Z") and city = "Beijing"', s);
  const m = mixed.evaluateColumns({ signed_up: ['2025-06-01T00:00:00Z', null, '2026-02-01T00:00:00Z'], city: { codes: Int32Array.of(2, 2, 2), dictionary } }, now);
  assert.deepEqual([...m.matches], [1, 0, 0]);
  assert.throws(() => rules.evaluateColumns({ city: { codes: Int32Array.of(0, 9), dictionary } }, now), (e) => e.code === 'INVALID_ARGUMENT' && e.path === 'columns.city.codes[1]');
  assert.throws(() => rules.evaluateColumns({ city: { codes: Int32Array.of(0), dictionary }, age: Float64Array.of(1, 2) }, now), (e) => e.code === 'INVALID_ARGUMENT');
  assert.throws(() => rules.evaluateColumns({ age: Float64Array.of(1) }, now, null, { threads: 0 }), (e) => e.code === 'INVALID_ARGUMENT');
});
