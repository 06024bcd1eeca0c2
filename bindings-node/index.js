'use strict';
// siyu for Node.js. The native addon (siyu.node, built from the siyu-node
// crate) is string-typed: JSON text in, JSON text out. This file is the whole
// JavaScript layer: it accepts plain objects or JSON strings, parses results
// into plain objects (renaming the structural keys of result envelopes by the
// table below, ADR 0005), and maps native errors to SiyuError subclasses. All
// behaviour lives in the Rust core.

const path = require('node:path');

const native = require(process.env.SIYU_NODE_ADDON || path.join(__dirname, 'siyu.node'));

const ERROR_MARK = 'SIYU_ERROR:';
const NATIVE = Symbol('siyu.native');
const RULE_NAMES = Symbol('siyu.ruleNames');
// A journey engine's reused output buffer for `stepState` ({ buf, words }).
const SCRATCH = Symbol('siyu.scratch');
// A journey engine's copy of its native string table (`stepState`, ADR 0015).
const STRINGS = Symbol('siyu.strings');
// A subject's native stepper (the engine bound to it) for `stepState`.
const STEPPER = Symbol('siyu.stepper');

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

// ---- Result envelopes (ADR 0005) -------------------------------------------
// Results come from the core as JSON with snake_case structural keys. Each
// result type below lists, per key the core writes there, the key JS sees and
// what the value is:
//   'jsKey'                 a scalar or a list of scalars, copied
//   ['jsKey', DOC]          a document (profile, events, ledger, state,
//                           parameters, trait values, effect payloads): copied
//                           untouched, keys and all
//   ['jsKey', DATA]         a map whose keys are user data (identity types,
//                           event names ...) to scalars: copied untouched
//   ['jsKey', 'Type']       an object of that result type
//   ['jsKey', ['Type']]     a list of them
//   ['jsKey', { map: 'Type' }]  a map with data keys to objects of that type
// Only listed keys at listed places are renamed; nothing is renamed by
// pattern, and a key the table does not list is copied as is (the per-type
// test in test/envelopes.test.mjs fails until it is listed). The type names
// are the interfaces of index.d.ts.
const DOC = 'document';
const DATA = 'data';
const RESULT_TYPES = {
  // Profiles
  MergeOutcome: { profile: ['profile', DOC], events: ['events', DOC], changes: ['changes', 'MergeChanges'] },
  MergeChanges: {
    primary_id: 'primaryId',
    secondary_id: 'secondaryId',
    identities_added: ['identitiesAdded', DATA],
    traits_from_secondary: 'traitsFromSecondary',
    trait_conflicts: ['traitConflicts', ['TraitConflict']],
    tags_added: 'tagsAdded',
    tags_kept: ['tagsKept', ['KeptTag']],
    tags_dropped: ['tagsDropped', ['DroppedTag']],
    consents: ['consents', ['ConsentDecision']],
    time_zone_from_secondary: 'timeZoneFromSecondary',
    scores_from_secondary: 'scoresFromSecondary',
    events_added: 'eventsAdded',
    duplicate_events: 'duplicateEvents',
  },
  TraitConflict: { name: 'name', primary: ['primary', DOC], secondary: ['secondary', DOC], rule: 'rule', result: ['result', DOC] },
  KeptTag: { name: 'name', added_at_from: 'addedAtFrom' },
  DroppedTag: { name: 'name', group: 'group', from: 'from', kept: 'kept' },
  ConsentDecision: { channel: 'channel', purpose: 'purpose', primary: 'primary', secondary: 'secondary', status: 'status', from: 'from', reason: 'reason' },
  ErasureOutcome: { profile: ['profile', DOC], events: ['events', DOC], erased: ['erased', 'Erased'] },
  Erased: {
    id_replaced: 'idReplaced',
    identities_removed: ['identitiesRemoved', DATA],
    traits_removed: 'traitsRemoved',
    event_properties_removed: ['eventPropertiesRemoved', DATA],
    events_removed: 'eventsRemoved',
    events_kept: 'eventsKept',
    tags_removed: 'tagsRemoved',
    scores_removed: 'scoresRemoved',
    consents_removed: 'consentsRemoved',
    consents_kept: 'consentsKept',
  },
  // Segments (rule names are data keys: `evaluate` results are not envelopes)
  Explanation: { rule: 'rule', matched: 'matched', root: ['root', 'ExplainNode'] },
  ExplainNode: { clause: 'clause', truth: 'truth', observed: 'observed', children: ['children', ['ExplainNode']] },
  // Lifecycle
  StageOutcome: {
    state: ['state', DOC],
    matched: 'matched',
    rule: 'rule',
    reason: ['reason', 'Explanation'],
    held: 'held',
    transition: ['transition', 'StageTransition'],
  },
  StageTransition: { from: 'from', to: 'to', at: 'at', rule: 'rule' },
  DayStage: { date: 'date', stage: 'stage', transition: ['transition', 'StageTransition'] },
  // Tags
  TagApplication: { diff: ['diff', 'TagDiff'], profile: ['profile', DOC] },
  TagDiff: { added: ['added', ['TagChange']], removed: ['removed', ['TagChange']], expired: ['expired', ['TagChange']] },
  TagChange: { tag: 'tag', group: 'group', rule: 'rule', reason: 'reason', expires_at: 'expiresAt' },
  // RFM (thresholds and segment maps are documents)
  RfmValues: { recency_days: 'recencyDays', frequency: 'frequency', monetary: 'monetary' },
  RfmFit: { thresholds: ['thresholds', DOC], scores: 'scores' },
  RfmApplication: { values: ['values', 'RfmValues'], scores: 'scores', segment: 'segment', profile: ['profile', DOC] },
  // Points (ledgers, their entries and lots, and tier states are documents)
  PointsEarning: { ledger: ['ledger', DOC], entries: ['entries', DOC] },
  PointsRedemption: { ledger: ['ledger', DOC], entry: ['entry', DOC] },
  PointsSummary: { balance: 'balance', lifetime: 'lifetime', level: 'level', benefits: 'benefits', entries: ['entries', DOC], lots: ['lots', DOC] },
  TierOutcome: {
    state: ['state', DOC],
    qualified: 'qualified',
    window_points: 'windowPoints',
    window_spend: 'windowSpend',
    in_grace: 'inGrace',
    change: ['change', 'TierChange'],
    tier: 'tier',
    benefits: 'benefits',
  },
  TierChange: { from: 'from', to: 'to', at: 'at', kind: 'kind' },
  // Customer value (parameters, model documents and customer rows are documents)
  ClvFit: { params: ['params', DOC], log_likelihood: 'logLikelihood', customers: 'customers' },
  ClvPrediction: { expected_purchases: 'expectedPurchases', rows: ['rows', ['ClvPredictionRow']] },
  ClvPredictionRow: { p_alive: 'pAlive', conditional_expected_purchases: 'conditionalExpectedPurchases', log_likelihood: 'logLikelihood' },
  ClvSpend: { mean_spend: 'meanSpend', rows: ['rows', ['ClvSpendRow']] },
  ClvSpendRow: { expected_average_value: 'expectedAverageValue' },
  CustomerScores: { p_alive: 'pAlive', expected_purchases: 'expectedPurchases', expected_value: 'expectedValue', clv: 'clv' },
  ColumnScores: { p_alive: 'pAlive', expected_purchases: 'expectedPurchases' },
  // Journeys (states and effect payloads are documents)
  JourneyStep: { effects: ['effects', ['JourneyEffect']], notices: ['notices', ['JourneyNotice']], next_wake: 'nextWake', state: ['state', DOC] },
  JourneyEffect: {
    id: 'id',
    journey: 'journey',
    node: 'node',
    key: 'key',
    at: 'at',
    type: 'type',
    channel: 'channel',
    template: 'template',
    purpose: 'purpose',
    add: 'add',
    remove: 'remove',
    traits: ['traits', DOC],
    assignee: 'assignee',
    action: 'action',
    params: ['params', DOC],
  },
  JourneyNotice: { type: 'type', journey: 'journey', key: 'key', node: 'node', at: 'at', reason: 'reason', detail: 'detail', until: 'until' },
  JourneyReport: { max_messages_per_day: 'maxMessagesPerDay', nodes: 'nodes' },
  JourneyMigration: { moves: ['moves', ['MigrationMove']], state: ['state', DOC] },
  MigrationMove: { key: 'key', seq: 'seq', from_node: 'fromNode', to_node: 'toNode', problem: 'problem' },
  JourneyDefinitionRef: { id: 'id', version: 'version' },
  SimulationReport: {
    users: 'users',
    steps: 'steps',
    journeys: ['journeys', { map: 'JourneySimulation' }],
    messages_per_day: ['messagesPerDay', DATA],
    suppressions: ['suppressions', DATA],
    deferrals: ['deferrals', DATA],
    effects: ['effects', DATA],
  },
  JourneySimulation: {
    entered: 'entered',
    entry_skipped: 'entrySkipped',
    completed: 'completed',
    converted: 'converted',
    exited: 'exited',
    nodes: ['nodes', { map: 'NodeSimulation' }],
  },
  NodeSimulation: { entered: 'entered', waiting: 'waiting', exited: 'exited', converted: 'converted', completed: 'completed' },
  // Analytics reports
  RetentionReport: { granularity: 'granularity', cohorts: ['cohorts', ['RetentionCohort']] },
  RetentionCohort: { cohort: 'cohort', size: 'size', retained: 'retained', rates: 'rates' },
  ActiveUsersReport: { days: ['days', ['ActiveUsersDay']] },
  ActiveUsersDay: { date: 'date', dau: 'dau', wau: 'wau', mau: 'mau', stickiness: 'stickiness' },
  RepeatPurchaseReport: { buyers: 'buyers', repeat_buyers: 'repeatBuyers', rate: 'rate' },
  FunnelReport: { steps: ['steps', ['FunnelStep']] },
  FunnelStep: { name: 'name', users: 'users', conversion_from_start: 'conversionFromStart', conversion_from_previous: 'conversionFromPrevious' },
  KFactorReport: { invites_per_user: 'invitesPerUser', conversion_rate: 'conversionRate', k_factor: 'kFactor' },
  ChannelConversionReport: { channels: ['channels', ['ChannelConversion']] },
  ChannelConversion: { channel: 'channel', users: 'users', converted: 'converted', rate: 'rate' },
  ZTestReport: { rate_control: 'rateControl', rate_variant: 'rateVariant', difference: 'difference', z: 'z', p_value: 'pValue' },
  ChiSquareReport: { statistic: 'statistic', degrees_of_freedom: 'degreesOfFreedom', p_value: 'pValue' },
  BayesReport: { mean_control: 'meanControl', mean_variant: 'meanVariant', probability_variant_beats_control: 'probabilityVariantBeatsControl' },
  SampleSizeReport: { per_arm: 'perArm' },
  AssociationReport: { rules: ['rules', ['AssociationRule']] },
  AssociationRule: { antecedent: 'antecedent', consequent: 'consequent', count: 'count', support: 'support', confidence: 'confidence', lift: 'lift' },
  SendTimeReport: { weight: 'weight', population: 'population', population_best_hour: 'populationBestHour', users: ['users', ['UserSendTime']] },
  UserSendTime: { user_id: 'userId', opens: 'opens', best_hour: 'bestHour', share: 'share' },
};

