/**
 * A Lambda Runtime API emulator (the four endpoints a custom runtime calls) and an SQS event source
 * mapping in miniature: receive a batch from a real queue (fauxqs), invoke, then delete what the reply
 * says succeeded, as Lambda does with ReportBatchItemFailures.
 */
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Server } from "bun";

export type Reply =
  | { kind: "response"; body: unknown; at: number }
  | {
      kind: "error";
      body: { errorType: string; errorMessage: string };
      errorType: string | null;
      at: number;
    };

interface Pending {
  requestId: string;
  payload: string;
  deadlineMs: number;
  traceId: string;
  resolve(reply: Reply): void;
}

const PATH = "/2018-06-01/runtime";

export class RuntimeEmulator {
  /** `performance.timeOrigin + performance.now()` of every `next` call, to time a cold start. */
  readonly nextCalls: number[] = [];
  readonly initErrors: { errorType: string | null; body: { errorType: string; errorMessage: string } }[] = [];
  private readonly queued: Pending[] = [];
  private readonly inFlight = new Map<string, Pending>();
  private readonly waiting: ((p: Pending) => void)[] = [];
  private readonly nextWaiters: { count: number; resolve: () => void }[] = [];
  private sequence = 0;
  private readonly server: Server<undefined>;

  constructor() {
    this.server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      // `next` is a long poll: it may stay open for the whole test.
      idleTimeout: 0,
      fetch: (req) => this.route(req),
    });
  }

  /** host:port, the value of AWS_LAMBDA_RUNTIME_API. */
  get address(): string {
    return `127.0.0.1:${this.server.port}`;
  }

  /** Queues one invocation; resolves with what the runtime posted for it. */
  invoke(
    event: unknown,
    options: { timeoutMs?: number } = {},
  ): { requestId: string; deadlineMs: number; reply: Promise<Reply> } {
    const requestId = `req-${++this.sequence}-${crypto.randomUUID()}`;
    const deadlineMs = Date.now() + (options.timeoutMs ?? 30_000);
    let resolve: (reply: Reply) => void = () => {};
    const reply = new Promise<Reply>((r) => {
      resolve = r;
    });
    const pending: Pending = {
      requestId,
      payload: typeof event === "string" ? event : JSON.stringify(event),
      deadlineMs,
      traceId: `Root=1-${Date.now().toString(16)}-${requestId.slice(-24)};Sampled=0`,
      resolve,
    };
    const waiter = this.waiting.shift();
    if (waiter) waiter(pending);
    else this.queued.push(pending);
    return { requestId, deadlineMs, reply };
  }

  /** Resolves once the runtime has asked for its `count`-th event (it is then idle, waiting). */
  untilNext(count: number): Promise<void> {
    if (this.nextCalls.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.nextWaiters.push({ count, resolve }));
  }

  stop(): void {
    this.server.stop(true);
  }

  private async route(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.method === "GET" && url.pathname === `${PATH}/invocation/next`) {
      this.nextCalls.push(performance.timeOrigin + performance.now());
      for (const w of this.nextWaiters.filter((w) => this.nextCalls.length >= w.count)) {
        this.nextWaiters.splice(this.nextWaiters.indexOf(w), 1);
        w.resolve();
      }
      const pending = this.queued.shift() ?? (await new Promise<Pending>((r) => this.waiting.push(r)));
      this.inFlight.set(pending.requestId, pending);
      return new Response(pending.payload, {
        headers: {
          "Lambda-Runtime-Aws-Request-Id": pending.requestId,
          "Lambda-Runtime-Deadline-Ms": String(pending.deadlineMs),
          "Lambda-Runtime-Invoked-Function-Arn":
            "arn:aws:lambda:us-east-1:000000000000:function:shop-processor",
          "Lambda-Runtime-Trace-Id": pending.traceId,
        },
      });
    }
    if (req.method === "POST" && url.pathname === `${PATH}/init/error`) {
      this.initErrors.push({
        errorType: req.headers.get("Lambda-Runtime-Function-Error-Type"),
        body: (await req.json()) as { errorType: string; errorMessage: string },
      });
      return accepted();
    }
    const match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url.pathname);
    if (req.method === "POST" && match) {
      const pending = this.inFlight.get(decodeURIComponent(match[1] ?? ""));
      if (!pending) return Response.json({ errorType: "InvalidRequestID" }, { status: 400 });
      this.inFlight.delete(pending.requestId);
      const at = Date.now();
      const text = await req.text();
      if (match[2] === "response")
        pending.resolve({ kind: "response", body: text ? JSON.parse(text) : null, at });
      else {
        pending.resolve({
          kind: "error",
          body: JSON.parse(text) as { errorType: string; errorMessage: string },
          errorType: req.headers.get("Lambda-Runtime-Function-Error-Type"),
          at,
        });
      }
      return accepted();
    }
    return new Response("not found", { status: 404 });
  }
}

