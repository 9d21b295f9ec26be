/** One measurement window as a load generator saw it. */
export interface LoadResult {
  /** Responses received (h2load: done; grpc-js: completed calls). */
  requests: number;
  /** Failed streams, non-200 statuses, or gRPC errors. */
  failed: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** Decisions seen in sampled responses (grpc-js generator only). */
  outcomes: Record<string, number>;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarizeLatencies(latenciesUs: ArrayLike<number>): Pick<LoadResult, "p50Ms" | "p99Ms" | "p999Ms"> {
  const sorted = Float64Array.from(latenciesUs).sort();
  return { p50Ms: percentile(sorted, 50) / 1000, p99Ms: percentile(sorted, 99) / 1000, p999Ms: percentile(sorted, 99.9) / 1000 };
}