// Compiled tables: raw key -> { key, of } (`of`: DOC, DATA, undefined for a
// scalar, or a value spec). A type whose keys and nested types are all unchanged
// is returned as the very object the core's JSON parsed to.
const TABLES = {};
for (const [type, table] of Object.entries(RESULT_TYPES)) {
  TABLES[type] = {};
  for (const [raw, entry] of Object.entries(table)) {
    TABLES[type][raw] = typeof entry === 'string' ? { key: entry, of: undefined } : { key: entry[0], of: entry[1] };
  }
}
const UNCHANGED = new Set();
{
  const visiting = new Set();
  const unchanged = (of) => {
    if (of === undefined || of === DOC || of === DATA) return true;
    if (typeof of === 'string') return typeUnchanged(of);
    return unchanged(Array.isArray(of) ? of[0] : of.map);
  };
  const typeUnchanged = (type) => {
    if (UNCHANGED.has(type) || visiting.has(type)) return true;
    visiting.add(type);
    const same = Object.entries(TABLES[type]).every(([raw, e]) => e.key === raw && unchanged(e.of));
    visiting.delete(type);
    return same;
  };
  for (const type of Object.keys(TABLES)) if (typeUnchanged(type)) UNCHANGED.add(type);
}

/** The camelCase view of a core result `value` of spec `of` (a type name, [type] or { map: type }). */
function view(of, value) {
  if (value === null || typeof value !== 'object' || of === undefined || of === DOC || of === DATA) return value;
  if (typeof of === 'string') {
    if (UNCHANGED.has(of) || Array.isArray(value)) return value;
    const table = TABLES[of];
    const out = {};
    for (const raw of Object.keys(value)) {
      const e = table[raw];
      if (e === undefined) out[raw] = value[raw];
      else out[e.key] = view(e.of, value[raw]);
    }
    return out;
  }
  if (Array.isArray(of)) {
    if (!Array.isArray(value) || (typeof of[0] === 'string' && UNCHANGED.has(of[0]))) return value;
    return value.map((v) => view(of[0], v));
  }
  const out = {};
  for (const k of Object.keys(value)) out[k] = view(of.map, value[k]);
  return out;
}

