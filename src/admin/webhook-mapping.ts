import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  LeakedKeyAction as LeakedKeyActionMessage,
  OrganizationSettingsSchema,
  WebhookDeliverySchema,
  WebhookDeliveryStatus as WebhookDeliveryStatusEnum,
  WebhookEndpointSchema,
  type OrganizationSettings as OrganizationSettingsMessage,
  type WebhookDelivery,
  type WebhookEndpoint,
} from "../../gen/keygate/v1/key_admin_pb.js";
import type { LeakedKeyAction, OrganizationSettings, WebhookDeliveryRecord, WebhookDeliveryStatus, WebhookEndpointRecord } from "../model/webhooks.js";

/**
 * Converts webhook endpoints, deliveries and organization settings to the admin API's messages;
 * no rules live here. An endpoint's message has no field for its secret, sealed or not, nor a
 * delivery's for its payload: neither can reach an answer through these.
 */

const DELIVERY_STATUS_ENUM: Readonly<Record<WebhookDeliveryStatus, WebhookDeliveryStatusEnum>> = {
  pending: WebhookDeliveryStatusEnum.PENDING,
  delivered: WebhookDeliveryStatusEnum.DELIVERED,
  failed: WebhookDeliveryStatusEnum.FAILED,
};

export function toWebhookEndpoint(endpoint: WebhookEndpointRecord): WebhookEndpoint {
  return create(WebhookEndpointSchema, {
    id: endpoint.id,
    organizationId: endpoint.organizationId,
    url: endpoint.url,
    eventTypes: endpoint.eventTypes,
    description: endpoint.description,
    enabled: endpoint.enabled,
    createdAt: timestampFromDate(endpoint.createdAt),
    updatedAt: timestampFromDate(endpoint.updatedAt),
    disabledReason: endpoint.disabledReason,
  });
}

export function toWebhookDelivery(delivery: WebhookDeliveryRecord): WebhookDelivery {
  return create(WebhookDeliverySchema, {
    id: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    attempt: delivery.attempt,
    status: DELIVERY_STATUS_ENUM[delivery.status],
    responseCode: delivery.responseCode,
    nextAttemptAt: timestampFromDate(delivery.nextAttemptAt),
    createdAt: timestampFromDate(delivery.createdAt),
    endpointId: delivery.endpointId,
    lastError: delivery.lastError,
  });
}

/** leaked_key_action's enum values by the setting they stand for (settings-fields.ts reads them back). */
export const LEAKED_KEY_ACTION_MESSAGES: Readonly<Record<LeakedKeyAction, LeakedKeyActionMessage>> = {
  notify: LeakedKeyActionMessage.NOTIFY,
  disable: LeakedKeyActionMessage.DISABLE,
  revoke: LeakedKeyActionMessage.REVOKE,
};

export function toOrganizationSettingsMessage(settings: OrganizationSettings): OrganizationSettingsMessage {
  return create(OrganizationSettingsSchema, {
    expiryWarningDays: settings.expiryWarningDays,
    maxKeyLifetimeDays: settings.maxKeyLifetimeDays,
    disableUnusedKeysAfterDays: settings.disableUnusedKeysAfterDays,
    quotaThresholds: settings.quotaThresholds,
    leakedKeyAction: LEAKED_KEY_ACTION_MESSAGES[settings.leakedKeyAction],
    responseCostHeader: settings.responseCostHeader,
    creditsLowThresholdPercent: settings.creditsLowThresholdPercent,
  });
}
