// Node conformance runner: runs every vector under conformance/ (and the
// folders in SIYU_EXTRA_VECTORS, colon-separated) through the public API of
// the npm package and prints `conformance[node]: N passed, M failed`.
// The vector format is in conformance/README.md; the matcher mirrors
// core/tests/conformance/support.rs. Vectors hold the core's JSON forms, so the
// runner calls the raw `*Json` method wherever the package's default result has
// camelCase keys (ADR 0005); test/envelopes.test.mjs checks the two agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as siyu from '../index.mjs';

// The API the runner calls: the package, or a wrapper of it (test/envelopes.test.mjs
// runs the vectors through one that also checks every camelCase view).
let Schema, RuleSet, CompiledRuleSet, Lifecycle, TagRules, rfm, PointsModel, clv, analytics, JourneyEngine, journeys, parseZone;
const { SiyuError } = siyu;
function useApi(api) {
  ({ Schema, RuleSet, CompiledRuleSet, Lifecycle, TagRules, rfm, PointsModel, clv, analytics, JourneyEngine, journeys, parseZone } = api);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', 'conformance');

function collect(dir, out) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    console.error(`warning: cannot read vector folder ${dir}`);
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'schema') collect(p, out);
    } else if (e.name.endsWith('.json')) {
      out.push(p);
    }
  }
}

function vectorFiles() {
  const dirs = [root, ...(process.env.SIYU_EXTRA_VECTORS || '').split(':').filter(Boolean)];
  const files = [];
  for (const d of dirs) collect(d, files);
  return files.sort();
}

