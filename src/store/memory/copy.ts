/**
 * Records go in and come out as copies, so a caller holding one can never change what the store
 * holds except through its methods, as with a store across a network.
 */
export const copy = <T>(value: T): T => structuredClone(value);
