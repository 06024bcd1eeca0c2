'use strict';
// siyu for Node.js. The native addon (siyu.node, built from the siyu-node
// crate) is string-typed: JSON text in, JSON text out. This file is the whole
// JavaScript layer: it accepts plain objects or JSON strings, parses results
// into plain objects, and maps native errors to SiyuError subclasses. All
// behaviour lives in the Rust core.

const path = require('node:path');

const native = require(process.env.SIYU_NODE_ADDON || path.join(__dirname, 'siyu.node'));

const ERROR_MARK = 'SIYU_ERROR:';
const NATIVE = Symbol('siyu.native');
const RULE_NAMES = Symbol('siyu.ruleNames');
// A journey engine's reused output buffer for `stepState`.
const SCRATCH = Symbol('siyu.scratch');

/** Base class of every error siyu throws. */
class SiyuError extends Error {
  constructor(detail) {
    super(detail.message);
    this.name = new.target.name;
    this.code = detail.code;
    this.position = detail.position;
    this.path = detail.path;
    this.suggestion = detail.suggestion;
  }

  /** The error's JSON form (as the core writes it). */
  toJSON() {
    const out = { code: this.code, message: this.message };
    if (this.position !== undefined) out.position = this.position;
    if (this.path !== undefined) out.path = this.path;
    if (this.suggestion !== undefined) out.suggestion = this.suggestion;
    return out;
  }
}

// RULE_SYNTAX -> RuleSyntaxError: one subclass per stable core code.
function className(code) {
  return code.toLowerCase().split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join('') + 'Error';
}

const errorClasses = {};
for (const code of native.errorCodes()) {
  const name = className(code);
  // A named class expression per code, so stack traces and `err.name` read well.
  const cls = { [name]: class extends SiyuError {} }[name];
  Object.defineProperty(cls, 'code', { value: code, enumerable: true });
  errorClasses[code] = cls;
}

/** The error subclass for a stable code (SiyuError itself for unknown codes). */
function errorClassForCode(code) {
  return errorClasses[code] || SiyuError;
}

function makeError(detail) {
  const Cls = errorClassForCode(detail.code);
  return new Cls(detail);
}

function mapError(e) {
  if (e instanceof Error && typeof e.message === 'string' && e.message.startsWith(ERROR_MARK)) {
    try {
      return makeError(JSON.parse(e.message.slice(ERROR_MARK.length)));
    } catch (_) {
      return makeError({ code: 'INTERNAL', message: e.message });
    }
  }
  return e;
}

function call(fn) {
  try {
    return fn();
  } catch (e) {
    throw mapError(e);
  }
}

function invalidArgument(message, p) {
  return makeError({ code: 'INVALID_ARGUMENT', message, path: p });
}

// A definition or document given as JSON text or as a plain value.
function jsonText(value, what) {
  if (typeof value === 'string') return value;
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    throw invalidArgument(`${what} must be JSON text or a plain object`, what);
  }
  return JSON.stringify(value);
}

function instantText(now) {
  if (now instanceof Date) {
    if (Number.isNaN(now.getTime())) throw makeError({ code: 'INVALID_TIME', message: 'now is an invalid Date', path: 'now' });
    return now.toISOString();
  }
  if (typeof now === 'string') return now;
  throw invalidArgument('now must be an RFC 3339 string or a Date', 'now');
}

function zoneText(zone) {
  if (zone === undefined || zone === null) return undefined;
  if (typeof zone === 'string') return zone;
  throw invalidArgument('defaultZone must be a zone name string', 'defaultZone');
}

/** A schema: the traits, events and tag groups profiles may hold. */
class Schema {
  constructor(definition) {
    const text = jsonText(definition, 'schema');
    this[NATIVE] = call(() => native.Schema.fromJson(text));
  }

  static fromJson(definition) {
    return new Schema(definition);
  }

  /** The sample schema the default lifecycle model is written against. */
  static lifecycleDefault() {
    const schema = Object.create(Schema.prototype);
    schema[NATIVE] = call(() => native.Schema.lifecycleDefault());
    return schema;
  }

  toJson() {
    return this[NATIVE].toJson();
  }

  toObject() {
    return JSON.parse(this[NATIVE].toJson());
  }

