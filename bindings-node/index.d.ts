// TypeScript declarations of the npm package `siyu`. Written by hand and checked
/// <reference types="node" />
// against the runtime exports by test/types.test.mjs (which fails on drift).

/** The crate version shared by every siyu binding. */
export declare const version: string;

/** A JSON document given as JSON text or as a plain value. */
export type JsonInput<T = unknown> = string | T;

/** An instant: an RFC 3339 string or a Date. */
export type Instant = string | Date;

/** A source position (1-based line and column, 0-based byte offset). */
export interface Position {
  line: number;
  column: number;
  offset: number;
}

/** The JSON form of a siyu error. */
export interface SiyuErrorJson {
  code: ErrorCode;
  message: string;
  position?: Position;
  path?: string;
  suggestion?: string;
}

/** Every stable error code of the core. */
export type ErrorCode =
  | 'RULE_SYNTAX'
  | 'INVALID_JSON'
  | 'UNKNOWN_TRAIT'
  | 'UNKNOWN_EVENT'
  | 'UNKNOWN_PROPERTY'
  | 'UNKNOWN_SEGMENT'
  | 'UNKNOWN_TAG_GROUP'
  | 'UNKNOWN_FUNCTION'
  | 'TYPE_MISMATCH'
  | 'SEGMENT_CYCLE'
  | 'DUPLICATE_NAME'
  | 'LIMIT_EXCEEDED'
  | 'INVALID_REGEX'
  | 'INVALID_TIME_ZONE'
  | 'INVALID_TIME'
  | 'INVALID_SCHEMA'
  | 'INVALID_PROFILE'
  | 'INVALID_EVENT'
  | 'INVALID_MERGE'
  | 'INVALID_ARGUMENT'
  | 'INVALID_MODEL'
  | 'INVALID_STATE'
  | 'NUMERIC_DOMAIN'
  | 'INTERNAL';

/** Base class of every error siyu throws. */
export declare class SiyuError extends Error {
  /** The core's stable code, e.g. `RULE_SYNTAX`. */
  readonly code: ErrorCode;
  /** Source position for syntax and compile errors. */
  readonly position?: Position;
  /** Where in a document the error is, e.g. `rules[0].expr` or `[2].timestamp`. */
  readonly path?: string;
  /** A "did you mean" correction for unknown names. */
  readonly suggestion?: string;
  toJSON(): SiyuErrorJson;
}

/** Error with code `RULE_SYNTAX`. */
export declare class RuleSyntaxError extends SiyuError {
  static readonly code: 'RULE_SYNTAX';
  readonly code: 'RULE_SYNTAX';
}

/** Error with code `INVALID_JSON`. */
export declare class InvalidJsonError extends SiyuError {
  static readonly code: 'INVALID_JSON';
  readonly code: 'INVALID_JSON';
}

/** Error with code `UNKNOWN_TRAIT`. */
export declare class UnknownTraitError extends SiyuError {
  static readonly code: 'UNKNOWN_TRAIT';
  readonly code: 'UNKNOWN_TRAIT';
}

/** Error with code `UNKNOWN_EVENT`. */
export declare class UnknownEventError extends SiyuError {
  static readonly code: 'UNKNOWN_EVENT';
  readonly code: 'UNKNOWN_EVENT';
}

/** Error with code `UNKNOWN_PROPERTY`. */
export declare class UnknownPropertyError extends SiyuError {
  static readonly code: 'UNKNOWN_PROPERTY';
  readonly code: 'UNKNOWN_PROPERTY';
}

/** Error with code `UNKNOWN_SEGMENT`. */
export declare class UnknownSegmentError extends SiyuError {
  static readonly code: 'UNKNOWN_SEGMENT';
  readonly code: 'UNKNOWN_SEGMENT';
}

/** Error with code `UNKNOWN_TAG_GROUP`. */
export declare class UnknownTagGroupError extends SiyuError {
  static readonly code: 'UNKNOWN_TAG_GROUP';
  readonly code: 'UNKNOWN_TAG_GROUP';
}

/** Error with code `UNKNOWN_FUNCTION`. */
export declare class UnknownFunctionError extends SiyuError {
  static readonly code: 'UNKNOWN_FUNCTION';
  readonly code: 'UNKNOWN_FUNCTION';
}

/** Error with code `TYPE_MISMATCH`. */
export declare class TypeMismatchError extends SiyuError {
  static readonly code: 'TYPE_MISMATCH';
  readonly code: 'TYPE_MISMATCH';
}

/** Error with code `SEGMENT_CYCLE`. */
export declare class SegmentCycleError extends SiyuError {
  static readonly code: 'SEGMENT_CYCLE';
  readonly code: 'SEGMENT_CYCLE';
}

/** Error with code `DUPLICATE_NAME`. */
export declare class DuplicateNameError extends SiyuError {
  static readonly code: 'DUPLICATE_NAME';
  readonly code: 'DUPLICATE_NAME';
}

/** Error with code `LIMIT_EXCEEDED`. */
export declare class LimitExceededError extends SiyuError {
  static readonly code: 'LIMIT_EXCEEDED';
  readonly code: 'LIMIT_EXCEEDED';
}

/** Error with code `INVALID_REGEX`. */
export declare class InvalidRegexError extends SiyuError {
  static readonly code: 'INVALID_REGEX';
  readonly code: 'INVALID_REGEX';
}

/** Error with code `INVALID_TIME_ZONE`. */
export declare class InvalidTimeZoneError extends SiyuError {
  static readonly code: 'INVALID_TIME_ZONE';
  readonly code: 'INVALID_TIME_ZONE';
}

/** Error with code `INVALID_TIME`. */
export declare class InvalidTimeError extends SiyuError {
  static readonly code: 'INVALID_TIME';
  readonly code: 'INVALID_TIME';
}

/** Error with code `INVALID_SCHEMA`. */
export declare class InvalidSchemaError extends SiyuError {
  static readonly code: 'INVALID_SCHEMA';
  readonly code: 'INVALID_SCHEMA';
}

/** Error with code `INVALID_PROFILE`. */
export declare class InvalidProfileError extends SiyuError {
  static readonly code: 'INVALID_PROFILE';
  readonly code: 'INVALID_PROFILE';
}

