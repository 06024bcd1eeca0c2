// Node bench of the npm package `siyu`, in one run:
//   1. journeys: restore + step + persist cycles/s (the firing cycle of the
//      6-node replenishment journey, core/journeys/replenishment.json) against
//      XState 5 on the equivalent 6-state machine (`stepBytes` with JSON text,
//      and the lean `stepState`: Buffer state, tick, time in ms, as XState gets);
//   2. single-rule evaluation against json-logic-engine (compiled) and
//      @growthbook/growthbook (`evalCondition`) on an equivalent rule, per call
//      and in bulk.
// Usage: (cd benches/node && npm install) && SIYU_PROFILE=release bash
// bindings-node/scripts/test.sh (builds the addon) && node benches/node/bench.mjs
// Options (environment): BENCH_MS (time per measurement, default 1500),
// BENCH_BULK (profiles per bulk call, default 10000), BENCH_LARGE (profiles of
// the large bulk call, default 1000000; 0 skips it), BENCH_ROUNDS (interleaved
// rounds of the journey measurements, default 3), BENCH_ONLY=rules (skip the
// journey measurements) or BENCH_ONLY=journey (skip the rule measurements).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { setup, assign, createActor } from 'xstate';
import { LogicEngine } from 'json-logic-engine';
import { evalCondition } from '@growthbook/growthbook';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(import.meta.url);
const siyu = require(path.join(root, 'bindings-node', 'index.js'));
const { JourneyEngine, Schema, CompiledRuleSet, journeys } = siyu;

const MS = Number(process.env.BENCH_MS || 1500);
const BULK = Number(process.env.BENCH_BULK || 10000);

/** Runs `fn` repeatedly for about MS milliseconds (after a warm-up); ops/s. */
function measure(fn, opsPerCall = 1) {
  const warm = performance.now() + Math.min(300, MS / 4);
  while (performance.now() < warm) fn();
  let calls = 0;
  const start = performance.now();
  let t = start;
  while (t - start < MS) {
    for (let i = 0; i < 64; i++) fn();
    calls += 64;
    t = performance.now();
  }
  return (calls * opsPerCall * 1000) / (t - start);
}

/**
 * As `measure`, returning [ops per wall second, ops per CPU second]; CPU time is
 * the whole process's (`process.cpuUsage`: all threads, so GC helper threads
 * count), which stays meaningful when other processes load the machine.
 */
function measureCpu(fn) {
  const warm = performance.now() + Math.min(300, MS / 4);
  while (performance.now() < warm) fn();
  let calls = 0;
  const c0 = process.cpuUsage();
  const start = performance.now();
  let t = start;
  while (t - start < MS) {
    for (let i = 0; i < 64; i++) fn();
    calls += 64;
    t = performance.now();
  }
  const c = process.cpuUsage(c0);
  return [(calls * 1000) / (t - start), (calls * 1e6) / (c.user + c.system)];
}

/** As `measure` for an async function (one call at a time). */
async function measureAsync(fn, opsPerCall = 1) {
  await fn();
  let calls = 0;
  const start = performance.now();
  let t = start;
  while (t - start < MS) {
    await fn();
    calls += 1;
    t = performance.now();
  }
  return (calls * opsPerCall * 1000) / (t - start);
}

const fmt = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));
const results = [];
function report(name, opsPerSec, unit) {
  results.push({ name, opsPerSec });
  console.log(`${name.padEnd(58)} ${fmt(opsPerSec).padStart(10)} ${unit}/s`);
}
function ratio(label, a, b) {
  console.log(`  ratio ${label}: ${(a / b).toFixed(2)}x`);
}

