/**
 * What the upstream schemas say about the kinds deploy/ uses, written down here because nothing
 * can be downloaded (the network reaches npm only): Kubernetes' OpenAPI (core/v1, apps/v1,
 * policy/v1, autoscaling/v2, networking.k8s.io/v1), the Prometheus Operator's CRDs
 * (monitoring.coreos.com/v1) and kustomize's Kustomization. Objects are closed: a field that is
 * not listed is reported, since the API server drops or (strict field validation) refuses a field
 * it does not know, and a misspelt `terminationGracePeriod` would otherwise pass unnoticed. Only
 * the fields deploy/ uses, and their close relatives, are listed; add an upstream fact before
 * using a new field. Istio's kinds are checked for their apiVersion only.
 */

export type Schema =
  | "string"
  | "integer"
  | "boolean"
  /** IntOrString: a port number or name, a count or a percentage. */
  | "int-or-string"
  /** resource.Quantity: 250m, 256Mi, 1. */
  | "quantity"
  /** A Prometheus duration: 30s, 5m, 1h30m. */
  | "duration"
  /** Not checked further (Istio's specs). */
  | "any"
  | { enum: readonly string[] }
  | { array: Schema }
  | { map: Schema }
  | { fields: Record<string, Schema>; required?: readonly string[]; exclusive?: readonly string[] };

const object = (fields: Record<string, Schema>, required: readonly string[] = [], exclusive?: readonly string[]): Schema =>
  exclusive ? { fields, required, exclusive } : { fields, required };
const array = (items: Schema): Schema => ({ array: items });
const map = (values: Schema): Schema => ({ map: values });
const oneOf = (...values: string[]): Schema => ({ enum: values });
const strings = array("string");
const PROTOCOL = oneOf("TCP", "UDP", "SCTP");

const metadata = (nameRequired: boolean) =>
  object({ name: "string", generateName: "string", namespace: "string", labels: map("string"), annotations: map("string") }, nameRequired ? ["name"] : []);
