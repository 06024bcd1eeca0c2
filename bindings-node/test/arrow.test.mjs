// Bulk evaluation over Arrow IPC buffers produced by the `apache-arrow` npm
// package (node --test). Verdicts are checked against the row API (`evaluate`)
// on the same profiles and events, so both paths must give the same answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tableFromArrays,
  tableToIPC,
  tableFromIPC,
  vectorFromArray,
  makeTable,
  Int32,
  Float64,
  Utf8,
  TimestampMillisecond,
} from 'apache-arrow';
import {
  CompiledRuleSet,
  TypeMismatchError,
  InvalidArgumentError,
  InvalidProfileError,
  UnknownTraitError,
} from '../index.mjs';

const schema = {
  traits: { city: 'string', age: 'integer' },
  events: { purchase: { properties: { amount: 'float' } }, page_viewed: {} },
};
const rules = [
  'segment buyer: count(purchase, within 30d) >= 1',
  'segment big_spender: sum(purchase.amount, within 30d) >= 100',
  'segment shanghai: city = "Shanghai"',
  'segment adult_viewer: age >= 18 and count(page_viewed) >= 1',
].join('\n');
const now = '2026-03-01T00:00:00Z';
const compiled = new CompiledRuleSet(rules, schema);

const profileRows = [
  { id: 'alice', traits: { city: 'Shanghai', age: 31 } },
  { id: 'bob', traits: { city: 'Beijing', age: 17 } },
  { id: 'carol', traits: { age: 40 } },
];
const eventRows = [
  { user_id: 'alice', id: 'e1', name: 'purchase', timestamp: '2026-02-20T10:00:00Z', amount: 80 },
  { user_id: 'alice', id: 'e2', name: 'purchase', timestamp: '2026-02-25T10:00:00Z', amount: 30 },
  { user_id: 'bob', id: 'e3', name: 'purchase', timestamp: '2025-12-01T10:00:00Z', amount: 500 },
  { user_id: 'bob', id: 'e4', name: 'page_viewed', timestamp: '2026-02-28T10:00:00Z', amount: null },
  { user_id: 'carol', id: 'e5', name: 'page_viewed', timestamp: '2026-02-28T11:00:00Z', amount: null },
  { user_id: 'nobody', id: 'e6', name: 'purchase', timestamp: '2026-02-28T11:00:00Z', amount: 1 },
];

function profilesTable() {
  return makeTable({
    id: vectorFromArray(profileRows.map((p) => p.id), new Utf8()),
    city: vectorFromArray(profileRows.map((p) => p.traits.city ?? null), new Utf8()),
    age: vectorFromArray(profileRows.map((p) => p.traits.age), new Int32()),
  });
}

function eventsTable() {
  return makeTable({
    user_id: vectorFromArray(eventRows.map((e) => e.user_id), new Utf8()),
    id: vectorFromArray(eventRows.map((e) => e.id), new Utf8()),
    name: vectorFromArray(eventRows.map((e) => e.name), new Utf8()),
    timestamp: vectorFromArray(eventRows.map((e) => Date.parse(e.timestamp)), new TimestampMillisecond()),
    amount: vectorFromArray(eventRows.map((e) => e.amount), new Float64()),
  });
}

// The row API's answer for every profile (the reference).
function expected() {
  return profileRows.map((p) => {
    const events = eventRows
      .filter((e) => e.user_id === p.id)
      .map((e) => ({
        id: e.id,
        name: e.name,
        timestamp: e.timestamp,
        properties: e.amount === null ? {} : { amount: e.amount },
      }));
    return compiled.evaluate(p, events, now);
  });
}

test('evaluateArrow (stream format) agrees with evaluate on every profile', async () => {
  const r = await compiled.evaluateArrow(tableToIPC(profilesTable(), 'stream'), tableToIPC(eventsTable(), 'stream'), now, {
    eventIdColumn: 'id',
  });
  assert.deepEqual(r.ids, ['alice', 'bob', 'carol']);
  assert.deepEqual(r.results, expected());
  assert.equal(r.unmatchedEvents, 1);
  // A sanity anchor independent of the reference path.
  assert.equal(r.results[0].big_spender, true);
  assert.equal(r.results[1].buyer, false);
  assert.equal(r.results[2].adult_viewer, true);
});

test('file format, typed-array tables and one thread give the same answer', async () => {
  const stream = await compiled.evaluateArrow(tableToIPC(profilesTable(), 'stream'), tableToIPC(eventsTable()), now, {
    eventIdColumn: 'id',
  });
  const file = await compiled.evaluateArrow(tableToIPC(profilesTable(), 'file'), tableToIPC(eventsTable(), 'file'), now, {
    eventIdColumn: 'id',
    threads: 1,
  });
  assert.deepEqual(file, stream);
  // tableFromArrays infers dictionary-encoded strings and float64 numbers:
  // integral floats are accepted for integer traits (as in Python).
  const inferred = tableFromArrays({ id: ['alice', 'bob', 'carol'], city: ['Shanghai', 'Beijing', null], age: [31, 17, 40] });
  const r = await compiled.evaluateArrow(tableToIPC(inferred), tableToIPC(eventsTable()), now, { eventIdColumn: 'id' });
  assert.deepEqual(r, stream);
});

