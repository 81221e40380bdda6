// Types of edge-sse.js.

/** One delivered event, as an EventSource MessageEvent would carry it. */
export interface SSEEvent {
  /** The last event ID string at dispatch (WHATWG HTML §9.2.6). */
  id: string;
  /** The event type; "message" when the stream gave none. */
  type: string;
  /** The data lines joined with "\n". */
  data: string;
}

/** The connection's state. */
export type State = "connecting" | "open" | "backoff" | "stale" | "closed";

/** The store's value: a new object on each change, the same one otherwise. */
export interface Snapshot {
  /**
   * connecting: a request is under way; open: the stream is live;
   * backoff: waiting before the next attempt; stale: the stream is live but
   * the app's resync has not returned yet; closed: close() was called or the
   * hub refused for good (lastError says why).
   */
  state: State;
  /** When the stream was last known live (ms since the epoch), or null. */
  lastSync: number | null;
  /** The last failure: the HTTP status (if any) and the hub's reason. Cleared when a stream opens. */
  lastError: { message: string; status?: number } | null;
  /** How many times the client connected again after the first attempt. */
  reconnects: number;
  /** The id the next connection resumes after (sent as Last-Event-ID). */
  lastEventId: string;
}

export interface Options {
  /** Topic selectors (exact, URI template or "*"), sent as topic=. */
  topic?: string | string[];
  /** Exact-match selectors, sent as match=. */
  match?: string | string[];
  /** WHATWG URL Pattern selectors, sent as match_urlpattern=. */
  matchURLPattern?: string | string[];
  /** A JWT sent as Authorization: Bearer. */
  token?: string;
  /** "include" for the cookie mode (mercureAuthorization cookie on another origin). Default "same-origin". */
  credentials?: RequestCredentials;
  /** Resume after this id on the first connection. */
  lastEventId?: string;
  /** Called for each event, in stream order, never twice for one id, never for an id passed to ignore(). */
  onEvent?: (event: SSEEvent) => void;
  /**
   * Called when the hub says events were missed (a mercure-missed event, or a
   * resume answered with Mercure-Last-Event-ID: earliest, counted once with a
   * mercure-missed that follows it): refetch your state. The
   * state is "stale" until the promise resolves; a rejection is retried with
   * backoff. Without it, mercure-missed events go to onEvent.
   */
  resync?: (reason: string) => void | Promise<void>;
  /**
   * Called on 401/403 with the hub's reason: return a new token to retry
   * with it, or null/undefined to stop (state "closed", lastError set).
   */
  refresh?: (error: { status: number; message: string }) => string | null | undefined | Promise<string | null | undefined>;
  /** First backoff ceiling in ms (default 1000); it doubles per failed attempt. */
  backoff?: number;
  /** Largest backoff ceiling in ms (default 30000). */
  maxBackoff?: number;
  /** A stream open this long (ms, default 10000) resets the backoff. */
  healthy?: number;
  /** A stream silent this long (ms, default 45000; the hub's heartbeat is 15 s) is dropped and reopened. */
  idle?: number;
  /** How many delivered ids (and ignored ids) are remembered for deduplication (default 1000). */
  remember?: number;
  /**
   * The longest line accepted, in bytes, not counting its end-of-line
   * (default 65536, as the Go parser). A longer line closes the stream:
   * lastError says so and the client reconnects with backoff.
   */
  maxLineSize?: number;
  /**
   * The largest event data accepted, in bytes of UTF-8 counting the LF after
   * each data line (default 1048576, as the Go parser). A larger event closes
   * the stream: lastError says so and the client reconnects with backoff.
   */
  maxEventSize?: number;
  /** A fetch to use instead of globalThis.fetch (tests, instrumentation). */
  fetch?: typeof fetch;
  /** Waits ms or until signal aborts, instead of setTimeout (tests). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface Client {
  /** Store subscription for useSyncExternalStore: returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** The current snapshot. */
  getSnapshot(): Snapshot;
  /** Drops the next event with this id: an update this app published itself. */
  ignore(id: string): void;
  /** Stops for good: aborts the stream and any wait; state "closed". */
  close(): void;
}

/** Opens a subscription to a Mercure hub URL (…/.well-known/mercure). */
export function connect(url: string | URL, options?: Options): Client;

/** An error thrown by the parser's push when a stream exceeds a limit. */
export interface LimitError extends Error {
  code: "line_too_long" | "event_too_large";
}

/**
 * The event-stream parser the client uses, exported for tests and reuse.
 * push throws a LimitError past maxLineSize or maxEventSize (defaults 65536
 * and 1048576), after delivering the events before it; the parser is then
 * done and throws the same error on every later push.
 */
export function createParser(
  onEvent: (event: SSEEvent, hadId: boolean) => void,
  onRetry: (ms: number) => void,
  lastEventId?: string,
  limits?: { maxLineSize?: number; maxEventSize?: number },
): { push(bytes: Uint8Array): void; lastEventId(): string };