  validateProfile(profile) {
    const text = jsonText(profile, 'profile');
    return JSON.parse(call(() => this[NATIVE].validateProfile(text)));
  }

  validateEvents(events) {
    const text = jsonText(events, 'events');
    return JSON.parse(call(() => this[NATIVE].validateEvents(text)));
  }

  mergeProfiles({ primary, secondary, primaryEvents, secondaryEvents, policy } = {}) {
    const args = [
      jsonText(primary, 'primary'),
      jsonText(primaryEvents ?? [], 'primaryEvents'),
      jsonText(secondary, 'secondary'),
      jsonText(secondaryEvents ?? [], 'secondaryEvents'),
      policy === undefined || policy === null ? undefined : jsonText(policy, 'policy'),
    ];
    return JSON.parse(call(() => this[NATIVE].mergeProfiles(...args)));
  }

  erase({ profile, events, request } = {}) {
    const args = [
      jsonText(profile, 'profile'),
      jsonText(events ?? [], 'events'),
      request === undefined || request === null ? undefined : jsonText(request, 'request'),
    ];
    return JSON.parse(call(() => this[NATIVE].erase(...args)));
  }
}

/** A parsed rule set (DSL text or JSON form), not yet compiled. */
class RuleSet {
  constructor(handle) {
    if (!handle || handle[NATIVE] === undefined) {
      throw invalidArgument('use RuleSet.parse(text) or RuleSet.fromJson(definition)');
    }
    this[NATIVE] = handle[NATIVE];
  }

  static parse(text) {
    if (typeof text !== 'string') throw invalidArgument('RuleSet.parse takes DSL text', 'text');
    return new RuleSet({ [NATIVE]: call(() => native.RuleSet.parse(text)) });
  }

  static fromJson(definition) {
    const text = jsonText(definition, 'rules');
    return new RuleSet({ [NATIVE]: call(() => native.RuleSet.fromJson(text)) });
  }

  get ruleNames() {
    return this[NATIVE].ruleNames();
  }

  toText() {
    return call(() => this[NATIVE].toText());
  }

  toJson() {
    return call(() => this[NATIVE].toJson());
  }

  toObject() {
    return JSON.parse(this.toJson());
  }
}

function asRuleSet(rules) {
  if (rules instanceof RuleSet) return rules;
  if (typeof rules === 'string') return RuleSet.parse(rules);
  return RuleSet.fromJson(rules);
}

function asSchema(schema) {
  return schema instanceof Schema ? schema : new Schema(schema);
}

/** A rule set compiled against a schema; evaluates profiles. Immutable. */
class CompiledRuleSet {
  constructor(rules, schema) {
    const r = asRuleSet(rules);
    const s = asSchema(schema);
    this[NATIVE] = call(() => native.CompiledRuleSet.compile(r[NATIVE], s[NATIVE]));
  }

  static compile(rules, schema) {
    return new CompiledRuleSet(rules, schema);
  }

  get ruleNames() {
    return this[NATIVE].ruleNames();
  }

  evaluate(profile, events, now, defaultZone) {
    const args = [jsonText(profile, 'profile'), jsonText(events ?? [], 'events'), instantText(now), zoneText(defaultZone)];
    return JSON.parse(call(() => this[NATIVE].evaluate(...args)));
  }

  explain(rule, profile, events, now, defaultZone) {
    if (typeof rule !== 'string') throw invalidArgument('explain takes a rule name first', 'rule');
    const args = [rule, jsonText(profile, 'profile'), jsonText(events ?? [], 'events'), instantText(now), zoneText(defaultZone)];
    return JSON.parse(call(() => this[NATIVE].explain(...args)));
  }

