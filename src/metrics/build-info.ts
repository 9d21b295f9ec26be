import { Gauge, type Registry } from "prom-client";

/**
 * `keygate_build_info{version,node} 1`: which keygate and which Node.js each replica runs, the
 * usual info metric, for dashboards that show a rollout and alerts that join on the version.
 */
export function buildInfo(registry: Registry, version: string): void {
  const info = new Gauge({
    name: "keygate_build_info",
    help: "Always 1; its labels say which keygate version (package.json) and Node.js version this process runs.",
    labelNames: ["version", "node"] as const,
    registers: [registry],
  });
  info.set({ version, node: process.version }, 1);
}