/** Error with code `INVALID_EVENT`. */
export declare class InvalidEventError extends SiyuError {
  static readonly code: 'INVALID_EVENT';
  readonly code: 'INVALID_EVENT';
}

/** Error with code `INVALID_MERGE`. */
export declare class InvalidMergeError extends SiyuError {
  static readonly code: 'INVALID_MERGE';
  readonly code: 'INVALID_MERGE';
}

/** Error with code `INVALID_ARGUMENT`. */
export declare class InvalidArgumentError extends SiyuError {
  static readonly code: 'INVALID_ARGUMENT';
  readonly code: 'INVALID_ARGUMENT';
}

/** Error with code `INVALID_MODEL`. */
export declare class InvalidModelError extends SiyuError {
  static readonly code: 'INVALID_MODEL';
  readonly code: 'INVALID_MODEL';
}

/** Error with code `INVALID_STATE`. */
export declare class InvalidStateError extends SiyuError {
  static readonly code: 'INVALID_STATE';
  readonly code: 'INVALID_STATE';
}

/** Error with code `NUMERIC_DOMAIN`. */
export declare class NumericDomainError extends SiyuError {
  static readonly code: 'NUMERIC_DOMAIN';
  readonly code: 'NUMERIC_DOMAIN';
}

/** Error with code `INTERNAL`. */
export declare class InternalError extends SiyuError {
  static readonly code: 'INTERNAL';
  readonly code: 'INTERNAL';
}

/** The error subclass for a stable code. */
export declare function errorClassForCode(code: string): typeof SiyuError;

/** The stable error codes of the core, in declaration order. */
export declare function errorCodes(): ErrorCode[];

/** Validates a zone name (IANA such as `Asia/Shanghai`, or a fixed offset such as `+08:00`) and returns its canonical name. */
export declare function parseZone(name: string): string;

/** A profile document (see the schema docs); validated against the schema on use. */
export interface ProfileInput {
  id: string;
  identities?: Record<string, string | string[]>;
  traits?: Record<string, unknown>;
  tags?: unknown[];
  consents?: unknown[];
  time_zone?: string;
  scores?: Record<string, number>;
}

/** An event document. */
export interface EventInput {
  id: string;
  name: string;
  timestamp: string;
  properties?: Record<string, unknown>;
}

/** A schema: the traits, events and tag groups profiles may hold. */
export declare class Schema {
  constructor(definition: JsonInput<object>);
  static fromJson(definition: JsonInput<object>): Schema;
  /** The sample schema the default lifecycle model is written against. */
  static lifecycleDefault(): Schema;
  /** The schema as JSON text. */
  toJson(): string;
  /** The schema as a plain object. */
  toObject(): Record<string, unknown>;
  /** Validates a profile; returns its normalised form. */
  validateProfile(profile: JsonInput<ProfileInput>): Record<string, unknown>;
  /** Validates events; returns them sorted by (timestamp, id) and de-duplicated by id. */
  validateEvents(events: JsonInput<EventInput[]>): Record<string, unknown>[];
  /** Merges `secondary` (and its events) into `primary` (identity resolution). Returns the core's outcome document. */
  mergeProfiles(request: {
    primary: JsonInput<ProfileInput>;
    secondary: JsonInput<ProfileInput>;
    primaryEvents?: JsonInput<EventInput[]>;
    secondaryEvents?: JsonInput<EventInput[]>;
    policy?: JsonInput<object>;
  }): MergeOutcome;
  /** `mergeProfiles` with the core's JSON form of the outcome (snake_case keys, as in the conformance vectors). */
  mergeProfilesJson(request: {
    primary: JsonInput<ProfileInput>;
    secondary: JsonInput<ProfileInput>;
    primaryEvents?: JsonInput<EventInput[]>;
    secondaryEvents?: JsonInput<EventInput[]>;
    policy?: JsonInput<object>;
  }): CoreJson;
  /** Erases personal data (PIPL/GDPR requests). */
  erase(request: { profile: JsonInput<ProfileInput>; events?: JsonInput<EventInput[]>; request?: JsonInput<object> }): ErasureOutcome;
  /** `erase` with the core's JSON form of the outcome (snake_case keys). */
  eraseJson(request: { profile: JsonInput<ProfileInput>; events?: JsonInput<EventInput[]>; request?: JsonInput<object> }): CoreJson;
}

/** The outcome of a merge. `profile` and `events` are documents (the core's keys); `changes` is the audit of what moved. */
export interface MergeOutcome {
  profile: Record<string, unknown>;
  events: Record<string, unknown>[];
  changes: MergeChanges;
}

/** What a merge changed. Map keys and names (identity types, traits, tags, scores) are data, as given. */
export interface MergeChanges {
  primaryId: string;
  secondaryId: string;
  /** Identity type -> ids added to the primary profile. */
  identitiesAdded: Record<string, string[]>;
  traitsFromSecondary: string[];
  traitConflicts: TraitConflict[];
  tagsAdded: string[];
  tagsKept: KeptTag[];
  tagsDropped: DroppedTag[];
  consents: ConsentDecision[];
  timeZoneFromSecondary: boolean;
  scoresFromSecondary: string[];
  eventsAdded: number;
  duplicateEvents: string[];
}

/** A trait both profiles held with different values (`primary`, `secondary`, `result` are trait values). */
export interface TraitConflict {
  name: string;
  primary: unknown;
  secondary: unknown;
  rule: string;
  result: unknown;
}

/** A tag both profiles held: which side's `added_at` was kept. */
export interface KeptTag {
  name: string;
  addedAtFrom: 'primary' | 'secondary';
}

/** A tag dropped because its exclusive group already had a tag. */
export interface DroppedTag {
  name: string;
  group: string;
  from: 'primary' | 'secondary';
  kept: string;
}

/** How one consent (channel, purpose) was decided. */
export interface ConsentDecision {
  channel: string;
  purpose: string;
  primary?: string;
  secondary: string;
  status: string;
  from: 'primary' | 'secondary';
  reason: string;
}

/** The outcome of an erasure. `profile` and `events` are documents (the core's keys). */
export interface ErasureOutcome {
  profile: Record<string, unknown>;
  events: Record<string, unknown>[];
  erased: Erased;
}

