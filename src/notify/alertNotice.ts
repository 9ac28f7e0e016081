import { createHash } from 'node:crypto';

/**
 * Alertmanager's webhook payload, as prometheus/alertmanager docs/configuration.md (at 00e94a96) `<webhook_config>`
 * documents it: version "4", groupKey, truncatedAlerts, status firing|resolved, receiver, groupLabels,
 * commonLabels, commonAnnotations, externalURL, and alerts (status, labels, annotations, startsAt, endsAt,
 * generatorURL, fingerprint).
 */
interface WebhookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
}

interface WebhookGroup {
  groupKey: string;
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  truncatedAlerts: number;
  alerts: WebhookAlert[];
}

/** A payload that is not Alertmanager's version 4 webhook: the relay answers 400 with this message. */
class WebhookPayloadError extends Error {}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): Record<string, string> =>
  isRecord(v)
    ? (Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string')) as Record<string, string>)
    : {};

export function parseWebhook(text: string): WebhookGroup {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new WebhookPayloadError('the body is not JSON');
  }
  if (!isRecord(doc)) throw new WebhookPayloadError('the body is not a JSON object');
  if (doc.version !== '4') throw new WebhookPayloadError(`version ${JSON.stringify(doc.version)}: only "4" is known`);
  if (typeof doc.groupKey !== 'string') throw new WebhookPayloadError('no groupKey');
  if (doc.status !== 'firing' && doc.status !== 'resolved')
    throw new WebhookPayloadError('status is not firing or resolved');
  if (!Array.isArray(doc.alerts) || !doc.alerts.length) throw new WebhookPayloadError('no alerts');
  const alerts = doc.alerts.map((a, i) => {
    if (!isRecord(a) || typeof a.startsAt !== 'string' || typeof a.status !== 'string')
      throw new WebhookPayloadError(`alerts[${i}] has no status or startsAt`);
    return { status: a.status, labels: strings(a.labels), annotations: strings(a.annotations), startsAt: a.startsAt };
  });
  return {
    groupKey: doc.groupKey,
    status: doc.status,
    groupLabels: strings(doc.groupLabels),
    truncatedAlerts: typeof doc.truncatedAlerts === 'number' ? doc.truncatedAlerts : 0,
    alerts,
  };
}

/**
 * One m.notice per notification of a group. Its transaction id is the group key, the status and the alerts'
 * startsAt with theirs: a retry of the same notification (Alertmanager retries a webhook until it gets a 2xx)
 * gets the same id, and the homeserver posts it once; a later change of the group is a new notice.
 */
export function alertNotice(g: WebhookGroup): { txnId: string; body: string } {
  const digest = createHash('sha256')
    .update(
      JSON.stringify([
        g.groupKey,
        g.status,
        g.alerts.map((a) => JSON.stringify([a.status, a.startsAt, a.labels])).sort(),
      ]),
    )
    .digest('hex')
    .slice(0, 32);
  const where = Object.entries(g.groupLabels)
    .filter(([k]) => k !== 'alertname')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const names = [...new Set(g.alerts.map((a) => a.labels.alertname ?? '(no alertname)'))].join(', ');
  const lines = [`Alertmanager ${g.status.toUpperCase()}: ${names}${where ? ` (${where})` : ''}`];
  for (const a of g.alerts) {
    const summary = a.annotations.summary ?? a.annotations.description ?? '';
    lines.push(
      `- ${a.status === 'resolved' ? 'resolved' : 'firing'} ${a.labels.alertname ?? ''}: ${summary}`.trimEnd(),
    );
  }
  if (g.truncatedAlerts) lines.push(`(${g.truncatedAlerts} more alerts left out by Alertmanager's max_alerts)`);
  return { txnId: `coopctl.alert.${digest}`, body: lines.join('\n') };
}
