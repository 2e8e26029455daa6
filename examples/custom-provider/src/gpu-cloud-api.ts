/**
 * The wire format of the imaginary "gpu-cloud" REST API (JSON over HTTPS, bearer token).
 * Shared by the provider's client and by the local fake server in `testing/`.
 *
 * | call                                      | answer                                                 |
 * | ----------------------------------------- | ------------------------------------------------------ |
 * | `POST /v1/instances` ({@link CreateInstanceBody}, `Idempotency-Key` header) | `201` (or `200` when the key was seen) {@link ApiInstance} |
 * | `GET /v1/instances?label=k:v&page_token=` | `200` {@link ListInstancesBody}                        |
 * | `GET /v1/instances/:id`                   | `200` {@link ApiInstance}, `404`                       |
 * | `DELETE /v1/instances/:id`                | `202`, `404`                                           |
 * | `GET /v1/prices`                          | `200` {@link PricesBody}                               |
 *
 * Errors are `{ "error": { "code", "message" } }` ({@link ApiErrorBody}): `409 no_capacity`,
 * `429 rate_limited` (with `Retry-After`), `403 quota_exceeded`, `401 unauthorized`,
 * `400 invalid_request`, `404 not_found`, `5xx internal`.
 *
 * Preemption notices arrive as webhooks: the cloud POSTs a {@link PreemptionNoticeBody} to a
 * URL registered with the account, signed with `X-Gpu-Cloud-Signature: sha256=<hex HMAC>`.
 */

/** Instance lifecycle as the cloud reports it. `reclaimed`: a spot instance taken back. */
export type ApiInstanceStatus = 'provisioning' | 'running' | 'deleting' | 'deleted' | 'reclaimed';

export interface ApiInstance {
  readonly id: string;
  readonly region: string;
  /** GPU shape, e.g. `h100-80gb`. */
  readonly gpu: string;
  readonly spot: boolean;
  readonly status: ApiInstanceStatus;
  readonly labels: Readonly<Record<string, string>>;
  /** ISO 8601. */
  readonly created_at: string;
  /** Private address, once running. */
  readonly ip?: string | undefined;
}

export interface CreateInstanceBody {
  readonly region: string;
  readonly gpu: string;
  readonly spot: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly user_data?: string | undefined;
}

export interface ListInstancesBody {
  readonly instances: readonly ApiInstance[];
  readonly next_page_token?: string | undefined;
}

export interface ApiPrice {
  readonly region: string;
  readonly gpu: string;
  readonly spot_hourly_usd: number;
  readonly on_demand_hourly_usd: number;
}

export interface PricesBody {
  readonly prices: readonly ApiPrice[];
  /** ISO 8601. */
  readonly as_of: string;
}

export type ApiErrorCode =
  | 'no_capacity'
  | 'rate_limited'
  | 'quota_exceeded'
  | 'unauthorized'
  | 'invalid_request'
  | 'not_found'
  | 'internal';

export interface ApiErrorBody {
  readonly error: { readonly code: ApiErrorCode | (string & {}); readonly message: string };
}

export interface PreemptionNoticeBody {
  readonly type: 'instance.preemption_notice';
  readonly instance_id: string;
  /** The instance's labels, so a receiver can tell which service it belongs to. */
  readonly labels: Readonly<Record<string, string>>;
  /** ISO 8601: when the instance will be reclaimed. */
  readonly reclaim_at: string;
  /** ISO 8601: when the notice was sent. */
  readonly sent_at: string;
}

/** Header carrying the webhook signature. */
export const SIGNATURE_HEADER = 'x-gpu-cloud-signature';