/** What an erasure removed. Map keys (identity types, event names) are data, as given. */
export interface Erased {
  idReplaced: boolean;
  identitiesRemoved: Record<string, number>;
  traitsRemoved: string[];
  eventPropertiesRemoved: Record<string, number>;
  eventsRemoved: number;
  eventsKept: number;
  tagsRemoved: number;
  scoresRemoved: number;
  consentsRemoved: number;
  consentsKept: number;
}

/** A parsed rule set, not yet compiled. */
export declare class RuleSet {
  private constructor(handle: never);
  /** Parses DSL text (`segment name: expr ...`). */
  static parse(text: string): RuleSet;
  /** Reads the JSON form `{"rules": [{"name", "description"?, "expr"}]}` (expr: AST object or DSL text). */
  static fromJson(definition: JsonInput<object>): RuleSet;
  /** Rule names in declaration order. */
  readonly ruleNames: string[];
  /** Canonical DSL text. */
  toText(): string;
  /** The JSON form with AST objects, as JSON text. */
  toJson(): string;
  /** The JSON form as a plain object. */
  toObject(): { rules: Array<{ name: string; description?: string; expr: unknown }> };
}

/**
 * A result in the core's JSON form (snake_case structural keys), as the `*Json`
 * methods return it: the form of the conformance vectors and of the Python,
 * Kotlin and Swift bindings.
 */
export type CoreJson = any;

/** Three-valued truth of a clause. */
export type Truth = 'true' | 'false' | 'unknown';

/** One clause of an explanation. */
export interface ExplainNode {
  clause: string;
  truth: Truth;
  observed?: string;
  children?: ExplainNode[];
}

/** Why a rule matched or not. */
export interface Explanation {
  rule: string;
  matched: boolean;
  root: ExplainNode;
}

/** One profile with its events, for bulk evaluation. */
export interface EvaluateItem {
  profile: ProfileInput;
  events?: EventInput[];
}

/** A rule set compiled against a schema. Immutable; evaluates many profiles. */
export declare class CompiledRuleSet {
  /** Compiles `rules` (a RuleSet, DSL text, or the JSON form) against `schema`. */
  constructor(rules: RuleSet | string | object, schema: Schema | JsonInput<object>);
  static compile(rules: RuleSet | string | object, schema: Schema | JsonInput<object>): CompiledRuleSet;
  /** Rule names in declaration order. */
  readonly ruleNames: string[];
  /** Membership of the profile in every rule at `now`. `defaultZone` applies when the profile has no zone (default UTC). */
  evaluate(profile: JsonInput<ProfileInput>, events: JsonInput<EventInput[]> | undefined, now: Instant, defaultZone?: string): Record<string, boolean>;
  /** Explains one rule's verdict. */
  explain(rule: string, profile: JsonInput<ProfileInput>, events: JsonInput<EventInput[]> | undefined, now: Instant, defaultZone?: string): Explanation;
  /**
   * Evaluates profiles given as trait columns (no events; NaN / null / a negative code = missing);
   * `matches[row * rules.length + r]` is 1 when rule r matched. Dictionary-encoded string columns
   * cross without a per-row conversion; `threads` (default 1) splits the rows.
   */
  evaluateColumns(
    columns: Record<string, Float64Array | number[] | Array<string | null> | DictionaryColumn>,
    now: Instant,
    defaultZone?: string | null,
    options?: { threads?: number },
  ): { rules: string[]; rows: number; matches: Uint8Array };
  /** Evaluates many profiles on a worker thread (off the event loop). The first invalid item rejects with its index prefixed to `path`. */
  evaluateMany(items: EvaluateItem[], now: Instant, defaultZone?: string): Promise<Array<Record<string, boolean>>>;
  /**
   * Evaluates the profiles of an Arrow IPC buffer (stream or file format, e.g. `tableToIPC(table)`
   * from `apache-arrow`) with their events (an events buffer, or null) on worker threads.
   * Resolves to plain objects, or with `output: 'arrow'` to an Arrow IPC stream Buffer.
   */
  evaluateArrow(profiles: ArrowIpcInput, events: ArrowIpcInput | null | undefined, now: Instant, options?: ArrowOptions & { output?: 'objects' }): Promise<ArrowMembership>;
  evaluateArrow(profiles: ArrowIpcInput, events: ArrowIpcInput | null | undefined, now: Instant, options: ArrowOptions & { output: 'arrow' }): Promise<Buffer>;
}

/** Arrow IPC bytes (stream or file format), e.g. the result of `tableToIPC`. */
export type ArrowIpcInput = Uint8Array | ArrayBuffer;

/** A dictionary-encoded string column: `dictionary[codes[i]]` is row i's value (a negative code = missing). */
export interface DictionaryColumn {
  codes: Int32Array;
  dictionary: Array<string | null>;
}

/** Column mapping and options of `evaluateArrow` (the Python bulk API's conventions). */
export interface ArrowOptions {
  /** Zone for profiles without one (default UTC). */
  defaultZone?: string;
  /** Profile id column (text or integers; unique, non-null). Default `"id"`. */
  idColumn?: string;
  /** Trait columns: column names (= trait names) or `{ column: trait }`. Default: every other column. */
  traits?: string[] | Record<string, string>;
  /** Column with each profile's IANA zone. */
  timeZoneColumn?: string;
  /** The event's profile id column. Default `"user_id"`. */
  userIdColumn?: string;
  /** Event name column. Default `"name"`. */
  eventNameColumn?: string;
  /** Arrow timestamp (any unit) or RFC 3339 text column. Default `"timestamp"`. */
  timestampColumn?: string;
  /** Event id column for de-duplication; without it every row is distinct. */
  eventIdColumn?: string;
  /** Property columns: column names (= property names) or `{ column: property }`. Default: every other column. */
  properties?: string[] | Record<string, string>;
  /** Worker threads (default: all cores); the result never depends on it. */
  threads?: number;
  /** `'objects'` (default) or `'arrow'` (an Arrow IPC stream Buffer: the id column, then one boolean column per rule). */
  output?: 'objects' | 'arrow';
}

/** Segment membership of an Arrow bulk run, rows in the profiles table's order. */
export interface ArrowMembership {
  /** Profile ids. */
  ids: string[];
  /** `results[i]` is `{ rule: matched }` for `ids[i]`. */
  results: Array<Record<string, boolean>>;
  /** Events whose user id matched no profile (ignored). */
  unmatchedEvents: number;
}

