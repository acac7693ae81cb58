import type { Document } from "yaml";

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Makes the value at `path` in `doc` go from `before` to `after` by editing only what differs:
 * map keys and list items (by position) that did not change keep their node, and with it the
 * comments and layout the technician wrote. A changed scalar keeps a comment beside it.
 */
export function editInPlace(
  doc: Document,
  path: ReadonlyArray<string | number>,
  before: unknown,
  after: unknown,
): void {
  if (JSON.stringify(before) === JSON.stringify(after)) return;
  if (isMap(before) && isMap(after) && doc.hasIn(path)) {
    for (const key of Object.keys(before)) if (!(key in after)) doc.deleteIn([...path, key]);
    for (const [key, value] of Object.entries(after)) editInPlace(doc, [...path, key], before[key], value);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && doc.hasIn(path)) {
    for (let i = before.length - 1; i >= after.length; i--) doc.deleteIn([...path, i]);
    after.forEach((value, i) => {
      if (i < before.length) editInPlace(doc, [...path, i], before[i], value);
      else doc.addIn(path, doc.createNode(value));
    });
    return;
  }
  doc.setIn(path, typeof after === "object" && after !== null ? doc.createNode(after) : after);
}

/** The document as text, never re-wrapping a line (a one-line section stays on one line). */
export function documentText(doc: Document): string {
  return doc.toString({ lineWidth: 0 });
}
