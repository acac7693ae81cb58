/** An op name as it may be shown and used in a topic: a plain word, else `invalid` (never the text sent). */
export function plainOp(op: string): string {
  return /^[a-z][a-z0-9-]{0,31}$/.test(op) ? op : "invalid";
}

/** The hub's topics under `<baseTopic>/<hubId>/`. Hub ids and base topics hold no MQTT wildcards (config). */
export class Topics {
  readonly prefix: string;

  constructor(baseTopic: string, hubId: string) {
    this.prefix = `${baseTopic}/${hubId}`;
  }

  get state(): string {
    return `${this.prefix}/state`;
  }

  get health(): string {
    return `${this.prefix}/health`;
  }

  get events(): string {
    return `${this.prefix}/events`;
  }

  get requests(): string {
    return `${this.prefix}/request/+`;
  }

  /** The op of a request topic; undefined when the topic is not one of this hub's requests. */
  opOf(topic: string): string | undefined {
    const head = `${this.prefix}/request/`;
    if (!topic.startsWith(head)) return undefined;
    const op = topic.slice(head.length);
    return op.length > 0 && !op.includes("/") ? op : undefined;
  }

  /** Where the answer to `op` goes. An op that is not a plain word is answered on `response/invalid`. */
  response(op: string): string {
    return `${this.prefix}/response/${plainOp(op)}`;
  }

  /** An MQTT 5 response topic is honoured only under this hub's own response prefix (never a reflector). */
  acceptsResponseTopic(topic: string): boolean {
    return topic.startsWith(`${this.prefix}/response/`) && !/[+#]/.test(topic) && topic.length <= 256;
  }
}
