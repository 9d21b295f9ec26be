import type { Document } from "mongodb";

/** What a query plan tests read of an `explain` answer: the winning plan's stages, and the indexes its scans use. */
export function winningPlan(explained: Document): { stages: string[]; indexes: string[] } {
  const stages: string[] = [];
  const indexes: string[] = [];
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== "object") return;
    const { stage, indexName } = node as { stage?: unknown; indexName?: unknown };
    if (typeof stage === "string") stages.push(stage);
    if (typeof indexName === "string") indexes.push(indexName);
    for (const value of Object.values(node)) visit(value);
  };
  visit((explained["queryPlanner"] as Document)["winningPlan"]);
  return { stages, indexes };
}
