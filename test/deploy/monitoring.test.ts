import { beforeAll, describe, expect, it } from "vitest";
import { METRICS_PATH } from "../../src/server/metrics-endpoint.js";
import { fileDoc, one, type Doc } from "./deploy-files.js";
import { ruleGroup, violations } from "./kubernetes-schema.js";
import { labelValuesQuery, promqlNames } from "./promql.js";
import { exposedSeries, type ExposedSeries } from "./registered-metrics.js";

/**
 * deploy/grafana and deploy/prometheus: the dashboard and the alert rules are well formed, and
 * every metric and label their PromQL names is one keygate exposes (read from a running
 * keygate's /metrics, so a metric renamed later fails here), plus the labels Prometheus adds to
 * every target it scrapes through the ServiceMonitor.
 */

/** The target labels the Prometheus Operator puts on every series a ServiceMonitor scrapes. */
const TARGET_LABELS = ["job", "instance", "namespace", "service", "pod", "container", "endpoint"];

const dashboard = fileDoc("grafana/keygate-dashboard.json");
const rulesFile = fileDoc("prometheus/keygate-alerts.rules.yml");
const rules: Doc[] = rulesFile.groups.flatMap((group: Doc) => group.rules);
const panels: Doc[] = dashboard.panels;
const graphs = panels.filter((panel) => panel.type !== "row");
const dashboardExprs: string[] = graphs.flatMap((panel) => panel.targets.map((target: Doc) => target.expr));

/** What an expression names that keygate does not expose: one line per metric or label. */
function unknownNames(expr: string, exposed: ExposedSeries): string[] {
  const { selectors, grouping } = promqlNames(expr);
  const faults: string[] = [];
  const known = new Set(TARGET_LABELS);
  for (const { metric, labels } of selectors) {
    const labelsOf = exposed.get(metric);
    if (labelsOf === undefined) {
      faults.push(`metric ${metric}`);
      continue;
    }
    for (const label of labelsOf) known.add(label);
    for (const label of labels) if (!labelsOf.has(label) && !TARGET_LABELS.includes(label)) faults.push(`label ${label} of ${metric}`);
  }
  for (const label of grouping) if (!known.has(label)) faults.push(`label ${label} (grouping)`);
  return faults;
}

