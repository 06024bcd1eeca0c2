// The compact effect transfer of `stepState` (ADR 0015) against the JSON path:
// every step of every journey conformance vector, plus non-ASCII strings, all
// effect kinds, keyed instances and a state larger than the scratch buffer, is
// run through `stepState` and `stepBytes` (whose effects and notices are the
// core's JSON text, parsed), and the results must be identical — the same
// state bytes, the same effects and notices (deep-equal and in the same key
// order), the same wake-up and the same errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JourneyEngine, journeys } from '../index.mjs';
import { parseLossless, stringifyLossless } from './conformance.test.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const vectorDir = path.resolve(here, '..', '..', 'conformance', 'journey');
const doc = (v) => (typeof v === 'string' ? v : v === undefined ? undefined : stringifyLossless(v));
const field = (file, c, key) => (key in c ? c[key] : file[key]);

/** `now` as a JS time value when it is one exactly (at most millisecond precision), else NaN. */
function timeValue(now) {
  if (typeof now !== 'string') return Number.NaN;
  const frac = /\.(\d+)/.exec(now);
  if (frac && frac[1].replace(/0+$/, '').length > 3) return Number.NaN;
  return Date.parse(now);
}

const errorOf = (fn) => {
  try {
    return { value: fn() };
  } catch (e) {
    return { error: e };
  }
};

/** What each path saw, for the coverage check. */
const seen = { effects: new Set(), notices: new Set(), keyed: 0, compared: 0, errors: 0 };
/** Every state stepState returned, with a copy of stepBytes' state: later calls must not overwrite them. */
const kept = [];

/**
 * Steps one user through both paths: `steps` are `{ now, input?, profile? }`.
 * `subjectFor(profile, history)` makes the subject (cached per profile and history).
 */
function compareRun(engine, profile, history, state, steps, at) {
  let bytes = state === null || state === undefined ? null : journeys.encodeState(doc(state));
  // stepState is fed its own last state (a view of its scratch arena), stepBytes its own.
  let lean = bytes;
  steps.forEach((step, i) => {
    const where = `${at} steps[${i}]`;
    if (step.profile !== undefined) profile = doc(step.profile);
    const input = step.input ?? { type: 'tick' };
    const ms = timeValue(step.now);
    if (Number.isNaN(ms)) return;
    const a = errorOf(() => engine.stepBytes(bytes, profile, doc(history), doc(input), step.now));
    const subject = errorOf(() => engine.subject(profile, doc(history)));
    if (subject.error) {
      assert.ok(a.error, `${where}: the subject failed (${subject.error.message}) but stepBytes did not`);
      assert.equal(subject.error.code, a.error.code, where);
      return;
    }
    // A tick as nothing and as an input object (both are accepted).
    const given = input.type === 'tick' && i % 2 === 0 ? null : input;
    const b = errorOf(() => engine.stepState(lean, subject.value, given, ms));
    if (a.error || b.error) {
      assert.ok(a.error && b.error, `${where}: only one path failed: ${(a.error || b.error).message}`);
      assert.deepEqual(b.error.toJSON(), a.error.toJSON(), where);
      assert.equal(b.error.constructor, a.error.constructor, where);
      seen.errors += 1;
      return;
    }
    const x = a.value;
    const y = b.value;
    assert.deepEqual([...y.state], [...x.state], `${where}: state bytes`);
    kept.push([y.state, Buffer.from(x.state), where]);
    assert.deepEqual(y.effects, x.effects, `${where}: effects`);
    assert.deepEqual(y.notices, x.notices, `${where}: notices`);
    // The same key order too (what JSON.stringify of the result shows).
    assert.equal(JSON.stringify(y.effects), JSON.stringify(x.effects), `${where}: effect key order`);
    assert.equal(JSON.stringify(y.notices), JSON.stringify(x.notices), `${where}: notice key order`);
    if (x.nextWake === null) assert.equal(y.nextWake, null, where);
    else assert.equal(y.nextWake, Math.ceil(timeValue(x.nextWake)), `${where}: nextWake`);
    for (const e of y.effects) {
      seen.effects.add(e.type);
      if (e.key !== undefined) seen.keyed += 1;
    }
    for (const n of y.notices) seen.notices.add(n.type);
    seen.compared += 1;
    if (input.type === 'event') history.push(input.event);
    bytes = x.state;
    lean = y.state;
  });
}