// ---------------------------------------------------------------- journeys
const load = (name) => fs.readFileSync(path.join(root, 'core', 'journeys', `${name}.json`), 'utf8');
const schema = new Schema(load('schema'));
const engine = new JourneyEngine([JSON.parse(load('replenishment'))], {
  schema,
  policies: {
    default_zone: 'Asia/Shanghai',
    caps: [{ channel: '*', per_day: 3 }],
    quiet_hours: { start: '22:00', end: '08:00' },
  },
});
const profileText = JSON.stringify({
  id: 'u1',
  time_zone: 'Asia/Shanghai',
  consents: [{ channel: 'wechat', purpose: 'marketing', status: 'granted', at: '2026-01-01T00:00:00Z' }],
});
const purchase = {
  id: 'p1',
  name: 'purchase',
  timestamp: '2026-03-02T02:00:00Z',
  properties: { order_id: 'o1', category: 'milk_powder' },
};
// Bring one instance to the day-7 wait (the probiotics message fires next).
const s1 = engine.stepBytes(null, profileText, '[]', { type: 'event', event: purchase }, '2026-03-02T02:00:00Z');
const s2 = engine.stepBytes(s1.state, profileText, '[]', { type: 'tick' }, '2026-03-05T04:00:00Z');
const blob = s2.state;
const due = journeys.decodeState(blob).instances[0].due;
const tickText = '{"type":"tick"}';
const probe = engine.stepBytes(blob, profileText, '[]', tickText, due);
assert.equal(probe.effects.length, 1, 'the firing cycle sends one message');
assert.equal(probe.effects[0].template, 'probiotics_cross_sell');