describe("deploy/ monitoring", () => {
  let exposed: ExposedSeries;
  beforeAll(async () => {
    exposed = await exposedSeries();
  });

  it("the metric check sees what keygate exposes, and catches a misspelt metric, a missing suffix and a label a metric lacks", () => {
    expect(exposed.get("keygate_check_decisions_total")).toEqual(new Set(["decision", "reason"]));
    expect(exposed.get("keygate_check_duration_seconds_bucket")).toEqual(new Set(["decision", "le"]));
    expect(exposed.has("keygate_usage_increments_dropped_total")).toBe(true);
    expect(exposed.has("process_cpu_seconds_total")).toBe(true);
    expect(unknownNames('sum by (decision, pod) (rate(keygate_check_decisions_total{reason!="OK"}[5m]))', exposed)).toEqual([]);
    expect(unknownNames("rate(keygate_check_decision_total[5m])", exposed)).toEqual(["metric keygate_check_decision_total"]);
    expect(unknownNames("histogram_quantile(0.9, rate(keygate_check_duration_seconds[5m]))", exposed)).toEqual(["metric keygate_check_duration_seconds"]);
    expect(unknownNames('sum by (outcome) (rate(keygate_check_failures_total{result="x"}[5m]))', exposed)).toEqual([
      "label result of keygate_check_failures_total",
      "label outcome (grouping)",
    ]);
    expect(() => promqlNames("sum(rat(keygate_check_failures_total[5m]))")).toThrow(/rat is not a PromQL function/);
  });

  describe("grafana/keygate-dashboard.json", () => {
    it("is a Grafana dashboard on a Prometheus data source variable, its panels on a 24-column grid without overlap", () => {
      expect(dashboard).toMatchObject({ title: expect.any(String), uid: expect.stringMatching(/^[a-z0-9-]{1,40}$/), schemaVersion: expect.any(Number) });
      const variables: Doc[] = dashboard.templating.list;
      expect(variables.find((v) => v.name === "datasource")).toMatchObject({ type: "datasource", query: "prometheus" });
      expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
      const cells = new Set<string>();
      for (const { title, gridPos } of panels) {
        expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
        for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
          for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
            expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
            cells.add(`${x},${y}`);
          }
        }
      }
      for (const panel of graphs) {
        expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: "${datasource}" });
        expect(panel.targets.length, panel.title).toBeGreaterThan(0);
        expect(new Set(panel.targets.map((t: Doc) => t.refId)).size, panel.title).toBe(panel.targets.length);
      }
    });

    it("names only metrics and labels keygate exposes, its variables' queries too", () => {
      for (const expr of dashboardExprs) expect(unknownNames(expr, exposed), expr).toEqual([]);
      for (const variable of dashboard.templating.list.filter((v: Doc) => v.type === "query")) {
        const { metric, label } = labelValuesQuery(variable.query.query);
        expect(unknownNames(`${metric}`, exposed)).toEqual([]);
        expect([...exposed.get(metric)!, ...TARGET_LABELS], variable.name).toContain(label);
      }
    });

    it("shows Check decisions, failures and latency, the store, leases, the cache, usage drops and the webhook backlog", () => {
      const named = new Set(dashboardExprs.flatMap((expr) => promqlNames(expr).selectors.map((s) => s.metric)));
      for (const metric of [
        "keygate_check_decisions_total",
        "keygate_check_failures_total",
        "keygate_check_duration_seconds_bucket",
        "keygate_store_errors_total",
        "keygate_limit_leases_total",
        "keygate_key_cache_hits_total",
        "keygate_key_cache_misses_total",
        "keygate_usage_increments_dropped_total",
        "keygate_webhook_queue_depth",
        "keygate_webhook_oldest_undelivered_age_seconds",
        "keygate_webhook_deliveries_total",
      ]) {
        expect(named.has(metric), metric).toBe(true);
      }
    });
  });

  describe("prometheus/", () => {
    it("ships the rules file's groups, unchanged, as the PrometheusRule's", () => {
      expect(one("PrometheusRule", "keygate").spec.groups).toEqual(rulesFile.groups);
      expect(Object.keys(rulesFile)).toEqual(["groups"]);
      for (const group of rulesFile.groups) expect(violations(group, ruleGroup), group.name).toEqual([]);
    });

    it("has alerts with unique names, a severity, a summary and a description", () => {
      expect(new Set(rules.map((rule) => rule.alert)).size).toBe(rules.length);
      for (const rule of rules) {
        expect(rule.alert, JSON.stringify(rule)).toMatch(/^Keygate[A-Za-z]+$/);
        expect(["critical", "warning"], rule.alert).toContain(rule.labels.severity);
        expect(Object.keys(rule.annotations).sort(), rule.alert).toEqual(["description", "summary"]);
      }
    });

    it("names only metrics and labels keygate exposes", () => {
      for (const rule of rules) expect(unknownNames(rule.expr, exposed), rule.alert).toEqual([]);
    });

    it("alerts on Check errors, the store unavailable, usage dropped and the webhook backlog", () => {
      const selectorsOf = (alert: string) => promqlNames(rules.find((rule) => rule.alert === alert)!.expr).selectors;
      expect(selectorsOf("KeygateCheckErrors")).toEqual([{ metric: "keygate_check_failures_total", labels: ["code"] }]);
      expect(rules.find((rule) => rule.alert === "KeygateCheckErrors")!.expr).toContain('code="internal"');
      expect(rules.find((rule) => rule.alert === "KeygateStoreUnavailable")!.expr).toContain('keygate_check_failures_total{code="unavailable"}');
      const metricsOf = (alert: string) => new Set(selectorsOf(alert).map((s) => s.metric));
      expect(metricsOf("KeygateUsageDropped")).toEqual(new Set(["keygate_usage_increments_dropped_total"]));
      expect(metricsOf("KeygateWebhookBacklog")).toEqual(new Set(["keygate_webhook_oldest_undelivered_age_seconds"]));
    });

    it("scrapes keygate's /metrics through its Service's admin port, where the pods' annotations point too", () => {
      const monitor = one("ServiceMonitor", "keygate");
      const service = one("Service", "keygate");
      const pod = one("Deployment", "keygate").spec.template;
      expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
      expect(monitor.spec.namespaceSelector.matchNames).toEqual([service.metadata.namespace]);
      expect(monitor.spec.endpoints).toHaveLength(1);
      const [endpoint] = monitor.spec.endpoints;
      expect(endpoint.path).toBe(METRICS_PATH);
      const port = service.spec.ports.find((p: Doc) => p.name === endpoint.port);
      expect(port.port).toBe(Number(pod.metadata.annotations["prometheus.io/port"]));
    });
  });
});