test('stepState gives what stepBytes gives on every journey vector', () => {
  const files = fs.readdirSync(vectorDir).filter((f) => f.endsWith('.json')).sort();
  let cases = 0;
  for (const f of files) {
    const file = parseLossless(fs.readFileSync(path.join(vectorDir, f), 'utf8'));
    (file.cases ?? []).forEach((c, i) => {
      if ((field(file, c, 'op') ?? 'run') !== 'run' || c.steps === undefined) return;
      let engine;
      try {
        engine = new JourneyEngine(doc(field(file, c, 'journeys') ?? []), {
          schema: doc(field(file, c, 'schema') ?? {}),
          policies: doc(field(file, c, 'policies')),
        });
      } catch {
        return; // an engine error case: no step runs
      }
      const state = field(file, c, 'state') ?? null;
      let stateOk = true;
      if (state !== null) {
        try {
          journeys.encodeState(doc(state));
        } catch {
          stateOk = false; // the vector checks an invalid stored state (JSON form only)
        }
      }
      if (!stateOk) return;
      compareRun(engine, doc(field(file, c, 'profile') ?? { id: 'u1' }), [...(field(file, c, 'events') ?? [])], state, c.steps, `${f} case ${i} (${c.name ?? ''})`);
      cases += 1;
    });
  }
  assert.ok(cases > 100, `only ${cases} cases ran`);
  assert.ok(seen.compared > 200, `only ${seen.compared} steps compared`);
  for (const t of ['send_message', 'update_tags', 'set_traits', 'create_task', 'call_host']) assert.ok(seen.effects.has(t), `no ${t} effect was compared`);
  for (const t of ['entered', 'entry_skipped', 'completed', 'converted', 'exited', 'suppressed', 'deferred', 'skipped', 'assigned', 'duplicate', 'clock_clamped']) {
    assert.ok(seen.notices.has(t), `no ${t} notice was compared`);
  }
  assert.ok(seen.keyed > 0, 'no keyed effect was compared');
  assert.ok(seen.errors > 0, 'no error was compared');
});

// Non-ASCII ids, templates, tags, keys and event ids; every action; two engines
// stepping in turn (each has its own string table); a state larger than the
// scratch buffer (many keyed instances) so the call is repeated with a larger one.
const schema = { events: { purchase: { properties: { order_id: 'string' } } }, traits: { city: 'string', tier: 'integer' } };
const profile = {
  id: 'u-ü',
  time_zone: 'Asia/Shanghai',
  consents: [{ channel: '微信', purpose: 'marketing', status: 'granted', at: '2026-01-01T00:00:00Z' }],
};
const unicodeJourney = (id) => ({
  id,
  version: 1,
  trigger: { type: 'event', event: 'purchase' },
  reentry: { mode: 'concurrent', key: 'order_id' },
  nodes: [
    { id: 'wait', type: 'wait', duration: '1d', next: 'msg' },
    { id: 'msg', type: 'message', channel: '微信', template: '模板😀', purpose: 'marketing', next: 'tags' },
    { id: 'tags', type: 'tags', add: ['新客', 'vip'], remove: ['lead'], next: 'traits' },
    { id: 'traits', type: 'set_traits', traits: { city: '杭州', tier: 2 }, next: 'task' },
    { id: 'task', type: 'task', assignee: '店员', template: 'call_back', next: 'call' },
    { id: 'call', type: 'call', action: 'grant_coupon', params: { coupon: 'X-ü' }, next: 'bye' },
    { id: 'bye', type: 'message', channel: '微信', template: 'bye', purpose: 'marketing' },
  ],
});