const labelSelector = object({
  matchLabels: map("string"),
  matchExpressions: array(object({ key: "string", operator: oneOf("In", "NotIn", "Exists", "DoesNotExist"), values: strings }, ["key", "operator"])),
});
const keyRef = object({ name: "string", key: "string", optional: "boolean" }, ["key"]);
const httpGet = object({ path: "string", port: "int-or-string", host: "string", scheme: oneOf("HTTP", "HTTPS"), httpHeaders: array(object({ name: "string", value: "string" }, ["name", "value"])) }, ["port"]);
const exec = object({ command: strings });
const tcpSocket = object({ port: "int-or-string", host: "string" }, ["port"]);
const probe = object({
  exec,
  httpGet,
  tcpSocket,
  grpc: object({ port: "integer", service: "string" }, ["port"]),
  initialDelaySeconds: "integer",
  periodSeconds: "integer",
  timeoutSeconds: "integer",
  successThreshold: "integer",
  failureThreshold: "integer",
  terminationGracePeriodSeconds: "integer",
});
const lifecycleHandler = object({ exec, httpGet, tcpSocket, sleep: object({ seconds: "integer" }, ["seconds"]) });
const seccompProfile = object({ type: oneOf("RuntimeDefault", "Unconfined", "Localhost"), localhostProfile: "string" }, ["type"]);
const container = object(
  {
    name: "string",
    image: "string",
    imagePullPolicy: oneOf("Always", "Never", "IfNotPresent"),
    command: strings,
    args: strings,
    workingDir: "string",
    ports: array(object({ name: "string", containerPort: "integer", protocol: PROTOCOL, hostPort: "integer", hostIP: "string" }, ["containerPort"])),
    env: array(
      object(
        {
          name: "string",
          value: "string",
          valueFrom: object({ secretKeyRef: keyRef, configMapKeyRef: keyRef, fieldRef: object({ fieldPath: "string", apiVersion: "string" }, ["fieldPath"]) }),
        },
        ["name"],
      ),
    ),
    envFrom: array(object({ prefix: "string", configMapRef: object({ name: "string", optional: "boolean" }), secretRef: object({ name: "string", optional: "boolean" }) })),
    resources: object({ requests: map("quantity"), limits: map("quantity") }),
    volumeMounts: array(object({ name: "string", mountPath: "string", readOnly: "boolean", subPath: "string" }, ["name", "mountPath"])),
    livenessProbe: probe,
    readinessProbe: probe,
    startupProbe: probe,
    lifecycle: object({ postStart: lifecycleHandler, preStop: lifecycleHandler }),
    securityContext: object({
      allowPrivilegeEscalation: "boolean",
      readOnlyRootFilesystem: "boolean",
      privileged: "boolean",
      runAsNonRoot: "boolean",
      runAsUser: "integer",
      runAsGroup: "integer",
      capabilities: object({ add: strings, drop: strings }),
      seccompProfile,
    }),
  },
  ["name"],
);
const podAffinityTerm = object(
  { labelSelector, namespaceSelector: labelSelector, namespaces: strings, topologyKey: "string", matchLabelKeys: strings, mismatchLabelKeys: strings },
  ["topologyKey"],
);
const podAffinity = object({
  requiredDuringSchedulingIgnoredDuringExecution: array(podAffinityTerm),
  preferredDuringSchedulingIgnoredDuringExecution: array(object({ weight: "integer", podAffinityTerm }, ["weight", "podAffinityTerm"])),
});
const podSpec = object(
  {
    containers: array(container),
    initContainers: array(container),
    volumes: array(
      object(
        {
          name: "string",
          configMap: object({ name: "string", optional: "boolean", defaultMode: "integer", items: array(object({ key: "string", path: "string" }, ["key", "path"])) }),
          secret: object({ secretName: "string", optional: "boolean", defaultMode: "integer" }),
          emptyDir: object({ medium: "string", sizeLimit: "quantity" }),
        },
        ["name"],
      ),
    ),
    securityContext: object({ runAsNonRoot: "boolean", runAsUser: "integer", runAsGroup: "integer", fsGroup: "integer", supplementalGroups: array("integer"), seccompProfile }),
    terminationGracePeriodSeconds: "integer",
    topologySpreadConstraints: array(
      object(
        {
          maxSkew: "integer",
          topologyKey: "string",
          whenUnsatisfiable: oneOf("DoNotSchedule", "ScheduleAnyway"),
          labelSelector,
          minDomains: "integer",
          matchLabelKeys: strings,
          nodeAffinityPolicy: oneOf("Honor", "Ignore"),
          nodeTaintsPolicy: oneOf("Honor", "Ignore"),
        },
        ["maxSkew", "topologyKey", "whenUnsatisfiable"],
      ),
    ),
    affinity: object({ podAffinity, podAntiAffinity: podAffinity, nodeAffinity: "any" }),
    serviceAccountName: "string",
    automountServiceAccountToken: "boolean",
    nodeSelector: map("string"),
    priorityClassName: "string",
  },
  ["containers"],
);
const metricTarget = object({ type: oneOf("Utilization", "Value", "AverageValue"), averageUtilization: "integer", averageValue: "quantity", value: "quantity" }, ["type"]);
const scalingRules = object({
  stabilizationWindowSeconds: "integer",
  selectPolicy: oneOf("Max", "Min", "Disabled"),
  policies: array(object({ type: oneOf("Pods", "Percent"), value: "integer", periodSeconds: "integer" }, ["type", "value", "periodSeconds"])),
});
const networkPolicyPeer = object({ podSelector: labelSelector, namespaceSelector: labelSelector, ipBlock: object({ cidr: "string", except: strings }, ["cidr"]) });
const networkPolicyPort = object({ port: "int-or-string", endPort: "integer", protocol: PROTOCOL });
const alertingRule = object(
  { alert: "string", record: "string", expr: "int-or-string", for: "duration", keep_firing_for: "duration", labels: map("string"), annotations: map("string") },
  ["expr"],
  ["alert", "record"],
);
/** A Prometheus rule group, as a rules file and PrometheusRule's spec.groups hold it. */
export const ruleGroup = object({ name: "string", interval: "duration", limit: "integer", rules: array(alertingRule) }, ["name", "rules"]);

