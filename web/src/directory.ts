import { api } from "./api.js";

/**
 * Names for the ids the audit log holds: the organization's keys (ListKeys, every state) and
 * users (ListUsers), read when the page opens; both need only admin:read, like the audit log
 * itself. A key deleted since keeps its raw id.
 */
export interface Directory {
  keyName(id: string): string | undefined;
  userName(id: string): string | undefined;
  users: readonly { id: string; name: string }[];
}

const PAGE = 1000;

async function allPages<T>(fetch: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>): Promise<T[]> {
  const all: T[] = [];
  let token = "";
  do {
    const page = await fetch(token);
    all.push(...page.items);
    token = page.nextPageToken;
  } while (token !== "");
  return all;
}

export async function loadDirectory(signal: AbortSignal): Promise<Directory> {
  const [keys, users] = await Promise.all([
    allPages(async (pageToken) => {
      const page = await api.listKeys({ pageSize: PAGE, pageToken }, { signal });
      return { items: page.keys.map((k) => [k.id, k.name] as const), nextPageToken: page.nextPageToken };
    }),
    allPages(async (pageToken) => {
      const page = await api.listUsers({ pageSize: PAGE, pageToken }, { signal });
      return { items: page.users.map((u) => ({ id: u.id, name: u.name })), nextPageToken: page.nextPageToken };
    }),
  ]);
  const keyNames = new Map(keys);
  const userNames = new Map(users.map((u) => [u.id, u.name]));
  return {
    keyName: (id) => keyNames.get(id),
    userName: (id) => userNames.get(id),
    users: [...users].sort((a, b) => a.name.localeCompare(b.name)),
  };
}