const accepted = () => Response.json({ status: "OK" }, { status: 202 });

export interface Message {
  id: string;
  body: string;
  receiptHandle?: string;
  receiveCount?: number;
  /** String message attributes (the publisher's traceparent), as the event carries them. */
  attributes?: Record<string, string>;
}

const QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:shop-orders";

/** An SQS event as the event source mapping delivers it. */
export function sqsEvent(messages: Message[], queueArn = QUEUE_ARN) {
  return {
    Records: messages.map((m) => ({
      messageId: m.id,
      receiptHandle: m.receiptHandle ?? `handle-${m.id}`,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount ?? 1),
        SentTimestamp: String(Date.now()),
        SenderId: "000000000000",
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(m.attributes ?? {}).map(([k, v]) => [k, { stringValue: v, dataType: "String" }]),
      ),
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: queueArn,
      awsRegion: "us-east-1",
    })),
  };
}

/** An SNS notification as a direct subscription delivers it to a function. */
export function snsEvent(messages: Message[]) {
  return {
    Records: messages.map((m) => ({
      EventSource: "aws:sns",
      EventVersion: "1.0",
      EventSubscriptionArn: "arn:aws:sns:us-east-1:000000000000:shop-orders:sub",
      Sns: {
        Type: "Notification",
        MessageId: m.id,
        TopicArn: "arn:aws:sns:us-east-1:000000000000:shop-orders",
        Message: m.body,
        Timestamp: new Date().toISOString(),
        MessageAttributes: {},
      },
    })),
  };
}

export const failedIds = (reply: Reply): string[] => {
  if (reply.kind !== "response") throw new Error(`expected a response, got ${JSON.stringify(reply)}`);
  const body = reply.body as { batchItemFailures: { itemIdentifier: string }[] };
  return body.batchItemFailures.map((f) => f.itemIdentifier).sort();
};

export interface MappingOptions {
  batchSize: number;
  /** The visibility timeout of a received batch: Lambda uses the queue's own. */
  visibilityS: number;
  timeoutMs?: number;
}

/**
 * One poll of the event source mapping: receive up to `batchSize`, invoke once, delete the messages the
 * reply did not list as failures (none when the invocation failed). Undefined when the queue was empty.
 */
export async function pollOnce(
  sqs: SQSClient,
  queueUrl: string,
  emulator: RuntimeEmulator,
  options: MappingOptions,
): Promise<{ messages: Message[]; reply: Reply } | undefined> {
  const received = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: Math.min(options.batchSize, 10),
      WaitTimeSeconds: 1,
      VisibilityTimeout: options.visibilityS,
      MessageSystemAttributeNames: ["ApproximateReceiveCount"],
    }),
  );
  const messages: Message[] = (received.Messages ?? []).map((m) => ({
    id: m.MessageId ?? "",
    body: m.Body ?? "",
    receiptHandle: m.ReceiptHandle ?? "",
    receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
  }));
  if (messages.length === 0) return undefined;
  const arn = await queueArnOf(sqs, queueUrl);
  const { reply } = emulator.invoke(sqsEvent(messages, arn), { timeoutMs: options.timeoutMs });
  const answer = await reply;
  const failed = new Set(answer.kind === "response" ? failedIds(answer) : messages.map((m) => m.id));
  await Promise.all(
    messages
      .filter((m) => !failed.has(m.id))
      .map((m) => sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.receiptHandle }))),
  );
  return { messages, reply: answer };
}

const arns = new Map<string, string>();
async function queueArnOf(sqs: SQSClient, queueUrl: string): Promise<string> {
  const known = arns.get(queueUrl);
  if (known) return known;
  const r = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  const arn = r.Attributes?.QueueArn ?? QUEUE_ARN;
  arns.set(queueUrl, arn);
  return arn;
}
