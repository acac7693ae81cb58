/**
 * oidc-provider's storage for one stand-in: plain maps, per instance and unbounded (the bundled
 * memory adapter is process-wide and evicts after 1000 entries, which a benchmark would hit).
 */
type Payload = Record<string, unknown> & { grantId?: string; userCode?: string; uid?: string };

interface Entry {
  payload: Payload;
  expiresAtMs: number;
}

export function standinAdapterFactory(): new (model: string) => object {
  const entries = new Map<string, Entry>();
  return class StandinAdapter {
    constructor(private readonly model: string) {}

    private key(id: string): string {
      return `${this.model}:${id}`;
    }

    private live(key: string): Payload | undefined {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAtMs <= Date.now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.payload;
    }

    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      const expiresAtMs =
        typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
      entries.set(this.key(id), { payload, expiresAtMs });
    }

    async find(id: string): Promise<Payload | undefined> {
      return this.live(this.key(id));
    }

    private async findBy(field: "userCode" | "uid", value: string): Promise<Payload | undefined> {
      const prefix = `${this.model}:`;
      for (const key of entries.keys()) {
        if (!key.startsWith(prefix)) continue;
        const payload = this.live(key);
        if (payload?.[field] === value) return payload;
      }
      return undefined;
    }

    findByUserCode(userCode: string): Promise<Payload | undefined> {
      return this.findBy("userCode", userCode);
    }

    findByUid(uid: string): Promise<Payload | undefined> {
      return this.findBy("uid", uid);
    }

    async consume(id: string): Promise<void> {
      const payload = this.live(this.key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id: string): Promise<void> {
      entries.delete(this.key(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      for (const [key, entry] of entries) if (entry.payload.grantId === grantId) entries.delete(key);
    }
  };
}