  /**
   * Evaluates profiles given as trait columns (no events): `{ name: Float64Array
   * | number[] | string[] | { codes: Int32Array, dictionary: string[] } }`, all
   * of one length (NaN / null / a negative code = missing). Returns
   * `{ rules, rows, matches: Uint8Array }` with `matches[row * rules.length + r]`
   * = 1 when rule `r` matched. No JSON on either side: the bulk fast path
   * (dictionary-encoded strings cross without a per-row conversion). Option
   * `threads` (default 1) splits the rows over that many threads.
   */
  evaluateColumns(columns, now, defaultZone, options) {
    if (columns === null || typeof columns !== 'object') throw invalidArgument('evaluateColumns takes an object of columns', 'columns');
    const numNames = [];
    const nums = [];
    const strNames = [];
    const strs = [];
    const dictNames = [];
    const dictCodes = [];
    const dictValues = [];
    let rows;
    for (const [name, col] of Object.entries(columns)) {
      let len;
      if (col instanceof Float64Array) {
        numNames.push(name);
        nums.push(col);
        len = col.length;
      } else if (Array.isArray(col)) {
        if (col.length > 0 && col.every((v) => typeof v === 'number')) {
          numNames.push(name);
          nums.push(Float64Array.from(col));
        } else {
          strNames.push(name);
          strs.push(col.map((v) => (v === null || v === undefined ? null : String(v))));
        }
        len = col.length;
      } else if (col !== null && typeof col === 'object' && col.codes instanceof Int32Array && Array.isArray(col.dictionary)) {
        dictNames.push(name);
        dictCodes.push(col.codes);
        dictValues.push(col.dictionary.map((v) => (v === null || v === undefined ? null : String(v))));
        len = col.codes.length;
      } else {
        throw invalidArgument(`column ${name} must be an array, a Float64Array or { codes: Int32Array, dictionary: string[] }`, `columns.${name}`);
      }
      if (rows === undefined) rows = len;
      if (len !== rows) throw invalidArgument(`column ${name} has ${len} rows, expected ${rows}`, `columns.${name}`);
    }
    rows = rows ?? 0;
    const threads = options?.threads;
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw invalidArgument('threads must be a positive integer', 'threads');
    const args = [rows, numNames, nums, strNames, strs, dictNames, dictCodes, dictValues, instantText(now), zoneText(defaultZone), threads];
    const bytes = call(() => this[NATIVE].evaluateColumns(...args));
    // Rule names are fixed at compile time: read them once.
    this[RULE_NAMES] ??= this.ruleNames;
    return { rules: [...this[RULE_NAMES]], rows, matches: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  }

  async evaluateMany(items, now, defaultZone) {
    if (!Array.isArray(items)) throw invalidArgument('evaluateMany takes an array of {profile, events}', 'items');
    const args = [JSON.stringify(items), instantText(now), zoneText(defaultZone)];
    let text;
    try {
      text = await this[NATIVE].evaluateMany(...args);
    } catch (e) {
      throw mapError(e);
    }
    return JSON.parse(text);
  }

  /**
   * Evaluates the profiles of an Arrow IPC buffer (stream or file format, e.g.
   * `tableToIPC(table)` from `apache-arrow`), with their events when given, on
   * worker threads. Columns map as in the Python bulk API (options `idColumn`,
   * `traits`, `timeZoneColumn`, `userIdColumn`, `eventNameColumn`,
   * `timestampColumn`, `eventIdColumn`, `properties`, `threads`). Resolves to
   * `{ ids, results, unmatchedEvents }` (`results[i]` is `{ rule: boolean }` for
   * `ids[i]`), or with `output: 'arrow'` to an Arrow IPC stream Buffer (the id
   * column, then one boolean column per rule).
   */
  async evaluateArrow(profiles, events, now, options = {}) {
    const o = options ?? {};
    if (o.output !== undefined && o.output !== 'objects' && o.output !== 'arrow') {
      throw invalidArgument("output must be 'objects' or 'arrow'", 'output');
    }
    const columns = JSON.stringify({
      id_column: o.idColumn,
      traits: o.traits,
      time_zone_column: o.timeZoneColumn,
      user_id_column: o.userIdColumn,
      event_name_column: o.eventNameColumn,
      timestamp_column: o.timestampColumn,
      event_id_column: o.eventIdColumn,
      properties: o.properties,
      threads: o.threads,
    });
    const args = [
      ipcBuffer(profiles, 'profiles'),
      events === undefined || events === null ? undefined : ipcBuffer(events, 'events'),
      instantText(now),
      zoneText(o.defaultZone),
      columns,
      o.output === 'arrow',
    ];
    let out;
    try {
      out = await this[NATIVE].evaluateArrow(...args);
    } catch (e) {
      throw mapError(e);
    }
    if (o.output === 'arrow') return out;
    const r = JSON.parse(out);
    return { ids: r.ids, results: r.results, unmatchedEvents: r.unmatched_events };
  }
}

// An Arrow IPC buffer: Buffer, Uint8Array or ArrayBuffer.
function ipcBuffer(bytes, what) {
  if (bytes instanceof ArrayBuffer) return Buffer.from(bytes);
  if (Buffer.isBuffer(bytes)) return bytes;
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw invalidArgument(`${what} must be an Arrow IPC buffer (Uint8Array, e.g. from tableToIPC)`, what);
}

/** A lifecycle model (stages with rules, dwell times, allowed transitions) compiled against a schema. */
class Lifecycle {
  constructor(model, schema) {
    const modelText = model === undefined || model === null || model === 'default' ? undefined : jsonText(model, 'model');
    const s = schema === undefined || schema === null ? Schema.lifecycleDefault() : asSchema(schema);
    this[NATIVE] = call(() => native.Lifecycle.compile(modelText, s[NATIVE]));
  }