console.log(`siyu ${siyu.version}, node ${process.version}; ${MS} ms per measurement; state ${blob.length} bytes`);
if (process.env.BENCH_ONLY !== 'rules') {
console.log('\n# journeys: restore + step + persist (firing cycle, 6-node replenishment journey)');
let persisted = blob;
const subject = engine.subject(profileText, []);
// The lean cycle: the same step with a tick given as nothing and `now` as a
// time value in ms (as XState gets it below); effects decoded only when present.
const dueMs = Date.parse(due);
{
  const lean = engine.stepState(blob, subject, null, dueMs);
  assert.ok(lean.state.equals(probe.state), 'stepState persists the same bytes as stepBytes');
  assert.deepEqual(lean.effects, probe.effects);
  assert.deepEqual(lean.notices, probe.notices);
  assert.equal(lean.nextWake, Date.parse(probe.nextWake));
}

// The equivalent XState 5 machine: six states (wait 3d, wait until noon, wait
// to day 7, wait to day 15, consultant task, done); a TICK at or after the due
// time moves on, emitting the node's effect and arming the next due time.
const DAY = 86400000;
const effect = (kind, template) =>
  assign(({ context, event }) => ({
    effects: [{ id: `${context.key}:${template}`, type: kind, template, at: event.now }],
  }));
const machine = setup({
  guards: { due: ({ context, event }) => event.now >= context.due },
}).createMachine({
  id: 'replenishment',
  initial: 'wait3d',
  context: ({ input }) => ({ key: input.key, due: input.at + 3 * DAY, effects: [] }),
  states: {
    wait3d: { on: { TICK: { guard: 'due', target: 'noon', actions: assign({ due: ({ event }) => event.now + DAY / 2, effects: [] }) } } },
    noon: {
      on: { TICK: { guard: 'due', target: 'wait7', actions: [effect('send_message', 'bottle_cleaning_tips'), assign({ due: ({ event }) => event.now + 4 * DAY })] } },
    },
    wait7: {
      on: { TICK: { guard: 'due', target: 'wait15', actions: [effect('send_message', 'probiotics_cross_sell'), assign({ due: ({ event }) => event.now + 8 * DAY })] } },
    },
    wait15: { on: { TICK: { guard: 'due', target: 'consultant', actions: effect('create_task', 'replenishment_follow_up') } } },
    consultant: { always: 'done' },
    done: { type: 'final' },
  },
});
// Bring the XState actor to the same point: the day-7 wait.
const t0 = Date.parse('2026-03-02T02:00:00Z');
let actor = createActor(machine, { input: { key: 'o1', at: t0 } }).start();
actor.send({ type: 'TICK', now: t0 + 3 * DAY });
actor.send({ type: 'TICK', now: t0 + 3.5 * DAY });
const xsText = JSON.stringify(actor.getPersistedSnapshot());
actor.stop();
const xsDue = JSON.parse(xsText).context.due;
{
  const a = createActor(machine, { snapshot: JSON.parse(xsText) }).start();
  a.send({ type: 'TICK', now: xsDue });
  const snap = a.getPersistedSnapshot();
  assert.equal(snap.value, 'wait15');
  assert.equal(snap.context.effects[0].template, 'probiotics_cross_sell');
  a.stop();
}
let xsOut = '';
// Each siyu cycle reads every field of the effects it gets (a host carries
// them out), as XState's cycle serialises the effects it keeps in its context.
let touched = 0;
const touch = (effects) => {
  for (const e of effects) touched += e.id.length + e.journey.length + e.node.length + e.at.length + e.type.length + e.channel.length + e.template.length + e.purpose.length;
};
const journeyCycles = [
  ['siyu JourneyEngine.stepBytes (Buffer state, profile JSON text)', () => {
    const r = engine.stepBytes(blob, profileText, '[]', tickText, due);
    touch(r.effects);
    persisted = r.state;
  }],
  ['siyu JourneyEngine.stepBytes (Buffer state, prepared subject)', () => {
    const r = engine.stepBytes(blob, subject, undefined, tickText, due);
    touch(r.effects);
    persisted = r.state;
  }],
  ['siyu JourneyEngine.stepState (Buffer state, subject, ms time)', () => {
    const r = engine.stepState(blob, subject, null, dueMs);
    touch(r.effects);
    persisted = r.state;
  }],
  ['XState 5 restore (JSON) + send + getPersistedSnapshot', () => {
    const a = createActor(machine, { snapshot: JSON.parse(xsText) }).start();
    a.send({ type: 'TICK', now: xsDue });
    xsOut = JSON.stringify(a.getPersistedSnapshot());
    a.stop();
  }],
];
// Interleaved rounds (BENCH_ROUNDS, default 3), so load that changes during
// the run hits every engine alike; each figure is the median over the rounds,
// by wall time and by CPU time of the process (the one to read on a loaded machine).
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const wall = journeyCycles.map(() => []);
const cpu = journeyCycles.map(() => []);
const x = (v, r) => v.map((a) => `${(a[r] / v[3][r]).toFixed(2)}x`).slice(0, 3).join(' / ');
for (let r = 0; r < ROUNDS; r++) {
  journeyCycles.forEach(([, fn], i) => {
    const [w, c] = measureCpu(fn);
    wall[i].push(w);
    cpu[i].push(c);
  });
  console.log(`  round ${r + 1}: ratios to XState (text / subject / stepState): wall ${x(wall, r)}; CPU ${x(cpu, r)} (per CPU s: ${cpu.map((v) => fmt(v[r])).join(" / ")})`);
}
assert.ok(Buffer.isBuffer(persisted));
assert.ok(xsOut.length > 0);
assert.ok(touched > 0);
const median = (v) => [...v].sort((p, q) => p - q)[v.length >> 1];
journeyCycles.forEach(([name], i) => report(`${name} (median)`, median(wall[i]), 'cycles'));
journeyCycles.forEach(([name], i) => report(`${name} (median, per CPU s)`, median(cpu[i]), 'cycles'));
const [siyuJourney, siyuSubject, siyuLean, xstate] = wall.map(median);
const [cJourney, cSubject, cLean, cXstate] = cpu.map(median);
ratio('siyu (profile JSON text) / XState, wall (target >= 10)', siyuJourney, xstate);
ratio('siyu (prepared subject) / XState, wall (target >= 10)', siyuSubject, xstate);
ratio('siyu stepState (lean cycle) / XState, wall (target >= 10)', siyuLean, xstate);
ratio('siyu (profile JSON text) / XState, CPU (target >= 10)', cJourney, cXstate);
ratio('siyu (prepared subject) / XState, CPU (target >= 10)', cSubject, cXstate);
ratio('siyu stepState (lean cycle) / XState, CPU (target >= 10)', cLean, cXstate);

}
// ---------------------------------------------------------------- rules
if (process.env.BENCH_ONLY === 'journey') process.exit(0);
console.log('\n# single-rule evaluation: city = "Shanghai" and total_spent >= 500 and age >= 25');
const ruleSchema = new Schema({ traits: { city: 'string', total_spent: 'float', age: 'integer' } });
const compiled = new CompiledRuleSet('segment target: city = "Shanghai" and total_spent >= 500 and age >= 25', ruleSchema);
const jl = new LogicEngine();
const jlRule = jl.build({ and: [{ '==': [{ var: 'city' }, 'Shanghai'] }, { '>=': [{ var: 'total_spent' }, 500] }, { '>=': [{ var: 'age' }, 25] }] });
const gbCondition = { city: 'Shanghai', total_spent: { $gte: 500 }, age: { $gte: 25 } };
const now = '2026-03-01T00:00:00Z';
const cities = ['Shanghai', 'Beijing', 'Shenzhen', 'Hangzhou'];
const traits = Array.from({ length: BULK }, (_, i) => ({ city: cities[i % 4], total_spent: (i * 37) % 1200, age: 18 + (i % 50) }));
const people = traits.map((t, i) => ({ id: `u${i}`, traits: t }));
// The three agree on every profile.
const siyuBulk = await compiled.evaluateMany(people.map((p) => ({ profile: p })), now);
for (let i = 0; i < BULK; i++) {
  const want = jlRule(traits[i]);
  assert.equal(siyuBulk[i].target, want, `siyu vs json-logic on ${i}`);
  assert.equal(evalCondition(traits[i], gbCondition), want, `growthbook vs json-logic on ${i}`);
}

