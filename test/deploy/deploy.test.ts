import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { AccessLogService } from "../../gen/envoy/service/accesslog/v3/als_pb.js";
import { Authorization } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { loadConfig } from "../../src/config/config.js";
import { DEFAULT_SCOPES } from "../../src/config/scopes.js";
import { packageRoot } from "../../src/console/package-root.js";

/**
 * deploy/: every YAML and JSON file parses, and the Envoy, Kubernetes and Istio files agree with
 * each other and with keygate's defaults (port, gRPC service names, probe paths, settings).
 */

/** Parsed manifests are checked field by field, so they are read loosely. */
type Doc = Record<string, any>;

const DEPLOY = join(packageRoot(), "deploy");
const DEFAULT_PORT = loadConfig({}).port;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : /\.(ya?ml|json)$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

const files = filesUnder(DEPLOY);
const documents = new Map<string, Doc[]>(
  files.map((file) => {
    const text = readFileSync(file, "utf8");
    if (file.endsWith(".json")) return [relative(DEPLOY, file), [JSON.parse(text) as Doc]];
    return [relative(DEPLOY, file), parseAllDocuments(text).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
      return doc.toJS() as Doc;
    })];
  }),
);
const all = [...documents.values()].flat();
const kind = (k: string) => all.filter((d) => d.kind === k);
const one = (k: string, name?: string): Doc => {
  const found = kind(k).filter((d) => name === undefined || d.metadata?.name === name);
  expect(found, `${k} ${name ?? ""}`).toHaveLength(1);
  return found[0]!;
};

/** Every object in a parsed document, depth first. */
function* walk(value: unknown): Generator<Doc> {
  if (Array.isArray(value)) for (const item of value) yield* walk(item);
  else if (value !== null && typeof value === "object") {
    yield value as Doc;
    for (const child of Object.values(value)) yield* walk(child);
  }
}