test('stepState agrees on non-ASCII strings, every action, two engines and a large state', () => {
  const engines = ['j1', 'j2'].map((id) => new JourneyEngine([unicodeJourney(id)], { schema }));
  const day = 86400000;
  const t0 = Date.parse('2026-03-02T02:00:00Z');
  const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
  const steps = [];
  for (let k = 0; k < 60; k++) {
    const at = iso(t0 + k * 60000);
    steps.push({ now: at, input: { type: 'event', event: { id: `购买-${k}`, name: 'purchase', timestamp: at, properties: { order_id: `订单-${k}-${'长'.repeat(16)}` } } } });
  }
  for (let d = 1; d <= 4; d++) steps.push({ now: iso(t0 + d * day + 3600000) });
  const before = seen.compared;
  engines.forEach((e, i) => compareRun(e, JSON.stringify(profile), [], null, steps, `engine ${i}`));
  // Interleaved: each engine's table stays its own.
  for (let k = 0; k < 3; k++) engines.forEach((e, i) => compareRun(e, JSON.stringify(profile), [], null, steps.slice(0, 2).concat(steps.slice(-1)), `interleaved ${k}/${i}`));
  assert.equal(seen.compared - before, 2 * steps.length + 3 * 2 * 3);
  // The state did outgrow the 4096-byte scratch buffer.
  const subject = engines[0].subject(JSON.stringify(profile), []);
  let state = null;
  for (const s of steps.slice(0, 60)) state = engines[0].stepState(state, subject, s.input, Date.parse(s.now)).state;
  assert.ok(state.length > 4096, `state is only ${state.length} bytes`);
  const fired = engines[0].stepState(state, subject, null, t0 + 2 * day);
  assert.equal(fired.effects.filter((e) => e.template === '模板😀' && e.channel === '微信' && e.key.startsWith('订单-')).length > 0, true);
});

test('stepState agrees on the example journeys (core/journeys) over 40 days', () => {
  const dir = path.resolve(here, '..', '..', 'core', 'journeys');
  const names = fs.readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'schema.json').sort();
  assert.ok(names.length >= 6);
  const defs = names.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
  const engine = new JourneyEngine(defs, {
    schema: fs.readFileSync(path.join(dir, 'schema.json'), 'utf8'),
    policies: { default_zone: 'Asia/Shanghai', caps: [{ channel: '*', per_day: 2 }], quiet_hours: { start: '22:00', end: '08:00' } },
  });
  const consents = ['wechat', 'wechat_group', 'sms', 'app_push', 'email'].flatMap((channel) =>
    ['marketing', 'service'].map((purpose) => ({ channel, purpose, status: 'granted', at: '2026-01-01T00:00:00Z' })),
  );
  const t0 = Date.parse('2026-03-02T01:00:00Z');
  const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
  const hour = 3600000;
  const ev = (id, name, h, properties) => ({ now: iso(t0 + h * hour), input: { type: 'event', event: { id, name, timestamp: iso(t0 + h * hour), properties } } });
  const steps = [
    ev('e1', 'friend_added', 0, { channel: 'wechat' }),
    ev('e2', 'page_viewed', 1, { category: 'children_furniture' }),
    ev('e3', 'group_joined', 2, { group_id: 'g1' }),
    ev('e4', 'purchase', 3, { order_id: 'o1', category: 'milk_powder', amount: 300 }),
    ev('e4', 'purchase', 3.5, { order_id: 'o1', category: 'milk_powder', amount: 300 }), // a duplicate
    ev('e5', 'purchase', 30, { order_id: 'o2', category: 'milk_powder', amount: 280 }),
    { now: iso(t0 + 31 * hour), input: { type: 'profile_changed' } },
    ev('e6', 'message_replied', 50, { channel: 'wechat' }),
    ev('e7', 'group_message', 70, { group_id: 'g1' }),
  ];
  for (let h = 6; h <= 40 * 24; h += 5) steps.push({ now: iso(t0 + h * hour) });
  steps.sort((a, b) => Date.parse(a.now) - Date.parse(b.now));
  const profile = {
    id: 'u1',
    time_zone: 'Asia/Shanghai',
    traits: { last_interaction_at: '2026-02-01T00:00:00Z', baby_birth_date: '2025-10-01', city: 'Shanghai' },
    scores: { churn_risk: 0.9 },
    consents,
  };
  const before = seen.compared;
  compareRun(engine, JSON.stringify(profile), [], null, steps, 'examples');
  assert.equal(seen.compared - before, steps.length);
});

test('returned states stay intact across later calls (they are views of replaced arenas)', () => {
  assert.ok(kept.length > 300, `only ${kept.length} states kept`);
  assert.ok(new Set(kept.map(([s]) => s.buffer)).size > 2, 'the states all came from one arena');
  for (const [state, copy, where] of kept) assert.ok(state.equals(copy), `${where}: the state changed after it was returned`);
});