  static compile(model, schema) {
    return new Lifecycle(model, schema);
  }

  get ruleNames() {
    return this[NATIVE].ruleNames();
  }

  evaluate(profile, events, now, options = {}) {
    const { previous, defaultZone } = options;
    const args = [
      jsonText(profile, 'profile'),
      jsonText(events ?? [], 'events'),
      instantText(now),
      previous === undefined || previous === null ? undefined : jsonText(previous, 'previous'),
      zoneText(defaultZone),
    ];
    return JSON.parse(call(() => this[NATIVE].evaluate(...args)));
  }

  replay(profile, events, from, to, options = {}) {
    const { initial, defaultZone } = options;
    if (typeof from !== 'string' || typeof to !== 'string') throw invalidArgument('replay takes dates as YYYY-MM-DD strings', 'from');
    const args = [
      jsonText(profile, 'profile'),
      jsonText(events ?? [], 'events'),
      from,
      to,
      zoneText(defaultZone),
      initial === undefined || initial === null ? undefined : jsonText(initial, 'initial'),
    ];
    return JSON.parse(call(() => this[NATIVE].replay(...args)));
  }
}

/** Tag rules (rule-owned tags with groups and TTLs) compiled against a schema. */
class TagRules {
  constructor(rules, schema) {
    const text = jsonText(rules, 'rules');
    const s = schema === undefined || schema === null ? Schema.lifecycleDefault() : asSchema(schema);
    this[NATIVE] = call(() => native.TagRules.compile(text, s[NATIVE]));
  }

  static compile(rules, schema) {
    return new TagRules(rules, schema);
  }

