import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { Authorization } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { loadConfig } from "../../src/config/config.js";
import { packageRoot } from "../../src/console/package-root.js";

/**
 * docker-compose.yml and its Envoy configuration (compose/envoy.yaml) agree, as Docker would run
 * them (Docker is not needed here): Envoy's ext_authz and access log reach keygate's data-plane
 * port under its compose service name, with the data-plane token both are given; the ports
 * published are the ones listened on; the upstream is where Envoy routes; and keygate starts on
 * the environment compose gives it.
 */

type Doc = Record<string, any>;

const ROOT = packageRoot();
const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8"), { merge: true }) as Doc;
const services = compose["services"] as Record<string, Doc>;
const PLACEHOLDER = "${KEYGATE_DATA_PLANE_TOKEN}";
/** Compose expands `$$` to `$` before the container's shell sees a command. */
const unescaped = (text: string) => text.replaceAll("$$", "$");

const envoyService = services["envoy"]!;
const mount = (envoyService["volumes"] as string[]).map((volume) => volume.split(":")).find(([source]) => source === "./compose/envoy.yaml")!;
const template = readFileSync(join(ROOT, "compose", "envoy.yaml"), "utf8");
const envoy = parse(template) as Doc;

function* walk(value: unknown): Generator<Doc> {
  if (Array.isArray(value)) for (const item of value) yield* walk(item);
  else if (value !== null && typeof value === "object") {
    yield value as Doc;
    for (const child of Object.values(value)) yield* walk(child);
  }
}
const objects = [...walk(envoy)];
const cluster = (name: string): Doc => {
  const found = (envoy["static_resources"].clusters as Doc[]).filter((c) => c.name === name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
};
const endpoint = (c: Doc): Doc => c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
/** Container ports a service publishes, by the host address and port they are published on. */
const published = (service: Doc): Map<string, number> =>
  new Map((service["ports"] as string[]).map((spec) => {
    const parts = spec.split(":");
    return [parts.slice(0, -1).join(":"), Number(parts.at(-1))];
  }));

describe("docker-compose.yml", () => {
  it("runs keygate from the Dockerfile, Envoy, and an upstream", () => {
    expect(Object.keys(services).sort()).toEqual(["envoy", "keygate", "upstream"]);
    expect(services["keygate"]!["build"]).toBe(".");
    expect(existsSync(join(ROOT, "Dockerfile"))).toBe(true);
    expect(mount).toBeDefined();
    expect(envoyService["depends_on"]).toMatchObject({ keygate: { condition: "service_healthy" } });
  });

  it("gives keygate and Envoy the same data-plane token, which compose requires", () => {
    const keygateToken = services["keygate"]!["environment"]["KEYGATE_DATA_PLANE_TOKEN"];
    expect(keygateToken).toMatch(/^\$\{KEYGATE_DATA_PLANE_TOKEN:\?[^}]+\}$/);
    expect(envoyService["environment"]["KEYGATE_DATA_PLANE_TOKEN"]).toBe(keygateToken);
  });

  it("starts keygate on the environment it gives it: Check on its own port, behind the token", () => {
    const env = { ...services["keygate"]!["environment"], KEYGATE_DATA_PLANE_TOKEN: "a".repeat(64) } as Record<string, string>;
    const config = loadConfig(env);
    expect(config.dataPlane).toMatchObject({ port: 8081, token: "a".repeat(64) });
    const ports = published(services["keygate"]!);
    // The admin API and the data plane are published on the loopback only (the console and
    // `keygate check` from this machine), never to the network.
    expect(ports.get("127.0.0.1:8080")).toBe(config.port);
    expect(ports.get("127.0.0.1:8081")).toBe(config.dataPlane.port);
    expect([...ports.keys()].every((host) => host.startsWith("127.0.0.1:"))).toBe(true);
  });

  it("renders Envoy's configuration with the token, from the file it mounts, and runs that", () => {
    const command = unescaped((envoyService["entrypoint"] as string[]).join(" "));
    const [, sedPlaceholder, sedToken, source, rendered] =
      /sed "s\|\\(\$\{KEYGATE_DATA_PLANE_TOKEN\})\|(\$\{KEYGATE_DATA_PLANE_TOKEN\})\|g" (\S+) > (\S+)/.exec(command) ?? [];
    expect(sedPlaceholder).toBe(PLACEHOLDER);
    expect(sedToken).toBe(PLACEHOLDER);
    expect(source).toBe(mount[1]);
    expect(command).toContain(`exec envoy -c ${rendered}`);
    const token = "f".repeat(64);
    const renderedText = template.replaceAll(PLACEHOLDER, token);
    expect(renderedText).not.toContain("${");
    expect(JSON.stringify(parse(renderedText))).toContain(`Bearer ${token}`);
  });
});

describe("compose/envoy.yaml", () => {
  it("listens on the port compose publishes", () => {
    const listener = envoy["static_resources"].listeners[0];
    expect(published(envoyService).get("10000")).toBe(listener.address.socket_address.port_value);
  });

  it("asks keygate, at its compose service name and data-plane port, over HTTP/2, failing closed", () => {
    const extAuthz = objects.find((o) => o["@type"] === "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz")!;
    expect(extAuthz).toMatchObject({ transport_api_version: "V3", failure_mode_allow: false, grpc_service: { envoy_grpc: { cluster_name: "keygate" } } });
    const keygate = cluster("keygate");
    expect(endpoint(keygate)).toEqual({ address: "keygate", port_value: Number(services["keygate"]!["environment"]["KEYGATE_DATA_PLANE_PORT"]) });
    expect(keygate.typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config).toHaveProperty("http2_protocol_options");
    expect(keygate.health_checks[0].grpc_health_check.service_name).toBe(Authorization.typeName);
  });

  it("sends the data-plane token on every gRPC service keygate serves it (Check and the access log)", () => {
    const grpcServices = objects.filter((o) => o["envoy_grpc"] !== undefined);
    expect(grpcServices).toHaveLength(2);
    for (const service of grpcServices) {
      expect(service["envoy_grpc"].cluster_name).toBe("keygate");
      expect(service["initial_metadata"]).toEqual([{ key: "authorization", value: `Bearer ${PLACEHOLDER}` }]);
    }
  });

  it("routes to the upstream compose runs, each route naming its scopes", () => {
    const upstream = services["upstream"]!;
    expect(endpoint(cluster("upstream"))).toEqual({ address: "upstream", port_value: 8000 });
    expect(upstream["expose"]).toEqual(["8000"]);
    expect((upstream["command"] as string[]).join(" ")).toContain(".listen(8000)");
    const routes = objects.filter((o) => o["route"] !== undefined && o["match"] !== undefined);
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) {
      expect(route["route"].cluster).toBe("upstream");
      expect(route["typed_per_filter_config"]["envoy.filters.http.ext_authz"].check_settings.context_extensions).toHaveProperty("required_scopes");
    }
  });
});