let k = 0;
const one = () => people[k++ % BULK];
const sPer = measure(() => compiled.evaluate(one(), undefined, now));
report('siyu CompiledRuleSet.evaluate (object in)', sPer, 'calls');
const jPer = measure(() => jlRule(traits[k++ % BULK]));
report('json-logic-engine (compiled)', jPer, 'calls');
const gPer = measure(() => evalCondition(traits[k++ % BULK], gbCondition));
report('@growthbook/growthbook evalCondition', gPer, 'calls');
ratio('siyu / json-logic-engine per call', sPer, jPer);
ratio('siyu / growthbook per call', sPer, gPer);

console.log(`\n# bulk: ${BULK} profiles per call`);
const items = people.map((p) => ({ profile: p }));
const sBulk = await measureAsync(() => compiled.evaluateMany(items, now), BULK);
report('siyu CompiledRuleSet.evaluateMany (worker thread, objects)', sBulk, 'profiles');
const colCity = traits.map((t) => t.city);
const colSpent = Float64Array.from(traits, (t) => t.total_spent);
const colAge = Float64Array.from(traits, (t) => t.age);
{
  const r = compiled.evaluateColumns({ city: colCity, total_spent: colSpent, age: colAge }, now);
  for (let i = 0; i < BULK; i++) assert.equal(r.matches[i] === 1, siyuBulk[i].target, `columns row ${i}`);
}
const sCols = measure(() => compiled.evaluateColumns({ city: colCity, total_spent: colSpent, age: colAge }, now), BULK);
report('siyu CompiledRuleSet.evaluateColumns (columns, sync)', sCols, 'profiles');
const jBulk = measure(() => {
  const out = new Array(BULK);
  for (let i = 0; i < BULK; i++) out[i] = jlRule(traits[i]);
  return out;
}, BULK);
report('json-logic-engine (compiled) loop', jBulk, 'profiles');
const gBulk = measure(() => {
  const out = new Array(BULK);
  for (let i = 0; i < BULK; i++) out[i] = evalCondition(traits[i], gbCondition);
  return out;
}, BULK);
report('@growthbook/growthbook evalCondition loop', gBulk, 'profiles');
// Dictionary-encoded strings (codes + values, the form Arrow dictionaries,
// categoricals and database enums already have): built once, as the columns
// above and json-logic's objects are.
const codes = Int32Array.from(traits, (t) => cities.indexOf(t.city));
const dictCols = { city: { codes, dictionary: cities }, total_spent: colSpent, age: colAge };
{
  const r = compiled.evaluateColumns(dictCols, now);
  for (let i = 0; i < BULK; i++) assert.equal(r.matches[i] === 1, siyuBulk[i].target, `dictionary row ${i}`);
}
const sDict = measure(() => compiled.evaluateColumns(dictCols, now), BULK);
report('siyu evaluateColumns (dictionary strings, sync)', sDict, 'profiles');
// The same, counting the dictionary encoding of a string array in each call.
const encode = (strings) => {
  const index = new Map();
  const dictionary = [];
  const out = new Int32Array(strings.length);
  for (let i = 0; i < strings.length; i++) {
    const v = strings[i];
    let k = index.get(v);
    if (k === undefined) {
      k = dictionary.length;
      index.set(v, k);
      dictionary.push(v);
    }
    out[i] = k;
  }
  return { codes: out, dictionary };
};
const sDictEnc = measure(() => compiled.evaluateColumns({ city: encode(colCity), total_spent: colSpent, age: colAge }, now), BULK);
report('siyu evaluateColumns (dictionary encoded per call, sync)', sDictEnc, 'profiles');
ratio('siyu evaluateMany / json-logic-engine bulk (target > 1)', sBulk, jBulk);
ratio('siyu evaluateMany / growthbook bulk (target > 1)', sBulk, gBulk);
ratio('siyu evaluateColumns / json-logic-engine bulk (target > 1)', sCols, jBulk);
ratio('siyu evaluateColumns / growthbook bulk (target > 1)', sCols, gBulk);
ratio('siyu evaluateColumns (dictionary) / json-logic-engine bulk (target > 1)', sDict, jBulk);
ratio('siyu evaluateColumns (dictionary) / growthbook bulk (target > 1)', sDict, gBulk);
ratio('siyu evaluateColumns (dictionary encoded per call) / json-logic-engine bulk', sDictEnc, jBulk);
ratio('siyu evaluateColumns (dictionary encoded per call) / growthbook bulk', sDictEnc, gBulk);

