import type { MemoryBreakdown } from "./memory-breakdown.js";
import { fmt } from "./report.js";

/** The memory breakdown per component (memory-breakdown.ts), as `--only memory` selects it and the report prints it. */

export const MEMORY = "memory";
export const MEMORY_TITLE = "memory per key, by component";
/** Keys each component is built for: the scale cases' two populations. */
export const MEMORY_KEYS = [100_000, 1_000_000];

export function formatMemory(breakdowns: readonly MemoryBreakdown[]): string {
  const header = `${"component".padEnd(40)}${breakdowns.map((b) => `${fmt(b.keys)} keys: bytes/key (heap + array buffers)`.padStart(52)).join("")}\n`;
  const components = breakdowns[0]?.components.map((c) => c.component) ?? [];
  const line = (component: string) =>
    component.padEnd(40) +
    breakdowns
      .map((b) => {
        const c = b.components.find((x) => x.component === component)!;
        return `${fmt(c.heapBytesPerKey + c.arrayBufferBytesPerKey)} (${fmt(c.heapBytesPerKey)} + ${fmt(c.arrayBufferBytesPerKey)})`.padStart(52);
      })
      .join("") +
    "\n";
  const inUse = `${"in use: cache+limits+recorder+usage".padEnd(40)}${breakdowns.map((b) => fmt(b.inUseBytesPerKey).padStart(52)).join("")}\n`;
  const took = `(each population measured in a child process with --expose-gc: ${breakdowns.map((b) => `${fmt(b.keys)} keys in ${fmt(b.elapsedS, 1)} s`).join(", ")})\n`;
  return `${MEMORY_TITLE}: heap in use + array buffers after two gc() calls, the component built and filled, less before\n${header}${components.map(line).join("")}${inUse}${took}`;
}