  /** Applies the rules at `now`: returns `{ diff: {added, removed, expired}, profile }` (the updated profile). */
  apply(profile, events, now, defaultZone) {
    const args = [jsonText(profile, 'profile'), jsonText(events ?? [], 'events'), instantText(now), zoneText(defaultZone)];
    return JSON.parse(call(() => this[NATIVE].apply(...args)));
  }
}

const optText = (v, what) => (v === undefined || v === null ? undefined : jsonText(v, what));
const schemaOrDefault = (schema) => (schema === undefined || schema === null ? Schema.lifecycleDefault() : asSchema(schema));
const mapText = (map) => (map === undefined || map === null ? undefined : typeof map === 'string' ? map : jsonText(map, 'map'));

/** RFM scoring: values, fitted thresholds, scores and segment maps. */
const rfm = Object.freeze({
  /** RFM values of an event log at `now`, or null without a qualifying purchase. */
  values(events, now, { config, schema } = {}) {
    const s = schemaOrDefault(schema);
    const args = [jsonText(events ?? [], 'events'), instantText(now), optText(config, 'config')];
    return JSON.parse(call(() => native.rfmValues(s[NATIVE], ...args)));
  },
  /** Fits thresholds to a population (`method`: 'quantile' | 'range' | 'fixed'). */
  fit(method, population) {
    const args = [String(method ?? 'quantile'), jsonText(population, 'population')];
    return JSON.parse(call(() => native.rfmFit(...args)));
  },
  /** Scores values with stored thresholds: [r, f, m]. */
  score(thresholds, values) {
    const args = [jsonText(thresholds, 'thresholds'), jsonText(values, 'values')];
    return JSON.parse(call(() => native.rfmScore(...args)));
  },
  /** The segment id of [r, f, m] in a map ('standard_11' (default), 'four_layer' or a map document), or null. */
  segment(map, scores) {
    const args = [mapText(map), jsonText(scores, 'scores')];
    return JSON.parse(call(() => native.rfmSegment(...args)));
  },
  /** Computes values, scores and segment and writes them into the profile (returned updated). */
  apply(profile, events, now, { thresholds, config, map, group, schema } = {}) {
    const s = schemaOrDefault(schema);
    const args = [
      jsonText(profile, 'profile'),
      jsonText(events ?? [], 'events'),
      instantText(now),
      jsonText(thresholds, 'thresholds'),
      optText(config, 'config'),
      mapText(map),
      group === undefined || group === null ? undefined : String(group),
    ];
    return JSON.parse(call(() => native.rfmApply(s[NATIVE], ...args)));
  },
});

function clvCall(fn, request) {
  const text = stringifyRequest(request);
  return JSON.parse(call(() => fn(text)));
}

// Drops undefined fields (JSON.stringify does) so absent options stay absent.
function stringifyRequest(request) {
  return JSON.stringify(request);
}

/** Customer-value models: summaries, BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma, CLV. */
const clv = Object.freeze({
  /** Per-customer frequency/recency/T/monetary value from transactions (`calibrationEnd` splits calibration/holdout). */
  summarize(transactions, observationEnd, { calibrationEnd, unit, zone, decimals } = {}) {
    return clvCall(native.clvSummarize, {
      transactions,
      observation_end: observationEnd,
      calibration_end: calibrationEnd,
      unit,
      zone,
      decimals,
    });
  },
  /** Fits 'bgnbd' | 'mbgnbd' | 'paretonbd' (frequency, recency, T) or 'gammagamma' (frequency, monetaryValue). */
  fit(model, { frequency, recency, T, monetaryValue } = {}, { penalizer } = {}) {
    return clvCall(native.clvFit, { model, frequency, recency, T, monetary_value: monetaryValue, penalizer });
  },
  /** P(alive), conditional expected purchases and log-likelihood per customer, and expected purchases at `t`. */
  predict(params, t, customers) {
    return clvCall(native.clvPredict, { params, t, customers });
  },
  /** Gamma-Gamma expected average value per customer and the mean spend. */
  spend(params, customers) {
    return clvCall(native.clvSpend, { params, customers });
  },
  /** Discounted customer lifetime value per customer over `months`. */
  lifetimeValue(model, customers, { months, discountRate, unit } = {}) {
    return clvCall(native.clvLifetimeValue, { model, customers, months, discount_rate: discountRate, unit });
  },
  /** Validates and normalises a value-model document. */
  modelDocument(document) {
    const text = jsonText(document, 'document');
    return JSON.parse(call(() => native.clvModelDocument(text)));
  },
});

/**
 * A points model (earn rules, caps, expiry, levels, tiers, engagement). Ledgers
 * are plain JSON documents you persist: each method takes one and returns the
 * new one; a failed call throws and changes nothing.
 */
class PointsModel {
  constructor(model, schema) {
    const modelText = model === undefined || model === null || model === 'default' ? undefined : jsonText(model, 'model');
    const s = schemaOrDefault(schema);
    this[NATIVE] = call(() => native.PointsModel.create(modelText, s[NATIVE]));
  }

  /** Earns points for one event: `{ ledger, entries }`. */
  applyEvent(ledger, event, zone) {
    const args = [optText(ledger, 'ledger'), jsonText(event, 'event'), zoneText(zone)];
    return JSON.parse(call(() => this[NATIVE].applyEvent(...args)));
  }

  /** Earns points for every event at or before `now` not yet applied, then expires lots; returns the ledger. */
  applyEvents(ledger, events, now, zone) {
    const args = [optText(ledger, 'ledger'), jsonText(events ?? [], 'events'), instantText(now), zoneText(zone)];
    return JSON.parse(call(() => this[NATIVE].applyEvents(...args)));
  }

  /** Redeems points: `{ ledger, entry }`. */
  redeem(ledger, points, at, reference = '') {
    if (!Number.isInteger(points)) throw invalidArgument('points must be an integer', 'points');
    const args = [optText(ledger, 'ledger'), points, instantText(at), String(reference)];
    return JSON.parse(call(() => this[NATIVE].redeem(...args)));
  }