/** A persisted lifecycle state (versioned). */
export interface StageState {
  version: number;
  stage: string;
  since: string;
}

/** A stage change. */
export interface StageTransition {
  from: string;
  to: string;
  at: string;
  rule: string | null;
}

/** The result of classifying a profile. */
export interface StageOutcome {
  /** The new state: persist it and pass it back as `previous` next time. */
  state: StageState;
  /** Stages whose rules hold, in precedence order. */
  matched: string[];
  /** The deciding rule. */
  rule: string | null;
  /** Why the deciding rule holds. */
  reason: Explanation | null;
  /** Why the stage did not change although another stage matched. */
  held: 'min_dwell' | 'transition_not_allowed' | null;
  transition: StageTransition | null;
}

/** One day of a replay. */
export interface DayStage {
  date: string;
  stage: string;
  transition: StageTransition | null;
}

/** A lifecycle model compiled against a schema. */
export declare class Lifecycle {
  /** `model`: a model document, or `'default'`/undefined for the shipped model; `schema` defaults to `Schema.lifecycleDefault()`. */
  constructor(model?: JsonInput<object> | 'default', schema?: Schema | JsonInput<object>);
  static compile(model?: JsonInput<object> | 'default', schema?: Schema | JsonInput<object>): Lifecycle;
  /** The compiled stage rule names. */
  readonly ruleNames: string[];
  /** Classifies the profile at `now`. */
  evaluate(
    profile: JsonInput<ProfileInput>,
    events: JsonInput<EventInput[]> | undefined,
    now: Instant,
    options?: { previous?: JsonInput<StageState> | null; defaultZone?: string },
  ): StageOutcome;
  /** The stage of each local day `from..=to` (YYYY-MM-DD). */
  replay(
    profile: JsonInput<ProfileInput>,
    events: JsonInput<EventInput[]> | undefined,
    from: string,
    to: string,
    options?: { initial?: JsonInput<StageState> | null; defaultZone?: string },
  ): DayStage[];
}

/** One tag change of a tag-rule application. */
export interface TagChange {
  tag: string;
  group?: string | null;
  rule: string;
  reason: 'rule_holds' | 'rule_stopped' | 'exclusive_group' | 'ttl';
  expiresAt?: string;
}

/** What one application of tag rules changed. */
export interface TagDiff {
  added: TagChange[];
  removed: TagChange[];
  expired: TagChange[];
}

/** Tag rules compiled against a schema. */
export declare class TagRules {
  /** `rules`: a tag-rule document `{"rules": [...]}`; `schema` defaults to `Schema.lifecycleDefault()`. */
  constructor(rules: JsonInput<object>, schema?: Schema | JsonInput<object>);
  static compile(rules: JsonInput<object>, schema?: Schema | JsonInput<object>): TagRules;
  /** Applies the rules at `now`; returns the diff and the updated profile (persist it). */
  apply(
    profile: JsonInput<ProfileInput>,
    events: JsonInput<EventInput[]> | undefined,
    now: Instant,
    defaultZone?: string,
  ): TagApplication;
  /** `apply` with the core's JSON form of the result (`expires_at`). */
  applyJson(
    profile: JsonInput<ProfileInput>,
    events: JsonInput<EventInput[]> | undefined,
    now: Instant,
    defaultZone?: string,
  ): CoreJson;
}

/** The result of applying tag rules: the diff and the updated profile (a document: persist it). */
export interface TagApplication {
  diff: TagDiff;
  profile: Record<string, unknown>;
}

/** RFM values of one customer. */
export interface RfmValues {
  recencyDays: number;
  frequency: number;
  monetary: number;
}

/** RFM values in the core's JSON form (what `rfm.valuesJson` returns; `fit` and `score` take either form). */
export interface RfmValuesJson {
  recency_days: number;
  frequency: number;
  monetary: number;
}

/** Thresholds fitted to a population (a document: store it) and every member's scores. */
export interface RfmFit {
  thresholds: Record<string, unknown>;
  scores: Array<[number, number, number]>;
}

/** The result of `rfm.apply` (`values` null, and nothing else, without a qualifying purchase). */
export interface RfmApplication {
  values: RfmValues | null;
  scores?: [number, number, number];
  segment?: string;
  /** The updated profile (a document: persist it). */
  profile?: Record<string, unknown>;
}

/** Options of `rfm.apply`. */
export interface RfmApplyOptions {
  thresholds: JsonInput<object>;
  config?: JsonInput<object>;
  map?: 'standard_11' | 'four_layer' | JsonInput<object>;
  group?: string;
  schema?: Schema | JsonInput<object>;
}

/** RFM scoring (values, thresholds, scores, segment maps). Thresholds and maps are the core's JSON documents. */
export declare const rfm: {
  values(events: JsonInput<EventInput[]> | undefined, now: Instant, options?: { config?: JsonInput<object>; schema?: Schema | JsonInput<object> }): RfmValues | null;
  /** `values` in the core's JSON form (`recency_days`). */
  valuesJson(events: JsonInput<EventInput[]> | undefined, now: Instant, options?: { config?: JsonInput<object>; schema?: Schema | JsonInput<object> }): RfmValuesJson | null;
  fit(method: 'quantile' | 'range' | 'fixed', population: JsonInput<Array<RfmValues | RfmValuesJson>>): RfmFit;
  score(thresholds: JsonInput<object>, values: JsonInput<RfmValues | RfmValuesJson>): [number, number, number];
  segment(map: 'standard_11' | 'four_layer' | JsonInput<object> | undefined, scores: [number, number, number]): string | null;
  apply(profile: JsonInput<ProfileInput>, events: JsonInput<EventInput[]> | undefined, now: Instant, options: RfmApplyOptions): RfmApplication;
  /** `apply` with the core's JSON form of the result (`values.recency_days`). */
  applyJson(profile: JsonInput<ProfileInput>, events: JsonInput<EventInput[]> | undefined, now: Instant, options: RfmApplyOptions): CoreJson;
};

/**
 * A customer row in the core's form: what `clv.summarize` returns and what the
 * scoring calls take (a document: snake_case keys, as in every binding).
 * Calibration/holdout rows have `frequency_cal`, `recency_cal`, `T_cal`,
 * `monetary_value_cal`, `frequency_holdout`, `monetary_value_holdout` and `duration_holdout`.
 */
