import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/config/package-root.js";
import { startTestApp, type TestApp } from "../support/app.js";

/**
 * gRPC server reflection as grpcurl and buf curl use it: a real gRPC client (@grpc/grpc-js, the
 * reflection proto loaded at run time, as a tool without keygate's generated code would) lists
 * the services and resolves the file declaring a symbol, on v1 and v1alpha; health knows the
 * access-log service. On the data plane's own listener reflection takes the data-plane token.
 */

interface ReflectionAnswer {
  validHost: string;
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
  allExtensionNumbersResponse?: { baseTypeName: string; extensionNumber: number[] };
}

type Asked = { listServices: string } | { fileContainingSymbol: string } | { fileByFilename: string } | { allExtensionNumbersOfType: string };

const root = packageRoot();
const load = (file: string) =>
  grpc.loadPackageDefinition(protoLoader.loadSync(file, { includeDirs: [`${root}/proto`], keepCase: false, defaults: true, oneofs: true, enums: String })) as Record<string, any>;

const reflection = {
  v1: load("grpc/reflection/v1/reflection.proto").grpc.reflection.v1.ServerReflection as grpc.ServiceClientConstructor,
  v1alpha: load("grpc/reflection/v1alpha/reflection.proto").grpc.reflection.v1alpha.ServerReflection as grpc.ServiceClientConstructor,
};
const Health = load("grpc/health/v1/health.proto").grpc.health.v1.Health as grpc.ServiceClientConstructor;

const hostOf = (url: string) => url.replace(/^http:\/\//, "");

/** Sends each request on one reflection stream and collects one answer for each (or the stream's error). */
async function reflect(url: string, version: "v1" | "v1alpha", requests: Asked[], metadata = new grpc.Metadata()): Promise<ReflectionAnswer[]> {
  const client = new reflection[version](hostOf(url), grpc.credentials.createInsecure());
  try {
    const call = (client as any).serverReflectionInfo(metadata) as grpc.ClientDuplexStream<object, ReflectionAnswer>;
    const answers: ReflectionAnswer[] = [];
    const done = new Promise<ReflectionAnswer[]>((resolve, reject) => {
      call.on("data", (answer: ReflectionAnswer) => answers.push(answer));
      call.on("error", reject);
      call.on("end", () => resolve(answers));
    });
    for (const request of requests) call.write({ host: "keygate", ...request });
    call.end();
    return await done;
  } finally {
    client.close();
  }
}

const descriptors = (answer: ReflectionAnswer): FileDescriptorProto[] =>
  (answer.fileDescriptorResponse?.fileDescriptorProto ?? []).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));

describe("gRPC server reflection on PORT", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  it("lists every service served there, on v1 and on v1alpha (older grpcurl)", async () => {
    const expected = [
      "envoy.service.accesslog.v3.AccessLogService",
      "envoy.service.auth.v3.Authorization",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "keygate.v1.KeyAdminService",
      "keygate.v1.OperatorService",
    ];
    for (const version of ["v1", "v1alpha"] as const) {
      const [answer] = await reflect(t.app.url, version, [{ listServices: "" }]);
      expect(answer!.listServicesResponse!.service.map((service) => service.name)).toEqual(expected);
      expect(answer!.validHost).toBe("keygate");
    }
  });

  it("resolves the file declaring a service, a method or a message, with the files it imports", async () => {
    const [service, method, message] = await reflect(t.app.url, "v1", [
      { fileContainingSymbol: "keygate.v1.KeyAdminService" },
      { fileContainingSymbol: "envoy.service.auth.v3.Authorization.Check" },
      { fileContainingSymbol: "envoy.service.auth.v3.CheckRequest" },
    ]);
    const [keyAdmin, ...imports] = descriptors(service!);
    expect(keyAdmin!.package).toBe("keygate.v1");
    expect(keyAdmin!.service.map((s) => s.name)).toContain("KeyAdminService");
    expect(keyAdmin!.service.find((s) => s.name === "KeyAdminService")!.method.map((m) => m.name)).toContain("CreateKey");
    // Every import is sent along, so a client can describe the messages of every method.
    const sent = new Set([keyAdmin!.name, ...imports.map((file) => file.name)]);
    for (const file of [keyAdmin!, ...imports]) for (const dependency of file.dependency) expect(sent).toContain(dependency);
    expect(descriptors(method!)[0]!.name).toBe("envoy/service/auth/v3/external_auth.proto");
    expect(descriptors(message!)[0]!.name).toBe("envoy/service/auth/v3/external_auth.proto");
  });

  it("resolves a file by its name, and answers an unknown symbol with NOT_FOUND on the stream", async () => {
    const [byName, unknown, extensions] = await reflect(t.app.url, "v1alpha", [
      { fileByFilename: "grpc/health/v1/health.proto" },
      { fileContainingSymbol: "keygate.v1.NoSuchService" },
      { allExtensionNumbersOfType: "keygate.v1.CreateKeyRequest" },
    ]);
    expect(descriptors(byName!)[0]!.service[0]!.name).toBe("Health");
    expect(unknown!.errorResponse).toEqual({ errorCode: grpc.status.NOT_FOUND, errorMessage: "symbol keygate.v1.NoSuchService not found" });
    expect(extensions!.allExtensionNumbersResponse).toEqual({ baseTypeName: "keygate.v1.CreateKeyRequest", extensionNumber: [] });
  });

  it("health knows the access-log service", async () => {
    const client = new Health(hostOf(t.app.url), grpc.credentials.createInsecure());
    try {
      const check = (service: string) =>
        new Promise<{ status: string }>((resolve, reject) => (client as any).check({ service }, (error: Error | null, answer: { status: string }) => (error ? reject(error) : resolve(answer))));
      expect(await check("envoy.service.accesslog.v3.AccessLogService")).toEqual({ status: "SERVING" });
      expect(await check("keygate.v1.OperatorService")).toEqual({ status: "SERVING" });
      await expect(check("no.such.Service")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    } finally {
      client.close();
    }
  });
});

describe("gRPC server reflection on the data plane's own listener, behind its token", () => {
  const TOKEN = "reflection-test-token-0123456789abcdef";
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { KEYGATE_DATA_PLANE_PORT: "0", KEYGATE_DATA_PLANE_TOKEN: TOKEN } });
  });
  afterAll(async () => t?.close());

  it("refuses a caller without the data-plane token, as Check does", async () => {
    await expect(reflect(t.app.dataPlaneUrl!, "v1", [{ listServices: "" }])).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it("lists only the data plane's services to a caller with the token; PORT no longer lists them", async () => {
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${TOKEN}`);
    const [answer] = await reflect(t.app.dataPlaneUrl!, "v1", [{ listServices: "" }], metadata);
    expect(answer!.listServicesResponse!.service.map((service) => service.name)).toEqual([
      "envoy.service.accesslog.v3.AccessLogService",
      "envoy.service.auth.v3.Authorization",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
    const [onPort] = await reflect(t.app.url, "v1", [{ listServices: "" }]);
    expect(onPort!.listServicesResponse!.service.map((service) => service.name)).not.toContain("envoy.service.auth.v3.Authorization");
  });
});
