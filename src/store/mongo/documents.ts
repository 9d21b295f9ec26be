/** A record as stored: its `id` is the document's `_id`, every other field as it is. */
export type StoredRecord<T extends { id: string }> = Omit<T, "id"> & { _id: string };

export const toDocument = <T extends { id: string }>({ id, ...rest }: T): StoredRecord<T> => ({ _id: id, ...rest });