test("output: 'arrow' returns an Arrow IPC table: id, then one boolean column per rule", async () => {
  const buf = await compiled.evaluateArrow(tableToIPC(profilesTable()), tableToIPC(eventsTable()), now, {
    eventIdColumn: 'id',
    output: 'arrow',
  });
  assert.ok(Buffer.isBuffer(buf));
  const table = tableFromIPC(buf);
  assert.deepEqual(table.schema.fields.map((f) => f.name), ['id', ...compiled.ruleNames]);
  assert.equal(table.schema.metadata.get('siyu.unmatched_events'), '1');
  const want = expected();
  const rows = table.toArray().map((row) => row.toJSON());
  assert.deepEqual(rows.map((row) => row.id), ['alice', 'bob', 'carol']);
  rows.forEach((row, i) => {
    for (const rule of compiled.ruleNames) assert.equal(row[rule], want[i][rule], `${row.id}.${rule}`);
  });
});

test('column mapping: {column: trait} objects, explicit lists, no events', async () => {
  const t = makeTable({
    user: vectorFromArray(['u1', 'u2'], new Utf8()),
    home_city: vectorFromArray(['Shanghai', 'Hangzhou'], new Utf8()),
    ignored: vectorFromArray(['x', 'y'], new Utf8()),
  });
  const r = await compiled.evaluateArrow(tableToIPC(t), null, now, { idColumn: 'user', traits: { home_city: 'city' } });
  assert.deepEqual(r.ids, ['u1', 'u2']);
  assert.deepEqual(r.results, [
    compiled.evaluate({ id: 'u1', traits: { city: 'Shanghai' } }, [], now),
    compiled.evaluate({ id: 'u2', traits: { city: 'Hangzhou' } }, [], now),
  ]);
  assert.equal(r.unmatchedEvents, 0);
});

test('a column of the wrong Arrow type is a TypeMismatchError naming the column', async () => {
  const t = makeTable({
    id: vectorFromArray(['a'], new Utf8()),
    age: vectorFromArray(['thirty'], new Utf8()),
  });
  await assert.rejects(compiled.evaluateArrow(tableToIPC(t), null, now), (e) => {
    assert.ok(e instanceof TypeMismatchError, String(e));
    assert.equal(e.code, 'TYPE_MISMATCH');
    assert.equal(e.path, 'profiles.age');
    assert.match(e.message, /column `age` of the profiles table/);
    return true;
  });
});

test('bad inputs reject with typed errors and paths', async () => {
  const t = tableToIPC(profilesTable());
  await assert.rejects(compiled.evaluateArrow(Buffer.from('not arrow at all'), null, now), (e) => {
    assert.ok(e instanceof InvalidArgumentError, String(e));
    assert.equal(e.path, 'profiles');
    return true;
  });
  await assert.rejects(compiled.evaluateArrow(t, null, now, { traits: ['citty'] }), (e) => {
    assert.ok(e instanceof InvalidArgumentError, String(e));
    assert.equal(e.path, 'profiles.citty');
    assert.equal(e.suggestion, 'city');
    return true;
  });
  const unknown = makeTable({ id: vectorFromArray(['a'], new Utf8()), height: vectorFromArray([1.8], new Float64()) });
  await assert.rejects(compiled.evaluateArrow(tableToIPC(unknown), null, now), UnknownTraitError);
  await assert.rejects(compiled.evaluateArrow('nope', null, now), InvalidArgumentError);
  await assert.rejects(compiled.evaluateArrow(t, null, now, { output: 'csv' }), InvalidArgumentError);
  await assert.rejects(compiled.evaluateArrow(t, null, now, { threads: 0 }), InvalidArgumentError);
});

test('timeZoneColumn: each profile is evaluated in its own zone; a bad zone names the column', async () => {
  // 20:00 UTC on 28 Feb is 04:00 on 1 Mar in Shanghai: "today" at `now` there, not in UTC.
  const c = new CompiledRuleSet('segment bought_today: count(purchase, during today) >= 1', schema);
  const ids = ['sh', 'utc', 'none'];
  const zones = ['Asia/Shanghai', 'UTC', null];
  const at = '2026-02-28T20:00:00Z';
  const events = makeTable({
    user_id: vectorFromArray(ids, new Utf8()),
    name: vectorFromArray(ids.map(() => 'purchase'), new Utf8()),
    timestamp: vectorFromArray(ids.map(() => at), new Utf8()),
  });
  const profiles = makeTable({ id: vectorFromArray(ids, new Utf8()), tz: vectorFromArray(zones, new Utf8()) });
  const r = await c.evaluateArrow(tableToIPC(profiles), tableToIPC(events), now, {
    timeZoneColumn: 'tz',
    defaultZone: 'Asia/Shanghai',
  });
  const want = ids.map((id, i) =>
    c.evaluate({ id, ...(zones[i] ? { time_zone: zones[i] } : {}) }, [{ id: 'x', name: 'purchase', timestamp: at }], now, 'Asia/Shanghai'),
  );
  assert.deepEqual(r.results, want);
  assert.deepEqual(r.results.map((x) => x.bought_today), [true, false, true]);

  const bad = makeTable({ id: vectorFromArray(['a'], new Utf8()), tz: vectorFromArray(['Mars/Olympus'], new Utf8()) });
  await assert.rejects(c.evaluateArrow(tableToIPC(bad), null, now, { timeZoneColumn: 'tz' }), (e) => {
    assert.ok(e instanceof InvalidProfileError, String(e));
    assert.equal(e.path, 'profiles.tz');
    return true;
  });
});
