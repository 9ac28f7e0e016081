/**
 * The calls of Alertmanager's API v2 coopctl makes, with Node's fetch. References are to prometheus/alertmanager at
 * 07d03b6c, api/v2/openapi.yaml: `postSilences` (POST /silences, answers {silenceID}), `deleteSilence` (DELETE
 * /silence/{silenceID}, 200 with no body), `getSilences` (GET /silences), definitions `silence` (matchers, startsAt,
 * endsAt, createdBy, comment: all required) and `matcher` (name, value, isRegex required; isEqual defaults to true).
 */

import { fetchFailure } from '../kernel/http.js';

interface AlertmanagerSettings {
  /** The API's base URL as coopctl reaches it (http://127.0.0.1:9093), without /api/v2. */
  url: string;
  /** One request's deadline, ms. */
  timeoutMs: number;
}

interface SilenceRequest {
  /** Label name → value, matched exactly. */
  matchers: Record<string, string>;
  endsAt: Date;
  createdBy: string;
  comment: string;
}

interface Silence {
  id: string;
  /** openapi.yaml silenceStatus: expired, active or pending. */
  state: string;
  matchers: Array<{ name: string; value: string; isRegex: boolean }>;
  createdBy: string;
  comment: string;
  endsAt: string;
}

export class AlertmanagerError extends Error {}

export class AlertmanagerClient {
  constructor(private readonly settings: AlertmanagerSettings) {}

  get url(): string {
    return this.settings.url;
  }

  /** A new silence from now until `endsAt`; its id. */
  async createSilence(s: SilenceRequest): Promise<string> {
    const matchers = Object.entries(s.matchers).map(([name, value]) => ({ name, value, isRegex: false }));
    const body = {
      matchers,
      startsAt: new Date().toISOString(),
      endsAt: s.endsAt.toISOString(),
      createdBy: s.createdBy,
      comment: s.comment,
    };
    const r = (await this.request('POST', '/silences', body)) as { silenceID?: unknown };
    if (typeof r.silenceID !== 'string')
      throw new AlertmanagerError('POST /api/v2/silences: the answer has no silenceID');
    return r.silenceID;
  }

  /** Ends a silence now (Alertmanager keeps it, expired). */
  async expireSilence(id: string): Promise<void> {
    await this.request('DELETE', `/silence/${encodeURIComponent(id)}`);
  }

  async silences(): Promise<Silence[]> {
    const r = await this.request('GET', '/silences');
    if (!Array.isArray(r)) throw new AlertmanagerError('GET /api/v2/silences: the answer is not a list');
    return (r as Array<Omit<Silence, 'state'> & { status?: { state?: string } }>).map(({ status, ...s }) => ({
      ...s,
      state: status?.state ?? 'unknown',
    }));
  }

  private async request(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const url = `${this.settings.url.replace(/\/+$/, '')}/api/v2${path}`;
    const where = `${method} /api/v2${path}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers: {
          'user-agent': 'coopctl',
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw new AlertmanagerError(`${this.settings.url}: ${fetchFailure(err, this.settings.timeoutMs)}`);
    }
    // 400/500 answer a string (openapi.yaml responses BadRequest, InternalServerError)
    if (!res.ok) throw new AlertmanagerError(`${where}: ${res.status} ${text.trim().slice(0, 200) || res.statusText}`);
    if (!text.trim()) return {};
    try {
      return JSON.parse(text);
    } catch {
      throw new AlertmanagerError(`${where}: the answer is not JSON`);
    }
  }
}