// ---------------------------------------------------------------- large bulk
// BENCH_LARGE profiles (default 1,000,000) in one call; json-logic and
// GrowthBook loop over prebuilt objects, siyu reads prebuilt columns.
const LARGE = Number(process.env.BENCH_LARGE || 1000000);
if (LARGE > 0) {
  console.log(`\n# bulk: ${LARGE} profiles per call`);
  const big = Array.from({ length: LARGE }, (_, i) => ({ city: cities[i % 4], total_spent: (i * 37) % 1200, age: 18 + (i % 50) }));
  const bigCols = {
    city: { codes: Int32Array.from(big, (t) => cities.indexOf(t.city)), dictionary: cities },
    total_spent: Float64Array.from(big, (t) => t.total_spent),
    age: Float64Array.from(big, (t) => t.age),
  };
  const bigStrings = big.map((t) => t.city);
  {
    const r = compiled.evaluateColumns(bigCols, now);
    for (let i = 0; i < LARGE; i += 997) assert.equal(r.matches[i] === 1, jlRule(big[i]), `large row ${i}`);
  }
  const threads = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const lDict = measure(() => compiled.evaluateColumns(bigCols, now), LARGE);
  report('siyu evaluateColumns (dictionary strings, sync, 1 thread)', lDict, 'profiles');
  const lDictT = measure(() => compiled.evaluateColumns(bigCols, now, null, { threads }), LARGE);
  report(`siyu evaluateColumns (dictionary strings, sync, ${threads} threads)`, lDictT, 'profiles');
  const lEnc = measure(() => compiled.evaluateColumns({ ...bigCols, city: encode(bigStrings) }, now), LARGE);
  report('siyu evaluateColumns (dictionary encoded per call, 1 thread)', lEnc, 'profiles');
  const lJ = measure(() => {
    const out = new Array(LARGE);
    for (let i = 0; i < LARGE; i++) out[i] = jlRule(big[i]);
    return out;
  }, LARGE);
  report('json-logic-engine (compiled) loop', lJ, 'profiles');
  const lG = measure(() => {
    const out = new Array(LARGE);
    for (let i = 0; i < LARGE; i++) out[i] = evalCondition(big[i], gbCondition);
    return out;
  }, LARGE);
  report('@growthbook/growthbook evalCondition loop', lG, 'profiles');
  ratio('siyu evaluateColumns (dictionary, 1 thread) / json-logic-engine (target > 1)', lDict, lJ);
  ratio('siyu evaluateColumns (dictionary, 1 thread) / growthbook (target > 1)', lDict, lG);
  ratio(`siyu evaluateColumns (dictionary, ${threads} threads) / json-logic-engine`, lDictT, lJ);
  ratio('siyu evaluateColumns (dictionary encoded per call) / json-logic-engine', lEnc, lJ);
  ratio('siyu evaluateColumns (dictionary encoded per call) / growthbook', lEnc, lG);
}
