import type { ComponentId } from "../src/core/codes.js";
import type { ErrorCode } from "../src/core/errors.js";

/** A byte vector and what it must decode to. `values` are in the unit the device sent. */
export interface Fixture {
  name: string;
  characteristic?: string;
  hex: string;
  expect:
    | {
        values: Partial<Record<ComponentId, number>>;
        flags?: string[];
        deviceTime?: string;
        seq?: number;
        userSlot?: number;
        meta?: Record<string, string | number | boolean>;
      }
    | { none: true }
    | { error: ErrorCode };
}
