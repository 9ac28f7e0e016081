/**
 * The few calls of the Matrix Client-Server API coopctl makes, with Node's fetch. References are to
 * matrix-org/matrix-spec at d0ba2aae (data/api/client-server/*.yaml, content/client-server-api/_index.md), the
 * specification published at https://spec.matrix.org/latest/client-server-api/.
 *
 * The access token goes in the Authorization header only (_index.md:568-575 "Using access tokens": the query string
 * parameter is no longer supported), never in a URL, an argument list or a message.
 */

import { fetchFailure } from '../kernel/http.js';

interface MatrixSettings {
  /** The client-server base URL (https://matrix.example.org). */
  homeserver: string;
  /** A room id (!id:server) or an alias (#name:server). */
  room: string;
  token: string;
  /** One request's deadline, ms. */
  timeoutMs: number;
}

/** An answer of the homeserver that is not a success: its HTTP status and the spec's errcode (_index.md:57). */
export class MatrixError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errcode?: string,
  ) {
    super(message);
  }
}

/** No answer at all: refused, reset, or not within the deadline. */
export class MatrixUnreachableError extends Error {}

interface Request {
  method: 'GET' | 'PUT';
  path: string;
  body?: unknown;
  /** Tries, for a request that may be repeated safely (a GET, or a PUT with its transaction id). */
  attempts?: number;
}

/** The longest wait a 429 may ask for before coopctl gives up on that post (a notice is never worth more). */
const MAX_RATE_WAIT_MS = 5_000;

export class MatrixClient {
  private roomIdOf?: Promise<string>;

  constructor(
    private readonly settings: MatrixSettings,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  get room(): string {
    return this.settings.room;
  }

  /** whoami.yaml:19 `GET /account/whoami`: the user the token belongs to (401 M_UNKNOWN_TOKEN when revoked). */
  async whoami(): Promise<string> {
    const r = (await this.request({ method: 'GET', path: '/account/whoami' })) as { user_id?: unknown };
    if (typeof r.user_id !== 'string') throw new MatrixError('whoami: the answer has no user_id', 200);
    return r.user_id;
  }

  /**
   * The room's id: the configured one, or its alias resolved by directory.yaml:19 `GET /directory/room/{roomAlias}`
   * (404 M_NOT_FOUND: no such alias, directory.yaml:154).
   */
  roomId(): Promise<string> {
    const room = this.settings.room;
    if (room.startsWith('!')) return Promise.resolve(room);
    this.roomIdOf ??= this.request({ method: 'GET', path: `/directory/room/${encodeURIComponent(room)}` }).then((r) => {
      const id = (r as { room_id?: unknown }).room_id;
      if (typeof id !== 'string') throw new MatrixError(`${room}: the directory's answer has no room_id`, 200);
      return id;
    });
    this.roomIdOf.catch(() => (this.roomIdOf = undefined));
    return this.roomIdOf;
  }

  /** rooms.yaml:296 `GET /rooms/{roomId}/joined_members`: the joined users (403 when the caller is not one). */
  async joinedMembers(roomId: string): Promise<string[]> {
    const r = (await this.request({ method: 'GET', path: `/rooms/${encodeURIComponent(roomId)}/joined_members` })) as {
      joined?: Record<string, unknown>;
    };
    return Object.keys(r.joined ?? {});
  }

  /**
   * The room's encryption algorithm, or null when it is not encrypted: rooms.yaml:75 `GET
   * /rooms/{roomId}/state/{eventType}/{stateKey}` of `m.room.encryption` (state key "", m.room.encryption.yaml:30-35;
   * without the trailing slash, rooms.yaml:104-107), 404 when the room has no such state (rooms.yaml:145).
   */
  async encryption(roomId: string): Promise<string | null> {
    try {
      const r = (await this.request({
        method: 'GET',
        path: `/rooms/${encodeURIComponent(roomId)}/state/m.room.encryption`,
      })) as { algorithm?: unknown };
      return typeof r.algorithm === 'string' ? r.algorithm : 'unknown';
    } catch (err) {
      if (err instanceof MatrixError && err.status === 404) return null;
      throw err;
    }
  }

  /**
   * room_send.yaml:20 `PUT /rooms/{roomId}/send/{eventType}/{txnId}` of an `m.notice` (m.room.message$m.notice.yaml:
   * msgtype and body). The same txnId on every try: the homeserver answers a retransmission with the first event's
   * id and posts nothing new (_index.md:304-330 "Transaction identifiers").
   */
  async sendNotice(txnId: string, body: string, attempts = 3): Promise<string> {
    const roomId = await this.roomId();
    const path = `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`;
    const r = (await this.request({ method: 'PUT', path, body: { msgtype: 'm.notice', body }, attempts })) as {
      event_id?: unknown;
    };
    if (typeof r.event_id !== 'string') throw new MatrixError('send: the answer has no event_id', 200);
    return r.event_id;
  }

  /**
   * One call, tried again after no answer, a 5xx or a 429 (after its Retry-After or retry_after_ms, _index.md:281-300,
   * at most MAX_RATE_WAIT_MS); a 4xx other than 429 is the answer.
   */
  private async request(req: Request): Promise<unknown> {
    const attempts = req.attempts ?? 1;
    let last: Error = new MatrixUnreachableError('not tried');
    for (let i = 1; i <= attempts; i++) {
      let wait = 500 * 2 ** (i - 1);
      try {
        return await this.once(req);
      } catch (err) {
        last = err as Error;
        const retryable =
          err instanceof MatrixUnreachableError ||
          (err instanceof MatrixError && (err.status >= 500 || err.status === 429));
        if (!retryable) throw err;
        if (err instanceof RateLimited) {
          if (err.waitMs > MAX_RATE_WAIT_MS) throw err;
          wait = err.waitMs;
        }
      }
      if (i < attempts) await this.sleep(wait);
    }
    throw last;
  }

  private async once(req: Request): Promise<unknown> {
    const url = `${this.settings.homeserver.replace(/\/+$/, '')}/_matrix/client/v3${req.path}`;
    const where = `${req.method} ${url.replace(/^https?:\/\/[^/]+/, '')}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method: req.method,
        headers: {
          authorization: `Bearer ${this.settings.token}`,
          'user-agent': 'coopctl',
          ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw new MatrixUnreachableError(`${this.settings.homeserver}: ${fetchFailure(err, this.settings.timeoutMs)}`);
    }
    let doc: unknown;
    try {
      doc = text ? JSON.parse(text) : {};
    } catch {
      doc = undefined;
    }
    if (res.ok) {
      if (doc === undefined) throw new MatrixError(`${where}: the answer is not JSON`, res.status);
      return doc;
    }
    const e = (doc ?? {}) as { errcode?: unknown; error?: unknown; retry_after_ms?: unknown };
    const errcode = typeof e.errcode === 'string' ? e.errcode : undefined;
    const why = typeof e.error === 'string' ? `: ${e.error.slice(0, 200)}` : '';
    const message = `${where}: ${res.status} ${errcode ?? res.statusText}${why}`;
    if (res.status === 429) {
      const header = Number(res.headers.get('retry-after'));
      const ms = Number.isFinite(header) && header > 0 ? header * 1000 : Number(e.retry_after_ms);
      throw new RateLimited(message, Number.isFinite(ms) && ms > 0 ? ms : 1000, errcode);
    }
    throw new MatrixError(message, res.status, errcode);
  }
}

class RateLimited extends MatrixError {
  constructor(
    message: string,
    readonly waitMs: number,
    errcode?: string,
  ) {
    super(message, 429, errcode);
  }
}
