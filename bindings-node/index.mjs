// ESM entry point: re-exports the CommonJS module (one native addon instance).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const siyu = require('./index.js');

export const {
  version,
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
  parseZone,
  errorCodes,
  errorClassForCode,
  SiyuError,
  RuleSyntaxError,
  InvalidJsonError,
  UnknownTraitError,
  UnknownEventError,
  UnknownPropertyError,
  UnknownSegmentError,
  UnknownTagGroupError,
  UnknownFunctionError,
  TypeMismatchError,
  SegmentCycleError,
  DuplicateNameError,
  LimitExceededError,
  InvalidRegexError,
  InvalidTimeZoneError,
  InvalidTimeError,
  InvalidSchemaError,
  InvalidProfileError,
  InvalidEventError,
  InvalidMergeError,
  InvalidArgumentError,
  InvalidModelError,
  InvalidStateError,
  NumericDomainError,
  InternalError,
} = siyu;
export default siyu;
