import type { HubRow } from "./fleet.js";

export function age(sec: number | null | undefined): string {
  if (sec === null || sec === undefined) return "-";
  if (sec < 120) return `${Math.round(sec)}s`;
  if (sec < 7200) return `${Math.round(sec / 60)}m`;
  if (sec < 172_800) return `${(sec / 3600).toFixed(1)}h`;
  return `${Math.round(sec / 86_400)}d`;
}

const RED = "\x1b[31m";
const GREEN = "\x1b[32m";
const YELLOW = "\x1b[33m";
const RESET = "\x1b[0m";

const HEAD = ["HUB", "STATE", "UNSENT", "OLDEST", "DEAD", "DELIVERED/H", "HEALTH AGE", "ALERTS"];

/**
 * The fleet table: one line per hub, hubs needing attention first. Colour only when asked (the
 * caller asks only on a TTY), so piped output stays plain text.
 */
export function renderFleet(
  rows: HubRow[],
  options: { color: boolean; nowMs: number; limit?: number },
): string[] {
  const shown = options.limit === undefined ? rows : rows.slice(0, options.limit);
  const cells = shown.map((r) => [
    r.hub,
    r.state === "offline" ? `offline(${r.offlineReason ?? "?"})` : r.state,
    r.unsent === undefined ? "-" : String(r.unsent),
    age(r.oldestUnsentAgeSec),
    r.dead === undefined ? "-" : String(r.dead),
    r.deliveredLastHour === undefined ? "-" : String(r.deliveredLastHour),
    r.healthAt === undefined ? "-" : age(Math.max(0, (options.nowMs - Date.parse(r.healthAt)) / 1000)),
    r.alerts.length === 0 ? "-" : r.alerts.join(","),
  ]);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const out = [line(HEAD)];
  shown.forEach((r, i) => {
    const text = line(cells[i] ?? []);
    if (!options.color) out.push(text);
    else {
      const colour = r.state !== "online" ? RED : r.alerts.length > 0 ? YELLOW : GREEN;
      out.push(`${colour}${text}${RESET}`);
    }
  });
  if (shown.length < rows.length) out.push(`… and ${rows.length - shown.length} more hub(s)`);
  const online = rows.filter((r) => r.state === "online").length;
  const alerting = rows.filter((r) => r.alerts.length > 0).length;
  out.push(
    `${rows.length} hub(s): ${online} online, ${rows.length - online} not online, ${alerting} with alerts`,
  );
  return out;
}
