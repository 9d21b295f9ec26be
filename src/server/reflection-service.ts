import { create, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import {
  ServerReflection,
  ServerReflectionResponseSchema,
  type ServerReflectionRequest,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflection as ServerReflectionV1Alpha,
  ServerReflectionResponseSchema as ServerReflectionResponseV1AlphaSchema,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { ReflectionIndex } from "./reflection-index.js";

/**
 * gRPC server reflection, `grpc.reflection.v1.ServerReflection` and the older
 * `grpc.reflection.v1alpha` that some clients still ask for first (the two differ only in their
 * package), so `grpcurl` and `buf curl` list a listener's services and describe their methods and
 * messages without a copy of the proto.
 *
 * It describes what the router it is registered on serves (register it after the other services)
 * and nothing else: on PORT the admin services, health and, unless the data plane has its own
 * listener, Check and the access log; on KEYGATE_DATA_PLANE_PORT only the data plane's. Who may
 * ask is who may reach that listener's other services without a key: it reveals the API's shape,
 * which the proto in the repository makes public anyway, and no data. On PORT it is open, like
 * health (the admin services each authenticate their own calls); behind the data plane's boundary
 * `interceptors` hold it to the same token as Check (src/app.ts), so reflection never answers a
 * caller the data-plane listener would refuse.
 */

/** Reflection's service names, for a listener that holds them to an admission (src/app.ts). */
export const REFLECTION_SERVICES: readonly string[] = [ServerReflection.typeName, ServerReflectionV1Alpha.typeName];

type ResponseInit = MessageInitShape<typeof ServerReflectionResponseSchema>;

/** The request as the response echoes it, rebuilt as plain fields (v1 and v1alpha messages differ in type name). */
function original(request: ServerReflectionRequest): ResponseInit["originalRequest"] {
  const { messageRequest } = request;
  return {
    host: request.host,
    messageRequest:
      messageRequest.case === "fileContainingExtension"
        ? { case: "fileContainingExtension", value: { containingType: messageRequest.value.containingType, extensionNumber: messageRequest.value.extensionNumber } }
        : messageRequest,
  };
}

function notFound(message: string): ResponseInit["messageResponse"] {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: message } };
}

function files(found: Uint8Array[] | undefined, missing: string): ResponseInit["messageResponse"] {
  return found === undefined ? notFound(missing) : { case: "fileDescriptorResponse", value: { fileDescriptorProto: found } };
}

/** One answer per request, in the stream's order; an unknown name is an error answer, never an RPC error. */
function answer(index: ReflectionIndex, request: ServerReflectionRequest): ResponseInit {
  const asked = request.messageRequest;
  let messageResponse: ResponseInit["messageResponse"];
  switch (asked.case) {
    case "listServices":
      messageResponse = { case: "listServicesResponse", value: { service: index.serviceNames.map((name) => ({ name })) } };
      break;
    case "fileByFilename":
      messageResponse = files(index.fileByName(asked.value), `file ${asked.value} not found`);
      break;
    case "fileContainingSymbol":
      messageResponse = files(index.fileContainingSymbol(asked.value), `symbol ${asked.value} not found`);
      break;
    case "fileContainingExtension":
      messageResponse = files(
        index.fileContainingExtension(asked.value.containingType, asked.value.extensionNumber),
        `extension ${asked.value.extensionNumber} of ${asked.value.containingType} not found`,
      );
      break;
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbers(asked.value);
      messageResponse =
        numbers === undefined ? notFound(`type ${asked.value} not found`) : { case: "allExtensionNumbersResponse", value: { baseTypeName: asked.value, extensionNumber: numbers } };
      break;
    }
    default:
      messageResponse = { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" } };
  }
  return { validHost: request.host, originalRequest: original(request), messageResponse };
}

/**
 * Registers reflection (both versions) on `router`, describing the services registered on it so
 * far and reflection itself.
 */
export function reflectionRoutes(router: ConnectRouter, interceptors: Interceptor[] = []): void {
  const served: DescService[] = [...router.handlers.map((handler) => handler.service), ServerReflection, ServerReflectionV1Alpha];
  const index = new ReflectionIndex(served);
  router.service(
    ServerReflection,
    {
      async *serverReflectionInfo(requests) {
        for await (const request of requests) yield create(ServerReflectionResponseSchema, answer(index, request));
      },
    },
    { interceptors },
  );
  router.service(
    ServerReflectionV1Alpha,
    {
      async *serverReflectionInfo(requests) {
        for await (const request of requests) {
          // The same fields under another package: answered as v1, built as v1alpha.
          const init = answer(index, request as unknown as ServerReflectionRequest);
          yield create(ServerReflectionResponseV1AlphaSchema, init as unknown as MessageInitShape<typeof ServerReflectionResponseV1AlphaSchema>);
        }
      },
    },
    { interceptors },
  );
}
