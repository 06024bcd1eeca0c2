// Compiled (never run) by test/typescript.test.mjs with `tsc --strict`: the
// declarations in index.d.ts must type-check a backend's ordinary use of the
// package, camelCase result keys included (ADR 0005).
import {
  CompiledRuleSet,
  JourneyEngine,
  RuleSyntaxError,
  Schema,
  SiyuError,
  type ErrorCode,
  type JourneyStep,
} from '../../index.js';

const schema = new Schema({ traits: { city: 'string', age: 'integer' } });
const rules = new CompiledRuleSet('segment adult: age >= 18', schema);
const member: boolean | undefined = rules.evaluate({ id: 'u1', traits: { age: 30 } }, undefined, new Date())['adult'];
const flags: Promise<Array<Record<string, boolean>>> = rules.evaluateMany(
  [{ profile: { id: 'u1', traits: { age: 30 } } }],
  '2026-03-01T00:00:00Z',
);

function handle(engine: JourneyEngine, state: object | null): { wake: string | null; ids: string[] } {
  const step: JourneyStep = engine.step(state, { id: 'u1' }, undefined, { type: 'tick' }, new Date());
  return { wake: step.nextWake, ids: step.effects.map((e) => e.id) };
}

function describe(e: unknown): string {
  if (e instanceof RuleSyntaxError) return `${e.code} at ${e.position?.line}:${e.position?.column}`;
  if (e instanceof SiyuError) {
    const code: ErrorCode = e.code;
    return `${code}${e.path ? ` (${e.path})` : ''}${e.suggestion ? `; did you mean ${e.suggestion}?` : ''}`;
  }
  return String(e);
}

export { member, flags, handle, describe };
