import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { documents, kind, one, walk, type Doc } from "./deploy-files.js";
import { KINDS, schemaOf, violations } from "./kubernetes-schema.js";

/**
 * Every manifest in deploy/ against the upstream schemas of its kind (kubernetes-schema.ts), the
 * image of every workload set in its kustomization, and the Kubernetes hygiene of keygate's
 * Deployment: a drain delay before SIGTERM, a grace period that covers it and keygate's own
 * shutdown, replicas spread over zones and nodes, an autoscaler and a disruption budget that agree.
 */

/** Files under deploy/ that are configuration for something other than Kubernetes. */
const NOT_MANIFESTS = new Set(["envoy/envoy.yaml", "prometheus/keygate-alerts.rules.yml", "grafana/keygate-dashboard.json"]);

const manifests = [...documents].filter(([file]) => !NOT_MANIFESTS.has(file)).flatMap(([file, docs]) => docs.map((doc) => ({ file, doc })));

describe("deploy/ manifests", () => {
  it("are of kinds that exist upstream, in an apiVersion that serves them", () => {
    expect(manifests.length).toBeGreaterThanOrEqual(20);
    for (const { file, doc } of manifests) expect(schemaOf(doc), `${file}: ${doc.apiVersion} ${doc.kind}; known: ${Object.keys(KINDS).join(", ")}`).toBeDefined();
  });

  it("hold only fields of their kind's schema, of the right types, with the required ones present", () => {
    for (const { file, doc } of manifests) expect(violations(doc, schemaOf(doc)!), file).toEqual([]);
  });

  it("the schema facts catch a misspelt field, a wrong type and a missing required field", () => {
    const deployment = structuredClone(one("Deployment", "keygate"));
    deployment.spec.template.spec.terminationGracePeriod = 30;
    deployment.spec.template.spec.containers[0].ports[0].containerPort = "8080";
    delete deployment.spec.selector;
    expect(violations(deployment, schemaOf(deployment)!).sort()).toEqual([
      "spec.template.spec: no field terminationGracePeriod in the schema",
      'spec.template.spec.containers[0].ports[0].containerPort: an integer, not "8080"',
      "spec: selector is required",
    ].sort());
  });

  it("name every container image without a tag, and set its tag in the kustomization of their directory", () => {
    const kustomizations = [...documents].filter(([file]) => file.endsWith("kustomization.yaml"));
    const workloads = [...documents].filter(([, docs]) => docs.some((doc) => doc.kind === "Deployment"));
    expect(workloads.length).toBeGreaterThanOrEqual(2);
    for (const [file, docs] of workloads) {
      const [, kustomization] = kustomizations.find(([k]) => dirname(k) === dirname(file))!;
      const images: Doc[] = kustomization[0]!.images ?? [];
      for (const container of docs.flatMap((doc) => [...walk(doc)].filter((o) => typeof o.image === "string"))) {
        // A tag or digest in the manifest would be a second place the version lives.
        expect(container.image, file).toMatch(/^[^:@]+$/);
        const entry = images.find((image) => image.name === container.image);
        expect(entry, `${file}: ${container.image} in ${dirname(file)}/kustomization.yaml images`).toBeDefined();
        expect(entry!.newTag ?? entry!.digest, container.image).toMatch(/^(v?\d+\.\d+\.\d+|sha256:[0-9a-f]{64})$/);
      }
      // No images entry names an image no manifest uses.
      const used = new Set(docs.flatMap((doc) => [...walk(doc)].map((o) => o.image).filter((image) => typeof image === "string")));
      for (const image of images) expect(used.has(image.name), image.name).toBe(true);
    }
  });

  describe("keygate's Deployment", () => {
    const deployment = one("Deployment", "keygate");
    const pod = deployment.spec.template;
    const container = pod.spec.containers.find((c: Doc) => c.name === "keygate");
    const configMap = one("ConfigMap", "keygate-config");
    const hpa = one("HorizontalPodAutoscaler", "keygate");
    const pdb = one("PodDisruptionBudget", "keygate");

    it("waits before SIGTERM, so the pod leaves the endpoints while it still serves, within a grace period that covers keygate's shutdown", () => {
      // main.ts closes the listener on SIGTERM: the delay runs first, the pod still serving.
      const delaySeconds: number = container.lifecycle.preStop.sleep.seconds;
      expect(delaySeconds).toBeGreaterThanOrEqual(5);
      // The delay, the drain (KEYGATE_SHUTDOWN_TIMEOUT_MS), and main.ts's 2 s for the last usage flush.
      const neededMs = delaySeconds * 1000 + Number(configMap.data.KEYGATE_SHUTDOWN_TIMEOUT_MS) + 2_000;
      expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(neededMs);
    });

    it("spreads replicas over zones and nodes and keeps them apart, softly, selecting its own pods", () => {
      const spread: Doc[] = pod.spec.topologySpreadConstraints;
      expect(spread.map((c) => c.topologyKey).sort()).toEqual(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
      for (const constraint of spread) {
        expect(pod.metadata.labels).toMatchObject(constraint.labelSelector.matchLabels);
        // Soft: a one-zone or one-node cluster still runs every replica the autoscaler asks for.
        expect(constraint.whenUnsatisfiable).toBe("ScheduleAnyway");
        expect(constraint.matchLabelKeys).toEqual(["pod-template-hash"]);
      }
      const [preferred] = pod.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
      expect(preferred.podAffinityTerm.topologyKey).toBe("kubernetes.io/hostname");
      expect(pod.metadata.labels).toMatchObject(preferred.podAffinityTerm.labelSelector.matchLabels);
      expect(pod.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
    });

    it("is scaled on CPU by an autoscaler, which alone sets the replica count, above what the disruption budget may take", () => {
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: deployment.apiVersion, kind: "Deployment", name: deployment.metadata.name });
      expect(hpa.metadata.namespace).toBe(deployment.metadata.namespace);
      expect(hpa.spec.metrics).toEqual([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: expect.any(Number) } } }]);
      // Utilization is of the CPU request: without one the autoscaler cannot compute it.
      expect(container.resources.requests.cpu).toBeDefined();
      // kubectl apply would reset the autoscaler's count to a replicas field at every apply.
      expect(deployment.spec.replicas).toBeUndefined();
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      // One replica at a time through drains, whatever the size, and always one left serving.
      expect(pdb.spec.maxUnavailable).toBe(1);
      expect(pdb.spec.maxUnavailable).toBeLessThan(hpa.spec.minReplicas);
      expect(pod.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
      // A rolling update adds a pod before it removes one, so it never goes below the minimum.
      expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    });
  });

  it("apply as kustomizations that each list every manifest of their directory", () => {
    for (const [file, docs] of [...documents].filter(([f]) => f.endsWith("kustomization.yaml"))) {
      const dir = dirname(file);
      const listed = [...docs[0]!.resources].map((resource: string) => `${dir}/${resource}`).sort();
      const present = manifests.filter((m) => dirname(m.file) === dir && !m.file.endsWith("kustomization.yaml")).map((m) => m.file);
      expect(listed, file).toEqual([...new Set(present)].sort());
    }
    expect(kind("Kustomization").length).toBe(3);
  });
});