/** The whole object of a kind: its apiVersion, kind, metadata and body. */
const kind = (body: Record<string, Schema>, required: readonly string[] = []) =>
  object({ apiVersion: "string", kind: "string", metadata: metadata(true), ...body }, ["apiVersion", "kind", "metadata", ...required]);

/** By `apiVersion kind`: the upstream schema of every kind deploy/ may use. */
export const KINDS: Record<string, Schema> = {
  "v1 Namespace": kind({ spec: object({ finalizers: strings }) }),
  "v1 ConfigMap": kind({ data: map("string"), binaryData: map("string"), immutable: "boolean" }),
  "v1 Secret": kind({ type: "string", data: map("string"), stringData: map("string"), immutable: "boolean" }),
  "v1 Service": kind(
    {
      spec: object({
        type: oneOf("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"),
        selector: map("string"),
        clusterIP: "string",
        ports: array(object({ name: "string", port: "integer", targetPort: "int-or-string", protocol: PROTOCOL, appProtocol: "string", nodePort: "integer" }, ["port"])),
      }),
    },
    ["spec"],
  ),
  "apps/v1 Deployment": kind(
    {
      spec: object(
        {
          replicas: "integer",
          selector: labelSelector,
          template: object({ metadata: metadata(false), spec: podSpec }, ["spec"]),
          strategy: object({ type: oneOf("RollingUpdate", "Recreate"), rollingUpdate: object({ maxUnavailable: "int-or-string", maxSurge: "int-or-string" }) }),
          minReadySeconds: "integer",
          revisionHistoryLimit: "integer",
          progressDeadlineSeconds: "integer",
        },
        ["selector", "template"],
      ),
    },
    ["spec"],
  ),
  "policy/v1 PodDisruptionBudget": kind(
    {
      spec: object(
        { selector: labelSelector, minAvailable: "int-or-string", maxUnavailable: "int-or-string", unhealthyPodEvictionPolicy: oneOf("IfHealthyBudget", "AlwaysAllow") },
        [],
        ["minAvailable", "maxUnavailable"],
      ),
    },
    ["spec"],
  ),
  "autoscaling/v2 HorizontalPodAutoscaler": kind(
    {
      spec: object(
        {
          scaleTargetRef: object({ apiVersion: "string", kind: "string", name: "string" }, ["kind", "name"]),
          minReplicas: "integer",
          maxReplicas: "integer",
          metrics: array(
            object(
              {
                type: oneOf("Object", "Pods", "Resource", "ContainerResource", "External"),
                resource: object({ name: "string", target: metricTarget }, ["name", "target"]),
                containerResource: object({ name: "string", container: "string", target: metricTarget }, ["name", "container", "target"]),
              },
              ["type"],
            ),
          ),
          behavior: object({ scaleUp: scalingRules, scaleDown: scalingRules }),
        },
        ["scaleTargetRef", "maxReplicas"],
      ),
    },
    ["spec"],
  ),
  "networking.k8s.io/v1 NetworkPolicy": kind(
    {
      spec: object(
        {
          podSelector: labelSelector,
          policyTypes: array(oneOf("Ingress", "Egress")),
          ingress: array(object({ from: array(networkPolicyPeer), ports: array(networkPolicyPort) })),
          egress: array(object({ to: array(networkPolicyPeer), ports: array(networkPolicyPort) })),
        },
        ["podSelector"],
      ),
    },
    ["spec"],
  ),
  "monitoring.coreos.com/v1 ServiceMonitor": kind(
    {
      spec: object(
        {
          selector: labelSelector,
          namespaceSelector: object({ any: "boolean", matchNames: strings }),
          jobLabel: "string",
          endpoints: array(
            object({
              port: "string",
              targetPort: "int-or-string",
              path: "string",
              scheme: oneOf("http", "https"),
              interval: "duration",
              scrapeTimeout: "duration",
              honorLabels: "boolean",
              relabelings: "any",
              metricRelabelings: "any",
            }),
          ),
        },
        ["selector", "endpoints"],
      ),
    },
    ["spec"],
  ),
  "monitoring.coreos.com/v1 PrometheusRule": kind({ spec: object({ groups: array(ruleGroup) }, ["groups"]) }, ["spec"]),
  "kustomize.config.k8s.io/v1beta1 Kustomization": object(
    {
      apiVersion: "string",
      kind: "string",
      namespace: "string",
      resources: strings,
      configMapGenerator: array(object({ name: "string", files: strings, literals: strings, behavior: oneOf("create", "replace", "merge") }, ["name"])),
      images: array(object({ name: "string", newName: "string", newTag: "string", digest: "string" }, ["name"])),
    },
    ["apiVersion", "kind"],
  ),
  "security.istio.io/v1 AuthorizationPolicy": kind({ spec: "any" }),
  "security.istio.io/v1 PeerAuthentication": kind({ spec: "any" }),
  "telemetry.istio.io/v1 Telemetry": kind({ spec: "any" }),
  "install.istio.io/v1alpha1 IstioOperator": kind({ spec: "any" }),
};

