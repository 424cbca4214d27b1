/**
 * Where the specialists' tools get their answers: the business systems (calendar, billing,
 * orders). The agent only speaks this small interface; `HttpToolBackend` posts each tool call to
 * one service you run (TOOLS_BACKEND_URL), and `DemoToolBackend` answers from canned data so the
 * image holds a conversation out of the box.
 */
import { errorMessage } from '../log.js';

export interface ToolCallMeta {
  callId: string;
  agent: string;
}

export interface ToolBackend {
  /** Runs one tool; resolves with a JSON-serialisable answer for the LLM, rejects on failure. */
  call(tool: string, args: Record<string, unknown>, meta: ToolCallMeta): Promise<unknown>;
}

export class BackendError extends Error {
  constructor(
    readonly tool: string,
    message: string,
  ) {
    super(message);
    this.name = 'BackendError';
  }
}

export interface HttpToolBackendOptions {
  /** Base URL; tool `x` is POSTed to `${url}/x`. */
  url: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  token?: string;
  /** Per-call deadline; a caller on the line will not wait longer. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** POST {url}/{tool} with `{ args, callId, agent }`; a 2xx JSON body is the answer. */
export class HttpToolBackend implements ToolBackend {
  private readonly fetchFn: typeof fetch;
  constructor(private readonly options: HttpToolBackendOptions) {
    this.fetchFn = options.fetch ?? fetch;
  }

  async call(tool: string, args: Record<string, unknown>, meta: ToolCallMeta): Promise<unknown> {
    const url = `${this.options.url.replace(/\/+$/, '')}/${encodeURIComponent(tool)}`;
    let response: Response;
    try {
      response = await this.fetchFn(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
        },
        body: JSON.stringify({ args, callId: meta.callId, agent: meta.agent }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 4000),
      });
    } catch (err) {
      throw new BackendError(tool, `tools backend unreachable: ${errorMessage(err)}`);
    }
    if (!response.ok) throw new BackendError(tool, `tools backend answered ${response.status}`);
    return (await response.json()) as unknown;
  }
}

/** Canned, deterministic answers: a demo and a smoke test, never a production backend. */
export class DemoToolBackend implements ToolBackend {
  private bookings = 0;
  private tickets = 0;

  async call(tool: string, args: Record<string, unknown>): Promise<unknown> {
    switch (tool) {
      case 'check_availability':
        return { date: args.date, slots: ['09:00', '11:30', '15:00'] };
      case 'book_appointment':
        return { bookingId: `BK-${1000 + ++this.bookings}`, date: args.date, time: args.time };
      case 'cancel_appointment':
        return { bookingId: args.bookingId, cancelled: true };
      case 'lookup_balance':
        return { accountId: args.accountId, balanceUsd: 42.5, dueDate: '2026-12-01' };
      case 'lookup_invoice':
        return { invoiceId: args.invoiceId, amountUsd: 42.5, status: 'unpaid', lines: [{ item: 'Monthly plan', amountUsd: 42.5 }] };
      case 'send_payment_link':
        return { sent: true, channel: 'sms' };
      case 'lookup_order':
        return { orderId: args.orderId, status: 'shipped', eta: '2 business days' };
      case 'search_help':
        return { articles: [{ title: 'Restart your device', summary: 'Hold the power button for ten seconds.' }] };
      case 'create_support_ticket':
        return { ticketId: `SUP-${2000 + ++this.tickets}` };
      default:
        throw new BackendError(tool, `demo backend has no tool ${tool}`);
    }
  }
}
