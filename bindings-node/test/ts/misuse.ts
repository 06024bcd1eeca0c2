// Must NOT compile: results have camelCase structural keys (ADR 0005), so the
// core's snake_case `next_wake` is not a property of JourneyStep.
import { JourneyEngine, type JourneyStep } from '../../index.js';

export function wake(engine: JourneyEngine): string | null {
  const step: JourneyStep = engine.step(null, { id: 'u1' }, undefined, { type: 'tick' }, new Date());
  return step.next_wake;
}