  /** Expires lots due at or before `now`; returns the ledger. */
  expire(ledger, now) {
    const args = [optText(ledger, 'ledger'), instantText(now)];
    return JSON.parse(call(() => this[NATIVE].expire(...args)));
  }

  /** `{ balance, lifetime, level, benefits, entries, lots }` at `now`. */
  summary(ledger, now) {
    const args = [optText(ledger, 'ledger'), instantText(now)];
    return JSON.parse(call(() => this[NATIVE].summary(...args)));
  }

  /** Evaluates the tier at `now` with the previous tier state; persist `result.state`. */
  evaluateTier(ledger, events, state, now) {
    const args = [optText(ledger, 'ledger'), jsonText(events ?? [], 'events'), optText(state, 'state'), instantText(now)];
    return JSON.parse(call(() => this[NATIVE].evaluateTier(...args)));
  }

  /** The engagement score of an event history at `now`. */
  engagement(events, now) {
    const args = [jsonText(events ?? [], 'events'), instantText(now)];
    return call(() => this[NATIVE].engagement(...args));
  }
}

/** A profile and event history parsed for one engine (from `JourneyEngine.subject`). */
class JourneySubject {
  constructor(handle) {
    this[NATIVE] = handle;
  }
}

/** Journeys compiled against a schema: step a user's instances on inputs, get effects back. */
class JourneyEngine {
  constructor(journeys, { schema, policies } = {}) {
    if (!Array.isArray(journeys) && typeof journeys !== 'string') throw invalidArgument('journeys must be an array of definitions', 'journeys');
    const s = schema === undefined || schema === null ? new Schema({}) : asSchema(schema);
    const args = [jsonText(journeys, 'journeys'), optText(policies, 'policies')];
    this[NATIVE] = call(() => native.JourneyEngine.create(s[NATIVE], ...args));
  }

  /** Validation reports of every definition: `{ id: report }`. */
  reports() {
    return JSON.parse(call(() => this[NATIVE].reports()));
  }

  /**
   * Processes one input for one user at `now`. `state` is the stored user state
   * (null/undefined for a new user); returns `{ effects, notices, next_wake, state }`:
   * carry out the effects, persist `state`, call again with a tick by `next_wake`.
   */
  step(state, profile, events, input, now) {
    const args = [
      optText(state, 'state'),
      jsonText(profile, 'profile'),
      jsonText(events ?? [], 'events'),
      jsonText(input ?? { type: 'tick' }, 'input'),
      instantText(now),
    ];
    return JSON.parse(call(() => this[NATIVE].step(...args)));
  }

  /**
   * As `step`, with the user state in its versioned binary form both ways: pass
   * the stored Buffer (null/undefined for a new user), persist the returned
   * `state` Buffer. Returns `{ state, effects, notices, nextWake }`.
   */
  stepBytes(state, profile, events, input, now) {
    const bytes = state === undefined || state === null ? undefined : toBuffer(state);
    let r;
    if (profile instanceof JourneySubject) {
      // A prepared subject: profile and history are already parsed (`events` is ignored).
      const args = [bytes, profile[NATIVE], jsonText(input ?? { type: 'tick' }, 'input'), instantText(now)];
      r = call(() => this[NATIVE].stepSubject(...args));
    } else {
      const args = [
        bytes,
        jsonText(profile, 'profile'),
        jsonText(events ?? [], 'events'),
        jsonText(input ?? { type: 'tick' }, 'input'),
        instantText(now),
      ];
      r = call(() => this[NATIVE].stepBytes(...args));
    }
    return {
      state: r.state,
      effects: r.effects === '[]' ? [] : JSON.parse(r.effects),
      notices: r.notices === '[]' ? [] : JSON.parse(r.notices),
      nextWake: r.nextWake ?? null,
    };
  }

