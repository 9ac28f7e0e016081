/**
 * The sandbox's Matrix homeserver: exactly the Client-Server endpoints coopctl calls, as the specification says.
 * State in a directory: `homeserver.json` (users by access token, rooms with their aliases and members, written when
 * the sandbox is built), `events.jsonl` (every event sent, one per line: what the operators would read in the room),
 * and the faults as files beside them (test/world/matrix.ts).
 */
// source: matrix-org/matrix-spec at d0ba2aaef801e0134a4e5c6054a2c2f41bb55531 (https://spec.matrix.org/latest/
// client-server-api/): content/client-server-api/_index.md:57-140 (standard error response, errcodes), :281-300 (rate
// limiting: 429 M_LIMIT_EXCEEDED, retry_after_ms, Retry-After), :304-330 (transaction identifiers), :568-582 (access
// tokens: the Authorization Bearer header; 401 M_MISSING_TOKEN / M_UNKNOWN_TOKEN); data/api/client-server/
// whoami.yaml:19-95, directory.yaml:19 and :100-165, rooms.yaml:75-148 and :296-356, room_send.yaml:20-120.
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

export interface HomeserverData {
  serverName: string;
  /** access token → user id */
  users: Record<string, string>;
  rooms: Record<string, { aliases: string[]; members: string[] }>;
}

export interface SentEvent {
  event_id: string;
  room_id: string;
  sender: string;
  type: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
  /** The transaction it was sent in: the token's device (a hash of the token here) and the request's path. */
  txn: string;
}

/** The faults, as files in the directory (so that `sandbox fault` sets them while the server runs). */
export const MATRIX_FAULT_FILES = {
  /** Every token answers 401 M_UNKNOWN_TOKEN: it was logged out (_index.md:580-585). */
  revoked: 'token-revoked',
  /** The rooms have an `m.room.encryption` state event (m.room.encryption.yaml). */
  encrypted: 'room-encrypted',
  /** A new transaction is stored, then answered only after this file's milliseconds (default 10 s). */
  slow: 'slow',
  /** A new transaction is first refused 429 M_LIMIT_EXCEEDED (retry_after_ms 300), then taken on its retry. */
  rateLimited: 'rate-limited',
} as const;

export const EVENTS_FILE = 'events.jsonl';
/** Every send as it came: its transaction and whether it was new or a retransmission (for the tests to see). */
export const SENDS_FILE = 'sends.jsonl';
export const DATA_FILE = 'homeserver.json';

/** Synapse's token shape (`syt_<base64 localpart>_<random>_<crc>`); any opaque string is valid for the spec. */
export function newAccessToken(localpart: string): string {
  return `syt_${Buffer.from(localpart).toString('base64url')}_${randomBytes(15).toString('base64url')}_0cOoP`;
}

function readLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

export const readEvents = (dir: string) => readLines<SentEvent>(path.join(dir, EVENTS_FILE));
export const readSends = (dir: string) =>
  readLines<{ txn: string; retransmission: boolean }>(path.join(dir, SENDS_FILE));

type Answer = { status: number; body: Record<string, unknown>; headers?: Record<string, string> };

const error = (status: number, errcode: string, text: string, extra: Record<string, unknown> = {}): Answer => ({
  status,
  body: { errcode, error: text, ...extra },
});