export type CustomerRow = Record<string, unknown>;

/** A fitted model: its parameters (a document: store it) and the fit's log-likelihood. */
export interface ClvFit {
  params: Record<string, unknown>;
  logLikelihood: number;
  customers: number;
}

/** Purchase-model predictions. */
export interface ClvPrediction {
  /** Expected purchases of a new customer within `t`. */
  expectedPurchases: number;
  rows: ClvPredictionRow[];
}

/** One customer's purchase-model prediction. */
export interface ClvPredictionRow {
  pAlive: number;
  conditionalExpectedPurchases: number;
  logLikelihood: number;
}

/** Spend-model predictions. */
export interface ClvSpend {
  meanSpend: number;
  rows: ClvSpendRow[];
}

/** One customer's expected average order value. */
export interface ClvSpendRow {
  expectedAverageValue: number;
}

/** Customer-value models. Transactions, customer rows, parameters and model documents are the core's JSON forms (snake_case). */
export declare const clv: {
  summarize(
    transactions: Array<{ customer_id: string; timestamp: string; value: number }>,
    observationEnd: string,
    options?: { calibrationEnd?: string; unit?: 'days' | 'weeks' | 'months'; zone?: string; decimals?: number },
  ): CustomerRow[];
  fit(
    model: 'bgnbd' | 'mbgnbd' | 'paretonbd' | 'gammagamma',
    columns: { frequency: number[]; recency?: number[]; T?: number[]; monetaryValue?: number[] },
    options?: { penalizer?: number },
  ): ClvFit;
  /** `fit` with the core's JSON form of the result (`log_likelihood`). */
  fitJson(
    model: 'bgnbd' | 'mbgnbd' | 'paretonbd' | 'gammagamma',
    columns: { frequency: number[]; recency?: number[]; T?: number[]; monetaryValue?: number[] },
    options?: { penalizer?: number },
  ): CoreJson;
  predict(params: Record<string, unknown>, t: number, customers: Array<{ frequency: number; recency: number; T: number }>): ClvPrediction;
  /** `predict` with the core's JSON form of the result. */
  predictJson(params: Record<string, unknown>, t: number, customers: Array<{ frequency: number; recency: number; T: number }>): CoreJson;
  spend(params: Record<string, unknown>, customers: Array<{ frequency: number; monetary_value: number }>): ClvSpend;
  /** `spend` with the core's JSON form of the result. */
  spendJson(params: Record<string, unknown>, customers: Array<{ frequency: number; monetary_value: number }>): CoreJson;
  lifetimeValue(
    model: Record<string, unknown>,
    customers: Array<{ frequency: number; recency: number; T: number; monetary_value: number }>,
    options: { months: number; discountRate: number; unit: 'days' | 'weeks' | 'months' },
  ): number[];
  modelDocument(document: JsonInput<object>): Record<string, unknown>;
};

/** A points ledger document (persist it as is). */
export type Ledger = Record<string, unknown>;

/** The new ledger and the earn entries made (entries are ledger items: the ledger's keys). */
export interface PointsEarning {
  ledger: Ledger;
  entries: Array<Record<string, unknown>>;
}

/** The new ledger and the redemption entry (a ledger item). */
export interface PointsRedemption {
  ledger: Ledger;
  entry: Record<string, unknown>;
}

/** What a ledger means at a time. `entries` and `lots` are the ledger's own items (its keys, e.g. `expires_at`). */
export interface PointsSummary {
  balance: number;
  lifetime: number;
  level: string | null;
  benefits: string[];
  entries: Array<Record<string, unknown>>;
  lots: Array<Record<string, unknown>>;
}

/** A tier evaluation. `state` is a document: persist it and pass it back next time. */
export interface TierOutcome {
  state: Record<string, unknown>;
  /** The tier the window qualifies for (before grace). */
  qualified: string | null;
  windowPoints: number;
  windowSpend: number;
  inGrace: boolean;
  change: TierChange | null;
  /** The tier after this evaluation. */
  tier: string | null;
  benefits: string[];
}

/** A tier change. */
export interface TierChange {
  from: string | null;
  to: string | null;
  at: string;
  kind: string;
}

/** A points model validated against a schema (default: `Schema.lifecycleDefault()`). Ledgers are JSON documents. */
export declare class PointsModel {
  constructor(model?: JsonInput<object> | 'default', schema?: Schema | JsonInput<object>);
  applyEvent(ledger: JsonInput<Ledger> | null | undefined, event: JsonInput<EventInput>, zone?: string): PointsEarning;
  applyEvents(ledger: JsonInput<Ledger> | null | undefined, events: JsonInput<EventInput[]> | undefined, now: Instant, zone?: string): Ledger;
  redeem(ledger: JsonInput<Ledger> | null | undefined, points: number, at: Instant, reference?: string): PointsRedemption;
  expire(ledger: JsonInput<Ledger> | null | undefined, now: Instant): Ledger;
  summary(ledger: JsonInput<Ledger> | null | undefined, now: Instant): PointsSummary;
  evaluateTier(
    ledger: JsonInput<Ledger> | null | undefined,
    events: JsonInput<EventInput[]> | undefined,
    state: JsonInput<object> | null | undefined,
    now: Instant,
  ): TierOutcome;
  /** `evaluateTier` with the core's JSON form of the outcome (`window_points`, `in_grace` ...). */
  evaluateTierJson(
    ledger: JsonInput<Ledger> | null | undefined,
    events: JsonInput<EventInput[]> | undefined,
    state: JsonInput<object> | null | undefined,
    now: Instant,
  ): CoreJson;
  engagement(events: JsonInput<EventInput[]> | undefined, now: Instant): number;
}

/** The result of one journey step. */
export interface JourneyStep {
  effects: JourneyEffect[];
  notices: JourneyNotice[];
  /** Call again with a tick by then at the latest (null: only on inputs). */
  nextWake: string | null;
  /** The new user state (a document): persist it (or its binary form, `journeys.encodeState`). */
  state: { format: number; instances?: Array<Record<string, unknown>>; [key: string]: unknown };
}