  /**
   * The lean restore + step + persist cycle: `state` is the stored Buffer
   * (null/undefined for a new user), `subject` a prepared `subject(...)`, `input`
   * null/undefined for a tick, `now` a time value in milliseconds (number) or a
   * Date. Returns `{ state, effects, notices, nextWake }` with `nextWake` in
   * milliseconds (null: only on inputs); effects and notices are decoded only
   * when there are any. Same semantics as `stepBytes`.
   */
  stepState(state, subject, input, now) {
    if (!(subject instanceof JourneySubject)) throw invalidArgument('stepState takes a prepared subject (JourneyEngine.subject)', 'subject');
    const bytes = state === undefined || state === null ? undefined : toBuffer(state);
    const text = input === undefined || input === null ? undefined : jsonText(input, 'input');
    if (typeof now !== 'number' && !(now instanceof Date)) throw invalidArgument('now must be milliseconds since the epoch or a Date', 'now');
    const ms = typeof now === 'number' ? now : now.getTime();
    // The native side writes header + state + effects/notices JSON into a
    // reused scratch buffer (no Buffer is created per call on that side).
    let out = this[SCRATCH] || (this[SCRATCH] = Buffer.allocUnsafeSlow(4096));
    const native = this[NATIVE];
    let n;
    try {
      n = native.stepState(bytes, subject[NATIVE], text, ms, out);
      if (n < 0) {
        out = this[SCRATCH] = Buffer.allocUnsafeSlow(2 * -n);
        native.stepState(bytes, subject[NATIVE], text, ms, out);
      }
    } catch (e) {
      throw mapError(e);
    }
    const stateLen = out.readUInt32LE(0);
    const effectsLen = out.readUInt32LE(4);
    const noticesLen = out.readUInt32LE(8);
    const wake = out.readDoubleLE(16);
    const at = 24 + stateLen;
    const persisted = Buffer.allocUnsafe(stateLen);
    out.copy(persisted, 0, 24, at);
    return {
      state: persisted,
      effects: effectsLen === 0 ? [] : JSON.parse(out.toString('utf8', at, at + effectsLen)),
      notices: noticesLen === 0 ? [] : JSON.parse(out.toString('utf8', at + effectsLen, at + effectsLen + noticesLen)),
      nextWake: Number.isNaN(wake) ? null : wake,
    };
  }

  /**
   * Parses a user's profile and event history once, for repeated `stepBytes`
   * calls (pass the result in place of the profile; `events` is then ignored).
   */
  subject(profile, events) {
    const args = [jsonText(profile, 'profile'), jsonText(events ?? [], 'events')];
    return new JourneySubject(call(() => this[NATIVE].subject(...args)));
  }

  /** The Mermaid flowchart of a loaded journey (latest version unless `version` is given). */
  mermaid(id, version) {
    if (typeof id !== 'string') throw invalidArgument('mermaid takes a journey id', 'id');
    return call(() => this[NATIVE].mermaid(id, version ?? undefined));
  }

  /** The loaded definitions: `[{ id, version }]`. */
  definitions() {
    return JSON.parse(call(() => this[NATIVE].definitions()));
  }

  /** Moves instances to other versions per a migration map; `dryRun` only plans. Returns `{ moves, state }`. */
  migrate(state, map, now, { dryRun = false } = {}) {
    const args = [jsonText(state, 'state'), jsonText(map, 'map'), instantText(now), Boolean(dryRun)];
    return JSON.parse(call(() => this[NATIVE].migrate(...args)));
  }
}

const toFloat64 = (v, what) => {
  if (v instanceof Float64Array) return v;
  if (!Array.isArray(v)) throw invalidArgument(`${what} must be an array of numbers or a Float64Array`, what);
  return Float64Array.from(v);
};

/** A fitted value-model document (purchase model, optional spend model): scores customers. */
class ValueModel {
  constructor(document) {
    const text = jsonText(document, 'document');
    this[NATIVE] = call(() => native.ValueModel.create(text));
  }

  /** The normalised document. */
  toJson() {
    return JSON.parse(call(() => this[NATIVE].toJson()));
  }

  /**
   * Scores customers `[{ frequency, recency, T, monetary_value? }]`: per customer
   * `{ p_alive, expected_purchases, expected_value, clv }` (the last two need a spend model).
   */
  score(customers, options) {
    const args = [jsonText(customers, 'customers'), optText(options, 'options')];
    return JSON.parse(call(() => this[NATIVE].score(...args)));
  }

  /** Column-wise P(alive) and expected purchases at `horizon` (model time units). */
  scoreColumns({ frequency, recency, T } = {}, horizon = 4.345) {
    const args = [toFloat64(frequency, 'frequency'), toFloat64(recency, 'recency'), toFloat64(T, 'T'), Number(horizon)];
    return JSON.parse(call(() => this[NATIVE].scoreColumns(...args)));
  }

