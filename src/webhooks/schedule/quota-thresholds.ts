import { settingsOf } from "../../model/organization-settings.js";
import { organizationPlan, type PlanCatalog } from "../../model/plans.js";
import type { UsageRepository } from "../../store/usage-repository.js";
import type { FlushedUsage } from "../../usage/usage-recorder.js";
import { monthOf, type Month } from "../../time/utc-days.js";
import type { OnceEvents } from "./once-events.js";
import type { OrganizationsOfPass } from "./organizations-of-pass.js";

/**
 * `quota.threshold`: once per organization, threshold and month, when the month's allowed
 * requests reach each of the organization's `quota_thresholds` percentages of its plan's
 * monthly quota. The id is derived from the month and the threshold, so every replica and every
 * pass that sees the crossing makes the same event, and a new month starts over.
 *
 * Which organizations to look at: those whose stored usage for a month just grew. Usage only
 * grows when a replica's usage recorder writes a batch, so this replica listens to its own
 * recorder's batches (`flushed`, a FlushListener) and looks, on its next pass, at the month's
 * stored total of each organization they touched: the stored total includes every replica's
 * batches, and the replica that wrote the batch that crossed a threshold is one that looks.
 * Between two batches nothing can cross. Should that replica stop between its write and its
 * pass, the organization's next batch, on any replica, makes up for it; an organization whose
 * plan is lowered below its usage is told at its next batch. Stored usage trails Check by at
 * most a flush interval, and so does the event.
 */
export class QuotaThresholds {
  readonly #usage: Pick<UsageRepository, "allowedRequests">;
  readonly #plans: PlanCatalog;
  readonly #once: OnceEvents;
  /** The organizations and months whose stored usage grew since the last pass. */
  readonly #grown = new Map<string, { organizationId: string; month: Month }>();

  constructor(deps: { usage: Pick<UsageRepository, "allowedRequests">; plans: PlanCatalog; once: OnceEvents }) {
    this.#usage = deps.usage;
    this.#plans = deps.plans;
    this.#once = deps.once;
  }

  /** The usage recorder wrote these (UsageAggregator.onFlushed). */
  readonly flushed = (flushed: FlushedUsage): void => {
    for (const entry of flushed.entries) {
      if (!entry.tally.outcomes.allowed) continue;
      const month = entry.day.slice(0, 7);
      this.#grown.set(`${entry.organizationId}/${month}`, { organizationId: entry.organizationId, month });
    }
  };

  /** Looks at every organization and month that grew; throws the first failure once each was tried. */
  async run(nowMs: number, organizations: OrganizationsOfPass): Promise<void> {
    const grown = [...this.#grown];
    this.#grown.clear();
    let failure: unknown;
    for (const [name, growth] of grown) {
      try {
        await this.#check(growth.organizationId, growth.month, nowMs, organizations);
      } catch (error) {
        // Looked at again next pass, unless a batch noted it meanwhile (the same either way).
        this.#grown.set(name, growth);
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  async #check(organizationId: string, month: Month, nowMs: number, organizations: OrganizationsOfPass): Promise<void> {
    const organization = await organizations.get(organizationId);
    if (organization === null) return;
    const plan = organizationPlan(this.#plans, organization.plan);
    const quota = plan.monthlyQuota;
    const thresholds = settingsOf(organization).quotaThresholds;
    const used = await this.#usage.allowedRequests(organizationId, monthOf(`${month}-01`));
    for (const threshold of thresholds) {
      if (used * 100 < threshold * quota) continue;
      await this.#once.enqueue({ type: "quota.threshold", organizationId, once: `${month}/${threshold}` }, nowMs, () => ({
        organization_id: organizationId,
        month,
        threshold,
        used,
        quota,
        plan: plan.name,
      }));
    }
  }
}