/** Something the host must carry out (docs/journeys.md); `type` names the action and which fields it has. */
export interface JourneyEffect {
  /** Unique, deterministic id: use it as the idempotency key. */
  id: string;
  journey: string;
  node: string;
  /** Instance key (absent for unkeyed instances). */
  key?: string;
  at: string;
  type: 'send_message' | 'update_tags' | 'set_traits' | 'create_task' | 'call_host';
  channel?: string;
  template?: string;
  purpose?: string;
  add?: string[];
  remove?: string[];
  /** Trait values to set (a document: trait names as in the schema). */
  traits?: Record<string, unknown>;
  assignee?: string;
  action?: string;
  /** Host-call parameters (a document, as written in the journey). */
  params?: unknown;
}

/** Something that happened, for reporting and explanation (docs/journeys.md). */
export interface JourneyNotice {
  type: string;
  journey?: string;
  key?: string;
  node?: string;
  at: string;
  reason?: string;
  detail?: string;
  until?: string;
}

/** A journey definition's validation report. */
export interface JourneyReport {
  /** Worst-case messages one instance can send within 24 hours (null: unbounded). */
  maxMessagesPerDay: number | null;
  nodes: number;
}

/** The result of a migration: the moves and the new user state (a document: persist it). */
export interface JourneyMigration {
  moves: MigrationMove[];
  state: Record<string, unknown>;
}

/** One instance's move (or the problem that prevents it). */
export interface MigrationMove {
  key?: string;
  seq: number;
  fromNode: string;
  toNode?: string;
  problem?: string;
}

/** A loaded definition. */
export interface JourneyDefinitionRef {
  id: string;
  version: number;
}

/** A simulation forecast. Map keys (journey and node ids, days, reasons, effect types) are data, as given. */
export interface SimulationReport {
  users: number;
  /** Steps taken (inputs and ticks). */
  steps: number;
  journeys: Record<string, JourneySimulation>;
  /** Messages sent per local calendar day (`YYYY-MM-DD` in each user's zone). */
  messagesPerDay: Record<string, number>;
  /** Suppressed messages by reason. */
  suppressions: Record<string, number>;
  /** Deferred messages by reason. */
  deferrals: Record<string, number>;
  /** Effects by type (`send_message`, `create_task` …). */
  effects: Record<string, number>;
}

/** Simulated counts of one journey. */
export interface JourneySimulation {
  entered: number;
  /** Entries refused by the re-entry policy. */
  entrySkipped: number;
  completed: number;
  converted: number;
  exited: number;
  nodes: Record<string, NodeSimulation>;
}

/** Simulated counts of one node. */
export interface NodeSimulation {
  entered: number;
  /** Instances at the node when the period ended. */
  waiting: number;
  exited: number;
  converted: number;
  completed: number;
}

/** A profile and event history parsed for one engine (opaque; from `JourneyEngine.subject`). */
export interface JourneySubject {
  readonly __journeySubject: unique symbol;
}

/** The result of `JourneyEngine.stepBytes`. */
export interface JourneyStepBytes {
  /** The new user state in its versioned binary form: persist it as is. */
  state: Buffer;
  effects: Array<Record<string, unknown>>;
  notices: Array<Record<string, unknown>>;
  /** Call again with a tick by then at the latest (null: only on inputs). */
  nextWake: string | null;
}

/** The result of `JourneyEngine.stepState`. */
export interface JourneyStepState {
  /** The new user state in its versioned binary form: persist it as is. */
  state: Buffer;
  effects: Array<Record<string, unknown>>;
  notices: Array<Record<string, unknown>>;
  /** Call again with a tick by then at the latest, milliseconds since the epoch (null: only on inputs). */
  nextWake: number | null;
}

/** A journey input. */
export type JourneyInput =
  | { type: 'event'; event: EventInput }
  | { type: 'tick' }
  | { type: 'profile_changed' }
  | { type: 'outcome'; effect: string; status: 'delivered' | 'failed' }
  | { type: 'enter'; journey: string; key?: string };

/** Journeys compiled against a schema under engine policies. */
export declare class JourneyEngine {
  constructor(journeys: JsonInput<object[]>, options?: { schema?: Schema | JsonInput<object>; policies?: JsonInput<object> });
  /** Validation reports of every definition, by id. */
  reports(): Record<string, JourneyReport>;
  /** `reports` in the core's JSON form (`max_messages_per_day`). */
  reportsJson(): CoreJson;
  /** Processes one input for one user at `now`; the given state is not modified. */
  step(
    state: JsonInput<object> | null | undefined,
    profile: JsonInput<ProfileInput>,
    events: JsonInput<EventInput[]> | undefined,
    input: JsonInput<JourneyInput> | undefined,
    now: Instant,
  ): JourneyStep;
  /** `step` with the core's JSON form of the result (`next_wake`), as in the conformance vectors. */
  stepJson(
    state: JsonInput<object> | null | undefined,
    profile: JsonInput<ProfileInput>,
    events: JsonInput<EventInput[]> | undefined,
    input: JsonInput<JourneyInput> | undefined,
    now: Instant,
  ): CoreJson;
  /**
   * As `step`, with the user state in its versioned binary form both ways
   * (restore + step + persist in one call): pass the stored bytes (null for a
   * new user) and persist the returned `state`.
   */
  stepBytes(
    state: Uint8Array | null | undefined,
    profile: JsonInput<ProfileInput> | JourneySubject,
    events: JsonInput<EventInput[]> | undefined,
    input: JsonInput<JourneyInput> | undefined,
    now: Instant,
  ): JourneyStepBytes;
  /**
   * The lean restore + step + persist cycle for a prepared subject: binary state
   * both ways, `input` null/undefined for a tick, `now` in milliseconds since
   * the epoch (or a Date). Same semantics and results as `stepBytes`; the
   * returned `state` is a view of a reused arena (as a `Buffer.allocUnsafe`
   * slice is of Node's pool), never written again.
   */
  stepState(
    state: Uint8Array | null | undefined,
    subject: JourneySubject,
    input: JsonInput<JourneyInput> | null | undefined,
    now: number | Date,
  ): JourneyStepState;
  /** Parses a profile and event history once, for repeated `stepBytes` calls (in place of the profile). */
  subject(profile: JsonInput<ProfileInput>, events?: JsonInput<EventInput[]>): JourneySubject;
  /** The Mermaid flowchart of a loaded journey (latest version unless given). */
  mermaid(id: string, version?: number): string;
  /** The loaded definitions. */
  definitions(): JourneyDefinitionRef[];
  /** Replays users through the journeys over `[start, end)` from empty state, on a worker thread (off the event loop). */
  simulate(users: Array<{ profile: ProfileInput; events?: EventInput[] }>, start: Instant, end: Instant): Promise<SimulationReport>;
  /** `simulate` with the core's JSON form of the report (`messages_per_day`, `entry_skipped`). */
  simulateJson(users: Array<{ profile: ProfileInput; events?: EventInput[] }>, start: Instant, end: Instant): Promise<CoreJson>;
  /** Moves instances to other versions per a migration map (a document: `from_version`, `to_version`, `nodes`). */
  migrate(state: JsonInput<object>, map: JsonInput<object>, now: Instant, options?: { dryRun?: boolean }): JourneyMigration;
  /** `migrate` with the core's JSON form of the result (`from_node`, `to_node`). */
  migrateJson(state: JsonInput<object>, map: JsonInput<object>, now: Instant, options?: { dryRun?: boolean }): CoreJson;
}