  /** Scores one customer and writes the scores into the profile's score map; returns the profile. */
  scoreProfile(profile, customer, { schema, options } = {}) {
    const s = schema === undefined || schema === null ? new Schema({}) : asSchema(schema);
    const args = [jsonText(profile, 'profile'), s[NATIVE], jsonText(customer, 'customer'), optText(options, 'options')];
    return JSON.parse(call(() => this[NATIVE].scoreProfile(...args)));
  }
}

function toBuffer(bytes) {
  if (Buffer.isBuffer(bytes)) return bytes;
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw invalidArgument('bytes must be a Buffer or Uint8Array', 'bytes');
}

/** Journey helpers: definition validation, the versioned binary state form, bucketing hash. */
const journeys = Object.freeze({
  /** Validates one definition (and against `schema` when given); returns its report. */
  validate(definition, schema) {
    const text = jsonText(definition, 'journey');
    const s = schema === undefined || schema === null ? undefined : asSchema(schema);
    return JSON.parse(call(() => native.validateJourney(text, s === undefined ? undefined : s[NATIVE])));
  },
  /** The versioned binary form of a user state. */
  encodeState(state) {
    const text = jsonText(state, 'state');
    return call(() => native.encodeJourneyState(text));
  },
  /** The binary form of each instance of a user state. */
  encodeInstances(state) {
    const text = jsonText(state, 'state');
    return call(() => native.encodeJourneyInstances(text));
  },
  /** Reads a user state from its binary form. */
  decodeState(bytes) {
    const b = toBuffer(bytes);
    return JSON.parse(call(() => native.decodeJourneyState(b)));
  },
  /** The Mermaid flowchart of one definition. */
  mermaid(definition) {
    const text = jsonText(definition, 'journey');
    return call(() => native.journeyMermaid(text));
  },
  /** Deterministic bucketing hash in [0, 1) (GrowthBook-compatible); null for an unsupported version. */
  hash(seed, value, version = 2) {
    if (typeof seed !== 'string' || typeof value !== 'string') throw invalidArgument('hash takes string seed and value', 'seed');
    return call(() => native.bucketHash(seed, value, version)) ?? null;
  },
});

const ANALYTICS_OPS = {
  retention: 'retention',
  activeUsers: 'active_users',
  repeatPurchaseRate: 'repeat_purchase_rate',
  funnel: 'funnel',
  kFactor: 'k_factor',
  channelConversion: 'channel_conversion',
  zTest: 'z_test',
  chiSquare: 'chi_square',
  bayes: 'bayes',
  sampleSize: 'sample_size',
  frequentPairs: 'frequent_pairs',
  sequentialRules: 'sequential_rules',
  sendTime: 'send_time',
};

function analyticsRun(op, request) {
  if (typeof op !== 'string') throw invalidArgument('analytics.run takes an operation name', 'op');
  const text = jsonText(request ?? {}, 'request');
  return JSON.parse(call(() => native.analyticsRun(op, text)));
}

/**
 * Analytics reports (retention, active users, funnels, growth, A/B tests,
 * association rules, send time). Each takes one request object with the
 * fields of conformance/README.md (`analytics`) and returns the core's report.
 */
const analytics = Object.freeze({
  run: analyticsRun,
  ...Object.fromEntries(Object.entries(ANALYTICS_OPS).map(([name, op]) => [name, (request) => analyticsRun(op, request)])),
});

/** Validates a zone name (IANA or fixed offset) and returns its canonical name. */
function parseZone(name) {
  if (typeof name !== 'string') throw invalidArgument('parseZone takes a string', 'name');
  return call(() => native.parseZone(name));
}

/** The stable error codes of the core, in declaration order. */
function errorCodes() {
  return native.errorCodes();
}

module.exports = {
  version: native.version(),
  Schema,
  RuleSet,
  CompiledRuleSet,
  Lifecycle,
  TagRules,
  rfm,
  PointsModel,
  clv,
  analytics,
  JourneyEngine,
  journeys,
  ValueModel,
  parseZone,
  errorCodes,
  errorClassForCode,
  SiyuError,
};
for (const cls of Object.values(errorClasses)) module.exports[cls.name] = cls;