const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const DURATION = /^((\d+)(ms|s|m|h|d|w|y))+$/;

/** What is wrong with `value` against `schema`, one line per fault, each naming its path. */
export function violations(value: unknown, schema: Schema, path = ""): string[] {
  const at = path === "" ? "(root)" : path;
  if (schema === "any") return [];
  if (schema === "string") return typeof value === "string" ? [] : [`${at}: a string, not ${JSON.stringify(value)}`];
  if (schema === "boolean") return typeof value === "boolean" ? [] : [`${at}: a boolean, not ${JSON.stringify(value)}`];
  if (schema === "integer") return Number.isInteger(value) ? [] : [`${at}: an integer, not ${JSON.stringify(value)}`];
  if (schema === "int-or-string") return Number.isInteger(value) || typeof value === "string" ? [] : [`${at}: an integer or a string, not ${JSON.stringify(value)}`];
  if (schema === "quantity") {
    const text = typeof value === "number" ? String(value) : value;
    return typeof text === "string" && QUANTITY.test(text) ? [] : [`${at}: a quantity (250m, 256Mi), not ${JSON.stringify(value)}`];
  }
  if (schema === "duration") return typeof value === "string" && DURATION.test(value) ? [] : [`${at}: a Prometheus duration (30s, 5m), not ${JSON.stringify(value)}`];
  if ("enum" in schema) return schema.enum.includes(value as string) ? [] : [`${at}: one of ${schema.enum.join(", ")}, not ${JSON.stringify(value)}`];
  if ("array" in schema) {
    if (!Array.isArray(value)) return [`${at}: a list, not ${JSON.stringify(value)}`];
    return value.flatMap((item, index) => violations(item, schema.array, `${path}[${index}]`));
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [`${at}: an object, not ${JSON.stringify(value)}`];
  const entries = Object.entries(value as Record<string, unknown>);
  if ("map" in schema) return entries.flatMap(([key, item]) => violations(item, schema.map, `${path}.${key}`));
  const faults = entries.flatMap(([key, item]) =>
    key in schema.fields ? violations(item, schema.fields[key]!, path === "" ? key : `${path}.${key}`) : [`${at}: no field ${key} in the schema`],
  );
  for (const name of schema.required ?? []) if (!(name in value)) faults.push(`${at}: ${name} is required`);
  if (schema.exclusive && schema.exclusive.filter((name) => name in value).length !== 1) faults.push(`${at}: exactly one of ${schema.exclusive.join(", ")}`);
  return faults;
}

/** The schema of a document by its apiVersion and kind, or undefined for a pair that does not exist upstream. */
export function schemaOf(doc: { apiVersion?: unknown; kind?: unknown }): Schema | undefined {
  return KINDS[`${String(doc.apiVersion)} ${String(doc.kind)}`];
}