export function createHomeserver(dir: string): http.Server {
  const data = JSON.parse(readFileSync(path.join(dir, DATA_FILE), 'utf8')) as HomeserverData;
  const fault = (name: string) => existsSync(path.join(dir, name));
  // _index.md:318-324: a retransmission (same transaction id, same path, same device) gets the first answer again
  const transactions = new Map(readEvents(dir).map((e) => [e.txn, e.event_id]));
  const limited = new Set<string>();

  function route(req: http.IncomingMessage, body: string, token: string | undefined): Answer | Promise<Answer> {
    const url = new URL(req.url ?? '/', 'http://homeserver');
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
    if (parts[0] !== '_matrix' || parts[1] !== 'client' || parts[2] !== 'v3')
      return error(404, 'M_UNRECOGNIZED', 'Unrecognized request');
    const [kind, ...rest] = parts.slice(3);
    // _index.md:576-578: missing credentials 401 M_MISSING_TOKEN, invalid ones 401 M_UNKNOWN_TOKEN
    if (!token) return error(401, 'M_MISSING_TOKEN', 'Missing access token');
    const user = fault(MATRIX_FAULT_FILES.revoked) ? undefined : data.users[token];
    if (!user) return error(401, 'M_UNKNOWN_TOKEN', 'Invalid access token passed.', { soft_logout: false });
    const device = createHash('sha256').update(token).digest('hex').slice(0, 16);

    // whoami.yaml:19-69: {user_id, device_id}
    if (req.method === 'GET' && kind === 'account' && rest.join('/') === 'whoami')
      return { status: 200, body: { user_id: user, device_id: device.slice(0, 10).toUpperCase(), is_guest: false } };

    // directory.yaml:100-165: {room_id, servers}, 404 M_NOT_FOUND for an alias nobody mapped
    if (req.method === 'GET' && kind === 'directory' && rest[0] === 'room' && rest.length === 2) {
      const found = Object.entries(data.rooms).find(([, r]) => r.aliases.includes(rest[1]));
      if (!found) return error(404, 'M_NOT_FOUND', `Room alias ${rest[1]} not found.`);
      return { status: 200, body: { room_id: found[0], servers: [data.serverName] } };
    }

    if (kind !== 'rooms' || rest.length < 2) return error(404, 'M_UNRECOGNIZED', 'Unrecognized request');
    const [roomId, what, ...tail] = rest;
    const room = data.rooms[roomId];
    // rooms.yaml:354-356 and :142-144: 403 for a user who is not (and was not) in the room; Synapse answers the
    // same for a room it does not know (M_FORBIDDEN, _index.md:102)
    if (!room?.members.includes(user))
      return error(403, 'M_FORBIDDEN', `User ${user} not in room ${roomId}, and room previews are disabled`);

    // rooms.yaml:296-353: {joined: {user id: {display_name, avatar_url}}}
    if (req.method === 'GET' && what === 'joined_members' && tail.length === 0) {
      const joined = Object.fromEntries(room.members.map((m) => [m, { display_name: m.slice(1).split(':')[0] }]));
      return { status: 200, body: { joined } };
    }

    // rooms.yaml:75-148: the state event's content, 404 when the room has none of that type and key (the key ""
    // may be left out with its slash, rooms.yaml:104-107)
    if (req.method === 'GET' && what === 'state' && tail.length >= 1 && tail.length <= 2) {
      const [type, key = ''] = tail;
      if (type === 'm.room.encryption' && key === '' && fault(MATRIX_FAULT_FILES.encrypted))
        return { status: 200, body: { algorithm: 'm.megolm.v1.aes-sha2' } };
      return error(404, 'M_NOT_FOUND', 'Event not found.');
    }

    // room_send.yaml:20-120: the content is the body; 200 {event_id}
    if (req.method === 'PUT' && what === 'send' && tail.length === 2) {
      const [type] = tail;
      const txn = `${device} ${url.pathname}`;
      const seen = transactions.get(txn);
      appendFileSync(path.join(dir, SENDS_FILE), `${JSON.stringify({ txn, retransmission: !!seen })}\n`);
      if (seen) return { status: 200, body: { event_id: seen } };
      if (fault(MATRIX_FAULT_FILES.rateLimited) && !limited.has(txn)) {
        limited.add(txn);
        // _index.md:287-300: M_LIMIT_EXCEEDED with retry_after_ms; Retry-After (seconds) SHOULD be there too
        return {
          ...error(429, 'M_LIMIT_EXCEEDED', 'Too Many Requests', { retry_after_ms: 300 }),
          headers: { 'retry-after': '1' },
        };
      }
      let content: Record<string, unknown>;
      try {
        content = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return error(400, 'M_NOT_JSON', 'Content not JSON.');
      }
      const event: SentEvent = {
        event_id: `$${randomBytes(16).toString('base64url')}`,
        room_id: roomId,
        sender: user,
        type,
        content,
        origin_server_ts: Date.now(),
        txn,
      };
      appendFileSync(path.join(dir, EVENTS_FILE), `${JSON.stringify(event)}\n`);
      transactions.set(txn, event.event_id);
      const answer: Answer = { status: 200, body: { event_id: event.event_id } };
      if (!fault(MATRIX_FAULT_FILES.slow)) return answer;
      const ms = Number(readFileSync(path.join(dir, MATRIX_FAULT_FILES.slow), 'utf8').trim()) || 10_000;
      return new Promise((resolve) => setTimeout(() => resolve(answer), ms));
    }
    return error(404, 'M_UNRECOGNIZED', 'Unrecognized request');
  }

  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const auth = req.headers.authorization;
      const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
      const a = await route(req, Buffer.concat(chunks).toString('utf8'), token);
      if (res.destroyed) return;
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(JSON.stringify(a.body));
    });
  });
}