// A result the caller may hand back to siyu (RfmValues): the camelCase view is
// mapped back to the core's keys with the same table (only keys at the top).
function coreForm(type, value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out = {};
  for (const k of Object.keys(value)) {
    const raw = Object.keys(TABLES[type]).find((r) => TABLES[type][r].key === k);
    out[raw === undefined ? k : raw] = value[k];
  }
  return out;
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

  /** The merge outcome (`MergeOutcome`; profile and events as the core writes them). */
  mergeProfiles(request) {
    return view('MergeOutcome', this.mergeProfilesJson(request));
  }

  /** `mergeProfiles` with the core's JSON form of the outcome (snake_case keys). */
  mergeProfilesJson({ primary, secondary, primaryEvents, secondaryEvents, policy } = {}) {
    const args = [
      jsonText(primary, 'primary'),
      jsonText(primaryEvents ?? [], 'primaryEvents'),
      jsonText(secondary, 'secondary'),
      jsonText(secondaryEvents ?? [], 'secondaryEvents'),
      policy === undefined || policy === null ? undefined : jsonText(policy, 'policy'),
    ];
    return JSON.parse(call(() => this[NATIVE].mergeProfiles(...args)));
  }

  /** The erasure outcome (`ErasureOutcome`; profile and events as the core writes them). */
  erase(request) {
    return view('ErasureOutcome', this.eraseJson(request));
  }

  /** `erase` with the core's JSON form of the outcome (snake_case keys). */
  eraseJson({ profile, events, request } = {}) {
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
    return view('Explanation', JSON.parse(call(() => this[NATIVE].explain(...args))));
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
    return view('StageOutcome', JSON.parse(call(() => this[NATIVE].evaluate(...args))));
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
    return view(['DayStage'], JSON.parse(call(() => this[NATIVE].replay(...args))));
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
    return view('TagApplication', this.applyJson(profile, events, now, defaultZone));
  }

  /** `apply` with the core's JSON form of the result (snake_case keys). */
  applyJson(profile, events, now, defaultZone) {
    const args = [jsonText(profile, 'profile'), jsonText(events ?? [], 'events'), instantText(now), zoneText(defaultZone)];
    return JSON.parse(call(() => this[NATIVE].apply(...args)));
  }
}

