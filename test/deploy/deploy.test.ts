import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { AccessLogService } from "../../gen/envoy/service/accesslog/v3/als_pb.js";
import { Authorization } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { DEFAULT_SCOPES } from "../../src/model/scopes.js";
import { DEPLOY, documents, files, kind, one, walk, type Doc } from "./deploy-files.js";

/**
 * deploy/: every YAML and JSON file parses, and the Envoy, Kubernetes and Istio files agree with
 * each other and with keygate's defaults (port, gRPC service names, probe paths, settings). The
 * secure set-up is the default one: the data plane on its own port, which a NetworkPolicy opens
 * to the proxies only, the data-plane token from a Secret in Envoy's gRPC metadata, failing
 * closed, and Envoy's own path normalisation.
 */

const DEFAULT_PORT = loadConfig({}).port;
const TOKEN_PLACEHOLDER = "${KEYGATE_DATA_PLANE_TOKEN}";
/** What an operator puts in keygate-secrets in place of the shipped placeholders. */
const OWN_SECRETS = {
  MONGODB_URI: "mongodb://keygate:s3cret@mongodb.keygate.svc.cluster.local:27017/?authSource=admin",
  KEYGATE_PEPPER: "pepper-of-our-own-0123456789abcdefghijklmnop",
  KEYGATE_DATA_PLANE_TOKEN: "token-of-our-own-0123456789abcdefghijklmnop",
};

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
    const dataPlanePort = Number(one("ConfigMap", "keygate-config").data.KEYGATE_DATA_PLANE_PORT);
    const bearerMetadata = [{ key: "authorization", value: `Bearer ${TOKEN_PLACEHOLDER}` }];

    it("calls keygate's Check over HTTP/2 on the data-plane port, with the data-plane token, failing closed with a timeout", () => {
      const extAuthz = objects.find((o) => o.name === "envoy.filters.http.ext_authz")!.typed_config;
      expect(extAuthz["@type"]).toBe("type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz");
      expect(extAuthz.transport_api_version).toBe("V3");
      expect(extAuthz.failure_mode_allow).toBe(false);
      expect(extAuthz.grpc_service.envoy_grpc.cluster_name).toBe("keygate");
      expect(extAuthz.grpc_service.timeout).toMatch(/^\d+(\.\d+)?s$/);
      expect(extAuthz.grpc_service.initial_metadata).toEqual(bearerMetadata);
      const endpoint = keygate.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
      expect(endpoint.port_value).toBe(dataPlanePort);
      expect(endpoint.port_value).not.toBe(DEFAULT_PORT);
      expect(endpoint.address).toBe(`keygate.${one("Service", "keygate").metadata.namespace}.svc.cluster.local`);
      const protocol = keygate.typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
      expect(protocol.explicit_http_config.http2_protocol_options).toEqual({});
      expect(keygate.health_checks[0].grpc_health_check.service_name).toBe(Authorization.typeName);
    });

    it("sends access logs to keygate's AccessLogService over the same cluster, with the token and without identity headers", () => {
      const logger = objects.find((o) => o.name === "envoy.access_loggers.http_grpc")!.typed_config;
      expect(logger["@type"]).toBe("type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig");
      expect(logger.common_config.grpc_service.envoy_grpc.cluster_name).toBe("keygate");
      expect(logger.common_config.grpc_service.initial_metadata).toEqual(bearerMetadata);
      expect(logger.common_config.transport_api_version).toBe("V3");
      // keygate reads the key only from ext_authz's dynamic metadata: logging the headers is useless.
      expect(logger.additional_request_headers_to_log).toBeUndefined();
      expect(AccessLogService.typeName).toBe("envoy.service.accesslog.v3.AccessLogService");
    });

    it("normalises paths itself and rejects encoded slashes, before routes and ext_authz see them", () => {
      const manager = objects.find((o) => o.name === "envoy.filters.network.http_connection_manager")!.typed_config;
      expect(manager).toMatchObject({ normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: "REJECT_REQUEST" });
    });

    it("strips the method-override headers before the upstream, so no upstream dispatches on a method keygate did not check", () => {
      const manager = objects.find((o) => o.name === "envoy.filters.network.http_connection_manager")!.typed_config;
      expect([...manager.route_config.request_headers_to_remove].sort()).toEqual(["x-http-method", "x-http-method-override", "x-method-override"]);
    });

    it("names scopes on every route keygate checks, so keygate screens every path (the catch-all too: /v1/data;x/export lands there)", () => {
      const routes = objects.filter((o) => o.route && o.match);
      for (const route of routes) {
        const perRoute = route.typed_per_filter_config?.["envoy.filters.http.ext_authz"];
        if (perRoute?.disabled === true) continue;
        expect(typeof perRoute?.check_settings?.context_extensions?.required_scopes, JSON.stringify(route.match)).toBe("string");
      }
    });

    it("names only catalog scopes in per-route context extensions, and every route's cluster exists", () => {
      const catalog = new Set(DEFAULT_SCOPES.map((s) => s.name));
      const extensions = objects.filter((o) => o.context_extensions).map((o) => o.context_extensions.required_scopes as string);
      expect(extensions.length).toBeGreaterThan(0);
      for (const scopes of extensions) for (const scope of scopes.split(" ").filter((s) => s !== "")) expect(catalog.has(scope), scope).toBe(true);
      const names = new Set(clusters.map((c) => c.name));
      for (const route of objects.filter((o) => o.route && o.match)) expect(names.has(route.route.cluster), route.route.cluster).toBe(true);
    });
  });

  describe("envoy/ (the front proxy on Kubernetes)", () => {
    const kustomization = documents.get("envoy/kustomization.yaml")![0]!;
    const deployment = one("Deployment", "envoy");
    const container = deployment.spec.template.spec.containers.find((c: Doc) => c.name === "envoy");
    const secret = one("Secret", "keygate-data-plane");

    it("lists every manifest in its kustomization and generates its ConfigMap from envoy.yaml", () => {
      const manifests = [...documents.keys()].filter((f) => f.startsWith("envoy/") && !["envoy/kustomization.yaml", "envoy/envoy.yaml"].includes(f));
      expect([...kustomization.resources].sort()).toEqual(manifests.map((f) => f.slice("envoy/".length)).sort());
      expect(kustomization.configMapGenerator).toEqual([{ name: "envoy-config", files: ["envoy.yaml"] }]);
      const config = deployment.spec.template.spec.volumes.find((v: Doc) => v.configMap);
      expect(config.configMap.name).toBe("envoy-config");
    });

    it("takes the token from a Secret of its own namespace, never from the ConfigMap", () => {
      expect(secret.metadata.namespace).toBe(kustomization.namespace);
      expect(deployment.metadata.namespace).toBe(kustomization.namespace);
      expect(container.env).toEqual([
        { name: "KEYGATE_DATA_PLANE_TOKEN", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "KEYGATE_DATA_PLANE_TOKEN" } } },
      ]);
      // keygate's Secret holds the same token (both placeholders are refused: see kubernetes/ below).
      expect(secret.stringData.KEYGATE_DATA_PLANE_TOKEN).toBe(one("Secret", "keygate-secrets").stringData.KEYGATE_DATA_PLANE_TOKEN);
    });

    it("renders the token into Envoy's configuration in a memory volume before Envoy starts", () => {
      const [shell, flag] = container.command;
      expect([shell, flag]).toEqual(["/bin/sh", "-c"]);
      const script: string = container.args[0];
      const rendered = deployment.spec.template.spec.volumes.find((v: Doc) => v.emptyDir);
      expect(rendered.emptyDir.medium).toBe("Memory");
      const mounts = Object.fromEntries(container.volumeMounts.map((m: Doc) => [m.name, m.mountPath]));
      expect(script).toContain(`exec envoy -c ${mounts[rendered.name]}/envoy.yaml`);
      // The script as the container runs it, on this machine: the mounts become directories here,
      // and instead of starting Envoy it stops once the file is rendered.
      const dir = mkdtempSync(join(tmpdir(), "keygate-envoy-render-"));
      try {
        mkdirSync(join(dir, "config"));
        mkdirSync(join(dir, "rendered"));
        execFileSync("cp", [join(DEPLOY, "envoy", "envoy.yaml"), join(dir, "config", "envoy.yaml")]);
        const local = script
          .replaceAll(mounts.config, join(dir, "config"))
          .replaceAll(mounts[rendered.name], join(dir, "rendered"))
          .replace(/exec envoy -c \S+$/, "true");
        const token = "q83v/EjRWeJq+83vEjRWeJq83vEjRWeJq83vEjRWeJ-_.~Q==";
        execFileSync(shell, [flag, local], { env: { PATH: process.env.PATH, KEYGATE_DATA_PLANE_TOKEN: token } });
        const envoy = parse(readFileSync(join(dir, "rendered", "envoy.yaml"), "utf8")) as Doc;
        const metadata = [...walk(envoy)].filter((o) => o.initial_metadata).map((o) => o.initial_metadata);
        expect(metadata).toEqual([
          [{ key: "authorization", value: `Bearer ${token}` }],
          [{ key: "authorization", value: `Bearer ${token}` }],
        ]);
        expect(readFileSync(join(dir, "rendered", "envoy.yaml"), "utf8")).not.toContain(TOKEN_PLACEHOLDER);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("is what keygate's NetworkPolicy lets reach the data-plane port", () => {
      const policy = one("NetworkPolicy", "keygate");
      const dataPlaneRule = policy.spec.ingress.find((rule: Doc) => rule.from !== undefined);
      expect(deployment.spec.template.metadata.labels).toMatchObject(dataPlaneRule.from[0].podSelector.matchLabels);
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

    it("runs keygate on port 8080 with HTTP probes on /readyz and /healthz and a gRPC health probe, and its data plane on a port of its own", () => {
      expect(container.ports).toEqual([
        { name: "grpc", containerPort: DEFAULT_PORT, protocol: "TCP" },
        { name: "data-plane", containerPort: Number(configMap.data.KEYGATE_DATA_PLANE_PORT), protocol: "TCP" },
      ]);
      expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: DEFAULT_PORT });
      expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: DEFAULT_PORT });
      expect(container.startupProbe.grpc).toEqual({ port: DEFAULT_PORT, service: Authorization.typeName });
      expect(Health.typeName).toBe("grpc.health.v1.Health");
      expect(pod.metadata.annotations["prometheus.io/path"]).toBe("/metrics");
      expect(Number(pod.metadata.annotations["prometheus.io/port"])).toBe(DEFAULT_PORT);
      // The grace period runs from the preStop delay on: the delay, then the drain deadline, then
      // the final usage flush (main.ts forces the exit 2 s after the deadline).
      const shutdownMs = container.lifecycle.preStop.sleep.seconds * 1000 + Number(configMap.data.KEYGATE_SHUTDOWN_TIMEOUT_MS) + 2_000;
      expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownMs);
    });

    it("serves it as a grpc Service whose selector matches the pods", () => {
      expect(service.spec.ports).toEqual([
        { name: "grpc", port: DEFAULT_PORT, targetPort: "grpc", protocol: "TCP", appProtocol: "grpc" },
        { name: "data-plane", port: Number(configMap.data.KEYGATE_DATA_PLANE_PORT), targetPort: "data-plane", protocol: "TCP", appProtocol: "grpc" },
      ]);
      expect(pod.metadata.labels).toMatchObject(service.spec.selector);
      expect(pod.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
      expect(pod.metadata.labels).toMatchObject(one("PodDisruptionBudget").spec.selector.matchLabels);
    });

    it("takes settings from the ConfigMap and the MongoDB URI, pepper and data-plane token from the Secret, and keygate accepts them", () => {
      expect(container.envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }]);
      const fromSecret = Object.fromEntries(container.env.map((e: Doc) => [e.name, e.valueFrom.secretKeyRef]));
      expect(fromSecret).toEqual({
        MONGODB_URI: { name: secret.metadata.name, key: "MONGODB_URI" },
        KEYGATE_PEPPER: { name: secret.metadata.name, key: "KEYGATE_PEPPER" },
        // Optional so that a mesh that cannot send it (Istio) can leave it out.
        KEYGATE_DATA_PLANE_TOKEN: { name: secret.metadata.name, key: "KEYGATE_DATA_PLANE_TOKEN", optional: true },
        // In the Secret only while the token is rotated (docs/security.md).
        KEYGATE_DATA_PLANE_TOKEN_PREVIOUS: { name: secret.metadata.name, key: "KEYGATE_DATA_PLANE_TOKEN_PREVIOUS", optional: true },
      });
      expect(Object.keys(secret.stringData).sort()).toEqual(["KEYGATE_DATA_PLANE_TOKEN", "KEYGATE_PEPPER", "MONGODB_URI"]);
      for (const name of Object.keys(configMap.data)) expect(name in secret.stringData, name).toBe(false);
      const config = loadConfig({ ...configMap.data, ...OWN_SECRETS });
      expect(config.port).toBe(DEFAULT_PORT);
      expect(config.mongodbUri).toBe(OWN_SECRETS.MONGODB_URI);
      expect(config.demoBootstrap).toBe(false);
      expect(config.dataPlane).toMatchObject({ port: 8081, token: OWN_SECRETS.KEYGATE_DATA_PLANE_TOKEN, previousToken: undefined, tls: undefined });
    });

    // The shipped values are public: applied unedited, keygate must refuse to start rather than
    // run with them. Every Secret in deploy/ (Envoy's too: it holds the same token) is checked, so
    // a placeholder added later cannot slip through.
    it("refuses every value of every shipped Secret, naming the variable without repeating the value", () => {
      const shipped = kind("Secret").flatMap((s) => Object.entries(s.stringData as Record<string, string>));
      expect(shipped.length).toBeGreaterThanOrEqual(4);
      for (const [name, value] of shipped) {
        expect(() => loadConfig({ ...configMap.data, ...OWN_SECRETS, [name]: value }), name).toThrow(ConfigError);
        expect(() => loadConfig({ ...configMap.data, ...OWN_SECRETS, [name]: value }), name).toThrow(new RegExp(`^${name}: `));
        try {
          loadConfig({ ...configMap.data, ...OWN_SECRETS, [name]: value });
        } catch (error) {
          expect((error as Error).message, name).not.toContain(value);
        }
      }
    });

    it("opens the data-plane port to the proxies' pods only, and the admin port to everyone", () => {
      const policy = one("NetworkPolicy", "keygate");
      expect(pod.metadata.labels).toMatchObject(policy.spec.podSelector.matchLabels);
      expect(policy.spec.policyTypes).toEqual(["Ingress"]);
      const dataPlanePort = Number(configMap.data.KEYGATE_DATA_PLANE_PORT);
      expect(policy.spec.ingress).toEqual([
        {
          ports: [{ port: dataPlanePort, protocol: "TCP" }],
          from: [{ namespaceSelector: {}, podSelector: { matchLabels: { "keygate.dev/data-plane-client": "true" } } }],
        },
        { ports: [{ port: DEFAULT_PORT, protocol: "TCP" }] },
      ]);
      // Every port keygate listens on is covered by a rule, so none is left open by omission.
      const covered = policy.spec.ingress.flatMap((rule: Doc) => rule.ports.map((p: Doc) => p.port)).sort();
      expect(covered).toEqual(container.ports.map((p: Doc) => p.containerPort).sort());
    });
  });

  describe("istio/", () => {
    const service = one("Service", "keygate");
    const host = `${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`;
    const providers: Doc[] = one("IstioOperator").spec.meshConfig.extensionProviders;
    const extAuthz = providers.find((p) => p.envoyExtAuthzGrpc)!;
    const accessLog = providers.find((p) => p.envoyHttpAls)!;
    const dataPlanePort = Number(one("ConfigMap", "keygate-config").data.KEYGATE_DATA_PLANE_PORT);
    const keygatePod = one("Deployment", "keygate").spec.template.metadata.labels;

    it("registers keygate's data-plane port as the ext_authz gRPC provider and the HTTP access-log sink", () => {
      expect(extAuthz.envoyExtAuthzGrpc).toMatchObject({ service: host, port: dataPlanePort, failOpen: false });
      expect(extAuthz.envoyExtAuthzGrpc.timeout).toMatch(/^\d+(\.\d+)?s$/);
      expect(accessLog.envoyHttpAls).toMatchObject({ service: host, port: dataPlanePort });
      expect(accessLog.envoyHttpAls.additionalRequestHeadersToLog).toBeUndefined();
    });

    it("puts the API behind a CUSTOM AuthorizationPolicy and its access logs into keygate through Telemetry", () => {
      const policy = one("AuthorizationPolicy", "api-keys");
      expect(policy.spec.action).toBe("CUSTOM");
      expect(policy.spec.provider.name).toBe(extAuthz.name);
      const telemetry = one("Telemetry");
      expect(telemetry.spec.accessLogging[0].providers).toEqual([{ name: accessLog.name }]);
      expect(telemetry.spec.selector).toEqual(policy.spec.selector);
    });

    it("requires mTLS on keygate's data-plane port and lets only named workload identities use it", () => {
      const peers = one("PeerAuthentication", "keygate-data-plane");
      expect(peers.metadata.namespace).toBe(service.metadata.namespace);
      expect(keygatePod).toMatchObject(peers.spec.selector.matchLabels);
      expect(peers.spec.portLevelMtls).toEqual({ [dataPlanePort]: { mode: "STRICT" } });
      const policy = one("AuthorizationPolicy", "keygate-data-plane");
      expect(keygatePod).toMatchObject(policy.spec.selector.matchLabels);
      expect(policy.spec.action).toBe("ALLOW");
      const dataPlaneRules = policy.spec.rules.filter((rule: Doc) => rule.to.some((to: Doc) => to.operation.ports.includes(String(dataPlanePort))));
      expect(dataPlaneRules).toHaveLength(1);
      const principals: string[] = dataPlaneRules[0].from[0].source.principals;
      expect(principals.length).toBeGreaterThan(0);
      for (const principal of principals) expect(principal).toMatch(/^cluster\.local\/ns\/[a-z0-9-]+\/sa\/[a-z0-9-]+$/);
      // The admin port stays reachable: API keys authenticate every admin call.
      expect(policy.spec.rules.some((rule: Doc) => rule.from === undefined && rule.to[0].operation.ports.includes(String(DEFAULT_PORT)))).toBe(true);
    });
  });
});