/** Subset matcher: see conformance/README.md. */
export function matches(expected, actual, tolerance, at) {
  if (actual === undefined) actual = null;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) throw new Error(`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    if (expected.length !== actual.length) {
      throw new Error(`${at}: expected ${expected.length} items, got ${actual.length}: ${JSON.stringify(actual)}`);
    }
    expected.forEach((e, i) => matches(e, actual[i], tolerance, `${at}[${i}]`));
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      throw new Error(`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
    for (const [k, v] of Object.entries(expected)) matches(v, actual[k], tolerance, `${at}.${k}`);
    return;
  }
  if (typeof expected === 'number' && typeof actual === 'number') {
    const tol = tolerance * Math.max(Math.abs(expected), 1);
    if (Math.abs(expected - actual) <= tol) return;
    throw new Error(`${at}: expected ${expected}, got ${actual}`);
  }
  if (expected === actual) return;
  throw new Error(`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

// Integers beyond 2^53 (e.g. i64 extremes in literal vectors) would lose
// precision in JS numbers. The runner reads vectors and results losslessly:
// such literals become marker strings, compared exactly and written back as
// the original digits when a document goes to the API.
const BIG = '\u0000bigint:';
const TOKENS = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
export function parseLossless(text) {
  return JSON.parse(
    text.replace(TOKENS, (tok) => (tok[0] !== '"' && /^-?\d+$/.test(tok) && !Number.isSafeInteger(Number(tok)) ? JSON.stringify(BIG + tok) : tok)),
  );
}
export function stringifyLossless(value) {
  return JSON.stringify(value).replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}
/** A document for the API: strings pass through (DSL or JSON text), values are written losslessly. */
const doc = (v) => (typeof v === 'string' ? v : v === undefined ? undefined : stringifyLossless(v));

const field = (file, c, key) => (key in c ? c[key] : file[key]);
const toleranceOf = (file, c) => c.tolerance ?? file.tolerance ?? 1e-9;

function checkError(expected, err) {
  if (!(err instanceof SiyuError)) throw new Error(`expected a SiyuError, got ${err && err.stack}`);
  try {
    matches(expected, err.toJSON(), 0, 'error');
  } catch (m) {
    throw new Error(`${m.message} (error was: ${err.code}: ${err.message})`);
  }
}

/** Runs `op`; with `expect_error` it must throw a matching SiyuError. */
function expectOutcome(file, c, op) {
  const expectErr = c.expect_error;
  let result;
  try {
    result = op();
  } catch (e) {
    if (expectErr === undefined) throw e instanceof SiyuError ? new Error(`unexpected error: ${JSON.stringify(e)}`) : e;
    checkError(expectErr, e);
    return;
  }
  if (expectErr !== undefined) throw new Error(`expected error ${JSON.stringify(expectErr)}, got success`);
  matches(c.expect, result, toleranceOf(file, c), 'result');
}

/** The case's schema (absent: the empty schema). */
function schemaOf(file, c) {
  return new Schema(doc(field(file, c, 'schema') ?? {}));
}

function ruleSetOf(rules) {
  return typeof rules === 'string' ? RuleSet.parse(rules) : RuleSet.fromJson(doc(rules));
}

const kinds = {
  segment(file, c) {
    let explanations;
    expectOutcome(file, c, () => {
      const compiled = new CompiledRuleSet(ruleSetOf(field(file, c, 'rules')), schemaOf(file, c));
      const profile = doc(field(file, c, 'profile') ?? { id: 'p' });
      const events = doc(field(file, c, 'events') ?? []);
      const now = field(file, c, 'now');
      const zone = field(file, c, 'default_zone') ?? undefined;
      const verdicts = compiled.evaluate(profile, events, now, zone);
      if (c.explain) {
        explanations = {};
        for (const rule of Object.keys(c.explain)) explanations[rule] = compiled.explain(rule, profile, events, now, zone);
      }
      return verdicts;
    });
    if (c.explain && c.expect_error === undefined) matches(c.explain, explanations, toleranceOf(file, c), 'explain');
  },
  rules_text(file, c) {
    expectOutcome(file, c, () => {
      const text = field(file, c, 'text');
      const rs = text !== undefined && text !== null ? RuleSet.parse(text) : RuleSet.fromJson(doc(field(file, c, 'json')));
      const printed = rs.toText();
      // Printing is lossless and stable whatever the case expects.
      const reparsed = RuleSet.parse(printed);
      if (reparsed.toJson() !== rs.toJson()) throw new Error(`printed text parses to a different tree:\n${printed}`);
      if (reparsed.toText() !== printed) throw new Error(`printing is not stable:\n${printed}`);
      // The expected document must describe exactly this tree.
      if (c.expect && c.expect.json !== undefined && RuleSet.fromJson(doc(c.expect.json)).toJson() !== rs.toJson()) {
        throw new Error(`expected json describes a different tree than the parsed one: ${rs.toJson()}`);
      }
      return { json: parseLossless(rs.toJson()), text: printed };
    });
  },
  merge(file, c) {
    expectOutcome(file, c, () =>
      schemaOf(file, c).mergeProfilesJson({
        primary: doc(field(file, c, 'primary')),
        secondary: doc(field(file, c, 'secondary')),
        primaryEvents: doc(field(file, c, 'primary_events') ?? []),
        secondaryEvents: doc(field(file, c, 'secondary_events') ?? []),
        policy: doc(field(file, c, 'policy')),
      }),
    );
  },
  erasure(file, c) {
    expectOutcome(file, c, () =>
      schemaOf(file, c).eraseJson({
        profile: doc(field(file, c, 'profile')),
        events: doc(field(file, c, 'events') ?? []),
        request: doc(field(file, c, 'request')),
      }),
    );
  },
  lifecycle(file, c) {
    expectOutcome(file, c, () => {
      const schemaDoc = field(file, c, 'schema');
      const schema = schemaDoc === undefined || schemaDoc === 'default' ? Schema.lifecycleDefault() : new Schema(doc(schemaDoc));
      const model = field(file, c, 'model');
      const lc = new Lifecycle(model === undefined || model === 'default' ? undefined : doc(model), schema);
      const op = field(file, c, 'op') ?? 'evaluate';
      const zone = field(file, c, 'default_zone') ?? undefined;
      const profile = doc(field(file, c, 'profile') ?? { id: 'u1' });
      const events = doc(field(file, c, 'events') ?? []);
      if (op === 'compile') return { stages: lc.ruleNames };
      if (op === 'evaluate') {
        const o = lc.evaluate(profile, events, field(file, c, 'now'), { previous: doc(field(file, c, 'previous') ?? undefined), defaultZone: zone });
        return { stage: o.state.stage, since: o.state.since, matched: o.matched, rule: o.rule, reason: o.reason, held: o.held, transition: o.transition };
      }
      if (op === 'replay') {
        const days = lc.replay(profile, events, field(file, c, 'from'), field(file, c, 'to'), { initial: doc(field(file, c, 'initial') ?? undefined), defaultZone: zone });
        return { stages: days.map((d) => d.stage), transitions: days.filter((d) => d.transition).map((d) => d.transition), days };
      }
      throw new Error(`unknown lifecycle op ${op}`);
    });
  },
  tags(file, c) {
    expectOutcome(file, c, () => {
      const schemaDoc = field(file, c, 'schema');
      const schema = schemaDoc === undefined || schemaDoc === 'default' ? Schema.lifecycleDefault() : new Schema(doc(schemaDoc));
      const tagRules = field(file, c, 'tag_rules');
      if (tagRules === undefined) throw new Error('case needs `tag_rules`');
      const rules = new TagRules(doc(tagRules), schema);
      let profile = doc(field(file, c, 'profile') ?? { id: 'u1' });
      const events = doc(field(file, c, 'events') ?? []);
      const zone = field(file, c, 'default_zone') ?? undefined;
      const steps = field(file, c, 'steps');
      const out = [];
      for (const now of steps ?? [field(file, c, 'now')]) {
        const r = rules.applyJson(profile, events, now, zone);
        profile = r.profile;
        const tags = profile.tags ?? [];
        const again = rules.applyJson(profile, events, now, zone);
        profile = again.profile;
        const empty = again.diff.added.length + again.diff.removed.length + again.diff.expired.length === 0;
        out.push({ ...r.diff, tag_names: tags.map((t) => t.name).sort(), tags, reapply_empty: empty });
      }
      return steps ? { steps: out } : out[0];
    });
  },
  rfm(file, c) {
    expectOutcome(file, c, () => {
      const schemaOf2 = () => {
        const d = field(file, c, 'schema');
        return d === undefined || d === 'default' ? Schema.lifecycleDefault() : new Schema(doc(d));
      };
      const req = (k) => {
        const v = field(file, c, k);
        if (v === undefined) throw new Error(`case needs \`${k}\``);
        return v;
      };
      const op = field(file, c, 'op') ?? '';
      if (op === 'values') {
        return { values: rfm.valuesJson(doc(field(file, c, 'events') ?? []), req('now'), { config: doc(field(file, c, 'config')), schema: schemaOf2() }) };
      }
      if (op === 'fit') return rfm.fit(field(file, c, 'method') ?? 'quantile', doc(req('population')));
      if (op === 'score') return { scores: rfm.score(doc(req('thresholds')), doc(req('values'))) };
      if (op === 'segment') return { segment: rfm.segment(doc(field(file, c, 'map')), doc(req('scores'))) };
      if (op === 'profile') {
        const schema = schemaOf2();
        const events = doc(field(file, c, 'events') ?? []);
        const out = rfm.applyJson(doc(field(file, c, 'profile') ?? { id: 'u1' }), events, req('now'), {
          thresholds: doc(req('thresholds')),
          config: doc(field(file, c, 'config')),
          map: doc(field(file, c, 'map')),
          group: field(file, c, 'group'),
          schema,
        });
        const rules = field(file, c, 'rules');
        if (out.values !== null && rules !== undefined) {
          const compiled = new CompiledRuleSet(typeof rules === 'string' ? RuleSet.parse(rules) : RuleSet.fromJson(doc(rules)), schema);
          out.rules = compiled.evaluate(out.profile, events, req('now'));
        }
        return out;
      }
      throw new Error(`unknown rfm op ${op}`);
    });
  },
  analytics(file, c) {
    expectOutcome(file, c, () => {
      // The request is the file's shared fields overlaid with the case's.
      const { cases: _cases, kind: _kind, ...shared } = file;
      const request = { ...shared, ...c };
      return analytics.runJson(field(file, c, 'op'), doc(request));
    });
  },
  clv(file, c) {
    expectOutcome(file, c, () => {
      const f = (k) => field(file, c, k);
      const op = f('op');
      // Vector documents go through parseLossless, so values are plain JSON here.
      switch (op) {
        case 'summarize':
        case 'calibration_holdout':
          return {
            customers: clv.summarize(f('transactions'), f('observation_end'), {
              calibrationEnd: op === 'calibration_holdout' ? f('calibration_end') ?? null : undefined,
              unit: f('unit'),
              zone: f('zone'),
              decimals: f('decimals'),
            }),
          };
        case 'fit':
          return clv.fitJson(f('model'), { frequency: f('frequency'), recency: f('recency'), T: f('T'), monetaryValue: f('monetary_value') }, { penalizer: f('penalizer') });
        case 'predict':
          return clv.predictJson(f('params'), f('t'), f('customers'));
        case 'spend':
          return clv.spendJson(f('params'), f('customers'));
        case 'clv':
          return { clv: clv.lifetimeValue(f('model'), f('customers'), { months: f('months'), discountRate: f('discount_rate'), unit: f('unit') }) };
        case 'model_document':
          return { document: clv.modelDocument(doc(f('document'))) };
        default:
          throw new Error(`unknown clv op ${op}`);
      }
    });
  },
  points(file, c) {
    expectOutcome(file, c, () => {
      const req = (k) => {
        const v = field(file, c, k);
        if (v === undefined) throw new Error(`case needs \`${k}\``);
        return v;
      };
      const schemaDoc = field(file, c, 'schema');
      const schema = schemaDoc === undefined || schemaDoc === 'default' ? Schema.lifecycleDefault() : new Schema(doc(schemaDoc));
      const model = field(file, c, 'model');
      const m = new PointsModel(model === undefined || model === 'default' ? undefined : doc(model), schema);
      const zone = field(file, c, 'zone') ?? undefined;
      if (zone !== undefined) parseZone(zone);
      const op = field(file, c, 'op') ?? '';
      const events = doc(field(file, c, 'events') ?? []);
      switch (op) {
        case 'model':
          return { valid: true };
        case 'ledger': {
          let ledger = doc(field(file, c, 'ledger') ?? null);
          const stepErrors = [];
          for (const step of field(file, c, 'steps') ?? []) {
            try {
              if (step.event !== undefined) ledger = m.applyEvent(ledger, doc(step.event), zone).ledger;
              else if (step.redeem !== undefined) ledger = m.redeem(ledger, step.redeem, step.at, step.reference ?? '').ledger;
              else if (step.expire !== undefined) ledger = m.expire(ledger, step.expire);
              else throw new Error(`unknown step ${JSON.stringify(step)}`);
              stepErrors.push(null);
            } catch (e) {
              if (!(e instanceof SiyuError)) throw e;
              stepErrors.push(e.code);
            }
          }
          return { ...m.summary(ledger, req('now')), step_errors: stepErrors };
        }
        case 'events': {
          const now = req('now');
          return m.summary(m.applyEvents(null, events, now, zone), now);
        }
        case 'tier': {
          let state = doc(field(file, c, 'initial') ?? null);
          let ledger = null;
          const out = [];
          for (const at of field(file, c, 'evaluations') ?? []) {
            ledger = m.applyEvents(ledger, events, at, zone);
            const o = m.evaluateTierJson(ledger, events, state, at);
            out.push(o);
            state = o.state;
          }
          return { evaluations: out };
        }
        case 'engagement':
          return { score: m.engagement(events, req('now')) };
        default:
          throw new Error(`unknown points op ${op}`);
      }
    });
  },
  journey(file, c) {
    const tol = toleranceOf(file, c);
    const op = field(file, c, 'op') ?? 'run';
    // The error JSON plus `reason`: the journey sub-code that prefixes the message.
    const errorJson = (e) => {
      const j = e.toJSON();
      const m = /^([a-z_]+): /.exec(e.message);
      if (m) j.reason = m[1];
      return j;
    };
    const matchErr = (expected, e, at = 'error') => {
      if (!(e instanceof SiyuError)) throw e;
      try {
        matches(expected, errorJson(e), 0, at);
      } catch (m) {
        throw new Error(`${m.message} (error was: ${e.code}: ${e.message})`);
      }
    };
    /** Runs fn; returns {value} on success, undefined when the expected error happened. */
    const expectErr = (fn) => {
      let value;
      try {
        value = fn();
      } catch (e) {
        if (c.expect_error === undefined) throw e instanceof SiyuError ? new Error(`unexpected error: ${e.code}: ${e.message}`) : e;
        matchErr(c.expect_error, e);
        return undefined;
      }
      if (c.expect_error !== undefined) throw new Error('expected an error, got success');
      return { value };
    };
    const engine = () =>
      new JourneyEngine(doc(field(file, c, 'journeys') ?? []), {
        schema: doc(field(file, c, 'schema') ?? {}),
        policies: doc(field(file, c, 'policies')),
      });
    const hex = (b) => Buffer.from(b).toString('hex');
    switch (op) {
      case 'validate': {
        if (c.journey === undefined) throw new Error('validate needs "journey"');
        const schemaDoc = field(file, c, 'schema');
        const r = expectErr(() => journeys.validateJson(doc(c.journey), schemaDoc === undefined ? undefined : doc(schemaDoc)));
        if (r) matches(c.expect ?? {}, r.value, tol, 'expect');
        return;
      }
      case 'engine': {
        const r = expectErr(() => engine().reportsJson());
        if (r) matches(c.expect ?? {}, { reports: r.value }, tol, 'expect');
        return;
      }
      case 'hash':
        matches(c.expect, { hash: journeys.hash(c.seed, c.value, c.version ?? 2) }, tol, 'expect');
        return;
      case 'encode': {
        const r = expectErr(() => {
          const bytes = journeys.encodeState(doc(c.state));
          const json = journeys.decodeState(bytes);
          if (hex(journeys.encodeState(json)) !== hex(bytes)) throw new Error('binary round trip changed the state');
          const instances = journeys.encodeInstances(doc(c.state)).map((b) => ({ bytes_hex: hex(b), size: b.length }));
          return { bytes_hex: hex(bytes), size: bytes.length, instances, json };
        });
        if (r) matches(c.expect, r.value, tol, 'expect');
        return;
      }
      case 'decode': {
        const r = expectErr(() => journeys.decodeState(Buffer.from(c.bytes_hex, 'hex')));
        if (r) matches(c.expect, { json: r.value }, tol, 'expect');
        return;
      }
      case 'migrate': {
        const e = engine();
        const r = expectErr(() => e.migrateJson(doc(c.state), doc(c.map), field(file, c, 'now'), { dryRun: c.dry_run === true }));
        if (r) matches(c.expect, r.value, tol, 'expect');
        return;
      }
      case 'run': {
        if (c.steps === undefined) {
          expectErr(engine);
          return;
        }
        const e = engine();
        let profile = doc(field(file, c, 'profile') ?? { id: 'u1' });
        const history = [...(field(file, c, 'events') ?? [])];
        let state = field(file, c, 'state') ?? null;
        c.steps.forEach((step, i) => {
          const at = (m) => new Error(`steps[${i}]: ${m}`);
          if (step.profile !== undefined) profile = doc(step.profile);
          const input = step.input ?? { type: 'tick' };
          let r;
          try {
            r = e.stepJson(doc(state), profile, doc(history), doc(input), step.now);
          } catch (err) {
            if (step.expect_error === undefined) throw at(`unexpected error: ${err.code}: ${err.message}`);
            matchErr(step.expect_error, err, `steps[${i}].error`);
            return;
          }
          if (step.expect_error !== undefined) throw at('expected an error, got success');
          if (input.type === 'event') history.push(input.event);
          const back = journeys.decodeState(journeys.encodeState(r.state));
          if (JSON.stringify(back) !== JSON.stringify(r.state)) throw at('state does not round-trip');
          const actual = { effects: r.effects, notices: r.notices, next_wake: r.next_wake, instances: r.state.instances ?? [], state: r.state };
          if (step.expect !== undefined) {
            try {
              matches(step.expect, actual, tol, 'expect');
            } catch (m) {
              throw at(m.message);
            }
          }
          state = r.state;
        });
        return;
      }
      default:
        throw new Error(`unknown journey op ${op}`);
    }
  },
  error(file, c) {
    if (c.expect_error === undefined) throw new Error('an error case needs expect_error');
    const op = field(file, c, 'op');
    const ops = {
      parse_rules: () => RuleSet.parse(field(file, c, 'text')),
      compile: () => new CompiledRuleSet(ruleSetOf(field(file, c, 'rules')), schemaOf(file, c)),
      profile: () => schemaOf(file, c).validateProfile(doc(field(file, c, 'profile'))),
      events: () => schemaOf(file, c).validateEvents(doc(field(file, c, 'events'))),
      zone: () => parseZone(field(file, c, 'zone')),
      schema: () => new Schema(doc(field(file, c, 'schema'))),
      explain: () => {
        const compiled = new CompiledRuleSet(ruleSetOf(field(file, c, 'rules')), schemaOf(file, c));
        return compiled.explain(field(file, c, 'rule') ?? '', { id: 'p' }, [], '2026-01-01T00:00:00Z');
      },
    };
    if (!ops[op]) throw new Error(`unknown error op ${JSON.stringify(op)}`);
    expectOutcome(file, c, ops[op]);
  },
};