const optText = (v, what) => (v === undefined || v === null ? undefined : jsonText(v, what));
const schemaOrDefault = (schema) => (schema === undefined || schema === null ? Schema.lifecycleDefault() : asSchema(schema));
const mapText = (map) => (map === undefined || map === null ? undefined : typeof map === 'string' ? map : jsonText(map, 'map'));

/** RFM scoring: values, fitted thresholds, scores and segment maps. */
const rfm = Object.freeze({
  /** RFM values of an event log at `now` (`{ recencyDays, frequency, monetary }`), or null without a qualifying purchase. */
  values(events, now, options) {
    return view('RfmValues', rfm.valuesJson(events, now, options));
  },
  /** `values` in the core's JSON form (`recency_days`). */
  valuesJson(events, now, { config, schema } = {}) {
    const s = schemaOrDefault(schema);
    const args = [jsonText(events ?? [], 'events'), instantText(now), optText(config, 'config')];
    return JSON.parse(call(() => native.rfmValues(s[NATIVE], ...args)));
  },
  /** Fits thresholds to a population (`method`: 'quantile' | 'range' | 'fixed') of values (either key form). */
  fit(method, population) {
    const members = Array.isArray(population) ? population.map((v) => coreForm('RfmValues', v)) : population;
    const args = [String(method ?? 'quantile'), jsonText(members, 'population')];
    return view('RfmFit', JSON.parse(call(() => native.rfmFit(...args))));
  },
  /** Scores values (either key form) with stored thresholds: [r, f, m]. */
  score(thresholds, values) {
    const args = [jsonText(thresholds, 'thresholds'), jsonText(coreForm('RfmValues', values), 'values')];
    return JSON.parse(call(() => native.rfmScore(...args)));
  },
  /** The segment id of [r, f, m] in a map ('standard_11' (default), 'four_layer' or a map document), or null. */
  segment(map, scores) {
    const args = [mapText(map), jsonText(scores, 'scores')];
    return JSON.parse(call(() => native.rfmSegment(...args)));
  },
  /** Computes values, scores and segment and writes them into the profile (returned updated). */
  apply(profile, events, now, options) {
    return view('RfmApplication', rfm.applyJson(profile, events, now, options));
  },
  /** `apply` with the core's JSON form of the result (`values.recency_days`). */
  applyJson(profile, events, now, { thresholds, config, map, group, schema } = {}) {
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
  fit(model, columns, options) {
    return view('ClvFit', clv.fitJson(model, columns, options));
  },
  /** `fit` with the core's JSON form of the result (`log_likelihood`). */
  fitJson(model, { frequency, recency, T, monetaryValue } = {}, { penalizer } = {}) {
    return clvCall(native.clvFit, { model, frequency, recency, T, monetary_value: monetaryValue, penalizer });
  },
  /** P(alive), conditional expected purchases and log-likelihood per customer, and expected purchases at `t`. */
  predict(params, t, customers) {
    return view('ClvPrediction', clv.predictJson(params, t, customers));
  },
  /** `predict` with the core's JSON form of the result (`expected_purchases`, `p_alive` ...). */
  predictJson(params, t, customers) {
    return clvCall(native.clvPredict, { params, t, customers });
  },
  /** Gamma-Gamma expected average value per customer and the mean spend. */
  spend(params, customers) {
    return view('ClvSpend', clv.spendJson(params, customers));
  },
  /** `spend` with the core's JSON form of the result (`mean_spend`, `expected_average_value`). */
  spendJson(params, customers) {
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
    return view('PointsEarning', JSON.parse(call(() => this[NATIVE].applyEvent(...args))));
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
    return view('PointsRedemption', JSON.parse(call(() => this[NATIVE].redeem(...args))));
  }

  /** Expires lots due at or before `now`; returns the ledger. */
  expire(ledger, now) {
    const args = [optText(ledger, 'ledger'), instantText(now)];
    return JSON.parse(call(() => this[NATIVE].expire(...args)));
  }

  /** `{ balance, lifetime, level, benefits, entries, lots }` at `now`. */
  summary(ledger, now) {
    const args = [optText(ledger, 'ledger'), instantText(now)];
    return view('PointsSummary', JSON.parse(call(() => this[NATIVE].summary(...args))));
  }

  /** Evaluates the tier at `now` with the previous tier state; persist `result.state`. */
  evaluateTier(ledger, events, state, now) {
    return view('TierOutcome', this.evaluateTierJson(ledger, events, state, now));
  }

  /** `evaluateTier` with the core's JSON form of the outcome (`window_points` ...). */
  evaluateTierJson(ledger, events, state, now) {
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
    this[STEPPER] = null;
  }
}

/** Journeys compiled against a schema: step a user's instances on inputs, get effects back. */
class JourneyEngine {
  constructor(journeys, { schema, policies } = {}) {
    if (!Array.isArray(journeys) && typeof journeys !== 'string') throw invalidArgument('journeys must be an array of definitions', 'journeys');
    const s = schema === undefined || schema === null ? new Schema({}) : asSchema(schema);
    const args = [jsonText(journeys, 'journeys'), optText(policies, 'policies')];
    this[NATIVE] = call(() => native.JourneyEngine.create(s[NATIVE], ...args));
    this[STRINGS] = [];
    this[SCRATCH] = null;
  }

  /** Validation reports of every definition: `{ id: report }`. */
  reports() {
    return view({ map: 'JourneyReport' }, this.reportsJson());
  }

  /** `reports` in the core's JSON form (`max_messages_per_day`). */
  reportsJson() {
    return JSON.parse(call(() => this[NATIVE].reports()));
  }

  /**
   * Processes one input for one user at `now`. `state` is the stored user state
   * (null/undefined for a new user); returns `{ effects, notices, nextWake, state }`:
   * carry out the effects, persist `state`, call again with a tick by `nextWake`.
   */
  step(state, profile, events, input, now) {
    return view('JourneyStep', this.stepJson(state, profile, events, input, now));
  }

  /** `step` with the core's JSON form of the result (`next_wake`). */
  stepJson(state, profile, events, input, now) {
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
   * milliseconds (null: only on inputs). Effects and notices cross as compact
   * records (ADR 0015) and are the same objects `stepBytes` gives; `state` is
   * a view of a reused arena, never written again. Same semantics as `stepBytes`.
   */
  stepState(state, subject, input, now) {
    if (!(subject instanceof JourneySubject)) throw invalidArgument('stepState takes a prepared subject (JourneyEngine.subject)', 'subject');
    const bytes = state === undefined || state === null ? undefined : Buffer.isBuffer(state) ? state : toBuffer(state);
    const text = input === undefined || input === null ? undefined : jsonText(input, 'input');
    const ms = typeof now === 'number' ? now : now instanceof Date ? now.getTime() : badNow();
    // The native side writes a header and the effects and notices (ADR 0015)
    // into the front of a reused scratch buffer and the state into its arena
    // part, which is handed out as the state Buffer (no Buffer is created on
    // the native side per call, and nothing is copied on this side).
    let out = this[SCRATCH];
    if (out === null || out.pos + 1024 > out.buf.length) out = this[SCRATCH] = scratchBuffer(SCRATCH_RECORDS, SCRATCH_ARENA);
    const strings = this[STRINGS];
    // The subject keeps the native engine bound to it (made on first use).
    let stepper = subject[STEPPER];
    try {
      if (stepper === null || stepper.engine !== this) {
        stepper = subject[STEPPER] = { engine: this, native: this[NATIVE].stepper(subject[NATIVE]) };
      }
      const n = native.journeyStepState(stepper.native, bytes, text, ms, out.buf, strings.length, out.records, out.pos);
      if (n < 0) {
        const need = (-2 * n + 7) & ~7;
        out = this[SCRATCH] = scratchBuffer(Math.max(SCRATCH_RECORDS, need), Math.max(SCRATCH_ARENA, need));
        native.journeyStepState(stepper.native, bytes, text, ms, out.buf, strings.length, out.records, out.pos);
      }
    } catch (e) {
      throw mapError(e);
    }
    return readStep(out, strings);
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

  /**
   * Replays users `[{ profile, events? }]` through the journeys over
   * `[start, end)` from empty state, on a worker thread; resolves to the
   * simulation report (counts per journey and node, messages per local day,
   * suppressions, deferrals, effects by type).
   */
  async simulate(users, start, end) {
    return view('SimulationReport', await this.simulateJson(users, start, end));
  }

  /** `simulate` with the core's JSON form of the report (`messages_per_day`, `entry_skipped`). */
  async simulateJson(users, start, end) {
    if (!Array.isArray(users)) throw invalidArgument('simulate takes an array of {profile, events}', 'users');
    const args = [JSON.stringify(users), instantText(start), instantText(end)];
    let text;
    try {
      text = await this[NATIVE].simulate(...args);
    } catch (e) {
      throw mapError(e);
    }
    return JSON.parse(text);
  }

  /** The loaded definitions: `[{ id, version }]`. */
  definitions() {
    return view(['JourneyDefinitionRef'], JSON.parse(call(() => this[NATIVE].definitions())));
  }

  /** Moves instances to other versions per a migration map; `dryRun` only plans. Returns `{ moves, state }`. */
  migrate(state, map, now, options) {
    return view('JourneyMigration', this.migrateJson(state, map, now, options));
  }

  /** `migrate` with the core's JSON form of the result (`from_node`, `to_node`). */
  migrateJson(state, map, now, { dryRun = false } = {}) {
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
   * `{ pAlive, expectedPurchases, expectedValue, clv }` (the last two need a spend model).
   */
  score(customers, options) {
    return view(['CustomerScores'], this.scoreJson(customers, options));
  }

  /** `score` in the core's JSON form (`p_alive`, `expected_purchases` ...). */
  scoreJson(customers, options) {
    const args = [jsonText(customers, 'customers'), optText(options, 'options')];
    return JSON.parse(call(() => this[NATIVE].score(...args)));
  }

  /** Column-wise P(alive) and expected purchases at `horizon` (model time units). */
  scoreColumns(columns, horizon) {
    return view('ColumnScores', this.scoreColumnsJson(columns, horizon));
  }

  /** `scoreColumns` in the core's JSON form (`p_alive`, `expected_purchases`). */
  scoreColumnsJson({ frequency, recency, T } = {}, horizon = 4.345) {
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

function badNow() {
  throw invalidArgument('now must be milliseconds since the epoch or a Date', 'now');
}

// `stepState`'s scratch: the first SCRATCH_RECORDS bytes take the header and
// records of each call; the rest is an arena the states are handed out from
// (as views: a returned state keeps its arena alive, as a `Buffer.allocUnsafe`
// slice keeps Node's 8 KiB pool alive). A full arena is replaced, never reused.
const SCRATCH_RECORDS = 4096;
const SCRATCH_ARENA = 28672;

/** A scratch buffer for `stepState`: records part, state arena, `Int32Array` and wake-up `Float64Array` views. */
function scratchBuffer(records, arena) {
  const ab = new ArrayBuffer(records + arena);
  return { ab, buf: Buffer.from(ab), words: new Int32Array(ab), wake: new Float64Array(ab, 16, 1), records, pos: records };
}

/** String reference `r` of a step record (ADR 0015): a table entry (even) or a dynamic string (odd). */
function ref(r, table, text, w, offs) {
  if ((r & 1) === 0) return table[r >> 1];
  const k = offs + (r >> 1);
  return text.slice(w[k], w[k + 1]);
}

/**
 * Reads what `JourneyStepper.stepState` wrote (layout in bindings-node/src/wire.rs):
 * `{ state, effects, notices, nextWake }` with effects and notices exactly as
 * their JSON form parses (test/wire.test.mjs compares every journey vector).
 */
function readStep(scratch, table) {
  const out = scratch.buf;
  const w = scratch.words;
  const stateLen = w[0];
  const nEffects = w[1];
  const nNotices = w[2];
  const wake = scratch.wake[0];
  // The state is a view of the arena; the next state goes after it.
  const state = Buffer.from(scratch.ab, w[12], stateLen);
  scratch.pos = (w[12] + stateLen + 7) & ~7;
  const effects = [];
  const notices = [];
  const count = w[8];
  if (count > 0) {
    const offs = w[7];
    const start = (offs + count + 1) * 4;
    // The dynamic strings arrive as one run of bytes (ASCII unless flagged);
    // `latin1Slice`/`utf8Slice` are Buffer's own decoders (Node >= 18).
    const text = (w[3] & 1) === 0 ? out.latin1Slice(start, start + w[11]) : out.utf8Slice(start, start + w[11]);
    for (let k = offs + w[9], end = k + w[10]; k < end; k++) table.push(text.slice(w[k], w[k + 1]));
    let p = w[6];
    for (let i = 0; i < nEffects; i++) {
      const kind = w[p];
      if (kind === 3) {
        effects.push(JSON.parse(ref(w[p + 1], table, text, w, offs)));
        p += 2;
        continue;
      }
      const id = ref(w[p + 1], table, text, w, offs);
      const journey = ref(w[p + 2], table, text, w, offs);
      const node = ref(w[p + 3], table, text, w, offs);
      const keyRef = w[p + 4];
      const at = ref(w[p + 5], table, text, w, offs);
      p += 6;
      // Keys in the JSON form's order (id, journey, node, key?, at, type, fields).
      let e;
      if (kind === 0) {
        const channel = ref(w[p], table, text, w, offs);
        const template = ref(w[p + 1], table, text, w, offs);
        const purpose = ref(w[p + 2], table, text, w, offs);
        p += 3;
        e = keyRef < 0
          ? { id, journey, node, at, type: 'send_message', channel, template, purpose }
          : { id, journey, node, key: ref(keyRef, table, text, w, offs), at, type: 'send_message', channel, template, purpose };
      } else if (kind === 1) {
        const assignee = ref(w[p], table, text, w, offs);
        const template = ref(w[p + 1], table, text, w, offs);
        p += 2;
        e = keyRef < 0
          ? { id, journey, node, at, type: 'create_task', assignee, template }
          : { id, journey, node, key: ref(keyRef, table, text, w, offs), at, type: 'create_task', assignee, template };
      } else {
        const adds = w[p];
        const removes = w[p + 1];
        p += 2;
        e = keyRef < 0
          ? { id, journey, node, at, type: 'update_tags' }
          : { id, journey, node, key: ref(keyRef, table, text, w, offs), at, type: 'update_tags' };
        if (adds > 0) {
          const add = [];
          for (let j = 0; j < adds; j++) add.push(ref(w[p + j], table, text, w, offs));
          e.add = add;
        }
        p += adds;
        if (removes > 0) {
          const remove = [];
          for (let j = 0; j < removes; j++) remove.push(ref(w[p + j], table, text, w, offs));
          e.remove = remove;
        }
        p += removes;
      }
      effects.push(e);
    }
    for (let i = 0; i < nNotices; i++, p += 8) {
      const n = { type: ref(w[p], table, text, w, offs) };
      if (w[p + 1] >= 0) n.journey = ref(w[p + 1], table, text, w, offs);
      if (w[p + 2] >= 0) n.key = ref(w[p + 2], table, text, w, offs);
      if (w[p + 3] >= 0) n.node = ref(w[p + 3], table, text, w, offs);
      n.at = ref(w[p + 4], table, text, w, offs);
      if (w[p + 5] >= 0) n.reason = ref(w[p + 5], table, text, w, offs);
      if (w[p + 6] >= 0) n.detail = ref(w[p + 6], table, text, w, offs);
      if (w[p + 7] >= 0) n.until = ref(w[p + 7], table, text, w, offs);
      notices.push(n);
    }
  }
  return { state, effects, notices, nextWake: wake !== wake ? null : wake };
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
    return view('JourneyReport', journeys.validateJson(definition, schema));
  },
  /** `validate` with the core's JSON form of the report (`max_messages_per_day`). */
  validateJson(definition, schema) {
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

// Analytics operations: JS name -> [core op name, report type].
const ANALYTICS_OPS = {
  retention: ['retention', 'RetentionReport'],
  activeUsers: ['active_users', 'ActiveUsersReport'],
  repeatPurchaseRate: ['repeat_purchase_rate', 'RepeatPurchaseReport'],
  funnel: ['funnel', 'FunnelReport'],
  kFactor: ['k_factor', 'KFactorReport'],
  channelConversion: ['channel_conversion', 'ChannelConversionReport'],
  zTest: ['z_test', 'ZTestReport'],
  chiSquare: ['chi_square', 'ChiSquareReport'],
  bayes: ['bayes', 'BayesReport'],
  sampleSize: ['sample_size', 'SampleSizeReport'],
  frequentPairs: ['frequent_pairs', 'AssociationReport'],
  sequentialRules: ['sequential_rules', 'AssociationReport'],
  sendTime: ['send_time', 'SendTimeReport'],
};
const ANALYTICS_REPORTS = Object.fromEntries(Object.values(ANALYTICS_OPS));

function analyticsRunJson(op, request) {
  if (typeof op !== 'string') throw invalidArgument('analytics.run takes an operation name', 'op');
  const text = jsonText(request ?? {}, 'request');
  return JSON.parse(call(() => native.analyticsRun(op, text)));
}

function analyticsRun(op, request) {
  const report = analyticsRunJson(op, request);
  return view(ANALYTICS_REPORTS[op], report);
}

/**
 * Analytics reports (retention, active users, funnels, growth, A/B tests,
 * association rules, send time). Each takes one request object with the
 * fields of conformance/README.md (`analytics`; request documents keep the
 * core's keys) and returns the report with camelCase keys; each `*Json`
 * sibling returns the core's JSON form of the report.
 */
const analytics = Object.freeze({
  run: analyticsRun,
  runJson: analyticsRunJson,
  ...Object.fromEntries(
    Object.entries(ANALYTICS_OPS).flatMap(([name, [op]]) => [
      [name, (request) => analyticsRun(op, request)],
      [`${name}Json`, (request) => analyticsRunJson(op, request)],
    ]),
  ),
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
// The result-type tables, for test/envelopes.test.mjs and test/types.test.mjs.
Object.defineProperty(module.exports, Symbol.for('siyu.resultTypes'), { value: { RESULT_TYPES, DOC, DATA, ANALYTICS_OPS } });