/** Journey helpers. */
export declare const journeys: {
  validate(definition: JsonInput<object>, schema?: Schema | JsonInput<object>): JourneyReport;
  /** `validate` with the core's JSON form of the report (`max_messages_per_day`). */
  validateJson(definition: JsonInput<object>, schema?: Schema | JsonInput<object>): CoreJson;
  encodeState(state: JsonInput<object>): Buffer;
  encodeInstances(state: JsonInput<object>): Buffer[];
  decodeState(bytes: Uint8Array): Record<string, unknown>;
  hash(seed: string, value: string, version?: number): number | null;
  /** The Mermaid flowchart of one definition. */
  mermaid(definition: JsonInput<object>): string;
};

/** Value-model score options (defaults: horizon 4.345, months 12, monthly_discount_rate 0.01, unit 'weeks'). */
export interface ScoreOptions {
  horizon?: number;
  months?: number;
  monthly_discount_rate?: number;
  unit?: string;
}

/** One customer's scores (`expectedValue` and `clv` need a spend model). */
export interface CustomerScores {
  pAlive: number;
  expectedPurchases: number;
  expectedValue: number | null;
  clv: number | null;
}

/** Column-wise purchase-model scores, one entry per customer. */
export interface ColumnScores {
  pAlive: number[];
  expectedPurchases: number[];
}

/** A fitted value-model document (`{ version: 1, purchase?, spend? }`): scores customers. */
export declare class ValueModel {
  constructor(document: JsonInput<object>);
  /** The normalised document. */
  toJson(): Record<string, unknown>;
  /** Scores customers one by one. */
  score(customers: JsonInput<Array<{ frequency: number; recency: number; T: number; monetary_value?: number }>>, options?: JsonInput<ScoreOptions>): CustomerScores[];
  /** `score` in the core's JSON form (`p_alive`, `expected_purchases` ...). */
  scoreJson(customers: JsonInput<Array<{ frequency: number; recency: number; T: number; monetary_value?: number }>>, options?: JsonInput<ScoreOptions>): CoreJson;
  /** Column-wise P(alive) and expected purchases at `horizon` (model time units). */
  scoreColumns(
    columns: { frequency: number[] | Float64Array; recency: number[] | Float64Array; T: number[] | Float64Array },
    horizon?: number,
  ): ColumnScores;
  /** `scoreColumns` in the core's JSON form (`p_alive`, `expected_purchases`). */
  scoreColumnsJson(
    columns: { frequency: number[] | Float64Array; recency: number[] | Float64Array; T: number[] | Float64Array },
    horizon?: number,
  ): CoreJson;
  /** Scores one customer and writes the scores into the profile's score map; returns the profile. */
  scoreProfile(
    profile: JsonInput<ProfileInput>,
    customer: JsonInput<{ frequency: number; recency: number; T: number; monetary_value?: number }>,
    options?: { schema?: Schema | JsonInput<object>; options?: JsonInput<ScoreOptions> },
  ): Record<string, unknown>;
}

/** An analytics request: the fields of conformance/README.md (`analytics`) for the operation (a document: the core's keys). */
export type AnalyticsRequest = Record<string, unknown>;

/** Cohort retention. */
export interface RetentionReport {
  granularity: 'day' | 'week';
  cohorts: RetentionCohort[];
}

/** One cohort's row: users retained and rates per period (null: period not yet complete). */
export interface RetentionCohort {
  cohort: string;
  size: number;
  retained: Array<number | null>;
  rates: Array<number | null>;
}

/** Daily, weekly and monthly active users per day. */
export interface ActiveUsersReport {
  days: ActiveUsersDay[];
}

/** One day of active users. */
export interface ActiveUsersDay {
  date: string;
  dau: number;
  wau: number;
  mau: number;
  stickiness: number | null;
}

/** Share of buyers who bought more than once. */
export interface RepeatPurchaseReport {
  buyers: number;
  repeatBuyers: number;
  rate: number;
}

/** A funnel. */
export interface FunnelReport {
  steps: FunnelStep[];
}

/** One funnel step. */
export interface FunnelStep {
  name: string;
  users: number;
  conversionFromStart: number | null;
  conversionFromPrevious: number | null;
}

/** Viral growth (k-factor). */
export interface KFactorReport {
  invitesPerUser: number;
  conversionRate: number | null;
  kFactor: number;
}

/** Conversion per acquisition channel. */
export interface ChannelConversionReport {
  channels: ChannelConversion[];
}

/** One channel's conversion (`channel` is data, as given). */
export interface ChannelConversion {
  channel: string;
  users: number;
  converted: number;
  rate: number;
}

/** Two-proportion z-test. */
export interface ZTestReport {
  rateControl: number;
  rateVariant: number;
  difference: number;
  z: number;
  pValue: number;
}

/** Chi-square test of independence over arms. */
export interface ChiSquareReport {
  statistic: number;
  degreesOfFreedom: number;
  pValue: number;
}

/** Beta-binomial comparison of a variant with the control. */
export interface BayesReport {
  meanControl: number;
  meanVariant: number;
  probabilityVariantBeatsControl: number;
}

/** Sample size per arm. */
export interface SampleSizeReport {
  perArm: number;
}