export function runAll(api = siyu) {
  useApi(api);
  let passed = 0;
  let failed = 0;
  const failures = [];
  for (const p of vectorFiles()) {
    let file;
    try {
      file = parseLossless(fs.readFileSync(p, 'utf8'));
    } catch (e) {
      failed += 1;
      failures.push(`FAIL ${p}: not JSON: ${e.message}`);
      continue;
    }
    const cases = Array.isArray(file.cases) ? file.cases : [];
    if (cases.length === 0) {
      failed += 1;
      failures.push(`FAIL ${p}: no "cases"`);
    }
    const run = kinds[file.kind];
    cases.forEach((c, i) => {
      try {
        if (!run) throw new Error(`vector kind ${JSON.stringify(file.kind)} is not supported by the node runner`);
        run(file, c);
        passed += 1;
      } catch (e) {
        failed += 1;
        failures.push(`FAIL ${p} case ${i} (${c.name ?? ''}): ${e.message}`);
      }
    });
  }
  return { passed, failed, failures };
}

// Run (and print the count) only as a test file of its own, not when imported.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { passed, failed, failures } = runAll();
  for (const f of failures) console.error(f);
  console.log(`conformance[node]: ${passed} passed, ${failed} failed`);

  test('conformance vectors all pass', () => {
    assert.ok(passed > 0, 'no vectors ran');
    assert.equal(failed, 0, failures.slice(0, 20).join('\n'));
  });
}
