import { LENGTH_DELIMITED, VARINT, type WireReader } from "../rpc/protobuf-wire.js";
import { stringEntry } from "./string-map-entry.js";

/**
 * A CheckRequest's peers (AttributeContext.Peer) as the lean decoder (check-request-decoder.ts)
 * reads them: of the source, only the socket address is kept; everything else of both peers (the
 * destination, ports, labels, principals, the other address kinds) is checked against the
 * schema's wire types, as fromBinary would read it, and skipped.
 */

export interface MutableAddress {
  address: { case: "socketAddress"; value: { address: string } } | { case: "pipe" | "envoyInternalAddress" | undefined };
}

/** Validates a message of the schema that Check does not read (Pipe, EnvoyInternalAddress). */
function declaredOnly(r: WireReader, end: number, wireTypes: ReadonlyMap<number, number>): void {
  while (r.pos < end) {
    const field = r.tag();
    const wireType = wireTypes.get(field >>> 3);
    if (wireType !== undefined) r.expect(wireType, field);
    r.skip(field & 7, end);
  }
}

const PIPE = new Map([
  [1, LENGTH_DELIMITED],
  [2, VARINT],
]);
const INTERNAL_ADDRESS = new Map([
  [1, LENGTH_DELIMITED],
  [2, LENGTH_DELIMITED],
]);
const SOCKET_ADDRESS = new Map([
  [1, VARINT],
  [2, LENGTH_DELIMITED],
  [3, VARINT],
  [4, LENGTH_DELIMITED],
  [5, LENGTH_DELIMITED],
  [6, VARINT],
]);

function address(r: WireReader, target: MutableAddress, end: number): void {
  while (r.pos < end) {
    const field = r.tag();
    const no = field >>> 3;
    if (no < 1 || no > 3) {
      r.skip(field & 7, end);
      continue;
    }
    r.expect(LENGTH_DELIMITED, field);
    const messageEnd = r.delimitedEnd(end);
    if (no === 1) {
      // A oneof: a repeated socket_address merges, another case replaces it.
      const socket = target.address.case === "socketAddress" ? target.address.value : { address: "" };
      target.address = { case: "socketAddress", value: socket };
      while (r.pos < messageEnd) {
        const inner = r.tag();
        if (inner >>> 3 === 2) socket.address = r.string(inner, messageEnd);
        else {
          const wireType = SOCKET_ADDRESS.get(inner >>> 3);
          if (wireType !== undefined) r.expect(wireType, inner);
          r.skip(inner & 7, messageEnd);
        }
      }
    } else {
      declaredOnly(r, messageEnd, no === 2 ? PIPE : INTERNAL_ADDRESS);
      target.address = { case: no === 2 ? "pipe" : "envoyInternalAddress" };
    }
  }
}

/** A Peer into `target`; the destination (target undefined) is only checked, as Check never reads it. */
export function peer(r: WireReader, target: { address: MutableAddress | undefined } | undefined, end: number): void {
  while (r.pos < end) {
    const field = r.tag();
    switch (field >>> 3) {
      case 1: {
        r.expect(LENGTH_DELIMITED, field);
        const addressEnd = r.delimitedEnd(end);
        if (target === undefined) address(r, { address: { case: undefined } }, addressEnd);
        else address(r, (target.address ??= { address: { case: undefined } }), addressEnd);
        break;
      }
      case 2:
      case 4:
      case 5:
        r.skipDeclared(field, LENGTH_DELIMITED, end);
        break;
      case 3:
        r.expect(LENGTH_DELIMITED, field);
        stringEntry(r, end, undefined);
        break;
      default:
        r.skip(field & 7, end);
    }
  }
}