/** Association rules (frequent pairs or sequential rules; items are data, as given). */
export interface AssociationReport {
  rules: AssociationRule[];
}

/** One association rule. */
export interface AssociationRule {
  antecedent: string;
  consequent: string;
  count: number;
  support: number;
  confidence: number;
  lift: number;
}

/** Best send hours. */
export interface SendTimeReport {
  weight: number;
  /** Population open share per local hour (24 entries). */
  population: number[];
  populationBestHour: number;
  users: UserSendTime[];
}

/** One user's best send hour. */
export interface UserSendTime {
  userId: string;
  opens: number;
  bestHour: number;
  share: number;
}

/** An analytics report (what `analytics.run` returns for some operation). */
export type AnalyticsReport =
  | RetentionReport
  | ActiveUsersReport
  | RepeatPurchaseReport
  | FunnelReport
  | KFactorReport
  | ChannelConversionReport
  | ZTestReport
  | ChiSquareReport
  | BayesReport
  | SampleSizeReport
  | AssociationReport
  | SendTimeReport;
/** The analytics operation names `analytics.run` accepts. */
export type AnalyticsOp =
  | 'retention'
  | 'active_users'
  | 'repeat_purchase_rate'
  | 'funnel'
  | 'k_factor'
  | 'channel_conversion'
  | 'z_test'
  | 'chi_square'
  | 'bayes'
  | 'sample_size'
  | 'frequent_pairs'
  | 'sequential_rules'
  | 'send_time';

/**
 * Analytics reports: retention, activity, funnels, growth, A/B tests, association
 * rules, send time. Reports have camelCase keys; each `*Json` method returns the
 * core's JSON form of the report (snake_case, as in the conformance vectors).
 */
export declare const analytics: {
  run(op: AnalyticsOp, request: JsonInput<AnalyticsRequest>): AnalyticsReport;
  runJson(op: AnalyticsOp, request: JsonInput<AnalyticsRequest>): CoreJson;
  retention(request: JsonInput<AnalyticsRequest>): RetentionReport;
  retentionJson(request: JsonInput<AnalyticsRequest>): CoreJson;
  activeUsers(request: JsonInput<AnalyticsRequest>): ActiveUsersReport;
  activeUsersJson(request: JsonInput<AnalyticsRequest>): CoreJson;
  repeatPurchaseRate(request: JsonInput<AnalyticsRequest>): RepeatPurchaseReport;
  repeatPurchaseRateJson(request: JsonInput<AnalyticsRequest>): CoreJson;
  funnel(request: JsonInput<AnalyticsRequest>): FunnelReport;
  funnelJson(request: JsonInput<AnalyticsRequest>): CoreJson;
  kFactor(request: JsonInput<AnalyticsRequest>): KFactorReport;
  kFactorJson(request: JsonInput<AnalyticsRequest>): CoreJson;
  channelConversion(request: JsonInput<AnalyticsRequest>): ChannelConversionReport;
  channelConversionJson(request: JsonInput<AnalyticsRequest>): CoreJson;
  zTest(request: JsonInput<AnalyticsRequest>): ZTestReport;
  zTestJson(request: JsonInput<AnalyticsRequest>): CoreJson;
  chiSquare(request: JsonInput<AnalyticsRequest>): ChiSquareReport;
  chiSquareJson(request: JsonInput<AnalyticsRequest>): CoreJson;
  bayes(request: JsonInput<AnalyticsRequest>): BayesReport;
  bayesJson(request: JsonInput<AnalyticsRequest>): CoreJson;
  sampleSize(request: JsonInput<AnalyticsRequest>): SampleSizeReport;
  sampleSizeJson(request: JsonInput<AnalyticsRequest>): CoreJson;
  frequentPairs(request: JsonInput<AnalyticsRequest>): AssociationReport;
  frequentPairsJson(request: JsonInput<AnalyticsRequest>): CoreJson;
  sequentialRules(request: JsonInput<AnalyticsRequest>): AssociationReport;
  sequentialRulesJson(request: JsonInput<AnalyticsRequest>): CoreJson;
  sendTime(request: JsonInput<AnalyticsRequest>): SendTimeReport;
  sendTimeJson(request: JsonInput<AnalyticsRequest>): CoreJson;
};

declare const siyu: {
  version: typeof version;
  Schema: typeof Schema;
  RuleSet: typeof RuleSet;
  CompiledRuleSet: typeof CompiledRuleSet;
  Lifecycle: typeof Lifecycle;
  TagRules: typeof TagRules;
  rfm: typeof rfm;
  PointsModel: typeof PointsModel;
  clv: typeof clv;
  analytics: typeof analytics;
  JourneyEngine: typeof JourneyEngine;
  journeys: typeof journeys;
  ValueModel: typeof ValueModel;
  parseZone: typeof parseZone;
  errorCodes: typeof errorCodes;
  errorClassForCode: typeof errorClassForCode;
  SiyuError: typeof SiyuError;
  RuleSyntaxError: typeof RuleSyntaxError;
  InvalidJsonError: typeof InvalidJsonError;
  UnknownTraitError: typeof UnknownTraitError;
  UnknownEventError: typeof UnknownEventError;
  UnknownPropertyError: typeof UnknownPropertyError;
  UnknownSegmentError: typeof UnknownSegmentError;
  UnknownTagGroupError: typeof UnknownTagGroupError;
  UnknownFunctionError: typeof UnknownFunctionError;
  TypeMismatchError: typeof TypeMismatchError;
  SegmentCycleError: typeof SegmentCycleError;
  DuplicateNameError: typeof DuplicateNameError;
  LimitExceededError: typeof LimitExceededError;
  InvalidRegexError: typeof InvalidRegexError;
  InvalidTimeZoneError: typeof InvalidTimeZoneError;
  InvalidTimeError: typeof InvalidTimeError;
  InvalidSchemaError: typeof InvalidSchemaError;
  InvalidProfileError: typeof InvalidProfileError;
  InvalidEventError: typeof InvalidEventError;
  InvalidMergeError: typeof InvalidMergeError;
  InvalidArgumentError: typeof InvalidArgumentError;
  InvalidModelError: typeof InvalidModelError;
  InvalidStateError: typeof InvalidStateError;
  NumericDomainError: typeof NumericDomainError;
  InternalError: typeof InternalError;
};
export default siyu;
