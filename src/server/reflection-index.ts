import { createRegistry, toBinary, type DescFile, type DescService, type Registry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

/**
 * What gRPC server reflection answers from (reflection-service.ts): the services a listener
 * serves and the protobuf files that describe them, taken from the generated descriptors in gen/
 * (each service's file and, transitively, the files it imports), so the answer is the proto
 * keygate was built from, never a copy that could drift.
 */
export class ReflectionIndex {
  readonly serviceNames: readonly string[];
  readonly #files = new Map<string, DescFile>();
  readonly #registry: Registry;
  /** Each file's serialized FileDescriptorProto, made once. */
  readonly #bytes = new Map<DescFile, Uint8Array>();

  constructor(services: readonly DescService[]) {
    this.serviceNames = [...new Set(services.map((service) => service.typeName))].sort();
    const visit = (file: DescFile) => {
      const name = `${file.name}.proto`;
      if (this.#files.has(name)) return;
      this.#files.set(name, file);
      for (const dependency of file.dependencies) visit(dependency);
    };
    for (const service of services) visit(service.file);
    this.#registry = createRegistry(...this.#files.values());
  }

  /** The file named as in an import statement (`envoy/service/auth/v3/external_auth.proto`), and what it imports. */
  fileByName(name: string): Uint8Array[] | undefined {
    const file = this.#files.get(name);
    return file === undefined ? undefined : this.#withImports(file);
  }

  /**
   * The file declaring a fully-qualified symbol: a service, message, enum or extension, or a
   * method, field or enum value (named after its parent), and what it imports.
   */
  fileContainingSymbol(symbol: string): Uint8Array[] | undefined {
    const name = symbol.startsWith(".") ? symbol.slice(1) : symbol;
    const found = this.#registry.get(name) ?? this.#member(name);
    return found === undefined ? undefined : this.#withImports(found.file);
  }

  /** The file declaring extension `number` of message `typeName`, and what it imports. */
  fileContainingExtension(typeName: string, number: number): Uint8Array[] | undefined {
    const extendee = this.#registry.getMessage(typeName);
    const extension = extendee === undefined ? undefined : this.#registry.getExtensionFor(extendee, number);
    return extension === undefined ? undefined : this.#withImports(extension.file);
  }

  /** The extension numbers known for message `typeName`; undefined when the message is not known. */
  extensionNumbers(typeName: string): number[] | undefined {
    if (this.#registry.getMessage(typeName) === undefined) return undefined;
    const numbers: number[] = [];
    for (const type of this.#registry) if (type.kind === "extension" && type.extendee.typeName === typeName) numbers.push(type.number);
    return numbers.sort((a, b) => a - b);
  }

  /** A method (`pkg.Service.Method`), field or enum value: its parent declares it. */
  #member(name: string) {
    const dot = name.lastIndexOf(".");
    if (dot <= 0) return undefined;
    const parent = this.#registry.get(name.slice(0, dot));
    const member = name.slice(dot + 1);
    if (parent === undefined) return undefined;
    const declared =
      parent.kind === "service"
        ? parent.methods.some((method) => method.name === member)
        : parent.kind === "message"
          ? parent.fields.some((field) => field.name === member)
          : parent.kind === "enum" && parent.values.some((value) => value.name === member);
    return declared ? parent : undefined;
  }

  /** The file first, then every file it imports, directly or not (clients resolve types across them). */
  #withImports(file: DescFile): Uint8Array[] {
    const ordered: DescFile[] = [];
    const visit = (next: DescFile) => {
      if (ordered.includes(next)) return;
      ordered.push(next);
      for (const dependency of next.dependencies) visit(dependency);
    };
    visit(file);
    return ordered.map((each) => this.#serialized(each));
  }

  #serialized(file: DescFile): Uint8Array {
    let bytes = this.#bytes.get(file);
    if (bytes === undefined) this.#bytes.set(file, (bytes = toBinary(FileDescriptorProtoSchema, file.proto)));
    return bytes;
  }
}