describe("deploy/", () => {
  it("has Envoy, Kubernetes and Istio files, each of which parses", () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const [file, docs] of documents) {
      expect(docs.length, file).toBeGreaterThan(0);
      for (const doc of docs) expect(typeof doc, file).toBe("object");
    }
  });

  describe("envoy/envoy.yaml", () => {
    const envoy = documents.get("envoy/envoy.yaml")![0]!;
    const objects = [...walk(envoy)];
    const clusters: Doc[] = envoy.static_resources.clusters;
    const keygate = clusters.find((c) => c.name === "keygate")!;

    it("calls keygate's Check over HTTP/2 on port 8080, failing closed with a timeout", () => {
      const extAuthz = objects.find((o) => o.name === "envoy.filters.http.ext_authz")!.typed_config;
      expect(extAuthz["@type"]).toBe("type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz");
      expect(extAuthz.transport_api_version).toBe("V3");
      expect(extAuthz.failure_mode_allow).toBe(false);
      expect(extAuthz.grpc_service.envoy_grpc.cluster_name).toBe("keygate");
      expect(extAuthz.grpc_service.timeout).toMatch(/^\d+(\.\d+)?s$/);
      const endpoint = keygate.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
      expect(endpoint.port_value).toBe(DEFAULT_PORT);
      const protocol = keygate.typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
      expect(protocol.explicit_http_config.http2_protocol_options).toEqual({});
      expect(keygate.health_checks[0].grpc_health_check.service_name).toBe(Authorization.typeName);
    });

    it("sends access logs to keygate's AccessLogService over the same cluster", () => {
      const logger = objects.find((o) => o.name === "envoy.access_loggers.http_grpc")!.typed_config;
      expect(logger["@type"]).toBe("type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig");
      expect(logger.common_config.grpc_service.envoy_grpc.cluster_name).toBe("keygate");
      expect(logger.common_config.transport_api_version).toBe("V3");
      expect(logger.additional_request_headers_to_log).toEqual(["x-keygate-key-id", "x-keygate-organization-id"]);
      expect(AccessLogService.typeName).toBe("envoy.service.accesslog.v3.AccessLogService");
    });

    it("names only catalog scopes in per-route context extensions, and every route's cluster exists", () => {
      const catalog = new Set(DEFAULT_SCOPES.map((s) => s.name));
      const extensions = objects.filter((o) => o.context_extensions).map((o) => o.context_extensions.required_scopes as string);
      expect(extensions.length).toBeGreaterThan(0);
      for (const scopes of extensions) for (const scope of scopes.split(" ")) expect(catalog.has(scope), scope).toBe(true);
      const names = new Set(clusters.map((c) => c.name));
      for (const route of objects.filter((o) => o.route && o.match)) expect(names.has(route.route.cluster), route.route.cluster).toBe(true);
    });
  });

  describe("kubernetes/", () => {
    const deployment = one("Deployment", "keygate");
    const pod = deployment.spec.template;
    const container = pod.spec.containers.find((c: Doc) => c.name === "keygate");
    const service = one("Service", "keygate");
    const configMap = one("ConfigMap", "keygate-config");
    const secret = one("Secret", "keygate-secrets");

    it("lists every manifest in the kustomization", () => {
      const kustomization = documents.get("kubernetes/kustomization.yaml")![0]!;
      const manifests = [...documents.keys()].filter((f) => f.startsWith("kubernetes/") && !f.endsWith("kustomization.yaml"));
      expect([...kustomization.resources].sort()).toEqual(manifests.map((f) => f.slice("kubernetes/".length)).sort());
    });

    it("runs keygate on port 8080 with HTTP probes on /readyz and /healthz and a gRPC health probe", () => {
      expect(container.ports).toEqual([{ name: "grpc", containerPort: DEFAULT_PORT, protocol: "TCP" }]);
      expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: DEFAULT_PORT });
      expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: DEFAULT_PORT });
      expect(container.startupProbe.grpc).toEqual({ port: DEFAULT_PORT, service: Authorization.typeName });
      expect(Health.typeName).toBe("grpc.health.v1.Health");
      expect(pod.metadata.annotations["prometheus.io/path"]).toBe("/metrics");
      expect(Number(pod.metadata.annotations["prometheus.io/port"])).toBe(DEFAULT_PORT);
      // The drain deadline, then the final usage flush: main.ts forces the exit 2 s after the deadline.
      const shutdownMs = Number(configMap.data.KEYGATE_SHUTDOWN_TIMEOUT_MS) + 2_000;
      expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownMs);
    });

    it("serves it as a grpc Service whose selector matches the pods", () => {
      expect(service.spec.ports).toEqual([{ name: "grpc", port: DEFAULT_PORT, targetPort: "grpc", protocol: "TCP", appProtocol: "grpc" }]);
      expect(pod.metadata.labels).toMatchObject(service.spec.selector);
      expect(pod.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
      expect(pod.metadata.labels).toMatchObject(one("PodDisruptionBudget").spec.selector.matchLabels);
    });

    it("takes settings from the ConfigMap and the MongoDB URI and pepper from the Secret, and keygate accepts them", () => {
      expect(container.envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }]);
      const fromSecret = Object.fromEntries(container.env.map((e: Doc) => [e.name, e.valueFrom.secretKeyRef]));
      expect(fromSecret).toEqual({
        MONGODB_URI: { name: secret.metadata.name, key: "MONGODB_URI" },
        KEYGATE_PEPPER: { name: secret.metadata.name, key: "KEYGATE_PEPPER" },
      });
      expect(Object.keys(secret.stringData).sort()).toEqual(["KEYGATE_PEPPER", "MONGODB_URI"]);
      for (const name of Object.keys(configMap.data)) expect(name in secret.stringData, name).toBe(false);
      const config = loadConfig({ ...configMap.data, ...secret.stringData });
      expect(config.port).toBe(DEFAULT_PORT);
      expect(config.mongodbUri).toBe(secret.stringData.MONGODB_URI);
      expect(config.demoBootstrap).toBe(false);
    });
  });

  describe("istio/", () => {
    const service = one("Service", "keygate");
    const host = `${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`;
    const providers: Doc[] = one("IstioOperator").spec.meshConfig.extensionProviders;
    const extAuthz = providers.find((p) => p.envoyExtAuthzGrpc)!;
    const accessLog = providers.find((p) => p.envoyHttpAls)!;

    it("registers keygate's Service as the ext_authz gRPC provider and the HTTP access-log sink", () => {
      expect(extAuthz.envoyExtAuthzGrpc).toMatchObject({ service: host, port: DEFAULT_PORT, failOpen: false });
      expect(extAuthz.envoyExtAuthzGrpc.timeout).toMatch(/^\d+(\.\d+)?s$/);
      expect(accessLog.envoyHttpAls).toMatchObject({ service: host, port: DEFAULT_PORT });
      expect(accessLog.envoyHttpAls.additionalRequestHeadersToLog).toEqual(["x-keygate-key-id", "x-keygate-organization-id"]);
    });

    it("puts the API behind a CUSTOM AuthorizationPolicy and its access logs into keygate through Telemetry", () => {
      const policy = one("AuthorizationPolicy");
      expect(policy.spec.action).toBe("CUSTOM");
      expect(policy.spec.provider.name).toBe(extAuthz.name);
      const telemetry = one("Telemetry");
      expect(telemetry.spec.accessLogging[0].providers).toEqual([{ name: accessLog.name }]);
      expect(telemetry.spec.selector).toEqual(policy.spec.selector);
    });
  });
});
